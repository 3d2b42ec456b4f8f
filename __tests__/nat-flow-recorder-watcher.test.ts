import { CloudWatchClient, DeleteAlarmsCommand, DescribeAlarmsCommand, PutMetricAlarmCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeNatGatewaysCommand, EC2Client, type NatGateway } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { handler } from "../functions/nat-flow-recorder/watcher";
import { ALARM_NAME_PREFIX } from "../functions/lib/nat-recorder/recording";
import { trafficAlarm, watchedNatGateways, watchPlan, type WatchSettings } from "../functions/lib/nat-recorder/watch";
import { captureOutput } from "./helpers/capture-output";
import { declaredActionsOf, recordSentActions } from "./helpers/declared-calls";

const ec2 = mockClient(EC2Client);
const cloudwatch = mockClient(CloudWatchClient);
const sentActions = recordSentActions({ EC2Client: ec2, CloudWatchClient: cloudwatch });

const environment = {
  DISCOVER_NAT_GATEWAYS: "true",
  NAT_GATEWAY_TAG_KEY: "flowtap:record",
  NAT_GATEWAY_TAG_VALUE: "",
  PERIOD_SECONDS: "60",
  EVALUATION_PERIODS: "5",
  DATAPOINTS_TO_ALARM: "3",
  THRESHOLD_BYTES: "2147483648",
  ANOMALY_DETECTION: "false",
  ANOMALY_BAND_WIDTH: "2",
  POWERTOOLS_METRICS_NAMESPACE: "flowtap",
  AWS_REGION: "us-east-1",
};
const SETTINGS: WatchSettings = { tagKey: "flowtap:record", periodSeconds: 60, evaluationPeriods: 5, datapointsToAlarm: 3, thresholdBytes: 2147483648, anomalyDetection: false, anomalyBandWidth: 2 };
/** A NAT gateway as DescribeNatGateways answers. */
const nat = (id: string, state = "available", tags = [{ Key: "flowtap:record", Value: "" }]): NatGateway => ({ NatGatewayId: id, State: state as NatGateway["State"], Tags: tags, SubnetId: "subnet-0a1b2c3d4e5f6000a", VpcId: "vpc-0a1b2c3d4e5f60001" });

let output: ReturnType<typeof captureOutput>;
beforeEach(() => {
  ec2.reset();
  cloudwatch.reset();
  Object.assign(process.env, environment);
  output = captureOutput();
});
afterEach(() => output.restore());

describe("which NAT gateways are watched, and with what alarm", () => {
  it("watches live NAT gateways with the tag (and its value, when set), none that are gone or going", () => {
    const gateways = [nat("nat-0000000000000000a"), nat("nat-0000000000000000b", "pending"), nat("nat-0000000000000000c", "deleting"), nat("nat-0000000000000000d", "available", [{ Key: "Name", Value: "egress" }]), nat("nat-0000000000000000e", "available", [{ Key: "flowtap:record", Value: "no" }])];
    expect(watchedNatGateways(gateways, SETTINGS)).toEqual(["nat-0000000000000000a", "nat-0000000000000000b", "nat-0000000000000000e"]);
    expect(watchedNatGateways(gateways, { ...SETTINGS, tagValue: "no" })).toEqual(["nat-0000000000000000e"]);
    expect(watchedNatGateways(gateways, { ...SETTINGS, tagKey: undefined })).toHaveLength(4);
  });

  it("alarms as the stack's alarms do: the sum of bytes to and from destinations over a threshold, or above an anomaly band", () => {
    const fixed = trafficAlarm("nat-0000000000000000a", SETTINGS);
    expect(fixed).toMatchObject({ AlarmName: `${ALARM_NAME_PREFIX}nat-0000000000000000a`, ComparisonOperator: "GreaterThanThreshold", Threshold: 2147483648, EvaluationPeriods: 5, DatapointsToAlarm: 3, TreatMissingData: "notBreaching" });
    expect(fixed.Metrics?.map((m) => m.MetricStat?.Metric?.MetricName ?? m.Expression)).toEqual(["BytesOutToDestination", "BytesInFromDestination", "m1 + m2"]);
    const band = trafficAlarm("nat-0000000000000000a", { ...SETTINGS, anomalyDetection: true, anomalyBandWidth: 3 });
    expect(band).toMatchObject({ ComparisonOperator: "GreaterThanUpperThreshold", ThresholdMetricId: "band" });
    expect(band.Threshold).toBeUndefined();
    expect(band.Metrics?.at(-1)).toMatchObject({ Id: "band", Expression: "ANOMALY_DETECTION_BAND(total, 3)" });
  });

  it("puts an alarm again when the settings changed, and leaves alarms that are not the recorder's", () => {
    const current = trafficAlarm("nat-0000000000000000a", SETTINGS);
    const older = trafficAlarm("nat-0000000000000000a", { ...SETTINGS, thresholdBytes: 1 });
    expect(watchPlan(["nat-0000000000000000a"], [{ AlarmName: current.AlarmName, AlarmDescription: current.AlarmDescription }, { AlarmName: "billing" }], SETTINGS)).toEqual({ put: [], remove: [] });
    expect(watchPlan(["nat-0000000000000000a"], [{ AlarmName: older.AlarmName, AlarmDescription: older.AlarmDescription }], SETTINGS).put).toEqual([current]);
  });
});

