import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import type { OrgConfig } from "../config/schema";
import { flowLogSgEnrichmentWorkspaceMap } from "../config/terraform-maps";
import { workspacesWith } from "../config/workspaces";
import { FlowLogSgEnrichment } from "../modules/flow-log-sg-enrichment";
import { MemberStack } from "./member-stack";

export interface FlowLogSgEnrichmentStackProps {
  readonly config: OrgConfig;
  readonly configFile: string;
}

/** `flow-log-sg-enrichment`, per member account and region: VPC flow logs through Firehose, enriched with security groups, to S3. */
export class FlowLogSgEnrichmentStack extends MemberStack {
  constructor(scope: Construct, props: FlowLogSgEnrichmentStackProps) {
    super(scope, { ...props, feature: "flow-log-sg-enrichment", workspaces: flowLogSgEnrichmentWorkspaceMap(workspacesWith(props.config, "flow-log-sg-enrichment")) });
    const enrichment = new FlowLogSgEnrichment(this, "enrichment", {
      provider: this.provider,
      vpcIds: this.listSetting("vpc_ids"),
      alarmTopicArn: this.alarmTopic().topicArn,
      trafficType: this.setting("traffic_type"),
      intelligentTieringDays: this.numberSetting("intelligent_tiering_days"),
      expirationDays: this.numberSetting("expiration_days"),
      bufferingSeconds: this.numberSetting("buffering_seconds"),
      lookupTtlSeconds: this.numberSetting("lookup_ttl_seconds"),
      queryScanLimitBytes: this.numberSetting("query_scan_limit_bytes"),
      logRetentionDays: this.numberSetting("log_retention_days"),
    });
    new TerraformOutput(this, "bucket_name", { value: enrichment.bucketName, description: "The bucket of enriched flow logs: flow-logs/account_id=<id>/date=<yyyy-mm-dd>/, gzip'd JSON lines; records that could not be enriched under errors/." });
    new TerraformOutput(this, "delivery_stream_arn", { value: enrichment.deliveryStreamArn, description: "The Firehose stream the VPC flow logs deliver to." });
    new TerraformOutput(this, "athena_workgroup", { value: enrichment.workgroupName, description: "The Athena workgroup carrying the flowtap-* named queries over the enriched records (table flows)." });
    new TerraformOutput(this, "glue_database", { value: enrichment.databaseName, description: "The Glue database holding the table flows, partitioned by account_id and date." });
    new TerraformOutput(this, "function_name", { value: enrichment.functionName, description: "The transformation function; its logs name every record it could not enrich." });
  }
}
