import type { TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import { AthenaNamedQuery } from "@cdktf/provider-aws/lib/athena-named-query";
import { AthenaWorkgroup } from "@cdktf/provider-aws/lib/athena-workgroup";
import { GlueCatalogDatabase } from "@cdktf/provider-aws/lib/glue-catalog-database";
import { GlueCatalogTable, type GlueCatalogTableStorageDescriptor } from "@cdktf/provider-aws/lib/glue-catalog-table";
import { athenaSql, NAMED_QUERIES, RECENT_QUERIES, RECENT_TABLE, type NamedQuery } from "../functions/lib/flowlogs/queries";
import { ENRICHED_COLUMNS, hiveType, PROJECTED_ACCOUNTS } from "../functions/lib/flowlogs/schema";
import { SecureBucket } from "./secure-bucket";
import { terraformLiteral } from "./terraform-literal";

export interface FlowsQueryProps extends Pick<TerraformMetaArguments, "provider"> {
  /** The Glue database (letters, digits and underscores). */
  readonly databaseName: string;
  /** The Athena workgroup; also names the results bucket's prefix. */
  readonly workgroupName: string;
  /** The bucket holding the enriched records. */
  readonly dataBucketName: string;
  /** The prefix under which records sit in `account_id=<id>/date=<yyyy-mm-dd>/` partitions, ending in `/`. */
  readonly dataPrefix: string;
  /** The accounts whose records the bucket holds: the account_id partitions Athena considers. */
  readonly accountIds: string[];
  /** The regions records come from, when the layout has a region partition (`account_id=…/region=…/date=…/`). @default - no region partition */
  readonly regions?: string[];
  /** How records are stored: gzip'd JSON lines, or Parquet. @default "json" */
  readonly dataFormat?: "json" | "parquet";
  /** The results bucket's name. */
  readonly resultsBucketName: string;
  /** Days query results are kept. @default 30 */
  readonly resultsExpirationDays?: number;
  /** Bytes one query may scan before Athena cancels it. @default 107374182400 - 100 GiB */
  readonly bytesScannedCutoffPerQuery?: number;
  /** The first day partitions exist for (yyyy-MM-dd). @default "2024-01-01" */
  readonly firstDate?: string;
  /**
   * The prefix of the recent store, ending in `/`: Parquet under `region=<region>/hour=<yyyy-MM-dd-HH>/`
   * (the hour Firehose received it, UTC), read as the table `recent_flows` with the
   * `flowtap-recent-*` named queries. Needs `regions`.
   * @default - no recent store
   */
  readonly recentDataPrefix?: string;
  /** Days the recent store keeps records: the hours its table projects. @default 2 */
  readonly recentRetentionDays?: number;
  /**
   * True when something adds new accounts to the projected account ids as their records arrive
   * (flow-insights' partitions function): Terraform then leaves that list alone after creating it.
   * @default false - the table projects exactly `accountIds`
   */
  readonly accountIdsAddedAtRuntime?: boolean;
}

/** The date partitions' format, as Athena's partition projection and the writers' prefixes spell it. */
const DATE_FORMAT = "yyyy-MM-dd";
/** The recent store's hour partitions, as Firehose's `!{timestamp:…}` and the projection spell them. */
export const HOUR_FORMAT = "yyyy-MM-dd-HH";

/** How Glue reads each storage format. */
const STORAGE = {
  json: {
    parameters: { classification: "json", compressionType: "gzip" },
    inputFormat: "org.apache.hadoop.mapred.TextInputFormat",
    outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    // The records' keys are PascalCase; Glue's columns are lower case.
    serDeInfo: { name: "json", serializationLibrary: "org.openx.data.jsonserde.JsonSerDe", parameters: { "case.insensitive": "true", "ignore.malformed.json": "false" } },
  },
  parquet: {
    parameters: { classification: "parquet" },
    inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    serDeInfo: { name: "parquet", serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", parameters: { "serialization.format": "1" } },
  },
} as const;

/**
 * Enriched flow logs made queryable with Athena: a Glue table whose columns are the engine's
 * schema (schema.ts), over gzip'd JSON lines or Parquet partitioned by account, (region,) and
 * date (found by partition projection, so no crawler and no partition to add), and a workgroup that enforces encrypted
 * results in its own bucket and a per-query scan limit, carrying the named queries `flowtap
 * query` runs locally; with `recentDataPrefix`, also the recent store's table and its queries.
 */
export class FlowsQuery extends Construct {
  public readonly databaseName: string;
  public readonly tableName: string;
  public readonly tableArn: string;
  /** The recent store's table, when there is one. */
  public readonly recentTableName?: string;
  public readonly recentTableArn?: string;
  public readonly databaseArn: string;
  public readonly workgroupName: string;

  constructor(scope: Construct, id: string, props: FlowsQueryProps) {
    super(scope, id);
    const provider = props.provider;
    const database = new GlueCatalogDatabase(this, "database", { provider, name: props.databaseName, description: "flowtap: enriched VPC flow logs" });
    const location = `s3://${props.dataBucketName}/${props.dataPrefix}`;
    const storage = STORAGE[props.dataFormat ?? "json"];
    const regions = props.regions;
    const columnsAndFormat = {
      inputFormat: storage.inputFormat,
      outputFormat: storage.outputFormat,
      serDeInfo: storage.serDeInfo,
      columns: ENRICHED_COLUMNS.map((c) => ({ name: c.name.toLowerCase(), type: hiveType(c.type), comment: c.comment })),
    };
    const table = new GlueCatalogTable(this, "flows", {
      provider,
      databaseName: database.name,
      name: "flows",
      description: "Enriched VPC flow log records (flowtap's enriched record)",
      tableType: "EXTERNAL_TABLE",
      parameters: {
        EXTERNAL: "TRUE",
        ...storage.parameters,
        "projection.enabled": "true",
        "projection.account_id.type": "enum",
        // Flow logs say "unknown" for ENIs AWS services own in the account; their records are partitioned so.
        [PROJECTED_ACCOUNTS]: [...props.accountIds, "unknown"].join(","),
        ...(regions ? { "projection.region.type": "enum", "projection.region.values": regions.join(",") } : {}),
        "projection.date.type": "date",
        "projection.date.format": DATE_FORMAT,
        "projection.date.range": `${props.firstDate ?? "2024-01-01"},NOW`,
        "projection.date.interval": "1",
        "projection.date.interval.unit": "DAYS",
        // Athena fills in the projected partitions' `${…}`.
        "storage.location.template": terraformLiteral(`${location}account_id=\${account_id}/${regions ? "region=${region}/" : ""}date=\${date}/`),
      },
      partitionKeys: [
        { name: "account_id", type: "string", comment: "The account whose flow logs these are" },
        ...(regions ? [{ name: "region", type: "string", comment: "The region whose flow logs these are" }] : []),
        { name: "date", type: "string", comment: `The capture window's start date (UTC, ${DATE_FORMAT})` },
      ],
      storageDescriptor: { location, ...columnsAndFormat },
      ...(props.accountIdsAddedAtRuntime ? { lifecycle: { ignoreChanges: [`parameters["${PROJECTED_ACCOUNTS}"]`] } } : {}),
    });
    const recentTable = props.recentDataPrefix === undefined ? undefined : this.recentTable(props, database.name, columnsAndFormat);

    const results = new SecureBucket(this, "results", {
      provider,
      bucketName: props.resultsBucketName,
      lifecycleRules: [{ id: "query-results", prefix: "", expirationDays: props.resultsExpirationDays ?? 30 }],
    });
    const workgroup = new AthenaWorkgroup(this, "workgroup", {
      provider,
      name: props.workgroupName,
      description: "flowtap: queries over enriched flow logs",
      configuration: {
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery ?? 100 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: "Athena engine version 3" },
        resultConfiguration: {
          outputLocation: `s3://${results.bucketName}/${props.workgroupName}/`,
          encryptionConfiguration: { encryptionOption: "SSE_S3" },
        },
      },
    });
    const save = (query: NamedQuery, name: string) => {
      const { sql, parameters } = athenaSql(query);
      const using = parameters.map((p) => `${p} (${query.parameters[p]})`);
      new AthenaNamedQuery(this, `query-${name}`, {
        provider,
        name,
        description: `${query.description}${using.length > 0 ? `; EXECUTE … USING ${using.join(", ")}` : ""}`.slice(0, 1024),
        database: database.name,
        workgroup: workgroup.name,
        query: terraformLiteral(sql),
      });
    };
    for (const query of NAMED_QUERIES) save(query, `flowtap-${query.name}`);
    if (recentTable) for (const query of RECENT_QUERIES) save(query, `flowtap-recent-${query.name}`);
    this.databaseName = database.name;
    this.tableName = table.name;
    this.tableArn = table.arn;
    this.recentTableName = recentTable?.name;
    this.recentTableArn = recentTable?.arn;
    this.databaseArn = database.arn;
    this.workgroupName = workgroup.name;
  }

  /** `recent_flows`: the recent store's objects, by region and the hour they arrived, for the hours the store keeps. */
  private recentTable(props: FlowsQueryProps, databaseName: string, columnsAndFormat: GlueCatalogTableStorageDescriptor) {
    if (!props.regions) throw new Error("FlowsQuery: recentDataPrefix needs regions (the recent store is partitioned by region)");
    const location = `s3://${props.dataBucketName}/${props.recentDataPrefix}`;
    return new GlueCatalogTable(this, "recent-flows", {
      provider: props.provider,
      databaseName,
      name: RECENT_TABLE,
      description: "The recent store: the last days' aggregates of enriched flow logs, queryable about two minutes after they arrive",
      tableType: "EXTERNAL_TABLE",
      parameters: {
        EXTERNAL: "TRUE",
        ...STORAGE[props.dataFormat ?? "json"].parameters,
        "projection.enabled": "true",
        "projection.region.type": "enum",
        "projection.region.values": props.regions.join(","),
        "projection.hour.type": "date",
        "projection.hour.format": HOUR_FORMAT,
        // Hours older than the store keeps hold nothing: not projecting them spares Athena the listing.
        "projection.hour.range": `NOW-${props.recentRetentionDays ?? 2}DAYS,NOW`,
        "projection.hour.interval": "1",
        "projection.hour.interval.unit": "HOURS",
        "storage.location.template": terraformLiteral(`${location}region=\${region}/hour=\${hour}/`),
      },
      partitionKeys: [
        { name: "region", type: "string", comment: "The region whose pipeline delivered these" },
        { name: "hour", type: "string", comment: `The hour Firehose received them (UTC, ${HOUR_FORMAT}), never before their window starts` },
      ],
      storageDescriptor: { ...columnsAndFormat, location },
    });
  }
}
