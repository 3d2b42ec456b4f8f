import type { KinesisStreamRecord } from "aws-lambda";
import { gunzipSync } from "node:zlib";
import { addToWindow, windowOf, windowRecordOf, type AggregatedRecord } from "./aggregate";
import { loggedAt, type FlowEnricher } from "./enrich";
import { FIELD, type FlowLogField } from "./fields";
import { emptyCounts, FlowLogReader, isGzip, RecordCollector, type ReadCounts } from "./input";
import type { Holder } from "./inventory";
import { holderAt, type Ownership } from "./ownership";
import { emptySlots, slotsOf, type FlowLogRecord, type RecordSlots } from "./record";

/**
 * What a Kinesis tumbling window carries between invocations (Lambda keeps it, as JSON, up to
 * 1 MB): the window's aggregates so far, by window and key.
 */
export interface WindowState {
  aggregates: Record<string, AggregatedRecord>;
}

/** Aggregates kept in the state before they are delivered early: Lambda refuses a state over 1 MB. */
export const STATE_LIMIT_BYTES = 800_000;

/** `{"aggregates":{` and `}}`: what a state weighs as JSON but for its aggregates. */
const STATE_FRAME_BYTES = Buffer.byteLength(JSON.stringify({ aggregates: {} }));

/**
 * The state's aggregates as JSON lines (what Firehose is sent) and what the state weighs as JSON
 * (what Lambda's limit counts), from one serialization of each aggregate: the state is weighed in
 * every invocation and delivered in some, and serializing it whole for its weight alone cost as
 * much again.
 */
export function serializedState(state: WindowState): { lines: string[]; bytes: number } {
  const lines: string[] = [];
  let bytes = STATE_FRAME_BYTES;
  for (const [key, aggregate] of Object.entries(state.aggregates)) {
    const line = JSON.stringify(aggregate);
    lines.push(line);
    // `"key":line`, and a comma before every member but the first.
    bytes += Buffer.byteLength(JSON.stringify(key)) + 1 + Buffer.byteLength(line) + (lines.length > 1 ? 1 : 0);
  }
  return { lines, bytes };
}

/** A batch read: its flow log records, what malformed, and the addresses to resolve. */
export interface DecodedKinesisBatch {
  readonly records: FlowLogRecord[];
  readonly malformed: { sequenceNumber: string; reason: string }[];
  readonly addresses: Set<string>;
  readonly counts: ReadCounts;
}

/**
 * Reads the CloudWatch Logs subscription payloads a logs destination puts on Kinesis (gzip'd JSON,
 * DATA_MESSAGE with log events; control messages hold none) into flow log records of `format`.
 */
export function decodeKinesisRecords(records: readonly KinesisStreamRecord[], format: readonly FlowLogField[]): DecodedKinesisBatch {
  const malformed: { sequenceNumber: string; reason: string }[] = [];
  const counts = emptyCounts();
  let sequenceNumber = "";
  const collector = new RecordCollector((_line, reason) => malformed.push({ sequenceNumber, reason }));
  const reader = new FlowLogReader(format, counts, collector);
  for (const r of records) {
    sequenceNumber = r.kinesis.sequenceNumber;
    const data = Buffer.from(r.kinesis.data, "base64");
    let payload: Buffer;
    try {
      payload = isGzip(data) ? gunzipSync(data) : data;
    } catch (err) {
      malformed.push({ sequenceNumber, reason: `not gzip: ${(err as Error).message}` });
      continue;
    }
    reader.push(payload);
    reader.end();
  }
  return { records: collector.take(), malformed, addresses: collector.addresses, counts };
}

/**
 * Enriches records and adds them to the window's aggregates, per `windowSeconds` of capture time
 * and (client, server, server port, protocol, action): a flow's two directions land in the same
 * aggregate, so merging comes with it. Records without both ends are counted, not aggregated.
 */
export function aggregateInto(state: WindowState, records: readonly FlowLogRecord[], enricher: FlowEnricher, windowSeconds: number): { aggregated: number; unaggregated: number } {
  const scratch = emptySlots();
  let aggregated = 0;
  for (const record of records) {
    const flow = enricher.enrich(slotsOf(record, scratch));
    const window = windowOf(flow, windowSeconds);
    if (!window) continue;
    const current = state.aggregates[window.key];
    if (current) addToWindow(current, flow);
    else state.aggregates[window.key] = windowRecordOf(flow, window.start, windowSeconds);
    aggregated++;
  }
  return { aggregated, unaggregated: records.length - aggregated };
}

/**
 * What held an address at a record's capture time, from the address's ownerships, where the record
 * says it was logged (its vpc-id, account-id and region: the function's format has them); a
 * record without a start time resolves nothing.
 */
export function holderAtRecordTime(ownerships: ReadonlyMap<string, readonly Ownership[]>, address: string, r: RecordSlots): Holder | undefined {
  if (!r.present[FIELD.start]) return undefined;
  return holderAt(address, ownerships.get(address) ?? [], r.ints[FIELD.start] * 1000, loggedAt(r));
}
