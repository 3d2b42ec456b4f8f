import { AssetType, TerraformAsset, Token, type TerraformMetaArguments, type TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import {
  DataAwsIamPolicyDocument,
  type DataAwsIamPolicyDocumentStatement,
} from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { awsContext } from "./aws-context";
import { failureAlarm } from "./alarm-topic";
import { bundleHandler } from "./bundle";
import { DeadLetterQueue, EVENT_DELIVERY_RETRY } from "./dead-letter-queue";
import { declareRuntimeCalls, EXAMPLE_IDS, FOREIGN_ACCOUNT_ID, type RoleCall } from "./runtime-calls";
import { terraformJson, terraformLiterals } from "./terraform-literal";

export interface NodejsFunctionProps extends Pick<TerraformMetaArguments, "provider"> {
  /** The function's name; also names its role, log group, failure queue and triggers. 1-50 characters. */
  readonly functionName: string;
  /** The handler source file (TypeScript); it must export `handler`. */
  readonly entry: string;
  /** @default - no description */
  readonly description?: string;
  /**
   * The execution role's name. IAM names are global to an account: a stack applied in several
   * regions of one account must put the region in it. At most 64 characters.
   * @default - `<functionName>-function`
   */
  readonly roleName?: string;
  /** @default 256 */
  readonly memorySize?: number;
  /** Seconds. @default 30 */
  readonly timeout?: number;
  /** Values are literal text; cdktf references in them stay references. @default - no variables besides NODE_OPTIONS=--enable-source-maps */
  readonly environment?: Record<string, string>;
  /** What the function may do, beyond writing its own logs and failure queue. @default - nothing else */
  readonly policyStatements?: DataAwsIamPolicyDocumentStatement[];
  /**
   * The requests the handler (or Lambda, for its event source) makes under the function's role,
   * with run-time resources: the table the permission tests simulate against `policyStatements`.
   * @default - none beyond its logs and failure queue
   */
  readonly calls?: readonly RoleCall[];
  /** The topic its alarms notify: errors, throttles (with reserved concurrency) and its failure queue. */
  readonly alarmTopicArn: string;
  /** Retention of the function's log group, in days. @default 30 */
  readonly logRetentionDays?: number;
  /** Trace invocations with X-Ray. @default false - no tracing */
  readonly tracing?: boolean;
  /** Cap on concurrent executions. @default - unreserved, shares the account's pool */
  readonly reservedConcurrency?: number;
  /** Attempts Lambda retries a failed asynchronous invocation (0-2). @default 2 */
  readonly asyncRetryAttempts?: number;
  /** Days a failed event stays in the failure queue. @default 14 */
  readonly failureRetentionDays?: number;
}

export interface NodejsFunctionTriggerProps {
  /** Suffix of the rule's name: the rule is named `<functionName>-<name>`. */
  readonly name: string;
  readonly description: string;
  /** The EventBridge event pattern, as an object or as JSON text (a Terraform value allowed); give this or `scheduleExpression`. */
  readonly eventPattern?: Record<string, unknown> | string;
  /** A `rate(...)` or `cron(...)` expression; give this or `eventPattern`. */
  readonly scheduleExpression?: string;
  /** The bus the rule listens on. @default - the account's default bus */
  readonly eventBusName?: string;
}

/**
 * A Node.js 22 Lambda function on arm64, bundled by esbuild at synth time and shipped as a
 * `TerraformAsset` inside the stack's own directory, with its role, a log group with retention,
 * and a failure queue that receives asynchronous invocations Lambda gave up on and events
 * EventBridge could not deliver. Nothing it is sent is dropped without a trace.
 */
export class NodejsFunction extends Construct {
  /** The function's name. */
  public readonly functionName: string;
  /** The function's ARN. */
  public readonly functionArn: string;
  /** The execution role's name. */
  public readonly roleName: string;
  /** The execution role's ARN. */
  public readonly roleArn: string;
  /** The log group the function writes to. */
  public readonly logGroupName: string;
  /** The SQS queue holding failed asynchronous invocations and undeliverable events. */
  public readonly failureQueueArn: string;
  /** The SQS queue's URL. */
  public readonly failureQueueUrl: string;
  /** The bundle's content hash: it changes exactly when the handler's code does. */
  public readonly bundleHash: string;

  private readonly baseName: string;
  private readonly provider?: TerraformProvider;
  private readonly failureQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: NodejsFunctionProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_-]{1,50}$/.test(props.functionName)) {
      throw new Error(`functionName "${props.functionName}" must be 1-50 letters, digits, hyphens or underscores (the suffixes added to it must fit AWS's 64-character names)`);
    }
    const asyncRetryAttempts = props.asyncRetryAttempts ?? 2;
    if (asyncRetryAttempts < 0 || asyncRetryAttempts > 2) {
      throw new Error(`asyncRetryAttempts must be 0, 1 or 2 (got ${asyncRetryAttempts})`);
    }
    const provider = props.provider;
    this.provider = provider;
    const name = props.functionName;
    this.baseName = name;
    const { partition, region, account } = awsContext(this, provider);

    const logGroup = new CloudwatchLogGroup(this, "logs", {
      provider,
      name: `/aws/lambda/${name}`,
      retentionInDays: props.logRetentionDays ?? 30,
    });

    const failureQueue = new DeadLetterQueue(this, "failures", {
      provider,
      queueName: `${name}-failures`,
      alarmTopicArn: props.alarmTopicArn,
      retentionDays: props.failureRetentionDays,
    });
    this.failureQueue = failureQueue;

    const trust = new DataAwsIamPolicyDocument(this, "trust", {
      provider,
      statement: [{ actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }] }],
    });
    const role = new IamRole(this, "role", { provider, name: props.roleName ?? `${name}-function`, assumeRolePolicy: trust.json });
    const permissions = new DataAwsIamPolicyDocument(this, "permissions", {
      provider,
      statement: [
        {
          sid: "OwnLogs",
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resources: [`${logGroup.arn}:*`],
        },
        { sid: "FailureQueue", actions: ["sqs:SendMessage"], resources: [failureQueue.queueArn] },
        ...(props.tracing
          ? [{ sid: "Tracing", actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] }]
          : []),
        ...(props.policyStatements ?? []),
      ],
    });
    const rolePolicy = new IamRolePolicy(this, "role-policy", { provider, role: role.name, name: "permissions", policy: permissions.json });
    const logStream = `${logGroup.arn}:log-stream:${EXAMPLE_IDS.lambdaLogStream}`;
    declareRuntimeCalls(this, [
      { principal: "lambda.amazonaws.com", action: "sts:AssumeRole", resource: role.arn, reason: `Lambda runs ${name} as its role` },
      { principal: role.arn, action: "logs:CreateLogStream", resource: logStream, reason: "Lambda starts a log stream for each instance of the function" },
      { principal: role.arn, action: "logs:PutLogEvents", resource: logStream, reason: "the function's logs" },
      {
        principal: role.arn,
        action: "logs:PutLogEvents",
        resource: `arn:${partition}:logs:${region}:${account}:log-group:/aws/lambda/${name}-other:log-stream:${EXAMPLE_IDS.lambdaLogStream}`,
        expect: "Denied",
        reason: "another function's logs",
      },
      { principal: role.arn, action: "sqs:SendMessage", resource: failureQueue.queueArn, reason: "Lambda records an invocation or a stream batch it gave up on in the failure queue" },
      { principal: role.arn, action: "sqs:SendMessage", resource: failureQueue.queueArn, context: { "aws:SecureTransport": "false" }, expect: "Denied", reason: "the failure queue takes nothing without TLS" },
      ...(props.tracing
        ? (["xray:PutTraceSegments", "xray:PutTelemetryRecords"] as const).map((action) => ({ principal: role.arn, action, resource: "*", reason: "X-Ray traces of the invocations" }))
        : []),
      ...(props.calls ?? []).map((call) => ({ ...call, principal: role.arn })),
    ]);

    const asset = new TerraformAsset(this, "bundle", { path: bundleHandler(props.entry, name), type: AssetType.FILE });
    this.bundleHash = asset.assetHash;

    const lambda = new LambdaFunction(this, "function", {
      provider,
      functionName: name,
      description: props.description,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      filename: asset.path,
      sourceCodeHash: asset.assetHash,
      role: role.arn,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? 30,
      reservedConcurrentExecutions: props.reservedConcurrency,
      loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
      tracingConfig: { mode: props.tracing ? "Active" : "PassThrough" },
      environment: { variables: terraformLiterals({ NODE_OPTIONS: "--enable-source-maps", ...props.environment }) },
      // Never invoked before it may write its logs and do its work.
      dependsOn: [logGroup, rolePolicy],
    });
    const alarm = (metricName: string, what: string) =>
      failureAlarm(this, `${metricName.toLowerCase()}-alarm`, {
        provider,
        alarmName: `${name}-${metricName.toLowerCase()}`,
        description: `flowtap: ${name} ${what} (its logs say why)`,
        namespace: "AWS/Lambda",
        metricName,
        dimensions: { FunctionName: lambda.functionName },
        statistic: "Sum",
        comparison: "atLeast",
        threshold: 1,
        alarmTopicArn: props.alarmTopicArn,
      });
    alarm("Errors", "failed an invocation");
    if (props.reservedConcurrency !== undefined) alarm("Throttles", "was throttled at its reserved concurrency");
    new LambdaFunctionEventInvokeConfig(this, "async", {
      provider,
      functionName: lambda.functionName,
      maximumRetryAttempts: asyncRetryAttempts,
      destinationConfig: { onFailure: { destination: failureQueue.queueArn } },
    });

    this.functionName = lambda.functionName;
    this.functionArn = lambda.arn;
    this.roleName = role.name;
    this.roleArn = role.arn;
    this.logGroupName = logGroup.name;
    this.failureQueueArn = failureQueue.queueArn;
    this.failureQueueUrl = failureQueue.queueUrl;
  }

  /**
   * Invokes the function from an EventBridge rule (on the default bus unless told). EventBridge retries
   * delivery for a day; what it still cannot deliver goes to the failure queue.
   */
  public addTrigger(props: NodejsFunctionTriggerProps): CloudwatchEventRule {
    if ((props.eventPattern === undefined) === (props.scheduleExpression === undefined)) {
      throw new Error(`trigger "${props.name}": give exactly one of eventPattern and scheduleExpression`);
    }
    const ruleName = `${this.baseName}-${props.name}`;
    if (!Token.isUnresolved(ruleName) && ruleName.length > 64) {
      throw new Error(`trigger "${props.name}": its rule name ${ruleName} is ${ruleName.length} characters, over EventBridge's 64; give the trigger a shorter name`);
    }
    const provider = this.provider;
    const rule = new CloudwatchEventRule(this, `${props.name}-rule`, {
      provider,
      name: ruleName,
      description: props.description,
      eventBusName: props.eventBusName,
      eventPattern: typeof props.eventPattern === "object" ? terraformJson(props.eventPattern) : props.eventPattern,
      scheduleExpression: props.scheduleExpression,
    });
    new CloudwatchEventTarget(this, `${props.name}-target`, {
      provider,
      rule: rule.name,
      eventBusName: props.eventBusName,
      arn: this.functionArn,
      retryPolicy: EVENT_DELIVERY_RETRY,
      deadLetterConfig: { arn: this.failureQueueArn },
    });
    this.failureQueue.allowEventBridgeRule(rule.arn);
    new LambdaPermission(this, `${props.name}-permission`, {
      provider,
      functionName: this.functionName,
      action: "lambda:InvokeFunction",
      principal: "events.amazonaws.com",
      sourceArn: rule.arn,
    });
    const { partition, region } = awsContext(this, provider);
    const foreignRule = `arn:${partition}:events:${region}:${FOREIGN_ACCOUNT_ID}:rule/${this.baseName}-${props.name}`;
    declareRuntimeCalls(this, [
      { principal: "events.amazonaws.com", action: "lambda:InvokeFunction", resource: this.functionArn, context: { "aws:SourceArn": rule.arn }, reason: `rule ${props.name} invokes the function` },
      { principal: "events.amazonaws.com", action: "lambda:InvokeFunction", resource: this.functionArn, context: { "aws:SourceArn": foreignRule }, expect: "Denied", reason: "a rule of the same name in another account" },
      { principal: "events.amazonaws.com", action: "sqs:SendMessage", resource: this.failureQueueArn, context: { "aws:SourceArn": rule.arn }, reason: `EventBridge keeps what rule ${props.name} could not deliver` },
      { principal: "events.amazonaws.com", action: "sqs:SendMessage", resource: this.failureQueueArn, context: { "aws:SourceArn": foreignRule }, expect: "Denied", reason: "a rule of another account" },
    ]);
    return rule;
  }
}
