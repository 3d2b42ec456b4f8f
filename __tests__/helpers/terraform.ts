import { App } from "cdktf";
import { randomUUID, createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import pLimit from "p-limit";
import { rolloutManifest, type RolloutManifest } from "../../config/rollout-manifest";
import type { OrgConfig } from "../../config/schema";
import { findTerraformTools, terraformToolsLine, repinAwsProvider, runTerraform, writeMirrorCliConfig, type AwsProviderMirror, type Repinning, type TerraformRun } from "../../cli/terraform-tools";
import { validateInitialized, type StackValidation } from "../../cli/validate";
import { composeStacks } from "../../stacks";
import type { RuntimeCall } from "../../modules/runtime-calls";
import { startFakeAws, type AssumeRoleCall, type FakeAws } from "./fake-aws";
import { declaredCalls } from "./iam-simulation";

/** terraform and the provider mirror, found once per test file. */
export const terraformTools = findTerraformTools();

/** `describe`, or `describe.skip` with the loud line when terraform or the mirror is missing. */
export function describeWithTerraform(name: string, fn: () => void): void {
  if (terraformTools.found) return describe(name, fn);
  console.warn(terraformToolsLine(terraformTools));
  describe.skip(name, fn);
}

// What each workspace's plan of the example organization creates ("Plan: N to add"): what a reviewer of `terraform plan` sees.
// The NAT recorder's us-east-1 workspace of 222222222222 watches one NAT gateway more (its alarm).
// Every stack has an alarm topic per region (key, topic, policy, email subscription) and alarms on its queues, functions and streams.
export const EXAMPLE_PLANNED_ADDITIONS: Record<string, number> = {
  "mirror-target default": 12,
  "flow-insights-central default": 188,
  "ec2-mirroring 222222222222-us-east-1": 37,
  "ec2-mirroring 222222222222-eu-west-1": 37,
  "ec2-mirroring 333333333333-us-east-1": 37,
  "fargate-mirroring 222222222222-us-east-1": 34,
  "fargate-mirroring 222222222222-eu-west-1": 34,
  "nat-flow-recorder 222222222222-us-east-1": 60,
  "nat-flow-recorder 222222222222-eu-west-1": 59,
  "nat-flow-recorder 444444444444-us-east-1": 58,
  "flow-log-sg-enrichment 333333333333-us-east-1": 42,
  "flow-insights 222222222222-us-east-1": 26,
  "flow-insights 222222222222-eu-west-1": 26,
};

/** The access key the plans sign with: the base credentials a pipeline has before assuming roles. */
const PIPELINE_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE";

/** Synthesizes `config` as `npm run synth` does (stacks with their assets and tfvars) into `root/cdktf.out`. */
export function synthesizeInto(root: string, config: OrgConfig, configFile: string): RolloutManifest {
  return synthesizeWithCalls(root, config, configFile).manifest;
}

/** {@link synthesizeInto}, with the requests each stack declares (see `modules/runtime-calls.ts`), by stack name. */
export function synthesizeWithCalls(root: string, config: OrgConfig, configFile: string): { manifest: RolloutManifest; calls: Map<string, RuntimeCall[]> } {
  const outdir = path.join(root, "cdktf.out");
  const app = new App({ outdir });
  const stacks = composeStacks(app, config, configFile);
  app.synth();
  return { manifest: rolloutManifest(config, configFile), calls: new Map(stacks.map((stack) => [stack.node.id, declaredCalls(stack)])) };
}

/** A stack's synthesized (re-pinned) Terraform JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function stackDocument(root: string, stack: string): any {
  return JSON.parse(readFileSync(path.join(root, "cdktf.out", "stacks", stack, "cdk.tf.json"), "utf8"));
}

/** A member stack's workspace map, as synth wrote it beside the stack. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function workspaceSettings(root: string, stack: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(root, "cdktf.out", "stacks", stack, "workspaces.auto.tfvars.json"), "utf8")).workspaces;
}

/** A fixture value for one reference in a stack's outputs, shaped as AWS would make it. */
function fixtureValue(type: string, name: string, attribute: string, config: OrgConfig): string {
  const hash = createHash("sha256").update(`${type}.${name}`).digest("hex");
  const { accountId, region } = config.central;
  switch (`${type}.${attribute}`) {
    case "aws_ec2_traffic_mirror_target.id":
      return `tmt-${hash.slice(0, 17)}`;
    case "aws_ram_resource_share.arn":
      return `arn:aws:ram:${region}:${accountId}:resource-share/${hash.slice(0, 8)}-${hash.slice(8, 12)}-${hash.slice(12, 16)}-${hash.slice(16, 20)}-${hash.slice(20, 32)}`;
    default:
      throw new Error(`no fixture value for ${type}.${name}.${attribute}: add one to fixtureValue`);
  }
}

type CtyType = string | [string, unknown];

function ctyTypeOf(value: unknown): CtyType {
  if (typeof value === "string") return "string";
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return ["tuple", value.map(ctyTypeOf)];
  return ["object", Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, ctyTypeOf(v)]))];
}

