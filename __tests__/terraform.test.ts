import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import pLimit from "p-limit";
import type { RolloutManifest } from "../config/rollout-manifest";
import { VPC_FLOW_LOG_FORMAT } from "../functions/lib/flowlogs/format";
import { natFlowRecorderDefinition } from "../functions/lib/nat-recorder/state-machine";
import { validationLines, type StackValidation } from "../cli/validate";
import { MIRROR_TARGET_STACK } from "../stacks/mirror-target-stack";
import { exampleConfigFile, exampleOrg } from "./helpers/synth";
import {
  describeWithTerraform,
  EXAMPLE_PLANNED_ADDITIONS,
  preparePlanning,
  stackDocument,
  stateFixtureOf,
  synthesizeInto,
  terraformTools,
  writeRemoteStateFixture,
  type PlanningRoot,
  type WorkspacePlan,
  workspaceSettings,
} from "./helpers/terraform";

/**
 * The real terraform reads what synth writes: every stack validates, and every workspace of the
 * example organization plans offline, against the mirrored provider and local stand-ins for the
 * two AWS APIs a plan calls (STS, and Step Functions' definition check).
 */

// The plans read back with `terraform show -json`, for the values the tests below look at.
const SHOWN = new Set([
  "mirror-target default",
  "flow-insights-central default",
  "ec2-mirroring 222222222222-us-east-1",
  "ec2-mirroring 222222222222-eu-west-1",
  "ec2-mirroring 333333333333-us-east-1",
  "fargate-mirroring 222222222222-us-east-1",
  "nat-flow-recorder 222222222222-us-east-1",
  "flow-log-sg-enrichment 333333333333-us-east-1",
]);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type PlannedResource = { address: string; type: string; values: any };

function plannedResources(plan: WorkspacePlan): PlannedResource[] {
  const collect = (module: { resources?: PlannedResource[]; child_modules?: unknown[] } | undefined): PlannedResource[] => [
    ...(module?.resources ?? []),
    ...((module?.child_modules ?? []) as (typeof module)[]).flatMap(collect),
  ];
  return collect(plan.plan?.planned_values?.root_module);
}

function ofType(plan: WorkspacePlan, type: string): PlannedResource[] {
  return plannedResources(plan).filter((r) => r.type === type);
}

function failureOf(plan: WorkspacePlan): string {
  return `${plan.stack} in ${plan.workspace}: terraform plan exited ${plan.run.code}\n${plan.run.stderr || plan.run.stdout}`;
}

