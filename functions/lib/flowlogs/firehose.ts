import type { FirehoseTransformationEventRecord, FirehoseTransformationMetadata, FirehoseTransformationResultRecord } from "aws-lambda";
import type { Flow, FlowEnricher } from "./enrich";
import type { FlowLogField } from "./fields";
import { emptyCounts, FlowLogReader, RecordCollector } from "./input";
import { emptySlots, slotsOf, type FlowLogRecord } from "./record";
import { EnrichedJsonWriter } from "./serialize";

/**
 * Lambda's limit on a synchronous response (6 MiB), less room for `{"records":[` and its closing:
 * what Firehose's answer may weigh at most.
 */
export const RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024 - 64;

/** One Firehose record, read: its flow log records, or why it is not flow logs. */
export interface DecodedRecord {
  readonly recordId: string;
  /** The record's data as Firehose sent it (base64): what a failed record is answered with. */
  readonly data: string;
  readonly approximateArrivalTimestamp?: number;
  readonly flows: FlowLogRecord[];
  /** Why the record cannot be enriched (a malformed line); unset when it can. */
  readonly failure?: string;
}

/** A batch read: its records, and the addresses and ENIs an inventory must know to enrich them. */
export interface DecodedBatch {
  readonly records: DecodedRecord[];
  readonly addresses: Set<string>;
  readonly interfaceIds: Set<string>;
}

/**
 * Reads a Firehose batch of VPC flow log records: direct delivery sends each as
 * `{"message": "<record>"}`; plain lines are read too. A record with a line that is not a flow
 * log record of `format` fails as a whole, so that Firehose keeps it, untouched, under the error prefix.
 */
export function decodeFirehoseRecords(records: readonly FirehoseTransformationEventRecord[], format: readonly FlowLogField[]): DecodedBatch {
  let failure: string | undefined;
  const collector = new RecordCollector((_line, reason) => (failure ??= reason));
  const reader = new FlowLogReader(format, emptyCounts(), collector);
  const decoded = records.map((r): DecodedRecord => {
    failure = undefined;
    reader.push(Buffer.from(r.data, "base64"));
    reader.end();
    return { recordId: r.recordId, data: r.data, approximateArrivalTimestamp: r.approximateArrivalTimestamp, flows: collector.take(), ...(failure ? { failure } : {}) };
  });
  return { records: decoded, addresses: collector.addresses, interfaceIds: collector.interfaceIds };
}

/** What a transformation did, for logs and metrics. */
export interface TransformSummary {
  ok: number;
  dropped: number;
  failed: number;
  /** Records that failed because their output would not fit the response. */
  overLimit: number;
  /** Per failed record, why. */
  readonly failures: { recordId: string; reason: string }[];
}

type AnswerResult = FirehoseTransformationResultRecord["result"];

/** What `{"recordId":"","result":…,"data":""},` weighs per result: an answer's weight but for its id. */
const EMPTY_ANSWER_BYTES = Object.fromEntries(
  (["Ok", "Dropped", "ProcessingFailed"] as const).map((result) => [result, Buffer.byteLength(JSON.stringify({ recordId: "", result, data: "" })) + 1]),
) as Record<AnswerResult, number>;

/** Bytes an answer adds to the response (`{…},`) when its data is empty, as JSON writes it. */
function emptyAnswerBytes(recordId: string, result: AnswerResult): number {
  // The empty id's own quotes are counted in both terms.
  return EMPTY_ANSWER_BYTES[result] - 2 + Buffer.byteLength(JSON.stringify(recordId));
}

/** A day's date (UTC), for the seconds of any time in it: records of a batch share a few days. */
const dates = new Map<number, string>();
function utcDate(epochSeconds: number): string {
  const day = Math.floor(epochSeconds / 86_400);
  let date = dates.get(day);
  if (!date) {
    date = new Date(day * 86_400_000).toISOString().slice(0, 10);
    if (dates.size > 10_000) dates.clear();
    dates.set(day, date);
  }
  return date;
}

/**
 * Answers every record of a batch exactly once, in order: `Ok` with its enriched records as JSON
 * lines (and the account and date Firehose partitions by), `Dropped` when it held no flow log
 * record, `ProcessingFailed` (with its original data, which Firehose then writes under the error
 * prefix) when it could not be read, or when its output would push the response over Lambda's
 * 6 MiB: space for every record's failure answer is kept aside first, so the response never
 * exceeds the limit and nothing is cut short.
 */
export function transformDecoded(
  batch: DecodedBatch,
  enricher: FlowEnricher,
  limitBytes = RESPONSE_LIMIT_BYTES,
): { records: FirehoseTransformationResultRecord[]; summary: TransformSummary } {
  const writer = new EnrichedJsonWriter();
  const scratch = emptySlots();
  const summary: TransformSummary = { ok: 0, dropped: 0, failed: 0, overLimit: 0, failures: [] };
  const failedAnswer = (r: DecodedRecord): FirehoseTransformationResultRecord => ({ recordId: r.recordId, result: "ProcessingFailed", data: r.data });
  // Base64 needs no escaping: an answer weighs its empty form plus its data (and metadata).
  const failedBytes = batch.records.map((r) => emptyAnswerBytes(r.recordId, "ProcessingFailed") + r.data.length);
  // What the response weighs if every record not yet answered fails: that much always stays available.
  let reserved = failedBytes.reduce((n, b) => n + b, 0);
  let used = 0;
  const fail = (r: DecodedRecord, reason: string) => {
    summary.failed++;
    summary.failures.push({ recordId: r.recordId, reason });
    return failedAnswer(r);
  };
  // A batch's records share a few accounts and days: each partition's metadata is made and weighed once.
  const partitions = new Map<string, { metadata: FirehoseTransformationMetadata; bytes: number }>();
  const partitionOf = (accountId: string, date: string) => {
    const key = `${accountId} ${date}`;
    let partition = partitions.get(key);
    if (!partition) {
      const metadata = { partitionKeys: { account_id: accountId, date } };
      partition = { metadata, bytes: `,"metadata":`.length + Buffer.byteLength(JSON.stringify(metadata)) };
      partitions.set(key, partition);
    }
    return partition;
  };
  const records = batch.records.map((r, i) => {
    const fallback = failedBytes[i];
    reserved -= fallback;
    let bytes = fallback;
    let answer: FirehoseTransformationResultRecord;
    if (r.failure !== undefined) answer = fail(r, r.failure);
    else if (r.flows.length === 0) {
      summary.dropped++;
      answer = { recordId: r.recordId, result: "Dropped", data: "" };
      bytes = emptyAnswerBytes(r.recordId, "Dropped");
    } else {
      let first: Flow | undefined;
      for (const f of r.flows) {
        const flow = enricher.enrich(slotsOf(f, scratch));
        first ??= flow;
        writer.write(flow);
      }
      const start = first!.start ?? Math.floor((r.approximateArrivalTimestamp ?? Date.now()) / 1000);
      const partition = partitionOf(first!.accountId ?? "unknown", utcDate(start));
      answer = { recordId: r.recordId, result: "Ok", data: writer.takeText("base64"), metadata: partition.metadata };
      const okBytes = emptyAnswerBytes(r.recordId, "Ok") + answer.data!.length + partition.bytes;
      if (used + okBytes + reserved > limitBytes) {
        summary.overLimit++;
        answer = fail(r, `its enriched records would take the response over Lambda's ${limitBytes}-byte limit`);
      } else {
        summary.ok++;
        bytes = okBytes;
      }
    }
    used += bytes;
    return answer;
  });
  return { records, summary };
}