/**
 * What a stack's state holds once applied, as far as other stacks read it: every output it declares,
 * each reference replaced with a value shaped like AWS's, in Terraform's state format (version 4).
 */
export function stateFixtureOf(document: { output?: Record<string, { value: unknown }> }, config: OrgConfig, edit: (outputs: Record<string, unknown>) => void = () => {}): string {
  const resolve = (value: unknown): unknown => {
    if (typeof value === "string") {
      const reference = /^\$\{([\w-]+)\.([\w-]+)\.([\w-]+)\}$/.exec(value);
      if (!reference) throw new Error(`output value ${value} is not a single attribute reference; extend stateFixtureOf`);
      return fixtureValue(reference[1], reference[2], reference[3], config);
    }
    if (Array.isArray(value)) return value.map(resolve);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    return value;
  };
  const outputs: Record<string, unknown> = Object.fromEntries(Object.entries(document.output ?? {}).map(([name, o]) => [name, resolve(o.value)]));
  edit(outputs);
  return JSON.stringify({
    version: 4,
    terraform_version: "1.11.0",
    serial: 1,
    lineage: randomUUID(),
    outputs: Object.fromEntries(Object.entries(outputs).map(([name, value]) => [name, { value, type: ctyTypeOf(value) }])),
    resources: [],
    check_results: null,
  });
}

