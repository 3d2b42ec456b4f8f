import { Fn, TerraformIterator, Token, type IResolvable, type TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import * as path from "node:path";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm, type CloudwatchMetricAlarmMetricQuery } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { CloudwatchQueryDefinition } from "@cdktf/provider-aws/lib/cloudwatch-query-definition";
import {
  DataAwsIamPolicyDocument,
  type DataAwsIamPolicyDocumentStatement,
  type DataAwsIamPolicyDocumentStatementCondition,
} from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { SfnStateMachine } from "@cdktf/provider-aws/lib/sfn-state-machine";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { ALARM_NAME_PREFIX, TOP_TALKERS_QUERY } from "../functions/lib/nat-recorder/recording";
import { natFlowRecorderDefinition } from "../functions/lib/nat-recorder/state-machine";
import { TRAFFIC_ALARM_DESCRIPTION, TRAFFIC_METRICS } from "../functions/lib/nat-recorder/watch";
import { emailSubscription } from "./alarm-topic";
import { awsContext } from "./aws-context";
import { bundleHandlers } from "./bundle";
import { DeadLetterQueue, EVENT_DELIVERY_RETRY } from "./dead-letter-queue";
import { NodejsFunction } from "./nodejs-function";
import { declareRuntimeCalls, EXAMPLE_IDS, FOREIGN_ACCOUNT_ID } from "./runtime-calls";
import { terraformJson } from "./terraform-literal";

export interface NatFlowRecorderProps extends Pick<TerraformMetaArguments, "provider"> {
  /** The NAT gateways to watch; one alarm each, made by Terraform. Empty with `discoverNatGateways`. */
  readonly natGatewayIds: string[];
  /**
   * Watch every NAT gateway of the region instead, found at run time: the watcher function keeps
   * an alarm on each (and on those created later), on CloudTrail's NAT gateway calls and every 10 minutes.
   * @default false - only `natGatewayIds`
   */
  readonly discoverNatGateways?: boolean | IResolvable;
  /** With `discoverNatGateways`: only NAT gateways with this tag. @default "" - every NAT gateway */
  readonly natGatewayTagKey?: string;
  /** With `natGatewayTagKey`: only those whose tag has this value. @default "" - any value */
  readonly natGatewayTagValue?: string;
  /** @default 60 */
  readonly periodSeconds?: number;
  /** @default 5 */
  readonly evaluationPeriods?: number;
  /** @default 3 */
  readonly datapointsToAlarm?: number;
  /** Bytes per period (to plus from destinations) that raise the alarm; ignored with anomaly detection. */
  readonly thresholdBytes: number;
  /** Alarm on an anomaly-detection band instead of `thresholdBytes`. @default false */
  readonly anomalyDetection?: boolean | IResolvable;
  /** Width of the band, in standard deviations. @default 2 */
  readonly anomalyBandWidth?: number;
  /** The longest a recording lasts, in seconds. @default 3600 */
  readonly recordingSeconds?: number;
  /** Recordings per NAT gateway, at most. @default 1000000000 - as good as unlimited */
  readonly maxRecordings?: number;
  /** Retention of the recorded flow logs and of the functions' and state machine's logs. @default 30 */
  readonly logRetentionDays?: number;
  /** The recordings' log group class, STANDARD or INFREQUENT_ACCESS; AWS cannot change it once the group exists. @default "INFREQUENT_ACCESS" */
  readonly logGroupClass?: string;
  /** Email for the recording summaries; "" for none. @default - no subscription */
  readonly notificationEmail?: string;
  /** The topic its alarms notify (an `AlarmTopic` of the same region). */
  readonly alarmTopicArn: string;
  /** @default "flowtap-nat-flow-recorder" */
  readonly namePrefix?: string;
}

const FUNCTIONS_DIR = path.join(__dirname, "..", "functions", "nat-flow-recorder");

