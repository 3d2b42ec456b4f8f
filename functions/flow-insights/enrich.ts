import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SecurityGroup } from "@aws-sdk/client-ec2";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { KinesisStreamStateResponse, KinesisStreamTumblingWindowEvent } from "aws-lambda";
import pLimit from "p-limit";
import type { FlowLogField } from "../lib/flowlogs/fields";
import { FlowEnricher } from "../lib/flowlogs/enrich";
import { putLines } from "../lib/flowlogs/firehose-delivery";
import { parseLogFormat } from "../lib/flowlogs/format";
import { delegatedPrefixKeyOf, Inventory } from "../lib/flowlogs/inventory";
import type { IpRangesDocument } from "../lib/flowlogs/ip-ranges";
import { requiredSetting } from "../lib/environment";
import { ExpiringMap } from "../lib/expiring-map";
import { OwnershipStore, type Ownership } from "../lib/flowlogs/ownership";
import { aggregateInto, decodeKinesisRecords, holderAtRecordTime, serializedState, STATE_LIMIT_BYTES, type WindowState } from "../lib/flowlogs/tumbling-window";
import { awsErrorCode, withRetry } from "../lib/retry";

// Created once per container. Retries are ours (withRetry), so the SDK makes one attempt.
const dynamo = new DynamoDBClient({ maxAttempts: 1 });
const firehose = new FirehoseClient({ maxAttempts: 1 });
const s3 = new S3Client({ maxAttempts: 1 });
const logger = new Logger();
const metrics = new Metrics();

/** How long looked-up ownerships, security groups and AWS's ranges are reused by later invocations. */
const OWNERSHIP_TTL_MS = 60_000;
const GROUP_TTL_MS = 300_000;
const IP_RANGES_TTL_MS = 3_600_000;
/** Inventory lookups in flight at once: a batch names thousands of addresses. */
const LOOKUP_CONCURRENCY = 16;
/** Malformed records logged one by one before only their count goes on. */
const MALFORMED_LOGGED = 20;

interface Settings {
  readonly fields: readonly FlowLogField[];
  readonly store: OwnershipStore;
  readonly streamName: string;
  readonly windowSeconds: number;
  readonly ipRangesBucket: string;
  readonly ipRangesKey: string;
}
let settings: Settings | undefined;

function settingsOf(environment: NodeJS.ProcessEnv): Settings {
  if (settings) return settings;
  const required = (name: string) => requiredSetting(environment, name);
  const format = parseLogFormat(required("FLOW_LOG_FORMAT"));
  if (!format.ok) throw new Error(`FLOW_LOG_FORMAT: ${format.reason}`);
  settings = {
    fields: format.fields,
    store: OwnershipStore.fromEnvironment(dynamo, environment),
    streamName: required("DELIVERY_STREAM"),
    windowSeconds: Number(required("WINDOW_SECONDS")),
    ipRangesBucket: required("IP_RANGES_BUCKET"),
    ipRangesKey: required("IP_RANGES_KEY"),
  };
  return settings;
}

const ownershipCache = new ExpiringMap<Ownership[]>(OWNERSHIP_TTL_MS);
const groupCache = new ExpiringMap<SecurityGroup | undefined>(GROUP_TTL_MS);
const ipRangesCache = new ExpiringMap<IpRangesDocument | undefined>(IP_RANGES_TTL_MS, 1);
/** The ownerships of the batch being enriched, by address: what the enricher resolves addresses by. */
let batchOwnerships: ReadonlyMap<string, readonly Ownership[]> = new Map();
/**
 * Kept across invocations: what it resolved (each end's JSON, compiled rules) is reused while the
 * cached ownerships and groups behind it are the same objects.
 */
let enricher: FlowEnricher | undefined;

/** AWS's ip-ranges.json, as the refresh function last copied it; none until it has. */
function ipRangesDocument(s: Settings): Promise<IpRangesDocument | undefined> {
  return ipRangesCache.getOrLoad(s.ipRangesKey, async () => {
    try {
      const object = await withRetry(() => s3.send(new GetObjectCommand({ Bucket: s.ipRangesBucket, Key: s.ipRangesKey })));
      return JSON.parse(await object.Body!.transformToString()) as IpRangesDocument;
    } catch (err) {
      if (awsErrorCode(err) !== "NoSuchKey") throw err;
      logger.warn("no copy of ip-ranges.json yet: public addresses are classified as internet", { bucket: s.ipRangesBucket, key: s.ipRangesKey });
      return undefined;
    }
  });
}

