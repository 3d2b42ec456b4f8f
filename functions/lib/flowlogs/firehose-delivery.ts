import { PutRecordBatchCommand, type FirehoseClient } from "@aws-sdk/client-firehose";
import { withRetry } from "../retry";

/** PutRecordBatch's limits: 500 records and 4 MiB a call. */
const RECORDS_PER_CALL = 500;
const BYTES_PER_CALL = 4 * 1024 * 1024;
/** Rounds of resending the records Firehose refused in a call, before giving up. */
const RESEND_ROUNDS = 6;

/**
 * Puts lines on a Firehose stream, as many to a call as it takes, resending the records it
 * refuses (a partial failure is not an error to PutRecordBatch) with backoff. Throws when some
 * cannot be put, so that the caller's event is retried: nothing is dropped quietly.
 */
export async function putLines(firehose: FirehoseClient, streamName: string, lines: readonly string[]): Promise<number> {
  let calls = 0;
  let batch: Buffer[] = [];
  let bytes = 0;
  const send = async (records: Buffer[]) => {
    let pending = records;
    for (let round = 0; pending.length > 0; round++) {
      if (round === RESEND_ROUNDS) throw new Error(`Firehose refused ${pending.length} record(s) ${RESEND_ROUNDS} times`);
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 100 * 2 ** round));
      calls++;
      const answer = await withRetry(() => firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: streamName, Records: pending.map((Data) => ({ Data })) })));
      pending = (answer.FailedPutCount ?? 0) === 0 ? [] : pending.filter((_, i) => answer.RequestResponses?.[i]?.ErrorCode);
    }
  };
  for (const line of lines) {
    const record = Buffer.from(`${line}\n`);
    if (batch.length === RECORDS_PER_CALL || bytes + record.length > BYTES_PER_CALL) {
      await send(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(record);
    bytes += record.length;
  }
  if (batch.length > 0) await send(batch);
  return calls;
}
