import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { RolloutManifest } from "../config/rollout-manifest";
import type { RolloutSummary } from "../cli/rollout";
import { repinAwsProvider, runTerraform } from "../cli/terraform-tools";
import { MIRROR_TARGET_STACK } from "../stacks/mirror-target-stack";
import { readRepositoryFile, REPOSITORY_ROOT } from "./helpers/markdown";
import { exampleConfigFile, exampleOrg } from "./helpers/synth";
import { describeWithTerraform, EXAMPLE_PLANNED_ADDITIONS, stackDocument, startOfflineEnvironment, stateFixtureOf, terraformTools, writeRemoteStateFixture, type OfflineEnvironment } from "./helpers/terraform";

/**
 * `npm run synth`, then `flowtap rollout plan` with the real terraform, on the example organization
 * in a temporary directory with nothing applied: the first wave plans, the stacks that read another's
 * state wait for it, and once that state exists (written here as apply would leave it) they plan.
 * Apply itself needs AWS; the fake terraform of cli-rollout.test.ts stands in for it.
 *
 * What differs from a user's run, each because the machine is offline: every stack is re-pinned to
 * the mirror's hashicorp/aws version; terraform installs it from the mirror (TF_CLI_CONFIG_FILE);
 * and STS and Step Functions are a local fake (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_SFN).
 */

