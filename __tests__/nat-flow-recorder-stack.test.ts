import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchQueryDefinition } from "@cdktf/provider-aws/lib/cloudwatch-query-definition";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { SfnStateMachine } from "@cdktf/provider-aws/lib/sfn-state-machine";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { terraformJson } from "../modules/terraform-literal";
import { natFlowRecorderDefinition } from "../functions/lib/nat-recorder/state-machine";
import { TOP_TALKERS_QUERY } from "../functions/lib/nat-recorder/recording";
import { exampleOrg, policyAt, resourceAt, resourcesOf, synthAll } from "./helpers/synth";

describe("nat-flow-recorder stack", () => {
  const recorder = synthAll(exampleOrg).get("nat-flow-recorder")!;
  const { json, workspaces } = recorder;

  it("watches each workspace's NAT gateways with the configured alarm settings", () => {
    expect(workspaces["222222222222-us-east-1"]).toMatchObject({
      nat_gateway_ids: ["nat-0a1b2c3d4e5f60001", "nat-0a1b2c3d4e5f60002"],
      period_seconds: 60,
      evaluation_periods: 5,
      datapoints_to_alarm: 3,
      threshold_bytes: 2147483648,
      anomaly_detection: false,
      recording_seconds: 3600,
      max_recordings: 10,
    });
    expect(workspaces["222222222222-us-east-1"]).toMatchObject({ discover_nat_gateways: false, nat_gateway_tag_key: "" });
    // No list: the watcher finds the NAT gateways tagged flowtap:record.
    expect(workspaces["444444444444-us-east-1"]).toMatchObject({ nat_gateway_ids: [], discover_nat_gateways: true, nat_gateway_tag_key: "flowtap:record", nat_gateway_tag_value: "", anomaly_detection: true });
  });

  it("alarms per NAT gateway (for_each) on the sum of bytes to and from destinations, missing data not breaching", () => {
    const alarm = resourceAt(recorder, "aws_cloudwatch_metric_alarm", "recorder/traffic-alarm");
    expect(alarm.for_each).toBe("${toset(local.workspace.anomaly_detection ? [] : local.workspace.nat_gateway_ids)}");
    expect(alarm).toMatchObject({
      alarm_name: "flowtap-nat-traffic/${each.value}",
      comparison_operator: "GreaterThanThreshold",
      threshold: "${local.workspace.threshold_bytes}",
      evaluation_periods: "${local.workspace.evaluation_periods}",
      datapoints_to_alarm: "${local.workspace.datapoints_to_alarm}",
      treat_missing_data: "notBreaching",
    });
    expect(alarm.metric_query).toEqual([
      expect.objectContaining({ id: "m1", return_data: false, metric: expect.objectContaining({ namespace: "AWS/NATGateway", metric_name: "BytesOutToDestination", stat: "Sum", dimensions: { NatGatewayId: "${each.value}" } }) }),
      expect.objectContaining({ id: "m2", metric: expect.objectContaining({ metric_name: "BytesInFromDestination" }) }),
      expect.objectContaining({ id: "total", expression: "m1 + m2", return_data: true }),
    ]);
  });

  it("alarms on an anomaly-detection band instead where the workspace asks for it", () => {
    const alarm = resourceAt(recorder, "aws_cloudwatch_metric_alarm", "recorder/traffic-anomaly-alarm");
    expect(alarm.for_each).toBe("${toset(local.workspace.anomaly_detection ? local.workspace.nat_gateway_ids : [])}");
    expect(alarm).toMatchObject({ comparison_operator: "GreaterThanUpperThreshold", threshold_metric_id: "band" });
    expect(alarm.metric_query).toContainEqual(expect.objectContaining({ id: "band", expression: "ANOMALY_DETECTION_BAND(total, ${local.workspace.anomaly_band_width})", return_data: true }));
  });

  it("starts a recording on ALARM and resumes it on OK, for flowtap's NAT alarms only", () => {
    const patterns = Object.values(resourcesOf(recorder, "aws_cloudwatch_event_rule")).flatMap((r) => (r.event_pattern ? [JSON.parse(r.event_pattern)] : []));
    for (const state of ["ALARM", "OK"]) {
      expect(patterns).toContainEqual({
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        detail: { alarmName: [{ prefix: "flowtap-nat-traffic/" }], state: { value: [state] } },
      });
    }
    expect(json).toHaveResourceWithProperties(CloudwatchEventRule, { name: "flowtap-nat-flow-recorder-callback-alarm-ok" });
    const start = resourceAt(recorder, "aws_cloudwatch_event_target", "recorder/alarm-target");
    expect(start.arn).toMatch(/aws_sfn_state_machine/);
    expect(start.input_transformer.input_paths).toEqual({ alarmName: "$.detail.alarmName", alarmTime: "$.time" });
    expect(start.input_transformer.input_template).toMatch(/^\{"alarmName":<alarmName>,"alarmTime":<alarmTime>,"settings":\{"table":"\$\{aws_dynamodb_table\..+\.name\}".*"recordingSeconds":\$\{local\.workspace\.recording_seconds\},"maxRecordings":\$\{local\.workspace\.max_recordings\}/);
    expect(start.dead_letter_config.arn).toMatch(/aws_sqs_queue/);
  });

  it("runs the watcher on CloudTrail's NAT gateway calls and every 10 minutes, with the workspace's alarm settings, allowed to change only the recorder's alarms", () => {
    const watcher = resourceAt(recorder, "aws_lambda_function", "recorder/watcher/function");
    expect(watcher.environment.variables).toMatchObject({
      DISCOVER_NAT_GATEWAYS: "${local.workspace.discover_nat_gateways}",
      NAT_GATEWAY_TAG_KEY: "${local.workspace.nat_gateway_tag_key}",
      THRESHOLD_BYTES: "${local.workspace.threshold_bytes}",
      ANOMALY_DETECTION: "${local.workspace.anomaly_detection}",
    });
    const patterns = Object.values(resourcesOf(recorder, "aws_cloudwatch_event_rule")).flatMap((r) => (r.event_pattern ? [JSON.parse(r.event_pattern)] : []));
    expect(patterns).toContainEqual({ source: ["aws.ec2"], "detail-type": ["AWS API Call via CloudTrail"], detail: { eventSource: ["ec2.amazonaws.com"], eventName: ["CreateNatGateway", "DeleteNatGateway"] } });
    expect(json).toHaveResourceWithProperties(CloudwatchEventRule, { name: "flowtap-nat-flow-recorder-watcher-sweep", schedule_expression: "rate(10 minutes)" });
    const keep = (policyAt(recorder, "recorder/watcher/permissions").statement as { sid: string; resources: string[] }[]).find((st) => st.sid === "KeepTrafficAlarms");
    expect(keep?.resources).toEqual([expect.stringMatching(/:alarm:flowtap-nat-traffic\/\*$/)]);
  });

  it("runs the state machine defined in TypeScript, logged and traced", () => {
    expect(json).toHaveResourceWithProperties(SfnStateMachine, {
      type: "STANDARD",
      definition: terraformJson(natFlowRecorderDefinition()),
      logging_configuration: expect.objectContaining({ level: "ALL", include_execution_data: true }),
      tracing_configuration: { enabled: true },
    });
  });

  it("keeps recordings in an on-demand, encrypted table with point-in-time recovery", () => {
    expect(json).toHaveResourceWithProperties(DynamodbTable, {
      billing_mode: "PAY_PER_REQUEST",
      hash_key: "natGatewayId",
      point_in_time_recovery: { enabled: true },
      server_side_encryption: { enabled: true },
    });
  });

  it("writes flow logs to a log group that outlives the stack, Infrequent Access unless the workspace says otherwise, with the query saved", () => {
    expect(workspaces["222222222222-us-east-1"].log_group_class).toBe("INFREQUENT_ACCESS");
    expect(workspaces["444444444444-us-east-1"].log_group_class).toBe("STANDARD");
    expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, {
      log_group_class: "${local.workspace.log_group_class}",
      skip_destroy: true,
      retention_in_days: "${local.workspace.log_retention_days}",
    });
    expect(json).toHaveResourceWithProperties(CloudwatchQueryDefinition, { name: "flowtap/nat-top-talkers", query_string: TOP_TALKERS_QUERY });
  });

  it("lets only VPC Flow Logs of this account assume the delivery role", () => {
    const trust = policyAt(recorder, "recorder/vpc-flow-logs-trust").statement[0];
    expect(trust.principals).toEqual([{ type: "Service", identifiers: ["vpc-flow-logs.amazonaws.com"] }]);
    expect(trust.condition).toEqual([
      { test: "StringEquals", variable: "aws:SourceAccount", values: [expect.stringMatching(/data\.aws_caller_identity/)] },
      { test: "ArnLike", variable: "aws:SourceArn", values: [expect.stringMatching(/:vpc-flow-log\/\*$/)] },
    ]);
  });

  it("lets the state machine delete only flow logs flowtap tagged, and pass the delivery role only to VPC Flow Logs", () => {
    const statements = policyAt(recorder, "recorder/state-machine-permissions").statement as { sid: string; condition?: unknown }[];
    expect(statements.find((s) => s.sid === "StopOwnFlowLogs")?.condition).toEqual([{ test: "StringEquals", variable: "aws:ResourceTag/ManagedBy", values: ["flowtap"] }]);
    expect(statements.find((s) => s.sid === "PassDeliveryRole")?.condition).toEqual([{ test: "StringEquals", variable: "iam:PassedToService", values: ["vpc-flow-logs.amazonaws.com"] }]);
  });

  it("publishes summaries to an encrypted topic, with an email subscription only when an address is configured", () => {
    expect(json).toHaveResourceWithProperties(SnsTopic, { kms_master_key_id: "alias/aws/sns" });
    expect(resourceAt(recorder, "aws_sns_topic_subscription", "recorder/email")).toMatchObject({
      count: "${min(length(local.workspace.notification_email), 1)}",
      protocol: "email",
      endpoint: "${local.workspace.notification_email}",
    });
  });
});
