import * as path from "node:path";
import { Testing, TerraformStack } from "cdktf";
import { Ec2TrafficMirrorFilter } from "@cdktf/provider-aws/lib/ec2-traffic-mirror-filter";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Ec2InstanceMirroring } from "../modules/ec2-instance-mirroring";
import { MirrorTargets } from "../modules/mirror-targets";
import { NodejsFunction } from "../modules/nodejs-function";
import { PassthroughMirrorFilter } from "../modules/passthrough-mirror-filter";
import { securityFindings } from "./helpers/security-checks";

const entry = path.join(__dirname, "..", "functions", "ec2-mirroring", "event-handler.ts");

function stack(): TerraformStack {
  const s = new TerraformStack(Testing.app(), "test");
  new AwsProvider(s, "aws", { region: "us-east-1" });
  return s;
}

describe("NodejsFunction", () => {
  it("traces with X-Ray when asked, granting only the trace-writing actions", async () => {
    const s = stack();
    new NodejsFunction(s, "fn", { functionName: "traced", entry, tracing: true, alarmTopicArn: "arn:aws:sns:us-east-1:111111111111:alarms" });
    const json = Testing.synth(s);
    expect(json).toHaveResourceWithProperties(LambdaFunction, { tracing_config: { mode: "Active" } });
    expect(json).toContain("xray:PutTraceSegments");
    expect(await securityFindings("test", JSON.parse(json))).toEqual([]);
  });

  it("refuses a name whose suffixed resources would exceed AWS's limits", () => {
    expect(() => new NodejsFunction(stack(), "fn", { functionName: "x".repeat(51), entry, alarmTopicArn: "arn:aws:sns:us-east-1:111111111111:alarms" })).toThrow(/must be 1-50 letters/);
  });

  it("refuses more than the 2 async retries Lambda allows", () => {
    expect(() => new NodejsFunction(stack(), "fn", { functionName: "f", entry, asyncRetryAttempts: 3, alarmTopicArn: "arn:aws:sns:us-east-1:111111111111:alarms" })).toThrow(/asyncRetryAttempts must be 0, 1 or 2/);
  });

  it("refuses a trigger with both or neither of an event pattern and a schedule", () => {
    const fn = new NodejsFunction(stack(), "fn", { functionName: "f", entry, alarmTopicArn: "arn:aws:sns:us-east-1:111111111111:alarms" });
    expect(() => fn.addTrigger({ name: "t", description: "d" })).toThrow(/exactly one of eventPattern and scheduleExpression/);
    expect(() => fn.addTrigger({ name: "t", description: "d", scheduleExpression: "rate(1 hour)", eventPattern: {} })).toThrow(/exactly one/);
  });

  it("refuses a trigger whose rule name would exceed EventBridge's 64 characters, and takes one of exactly 64", () => {
    const fn = new NodejsFunction(stack(), "fn", { functionName: "f".repeat(50), entry, alarmTopicArn: "arn:aws:sns:us-east-1:111111111111:alarms" });
    expect(() => fn.addTrigger({ name: "t".repeat(14), description: "d", scheduleExpression: "rate(1 hour)" })).toThrow(/is 65 characters, over EventBridge's 64/);
    expect(() => fn.addTrigger({ name: "t".repeat(13), description: "d", scheduleExpression: "rate(1 hour)" })).not.toThrow();
  });
});

describe("PassthroughMirrorFilter", () => {
  it("mirrors Amazon DNS traffic only when asked", () => {
    const withDns = stack();
    new PassthroughMirrorFilter(withDns, "f", { mirrorAmazonDns: true });
    expect(Testing.synth(withDns)).toHaveResourceWithProperties(Ec2TrafficMirrorFilter, { network_services: ["amazon-dns"] });
    const without = stack();
    new PassthroughMirrorFilter(without, "f");
    expect(Testing.synth(without)).not.toHaveResourceWithProperties(Ec2TrafficMirrorFilter, { network_services: ["amazon-dns"] });
  });
});

describe("Ec2InstanceMirroring", () => {
  it.each([
    [{ mirrorTargets: "tmt-0a1b2c3d4e5f60001" }, /mirrorTargets must be JSON such as/],
    [{ mirrorTargets: '{"us-east-1a":"tmt-0a1b2c3d4e5f60001"}' }, /mirrorTargets must map zone ids \(use1-az1\) or "default"/],
    [{ sessionNumber: 0 }, /sessionNumber must be 1-32766/],
    [{ packetLength: 9001 }, /packetLength must be 1-8947/],
    [{ virtualNetworkId: 2 ** 24 }, /virtualNetworkId must be 0-16777215/],
  ])("refuses %j with a message saying what to change", (bad, message) => {
    expect(
      () => new Ec2InstanceMirroring(stack(), "m", { mirrorTargets: '{"default":"tmt-0a1b2c3d4e5f60001"}', mirrorFilterId: "tmf-0a1b2c3d4e5f60001", excludeTagKey: "k", alarmTopicArn: "arn:aws:sns:us-east-1:111111111111:alarms", ...bad }),
    ).toThrow(message);
  });
});

describe("MirrorTargets", () => {
  const shared = { shareWithAccountIds: ["222222222222"] };
  it("makes a target of each kind from its own id: an NLB, a Gateway Load Balancer endpoint, an ENI", () => {
    const s = stack();
    new MirrorTargets(s, "targets", {
      ...shared,
      targets: [
        { zoneId: "use1-az1", networkLoadBalancerArn: "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/net/sensors/0a1b2c3d4e5f6001" },
        { zoneId: "use1-az2", gatewayLoadBalancerEndpointId: "vpce-0a1b2c3d4e5f60001" },
        { networkInterfaceId: "eni-0a1b2c3d4e5f60001" },
      ],
    });
    const targets = Object.values(JSON.parse(Testing.synth(s)).resource.aws_ec2_traffic_mirror_target as Record<string, Record<string, string>>);
    const kinds = (t: Record<string, string>) => ({ nlb: t.network_load_balancer_arn, gwlbe: t.gateway_load_balancer_endpoint_id, eni: t.network_interface_id });
    expect(targets.map(kinds)).toEqual(expect.arrayContaining([
      { nlb: "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/net/sensors/0a1b2c3d4e5f6001", gwlbe: undefined, eni: undefined },
      { nlb: undefined, gwlbe: "vpce-0a1b2c3d4e5f60001", eni: undefined },
      { nlb: undefined, gwlbe: undefined, eni: "eni-0a1b2c3d4e5f60001" },
    ]));
    expect(targets).toHaveLength(3);
  });

  it("refuses a target of no kind, or of two", () => {
    expect(() => new MirrorTargets(stack(), "none", { ...shared, targets: [{ zoneId: "use1-az1" }] })).toThrow(/target 0 needs exactly one of/);
    expect(() => new MirrorTargets(stack(), "two", { ...shared, targets: [{ networkInterfaceId: "eni-0a1b2c3d4e5f60001", gatewayLoadBalancerEndpointId: "vpce-0a1b2c3d4e5f60001" }] })).toThrow(/target 0 needs exactly one of/);
  });
});
