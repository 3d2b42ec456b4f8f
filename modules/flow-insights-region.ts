import type { TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import * as path from "node:path";
import { CloudwatchEventBus } from "@cdktf/provider-aws/lib/cloudwatch-event-bus";
import { CloudwatchEventBusPolicy } from "@cdktf/provider-aws/lib/cloudwatch-event-bus-policy";
import { CloudwatchLogDestination } from "@cdktf/provider-aws/lib/cloudwatch-log-destination";
import { CloudwatchLogDestinationPolicy } from "@cdktf/provider-aws/lib/cloudwatch-log-destination-policy";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchLogStream } from "@cdktf/provider-aws/lib/cloudwatch-log-stream";
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { DynamodbTableItem } from "@cdktf/provider-aws/lib/dynamodb-table-item";
import { KinesisFirehoseDeliveryStream, type KinesisFirehoseDeliveryStreamExtendedS3Configuration } from "@cdktf/provider-aws/lib/kinesis-firehose-delivery-stream";
import { KinesisStream } from "@cdktf/provider-aws/lib/kinesis-stream";
import { LambdaEventSourceMapping } from "@cdktf/provider-aws/lib/lambda-event-source-mapping";
import { FLOW_INSIGHTS } from "../config/flow-insights";
import { VPC_FLOW_LOG_FORMAT } from "../functions/lib/flowlogs/format";
import { MEMBER_ACCOUNTS_KEY, ownershipStoreEnvironment } from "../functions/lib/flowlogs/ownership";
import { firehoseDeliveryAlarms } from "./alarm-topic";
import { HOUR_FORMAT } from "./flows-query";
import { awsContext } from "./aws-context";
import { bundleHandlers } from "./bundle";
import { FORWARDED_EVENT_PATTERNS } from "./flow-insights-member";
import { NodejsFunction } from "./nodejs-function";
import { declareRuntimeCalls, firehoseDeliveryCalls, FOREIGN_ACCOUNT_ID, FOREIGN_ORGANIZATION_ID } from "./runtime-calls";
import { ServiceRole } from "./service-role";
import { terraformJson } from "./terraform-literal";

export interface FlowInsightsRegionProps extends Pick<TerraformMetaArguments, "provider"> {
  /** The provider's region, by name: it names the region's functions and roles (IAM is global). */
  readonly region: string;
  /** The organization's id: only its accounts may put events on the bus or subscribe to the destination. */
  readonly organizationId: string;
  /** The member accounts with flow-insights in this region. */
  readonly memberAccountIds: readonly string[];
  readonly inventoryExternalId: string;
  readonly windowSeconds: number;
  readonly inventoryRefreshSchedule: string;
  readonly inventoryRetentionDays: number;
  readonly logRetentionDays: number;
  /** The central bucket (in the home region) enriched records and the ip-ranges.json copy live in. */
  readonly bucketName: string;
  readonly bucketArn: string;
  /** The prefix records are written under, ending in `/`. */
  readonly dataPrefix: string;
  /** The prefix Firehose writes the records it could not convert or partition under, ending in `/`. */
  readonly errorPrefix: string;
  /** Where the ip-ranges.json copy is, in the bucket. */
  readonly ipRangesKey: string;
  /** The topic its alarms notify (an `AlarmTopic` of the same region). */
  readonly alarmTopicArn: string;
  /** How many instances of the inventory function may run at once: it is fed by the whole organization's events. */
  readonly inventoryReservedConcurrency: number;
  /** The Glue table Firehose converts records to Parquet with, in the home region. */
  readonly glue: { readonly region: string; readonly databaseName: string; readonly tableName: string; readonly databaseArn: string; readonly tableArn: string; readonly catalogArn: string };
  /**
   * The recent store's tumbling window, in seconds: a second enrichment function reads the stream
   * over windows this short and delivers to a Firehose stream of its own, buffered 60 seconds,
   * into `recentDataPrefix`. Needs the other `recent*` props.
   * @default - no recent store
   */
  readonly recentWindowSeconds?: number;
  /** Where the recent store's objects go in the bucket, ending in `/`. @default - no recent store */
  readonly recentDataPrefix?: string;
  /** The recent store's Glue table (in `glue`'s database), whose schema Firehose converts with. @default - no recent store */
  readonly recentTableName?: string;
  readonly recentTableArn?: string;
}

