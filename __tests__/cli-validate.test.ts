import { App, TerraformStack } from "cdktf";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { runValidate } from "../cli/validate";
import { describeWithTerraform, terraformTools } from "./helpers/terraform";

function io(env: NodeJS.ProcessEnv) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = (stream: PassThrough) => () => (stream.read() as Buffer | null)?.toString("utf8") ?? "";
  return { io: { stdout, stderr, env }, stdout: text(stdout), stderr: text(stderr) };
}

/** Two stacks as synth writes them: one Terraform accepts, one with a literal it reads as references. */
function synthesizeStacks(): string {
  const outdir = mkdtempSync(path.join(tmpdir(), "flowtap-validate-test-"));
  const app = new App({ outdir });
  for (const [name, value] of [["good", "$${srcaddr}"], ["broken", "${srcaddr}"]]) {
    const stack = new TerraformStack(app, name);
    new AwsProvider(stack, "aws", { region: "us-east-1" });
    new SsmParameter(stack, "format", { name: `/flowtap/${name}`, type: "String", value });
  }
  app.synth();
  return path.join(outdir, "stacks");
}

describe("flowtap validate without terraform", () => {
  it("says what it needs and exits 1", async () => {
    const run = io({ PATH: "" });
    expect(await runValidate({ stacksDir: "cdktf.out/stacks", parallel: 1 }, run.io)).toBe(1);
    expect(run.stderr()).toContain("flowtap validate needs terraform");
  });
});

describeWithTerraform("flowtap validate (npm run validate)", () => {
  const tools = terraformTools as Extract<typeof terraformTools, { found: true }>;

  it("prints one line per stack, Terraform's errors under the invalid one, and exits 1; the stack directories are left as they were", async () => {
    const stacksDir = synthesizeStacks();
    const run = io({ ...process.env });
    const status = await runValidate({ stacksDir, mirrorDir: tools.mirror.dir, parallel: 2 }, run.io);
    const lines = run.stdout().split("\n");
    expect(status).toBe(1);
    expect(lines[0]).toBe(`INVALID broken (aws 6.25.0 re-pinned to the mirror's ${tools.mirror.version})`);
    expect(lines[1]).toMatch(/^ {8}Error: Invalid reference \(cdk\.tf\.json:\d+\): A reference to a resource type must be followed by at least one attribute access/);
    expect(lines).toContain(`valid   good (aws 6.25.0 re-pinned to the mirror's ${tools.mirror.version})`);
    expect(lines).toContain("1 of 2 stacks valid");
    expect(existsSync(path.join(stacksDir, "good", ".terraform"))).toBe(false);
  }, 120_000);

  it("refuses a mirror directory that holds no hashicorp/aws", async () => {
    const run = io({ ...process.env });
    expect(await runValidate({ stacksDir: "cdktf.out/stacks", mirrorDir: tmpdir(), parallel: 1 }, run.io)).toBe(1);
    expect(run.stderr()).toContain("holds no registry.terraform.io/hashicorp/aws/<version>");
  });
});
