import { Lazy, type TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import { failureAlarm } from "./alarm-topic";

/** How long EventBridge keeps trying a target (EventBridge's most: a day, 185 attempts) before the dead-letter queue. */
export const EVENT_DELIVERY_RETRY = { maximumEventAgeInSeconds: 86400, maximumRetryAttempts: 185 } as const;

export interface DeadLetterQueueProps extends Pick<TerraformMetaArguments, "provider"> {
  readonly queueName: string;
  /**
   * EventBridge rules that may send events they could not deliver (ARNs, or patterns with `*`); more
   * can be added with {@link DeadLetterQueue.allowEventBridgeRule}.
   * @default - none: only its consumer's role may send
   */
  readonly eventBridgeRuleArns?: string[];
  /** The topic notified when a message arrives: nothing sits in the queue unseen. */
  readonly alarmTopicArn: string;
  /** Days a message stays. @default 14 - the most SQS keeps */
  readonly retentionDays?: number;
}

/**
 * An encrypted, TLS-only SQS queue that keeps what could not be processed or delivered: events
 * EventBridge gave up on (the given rules only) and, through its consumer's role, failed invocations.
 * An alarm notifies as soon as one message is in it.
 */
export class DeadLetterQueue extends Construct {
  /** The queue's ARN. */
  public readonly queueArn: string;
  /** The queue's URL. */
  public readonly queueUrl: string;
  private readonly ruleArns: string[];

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    const provider = props.provider;
    const queue = new SqsQueue(this, "queue", {
      provider,
      name: props.queueName,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: (props.retentionDays ?? 14) * 86400,
    });
    this.ruleArns = [...(props.eventBridgeRuleArns ?? [])];
    const tlsOnly = {
      sid: "TlsOnly",
      effect: "Deny",
      actions: ["sqs:*"],
      resources: [queue.arn],
      principals: [{ type: "*", identifiers: ["*"] }],
      condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
    };
    // The rules are known once the stack is built: a queue no rule sends to grants EventBridge nothing.
    const statements = () => [
      ...(this.ruleArns.length
        ? [
            {
              sid: "EventBridgeDeadLetters",
              actions: ["sqs:SendMessage"],
              resources: [queue.arn],
              principals: [{ type: "Service", identifiers: ["events.amazonaws.com"] }],
              condition: [{ test: "ArnLike", variable: "aws:SourceArn", values: this.ruleArns }],
            },
          ]
        : []),
      tlsOnly,
    ];
    const policy = new DataAwsIamPolicyDocument(this, "policy", { provider, statement: Lazy.anyValue({ produce: statements }) as never });
    new SqsQueuePolicy(this, "queue-policy", { provider, queueUrl: queue.url, policy: policy.json });
    failureAlarm(this, "alarm", {
      provider,
      alarmName: `${props.queueName}-messages`,
      description: `flowtap: ${props.queueName} holds what could not be processed or delivered; read it, fix the cause, redrive (README: Alarms)`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: queue.name },
      statistic: "Maximum",
      comparison: "atLeast",
      threshold: 1,
      alarmTopicArn: props.alarmTopicArn,
    });
    this.queueArn = queue.arn;
    this.queueUrl = queue.url;
  }

  /** Lets an EventBridge rule (an ARN, or a pattern with `*`) send the events it could not deliver. */
  public allowEventBridgeRule(ruleArn: string): void {
    this.ruleArns.push(ruleArn);
  }
}