export interface WorkspacePlan {
  readonly stack: string;
  readonly workspace: string;
  readonly run: TerraformRun;
  /** `terraform show -json` of the saved plan, when the plan succeeded. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly plan?: any;
}

/** A synthesized organization, initialized against the mirror and a local fake STS and Step Functions, ready to plan workspaces. */
export interface PlanningRoot {
  readonly root: string;
  readonly assumedRoles: readonly AssumeRoleCall[];
  /** `terraform validate` of each stack, with how it was re-pinned. */
  readonly validations: readonly StackValidation[];
  /** The state machine definitions the provider had validated while planning. */
  readonly validatedDefinitions: readonly unknown[];
  /**
   * Plans `stack` in `workspace` (TF_WORKSPACE, so that workspaces of one stack plan at once);
   * with `show`, reads the saved plan back with `terraform show -json`.
   */
  plan(stack: string, workspace: string, show?: boolean): Promise<WorkspacePlan>;
  /**
   * `value` as Terraform evaluates it in `workspace`: its strings are templates of Terraform's
   * JSON syntax, as in `cdk.tf.json`. It is written as a local beside the stack, and
   * `terraform console -plan` reads it against the planned state (data sources read, locals and
   * variables known; what only apply knows stays unknown and is refused). One at a time per stack.
   */
  evaluate(stack: string, workspace: string, value: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** What terraform runs with offline: providers from the mirror, the pipeline's credentials, and STS and Step Functions answered by a local fake. */
export interface OfflineEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly aws: FakeAws;
}

/** Starts the fake STS and Step Functions, and writes the mirror's CLI configuration to `root/mirror.tfrc`. */
export async function startOfflineEnvironment(root: string, mirror: AwsProviderMirror, pluginCacheDir: string): Promise<OfflineEnvironment> {
  const aws = await startFakeAws({ baseAccessKeyId: PIPELINE_ACCESS_KEY });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TF_CLI_CONFIG_FILE: writeMirrorCliConfig(path.join(root, "mirror.tfrc"), mirror, pluginCacheDir),
    AWS_ACCESS_KEY_ID: PIPELINE_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    AWS_SESSION_TOKEN: "",
    AWS_PROFILE: "",
    AWS_ENDPOINT_URL_STS: aws.url,
    AWS_ENDPOINT_URL_SFN: aws.url,
    AWS_EC2_METADATA_DISABLED: "true",
  };
  return { env, aws };
}

/**
 * Re-pins every stack under `root/cdktf.out/stacks` to the mirror, runs `terraform init` (local
 * backends, offline) and `terraform validate`, creates the workspaces of `manifest`, and starts a fake STS for the plans.
 */
export async function preparePlanning(root: string, manifest: RolloutManifest, terraform: string, mirror: AwsProviderMirror, pluginCacheDir: string): Promise<PlanningRoot> {
  const { env, aws } = await startOfflineEnvironment(root, mirror, pluginCacheDir);
  const dirOf = (stack: string) => path.join(root, "cdktf.out", "stacks", stack);
  const must = async (args: string[], cwd: string, runEnv = env) => {
    const run = await runTerraform(terraform, args, cwd, runEnv);
    if (run.code !== 0) throw new Error(`terraform ${args.join(" ")} in ${cwd} failed:\n${run.stderr || run.stdout}`);
  };
  const validations: StackValidation[] = [];
  const prepare = async (stack: RolloutManifest["stacks"][number]) => {
    const dir = dirOf(stack.name);
    const repinning: Repinning = repinAwsProvider(dir, mirror.version);
    await must(["init", "-input=false", "-no-color"], dir);
    validations.push({ ...(await validateInitialized(stack.name, dir, terraform, env)), repinning });
    for (const ws of stack.workspaces) if (ws.name !== "default") await must(["workspace", "new", "-no-color", ws.name], dir);
  };
  // The plugin cache is not safe for concurrent first installs: the first stack fills it alone.
  const [first, ...rest] = manifest.stacks;
  await prepare(first);
  const limit = pLimit(2);
  await Promise.all(rest.map((stack) => limit(() => prepare(stack))));

  return {
    root,
    validations,
    assumedRoles: aws.assumedRoles,
    validatedDefinitions: aws.validatedDefinitions,
    async plan(stack, workspace, show = false) {
      const cwd = dirOf(stack);
      const planFile = `${workspace}.tfplan`;
      const runEnv = { ...env, TF_WORKSPACE: workspace };
      const run = await runTerraform(terraform, ["plan", "-input=false", "-no-color", "-lock=false", `-out=${planFile}`], cwd, runEnv);
      if (run.code !== 0 || !show) return { stack, workspace, run };
      const shown = await runTerraform(terraform, ["show", "-json", "-no-color", planFile], cwd, runEnv);
      return { stack, workspace, run, plan: JSON.parse(shown.stdout) };
    },
    async evaluate(stack, workspace, value) {
      const file = path.join(dirOf(stack), "flowtap-evaluate.tf.json");
      writeFileSync(file, JSON.stringify({ locals: { flowtap_evaluate: value } }));
      try {
        // base64 keeps the console's quoting of strings out of the way.
        const run = await runTerraform(terraform, ["console", "-plan"], dirOf(stack), { ...env, TF_WORKSPACE: workspace }, "base64encode(jsonencode(local.flowtap_evaluate))\n");
        const encoded = /^"([A-Za-z0-9+/=]*)"\s*$/m.exec(run.stdout)?.[1];
        if (run.code !== 0 || encoded === undefined) throw new Error(`terraform console -plan in ${stack} ${workspace} (exit ${run.code}): ${run.stdout.trim() || "no value"}\n${run.stderr}`);
        return JSON.parse(Buffer.from(encoded, "base64").toString("utf8"));
      } finally {
        rmSync(file);
      }
    },
    close: () => aws.close(),
  };
}

/** Writes the state a stack reads by `terraform_remote_state` where its backend would keep it. */
export function writeRemoteStateFixture(root: string, readingStack: string, stateName: string, content: string): string {
  const document = stackDocument(root, readingStack);
  const remote = document.data?.terraform_remote_state?.[stateName];
  if (remote?.backend !== "local") throw new Error(`${readingStack} reads no local remote state named ${stateName}`);
  const file = path.resolve(root, "cdktf.out", "stacks", readingStack, remote.config.path);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}
