import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { collect } from "./helpers/streams";
import { rolloutManifest } from "../config/rollout-manifest";
import { runRollout, type RolloutOptions, type RolloutSummary } from "../cli/rollout";
import { exampleConfigFile, exampleOrg } from "./helpers/synth";

const FAKE_TERRAFORM_DIR = path.join(__dirname, "fixtures", "fake-terraform");

interface Call {
  args: string[];
  cwd: string;
  dataDir: string;
  workspace: string;
  pluginCache: string;
}

/** A synth output folder with the example org's manifest and empty stack directories. */
function outputDir(): { manifestPath: string; record: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "flowtap-rollout-"));
  const manifest = rolloutManifest(exampleOrg, exampleConfigFile);
  for (const stack of manifest.stacks) mkdirSync(path.join(dir, stack.directory), { recursive: true });
  const manifestPath = path.join(dir, "rollout.json");
  writeFileSync(manifestPath, JSON.stringify(manifest));
  return { manifestPath, record: path.join(dir, "calls.jsonl") };
}

async function rollout(options: Partial<RolloutOptions> & { action: RolloutOptions["action"] }, env: Record<string, string> = {}, out = outputDir()) {
  const stdout = collect();
  const stderr = collect();
  const status = await runRollout(
    { manifestPath: out.manifestPath, parallel: 2, ...options },
    { stdout: stdout.stream, stderr: stderr.stream, env: { PATH: `${FAKE_TERRAFORM_DIR}${path.delimiter}${process.env.PATH}`, FAKE_TF_RECORD: out.record, ...env } },
  );
  const text = stdout.text();
  const errText = stderr.text();
  const calls: Call[] = (() => {
    try {
      return readFileSync(out.record, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  })();
  return { status, stdout: text, stderr: errText, calls, out };
}

const stackDir = (out: { manifestPath: string }, stack: string) => path.join(path.dirname(out.manifestPath), "stacks", stack);
const summaryOf = (out: { manifestPath: string }): RolloutSummary => JSON.parse(readFileSync(path.join(path.dirname(out.manifestPath), "rollout-logs", "summary.json"), "utf8"));
/** The central stacks (workspace `default`) applied with nothing left to change, so that every member stack is planned. */
const CENTRAL_APPLIED = { FAKE_TF_NO_CHANGES: "default" };

describe("flowtap rollout", () => {
  it("plans every workspace of every stack once the central stacks are applied: init, workspace select -or-create, plan with a saved plan file", async () => {
    const { status, calls, stdout } = await rollout({ action: "plan" }, CENTRAL_APPLIED);
    expect(status).toBe(0);
    const member = calls.filter((c) => c.cwd.endsWith(path.join("stacks", "ec2-mirroring")) && c.dataDir === ".terraform-333333333333-us-east-1");
    expect(member.map((c) => c.args)).toEqual([
      ["init", "-input=false", "-no-color"],
      ["workspace", "select", "-no-color", "-or-create", "333333333333-us-east-1"],
      ["plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=333333333333-us-east-1.tfplan"],
    ]);
    expect(member[2].workspace).toBe("333333333333-us-east-1");
    const plans = calls.filter((c) => c.args[0] === "plan");
    expect(plans.map((c) => `${path.basename(c.cwd)}:${c.workspace}`).sort()).toEqual([
      "ec2-mirroring:222222222222-eu-west-1",
      "ec2-mirroring:222222222222-us-east-1",
      "ec2-mirroring:333333333333-us-east-1",
      "fargate-mirroring:222222222222-eu-west-1",
      "fargate-mirroring:222222222222-us-east-1",
      "flow-insights-central:default",
      "flow-insights:222222222222-eu-west-1",
      "flow-insights:222222222222-us-east-1",
      "flow-log-sg-enrichment:333333333333-us-east-1",
      "mirror-target:default",
      "nat-flow-recorder:222222222222-eu-west-1",
      "nat-flow-recorder:222222222222-us-east-1",
      "nat-flow-recorder:444444444444-us-east-1",
    ]);
    expect(stdout).toContain("ok: 2, changed: 11, waiting: 0, failed: 0, skipped: 0");
  });

  it("on a first rollout plans the stacks that depend on nothing, and shows their dependents waiting, not failed", async () => {
    const out = outputDir();
    // A plan an earlier run saved must not be applied once its workspace waits.
    writeFileSync(path.join(stackDir(out, "ec2-mirroring"), "222222222222-us-east-1.tfplan"), "stale");
    const { status, calls, stdout } = await rollout({ action: "plan" }, {}, out);
    expect(status).toBe(0);
    expect(new Set(calls.filter((c) => c.args[0] === "plan").map((c) => path.basename(c.cwd)))).toEqual(new Set(["mirror-target", "flow-insights-central", "nat-flow-recorder", "flow-log-sg-enrichment"]));
    expect(stdout).toMatch(/ec2-mirroring\s*│ 222222222222-us-east-1\s*│ workloads-prod\s*│ us-east-1\s*│ waiting for mirror-target/);
    expect(stdout).toMatch(/flow-insights\s*│ 222222222222-eu-west-1\s*│ workloads-prod\s*│ eu-west-1\s*│ waiting for flow-insights-central/);
    expect(stdout).toContain("ok: 0, changed: 6, waiting: 7, failed: 0, skipped: 0");
    expect(stdout).toContain("7 workspaces wait for mirror-target, flow-insights-central: each is planned once the stacks it depends on are applied with nothing left to change. Review and apply this plan, then run flowtap rollout plan again for the next wave.");
    expect(existsSync(path.join(stackDir(out, "ec2-mirroring"), "222222222222-us-east-1.tfplan"))).toBe(false);
    expect(summaryOf(out).counts).toEqual({ "no changes": 0, changes: 6, applied: 0, waiting: 7, failed: 0, skipped: 0 });
    expect(summaryOf(out).workspaces.find((w) => w.stack === "fargate-mirroring")).toEqual({ stack: "fargate-mirroring", workspace: "222222222222-us-east-1", accountId: "222222222222", region: "us-east-1", result: "waiting", waitingFor: ["mirror-target"] });
    const log = readFileSync(path.join(path.dirname(out.manifestPath), "rollout-logs", "ec2-mirroring", "222222222222-us-east-1.log"), "utf8");
    expect(log).toBe("not planned: waiting for mirror-target, which must be applied with nothing left to change first\n");
  });

  it("applies a wave, reports what waits as waiting, and plans the next wave on the next plan", async () => {
    const out = outputDir();
    await rollout({ action: "plan" }, {}, out);
    const applied = await rollout({ action: "apply" }, {}, out);
    expect(applied.status).toBe(0);
    expect(applied.calls.filter((c) => c.args[0] === "apply")).toHaveLength(6);
    expect(applied.stdout).toContain("ok: 6, changed: 0, waiting: 7, failed: 0, skipped: 0");
    expect(applied.stdout).toContain("are applied with nothing left to change. Run flowtap rollout plan again for the next wave.");
    const next = await rollout({ action: "plan" }, {}, out);
    expect(next.status).toBe(0);
    expect(next.stdout).toContain("ok: 6, changed: 7, waiting: 0, failed: 0, skipped: 0");
    const applyAll = await rollout({ action: "apply" }, {}, out);
    expect(applyAll.stdout).toContain("ok: 13, changed: 0, waiting: 0, failed: 0, skipped: 0");
  });

  it("waits for a dependency the filters leave out until its state has outputs", async () => {
    const out = outputDir();
    const before = await rollout({ action: "plan", stack: "ec2-mirroring" }, {}, out);
    expect(before.status).toBe(0);
    expect(before.stdout).toContain("ok: 0, changed: 0, waiting: 3, failed: 0, skipped: 0");
    // Read in the dependency's own directory and workspace, with its own data directory.
    expect(before.calls.filter((c) => c.args[0] === "output").map((c) => [path.basename(c.cwd), c.workspace, c.dataDir, c.args])).toEqual([["mirror-target", "default", ".terraform-default", ["output", "-no-color", "-json"]]]);
    const after = await rollout({ action: "plan", stack: "ec2-mirroring" }, { FAKE_TF_APPLIED: "default" }, out);
    expect(after.stdout).toContain("ok: 0, changed: 3, waiting: 0, failed: 0, skipped: 0");
  });

  it("plans the central stack before the member stacks that depend on it", async () => {
    const { calls } = await rollout({ action: "plan" }, CENTRAL_APPLIED);
    const firstMember = calls.findIndex((c) => !c.cwd.endsWith("mirror-target"));
    expect(calls.slice(0, firstMember).every((c) => c.cwd.endsWith("mirror-target"))).toBe(true);
    expect(calls.slice(firstMember).some((c) => c.cwd.endsWith("mirror-target"))).toBe(false);
  });

  it("gives each workspace its own data directory and one shared plugin cache", async () => {
    const { calls } = await rollout({ action: "plan", stack: "ec2-mirroring" }, { FAKE_TF_APPLIED: "default" });
    expect(new Set(calls.filter((c) => c.cwd.endsWith("ec2-mirroring")).map((c) => c.dataDir))).toEqual(new Set([".terraform-222222222222-us-east-1", ".terraform-222222222222-eu-west-1", ".terraform-333333333333-us-east-1"]));
    expect(new Set(calls.map((c) => c.pluginCache)).size).toBe(1);
  });

  it("initializes a stack's first workspace alone, then the others side by side", async () => {
    const { calls } = await rollout({ action: "plan", stack: "nat-flow-recorder" });
    const firstPlan = calls.findIndex((c) => c.args[0] === "plan");
    expect(calls.slice(0, firstPlan + 1).map((c) => c.dataDir)).toEqual(Array(3).fill(calls[0].dataDir));
  });

  it("goes on past a failed workspace, reports it in the table and a log file, and exits non-zero", async () => {
    const { status, calls, stdout, out } = await rollout(
      { action: "plan", stack: "ec2-mirroring" },
      { FAKE_TF_APPLIED: "default", FAKE_TF_FAIL: "222222222222-us-east-1", FAKE_TF_NO_CHANGES: "333333333333-us-east-1" },
    );
    expect(status).toBe(1);
    expect(calls.filter((c) => c.args[0] === "plan")).toHaveLength(3);
    expect(stdout).toMatch(/222222222222-us-east-1\s*│ workloads-prod\s*│ us-east-1\s*│ failed/);
    expect(stdout).toMatch(/333333333333-us-east-1\s*│ workloads-staging\s*│ us-east-1\s*│ no changes/);
    expect(stdout).toContain("ok: 1, changed: 1, waiting: 0, failed: 1, skipped: 0");
    const log = readFileSync(path.join(path.dirname(out.manifestPath), "rollout-logs", "ec2-mirroring", "222222222222-us-east-1.log"), "utf8");
    expect(log).toContain("$ terraform plan -input=false -no-color -detailed-exitcode -out=222222222222-us-east-1.tfplan");
    expect(log).toContain("Error: planning 222222222222-us-east-1 failed");
  });

  it("selects workspaces by account and by OU", async () => {
    const byAccount = await rollout({ action: "plan", accounts: ["333333333333"] }, { FAKE_TF_APPLIED: "default" });
    expect(new Set(byAccount.calls.filter((c) => c.args[0] === "plan").map((c) => c.dataDir))).toEqual(new Set([".terraform-333333333333-us-east-1"]));
    const byOu = await rollout({ action: "plan", ou: "ou-ab12-11111111", stack: "fargate-mirroring" }, { FAKE_TF_APPLIED: "default" });
    expect(byOu.calls.filter((c) => c.args[0] === "plan").map((c) => c.workspace).sort()).toEqual(["222222222222-eu-west-1", "222222222222-us-east-1"]);
  });

  it("applies the saved plans, and skips members of a stack whose dependency failed to apply", async () => {
    const out = outputDir();
    await rollout({ action: "plan" }, CENTRAL_APPLIED, out);
    const { status, calls, stdout } = await rollout({ action: "apply" }, { FAKE_TF_FAIL: "default" }, out);
    expect(status).toBe(1);
    const applies = calls.filter((c) => c.args[0] === "apply");
    // Both central stacks (workspace default) fail: their members are skipped.
    expect(applies.slice(0, 2).map((c) => c.args)).toEqual([["apply", "-input=false", "-no-color", "default.tfplan"], ["apply", "-input=false", "-no-color", "default.tfplan"]]);
    expect(applies.slice(2).every((c) => c.cwd.endsWith("nat-flow-recorder") || c.cwd.endsWith("flow-log-sg-enrichment"))).toBe(true);
    // nat-flow-recorder and flow-log-sg-enrichment depend on nothing, so their four workspaces still apply.
    expect(applies).toHaveLength(6);
    expect(stdout).toContain("ok: 4, changed: 0, waiting: 0, failed: 2, skipped: 7");
  });

  it("refuses to apply a workspace that has no reviewed plan", async () => {
    const { status, calls } = await rollout({ action: "apply", stack: "mirror-target" });
    expect(status).toBe(1);
    expect(calls.some((c) => c.args[0] === "apply")).toBe(false);
  });

  it("says in one line that it needs terraform when there is none", async () => {
    const { status, stderr, calls } = await rollout({ action: "plan" }, { PATH: "/nonexistent" });
    expect(status).toBe(1);
    expect(stderr).toBe("flowtap rollout needs a terraform binary (1.10 or later) on PATH, and found none\n");
    expect(calls).toEqual([]);
  });

  it("names the stacks there are when --stack names none of them", async () => {
    await expect(rollout({ action: "plan", stack: "flow-atlas" })).rejects.toThrow(
      "no stack flow-atlas in the manifest (it has mirror-target, flow-insights-central, ec2-mirroring, fargate-mirroring, nat-flow-recorder, flow-log-sg-enrichment, flow-insights)",
    );
  });
});
