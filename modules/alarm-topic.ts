import { Fn, Token, type TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { awsContext } from "./aws-context";
import { declareRuntimeCalls, FOREIGN_ACCOUNT_ID } from "./runtime-calls";

export interface AlarmTopicProps extends Pick<TerraformMetaArguments, "provider"> {
  /** The topic's name; it is regional, as alarms notify only topics of their region. */
  readonly topicName: string;
  /** Where the alarms are mailed (an SNS email subscription to confirm); "" for none. @default - no subscription */
  readonly email?: string;
}

/**
 * The SNS topic a feature's alarms notify in one region, encrypted with a key of its own: CloudWatch
 * cannot publish to a topic encrypted with the AWS-managed `alias/aws/sns` key, whose policy admits
 * no service. Only this account's alarms may publish, only over TLS.
 */
export class AlarmTopic extends Construct {
  public readonly topicArn: string;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const provider = props.provider;
    const { partition, account, region } = awsContext(this, provider);
    const thisAccount = [{ test: "StringEquals", variable: "aws:SourceAccount", values: [account] }];
    const keyPolicy = new DataAwsIamPolicyDocument(this, "key-policy", {
      provider,
      statement: [
        { sid: "AccountAdministers", actions: ["kms:*"], resources: ["*"], principals: [{ type: "AWS", identifiers: [`arn:${partition}:iam::${account}:root`] }] },
        {
          sid: "AlarmsEncrypt",
          actions: ["kms:GenerateDataKey*", "kms:Decrypt"],
          resources: ["*"],
          principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }],
          condition: thisAccount,
        },
      ],
    });
    const key = new KmsKey(this, "key", { provider, description: `flowtap: encrypts the ${props.topicName} topic`, enableKeyRotation: true, policy: keyPolicy.json });
    const topic = new SnsTopic(this, "topic", { provider, name: props.topicName, kmsMasterKeyId: key.arn });
    const topicPolicy = new DataAwsIamPolicyDocument(this, "topic-policy", {
      provider,
      statement: [
        { sid: "AlarmsPublish", actions: ["sns:Publish"], resources: [topic.arn], principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }], condition: thisAccount },
        {
          sid: "TlsOnly",
          effect: "Deny",
          actions: ["sns:Publish"],
          resources: [topic.arn],
          principals: [{ type: "*", identifiers: ["*"] }],
          condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
        },
      ],
    });
    new SnsTopicPolicy(this, "topic-access", { provider, arn: topic.arn, policy: topicPolicy.json });
    emailSubscription(this, "email", { provider, topicArn: topic.arn, email: props.email ?? "" });
    const alarmArn = (owner: string) => `arn:${partition}:cloudwatch:${region}:${owner}:alarm:flowtap-example`;
    declareRuntimeCalls(this, [
      { principal: "cloudwatch.amazonaws.com", action: "sns:Publish", resource: topic.arn, context: { "aws:SourceAccount": account, "aws:SourceArn": alarmArn(account) }, reason: "an alarm changes state" },
      ...["kms:GenerateDataKey", "kms:Decrypt"].map((action) => ({
        principal: "cloudwatch.amazonaws.com",
        action,
        resource: key.arn,
        context: { "aws:SourceAccount": account },
        reason: "the alarm's message is encrypted with the topic's key",
      })),
      {
        principal: "cloudwatch.amazonaws.com",
        action: "sns:Publish",
        resource: topic.arn,
        context: { "aws:SourceAccount": FOREIGN_ACCOUNT_ID, "aws:SourceArn": alarmArn(FOREIGN_ACCOUNT_ID) },
        expect: "Denied",
        reason: "an alarm of another account",
      },
      { principal: account, action: "kms:PutKeyPolicy", resource: key.arn, reason: "the account administers its key" },
    ]);
    this.topicArn = topic.arn;
  }
}

/** An email subscription of `topicArn` when `email` (a Terraform value allowed) is set; none for "". */
export function emailSubscription(scope: Construct, id: string, props: Pick<TerraformMetaArguments, "provider"> & { readonly topicArn: string; readonly email: string }): SnsTopicSubscription {
  return new SnsTopicSubscription(scope, id, {
    provider: props.provider,
    count: Token.asNumber(Fn.min([Fn.lengthOf(props.email), 1])),
    topicArn: props.topicArn,
    protocol: "email",
    endpoint: props.email,
  });
}

/** The alarms of a Firehose stream that delivers to S3: failed deliveries, and each of `failures` (a metric of failed records or batches). */
export function firehoseDeliveryAlarms(
  scope: Construct,
  props: Pick<TerraformMetaArguments, "provider"> & {
    readonly streamName: string;
    /** The stream's name as a Terraform value, for the alarms' dimension. */
    readonly streamNameValue: string;
    readonly errorPrefix: string;
    readonly alarmTopicArn: string;
    readonly failures: readonly { readonly metricName: string; readonly statistic: "Minimum" | "Sum"; readonly comparison: "atLeast" | "below"; readonly what: string }[];
  },
): void {
  for (const alarm of [{ metricName: "DeliveryToS3.Success", statistic: "Minimum", comparison: "below", what: "failed to write to S3" } as const, ...props.failures]) {
    const suffix = alarm.metricName.replaceAll(".", "-").toLowerCase();
    failureAlarm(scope, `${suffix}-alarm`, {
      provider: props.provider,
      alarmName: `${props.streamName}-${suffix}`,
      description: `flowtap: Firehose stream ${props.streamName} ${alarm.what}; its delivery log group says why, failed records are under ${props.errorPrefix}`,
      namespace: "AWS/Firehose",
      metricName: alarm.metricName,
      dimensions: { DeliveryStreamName: props.streamNameValue },
      statistic: alarm.statistic,
      comparison: alarm.comparison,
      threshold: 1,
      alarmTopicArn: props.alarmTopicArn,
    });
  }
}

export interface FailureAlarmProps extends Pick<TerraformMetaArguments, "provider"> {
  readonly alarmName: string;
  readonly description: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  /** Maximum, Minimum or Sum over 5 minutes. */
  readonly statistic: "Maximum" | "Minimum" | "Sum";
  /** Alarm at or above `threshold` ("atLeast"), or below it ("below"). */
  readonly comparison: "atLeast" | "below";
  readonly threshold: number;
  readonly alarmTopicArn: string;
}

/** A CloudWatch alarm on one metric over 5 minutes, notifying the topic on ALARM and OK; no data is not a failure. */
export function failureAlarm(scope: Construct, id: string, props: FailureAlarmProps): CloudwatchMetricAlarm {
  return new CloudwatchMetricAlarm(scope, id, {
    provider: props.provider,
    alarmName: props.alarmName,
    alarmDescription: props.description,
    namespace: props.namespace,
    metricName: props.metricName,
    dimensions: props.dimensions,
    statistic: props.statistic,
    period: 300,
    evaluationPeriods: 1,
    threshold: props.threshold,
    comparisonOperator: props.comparison === "atLeast" ? "GreaterThanOrEqualToThreshold" : "LessThanThreshold",
    treatMissingData: "notBreaching",
    alarmActions: [props.alarmTopicArn],
    okActions: [props.alarmTopicArn],
  });
}
