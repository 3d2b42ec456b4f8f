import type { TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import { AthenaNamedQuery } from "@cdktf/provider-aws/lib/athena-named-query";
import { AthenaWorkgroup } from "@cdktf/provider-aws/lib/athena-workgroup";
import { GlueCatalogDatabase } from "@cdktf/provider-aws/lib/glue-catalog-database";
import { GlueCatalogTable } from "@cdktf/provider-aws/lib/glue-catalog-table";
import { ATHENA, NAMED_QUERIES } from "../functions/lib/flowlogs/queries";
import { ENRICHED_COLUMNS, hiveType } from "../functions/lib/flowlogs/schema";
import { SecureBucket } from "./secure-bucket";

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

/**
 * Enriched flow logs made queryable with Athena: a Glue table whose columns are the engine's
 * schema (schema.ts), over gzip'd JSON lines partitioned by account and date (found by partition
 * projection, so no crawler and no partition to add), and a workgroup that enforces encrypted
 * results in its own bucket and a per-query scan limit, carrying the named queries `flowtap
 * query` runs locally.
 */
export class FlowsQuery extends Construct {
  public readonly databaseName: string;
  public readonly tableName: string;
  public readonly workgroupName: string;

  constructor(scope: Construct, id: string, props: FlowsQueryProps) {
    super(scope, id);
    const provider = props.provider;
    const database = new GlueCatalogDatabase(this, "database", { provider, name: props.databaseName, description: "flowtap: enriched VPC flow logs" });
    const location = `s3://${props.dataBucketName}/${props.dataPrefix}`;
    const table = new GlueCatalogTable(this, "flows", {
      provider,
      databaseName: database.name,
      name: "flows",
      description: "Enriched VPC flow log records, one JSON object per line (flowtap's enriched record)",
      tableType: "EXTERNAL_TABLE",
      parameters: {
        EXTERNAL: "TRUE",
        classification: "json",
        compressionType: "gzip",
        "projection.enabled": "true",
        "projection.account_id.type": "enum",
        "projection.account_id.values": props.accountIds.join(","),
        "projection.date.type": "date",
        "projection.date.format": DATE_FORMAT,
        "projection.date.range": `${props.firstDate ?? "2024-01-01"},NOW`,
        "projection.date.interval": "1",
        "projection.date.interval.unit": "DAYS",
        // `$${` is a literal `${` for Terraform: Athena fills these in.
        "storage.location.template": `${location}account_id=$\${account_id}/date=$\${date}/`,
      },
      partitionKeys: [
        { name: "account_id", type: "string", comment: "The account whose flow logs these are" },
        { name: "date", type: "string", comment: `The capture window's start date (UTC, ${DATE_FORMAT})` },
      ],
      storageDescriptor: {
        location,
        inputFormat: "org.apache.hadoop.mapred.TextInputFormat",
        outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        serDeInfo: {
          name: "json",
          serializationLibrary: "org.openx.data.jsonserde.JsonSerDe",
          // The records' keys are PascalCase; Glue's columns are lower case.
          parameters: { "case.insensitive": "true", "ignore.malformed.json": "false" },
        },
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
        query: query.sql(ATHENA),
      });
    }
    this.databaseName = database.name;
    this.tableName = table.name;
    this.workgroupName = workgroup.name;
  }
}