const execFileAsync = promisify(execFile);
const FLOWTAP = path.join(REPOSITORY_ROOT, "bin", "flowtap.cjs");
/** A rollout of two workspaces, each a terraform init and plan: some 15 s on an idle 2-core machine, several times that beside the other test files. */
const PLAN_TIMEOUT = 300_000;

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describeWithTerraform("flowtap rollout plan with the real terraform, from nothing applied", () => {
  const tools = terraformTools.found ? terraformTools : undefined!;
  let root: string;
  let outdir: string;
  let manifest: RolloutManifest;
  let offline: OfflineEnvironment;
  let firstWave: CliRun;

  /** `flowtap <args>` in the temporary directory, as a user runs it there; async, so that the fake STS in this process can answer. */
  const flowtap = async (args: string[]): Promise<CliRun> => {
    const env = { ...offline.env, PATH: `${path.dirname(tools.terraform)}${path.delimiter}${offline.env.PATH}` };
    try {
      const { stdout, stderr } = await execFileAsync(process.execPath, [FLOWTAP, ...args], { cwd: root, env, maxBuffer: 64 << 20 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const failed = err as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  const summary = (): RolloutSummary => JSON.parse(readFileSync(path.join(outdir, "rollout-logs", "summary.json"), "utf8"));
  const results = (s: RolloutSummary) => Object.fromEntries(s.workspaces.map((w) => [`${w.stack} ${w.workspace}`, w.waitingFor ? `${w.result} for ${w.waitingFor.join(", ")}` : w.result]));
  const logOf = (stack: string, workspace: string) => readFileSync(path.join(outdir, "rollout-logs", stack, `${workspace}.log`), "utf8");
  const stackDir = (stack: string) => path.join(outdir, "stacks", stack);

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "flowtap-rollout-terraform-"));
    outdir = path.join(root, "cdktf.out");
    await execFileAsync("npm", ["run", "synth", "--", "--out", outdir], { cwd: REPOSITORY_ROOT });
    manifest = JSON.parse(readFileSync(path.join(outdir, "rollout.json"), "utf8"));
    for (const stack of manifest.stacks) repinAwsProvider(stackDir(stack.name), tools.mirror.version);
    offline = await startOfflineEnvironment(root, tools.mirror, path.join(root, "plugin-cache"));
    firstWave = await flowtap(["rollout", "plan", "--parallel", "2"]);
  }, 600_000);

  afterAll(async () => {
    await offline?.aws.close();
  });

  it("plans the stacks that depend on nothing, shows the others waiting for what they read, and fails none", () => {
    expect({ code: firstWave.code, stderr: firstWave.stderr }).toEqual({ code: 0, stderr: "" });
    expect(results(summary())).toEqual({
      "mirror-target default": "changes",
      "flow-insights-central default": "changes",
      "ec2-mirroring 222222222222-us-east-1": "waiting for mirror-target",
      "ec2-mirroring 222222222222-eu-west-1": "waiting for mirror-target",
      "ec2-mirroring 333333333333-us-east-1": "waiting for mirror-target",
      "fargate-mirroring 222222222222-us-east-1": "waiting for mirror-target",
      "fargate-mirroring 222222222222-eu-west-1": "waiting for mirror-target",
      "nat-flow-recorder 222222222222-us-east-1": "changes",
      "nat-flow-recorder 222222222222-eu-west-1": "changes",
      "nat-flow-recorder 444444444444-us-east-1": "changes",
      "flow-log-sg-enrichment 333333333333-us-east-1": "changes",
      "flow-insights 222222222222-us-east-1": "waiting for flow-insights-central",
      "flow-insights 222222222222-eu-west-1": "waiting for flow-insights-central",
    });
  });

  it("prints the table, the counts and what to do about the waiting workspaces", () => {
    expect(firstWave.stdout).toMatch(/fargate-mirroring\s*│ 222222222222-eu-west-1\s*│ workloads-prod\s*│ eu-west-1\s*│ waiting for mirror-target/);
    expect(firstWave.stdout).toMatch(/nat-flow-recorder\s*│ 444444444444-us-east-1\s*│ \S+\s*│ us-east-1\s*│ changes/);
    expect(firstWave.stdout).toContain("ok: 0, changed: 6, waiting: 7, failed: 0, skipped: 0");
    expect(firstWave.stdout).toContain("Review and apply this plan, then run flowtap rollout plan again for the next wave.");
  });

  it("prints what docs/rollout.md shows of a first rollout's plan", () => {
    const sample = /On the example organization with nothing applied[\s\S]*?```text\n([\s\S]*?)```/.exec(readRepositoryFile("docs/rollout.md"))?.[1];
    expect(sample).toBeDefined();
    for (const line of sample!.trim().split("\n")) expect(firstWave.stdout).toContain(line);
  });

  it("saves each planned workspace's plan, which terraform reads back, and none for a waiting one", async () => {
    for (const w of summary().workspaces) expect(`${w.stack} ${w.workspace}: ${existsSync(path.join(stackDir(w.stack), `${w.workspace}.tfplan`))}`).toBe(`${w.stack} ${w.workspace}: ${w.result === "changes"}`);
    const shown = await runTerraform(tools.terraform, ["show", "-json", "default.tfplan"], stackDir(MIRROR_TARGET_STACK), { ...offline.env, TF_DATA_DIR: ".terraform-default" });
    const created = JSON.parse(shown.stdout).resource_changes.filter((c: { change: { actions: string[] } }) => c.change.actions.includes("create"));
    expect(created).toHaveLength(EXAMPLE_PLANNED_ADDITIONS["mirror-target default"]);
  });

  it("logs each workspace's terraform run, with the plan a reviewer reads", () => {
    for (const w of summary().workspaces.filter((w) => w.result === "changes")) {
      const log = logOf(w.stack, w.workspace);
      expect(log).toContain(`$ terraform workspace select -no-color ${w.workspace === "default" ? "default" : `-or-create ${w.workspace}`}`);
      expect(log).toContain(`Plan: ${EXAMPLE_PLANNED_ADDITIONS[`${w.stack} ${w.workspace}`]} to add, 0 to change, 0 to destroy.`);
    }
    expect(logOf("ec2-mirroring", "222222222222-us-east-1")).toBe("not planned: waiting for mirror-target, which must be applied with nothing left to change first\n");
  });

  it("plans the waiting stack, selected by --stack and --accounts, once the state it reads exists", async () => {
    writeRemoteStateFixture(root, "ec2-mirroring", "mirror-target-state", stateFixtureOf(stackDocument(root, MIRROR_TARGET_STACK), exampleOrg));
    const run = await flowtap(["rollout", "plan", "--stack", "ec2-mirroring", "--accounts", "222222222222"]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(results(summary())).toEqual({ "ec2-mirroring 222222222222-us-east-1": "changes", "ec2-mirroring 222222222222-eu-west-1": "changes" });
    expect(logOf("ec2-mirroring", "222222222222-eu-west-1")).toContain(`Plan: ${EXAMPLE_PLANNED_ADDITIONS["ec2-mirroring 222222222222-eu-west-1"]} to add`);
    // The dependency was not planned: its state was read in its own workspace.
    expect(readFileSync(path.join(outdir, "rollout-logs", MIRROR_TARGET_STACK, "default.state.log"), "utf8")).toContain("$ terraform output -no-color -json");
  }, PLAN_TIMEOUT);

  it("goes on past a failing workspace of an OU, whose log says what to do", async () => {
    writeRemoteStateFixture(root, "fargate-mirroring", "mirror-target-state", stateFixtureOf(stackDocument(root, MIRROR_TARGET_STACK), exampleOrg, (outputs) => {
      delete (outputs.targets_by_region as Record<string, unknown>)["us-east-1"];
    }));
    const run = await flowtap(["rollout", "plan", "--stack", "fargate-mirroring", "--ou", "ou-ab12-11111111"]);
    expect(run.code).toBe(1);
    expect(results(summary())).toEqual({ "fargate-mirroring 222222222222-us-east-1": "failed", "fargate-mirroring 222222222222-eu-west-1": "changes" });
    expect(logOf("fargate-mirroring", "222222222222-us-east-1").replace(/\s+/g, " ")).toContain(
      `flowtap: no traffic mirror target for region us-east-1: set targetIds in ${exampleConfigFile} or apply the mirror-target stack first`,
    );
  }, PLAN_TIMEOUT);
});