describeWithTerraform("terraform reads every synthesized stack", () => {
  const tools = terraformTools as Extract<typeof terraformTools, { found: true }>;
  let root: string;
  let manifest: RolloutManifest;
  let validations: readonly StackValidation[];
  let planning: PlanningRoot;
  const plans = new Map<string, WorkspacePlan>();
  let outsideRollout: WorkspacePlan;
  let withoutTarget: WorkspacePlan;
  let withoutCentralState: WorkspacePlan;
  const planOf = (stack: string, workspace: string): WorkspacePlan => {
    const plan = plans.get(`${stack} ${workspace}`);
    if (!plan) throw new Error(`${stack} was not planned in ${workspace}`);
    return plan;
  };

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "flowtap-terraform-"));
    manifest = synthesizeInto(root, exampleOrg, exampleConfigFile);

    planning = await preparePlanning(root, manifest, tools.terraform, tools.mirror, path.join(root, "plugin-cache"));
    validations = planning.validations;
    const mirrorTarget = stackDocument(root, MIRROR_TARGET_STACK);
    const reading = manifest.stacks.filter((s) => s.dependsOn.includes(MIRROR_TARGET_STACK)).map((s) => s.name);
    for (const stack of reading) writeRemoteStateFixture(root, stack, "mirror-target-state", stateFixtureOf(mirrorTarget, exampleOrg));

    const limit = pLimit(2);
    const jobs = manifest.stacks.flatMap((stack) => stack.workspaces.map((ws) => ({ stack: stack.name, workspace: ws.name })));
    const planned = await Promise.all(jobs.map((job) => limit(() => planning.plan(job.stack, job.workspace, SHOWN.has(`${job.stack} ${job.workspace}`)))));
    for (const plan of planned) plans.set(`${plan.stack} ${plan.workspace}`, plan);

    // The designed failures: a workspace the rollout does not have, and a region the mirror-target stack has no target in.
    outsideRollout = await planning.plan("nat-flow-recorder", "999999999999-us-east-1");
    writeRemoteStateFixture(root, "ec2-mirroring", "mirror-target-state", stateFixtureOf(mirrorTarget, exampleOrg, (outputs) => {
      outputs.targets_by_region = {};
    }));
    withoutTarget = await planning.plan("ec2-mirroring", "222222222222-us-east-1");
    // Before mirror-target is applied its state does not exist at all.
    rmSync(writeRemoteStateFixture(root, "ec2-mirroring", "mirror-target-state", ""));
    withoutCentralState = await planning.plan("ec2-mirroring", "222222222222-us-east-1");
  }, 600_000);

  afterAll(async () => {
    await planning?.close();
  });

  it("validates every stack with the real terraform and the mirrored provider", () => {
    expect(validations.map((v) => v.stack).sort()).toEqual(manifest.stacks.map((s) => s.name).sort());
    expect(validationLines(validations.filter((v) => !v.valid))).toEqual([]);
  });

  it("re-pins the provider with only the named 5.x translations", () => {
    for (const v of validations) {
      expect(v.repinning).toMatchObject({ from: "6.25.0", to: tools.mirror.version });
      expect(Object.keys(v.repinning?.translated ?? {}).every((name) => name.startsWith("data.aws_region"))).toBe(true);
    }
  });

  it("plans every workspace of the example organization", () => {
    const failed = [...plans.values()].filter((p) => p.run.code !== 0);
    expect(failed.map(failureOf)).toEqual([]);
    expect(plans.size).toBe(manifest.stacks.reduce((n, s) => n + s.workspaces.length, 0));
  });

  it("adds the resources a reviewer expects in each workspace", () => {
    const additions = Object.fromEntries([...plans.values()].map((p) => [`${p.stack} ${p.workspace}`, Number(/^Plan: (\d+) to add, 0 to change, 0 to destroy\.$/m.exec(p.run.stdout)?.[1])]));
    expect(additions).toEqual(EXAMPLE_PLANNED_ADDITIONS);
  });

  it("shares the mirror targets with the organization through RAM, each region's from its own share", () => {
    const plan = planOf(MIRROR_TARGET_STACK, "default");
    expect(ofType(plan, "aws_ec2_traffic_mirror_target")).toHaveLength(exampleOrg.features.mirrorTarget!.targets.length);
    const principals = ofType(plan, "aws_ram_principal_association").map((a) => a.values.principal);
    expect(principals).toEqual(exampleOrg.features.mirrorTarget!.targets.filter((t, i, all) => all.findIndex((u) => u.region === t.region) === i).map(() => `arn:aws:organizations::${exampleOrg.organization.managementAccountId}:organization/${exampleOrg.organization.id}`));
  });

  it("assumes each workspace's role in its own account, with the rollout's session name", () => {
    const roles = new Set(planning.assumedRoles.map((r) => `${r.roleArn} ${r.sessionName}`));
    for (const stack of manifest.stacks) {
      for (const ws of stack.workspaces) expect(roles).toContain(`arn:aws:iam::${ws.accountId}:role/${exampleOrg.rollout.assumeRoleName} ${exampleOrg.rollout.sessionName}`);
    }
  });

  it("gives the NAT recorder the state machine the state-machine tests execute", () => {
    const [machine] = ofType(planOf("nat-flow-recorder", "222222222222-us-east-1"), "aws_sfn_state_machine");
    expect(JSON.parse(machine.values.definition)).toEqual(natFlowRecorderDefinition());
    // Every workspace's plan had Step Functions (here asl-validator) check that same definition.
    const workspaces = manifest.stacks.find((s) => s.name === "nat-flow-recorder")!.workspaces.length;
    expect(planning.validatedDefinitions.length).toBeGreaterThanOrEqual(workspaces);
    for (const definition of planning.validatedDefinitions) expect(definition).toEqual(natFlowRecorderDefinition());
  });

  it("hands the flow log format to AWS and to the functions as written, not as Terraform expressions", () => {
    const [sgFlowLog] = ofType(planOf("flow-log-sg-enrichment", manifest.stacks.find((s) => s.name === "flow-log-sg-enrichment")!.workspaces[0].name), "aws_flow_log");
    expect(sgFlowLog.values.log_format).toBe(VPC_FLOW_LOG_FORMAT);
    const enrichers = ofType(planOf("flow-insights-central", "default"), "aws_lambda_function").filter((f) => f.values.environment?.[0]?.variables?.FLOW_LOG_FORMAT);
    expect(enrichers.length).toBeGreaterThan(0);
    for (const f of enrichers) expect(f.values.environment[0].variables.FLOW_LOG_FORMAT).toBe(VPC_FLOW_LOG_FORMAT);
  });

  it("grants the mirroring functions exactly their region's targets: the central stack's by remote state, or the workspace's own", () => {
    const central = JSON.parse(stateFixtureOf(stackDocument(root, MIRROR_TARGET_STACK), exampleOrg)).outputs.targets_by_region.value;
    const shown = [...plans.values()].filter((p) => p.plan && ["ec2-mirroring", "fargate-mirroring"].includes(p.stack));
    expect(shown.length).toBeGreaterThanOrEqual(4);
    for (const plan of shown) {
      const settings = workspaceSettings(root, plan.stack)[plan.workspace];
      const expected = settings.mirror_targets_source === "config" ? JSON.parse(settings.mirror_targets_json) : central[settings.region];
      const granted = new Set<string>();
      for (const change of plan.plan.resource_changes.filter((c: { type: string }) => c.type === "aws_iam_policy_document")) {
        for (const statement of change.change.after?.statement ?? []) {
          for (const arn of statement.resources ?? []) {
            const target = /:traffic-mirror-target\/(tmt-\w+)$/.exec(arn ?? "");
            if (target) granted.add(target[1]);
          }
        }
      }
      expect({ workspace: `${plan.stack} ${plan.workspace}`, granted: [...granted].sort() }).toEqual({ workspace: `${plan.stack} ${plan.workspace}`, granted: Object.values(expected).sort() });
    }
  });

  it("refuses a workspace that is not in the rollout, naming it and the config file", () => {
    expect(outsideRollout.run.code).not.toBe(0);
    expect(outsideRollout.run.stderr.replace(/\s+/g, " ")).toContain(
      `flowtap: workspace '999999999999-us-east-1' is not in the rollout of ${exampleConfigFile} for stack nat-flow-recorder`,
    );
  });

  it("refuses ec2-mirroring before the mirror-target stack is applied with flowtap's message, not terraform's", () => {
    expect(withoutCentralState.run.code).not.toBe(0);
    const stderr = withoutCentralState.run.stderr.replace(/\s+/g, " ");
    expect(stderr).toContain(`flowtap: no traffic mirror target for region us-east-1: set targetIds in ${exampleConfigFile} or apply the mirror-target stack first`);
    expect(stderr).not.toContain("Unable to find remote state");
  });

  it("refuses ec2-mirroring where the mirror-target stack has no target for the region, saying what to do", () => {
    expect(withoutTarget.run.code).not.toBe(0);
    expect(withoutTarget.run.stderr.replace(/\s+/g, " ")).toContain(
      `flowtap: no traffic mirror target for region us-east-1: set targetIds in ${exampleConfigFile} or apply the mirror-target stack first`,
    );
  });
});