/** How long the recent store's Firehose stream buffers: with the window, how fresh the store is. */
export const RECENT_BUFFER_SECONDS = 60;

/** The settings of one Firehose stream to Parquet. */
interface ParquetDelivery {
  readonly name: string;
  /** The Glue table (in the props' database) whose schema the records are converted with. */
  readonly tableName: string;
  readonly prefix: string;
  readonly errorOutputPrefix: string;
  readonly bufferingSize: number;
  readonly bufferingInterval: number;
  /** Dynamic partitioning and the processor that extracts its keys. @default - partitioned by arrival time alone */
  readonly partitioning?: Pick<KinesisFirehoseDeliveryStreamExtendedS3Configuration, "dynamicPartitioningConfiguration" | "processingConfiguration">;
}

/** The recent store's props, all or none of them. */
function recentStoreOf(props: FlowInsightsRegionProps): { dataPrefix: string; tableName: string; tableArn: string } {
  const { recentDataPrefix: dataPrefix, recentTableName: tableName, recentTableArn: tableArn } = props;
  if (dataPrefix === undefined || tableName === undefined || tableArn === undefined) {
    throw new Error("FlowInsightsRegion: recentWindowSeconds needs recentDataPrefix, recentTableName and recentTableArn");
  }
  return { dataPrefix, tableName, tableArn };
}

const FUNCTIONS_DIR = path.join(__dirname, "..", "functions", "flow-insights");

/** Firehose's JQ for the partition keys of an aggregated record: its account and its window's day. */
const PARTITION_QUERY = '{account_id: (.AccountId // "unknown"), date: ((.Window.Start // .Start) | strftime("%Y-%m-%d"))}';

/**
 * The central pipeline in one region where member accounts run flow-insights: the organization's
 * event bus and inventory (ownership time ranges in DynamoDB, kept by the inventory function from
 * the forwarded events and a scheduled refresh through member roles), the logs destination and
 * Kinesis stream the member flow logs arrive on, the enrichment function that aggregates them
 * over a tumbling window, and Firehose writing Parquet to the central bucket; with
 * `recentWindowSeconds`, the same over short windows into the recent store.
 */
export class FlowInsightsRegion extends Construct {
  public readonly tableName: string;
  public readonly streamName: string;
  public readonly deliveryStreamName: string;
  /** The recent store's Firehose stream, when there is one. */
  public readonly recentDeliveryStreamName?: string;
  public readonly busArn: string;
  public readonly destinationArn: string;

