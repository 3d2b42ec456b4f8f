import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { Ec2TrafficMirrorTarget } from "@cdktf/provider-aws/lib/ec2-traffic-mirror-target";
import { RamPrincipalAssociation } from "@cdktf/provider-aws/lib/ram-principal-association";
import { RamResourceShare } from "@cdktf/provider-aws/lib/ram-resource-share";
import { parseOrgConfig } from "../config/load";
import { exampleOrg, policyAt, resourcesOf, synthAll } from "./helpers/synth";

const nlb = (n: number) => `arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/net/s${n}/0a1b2c3d4e5f600${n}`;
const orgWith = (sharing: string, extra = "") =>
  parseOrgConfig(
    `organization: {id: o-a1b2c3d4e5, name: x, managementAccountId: "999999999999"}
central: {accountId: "111111111111", region: us-east-1}
backend: {s3: {bucket: tf-state-bucket, region: us-east-1}}
features:
  mirrorTarget:
    targets: [{region: us-east-1, zoneId: use1-az1, networkLoadBalancerArn: "${nlb(1)}"}, {region: us-east-1, networkInterfaceId: eni-0a1b2c3d4e5f60001}]
    ${sharing}
accounts:
  - {id: "222222222222", name: a, regions: [us-east-1], features: [ec2-mirroring]}
${extra}`,
    "org.yaml",
  );

describe("mirror-target stack", () => {
  const stacks = synthAll();
  const central = stacks.get("mirror-target")!;

  it("creates one target per configured zone, plus each region's default, of the configured kind", () => {
    const targets = Object.values(resourcesOf(central, "aws_ec2_traffic_mirror_target"));
    expect(targets).toHaveLength(4);
    expect(central.json).toHaveResourceWithProperties(Ec2TrafficMirrorTarget, {
      network_load_balancer_arn: "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/net/sensors-az1/0a1b2c3d4e5f6001",
      tags: { Name: "flowtap-use1-az1" },
    });
    expect(central.json).toHaveResourceWithProperties(Ec2TrafficMirrorTarget, { gateway_load_balancer_endpoint_id: "vpce-0a1b2c3d4e5f60001", provider: "aws" });
    expect(central.json).toHaveResourceWithProperties(Ec2TrafficMirrorTarget, { provider: "aws.eu-west-1", tags: { Name: "flowtap-default" } });
  });

  it("deploys each region's targets with a provider for that region in the central account", () => {
    expect(central.tf.provider.aws.map((p: { region: string; alias?: string; allowed_account_ids: string[] }) => [p.region, p.alias, p.allowed_account_ids])).toEqual([
      ["us-east-1", undefined, ["111111111111"]],
      ["eu-west-1", "eu-west-1", ["111111111111"]],
    ]);
  });

  it("shares the targets with the organization through RAM, never with outside principals", () => {
    expect(central.json).toHaveResourceWithProperties(RamResourceShare, { allow_external_principals: false });
    expect(central.json).toHaveResourceWithProperties(RamPrincipalAssociation, { principal: "arn:aws:organizations::999999999999:organization/o-a1b2c3d4e5" });
    expect(Object.values(resourcesOf(central, "aws_ram_resource_association"))).toHaveLength(4);
  });

  it.each([
    ["OUs", "shareWithOus: [ou-ab12-11111111, ou-ab12-22222222]", ["arn:aws:organizations::999999999999:ou/o-a1b2c3d4e5/ou-ab12-11111111", "arn:aws:organizations::999999999999:ou/o-a1b2c3d4e5/ou-ab12-22222222"]],
    ["accounts", 'shareWithAccounts: ["222222222222"]', ["222222222222"]],
  ])("can share with %s instead", (_name, sharing, principals) => {
    const stack = synthAll(orgWith(sharing)).get("mirror-target")!;
    expect(Object.values(resourcesOf(stack, "aws_ram_principal_association")).map((p) => p.principal)).toEqual(principals);
  });

  it("outputs target ids by region and zone id, as member stacks read them", () => {
    const value = central.tf.output.targets_by_region.value;
    expect(Object.keys(value).sort()).toEqual(["eu-west-1", "us-east-1"]);
    expect(Object.keys(value["us-east-1"]).sort()).toEqual(["default", "use1-az1", "use1-az2"]);
    expect(value["us-east-1"]["use1-az1"]).toMatch(/^\$\{aws_ec2_traffic_mirror_target\..+\.id\}$/);
  });

  it("keeps its state in one ordinary workspace, where members read it (S3 when configured)", () => {
    const s3 = synthAll(orgWith("shareWithOrganization: true"));
    expect(s3.get("mirror-target")!.tf.terraform.backend.s3).toMatchObject({ bucket: "tf-state-bucket", key: "flowtap/mirror-target.tfstate" });
    const member = s3.get("ec2-mirroring")!.tf;
    expect(member.data.terraform_remote_state["mirror-target-state"]).toEqual({
      backend: "s3",
      config: { bucket: "tf-state-bucket", region: "us-east-1", key: "flowtap/mirror-target.tfstate", encrypt: true },
      count: '${contains(data.aws_s3_objects.mirror-target-state-key.keys, "flowtap/mirror-target.tfstate") ? 1 : 0}',
    });
    // Whether the state exists is listed with the pipeline's credentials, not the member account's role.
    expect(member.data.aws_s3_objects["mirror-target-state-key"]).toEqual({
      provider: "aws.mirror_target_state_reader",
      bucket: "tf-state-bucket",
      prefix: "flowtap/mirror-target.tfstate",
      max_keys: 1,
    });
    expect(member.provider.aws.find((p: { alias?: string }) => p.alias === "mirror_target_state_reader")).toEqual({ alias: "mirror_target_state_reader", region: "us-east-1" });
  });

  it("is recorded as a dependency of the member stacks that read it, so cdktf deploy applies it first", () => {
    expect(stacks.get("ec2-mirroring")!.stack.dependencies.map((d) => d.node.id)).toEqual(["mirror-target"]);
    expect(stacks.get("fargate-mirroring")!.stack.dependencies.map((d) => d.node.id)).toEqual(["mirror-target"]);
  });
});