/**
 * Enriches the flow log records a CloudWatch Logs destination puts on Kinesis and aggregates them
 * over Lambda's tumbling window, resolving each address to what held it at the record's time
 * (the inventory table's ownership ranges). The window's aggregates go to Firehose at its last
 * invocation, or earlier when they grow near the state's 1 MB. A failure answers the whole batch
 * as failed (ReportBatchItemFailures), with the state as it came, so that the retry counts nothing twice.
 */
export const handler = async (event: KinesisStreamTumblingWindowEvent): Promise<KinesisStreamStateResponse> => {
  const s = settingsOf(process.env);
  const incoming: WindowState = { aggregates: { ...((event.state as WindowState | undefined)?.aggregates ?? {}) } };
  try {
    const batch = decodeKinesisRecords(event.Records, s.fields);
    for (const m of batch.malformed.slice(0, MALFORMED_LOGGED)) logger.warn("record not read", m);
    if (batch.malformed.length > 0) metrics.addMetric("RecordsMalformed", MetricUnit.Count, batch.malformed.length);

    const limit = pLimit(LOOKUP_CONCURRENCY);
    // An address handed out from a prefix delegated to an ENI (an EKS pod's, in prefix mode) is owned through the prefix.
    const prefixOf = new Map([...batch.addresses].map((address) => [address, delegatedPrefixKeyOf(address)]));
    const keys = new Set([...batch.addresses, ...[...prefixOf.values()].flatMap((prefix) => prefix ?? [])]);
    const found = new Map<string, Ownership[]>(
      await Promise.all(
        [...keys].map((key) => limit(async (): Promise<[string, Ownership[]]> => [key, await ownershipCache.getOrLoad(key, () => s.store.ownerships(key, Date.now()))])),
      ),
    );
    const ownerships = new Map<string, Ownership[]>(
      [...prefixOf].map(([address, prefix]) => [address, prefix && found.get(prefix)!.length > 0 ? [...found.get(address)!, ...found.get(prefix)!] : found.get(address)!]),
    );
    const groupIds = new Set([...ownerships.values()].flatMap((list) => list.flatMap((o) => o.holder.securityGroupIds)));
    const groups = (await Promise.all([...groupIds].map((id) => limit(() => groupCache.getOrLoad(id, () => s.store.securityGroup(id)))))).flatMap(
      (group): SecurityGroup[] => (group ? [group] : []),
    );
    const inventory = new Inventory({ networkInterfaces: {}, securityGroups: { SecurityGroups: groups }, ipRanges: await ipRangesDocument(s) });
    batchOwnerships = ownerships;
    if (enricher) enricher.use(inventory);
    else enricher = new FlowEnricher(inventory, { holderAt: (address, r) => holderAtRecordTime(batchOwnerships, address, r) });
    const { aggregated, unaggregated } = aggregateInto(incoming, batch.records, enricher, s.windowSeconds);
    metrics.addMetric("RecordsAggregated", MetricUnit.Count, aggregated);
    if (unaggregated > 0) metrics.addMetric("RecordsWithoutEnds", MetricUnit.Count, unaggregated);

    const { lines, bytes } = serializedState(incoming);
    if (event.isFinalInvokeForWindow || bytes > STATE_LIMIT_BYTES) {
      await putLines(firehose, s.streamName, lines);
      logger.info("window delivered", { window: event.window, aggregates: lines.length, final: event.isFinalInvokeForWindow, early: !event.isFinalInvokeForWindow });
      metrics.addMetric("AggregatesDelivered", MetricUnit.Count, lines.length);
      incoming.aggregates = {};
    }
    metrics.publishStoredMetrics();
    return { state: incoming, batchItemFailures: [] };
  } catch (err) {
    metrics.publishStoredMetrics();
    // The final invocation of a window has no record to name: failing it makes Lambda retry the window.
    if (event.Records.length === 0) throw err;
    logger.error("batch not enriched; it will be retried", { error: (err as Error).message, firstSequenceNumber: event.Records[0].kinesis.sequenceNumber });
    return { state: event.state ?? {}, batchItemFailures: [{ itemIdentifier: event.Records[0].kinesis.sequenceNumber }] };
  }
};