/**
 * Records VPC flow logs on a NAT gateway's ENIs only while its traffic alarm is in ALARM: the
 * alarm's ALARM event starts a Step Functions recording (claim in DynamoDB, flow logs on every
 * ENI, wait for the OK callback or the time limit, stop, summarize with Logs Insights, notify),
 * and its OK event resumes the recording so it stops. Every path that created flow logs deletes
 * them; the recorded logs stay in a log group that outlives the stack.
 */
export class NatFlowRecorder extends Construct {
  /** The log group recordings write to. */
  public readonly logGroupName: string;
  /** The state machine's ARN. */
  public readonly stateMachineArn: string;
  /** The table of recordings per NAT gateway. */
  public readonly tableName: string;
  /** The topic recording summaries are published to. */
  public readonly topicArn: string;

  constructor(scope: Construct, id: string, props: NatFlowRecorderProps) {
    super(scope, id);
    const provider = props.provider;
    const prefix = props.namePrefix ?? "flowtap-nat-flow-recorder";
    const { partition, region, account } = awsContext(this, provider);
    const retention = props.logRetentionDays ?? 30;
    const doc = (docId: string, statement: DataAwsIamPolicyDocumentStatement[]) => new DataAwsIamPolicyDocument(this, docId, { provider, statement }).json;
    const serviceTrust = (service: string, extra: DataAwsIamPolicyDocumentStatementCondition[] = []) =>
      doc(`${service.split(".")[0]}-trust`, [
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: [service] }],
          condition: [{ test: "StringEquals", variable: "aws:SourceAccount", values: [account] }, ...extra],
        },
      ]);

    const flowLogs = new CloudwatchLogGroup(this, "flow-logs", {
      provider,
      name: `/flowtap/nat-flow-recorder/${region}`,
      logGroupClass: props.logGroupClass ?? "INFREQUENT_ACCESS",
      retentionInDays: retention,
      // The recordings are the point: destroying the stack keeps them.
      skipDestroy: true,
    });
    new CloudwatchQueryDefinition(this, "top-talkers", {
      provider,
      name: "flowtap/nat-top-talkers",
      logGroupNames: [flowLogs.name],
      queryString: TOP_TALKERS_QUERY,
    });

    const delivery = new IamRole(this, "delivery-role", {
      provider,
      // IAM names are global to the account, and the stack is applied in each of its regions.
      name: `${prefix}-delivery-${region}`,
      assumeRolePolicy: serviceTrust("vpc-flow-logs.amazonaws.com", [
        { test: "ArnLike", variable: "aws:SourceArn", values: [`arn:${partition}:ec2:${region}:${account}:vpc-flow-log/*`] },
      ]),
    });
    new IamRolePolicy(this, "delivery-policy", {
      provider,
      role: delivery.name,
      name: "deliver-flow-logs",
      policy: doc("delivery-permissions", [
        { sid: "DeliverToTheRecordingLogGroup", actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], resources: [flowLogs.arn, `${flowLogs.arn}:*`] },
      ]),
    });
    const flowLogArn = (owner: string) => `arn:${partition}:ec2:${region}:${owner}:vpc-flow-log/${EXAMPLE_IDS.flowLog}`;
    const recordingStream = `${flowLogs.arn}:log-stream:${EXAMPLE_IDS.flowLogStream}`;
    declareRuntimeCalls(this, [
      { principal: "vpc-flow-logs.amazonaws.com", action: "sts:AssumeRole", resource: delivery.arn, context: { "aws:SourceAccount": account, "aws:SourceArn": flowLogArn(account) }, reason: "a recording's flow logs deliver" },
      {
        principal: "vpc-flow-logs.amazonaws.com",
        action: "sts:AssumeRole",
        resource: delivery.arn,
        context: { "aws:SourceAccount": FOREIGN_ACCOUNT_ID, "aws:SourceArn": flowLogArn(FOREIGN_ACCOUNT_ID) },
        expect: "Denied",
        reason: "flow logs of another account",
      },
      { principal: delivery.arn, action: "logs:DescribeLogStreams", resource: flowLogs.arn, reason: "flow logs look for an ENI's stream" },
      { principal: delivery.arn, action: "logs:CreateLogStream", resource: recordingStream, reason: "one stream per NAT gateway ENI" },
      { principal: delivery.arn, action: "logs:PutLogEvents", resource: recordingStream, reason: "the recorded flows" },
    ]);

    const table = new DynamodbTable(this, "recordings", {
      provider,
      name: `${prefix}-recordings`,
      billingMode: "PAY_PER_REQUEST",
      hashKey: "natGatewayId",
      attribute: [{ name: "natGatewayId", type: "S" }],
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
    });

    const topic = new SnsTopic(this, "summaries", { provider, name: `${prefix}-summaries`, kmsMasterKeyId: "alias/aws/sns" });
    emailSubscription(this, "email", { provider, topicArn: topic.arn, email: props.notificationEmail ?? "" });

    // The functions share their runtime code: bundle them in one esbuild run.
    bundleHandlers([
      { entry: path.join(FUNCTIONS_DIR, "summary.ts"), name: `${prefix}-summary` },
      { entry: path.join(FUNCTIONS_DIR, "callback.ts"), name: `${prefix}-callback` },
      { entry: path.join(FUNCTIONS_DIR, "watcher.ts"), name: `${prefix}-watcher` },
    ]);
    const summary = new NodejsFunction(this, "summary", {
      provider,
      functionName: `${prefix}-summary`,
      alarmTopicArn: props.alarmTopicArn,
      roleName: `${prefix}-summary-${region}`,
      entry: path.join(FUNCTIONS_DIR, "summary.ts"),
      description: "Summarizes a NAT gateway recording: top talkers by a Logs Insights query",
      timeout: 120,
      logRetentionDays: retention,
      environment: { POWERTOOLS_SERVICE_NAME: "flowtap-nat-flow-recorder" },
      policyStatements: [
        { sid: "QueryRecordings", actions: ["logs:StartQuery", "logs:GetQueryResults"], resources: [flowLogs.arn, `${flowLogs.arn}:*`] },
        { sid: "StopQueries", actions: ["logs:StopQuery"], resources: ["*"] },
      ],
      calls: [
        { action: "logs:StartQuery", resource: flowLogs.arn, reason: "the top talkers of the recording" },
        { action: "logs:GetQueryResults", resource: flowLogs.arn, reason: "the query's answer" },
        { action: "logs:StopQuery", resource: "*", reason: "a query that outlives the function's time" },
      ],
    });

    const machineLogs = new CloudwatchLogGroup(this, "state-machine-logs", {
      provider,
      name: `/aws/vendedlogs/states/${prefix}`,
      retentionInDays: retention,
    });
    const machineRole = new IamRole(this, "state-machine-role", { provider, name: `${prefix}-state-machine-${region}`, assumeRolePolicy: serviceTrust("states.amazonaws.com") });
    const ec2Arn = (resource: string) => `arn:${partition}:ec2:${region}:${account}:${resource}`;
    new IamRolePolicy(this, "state-machine-policy", {
      provider,
      role: machineRole.name,
      name: "record",
      policy: doc("state-machine-permissions", [
        { sid: "Recordings", actions: ["dynamodb:UpdateItem", "dynamodb:GetItem"], resources: [table.arn] },
        { sid: "Describe", actions: ["ec2:DescribeNatGateways", "ec2:DescribeFlowLogs"], resources: ["*"] },
        { sid: "RecordNatInterfaces", actions: ["ec2:CreateFlowLogs"], resources: [ec2Arn("network-interface/*"), ec2Arn("vpc-flow-log/*")] },
        {
          sid: "TagFlowLogsOnCreate",
          actions: ["ec2:CreateTags"],
          resources: [ec2Arn("vpc-flow-log/*")],
          condition: [{ test: "StringEquals", variable: "ec2:CreateAction", values: ["CreateFlowLogs"] }],
        },
        {
          sid: "StopOwnFlowLogs",
          actions: ["ec2:DeleteFlowLogs"],
          resources: [ec2Arn("vpc-flow-log/*")],
          condition: [{ test: "StringEquals", variable: "aws:ResourceTag/ManagedBy", values: ["flowtap"] }],
        },
        {
          sid: "PassDeliveryRole",
          actions: ["iam:PassRole"],
          resources: [delivery.arn],
          condition: [{ test: "StringEquals", variable: "iam:PassedToService", values: ["vpc-flow-logs.amazonaws.com"] }],
        },
        { sid: "Summarize", actions: ["lambda:InvokeFunction"], resources: [summary.functionArn] },
        { sid: "Notify", actions: ["sns:Publish"], resources: [topic.arn] },
        {
          sid: "ExecutionLogs",
          actions: ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"],
          resources: ["*"],
        },
        { sid: "Tracing", actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"], resources: ["*"] },
      ]),
    });
    const natInterface = ec2Arn(`network-interface/${EXAMPLE_IDS.networkInterface}`);
    const tagged = { "aws:RequestTag/ManagedBy": "flowtap", "aws:TagKeys": ["ManagedBy"] };
    declareRuntimeCalls(this, [
      { principal: "states.amazonaws.com", action: "sts:AssumeRole", resource: machineRole.arn, context: { "aws:SourceAccount": account }, reason: "Step Functions runs a recording as the role" },
      { principal: "states.amazonaws.com", action: "sts:AssumeRole", resource: machineRole.arn, context: { "aws:SourceAccount": FOREIGN_ACCOUNT_ID }, expect: "Denied", reason: "for another account" },
      ...["dynamodb:UpdateItem", "dynamodb:GetItem"].map((action) => ({ principal: machineRole.arn, action, resource: table.arn, reason: "the NAT gateway's recording: claim, token, release" })),
      ...["ec2:DescribeNatGateways", "ec2:DescribeFlowLogs"].map((action) => ({ principal: machineRole.arn, action, resource: "*", reason: "the NAT gateway's ENIs and the recording's flow logs" })),
      { principal: machineRole.arn, action: "ec2:CreateFlowLogs", resource: natInterface, context: tagged, reason: "flow logs on each ENI of the NAT gateway" },
      { principal: machineRole.arn, action: "ec2:CreateFlowLogs", resource: ec2Arn("vpc-flow-log/*"), context: tagged, reason: "the new flow log, tagged ManagedBy=flowtap" },
      { principal: machineRole.arn, action: "ec2:CreateTags", resource: ec2Arn("vpc-flow-log/*"), context: { "ec2:CreateAction": "CreateFlowLogs", ...tagged }, reason: "the flow log's tags, as it is created" },
      { principal: machineRole.arn, action: "ec2:CreateTags", resource: ec2Arn(`vpc-flow-log/${EXAMPLE_IDS.flowLog}`), context: tagged, expect: "Denied", reason: "retagging a flow log that exists" },
      { principal: machineRole.arn, action: "ec2:DeleteFlowLogs", resource: ec2Arn(`vpc-flow-log/${EXAMPLE_IDS.flowLog}`), context: { "aws:ResourceTag/ManagedBy": "flowtap" }, reason: "the recording stops" },
      { principal: machineRole.arn, action: "ec2:DeleteFlowLogs", resource: ec2Arn(`vpc-flow-log/${EXAMPLE_IDS.flowLog}`), context: { "aws:ResourceTag/ManagedBy": "someone-else" }, expect: "Denied", reason: "a flow log flowtap did not make" },
      { principal: machineRole.arn, action: "iam:PassRole", resource: delivery.arn, context: { "iam:PassedToService": "vpc-flow-logs.amazonaws.com" }, reason: "the flow logs deliver with the delivery role" },
      { principal: machineRole.arn, action: "iam:PassRole", resource: delivery.arn, context: { "iam:PassedToService": "ec2.amazonaws.com" }, expect: "Denied", reason: "the delivery role given to another service" },
      { principal: machineRole.arn, action: "lambda:InvokeFunction", resource: summary.functionArn, reason: "the recording's summary" },
      { principal: machineRole.arn, action: "sns:Publish", resource: topic.arn, reason: "the summary is mailed" },
      ...["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"].map(
        (action) => ({ principal: machineRole.arn, action, resource: "*", reason: "Step Functions sets up the execution log delivery (AWS's documented set)" }),
      ),
      ...["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"].map((action) => ({
        principal: machineRole.arn,
        action,
        resource: "*",
        reason: "X-Ray traces of the executions",
      })),
    ]);
    const machine = new SfnStateMachine(this, "state-machine", {
      provider,
      name: prefix,
      type: "STANDARD",
      roleArn: machineRole.arn,
      definition: terraformJson(natFlowRecorderDefinition()),
      loggingConfiguration: { logDestination: `${machineLogs.arn}:*`, includeExecutionData: true, level: "ALL" },
      tracingConfiguration: { enabled: true },
    });

    const callback = new NodejsFunction(this, "callback", {
      provider,
      functionName: `${prefix}-callback`,
      alarmTopicArn: props.alarmTopicArn,
      roleName: `${prefix}-callback-${region}`,
      entry: path.join(FUNCTIONS_DIR, "callback.ts"),
      description: "Resumes a NAT gateway recording when its traffic alarm returns to OK",
      timeout: 30,
      logRetentionDays: retention,
      environment: { TABLE_NAME: table.name, POWERTOOLS_SERVICE_NAME: "flowtap-nat-flow-recorder" },
      policyStatements: [
        { sid: "ReadToken", actions: ["dynamodb:GetItem"], resources: [table.arn] },
        // SendTaskSuccess takes no resource: the task token is the authorization.
        { sid: "Resume", actions: ["states:SendTaskSuccess"], resources: ["*"] },
      ],
      calls: [
        { action: "dynamodb:GetItem", resource: table.arn, reason: "the recording's task token" },
        { action: "states:SendTaskSuccess", resource: "*", reason: "the recording resumes and stops" },
      ],
    });
    callback.addTrigger({
      name: "alarm-ok",
      description: "A flowtap NAT traffic alarm returning to OK",
      eventPattern: {
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        detail: { alarmName: [{ prefix: ALARM_NAME_PREFIX }], state: { value: ["OK"] } },
      },
    });

    // Starting the recording: the ALARM event, with the workspace's settings, becomes the execution input.
    const startRule = new CloudwatchEventRule(this, "alarm-rule", {
      provider,
      name: `${prefix}-alarm`,
      description: "A flowtap NAT traffic alarm entering ALARM starts a recording",
      eventPattern: terraformJson({
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        detail: { alarmName: [{ prefix: ALARM_NAME_PREFIX }], state: { value: ["ALARM"] } },
      }),
    });
    const startFailures = new DeadLetterQueue(this, "start-failures", {
      provider,
      queueName: `${prefix}-start-failures`,
      alarmTopicArn: props.alarmTopicArn,
      eventBridgeRuleArns: [startRule.arn],
    });
    const eventsRole = new IamRole(this, "events-role", { provider, name: `${prefix}-events-${region}`, assumeRolePolicy: serviceTrust("events.amazonaws.com") });
    new IamRolePolicy(this, "events-policy", {
      provider,
      role: eventsRole.name,
      name: "start-recordings",
      policy: doc("events-permissions", [{ sid: "StartRecordings", actions: ["states:StartExecution"], resources: [machine.arn] }]),
    });
    declareRuntimeCalls(this, [
      { principal: "events.amazonaws.com", action: "sts:AssumeRole", resource: eventsRole.arn, context: { "aws:SourceAccount": account }, reason: "the alarm rule starts recordings as the role" },
      { principal: "events.amazonaws.com", action: "sts:AssumeRole", resource: eventsRole.arn, context: { "aws:SourceAccount": FOREIGN_ACCOUNT_ID }, expect: "Denied", reason: "for another account" },
      { principal: eventsRole.arn, action: "states:StartExecution", resource: machine.arn, reason: "an alarm entering ALARM starts a recording" },
      { principal: eventsRole.arn, action: "states:StartExecution", resource: `${machine.arn}-other`, expect: "Denied", reason: "another state machine" },
      { principal: "events.amazonaws.com", action: "sqs:SendMessage", resource: startFailures.queueArn, context: { "aws:SourceArn": startRule.arn }, reason: "EventBridge keeps an alarm event it could not start a recording with" },
      {
        principal: "events.amazonaws.com",
        action: "sqs:SendMessage",
        resource: startFailures.queueArn,
        context: { "aws:SourceArn": `arn:${partition}:events:${region}:${FOREIGN_ACCOUNT_ID}:rule/${prefix}-alarm` },
        expect: "Denied",
        reason: "a rule of another account",
      },
    ]);
    const settings = [
      `"table":"${table.name}"`,
      `"logGroupName":"${flowLogs.name}"`,
      `"deliverLogsRoleArn":"${delivery.arn}"`,
      `"recordingSeconds":${Token.asString(props.recordingSeconds ?? 3600)}`,
      `"maxRecordings":${Token.asString(props.maxRecordings ?? 1_000_000_000)}`,
      `"topicArn":"${topic.arn}"`,
      `"summaryFunction":"${summary.functionArn}"`,
    ].join(",");
    new CloudwatchEventTarget(this, "alarm-target", {
      provider,
      rule: startRule.name,
      arn: machine.arn,
      roleArn: eventsRole.arn,
      inputTransformer: {
        inputPaths: { alarmName: "$.detail.alarmName", alarmTime: "$.time" },
        inputTemplate: `{"alarmName":<alarmName>,"alarmTime":<alarmTime>,"settings":{${settings}}}`,
      },
      retryPolicy: EVENT_DELIVERY_RETRY,
      deadLetterConfig: { arn: startFailures.queueArn },
    });

    // One alarm per NAT gateway, on the sum of bytes to and from destinations: a static
    // threshold, or an anomaly-detection band for teams that cannot guess a number.
    const anomaly = props.anomalyDetection ?? false;
    const period = props.periodSeconds ?? 60;
    const bytes = (queryId: string, metricName: string, natGatewayId: string): CloudwatchMetricAlarmMetricQuery => ({
      id: queryId,
      returnData: false,
      metric: { namespace: "AWS/NATGateway", metricName, dimensions: { NatGatewayId: natGatewayId }, stat: "Sum", period },
    });
    const queries = (natGatewayId: string): CloudwatchMetricAlarmMetricQuery[] => [
      bytes("m1", TRAFFIC_METRICS[0], natGatewayId),
      bytes("m2", TRAFFIC_METRICS[1], natGatewayId),
      { id: "total", expression: "m1 + m2", label: "Bytes to and from destinations", returnData: true },
    ];
    const common = {
      provider,
      evaluationPeriods: props.evaluationPeriods ?? 5,
      datapointsToAlarm: props.datapointsToAlarm ?? 3,
      treatMissingData: "notBreaching",
      alarmDescription: TRAFFIC_ALARM_DESCRIPTION,
    };
    // Where no NAT gateways are listed, the watcher keeps the same alarms on the ones it finds.
    const alarmArn = (name: string) => `arn:${partition}:cloudwatch:${region}:${account}:alarm:${name}`;
    const watcher = new NodejsFunction(this, "watcher", {
      provider,
      functionName: `${prefix}-watcher`,
      alarmTopicArn: props.alarmTopicArn,
      roleName: `${prefix}-watcher-${region}`,
      entry: path.join(FUNCTIONS_DIR, "watcher.ts"),
      description: "Keeps a traffic alarm on every NAT gateway of the region (those created later too) where none are listed",
      timeout: 120,
      logRetentionDays: retention,
      environment: {
        DISCOVER_NAT_GATEWAYS: Token.asString(props.discoverNatGateways ?? false),
        NAT_GATEWAY_TAG_KEY: props.natGatewayTagKey ?? "",
        NAT_GATEWAY_TAG_VALUE: props.natGatewayTagValue ?? "",
        PERIOD_SECONDS: Token.asString(period),
        EVALUATION_PERIODS: Token.asString(common.evaluationPeriods),
        DATAPOINTS_TO_ALARM: Token.asString(common.datapointsToAlarm),
        THRESHOLD_BYTES: Token.asString(props.thresholdBytes),
        ANOMALY_DETECTION: Token.asString(anomaly),
        ANOMALY_BAND_WIDTH: Token.asString(props.anomalyBandWidth ?? 2),
        POWERTOOLS_SERVICE_NAME: `${prefix}-watcher`,
        POWERTOOLS_METRICS_NAMESPACE: "flowtap",
      },
      policyStatements: [
        // DescribeNatGateways takes no resource-level permissions.
        { sid: "FindNatGateways", actions: ["ec2:DescribeNatGateways"], resources: ["*"] },
        // The watcher lists only alarms under the recorder's prefix.
        { sid: "KeepTrafficAlarms", actions: ["cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource"], resources: [alarmArn(`${ALARM_NAME_PREFIX}*`)] },
      ],
      calls: [
        { action: "ec2:DescribeNatGateways", resource: "*", reason: "the region's NAT gateways" },
        ...["cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:DeleteAlarms"].map((action) => ({
          action,
          resource: alarmArn(`${ALARM_NAME_PREFIX}${EXAMPLE_IDS.natGateway}`),
          reason: "a NAT gateway's traffic alarm",
        })),
        { action: "cloudwatch:DeleteAlarms", resource: alarmArn("an-alarm-of-someone-else"), expect: "Denied", reason: "alarms that are not the recorder's" },
      ],
    });
    watcher.addTrigger({
      name: "nat-gateway-calls",
      description: "flowtap: a NAT gateway was created or deleted",
      eventPattern: { source: ["aws.ec2"], "detail-type": ["AWS API Call via CloudTrail"], detail: { eventSource: ["ec2.amazonaws.com"], eventName: ["CreateNatGateway", "DeleteNatGateway"] } },
    });
    watcher.addTrigger({ name: "sweep", description: "flowtap: every NAT gateway has its traffic alarm, and no alarm outlives its NAT gateway", scheduleExpression: "rate(10 minutes)" });

    const staticGateways = TerraformIterator.fromList(Fn.conditional(anomaly, [], props.natGatewayIds));
    new CloudwatchMetricAlarm(this, "traffic-alarm", {
      ...common,
      forEach: staticGateways,
      alarmName: `${ALARM_NAME_PREFIX}${staticGateways.value}`,
      comparisonOperator: "GreaterThanThreshold",
      threshold: props.thresholdBytes,
      metricQuery: queries(Token.asString(staticGateways.value)),
    });
    const bandGateways = TerraformIterator.fromList(Fn.conditional(anomaly, props.natGatewayIds, []));
    new CloudwatchMetricAlarm(this, "traffic-anomaly-alarm", {
      ...common,
      forEach: bandGateways,
      alarmName: `${ALARM_NAME_PREFIX}${bandGateways.value}`,
      comparisonOperator: "GreaterThanUpperThreshold",
      thresholdMetricId: "band",
      metricQuery: [
        ...queries(Token.asString(bandGateways.value)),
        { id: "band", expression: `ANOMALY_DETECTION_BAND(total, ${Token.asString(props.anomalyBandWidth ?? 2)})`, label: "Expected bytes", returnData: true },
      ],
    });

    this.logGroupName = flowLogs.name;
    this.stateMachineArn = machine.arn;
    this.tableName = table.name;
    this.topicArn = topic.arn;
  }
}
