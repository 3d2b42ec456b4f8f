import type { TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import * as path from "node:path";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchLogStream } from "@cdktf/provider-aws/lib/cloudwatch-log-stream";
import { KinesisFirehoseDeliveryStream } from "@cdktf/provider-aws/lib/kinesis-firehose-delivery-stream";
import { VPC_FLOW_LOG_FORMAT } from "../functions/lib/flowlogs/format";
import { firehoseDeliveryAlarms } from "./alarm-topic";
import { awsContext } from "./aws-context";
import { NodejsFunction } from "./nodejs-function";
import { FlowsQuery } from "./flows-query";
import { SecureBucket } from "./secure-bucket";
import { EXAMPLE_IDS, firehoseDeliveryCalls } from "./runtime-calls";
import { ServiceRole } from "./service-role";
import { vpcFlowLogs } from "./vpc-flow-logs";

export interface FlowLogSgEnrichmentProps extends Pick<TerraformMetaArguments, "provider"> {
  /** The VPCs whose flow logs are enriched; one flow log each. */
  readonly vpcIds: string[];
  /** ALL, ACCEPT or REJECT. @default "ALL" */
  readonly trafficType?: string;
  /** Days before enriched objects move to S3 Intelligent-Tiering. @default 0 - from the start */
  readonly intelligentTieringDays?: number;
  /** Days before enriched objects and failed records are deleted. @default 400 */
  readonly expirationDays?: number;
  /** Seconds Firehose buffers before writing an object (60-900). @default 300 */
  readonly bufferingSeconds?: number;
  /** Seconds the function trusts an EC2 lookup. @default 300 */
  readonly lookupTtlSeconds?: number;
  /** Bytes one Athena query may scan. @default 107374182400 - 100 GiB */
  readonly queryScanLimitBytes?: number;
  /** Retention of the function's and Firehose's logs. @default 30 */
  readonly logRetentionDays?: number;
  /** The topic its alarms notify (an `AlarmTopic` of the same region). */
  readonly alarmTopicArn: string;
  /** @default "flowtap-flow-log-sg-enrichment" */
  readonly namePrefix?: string;
}

const FUNCTION_ENTRY = path.join(__dirname, "..", "functions", "flow-log-sg-enrichment", "handler.ts");
/** Where enriched records go, partitioned Hive-style by the keys the function returns. */
export const DATA_PREFIX = "flow-logs/";
export const ENRICHED_PREFIX = "flow-logs/account_id=!{partitionKeyFromLambda:account_id}/date=!{partitionKeyFromLambda:date}/";
/** Where Firehose puts records the function failed (their original data) and objects it could not write. */
export const FAILED_PREFIX = "errors/";
export const ERROR_PREFIX = `${FAILED_PREFIX}!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/`;

/**
 * VPC flow logs delivered straight to a Firehose stream whose transformation function enriches
 * each record (ENI, resource, tags, security groups and the rules that admitted the flow) on its
 * way to an encrypted, TLS-only, private S3 bucket, partitioned by account and date, gzip'd, and
 * queryable with Athena (the named queries of `flowtap query`). Records the function cannot enrich
 * are kept, untouched, under `errors/`.
 */
export class FlowLogSgEnrichment extends Construct {
  /** The bucket holding enriched records. */
  public readonly bucketName: string;
  public readonly bucketArn: string;
  /** The Firehose stream the flow logs deliver to. */
  public readonly deliveryStreamName: string;
  public readonly deliveryStreamArn: string;
  /** The transformation function. */
  public readonly functionName: string;
  /** The Glue database and Athena workgroup over the enriched records. */
  public readonly databaseName: string;
  public readonly workgroupName: string;

