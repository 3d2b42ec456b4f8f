import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { Testing } from "cdktf";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { Ec2TrafficMirrorFilterRule } from "@cdktf/provider-aws/lib/ec2-traffic-mirror-filter-rule";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { parseOrgConfig } from "../config/load";
import { exampleOrg, policyAt, resourceAt, resourcesOf, synthStack } from "./helpers/synth";

describe("ec2-mirroring stack", () => {
  const synthesized = synthStack(exampleOrg, "ec2-mirroring");
  const { json, tf, workspaces } = synthesized;

  describe("passthrough filter", () => {
    it("has exactly four accept rules: IPv4 and IPv6, ingress and egress", () => {
      const rules = Object.values(resourcesOf(synthesized, "aws_ec2_traffic_mirror_filter_rule"));
      expect(rules).toHaveLength(4);
      const combos = rules.map((r) => `${r.traffic_direction} ${r.source_cidr_block}>${r.destination_cidr_block} ${r.rule_action}`).sort();
      expect(combos).toEqual([
        "egress 0.0.0.0/0>0.0.0.0/0 accept",
        "egress ::/0>::/0 accept",
        "ingress 0.0.0.0/0>0.0.0.0/0 accept",
        "ingress ::/0>::/0 accept",
      ]);
      expect(json).toHaveResourceWithProperties(Ec2TrafficMirrorFilterRule, { traffic_direction: "egress", destination_cidr_block: "::/0" });
    });
  });

  describe("triggers", () => {
    const patterns = Object.values(resourcesOf(synthesized, "aws_cloudwatch_event_rule"))
      .filter((r) => r.event_pattern)
      .map((r) => JSON.parse(r.event_pattern));

    it("runs on EC2 instances entering the running state", () => {
      expect(patterns).toContainEqual({
        source: ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        detail: { state: ["running"] },
      });
    });

    it("runs on successful AttachNetworkInterface calls, so ENIs attached after launch are mirrored", () => {
      expect(patterns).toContainEqual({
        source: ["aws.ec2"],
        "detail-type": ["AWS API Call via CloudTrail"],
        detail: { eventSource: ["ec2.amazonaws.com"], eventName: ["AttachNetworkInterface"], errorCode: [{ exists: false }] },
      });
    });

    it("sweeps on the schedule the workspace's config gives (hourly in the example)", () => {
      expect(json).toHaveResourceWithProperties(CloudwatchEventRule, { schedule_expression: "${local.workspace.reconcile_schedule}" });
      expect(workspaces["222222222222-us-east-1"].reconcile_schedule).toBe("rate(1 hour)");
    });

    it("sends undeliverable events to the function's failure queue instead of dropping them", () => {
      const targets = Object.values(resourcesOf(synthesized, "aws_cloudwatch_event_target"));
      expect(targets).toHaveLength(3);
      for (const target of targets) {
        expect(target.dead_letter_config.arn).toMatch(/^\$\{aws_sqs_queue\..+\.arn\}$/);
        expect(target.retry_policy).toEqual({ maximum_event_age_in_seconds: 86400, maximum_retry_attempts: 185 });
      }
    });
  });

  describe("functions", () => {
    it("run Node.js 22 on arm64 with source maps, from a zip inside the stack's own directory", () => {
      const functions = Object.values(resourcesOf(synthesized, "aws_lambda_function"));
      expect(functions).toHaveLength(2);
      for (const fn of functions) {
        expect(fn.runtime).toBe("nodejs22.x");
        expect(fn.architectures).toEqual(["arm64"]);
        expect(fn.environment.variables.NODE_OPTIONS).toBe("--enable-source-maps");
        expect(fn.filename).toMatch(/^assets\/.+\/flowtap-ec2-mirroring(-reconciler)?\.zip$/);
        expect(fn.filename).toContain(fn.source_code_hash);
      }
    });

    it("keep their asset hash when synthesized again from unchanged sources", () => {
      const again = synthStack(exampleOrg, "ec2-mirroring");
      const hashes = (s: typeof synthesized) => Object.values(resourcesOf(s, "aws_lambda_function")).map((f) => f.source_code_hash).sort();
      expect(hashes(again)).toEqual(hashes(synthesized));
    });

    it("hand unprocessable async invocations to a failure queue after two retries", () => {
      expect(json).toHaveResourceWithProperties(LambdaFunctionEventInvokeConfig, {
        maximum_retry_attempts: 2,
        destination_config: { on_failure: { destination: expect.stringMatching(/aws_sqs_queue/) } },
      });
    });

    it("log to groups with the configured retention", () => {
      expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, {
        name: "/aws/lambda/flowtap-ec2-mirroring",
        retention_in_days: "${local.workspace.log_retention_days}",
      });
    });

    it("run the reconciler one sweep at a time", () => {
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        function_name: "flowtap-ec2-mirroring-reconciler",
        reserved_concurrent_executions: 1,
      });
    });

    it("pass every mirroring setting from the workspace map", () => {
      const fn = resourceAt(synthesized, "aws_lambda_function", "mirroring/events/function");
      expect(fn.environment.variables).toMatchObject({
        MIRROR_TARGETS: "${local.mirror_targets}",
        MIRROR_FILTER_ID: expect.stringMatching(/^\$\{aws_ec2_traffic_mirror_filter\..+\.id\}$/),
        EXCLUDE_TAG_KEY: "${local.workspace.exclude_tag_key}",
        EXCLUDE_EKS_NODES: "${local.workspace.exclude_eks_nodes}",
        VPC_IDS: '${join(",", local.workspace.vpc_ids)}',
        SESSION_NUMBER: "${local.workspace.session_number}",
        PACKET_LENGTH: "${local.workspace.packet_length}",
      });
    });
  });

  describe("permissions", () => {
    const statements = (suffix: string) => policyAt(synthesized, suffix).statement as { sid: string; actions: string[]; resources: string[]; condition?: unknown[] }[];

    it("let the event function create sessions but never delete one", () => {
      const actions = statements("mirroring/events/permissions").flatMap((s) => s.actions);
      expect(actions).toContain("ec2:CreateTrafficMirrorSession");
      expect(actions).not.toContain("ec2:DeleteTrafficMirrorSession");
    });

    it("let the reconciler delete only sessions tagged ManagedBy=flowtap", () => {
      const remove = statements("mirroring/reconciler/permissions").find((s) => s.actions.includes("ec2:DeleteTrafficMirrorSession"));
      expect(remove?.condition).toEqual([{ test: "StringEquals", variable: "aws:ResourceTag/ManagedBy", values: ["flowtap"] }]);
      expect(remove?.resources).toEqual([expect.stringMatching(/:traffic-mirror-session\/\*$/)]);
    });

    it("scope session creation to the account's ENIs and the stack's filter", () => {
      const create = statements("mirroring/events/permissions").find((s) => s.sid === "MirrorSourcesWithTheFilter");
      expect(create?.resources).toEqual([
        expect.stringMatching(/:network-interface\/\*$/),
        expect.stringMatching(/:traffic-mirror-filter\/\$\{aws_ec2_traffic_mirror_filter\..+\.id\}$/),
      ]);
    });

    it("scope session creation to exactly the workspace's targets, in any account (RAM-shared)", () => {
      const toTargets = statements("mirroring/events/permissions").find((s) => s.sid === "MirrorToTheTargets");
      expect(toTargets?.resources).toMatch(
        /^\$\{\[ for key, val in toset\(values\(jsondecode\(local\.mirror_targets\)\)\): "arn:\$\{data\.aws_partition\.[^}]+\}:ec2:\$\{data\.aws_region\.[^}]+\}:\*:traffic-mirror-target\/\$\{val\}"\]\}$/,
      );
    });

    it("require the ManagedBy=flowtap tag on every session created", () => {
      const tagged = statements("mirroring/events/permissions").find((s) => s.sid === "CreateTaggedSessions");
      expect(tagged?.condition).toEqual([{ test: "StringEquals", variable: "aws:RequestTag/ManagedBy", values: ["flowtap"] }]);
    });
  });

  describe("workspaces", () => {
    it("has one entry per account and region that enables the feature, and none for others", () => {
      expect(Object.keys(workspaces).sort()).toEqual([
        "222222222222-eu-west-1",
        "222222222222-us-east-1",
        "333333333333-us-east-1",
      ]);
    });

    it("resolves per-account overrides, and takes targets from the config or else the mirror-target stack", () => {
      expect(workspaces["222222222222-eu-west-1"]).toMatchObject({ mirror_targets_source: "mirror-target", mirror_targets_json: "{}" });
      expect(workspaces["333333333333-us-east-1"]).toMatchObject({
        mirror_targets_source: "config",
        mirror_targets_json: '{"default":"tmt-0a1b2c3d4e5f60009"}',
        vpc_ids: ["vpc-0abc1234def567890"],
        packet_length: "128",
      });
      expect(workspaces["222222222222-us-east-1"]).toMatchObject({ vpc_ids: [], packet_length: "" });
    });

    it("fails plan in a workspace missing from the map, naming the workspace and the config file", () => {
      expect(tf.locals.workspace).toContain("contains(keys(var.workspaces), terraform.workspace) ? terraform.workspace : file(");
      expect(tf.locals.workspace).toContain("workspace '${terraform.workspace}' is not in the rollout of config/example.org.yaml");
    });

    it("assumes the workspace's role and refuses any other account", () => {
      expect(tf.provider.aws[0]).toMatchObject({
        region: "${local.workspace.region}",
        allowed_account_ids: ["${local.workspace.account_id}"],
        assume_role: [{ role_arn: "${local.workspace.role_arn}", session_name: "flowtap" }],
        default_tags: [{ tags: { ManagedBy: "flowtap", Feature: "ec2-mirroring", CostCenter: "security" } }],
      });
      expect(workspaces["333333333333-us-east-1"].role_arn).toBe("arn:aws:iam::333333333333:role/OrganizationAccountAccessRole");
    });

    it("reads the central targets by remote state once that state exists, for the workspace's region, and fails plan when there are none", () => {
      expect(tf.data.terraform_remote_state["mirror-target-state"]).toEqual({
        backend: "local",
        config: { path: "../../../terraform.mirror-target.tfstate" },
        count: '${fileexists("../../../terraform.mirror-target.tfstate") ? 1 : 0}',
      });
      expect(tf.locals.mirror_targets_candidate).toBe(
        '${local.workspace.mirror_targets_source == "config" ? local.workspace.mirror_targets_json : jsonencode(try(data.terraform_remote_state.mirror-target-state[0].outputs.targets_by_region[local.workspace.region], {}))}',
      );
      expect(tf.locals.mirror_targets).toContain('local.mirror_targets_candidate == "{}" ? file("flowtap: no traffic mirror target for region ${local.workspace.region}');
    });

    it("keeps local state outside cdktf.out, in paths that hold on any machine, when the config names no backend", () => {
      expect(tf.terraform.backend).toEqual({
        local: { path: "../../../terraform.ec2-mirroring.tfstate", workspace_dir: "../../../terraform.tfstate.d/ec2-mirroring" },
      });
    });

    it("passes the configured external id and session name to the role it assumes", () => {
      const withExternalId = parseOrgConfig(
        `organization: {id: o-a1b2c3d4e5, name: x}
central: {accountId: "111111111111", region: us-east-1}
rollout: {assumeRoleName: FlowtapDeployer, externalId: flowtap-7f3a, sessionName: pipeline}
features: {ec2Mirroring: {targetIds: {us-east-1: tmt-0a1b2c3d4e5f60001}}}
accounts: [{id: "222222222222", name: a, regions: [us-east-1], features: [ec2-mirroring]}]
`,
        "inline.yaml",
      );
      const synth = synthStack(withExternalId, "ec2-mirroring");
      expect(synth.tf.provider.aws[0].assume_role).toEqual([{ role_arn: "${local.workspace.role_arn}", session_name: "pipeline", external_id: "flowtap-7f3a" }]);
      expect(synth.workspaces["222222222222-us-east-1"].role_arn).toBe("arn:aws:iam::222222222222:role/FlowtapDeployer");
    });

    it("keeps state in S3 per workspace when the config names a backend", () => {
      const withBackend = parseOrgConfig(
        `organization: {id: o-a1b2c3d4e5, name: x}
central: {accountId: "111111111111", region: us-east-1}
backend: {s3: {bucket: tf-state-bucket, region: eu-west-1}}
features: {ec2Mirroring: {targetIds: {us-east-1: tmt-0a1b2c3d4e5f60001}}}
accounts: [{id: "222222222222", name: a, regions: [us-east-1], features: [ec2-mirroring]}]
`,
        "inline.yaml",
      );
      const s3 = synthStack(withBackend, "ec2-mirroring").tf.terraform.backend.s3;
      expect(s3).toEqual({
        bucket: "tf-state-bucket",
        region: "eu-west-1",
        key: "flowtap/ec2-mirroring.tfstate",
        workspace_key_prefix: "flowtap-workspaces",
        encrypt: true,
        use_lockfile: true,
      });
    });
  });

  it("writes its Lambda zips, and the workspace map Terraform loads by itself, into the stack's own directory", () => {
    const outdir = Testing.fullSynth(synthesized.stack);
    const stackDir = path.join(outdir, "stacks", "ec2-mirroring");
    for (const fn of Object.values(resourcesOf(synthesized, "aws_lambda_function"))) {
      expect(existsSync(path.join(stackDir, fn.filename))).toBe(true);
    }
    const tfvars = JSON.parse(readFileSync(path.join(stackDir, "workspaces.auto.tfvars.json"), "utf8"));
    expect(tfvars).toEqual({ workspaces });
    expect(tf.variable.workspaces).toMatchObject({ type: "any", nullable: false });
  });

  it("matches the reviewed snapshot", () => {
    // Bundle hashes change with every handler edit; the snapshot is about the infrastructure.
    const stable = json.replace(/[0-9A-F]{32}/g, "<bundle-hash>");
    expect(JSON.parse(stable)).toMatchSnapshot();
  });
});
