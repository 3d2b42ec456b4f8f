import type { TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchLogSubscriptionFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-subscription-filter";
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { INTERFACE_CALLS, SECURITY_GROUP_CALLS } from "../functions/lib/flowlogs/inventory-calls";
import { awsContext } from "./aws-context";
import { DeadLetterQueue, EVENT_DELIVERY_RETRY } from "./dead-letter-queue";
import { declareRuntimeCalls, EXAMPLE_IDS, FOREIGN_ACCOUNT_ID } from "./runtime-calls";
import { ServiceRole } from "./service-role";
import { terraformJson } from "./terraform-literal";
import { vpcFlowLogs } from "./vpc-flow-logs";

export interface FlowInsightsMemberProps extends Pick<TerraformMetaArguments, "provider"> {
  /** The VPCs whose flow logs go to the central pipeline. */
  readonly vpcIds: string[];
  /** ALL, ACCEPT or REJECT. @default "ALL" */
  readonly trafficType?: string;
  /** Days the local flow log group keeps records. @default 1 */
  readonly flowLogRetentionDays?: number;
  /** The central CloudWatch Logs destination (Kinesis behind it) of this region. */
  readonly logsDestinationArn: string;
  /** The central event bus of this region. */
  readonly centralBusArn: string;
  /** The central inventory function's role, the only principal the inventory role trusts. */
  readonly inventoryFunctionRoleArn: string;
  /** The inventory role's name (IAM is global: one per region). */
  readonly inventoryRoleName: string;
  /** The ExternalId the central function gives when it assumes the inventory role. */
  readonly inventoryExternalId: string;
  /** The topic its alarms notify (an `AlarmTopic` of the same region). */
  readonly alarmTopicArn: string;
  /** @default "flowtap-flow-insights" */
  readonly namePrefix?: string;
}

/** CloudTrail's record of EC2 calls of these names. */
const ec2Calls = (names: readonly string[]) => ({ source: ["aws.ec2"], "detail-type": ["AWS API Call via CloudTrail"], detail: { eventSource: ["ec2.amazonaws.com"], eventName: [...names] } });

/** The events the central inventory follows: calls that change ENIs or security groups (through CloudTrail), tag changes, instances starting and ending. */
export const FORWARDED_EVENT_PATTERNS: Readonly<Record<string, Record<string, unknown>>> = {
  "eni-calls": ec2Calls(INTERFACE_CALLS),
  // Short: the central inventory function's rules are `flowtap-flow-insights-inventory-<region>-<key>`, at most 64 characters.
  "sg-calls": ec2Calls(SECURITY_GROUP_CALLS),
  "tag-changes": { source: ["aws.tag"], "detail-type": ["Tag Change on Resource"], detail: { service: ["ec2"], "resource-type": ["instance", "network-interface"] } },
  "instance-states": { source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], detail: { state: ["running", "terminated"] } },
};

/**
 * A member account's side of flow-insights, in one region: VPC flow logs (every field) to a
 * short-lived log group subscribed to the central logs destination, the events the central
 * inventory follows forwarded to the central bus, and the read-only role the central inventory
 * function assumes, trusted only with the ExternalId.
 */
export class FlowInsightsMember extends Construct {
  public readonly inventoryRoleArn: string;
  public readonly logGroupName: string;

