import type { Readable } from "node:stream";
import type { FlowLogField } from "../../functions/lib/flowlogs/fields";
import { FlowLogReader, readInto, type ReadCounts, type ReaderPartition } from "../../functions/lib/flowlogs/input";
import type { FlowLogRecord } from "../../functions/lib/flowlogs/record";

/** What one input line (or log event) gave: a record, or why it is not one, with where it was. */
export type ReadItem =
  | { readonly kind: "record"; readonly record: FlowLogRecord; readonly line: number }
  | { readonly kind: "malformed"; readonly line: number; readonly reason: string; readonly text: string };

/** Everything a FlowLogReader (of one partition, given one) reads from `source`, as items in order: what tests compare. */
export async function readFlowLogs(source: Readable, format: readonly FlowLogField[], counts: ReadCounts, partition?: ReaderPartition): Promise<ReadItem[]> {
  const items: ReadItem[] = [];
  const reader = new FlowLogReader(
    format,
    counts,
    {
      record: (slots, line) => items.push({ kind: "record", record: slots.toRecord(), line }),
      malformed: (line, reason, text) => items.push({ kind: "malformed", line, reason, text }),
    },
    partition,
  );
  await readInto(source, reader);
  return items;
}