describe("the nat-flow-recorder watcher", () => {
  it("puts the alarms of NAT gateways without one, deletes those of NAT gateways gone, reading every page", async () => {
    ec2
      .on(DescribeNatGatewaysCommand)
      .resolvesOnce({ NatGateways: [nat("nat-0000000000000000a"), nat("nat-0000000000000000b")], NextToken: "more" })
      .resolves({ NatGateways: [nat("nat-0000000000000000c", "pending")] });
    const kept = trafficAlarm("nat-0000000000000000a", SETTINGS);
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [{ AlarmName: kept.AlarmName, AlarmDescription: kept.AlarmDescription }], NextToken: "page-2" })
      .resolves({ MetricAlarms: [{ AlarmName: `${ALARM_NAME_PREFIX}nat-0000000000000000f`, AlarmDescription: "old" }] });
    cloudwatch.on(PutMetricAlarmCommand).rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "Throttling", $metadata: {} })).resolves({});
    cloudwatch.on(DeleteAlarmsCommand).resolves({});

    expect(await handler()).toEqual({ watched: 3, put: 2, removed: 1 });
    expect(ec2.commandCalls(DescribeNatGatewaysCommand).map((c) => c.args[0].input)).toEqual([
      { Filter: [{ Name: "state", Values: ["pending", "available"] }, { Name: "tag-key", Values: ["flowtap:record"] }], MaxResults: 1000, NextToken: undefined },
      { Filter: [{ Name: "state", Values: ["pending", "available"] }, { Name: "tag-key", Values: ["flowtap:record"] }], MaxResults: 1000, NextToken: "more" },
    ]);
    const put = cloudwatch.commandCalls(PutMetricAlarmCommand).map((c) => c.args[0].input.AlarmName);
    expect(new Set(put)).toEqual(new Set([`${ALARM_NAME_PREFIX}nat-0000000000000000b`, `${ALARM_NAME_PREFIX}nat-0000000000000000c`]));
    expect(cloudwatch.commandCalls(DeleteAlarmsCommand).map((c) => c.args[0].input)).toEqual([{ AlarmNames: [`${ALARM_NAME_PREFIX}nat-0000000000000000f`] }]);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand)[1].args[0].input).toMatchObject({ AlarmNamePrefix: ALARM_NAME_PREFIX, NextToken: "page-2" });
  });

  it("changes nothing when run again, as a repeated or late event runs it", async () => {
    const alarms = ["nat-0000000000000000a", "nat-0000000000000000b"].map((id) => trafficAlarm(id, SETTINGS));
    ec2.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [nat("nat-0000000000000000a"), nat("nat-0000000000000000b")] });
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: alarms.map((a) => ({ AlarmName: a.AlarmName, AlarmDescription: a.AlarmDescription })) });
    expect(await handler()).toEqual({ watched: 2, put: 0, removed: 0 });
    expect(cloudwatch).not.toHaveReceivedCommand(PutMetricAlarmCommand);
    expect(cloudwatch).not.toHaveReceivedCommand(DeleteAlarmsCommand);
  });

  it("does nothing where the config lists the NAT gateways: the stack keeps their alarms", async () => {
    process.env.DISCOVER_NAT_GATEWAYS = "false";
    expect(await handler()).toEqual({ watched: 0, put: 0, removed: 0 });
    expect(ec2.calls()).toHaveLength(0);
    expect(cloudwatch.calls()).toHaveLength(0);
  });

  it("refuses settings it cannot read, naming them", async () => {
    process.env.PERIOD_SECONDS = "sixty";
    await expect(handler()).rejects.toThrow(/PERIOD_SECONDS/);
  });

  it("sends only the requests its role's permission table declares", () => {
    const declared = declaredActionsOf("flowtap-nat-flow-recorder-watcher");
    expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
    expect(sentActions.size).toBeGreaterThan(0);
  });
});