describe("fargate-mirroring stack", () => {
  const fargate = synthAll(exampleOrg).get("fargate-mirroring")!;

  it("is applied only where an account enables it", () => {
    expect(Object.keys(fargate.workspaces).sort()).toEqual(["222222222222-eu-west-1", "222222222222-us-east-1"]);
  });

  it("runs on tasks reaching RUNNING in the workspace's configured clusters", () => {
    expect(fargate.json).toHaveResourceWithProperties(CloudwatchEventRule, { event_pattern: "${local.workspace.task_event_pattern}" });
    expect(JSON.parse(String(fargate.workspaces["222222222222-eu-west-1"].task_event_pattern))).toEqual({
      source: ["aws.ecs"],
      "detail-type": ["ECS Task State Change"],
      detail: {
        lastStatus: ["RUNNING"],
        clusterArn: ["arn:aws:ecs:eu-west-1:222222222222:cluster/payments", "arn:aws:ecs:eu-west-1:222222222222:cluster/checkout"],
      },
    });
  });

  it("lets the functions describe the account's tasks, and only the reconciler list them", () => {
    const actions = (suffix: string) => policyAt(fargate, suffix).statement.flatMap((s: { actions: string[] }) => s.actions);
    expect(actions("mirroring/events/permissions")).toEqual(expect.arrayContaining(["ecs:DescribeTasks", "ec2:CreateTrafficMirrorSession"]));
    expect(actions("mirroring/events/permissions")).not.toContain("ecs:ListTasks");
    expect(actions("mirroring/reconciler/permissions")).toEqual(expect.arrayContaining(["ecs:ListTasks", "ecs:ListClusters", "ec2:DeleteTrafficMirrorSession"]));
  });

  it("passes the cluster, service and family scope to its functions", () => {
    const fn = Object.values(resourcesOf(fargate, "aws_lambda_function"))[0];
    expect(fn.environment.variables).toMatchObject({
      ECS_CLUSTERS: '${join(",", local.workspace.clusters)}',
      ECS_SERVICES: '${join(",", local.workspace.services)}',
      ECS_TASK_FAMILIES: '${join(",", local.workspace.task_definition_families)}',
      MIRROR_TARGETS: "${local.mirror_targets}",
    });
  });
});