  constructor(scope: Construct, id: string, props: FlowInsightsRegionProps) {
    super(scope, id);
    const provider = props.provider;
    const { partition, account } = awsContext(this, provider);
    const region = props.region;
    const doc = (docId: string, statement: DataAwsIamPolicyDocumentStatement[]) => new DataAwsIamPolicyDocument(this, docId, { provider, statement }).json;
    const orgOnly = [{ test: "StringEquals", variable: "aws:PrincipalOrgID", values: [props.organizationId] }];

    const bus = new CloudwatchEventBus(this, "bus", { provider, name: FLOW_INSIGHTS.busName });
    new CloudwatchEventBusPolicy(this, "bus-policy", {
      provider,
      eventBusName: bus.name,
      policy: doc("bus-permissions", [
        { sid: "OrganizationMembersForward", actions: ["events:PutEvents"], resources: [bus.arn], principals: [{ type: "AWS", identifiers: ["*"] }], condition: orgOnly },
      ]),
    });
    declareRuntimeCalls(this, [{ principal: FOREIGN_ACCOUNT_ID, action: "events:PutEvents", resource: bus.arn, expect: "Denied", reason: "an account outside the organization" }]);

    const table = new DynamodbTable(this, "inventory", {
      provider,
      name: "flowtap-flow-insights-inventory",
      billingMode: "PAY_PER_REQUEST",
      hashKey: "pk",
      rangeKey: "sk",
      attribute: [
        { name: "pk", type: "S" },
        { name: "sk", type: "S" },
      ],
      ttl: { attributeName: "expiresAt", enabled: true },
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
    });
    const tableStatement = (actions: string[]): DataAwsIamPolicyDocumentStatement => ({ sid: "Inventory", actions, resources: [table.arn] });
    const tableCalls = (actions: string[], reason: string) => actions.map((action) => ({ action, resource: table.arn, reason }));
    const memberRole = (memberAccount: string) => `arn:${partition}:iam::${memberAccount}:role/${FLOW_INSIGHTS.memberRoleName(region)}`;

    const inventoryName = FLOW_INSIGHTS.inventoryFunctionName(region);
    const enrichName = FLOW_INSIGHTS.enrichFunctionName(region);
    // One bundle per handler, whatever the number of regions (bundles are keyed by entry): named without a region.
    bundleHandlers([
      { entry: path.join(FUNCTIONS_DIR, "inventory.ts"), name: "flowtap-flow-insights-inventory" },
      { entry: path.join(FUNCTIONS_DIR, "enrich.ts"), name: "flowtap-flow-insights-enrich" },
    ]);
    // The member accounts, as data in the table rather than in the function's environment (4 KB at most).
    new DynamodbTableItem(this, "member-accounts", {
      provider,
      tableName: table.name,
      hashKey: table.hashKey,
      rangeKey: table.rangeKey,
      item: terraformJson({ pk: { S: MEMBER_ACCOUNTS_KEY.pk }, sk: { S: MEMBER_ACCOUNTS_KEY.sk }, accounts: { SS: [...props.memberAccountIds] } }),
    });
    const inventory = new NodejsFunction(this, "inventory-function", {
      provider,
      functionName: inventoryName,
      alarmTopicArn: props.alarmTopicArn,
      reservedConcurrency: props.inventoryReservedConcurrency,
      entry: path.join(FUNCTIONS_DIR, "inventory.ts"),
      description: "flowtap: keeps which ENI held which address when, from member events and scheduled refreshes",
      timeout: 900,
      memorySize: 512,
      logRetentionDays: props.logRetentionDays,
      environment: {
        ...ownershipStoreEnvironment({ tableName: table.name, retentionDays: props.inventoryRetentionDays }),
        MEMBER_ROLE_NAME: FLOW_INSIGHTS.memberRoleName(region),
        EXTERNAL_ID: props.inventoryExternalId,
        PARTITION: partition,
        POWERTOOLS_SERVICE_NAME: "flowtap-flow-insights-inventory",
        POWERTOOLS_METRICS_NAMESPACE: "flowtap",
      },
      policyStatements: [
        tableStatement(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]),
        {
          // Any member's role of this name, in the organization: one statement whatever the number of accounts.
          sid: "ReadMemberInventories",
          actions: ["sts:AssumeRole"],
          resources: [`arn:${partition}:iam::*:role/${FLOW_INSIGHTS.memberRoleName(region)}`],
          condition: [{ test: "StringEquals", variable: "aws:ResourceOrgID", values: [props.organizationId] }],
        },
      ],
      calls: [
        ...tableCalls(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"], "ownership records: who held an address when"),
        { action: "sts:AssumeRole", resource: memberRole(props.memberAccountIds[0]), context: { "sts:ExternalId": props.inventoryExternalId }, reason: "the refresh reads a member account's inventory" },
        {
          action: "sts:AssumeRole",
          resource: memberRole(FOREIGN_ACCOUNT_ID),
          context: { "sts:ExternalId": props.inventoryExternalId, "aws:ResourceOrgID": FOREIGN_ORGANIZATION_ID },
          expect: "Denied",
          reason: "a role of the same name outside the organization",
        },
      ],
    });
    for (const [name, pattern] of Object.entries(FORWARDED_EVENT_PATTERNS)) {
      inventory.addTrigger({ name, description: `flowtap: ${name.replaceAll("-", " ")} forwarded by member accounts`, eventPattern: pattern, eventBusName: bus.name });
    }
    inventory.addTrigger({ name: "refresh", description: "flowtap: describe every member ENI, release the ones gone", scheduleExpression: props.inventoryRefreshSchedule });

    const stream = new KinesisStream(this, "stream", {
      provider,
      name: "flowtap-flow-insights",
      streamModeDetails: { streamMode: "ON_DEMAND" },
      encryptionType: "KMS",
      kmsKeyId: "alias/aws/kinesis",
      retentionPeriod: 24,
    });
    const destinationRole = new ServiceRole(this, "destination-role", {
      provider,
      roleName: `flowtap-flow-insights-destination-${region}`,
      service: "logs.amazonaws.com",
      // CloudWatch Logs delivers for the subscribed log group, in the member's account: only the organization's
      // (listing the accounts would not fit a trust policy in a large organization), only from this region.
      trustConditions: [
        { test: "StringEquals", variable: "aws:SourceOrgID", values: [props.organizationId] },
        { test: "ArnLike", variable: "aws:SourceArn", values: [`arn:${partition}:logs:${region}:*:*`] },
      ],
      assumedWith: { "aws:SourceOrgID": props.organizationId, "aws:SourceArn": `arn:${partition}:logs:${region}:${props.memberAccountIds[0]}:log-group:/flowtap/flow-insights/${region}:*` },
      policyName: "put-on-the-stream",
      statements: [{ sid: "PutRecords", actions: ["kinesis:PutRecord", "kinesis:PutRecords"], resources: [stream.arn] }],
      calls: [
        { action: "kinesis:PutRecords", resource: stream.arn, reason: "the member flow log records, in batches" },
        { action: "kinesis:PutRecord", resource: stream.arn, reason: "CloudWatch Logs' test message when the destination is made" },
      ],
    });
    const destination = new CloudwatchLogDestination(this, "destination", { provider, name: FLOW_INSIGHTS.destinationName, roleArn: destinationRole.roleArn, targetArn: stream.arn });
    new CloudwatchLogDestinationPolicy(this, "destination-access", {
      provider,
      destinationName: destination.name,
      accessPolicy: doc("destination-access-policy", [
        { sid: "OrganizationMembersSubscribe", actions: ["logs:PutSubscriptionFilter"], resources: [destination.arn], principals: [{ type: "AWS", identifiers: ["*"] }], condition: orgOnly },
      ]),
    });
    declareRuntimeCalls(this, [{ principal: FOREIGN_ACCOUNT_ID, action: "logs:PutSubscriptionFilter", resource: destination.arn, expect: "Denied", reason: "an account outside the organization" }]);

    const deliveryLogs = new CloudwatchLogGroup(this, "delivery-logs", { provider, name: `/aws/kinesisfirehose/flowtap-flow-insights-${region}`, retentionInDays: props.logRetentionDays });
    const deliveryLogStream = new CloudwatchLogStream(this, "delivery-log-stream", { provider, logGroupName: deliveryLogs.name, name: "DestinationDelivery" });
    const recent = props.recentWindowSeconds === undefined ? undefined : { windowSeconds: props.recentWindowSeconds, ...recentStoreOf(props) };
    const tables = [props.glue.tableArn, ...(recent ? [recent.tableArn] : [])];
    const deliveryRole = new ServiceRole(this, "delivery-role", {
      provider,
      roleName: `flowtap-flow-insights-delivery-${region}`,
      service: "firehose.amazonaws.com",
      policyName: "deliver",
      statements: [
        {
          sid: "WriteObjects",
          actions: ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"],
          // Failed records go under their own prefix: without it, Firehose is denied, retries and drops them.
          resources: [props.bucketArn, `${props.bucketArn}/${props.dataPrefix}*`, `${props.bucketArn}/${props.errorPrefix}*`, ...(recent ? [`${props.bucketArn}/${recent.dataPrefix}*`] : [])],
        },
        { sid: "ReadTheSchema", actions: ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"], resources: [props.glue.catalogArn, props.glue.databaseArn, ...tables] },
        { sid: "LogDeliveryErrors", actions: ["logs:PutLogEvents"], resources: [`${deliveryLogs.arn}:log-stream:*`] },
      ],
      calls: firehoseDeliveryCalls({
        bucketArn: props.bucketArn,
        objectKeys: [
          `${props.dataPrefix}account_id=${props.memberAccountIds[0]}/region=${region}/date=2026-12-07/flowtap-flow-insights-${region}-1-2026-12-07-00-00-00-0123.parquet`,
          `${props.errorPrefix}format-conversion-failed/region=${region}/date=2026-12-07/flowtap-flow-insights-${region}-1-2026-12-07-00-00-00-0123`,
          ...(recent
            ? [
                `${recent.dataPrefix}region=${region}/hour=2026-12-07-00/flowtap-flow-insights-recent-${region}-1-2026-12-07-00-00-00-0123.parquet`,
                `${props.errorPrefix}recent/format-conversion-failed/region=${region}/date=2026-12-07/flowtap-flow-insights-recent-${region}-1-2026-12-07-00-00-00-0123`,
              ]
            : []),
        ],
        foreignKey: props.ipRangesKey,
        logStreamArn: `${deliveryLogs.arn}:log-stream:DestinationDelivery`,
      }).concat(
        ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"].flatMap((action) =>
          [props.glue.catalogArn, props.glue.databaseArn, ...tables].map((resource) => ({ action, resource, reason: "a Glue table's schema, for the Parquet conversion" })),
        ),
      ),
    });

    /** A Firehose stream converting the enrichment's JSON lines to Parquet with a Glue table's schema, and its alarms. */
    const parquetDelivery = (scope: Construct, delivery: ParquetDelivery) => {
      const stream = new KinesisFirehoseDeliveryStream(scope, "delivery", {
        provider,
        name: delivery.name,
        destination: "extended_s3",
        serverSideEncryption: { enabled: true, keyType: "AWS_OWNED_CMK" },
        extendedS3Configuration: {
          roleArn: deliveryRole.roleArn,
          bucketArn: props.bucketArn,
          prefix: delivery.prefix,
          errorOutputPrefix: delivery.errorOutputPrefix,
          // Parquet compresses its own pages.
          compressionFormat: "UNCOMPRESSED",
          bufferingSize: delivery.bufferingSize,
          bufferingInterval: delivery.bufferingInterval,
          ...delivery.partitioning,
          dataFormatConversionConfiguration: {
            enabled: true,
            inputFormatConfiguration: { deserializer: { openXJsonSerDe: { caseInsensitive: true } } },
            outputFormatConfiguration: { serializer: { parquetSerDe: { compression: "SNAPPY" } } },
            schemaConfiguration: { databaseName: props.glue.databaseName, tableName: delivery.tableName, region: props.glue.region, roleArn: deliveryRole.roleArn },
          },
          cloudwatchLoggingOptions: { enabled: true, logGroupName: deliveryLogs.name, logStreamName: deliveryLogStream.name },
        },
      });
      firehoseDeliveryAlarms(scope, {
        provider,
        streamName: delivery.name,
        streamNameValue: stream.name,
        errorPrefix: props.errorPrefix,
        alarmTopicArn: props.alarmTopicArn,
        failures: [{ metricName: "FailedConversion.Records", statistic: "Sum", comparison: "atLeast", what: "could not convert records to Parquet" }],
      });
      return stream;
    };

    /** An enrichment function on the stream, aggregating over a tumbling window of `windowSeconds` and delivering to `delivery`. */
    const enrichment = (scope: Construct, functionName: string, description: string, delivery: KinesisFirehoseDeliveryStream, windowSeconds: number) => {
      const enrich = new NodejsFunction(scope, "enrich-function", {
        provider,
        functionName,
        alarmTopicArn: props.alarmTopicArn,
        entry: path.join(FUNCTIONS_DIR, "enrich.ts"),
        description,
        timeout: 300,
        memorySize: 1024,
        logRetentionDays: props.logRetentionDays,
        environment: {
          FLOW_LOG_FORMAT: VPC_FLOW_LOG_FORMAT,
          ...ownershipStoreEnvironment({ tableName: table.name, retentionDays: props.inventoryRetentionDays }),
          DELIVERY_STREAM: delivery.name,
          WINDOW_SECONDS: String(windowSeconds),
          IP_RANGES_BUCKET: props.bucketName,
          IP_RANGES_KEY: props.ipRangesKey,
          POWERTOOLS_SERVICE_NAME: functionName.replace(`-${region}`, ""),
          POWERTOOLS_METRICS_NAMESPACE: "flowtap",
        },
        policyStatements: [
          { sid: "ReadTheStream", actions: ["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards"], resources: [stream.arn] },
          tableStatement(["dynamodb:GetItem", "dynamodb:Query"]),
          { sid: "Deliver", actions: ["firehose:PutRecordBatch"], resources: [delivery.arn] },
          { sid: "ReadIpRanges", actions: ["s3:GetObject"], resources: [`${props.bucketArn}/${props.ipRangesKey}`] },
        ],
        calls: [
          ...["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards"].map((action) => ({
            action,
            resource: stream.arn,
            reason: "Lambda's event source mapping reads the stream as the function",
          })),
          ...tableCalls(["dynamodb:GetItem", "dynamodb:Query"], "who held each address at the flow's time"),
          { action: "firehose:PutRecordBatch", resource: delivery.arn, reason: "the window's aggregates" },
          { action: "s3:GetObject", resource: `${props.bucketArn}/${props.ipRangesKey}`, reason: "AWS's ip-ranges.json copy" },
          { action: "s3:GetObject", resource: `${props.bucketArn}/${props.dataPrefix}account_id=${account}/part.parquet`, expect: "Denied", reason: "the enriched records are not the function's to read" },
        ],
      });
      new LambdaEventSourceMapping(scope, "enrich-source", {
        provider,
        functionName: enrich.functionArn,
        eventSourceArn: stream.arn,
        startingPosition: "TRIM_HORIZON",
        batchSize: 1000,
        // Never longer than a tenth of the window, or the window's last records wait for the next batch.
        maximumBatchingWindowInSeconds: Math.min(10, Math.floor(windowSeconds / 10)),
        tumblingWindowInSeconds: windowSeconds,
        functionResponseTypes: ["ReportBatchItemFailures"],
        // A poison record is bisected down to itself, retried, then recorded in the failure queue; the shard moves on.
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 10,
        maximumRecordAgeInSeconds: 86400,
        destinationConfig: { onFailure: { destinationArn: enrich.failureQueueArn } },
      });
    };

    const delivery = parquetDelivery(this, {
      name: `flowtap-flow-insights-${region}`,
      tableName: props.glue.tableName,
      prefix: `${props.dataPrefix}account_id=!{partitionKeyFromQuery:account_id}/region=${region}/date=!{partitionKeyFromQuery:date}/`,
      errorOutputPrefix: `${props.errorPrefix}!{firehose:error-output-type}/region=${region}/date=!{timestamp:yyyy-MM-dd}/`,
      bufferingSize: 128,
      bufferingInterval: 900,
      partitioning: {
        dynamicPartitioningConfiguration: { enabled: true, retryDuration: 300 },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: "MetadataExtraction",
              parameters: [
                { parameterName: "MetadataExtractionQuery", parameterValue: PARTITION_QUERY },
                { parameterName: "JsonParsingEngine", parameterValue: "JQ-1.6" },
              ],
            },
          ],
        },
      },
    });
    enrichment(this, enrichName, "flowtap: enriches member flow logs with what held each address at the time, aggregated over a tumbling window", delivery, props.windowSeconds);

    if (recent) {
      // The same enrichment over short windows, as a second reader of the stream, for the recent store.
      const scope = new Construct(this, "recent");
      const recentName = `flowtap-flow-insights-recent-${region}`;
      const recentDelivery = parquetDelivery(scope, {
        name: recentName,
        tableName: recent.tableName,
        // By arrival, not by the records' content: no dynamic partitioning, whose buffer is per partition.
        prefix: `${recent.dataPrefix}region=${region}/hour=!{timestamp:${HOUR_FORMAT}}/`,
        errorOutputPrefix: `${props.errorPrefix}recent/!{firehose:error-output-type}/region=${region}/date=!{timestamp:yyyy-MM-dd}/`,
        // Firehose's least buffer with Parquet conversion: 64 MiB, and the interval that bounds the store's freshness.
        bufferingSize: 64,
        bufferingInterval: RECENT_BUFFER_SECONDS,
      });
      enrichment(scope, recentName, `flowtap: the same enrichment over ${recent.windowSeconds}-second windows, for the recent store`, recentDelivery, recent.windowSeconds);
      this.recentDeliveryStreamName = recentDelivery.name;
    }
    this.tableName = table.name;
    this.streamName = stream.name;
    this.deliveryStreamName = delivery.name;
    this.busArn = bus.arn;
    this.destinationArn = destination.arn;
  }
}
