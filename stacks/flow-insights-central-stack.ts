import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import * as path from "node:path";
import { LambdaInvocation } from "@cdktf/provider-aws/lib/lambda-invocation";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { FLOW_INSIGHTS } from "../config/flow-insights";
import { FLOW_INSIGHTS_CENTRAL_STACK } from "../config/rollout-manifest";
import { flowInsightsDefaults, type OrgConfig } from "../config/schema";
import { partitionOf, workspacesWith } from "../config/workspaces";
import { awsContext } from "../modules/aws-context";
import { FlowInsightsRegion } from "../modules/flow-insights-region";
import { FlowsQuery } from "../modules/flows-query";
import { NodejsFunction } from "../modules/nodejs-function";
import { declareRuntimeCalls, FOREIGN_ACCOUNT_ID } from "../modules/runtime-calls";
import { SecureBucket } from "../modules/secure-bucket";
import { terraformJson } from "../modules/terraform-literal";
import { CentralStack } from "./central-stack";

export interface FlowInsightsCentralStackProps {
  readonly config: OrgConfig;
}

/** AWS announces every change of ip-ranges.json on this topic (in us-east-1). */
const IP_SPACE_CHANGED_TOPIC = "arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged";
const DATA_PREFIX = "flow-logs/";
const ERROR_PREFIX = "errors/";
const RECENT_PREFIX = "recent/";
const IP_RANGES_KEY = "ip-ranges/ip-ranges.json";

/**
 * `flow-insights-central`, in the central account: the pipeline of every region where member
 * accounts run flow-insights, and, in the home region, the bucket of enriched records (Parquet,
 * partitioned by account, region and date), its Athena table and named queries, and the copy of
 * AWS's ip-ranges.json kept fresh by AmazonIpSpaceChanged; with recentEnabled, the recent store.
 */