  constructor(scope: Construct, id: string, props: FlowLogSgEnrichmentProps) {
    super(scope, id);
    const provider = props.provider;
    const prefix = props.namePrefix ?? "flowtap-flow-log-sg-enrichment";
    const retention = props.logRetentionDays ?? 30;
    const { region, account } = awsContext(this, provider);

    const bucket = new SecureBucket(this, "bucket", {
      provider,
      bucketName: `flowtap-flow-logs-${account}-${region}`,
      lifecycleRules: [
        { id: "enriched", prefix: DATA_PREFIX, intelligentTieringDays: props.intelligentTieringDays ?? 0, expirationDays: props.expirationDays ?? 400 },
        { id: "failed-records", prefix: FAILED_PREFIX, expirationDays: props.expirationDays ?? 400 },
      ],
    });

    const enricher = new NodejsFunction(this, "enricher", {
      provider,
      functionName: prefix,
      alarmTopicArn: props.alarmTopicArn,
      // IAM names are global to the account, and the stack is applied in each of its regions.
      roleName: `${prefix}-${region}`,
      entry: FUNCTION_ENTRY,
      description: "Firehose transformation: enriches VPC flow log records with ENIs, resources and security group rules",
      memorySize: 1024,
      // Firehose waits up to 5 minutes for a transformation.
      timeout: 120,
      logRetentionDays: retention,
      environment: {
        FLOW_LOG_FORMAT: VPC_FLOW_LOG_FORMAT,
        LOOKUP_TTL_SECONDS: String(props.lookupTtlSeconds ?? 300),
        POWERTOOLS_SERVICE_NAME: prefix,
        POWERTOOLS_METRICS_NAMESPACE: "flowtap",
      },
      policyStatements: [
        // Describe calls take no resource-level permissions.
        { sid: "LookUpInterfacesAndGroups", actions: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances"], resources: ["*"] },
      ],
      calls: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances"].map((action) => ({
        action,
        resource: "*",
        reason: "what each end of a flow is, and the rules that admitted it",
      })),
    });

    const deliveryLogs = new CloudwatchLogGroup(this, "delivery-logs", { provider, name: `/aws/kinesisfirehose/${prefix}`, retentionInDays: retention });
    const deliveryLogStream = new CloudwatchLogStream(this, "delivery-log-stream", { provider, logGroupName: deliveryLogs.name, name: "DestinationDelivery" });

    const role = new ServiceRole(this, "delivery-role", {
      provider,
      roleName: `${prefix}-delivery-${region}`,
      service: "firehose.amazonaws.com",
      policyName: "deliver",
      statements: [
        {
          sid: "WriteObjects",
          actions: ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"],
          resources: [bucket.bucketArn, `${bucket.bucketArn}/${DATA_PREFIX}*`, `${bucket.bucketArn}/${FAILED_PREFIX}*`],
        },
        { sid: "Transform", actions: ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"], resources: [enricher.functionArn, `${enricher.functionArn}:*`] },
        { sid: "LogDeliveryErrors", actions: ["logs:PutLogEvents"], resources: [`${deliveryLogs.arn}:log-stream:*`] },
      ],
      calls: [
        ...firehoseDeliveryCalls({
          bucketArn: bucket.bucketArn,
          objectKeys: [
            `${DATA_PREFIX}account_id=${account}/date=2026-12-07/${prefix}-1-2026-12-07-00-00-00-0123.json.gz`,
            `${FAILED_PREFIX}processing-failed/date=2026-12-07/${prefix}-1-2026-12-07-00-00-00-0123`,
          ],
          foreignKey: `athena/${EXAMPLE_IDS.ecsTask}.csv`,
          logStreamArn: `${deliveryLogs.arn}:log-stream:DestinationDelivery`,
        }),
        ...["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"].map((action) => ({
          action,
          resource: `${enricher.functionArn}:$LATEST`,
          reason: "Firehose transforms each batch with the enrichment function",
        })),
      ],
    });

    const stream = new KinesisFirehoseDeliveryStream(this, "stream", {
      provider,
      name: prefix,
      destination: "extended_s3",
      serverSideEncryption: { enabled: true, keyType: "AWS_OWNED_CMK" },
      // VPC Flow Logs delivers through its service-linked role, which may write only to streams tagged so.
      tags: { LogDeliveryEnabled: "true" },
      extendedS3Configuration: {
        roleArn: role.roleArn,
        bucketArn: bucket.bucketArn,
        prefix: ENRICHED_PREFIX,
        errorOutputPrefix: ERROR_PREFIX,
        compressionFormat: "GZIP",
        fileExtension: ".json.gz",
        // Dynamic partitioning needs a buffer of at least 64 MiB.
        bufferingSize: 64,
        bufferingInterval: props.bufferingSeconds ?? 300,
        dynamicPartitioningConfiguration: { enabled: true, retryDuration: 300 },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: "Lambda",
              parameters: [
                { parameterName: "LambdaArn", parameterValue: `${enricher.functionArn}:$LATEST` },
                // Enrichment makes a record about ten times larger: small input batches keep the answer under Lambda's 6 MiB.
                { parameterName: "BufferSizeInMBs", parameterValue: "0.2" },
                { parameterName: "BufferIntervalInSeconds", parameterValue: "60" },
                { parameterName: "NumberOfRetries", parameterValue: "3" },
              ],
            },
          ],
        },
        cloudwatchLoggingOptions: { enabled: true, logGroupName: deliveryLogs.name, logStreamName: deliveryLogStream.name },
      },
    });

    firehoseDeliveryAlarms(this, {
      provider,
      streamName: prefix,
      streamNameValue: stream.name,
      errorPrefix: FAILED_PREFIX,
      alarmTopicArn: props.alarmTopicArn,
      failures: [{ metricName: "ExecuteProcessing.Success", statistic: "Minimum", comparison: "below", what: "could not enrich records with its function" }],
    });
    vpcFlowLogs(this, {
      provider,
      vpcIds: props.vpcIds,
      trafficType: props.trafficType,
      logDestinationType: "kinesis-data-firehose",
      logDestination: stream.arn,
      namePrefix: prefix,
    });

    const query = new FlowsQuery(this, "query", {
      provider,
      databaseName: prefix.replaceAll("-", "_"),
      workgroupName: prefix,
      dataBucketName: bucket.bucketName,
      dataPrefix: DATA_PREFIX,
      accountIds: [account],
      resultsBucketName: `flowtap-athena-results-${account}-${region}`,
      bytesScannedCutoffPerQuery: props.queryScanLimitBytes,
    });

    this.databaseName = query.databaseName;
    this.workgroupName = query.workgroupName;
    this.bucketName = bucket.bucketName;
    this.bucketArn = bucket.bucketArn;
    this.deliveryStreamName = stream.name;
    this.deliveryStreamArn = stream.arn;
    this.functionName = enricher.functionName;
  }
}
