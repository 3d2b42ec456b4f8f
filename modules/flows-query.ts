import type { TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import { AthenaNamedQuery } from "@cdktf/provider-aws/lib/athena-named-query";
import { AthenaWorkgroup } from "@cdktf/provider-aws/lib/athena-workgroup";
import { GlueCatalogDatabase } from "@cdktf/provider-aws/lib/glue-catalog-database";
import { GlueCatalogTable } from "@cdktf/provider-aws/lib/glue-catalog-table";
import { ATHENA, NAMED_QUERIES } from "../functions/lib/flowlogs/queries";
import { ENRICHED_COLUMNS, hiveType } from "../functions/lib/flowlogs/schema";
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
}

/** The date partitions' format, as Athena's partition projection and the writers' prefixes spell it. */
const DATE_FORMAT = "yyyy-MM-dd";

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
 * query` runs locally.
 */
export class FlowsQuery extends Construct {
  public readonly databaseName: string;
  public readonly tableName: string;
  public readonly tableArn: string;
  public readonly databaseArn: string;
  public readonly workgroupName: string;

  constructor(scope: Construct, id: string, props: FlowsQueryProps) {
    super(scope, id);
    const provider = props.provider;
    const database = new GlueCatalogDatabase(this, "database", { provider, name: props.databaseName, description: "flowtap: enriched VPC flow logs" });
    const location = `s3://${props.dataBucketName}/${props.dataPrefix}`;
    const storage = STORAGE[props.dataFormat ?? "json"];
    const regions = props.regions;
    // Athena fills in the projected partitions' `${…}`.
    const template = terraformLiteral(`${location}account_id=\${account_id}/${regions ? "region=${region}/" : ""}date=\${date}/`);
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
        "projection.account_id.values": [...props.accountIds, "unknown"].join(","),
        ...(regions ? { "projection.region.type": "enum", "projection.region.values": regions.join(",") } : {}),
        "projection.date.type": "date",
        "projection.date.format": DATE_FORMAT,
        "projection.date.range": `${props.firstDate ?? "2024-01-01"},NOW`,
        "projection.date.interval": "1",
        "projection.date.interval.unit": "DAYS",
        "storage.location.template": template,
      },
      partitionKeys: [
        { name: "account_id", type: "string", comment: "The account whose flow logs these are" },
        ...(regions ? [{ name: "region", type: "string", comment: "The region whose flow logs these are" }] : []),
        { name: "date", type: "string", comment: `The capture window's start date (UTC, ${DATE_FORMAT})` },
      ],
      storageDescriptor: {
        location,
        inputFormat: storage.inputFormat,
        outputFormat: storage.outputFormat,
        serDeInfo: storage.serDeInfo,
        columns: ENRICHED_COLUMNS.map((c) => ({ name: c.name.toLowerCase(), type: hiveType(c.type), comment: c.comment })),
      },
    });

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
    for (const query of NAMED_QUERIES) {
      const parameters = Object.entries(query.parameters).map(([name, meaning]) => `${name} (${meaning})`);
      new AthenaNamedQuery(this, `query-${query.name}`, {
        provider,
        name: `flowtap-${query.name}`,
        description: `${query.description}${parameters.length > 0 ? `; EXECUTE … USING ${parameters.join(", ")}` : ""}`.slice(0, 1024),
        database: database.name,
        workgroup: workgroup.name,
        query: terraformLiteral(query.sql(ATHENA)),
      });
    }
    this.databaseName = database.name;
    this.tableName = table.name;
    this.tableArn = table.arn;
    this.databaseArn = database.arn;
    this.workgroupName = workgroup.name;
  }
}
