import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { EC2Client } from "@aws-sdk/client-ec2";
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from "aws-lambda";
import { FlowEnricher } from "../lib/flowlogs/enrich";
import { decodeFirehoseRecords, transformDecoded } from "../lib/flowlogs/firehose";
import type { FlowLogField } from "../lib/flowlogs/fields";
import { parseLogFormat } from "../lib/flowlogs/format";
import { LiveInventory } from "../lib/flowlogs/live-inventory";
import { PublishedIpRanges } from "../lib/flowlogs/published-ip-ranges";

// Created once per container, so lookups stay cached across invocations. Retries are ours (withRetry).
const ec2 = new EC2Client({ maxAttempts: 1 });
const logger = new Logger();
const metrics = new Metrics();
/**
 * AWS's ranges, so that an S3 or DynamoDB address is `aws:service` here as in flowtap enrich and
 * flow-insights: fetched from AWS, asked again hourly; while AWS cannot be reached, the last copy.
 */
const ipRanges = new PublishedIpRanges({
  onFailure: (reason) => {
    logger.warn("ip-ranges.json not fetched: public addresses no ENI holds are classified with the last copy, or as internet without one", { reason });
    metrics.addMetric("IpRangesNotFetched", MetricUnit.Count, 1);
  },
});

interface Runtime {
  readonly fields: readonly FlowLogField[];
  readonly inventory: LiveInventory;
  /** Kept across batches with the lookups: what it resolved is reused while EC2's answers behind it are. */
  enricher?: FlowEnricher;
}
let runtime: Runtime | undefined;
/** The flow logs' format and the lookups, from the environment on first use; the lookups' cache lives as long as the container. */
function runtimeOf(environment: NodeJS.ProcessEnv): Runtime {
  if (!runtime) {
    const format = parseLogFormat(environment.FLOW_LOG_FORMAT);
    if (!format.ok) throw new Error(`FLOW_LOG_FORMAT: ${format.reason}`);
    const ttlSeconds = Number(environment.LOOKUP_TTL_SECONDS ?? "300");
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0) throw new Error(`LOOKUP_TTL_SECONDS: expected a whole number of seconds, got ${environment.LOOKUP_TTL_SECONDS}`);
    runtime = { fields: format.fields, inventory: new LiveInventory(ec2, { ttlSeconds }) };
  }
  return runtime;
}

/** Failed records logged one by one before only their count goes on. */
const FAILURES_LOGGED = 20;

/**
 * Firehose's transformation function: adds to each VPC flow log record what its ends are (ENI,
 * resource, tags, security groups and the rules that admitted the flow), answering every record
 * exactly once. If EC2 cannot be asked, the invocation fails and Firehose retries it; records it
 * gives up on land, untouched, under the stream's error prefix.
 */
export const handler = async (event: FirehoseTransformationEvent): Promise<FirehoseTransformationResult> => {
  const current = runtimeOf(process.env);
  const { fields, inventory } = current;
  const callsBefore = inventory.calls;
  const batch = decodeFirehoseRecords(event.records, fields);
  const known = await inventory.inventoryFor(batch.addresses, batch.interfaceIds, await ipRanges.current());
  if (current.enricher) current.enricher.use(known);
  else current.enricher = new FlowEnricher(known);
  const { records, summary } = transformDecoded(batch, current.enricher);

  for (const failure of summary.failures.slice(0, FAILURES_LOGGED)) logger.warn("record not enriched", failure);
  if (summary.failures.length > FAILURES_LOGGED) logger.warn("more records not enriched", { count: summary.failures.length - FAILURES_LOGGED });
  logger.info("batch enriched", { records: event.records.length, ok: summary.ok, dropped: summary.dropped, failed: summary.failed, overLimit: summary.overLimit, lookups: inventory.calls - callsBefore });
  metrics.addMetric("RecordsEnriched", MetricUnit.Count, summary.ok);
  metrics.addMetric("RecordsDropped", MetricUnit.Count, summary.dropped);
  metrics.addMetric("RecordsFailed", MetricUnit.Count, summary.failed);
  metrics.addMetric("RecordsOverResponseLimit", MetricUnit.Count, summary.overLimit);
  metrics.addMetric("Ec2Lookups", MetricUnit.Count, inventory.calls - callsBefore);
  metrics.publishStoredMetrics();
  return { records };
};
