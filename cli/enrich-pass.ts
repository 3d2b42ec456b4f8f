import { createReadStream, readFileSync, statSync } from "node:fs";
import { PassThrough, Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { WindowAggregator } from "../functions/lib/flowlogs/aggregate";
import { FlowEnricher, FlowMerger, MERGE_HORIZON_SECONDS } from "../functions/lib/flowlogs/enrich";
import type { FlowLogField } from "../functions/lib/flowlogs/fields";
import { emptyCounts, FlowLogReader, gzipFailure, readInto, type ReadCounts, type ReaderPartition } from "../functions/lib/flowlogs/input";
import type { Inventory } from "../functions/lib/flowlogs/inventory";
import type { RecordSlots } from "../functions/lib/flowlogs/record";
import { EnrichedJsonWriter } from "../functions/lib/flowlogs/serialize";
import { fileKind, type FileKind } from "./input-paths";

/** Input is read, and output handed on, in chunks of about this many bytes. */
const CHUNK_BYTES = 1 << 20;

/** An input opened: its bytes as the reader takes them. */
export interface OpenedSource {
  readonly bytes: Readable;
  /** True when `bytes` hold only the records of the partition asked for (the reader then reads all they hold). */
  readonly partitioned: boolean;
}

/** An input: a file, or standard input. */
export interface EnrichSource {
  readonly name: string;
  /**
   * Opens the input; `read` is told, as bytes are read, how many bytes of the input they stand for.
   * A source that can leave out the records of other partitions more cheaply than a reader skips them does so.
   */
  open(read?: (bytes: number) => void, partition?: ReaderPartition): OpenedSource;
}

/**
 * Files: text or gzip as they are, Parquet (told by its first bytes) as the text S3 delivery writes,
 * only a partition's rows of it when given one (turning rows into text costs more than enriching
 * them), unless text files are read with it: DuckDB's hash shares flows out otherwise than the
 * text reader's, and a flow's two directions, one in each, must reach the same partition.
 */
export function fileSources(files: readonly string[]): EnrichSource[] {
  const kinds = files.map(fileKind);
  const parquetFiles = files.filter((_, i) => kinds[i] === "parquet");
  const withText = parquetFiles.length < files.length;
  // DuckDB is loaded only for Parquet: it adds about 60 ms to the start of every worker thread.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const parquet = parquetFiles.length > 0 ? new (require("./parquet-flow-logs") as typeof import("./parquet-flow-logs")).ParquetFlowLogFiles(parquetFiles) : undefined;
  let parquetIndex = 0;
  return files.map((file, i): EnrichSource => {
    if (kinds[i] === "parquet") {
      const index = parquetIndex++;
      return {
        name: file,
        open: (read, partition) => (withText ? { bytes: parquet!.text(index, read), partitioned: false } : { bytes: parquet!.text(index, read, partition), partitioned: partition !== undefined }),
      };
    }
    return textFileSource(file, kinds[i]);
  });
}

/**
 * Files up to this size are read whole, at once: streaming a small file cost about 1 ms more, in
 * buffers of the stream's size and in waits for the thread pool (S3 delivery writes many small files).
 */
const WHOLE_FILE_BYTES = 1 << 20;
/** A small gzip file is unzipped at once when it unzips to at most this much, else as it is read. */
const WHOLE_UNZIPPED_BYTES = 64 << 20;

/** A text file, plain or gzip. */
function textFileSource(file: string, kind: FileKind): EnrichSource {
  return {
    name: file,
    open: (read) => {
      if (statSync(file).size > WHOLE_FILE_BYTES) {
        const stream = createReadStream(file, { highWaterMark: CHUNK_BYTES });
        if (read) stream.on("data", (chunk) => read(chunk.length));
        return { bytes: stream, partitioned: false };
      }
      const whole = readFileSync(file);
      read?.(whole.length);
      const text = kind === "gzip" ? unzippedAtOnce(file, whole) : whole;
      // Handed on a chunk at a time all the same: output is written out between chunks.
      return { bytes: Readable.from(text ? chunksOf(text) : [whole], { objectMode: false }), partitioned: false };
    },
  };
}

/** `bytes` unzipped, or undefined when they unzip to more than WHOLE_UNZIPPED_BYTES (the reader then unzips them as it goes). */
function unzippedAtOnce(file: string, bytes: Buffer): Buffer | undefined {
  try {
    return gunzipSync(bytes, { maxOutputLength: WHOLE_UNZIPPED_BYTES });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") return undefined;
    throw gzipFailure(file, err);
  }
}

/** `bytes` in pieces of CHUNK_BYTES. */
function* chunksOf(bytes: Buffer): Generator<Buffer> {
  for (let start = 0; start < bytes.length; start += CHUNK_BYTES) yield bytes.subarray(start, start + CHUNK_BYTES);
}

/** What one pass over the inputs enriches with. */
export interface EnrichPassSettings {
  readonly fields: readonly FlowLogField[];
  readonly inventory: Inventory;
  /** Aggregate into windows of this many seconds. @default - every flow is written */
  readonly windowSeconds?: number;
  /**
   * Read only this share of the records: with a window, of the pairs of resources at their ends
   * (so that each window's key, whichever addresses its flows name, is in one share), else of the
   * flows. @default - all records
   */
  readonly partition?: ReaderPartition;
}

/** Where a pass puts what it makes. */
export interface EnrichPassOutput {
  /** Takes the next chunk of JSON lines (the pass does not touch it again); resolves when the pass may go on. */
  lines(chunk: Buffer): Promise<void>;
  malformed(source: string, line: number, reason: string): void;
  /** Input bytes read since the last call, and records read in all. */
  progress?(bytes: number, records: number): void;
}

/** What a pass counted. */
export interface EnrichTally {
  readonly counts: ReadCounts;
  /** Records both of whose ends were resolved. */
  enriched: number;
  /** Records with a private address no inventory entry held. */
  unknown: number;
  /** Of those, records with an address ENIs of several VPCs hold, none where the record was logged. */
  unplaced: number;
  /** Lines written. */
  written: number;
  /** With a window, flows no window holds (no start time, or not both ends): not written. */
  outsideWindows: number;
}

/** A tally of nothing yet. */
export function emptyTally(): EnrichTally {
  return { counts: emptyCounts(), enriched: 0, unknown: 0, unplaced: 0, written: 0, outsideWindows: 0 };
}

/**
 * Reads every source in turn, enriches, merges the directions of flows (and aggregates, with a
 * window) and hands on JSON lines chunk by chunk: the whole of `flowtap enrich` but its sink, run
 * by the main thread alone, or by it and each worker thread on its partition.
 */
export async function runEnrichPass(sources: readonly EnrichSource[], settings: EnrichPassSettings, output: EnrichPassOutput): Promise<EnrichTally> {
  const tally = emptyTally();
  const writer = new EnrichedJsonWriter();
  const flush = async () => {
    if (writer.length > 0) await output.lines(writer.take());
  };
  const aggregator = settings.windowSeconds
    ? new WindowAggregator(
        settings.windowSeconds,
        (total) => {
          tally.written++;
          writer.writeWindow(total);
        },
        // A flow whose reverse never comes (a rejected one, say) reaches the aggregator a horizon late.
        MERGE_HORIZON_SECONDS,
      )
    : undefined;
  const merger = new FlowMerger(
    (flow) => {
      if (aggregator) {
        if (!aggregator.push(flow)) tally.outsideWindows++;
      } else {
        tally.written++;
        writer.write(flow);
      }
    },
    MERGE_HORIZON_SECONDS,
    // A series of its own has windows of its own.
    () => aggregator?.restart(),
  );
  const enricher = new FlowEnricher(settings.inventory);
  // A window's key names resources, not addresses: its flows are shared out by those, once resolved.
  const byResources = aggregator && settings.partition ? (addresses: RecordSlots) => enricher.resourcesHash(addresses) : undefined;

  for (const source of sources) {
    // A file (or, in a stream of concatenated files, a header) whose first record goes back in time
    // begins a series of its own: another flow log's files, another log stream's export. (Where
    // nothing says so, the merger tells a series by a run of records older than its horizon.)
    let beginsSeries = true;
    const opened = source.open(output.progress ? (bytes) => output.progress!(bytes, tally.counts.records) : undefined, byResources ? undefined : settings.partition);
    // Piped, so that the progress listener on the source and the reader's iteration do not compete for chunks.
    const input = new PassThrough({ highWaterMark: CHUNK_BYTES });
    opened.bytes.on("error", (err) => input.destroy(err));
    opened.bytes.pipe(input);
    const reader = new FlowLogReader(
      settings.fields,
      tally.counts,
      {
        record: (slots) => {
          const flow = enricher.enrich(slots);
          if (flow.client?.type === "unknown" || flow.server?.type === "unknown") {
            tally.unknown++;
            if (flow.client?.shared || flow.server?.shared) tally.unplaced++;
          }
          if (flow.client) tally.enriched++;
          if (beginsSeries && flow.start !== undefined) {
            beginsSeries = false;
            merger.rewindIfBehind(flow.start);
          }
          merger.push(flow);
        },
        malformed: (line, reason) => output.malformed(source.name, line, reason),
        seriesBegins: () => (beginsSeries = true),
      },
      opened.partitioned ? undefined : settings.partition,
      byResources,
    );
    await readInto(input, reader, {
      name: source.name,
      afterChunk: async () => {
        if (writer.length > CHUNK_BYTES) await flush();
      },
    });
  }
  merger.flush();
  aggregator?.flush();
  await flush();
  return tally;
}
