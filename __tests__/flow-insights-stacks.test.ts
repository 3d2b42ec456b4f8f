import { athenaSql, NAMED_QUERIES, RECENT_QUERIES } from "../functions/lib/flowlogs/queries";
import { ENRICHED_COLUMNS } from "../functions/lib/flowlogs/schema";
import { FORWARDED_EVENT_PATTERNS } from "../modules/flow-insights-member";
import { exampleOrg, policyAt, resourceAt, resourcesOf, synthAll, synthStack } from "./helpers/synth";

const stacks = synthAll(exampleOrg);
const member = stacks.get("flow-insights")!;
const central = stacks.get("flow-insights-central")!;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const values = (synth: typeof member, type: string): any[] => Object.values(resourcesOf(synth, type));

describe("flow-insights member stack", () => {
  it("points each workspace at its region's central bus, logs destination and inventory function", () => {
    expect(member.workspaces["222222222222-eu-west-1"]).toMatchObject({
      vpc_ids: ["vpc-0a1b2c3d4e5f60002"],
      central_bus_arn: "arn:aws:events:eu-west-1:111111111111:event-bus/flowtap-flow-insights",
      logs_destination_arn: "arn:aws:logs:eu-west-1:111111111111:destination:flowtap-flow-insights",
      inventory_function_role_arn: "arn:aws:iam::111111111111:role/flowtap-flow-insights-inventory-eu-west-1-function",
      inventory_role_name: "flowtap-flow-insights-inventory-eu-west-1",
      flow_log_retention_days: 1,
    });
  });

  it("lets only the central inventory function assume its role, and only with the ExternalId, to describe ENIs, groups, instances and tags", () => {
    const trust = policyAt(member, "member/inventory-trust").statement[0];
    expect(trust).toMatchObject({
      principals: [{ type: "AWS", identifiers: ["${local.workspace.inventory_function_role_arn}"] }],
      condition: [{ test: "StringEquals", variable: "sts:ExternalId", values: ["${local.workspace.inventory_external_id}"] }],
    });
    const actions = (policyAt(member, "member/inventory-permissions").statement as { actions: string[] }[]).flatMap((s) => s.actions);
    expect(actions.sort()).toEqual(["ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "tag:GetResources"]);
  });

  it("sends every VPC's flow logs, all fields, through a log group subscribed to the central destination", () => {
    const flowLog = resourceAt(member, "aws_flow_log", "member/flow-log");
    expect(flowLog).toMatchObject({ for_each: "${toset(local.workspace.vpc_ids)}", log_destination_type: "cloud-watch-logs", max_aggregation_interval: 60 });
    expect(flowLog.log_format).toContain("$${pkt-srcaddr}");
    expect(resourceAt(member, "aws_cloudwatch_log_subscription_filter", "member/to-central")).toMatchObject({
      destination_arn: "${local.workspace.logs_destination_arn}",
      filter_pattern: "",
    });
  });

  it("forwards ENI calls, tag changes and instance states to the central bus, keeping what it cannot deliver", () => {
    const rules = values(member, "aws_cloudwatch_event_rule");
    expect(rules.map((r) => JSON.parse(r.event_pattern))).toHaveLength(4);
    expect(rules.map((r) => JSON.parse(r.event_pattern))).toEqual(expect.arrayContaining(Object.values(FORWARDED_EVENT_PATTERNS)));
    // The calls that give an ENI addresses after it was made (EKS pods' secondary IPs, Elastic IPs).
    expect(FORWARDED_EVENT_PATTERNS["eni-calls"]).toMatchObject({ detail: { eventName: expect.arrayContaining(["AssignPrivateIpAddresses", "UnassignPrivateIpAddresses", "AssociateAddress"]) } });
    for (const target of values(member, "aws_cloudwatch_event_target")) {
      expect(target).toMatchObject({ arn: "${local.workspace.central_bus_arn}", dead_letter_config: { arn: expect.stringContaining("aws_sqs_queue") } });
    }
    expect((policyAt(member, "member/forwarding-role/permissions").statement as { actions: string[]; resources: string[] }[])).toEqual([
      expect.objectContaining({ actions: ["events:PutEvents"], resources: ["${local.workspace.central_bus_arn}"] }),
    ]);
  });
});

describe("flow-insights central stack", () => {
  it("admits only the organization to its event buses and logs destinations, in every member region", () => {
    expect(policyAt(central, "region-us-east-1/destination-role/trust").statement[0]).toMatchObject({
      principals: [{ type: "Service", identifiers: ["logs.amazonaws.com"] }],
      condition: [
        { test: "StringEquals", variable: "aws:SourceOrgID", values: ["o-a1b2c3d4e5"] },
        { test: "ArnLike", variable: "aws:SourceArn", values: [expect.stringMatching(/:logs:us-east-1:\*:\*$/)] },
      ],
    });
    expect(values(central, "aws_cloudwatch_event_bus").map((b) => b.provider).sort()).toEqual(["aws", "aws.eu-west-1"]);
    for (const path of ["region-us-east-1/bus-permissions", "region-eu-west-1/destination-access-policy"]) {
      expect(policyAt(central, path).statement[0].condition).toEqual([{ test: "StringEquals", variable: "aws:PrincipalOrgID", values: ["o-a1b2c3d4e5"] }]);
    }
  });

  it("keeps the inventory in a table keyed for ownership time ranges, with ended ones expiring", () => {
    expect(resourceAt(central, "aws_dynamodb_table", "region-us-east-1/inventory")).toMatchObject({
      hash_key: "pk",
      range_key: "sk",
      ttl: { attribute_name: "expiresAt", enabled: true },
      point_in_time_recovery: { enabled: true },
    });
  });

  it("runs the inventory function on the forwarded events and on a schedule, assuming only the member roles of its region", () => {
    const rules = values(central, "aws_cloudwatch_event_rule").filter((r) => r.name.startsWith("flowtap-flow-insights-inventory-us-east-1"));
    const forwarded = rules.filter((r) => r.event_bus_name).map((r) => JSON.parse(r.event_pattern));
    expect(forwarded).toHaveLength(4);
    expect(forwarded).toEqual(expect.arrayContaining(Object.values(FORWARDED_EVENT_PATTERNS)));
    expect(rules.find((r) => r.schedule_expression)?.schedule_expression).toBe("rate(6 hours)");
    const statements = policyAt(central, "region-us-east-1/inventory-function/permissions").statement as { sid?: string; resources: string[]; condition?: unknown }[];
    expect(statements.find((s) => s.sid === "ReadMemberInventories")).toMatchObject({
      resources: [expect.stringMatching(/:iam::\*:role\/flowtap-flow-insights-inventory-us-east-1$/)],
      condition: [{ test: "StringEquals", variable: "aws:ResourceOrgID", values: ["o-a1b2c3d4e5"] }],
    });
    // Which accounts to refresh is data in the table, not the environment: it grows with the organization.
    const accounts = resourceAt(central, "aws_dynamodb_table_item", "region-us-east-1/member-accounts");
    expect(JSON.parse(accounts.item)).toEqual({ pk: { S: "config#accounts" }, sk: { S: "list" }, accounts: { SS: ["222222222222"] } });
  });

  it("enriches from Kinesis over a tumbling window, reporting failed items, bisecting poison batches, and recording what it gives up on", () => {
    expect(resourceAt(central, "aws_kinesis_stream", "region-us-east-1/stream")).toMatchObject({ encryption_type: "KMS", stream_mode_details: { stream_mode: "ON_DEMAND" } });
    expect(resourceAt(central, "aws_cloudwatch_log_destination", "region-us-east-1/destination").target_arn).toMatch(/aws_kinesis_stream/);
    expect(resourceAt(central, "aws_lambda_event_source_mapping", "region-us-east-1/enrich-source")).toMatchObject({
      tumbling_window_in_seconds: 300,
      function_response_types: ["ReportBatchItemFailures"],
      bisect_batch_on_function_error: true,
      destination_config: { on_failure: { destination_arn: expect.stringContaining("aws_sqs_queue") } },
    });
  });

  it("writes Parquet partitioned by account, region and date, converted with the Glue table whose columns are the engine's schema", () => {
    const delivery = resourceAt(central, "aws_kinesis_firehose_delivery_stream", "region-eu-west-1/delivery").extended_s3_configuration;
    expect(delivery.prefix).toBe("flow-logs/account_id=!{partitionKeyFromQuery:account_id}/region=eu-west-1/date=!{partitionKeyFromQuery:date}/");
    expect(delivery.data_format_conversion_configuration).toMatchObject({ enabled: true, output_format_configuration: { serializer: { parquet_ser_de: { compression: "SNAPPY" } } } });
    expect(delivery.data_format_conversion_configuration.schema_configuration.region).toBe("us-east-1");
    const table = resourceAt(central, "aws_glue_catalog_table", "query/flows");
    expect(table.storage_descriptor.columns.map((c: { name: string }) => c.name)).toEqual(ENRICHED_COLUMNS.map((c) => c.name.toLowerCase()));
    expect(table.partition_keys.map((k: { name: string }) => k.name)).toEqual(["account_id", "region", "date"]);
    expect(table.parameters).toMatchObject({ "projection.region.values": "us-east-1,eu-west-1", "projection.account_id.values": "222222222222,unknown" });
    expect(table.storage_descriptor.ser_de_info.serialization_library).toMatch(/ParquetHiveSerDe/);
  });

  it("carries the named queries of flowtap query in its Athena workgroup", () => {
    const queries = values(central, "aws_athena_named_query") as { name: string; query: string }[];
    for (const q of NAMED_QUERIES) expect(queries.find((x) => x.name === `flowtap-${q.name}`)?.query).toBe(athenaSql(q).sql);
  });

  it("lets a new member account into the table's projected accounts as its first objects land, Terraform leaving the list alone once made", () => {
    const table = resourceAt(central, "aws_glue_catalog_table", "query/flows");
    expect(table.lifecycle).toEqual({ ignore_changes: ['parameters["projection.account_id.values"]'] });
    const notification = central.tf.resource.aws_s3_bucket_notification["new-objects"];
    expect(notification.lambda_function).toEqual([
      { id: "new-accounts", lambda_function_arn: expect.stringContaining("partitions"), events: ["s3:ObjectCreated:*"], filter_prefix: "flow-logs/" },
    ]);
    expect(notification.depends_on).toEqual([expect.stringContaining("aws_lambda_permission.partitions-notifications")]);
    expect(central.tf.resource.aws_lambda_permission["partitions-notifications"]).toMatchObject({ principal: "s3.amazonaws.com", source_arn: expect.stringContaining("aws_s3_bucket.bucket") });
    const grant = policyAt(central, "partitions/permissions").statement.find((st: { sid: string }) => st.sid === "ProjectNewAccounts");
    expect(grant).toMatchObject({ actions: ["glue:GetTable", "glue:UpdateTable"], resources: [expect.stringContaining(":catalog"), expect.stringContaining("aws_glue_catalog_database"), expect.stringContaining("aws_glue_catalog_table.query_flows")] });
  });

  it("refreshes its copy of ip-ranges.json when AWS's AmazonIpSpaceChanged topic announces a change, and once at deploy", () => {
    // Through a provider in the topic's region, us-east-1 (here the central account's home region).
    expect(central.tf.resource.aws_sns_topic_subscription["ip-ranges-subscription"]).toMatchObject({
      provider: "aws",
      topic_arn: "arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged",
      protocol: "lambda",
    });
    expect(central.tf.resource.aws_lambda_permission["ip-ranges-announcements"]).toMatchObject({ principal: "sns.amazonaws.com", source_arn: "arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged" });
    expect(central.tf.resource.aws_lambda_invocation["ip-ranges-first-copy"]).toBeDefined();
  });
});

describe("flow-insights central stack, with the recent store (recentEnabled, as the example org has it)", () => {
  it("reads the stream a second time, over the recent window, delivering to a Firehose stream of its own", () => {
    const mapping = resourceAt(central, "aws_lambda_event_source_mapping", "region-eu-west-1/recent/enrich-source");
    expect(mapping).toMatchObject({ tumbling_window_in_seconds: 30, maximum_batching_window_in_seconds: 3, function_response_types: ["ReportBatchItemFailures"] });
    expect(mapping.event_source_arn).toBe(resourceAt(central, "aws_lambda_event_source_mapping", "region-eu-west-1/enrich-source").event_source_arn);
    const recentFunction = resourceAt(central, "aws_lambda_function", "region-eu-west-1/recent/enrich-function");
    expect(recentFunction.function_name).toBe("flowtap-flow-insights-recent-eu-west-1");
    expect(recentFunction.environment.variables).toMatchObject({ WINDOW_SECONDS: "30", DELIVERY_STREAM: expect.stringContaining("region-eu-west-1_recent_delivery") });
    const deliver = (policyAt(central, "region-eu-west-1/recent/enrich-function/permissions").statement as { sid: string; resources: string[] }[]).find((s) => s.sid === "Deliver");
    expect(deliver?.resources).toEqual([expect.stringContaining("region-eu-west-1_recent_delivery")]);
  });

  it("lands Parquet by region and arrival hour after at most 60 seconds of buffering, converted with recent_flows", () => {
    const delivery = resourceAt(central, "aws_kinesis_firehose_delivery_stream", "region-eu-west-1/recent/delivery").extended_s3_configuration;
    expect(delivery).toMatchObject({
      prefix: "recent/region=eu-west-1/hour=!{timestamp:yyyy-MM-dd-HH}/",
      error_output_prefix: "errors/recent/!{firehose:error-output-type}/region=eu-west-1/date=!{timestamp:yyyy-MM-dd}/",
      buffering_interval: 60,
      buffering_size: 64,
    });
    expect(delivery.dynamic_partitioning_configuration).toBeUndefined();
    expect(delivery.data_format_conversion_configuration.schema_configuration.table_name).toMatch(/recent-flows/);
    const table = resourceAt(central, "aws_glue_catalog_table", "query/recent-flows");
    expect(table.name).toBe("recent_flows");
    expect(table.partition_keys.map((k: { name: string }) => k.name)).toEqual(["region", "hour"]);
    expect(table.parameters).toMatchObject({
      "projection.hour.format": "yyyy-MM-dd-HH",
      "projection.hour.range": "NOW-2DAYS,NOW",
      "projection.hour.interval.unit": "HOURS",
      "projection.region.values": "us-east-1,eu-west-1",
      "storage.location.template": expect.stringMatching(/\/recent\/region=\$\$\{region\}\/hour=\$\$\{hour\}\/$/),
    });
    expect(table.storage_descriptor.columns).toEqual(resourceAt(central, "aws_glue_catalog_table", "query/flows").storage_descriptor.columns);
  });

  it("expires the recent store after recentRetentionDays", () => {
    const lifecycle = resourceAt(central, "aws_s3_bucket_lifecycle_configuration", "bucket/lifecycle");
    expect(lifecycle.rule).toEqual(expect.arrayContaining([expect.objectContaining({ id: "recent", filter: [{ prefix: "recent/" }], expiration: [{ days: 2 }], status: "Enabled" })]));
  });

  it("saves the recent questions in the workgroup as flowtap-recent-*, each with its positional parameters named", () => {
    const queries = values(central, "aws_athena_named_query") as { name: string; query: string; description: string }[];
    for (const q of RECENT_QUERIES) {
      const saved = queries.find((x) => x.name === `flowtap-recent-${q.name}`);
      const { sql, parameters } = athenaSql(q);
      expect(saved?.query).toBe(sql);
      expect(saved?.description).toContain(`; EXECUTE … USING ${parameters.map((p) => `${p} (${q.parameters[p]})`).join(", ")}`);
    }
  });

  it("builds none of it when recentEnabled is off (the default)", () => {
    const off = synthStack({ ...exampleOrg, features: { ...exampleOrg.features, flowInsights: { ...exampleOrg.features.flowInsights, recentEnabled: undefined } } }, "flow-insights-central");
    const addresses = Object.values(off.tf.resource ?? {}).flatMap((byName) => Object.values(byName as Record<string, { "//"?: { metadata: { path: string } } }>).map((r) => r["//"]?.metadata.path ?? ""));
    expect(addresses.filter((a) => /recent/.test(a))).toEqual([]);
    expect(values(off, "aws_glue_catalog_table").map((t) => t.name)).toEqual(["flows"]);
    expect(values(off, "aws_athena_named_query").map((q) => q.name).filter((name) => name.startsWith("flowtap-recent-"))).toEqual([]);
    expect(off.tf.output.recent_table).toBeUndefined();
  });
});
