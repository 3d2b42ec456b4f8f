import { parseLogFormat, VPC_FLOW_LOG_FORMAT } from "../functions/lib/flowlogs/format";
import { athenaSql, NAMED_QUERIES } from "../functions/lib/flowlogs/queries";
import { ENRICHED_COLUMNS, SIDE_COLUMNS } from "../functions/lib/flowlogs/schema";
import { ENRICHED_PREFIX, ERROR_PREFIX } from "../modules/flow-log-sg-enrichment";
import { exampleOrg, policyAt, resourceAt, synthAll } from "./helpers/synth";

/** A string as Terraform reads it from JSON: `$${` is a literal `${`. */
const asTerraformReadsIt = (text: string) => text.replaceAll("$${", "${");

describe("flow-log-sg-enrichment stack", () => {
  const stack = synthAll(exampleOrg).get("flow-log-sg-enrichment")!;
  const stream = resourceAt(stack, "aws_kinesis_firehose_delivery_stream", "enrichment/stream");
  const fn = resourceAt(stack, "aws_lambda_function", "enrichment/enricher/function");

  it("takes each workspace's VPCs and settings from the config, with defaults", () => {
    expect(stack.workspaces).toEqual({
      "333333333333-us-east-1": expect.objectContaining({
        vpc_ids: ["vpc-0abc1234def567890", "vpc-0abc1234def567891"],
        traffic_type: "ALL",
        intelligent_tiering_days: 0,
        expiration_days: 400,
        buffering_seconds: 300,
        lookup_ttl_seconds: 300,
        query_scan_limit_bytes: 100 * 1024 ** 3,
        log_retention_days: 30,
      }),
    });
  });

  it("creates one flow log per VPC, straight to Firehose, with every VPC flow log field in a format the function reads back", () => {
    const flowLog = resourceAt(stack, "aws_flow_log", "enrichment/flow-log");
    expect(flowLog).toMatchObject({
      for_each: "${toset(local.workspace.vpc_ids)}",
      vpc_id: "${each.value}",
      traffic_type: "${local.workspace.traffic_type}",
      log_destination_type: "kinesis-data-firehose",
      log_destination: expect.stringMatching(/^\$\{aws_kinesis_firehose_delivery_stream\.enrichment_stream_[0-9A-F]+\.arn\}$/),
      max_aggregation_interval: 60,
    });
    const format = parseLogFormat(asTerraformReadsIt(flowLog.log_format));
    const expected = parseLogFormat(VPC_FLOW_LOG_FORMAT);
    expect(format).toEqual(expected);
    expect(format.ok && format.fields).toEqual(expect.arrayContaining(["tcp-flags", "pkt-srcaddr", "flow-direction", "ecs-task-arn", "reject-reason"]));
    expect(asTerraformReadsIt(fn.environment.variables.FLOW_LOG_FORMAT)).toBe(asTerraformReadsIt(flowLog.log_format));
  });

  it("delivers to S3 through the transformation function, in small input batches, gzip'd and partitioned by account and date", () => {
    expect(stream).toMatchObject({
      destination: "extended_s3",
      server_side_encryption: { enabled: true, key_type: "AWS_OWNED_CMK" },
      tags: { LogDeliveryEnabled: "true" },
    });
    expect(stream.extended_s3_configuration).toMatchObject({
      prefix: ENRICHED_PREFIX,
      error_output_prefix: ERROR_PREFIX,
      compression_format: "GZIP",
      buffering_size: 64,
      buffering_interval: "${local.workspace.buffering_seconds}",
      dynamic_partitioning_configuration: { enabled: true },
      cloudwatch_logging_options: { enabled: true },
    });
    expect(ENRICHED_PREFIX).toContain("!{partitionKeyFromLambda:account_id}");
    expect(ENRICHED_PREFIX).toContain("!{partitionKeyFromLambda:date}");
    const [processor] = stream.extended_s3_configuration.processing_configuration.processors;
    expect(processor.type).toBe("Lambda");
    expect(Object.fromEntries(processor.parameters.map((p: { parameter_name: string; parameter_value: string }) => [p.parameter_name, p.parameter_value]))).toEqual({
      LambdaArn: expect.stringMatching(/^\$\{aws_lambda_function\.enrichment_enricher_function_[0-9A-F]+\.arn\}:\$LATEST$/),
      BufferSizeInMBs: "0.2",
      BufferIntervalInSeconds: "60",
      NumberOfRetries: "3",
    });
  });

  it("lets Firehose, and only Firehose of this account, write the bucket and call the function", () => {
    const trust = policyAt(stack, "enrichment/delivery-role/trust").statement[0];
    expect(trust.principals).toEqual([{ type: "Service", identifiers: ["firehose.amazonaws.com"] }]);
    expect(trust.condition).toEqual([{ test: "StringEquals", variable: "aws:SourceAccount", values: [expect.stringMatching(/data\.aws_caller_identity/)] }]);
    const statements = policyAt(stack, "enrichment/delivery-role/permissions").statement as { sid: string; actions: string[]; resources: string[] }[];
    expect(statements.map((s) => s.sid)).toEqual(["WriteObjects", "Transform", "LogDeliveryErrors"]);
    expect(statements[0].resources).toEqual([expect.stringMatching(/aws_s3_bucket\.enrichment_bucket_[0-9A-F]+\.arn\}$/), expect.stringMatching(/\.arn\}\/flow-logs\/\*$/), expect.stringMatching(/\.arn\}\/errors\/\*$/)]);
    expect(statements[1].resources.every((r) => r.includes("aws_lambda_function.enrichment_enricher_function"))).toBe(true);
  });

  it("lets the function only describe ENIs, security groups and instances", () => {
    const statements = policyAt(stack, "enrichment/enricher/permissions").statement as { sid?: string; actions: string[] }[];
    const own = statements.filter((s) => s.sid === "LookUpInterfacesAndGroups");
    expect(own).toEqual([expect.objectContaining({ actions: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances"], resources: ["*"] })]);
    expect(fn.timeout).toBeLessThanOrEqual(300);
  });

  it("keeps enriched objects in Intelligent-Tiering and deletes them, and failed records, after the configured days", () => {
    const lifecycle = resourceAt(stack, "aws_s3_bucket_lifecycle_configuration", "enrichment/bucket/lifecycle");
    expect(lifecycle.rule).toEqual([
      expect.objectContaining({ id: "abort-incomplete-uploads", abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }] }),
      expect.objectContaining({
        id: "enriched",
        filter: [{ prefix: "flow-logs/" }],
        transition: [{ days: "${local.workspace.intelligent_tiering_days}", storage_class: "INTELLIGENT_TIERING" }],
        expiration: [{ days: "${local.workspace.expiration_days}" }],
      }),
      expect.objectContaining({ id: "failed-records", filter: [{ prefix: "errors/" }], expiration: [{ days: "${local.workspace.expiration_days}" }] }),
    ]);
    expect(resourceAt(stack, "aws_s3_bucket", "enrichment/bucket").bucket).toMatch(/^flowtap-flow-logs-\$\{data\.aws_caller_identity\..+\}-\$\{data\.aws_region\..+\}$/);
  });

  it("makes the records an Athena table whose columns are the engine's schema, partitions found by projection", () => {
    const table = resourceAt(stack, "aws_glue_catalog_table", "enrichment/query/flows");
    const columns = table.storage_descriptor.columns as { name: string; type: string }[];
    expect(columns.map((c) => c.name)).toEqual(ENRICHED_COLUMNS.map((c) => c.name.toLowerCase()));
    expect(columns.find((c) => c.name === "start")?.type).toBe("bigint");
    expect(columns.find((c) => c.name === "client")?.type).toBe(`struct<${SIDE_COLUMNS.map((c) => `${c.name.toLowerCase()}:${{ int: "int", string: "string", boolean: "boolean", "string-array": "array<string>", "string-map": "map<string,string>" }[c.type as string]}`).join(",")}>`);
    expect(table.partition_keys.map((k: { name: string }) => k.name)).toEqual(["account_id", "date"]);
    expect(table.storage_descriptor.ser_de_info.serialization_library).toBe("org.openx.data.jsonserde.JsonSerDe");
    expect(table.parameters).toMatchObject({
      "projection.enabled": "true",
      "projection.date.format": "yyyy-MM-dd",
      // The same layout the stream writes: flow-logs/account_id=…/date=…/.
      "storage.location.template": expect.stringMatching(/\/flow-logs\/account_id=\$\$\{account_id\}\/date=\$\$\{date\}\/$/),
    });
  });

  it("carries the named queries of flowtap query, in Athena's dialect, in a workgroup that encrypts results and caps each scan", () => {
    const workgroup = resourceAt(stack, "aws_athena_workgroup", "enrichment/query/workgroup");
    expect(workgroup.configuration).toMatchObject({
      enforce_workgroup_configuration: true,
      bytes_scanned_cutoff_per_query: "${local.workspace.query_scan_limit_bytes}",
      result_configuration: { encryption_configuration: { encryption_option: "SSE_S3" } },
    });
    const queries = Object.values(stack.tf.resource.aws_athena_named_query) as { name: string; query: string }[];
    expect(queries.map((q) => q.name).sort()).toEqual(NAMED_QUERIES.map((q) => `flowtap-${q.name}`).sort());
    for (const q of NAMED_QUERIES) expect(queries.find((x) => x.name === `flowtap-${q.name}`)?.query).toBe(athenaSql(q).sql);
  });
});