export class FlowInsightsCentralStack extends CentralStack {
  constructor(scope: Construct, props: FlowInsightsCentralStackProps) {
    super(scope, { config: props.config, name: FLOW_INSIGHTS_CENTRAL_STACK });
    const { config } = props;
    const settings = { ...flowInsightsDefaults, ...config.features.flowInsights };
    if (!settings.inventoryExternalId) throw new Error("flow-insights needs features.flowInsights.inventoryExternalId in the org config");
    const workspaces = workspacesWith(config, "flow-insights");
    const regions = [...new Set(workspaces.map((ws) => ws.region))];
    const accountIds = [...new Set(workspaces.map((ws) => ws.accountId))];
    const home = config.central.region;
    const { account } = awsContext(this, this.provider);

    const bucket = new SecureBucket(this, "bucket", {
      provider: this.provider,
      bucketName: `flowtap-flow-insights-${config.central.accountId}-${home}`,
      lifecycleRules: [
        { id: "enriched", prefix: DATA_PREFIX, intelligentTieringDays: settings.intelligentTieringDays, expirationDays: settings.expirationDays },
        { id: "failed-records", prefix: ERROR_PREFIX, expirationDays: settings.expirationDays },
        ...(settings.recentEnabled ? [{ id: "recent", prefix: RECENT_PREFIX, expirationDays: settings.recentRetentionDays }] : []),
      ],
    });
    const query = new FlowsQuery(this, "query", {
      provider: this.provider,
      databaseName: FLOW_INSIGHTS.databaseName,
      workgroupName: FLOW_INSIGHTS.workgroupName,
      dataBucketName: bucket.bucketName,
      dataPrefix: DATA_PREFIX,
      dataFormat: "parquet",
      accountIds,
      regions,
      resultsBucketName: `flowtap-flow-insights-athena-${config.central.accountId}-${home}`,
      bytesScannedCutoffPerQuery: Math.round(settings.queryScanLimitGiB * 1024 ** 3),
      accountIdsAddedAtRuntime: true,
      ...(settings.recentEnabled ? { recentDataPrefix: RECENT_PREFIX, recentRetentionDays: settings.recentRetentionDays } : {}),
    });

    // A new member account's first objects add it to the table's projected accounts: analytics see it without a new apply.
    const catalogArn = `arn:${partitionOf(home)}:glue:${home}:${account}:catalog`;
    const tableResources = [catalogArn, query.databaseArn, query.tableArn];
    const partitions = new NodejsFunction(this, "partitions", {
      provider: this.provider,
      functionName: "flowtap-flow-insights-partitions",
      alarmTopicArn: this.alarmTopicFor(home).topicArn,
      entry: path.join(__dirname, "..", "functions", "flow-insights", "partitions.ts"),
      description: "flowtap: adds a new member account to the flows table's partition projection when its first records land",
      timeout: 60,
      logRetentionDays: settings.logRetentionDays,
      environment: { DATABASE_NAME: query.databaseName, TABLE_NAME: query.tableName, DATA_PREFIX, POWERTOOLS_SERVICE_NAME: "flowtap-flow-insights-partitions", POWERTOOLS_METRICS_NAMESPACE: "flowtap" },
      policyStatements: [{ sid: "ProjectNewAccounts", actions: ["glue:GetTable", "glue:UpdateTable"], resources: tableResources }],
      calls: ["glue:GetTable", "glue:UpdateTable"].flatMap((action) => tableResources.map((resource) => ({ action, resource, reason: "the flows table's projected account ids" }))),
    });
    const notifyPartitions = new LambdaPermission(this, "partitions-notifications", {
      provider: this.provider,
      functionName: partitions.functionName,
      action: "lambda:InvokeFunction",
      principal: "s3.amazonaws.com",
      sourceArn: bucket.bucketArn,
      sourceAccount: account,
    });
    declareRuntimeCalls(this, [
      { principal: "s3.amazonaws.com", action: "lambda:InvokeFunction", resource: partitions.functionArn, context: { "aws:SourceArn": bucket.bucketArn, "aws:SourceAccount": account }, reason: "S3 tells of each new object of enriched records" },
      {
        principal: "s3.amazonaws.com",
        action: "lambda:InvokeFunction",
        resource: partitions.functionArn,
        context: { "aws:SourceArn": "arn:aws:s3:::a-bucket-of-someone-else", "aws:SourceAccount": FOREIGN_ACCOUNT_ID },
        expect: "Denied",
        reason: "another bucket's notifications",
      },
    ]);
    new S3BucketNotification(this, "new-objects", {
      provider: this.provider,
      bucket: bucket.bucketName,
      lambdaFunction: [{ id: "new-accounts", lambdaFunctionArn: partitions.functionArn, events: ["s3:ObjectCreated:*"], filterPrefix: DATA_PREFIX }],
      dependsOn: [notifyPartitions],
    });

    const ipRanges = new NodejsFunction(this, "ip-ranges", {
      provider: this.provider,
      functionName: "flowtap-flow-insights-ip-ranges",
      alarmTopicArn: this.alarmTopicFor(home).topicArn,
      entry: path.join(__dirname, "..", "functions", "flow-insights", "ip-ranges.ts"),
      description: "flowtap: copies AWS's ip-ranges.json when AmazonIpSpaceChanged announces a change",
      timeout: 60,
      logRetentionDays: settings.logRetentionDays,
      environment: { IP_RANGES_BUCKET: bucket.bucketName, IP_RANGES_KEY, POWERTOOLS_SERVICE_NAME: "flowtap-flow-insights-ip-ranges" },
      policyStatements: [{ sid: "WriteTheCopy", actions: ["s3:PutObject"], resources: [`${bucket.bucketArn}/${IP_RANGES_KEY}`] }],
      calls: [
        { action: "s3:PutObject", resource: `${bucket.bucketArn}/${IP_RANGES_KEY}`, reason: "the copy of ip-ranges.json" },
        { action: "s3:PutObject", resource: `${bucket.bucketArn}/${DATA_PREFIX}ip-ranges.json`, expect: "Denied", reason: "the enriched records are not the function's to write" },
      ],
    });
    new LambdaPermission(this, "ip-ranges-announcements", {
      provider: this.provider,
      functionName: ipRanges.functionName,
      action: "lambda:InvokeFunction",
      principal: "sns.amazonaws.com",
      sourceArn: IP_SPACE_CHANGED_TOPIC,
    });
    declareRuntimeCalls(this, [
      { principal: "sns.amazonaws.com", action: "lambda:InvokeFunction", resource: ipRanges.functionArn, context: { "aws:SourceArn": IP_SPACE_CHANGED_TOPIC }, reason: "AWS announces a change of ip-ranges.json" },
      {
        principal: "sns.amazonaws.com",
        action: "lambda:InvokeFunction",
        resource: ipRanges.functionArn,
        context: { "aws:SourceArn": IP_SPACE_CHANGED_TOPIC.replace(/:\d{12}:/, `:${FOREIGN_ACCOUNT_ID}:`) },
        expect: "Denied",
        reason: "a topic of the same name in another account",
      },
    ]);
    new SnsTopicSubscription(this, "ip-ranges-subscription", {
      provider: this.providerFor("us-east-1"),
      topicArn: IP_SPACE_CHANGED_TOPIC,
      protocol: "lambda",
      endpoint: ipRanges.functionArn,
    });
    // The first copy, at deploy: enrichment should not wait for AWS's next change.
    new LambdaInvocation(this, "ip-ranges-first-copy", { provider: this.provider, functionName: ipRanges.functionName, input: terraformJson({ source: "flowtap deploy" }) });

    const busArns: Record<string, string> = {};
    const destinationArns: Record<string, string> = {};
    for (const region of regions) {
      const pipeline = new FlowInsightsRegion(this, `region-${region}`, {
        provider: this.providerFor(region),
        region,
        alarmTopicArn: this.alarmTopicFor(region).topicArn,
        inventoryReservedConcurrency: settings.inventoryReservedConcurrency,
        organizationId: config.organization.id,
        memberAccountIds: [...new Set(workspaces.filter((ws) => ws.region === region).map((ws) => ws.accountId))],
        inventoryExternalId: settings.inventoryExternalId,
        windowSeconds: settings.windowSeconds,
        inventoryRefreshSchedule: settings.inventoryRefreshSchedule,
        inventoryRetentionDays: settings.inventoryRetentionDays,
        logRetentionDays: settings.logRetentionDays,
        bucketName: bucket.bucketName,
        bucketArn: bucket.bucketArn,
        dataPrefix: DATA_PREFIX,
        errorPrefix: ERROR_PREFIX,
        ipRangesKey: IP_RANGES_KEY,
        glue: {
          region: home,
          databaseName: query.databaseName,
          tableName: query.tableName,
          databaseArn: query.databaseArn,
          tableArn: query.tableArn,
          catalogArn,
        },
        ...(settings.recentEnabled
          ? { recentWindowSeconds: settings.recentWindowSeconds, recentDataPrefix: RECENT_PREFIX, recentTableName: query.recentTableName, recentTableArn: query.recentTableArn }
          : {}),
      });
      busArns[region] = pipeline.busArn;
      destinationArns[region] = pipeline.destinationArn;
    }
    new TerraformOutput(this, "bucket_name", { value: bucket.bucketName, description: "Enriched records: flow-logs/account_id=…/region=…/date=…/ (Parquet); failures under errors/." });
    new TerraformOutput(this, "athena_workgroup", { value: query.workgroupName, description: "The Athena workgroup with the flowtap-* named queries over the table flows (and flowtap-recent-* over recent_flows)." });
    if (query.recentTableName) {
      new TerraformOutput(this, "recent_table", {
        value: `${query.databaseName}.${query.recentTableName}`,
        description: "The recent store's table (recentEnabled): the last recentRetentionDays of aggregates, under recent/region=…/hour=…/, queryable about two minutes after they arrive.",
      });
    }
    new TerraformOutput(this, "event_bus_arns", { value: busArns, description: "The event bus member accounts forward inventory events to, by region." });
    new TerraformOutput(this, "logs_destination_arns", { value: destinationArns, description: "The logs destination member flow log groups subscribe to, by region." });
  }
}