  constructor(scope: Construct, id: string, props: FlowInsightsMemberProps) {
    super(scope, id);
    const provider = props.provider;
    const prefix = props.namePrefix ?? "flowtap-flow-insights";
    const { partition, region, account } = awsContext(this, provider);
    const doc = (docId: string, statement: DataAwsIamPolicyDocumentStatement[]) => new DataAwsIamPolicyDocument(this, docId, { provider, statement }).json;

    const inventoryRole = new IamRole(this, "inventory-role", {
      provider,
      name: props.inventoryRoleName,
      description: "flowtap: the central flow-insights inventory reads ENIs, security groups, instances and tags",
      assumeRolePolicy: doc("inventory-trust", [
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "AWS", identifiers: [props.inventoryFunctionRoleArn] }],
          condition: [{ test: "StringEquals", variable: "sts:ExternalId", values: [props.inventoryExternalId] }],
        },
      ]),
    });
    new IamRolePolicy(this, "inventory-policy", {
      provider,
      role: inventoryRole.name,
      name: "read-inventory",
      policy: doc("inventory-permissions", [
        {
          sid: "DescribeInventory",
          actions: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances"],
          resources: ["*"],
        },
        { sid: "ResourceTags", actions: ["tag:GetResources"], resources: ["*"] },
      ]),
    });
    declareRuntimeCalls(this, [
      {
        principal: props.inventoryFunctionRoleArn,
        action: "sts:AssumeRole",
        resource: inventoryRole.arn,
        context: { "sts:ExternalId": props.inventoryExternalId },
        reason: "the central inventory function reads this account's inventory",
      },
      { principal: props.inventoryFunctionRoleArn, action: "sts:AssumeRole", resource: inventoryRole.arn, context: { "sts:ExternalId": "guessed" }, expect: "Denied", reason: "without the ExternalId" },
      ...["ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances", "tag:GetResources"].map((action) => ({
        principal: inventoryRole.arn,
        action,
        resource: "*",
        reason: "the scheduled refresh describes every ENI, group, instance and their tags",
      })),
    ]);

    const logGroup = new CloudwatchLogGroup(this, "flow-logs", { provider, name: `/flowtap/flow-insights/${region}`, retentionInDays: props.flowLogRetentionDays ?? 1 });
    const logStream = `${logGroup.arn}:log-stream:${EXAMPLE_IDS.flowLogStream}`;
    const delivery = new ServiceRole(this, "delivery-role", {
      provider,
      roleName: `${prefix}-delivery-${region}`,
      service: "vpc-flow-logs.amazonaws.com",
      trustConditions: [
        { test: "StringEquals", variable: "aws:SourceAccount", values: [account] },
        { test: "ArnLike", variable: "aws:SourceArn", values: [`arn:${partition}:ec2:${region}:${account}:vpc-flow-log/*`] },
      ],
      assumedWith: { "aws:SourceAccount": account, "aws:SourceArn": `arn:${partition}:ec2:${region}:${account}:vpc-flow-log/${EXAMPLE_IDS.flowLog}` },
      policyName: "deliver-flow-logs",
      statements: [
        { sid: "DeliverToTheLogGroup", actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], resources: [logGroup.arn, `${logGroup.arn}:*`] },
      ],
      calls: [
        { action: "logs:DescribeLogStreams", resource: logGroup.arn, reason: "flow logs look for an ENI's stream" },
        { action: "logs:CreateLogStream", resource: logStream, reason: "one stream per ENI" },
        { action: "logs:PutLogEvents", resource: logStream, reason: "the flow records" },
      ],
    });
    vpcFlowLogs(this, {
      provider,
      vpcIds: props.vpcIds,
      trafficType: props.trafficType,
      logDestinationType: "cloud-watch-logs",
      logDestination: logGroup.arn,
      iamRoleArn: delivery.roleArn,
      namePrefix: prefix,
    });
    // A destination open to the organization (not to listed accounts) takes logs that AWS services vend, such as
    // flow logs, only through a role of the sending account that CloudWatch Logs assumes to check the sender.
    const subscription = new ServiceRole(this, "subscription-role", {
      provider,
      roleName: `${prefix}-subscription-${region}`,
      service: "logs.amazonaws.com",
      // CloudWatch Logs names the subscribed log group in aws:SourceArn.
      trustConditions: [{ test: "ArnLike", variable: "aws:SourceArn", values: [`arn:${partition}:logs:${region}:${account}:*`] }],
      assumedWith: { "aws:SourceArn": `${logGroup.arn}:*` },
      policyName: "send-to-central",
      statements: [{ sid: "SendTheLogGroup", actions: ["logs:PutLogEvents"], resources: [`${logGroup.arn}:*`] }],
      calls: [{ action: "logs:PutLogEvents", resource: logStream, reason: "CloudWatch Logs checks that this account may send the log group's events" }],
    });
    new CloudwatchLogSubscriptionFilter(this, "to-central", {
      provider,
      name: `${prefix}-central`,
      logGroupName: logGroup.name,
      filterPattern: "",
      destinationArn: props.logsDestinationArn,
      roleArn: subscription.roleArn,
      distribution: "ByLogStream",
    });
    declareRuntimeCalls(this, [
      { principal: account, action: "logs:PutSubscriptionFilter", resource: props.logsDestinationArn, reason: "the deployment subscribes the log group to the central destination" },
    ]);

    const forwarding = new ServiceRole(this, "forwarding-role", {
      provider,
      roleName: `${prefix}-forwarding-${region}`,
      service: "events.amazonaws.com",
      policyName: "forward-to-central",
      statements: [{ sid: "PutOnTheCentralBus", actions: ["events:PutEvents"], resources: [props.centralBusArn] }],
      calls: [{ action: "events:PutEvents", resource: props.centralBusArn, reason: "the forwarding rules put the events on the central bus" }],
    });
    const undelivered = new DeadLetterQueue(this, "undelivered", {
      provider,
      queueName: `${prefix}-undelivered`,
      alarmTopicArn: props.alarmTopicArn,
    });
    for (const [name, pattern] of Object.entries(FORWARDED_EVENT_PATTERNS)) {
      const rule = new CloudwatchEventRule(this, `${name}-rule`, {
        provider,
        name: `${prefix}-${name}`,
        description: `flowtap: forwards ${name.replaceAll("-", " ")} to the central flow-insights inventory`,
        eventPattern: terraformJson(pattern),
      });
      new CloudwatchEventTarget(this, `${name}-target`, {
        provider,
        rule: rule.name,
        arn: props.centralBusArn,
        roleArn: forwarding.roleArn,
        retryPolicy: EVENT_DELIVERY_RETRY,
        deadLetterConfig: { arn: undelivered.queueArn },
      });
      undelivered.allowEventBridgeRule(rule.arn);
      declareRuntimeCalls(this, [
        { principal: "events.amazonaws.com", action: "sqs:SendMessage", resource: undelivered.queueArn, context: { "aws:SourceArn": rule.arn }, reason: `EventBridge keeps what rule ${name} could not forward` },
      ]);
    }
    declareRuntimeCalls(this, [
      {
        principal: "events.amazonaws.com",
        action: "sqs:SendMessage",
        resource: undelivered.queueArn,
        context: { "aws:SourceArn": `arn:${partition}:events:${region}:${FOREIGN_ACCOUNT_ID}:rule/${prefix}-eni-calls` },
        expect: "Denied",
        reason: "a rule of another account",
      },
    ]);

    this.inventoryRoleArn = inventoryRole.arn;
    this.logGroupName = logGroup.name;
  }
}
