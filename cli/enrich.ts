import { SingleBar } from "cli-progress";
import { once } from "node:events";
import { accessSync, constants, createWriteStream, mkdtempSync, rmSync, statSync, type WriteStream } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { Worker } from "node:worker_threads";
import type { FlowLogField } from "../functions/lib/flowlogs/fields";
import { parseLogFormat } from "../functions/lib/flowlogs/format";
import { Inventory } from "../functions/lib/flowlogs/inventory";
import { headOf } from "../functions/lib/flowlogs/input";
import { emptyTally, fileSources, runEnrichPass, type EnrichPassOutput, type EnrichSource, type EnrichTally } from "./enrich-pass";
import type { EnrichMainMessage, EnrichWorkerData, EnrichWorkerMessage } from "./enrich-worker";
import { fileBytes, fileKind, inputFiles, KIND_BYTES, kindOf } from "./input-paths";
import { instanceTagsOnly, inventoryDirectories, loadInventory, readInventory } from "./inventory-files";

export interface EnrichOptions {
  /** The log format string as given to CreateFlowLogs; the header line of S3 files overrides it. */
  readonly format?: string;
  /**
   * Inventory directories, merged: each holds the files, or holds directories that do, one per
   * account. @default - none: only AWS's ranges (none) and private addresses are told apart
   */
  readonly inventoryDirs?: readonly string[];
  readonly windowSeconds?: number;
  readonly output: "jsonl" | "parquet";
  readonly outFile?: string;
  /** Input files, and directories standing for every file beneath them; stdin when none. */
  readonly files: readonly string[];
  /**
   * Threads that enrich files, each the records of its share of the flows (with `windowSeconds`,
   * of the pairs of resources at their ends): the main thread and `threads - 1` workers (lines then
   * come out in another order than one thread writes them). Standard input is read by one thread.
   * @default - one, and one more per 64 MiB of input (gzip'd files by their size unzipped, Parquet rows as lines of text), up to the available CPUs
   */
  readonly threads?: number;
}

export interface EnrichIo {
  readonly stdin: Readable;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const SINK_BUFFER_BYTES = 8 << 20;

/**
 * Input that pays for another thread: a worker takes about 0.2 s to start and 0.25 s to load its
 * own inventory, so one thread finished first below about 600,000 records (68 MB) on 2 CPUs.
 */
const INPUT_BYTES_PER_EXTRA_THREAD = 64 << 20;

/** Threads by default for this much input (uncompressed): one, and one more per 64 MiB, up to `cpus`. */
export function defaultThreads(inputBytes: number, cpus: number): number {
  return Math.max(1, Math.min(cpus, 1 + Math.floor(inputBytes / INPUT_BYTES_PER_EXTRA_THREAD)));
}

/** A Parquet row is weighed as the line of text it stands for: about 110 bytes in the default format. */
const TEXT_BYTES_PER_PARQUET_ROW = 110;

/**
 * The bytes of text enrichment reads from `files`: a gzip file's by the size its trailer gives
 * (that of its last member, modulo 4 GiB, so never less than the file's own size is taken), a
 * Parquet file's by its rows, each as a line of text (the cost of reading one is much the same).
 */
export async function inputBytes(files: readonly string[]): Promise<number> {
  let bytes = 0;
  const parquet: string[] = [];
  for (const file of files) {
    const kind = fileKind(file);
    if (kind === "parquet") {
      parquet.push(file);
      continue;
    }
    const size = statSync(file).size;
    // The smallest gzip member: a 10-byte header, an empty deflate block and an 8-byte trailer.
    bytes += kind === "gzip" && size >= 20 ? Math.max(size, fileBytes(file, size - 4, 4).readUInt32LE(0)) : size;
  }
  if (parquet.length === 0) return bytes;
  // DuckDB is loaded only when Parquet is read or written: its native library takes 80-200 ms to load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parquetRows } = require("./parquet-flow-logs") as typeof import("./parquet-flow-logs");
  return bytes + (await parquetRows(parquet)) * TEXT_BYTES_PER_PARQUET_ROW;
}

/**
 * Why a file cannot be written, told before any input is read (Parquet output is written only
 * once every record has been enriched); undefined when nothing stands in the way.
 */
function whyUnwritable(file: string): string | undefined {
  const dir = path.dirname(path.resolve(file));
  try {
    if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) return "a directory, not a file";
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? `${dir} is not a directory` : (err as Error).message;
  }
}

/** How many malformed lines are reported one by one before only the count goes on. */
const MALFORMED_REPORTED = 20;

/**
 * `flowtap enrich`: flow log records in, one enriched JSON object per line out (or Parquet),
 * streaming, with a summary on stderr. Exits 0 unless nothing at all could be read.
 */
export async function runEnrich(given: EnrichOptions, io: EnrichIo): Promise<number> {
  const files = inputFiles(given.files);
  if (!files.ok) {
    io.stderr.write(`flowtap enrich: ${files.reason}\n`);
    return 2;
  }
  const inventories = inventoryDirectories(given.inventoryDirs ?? []);
  if (!inventories.ok) {
    io.stderr.write(`flowtap enrich: --inventory: ${inventories.reason}\n`);
    return 2;
  }
  const options: EnrichOptions = { ...given, files: files.files, inventoryDirs: inventories.dirs };
  const format = parseLogFormat(options.format);
  if (!format.ok) {
    io.stderr.write(`flowtap enrich: --format: ${format.reason}\n`);
    return 2;
  }
  if (options.output === "parquet" && !options.outFile) {
    io.stderr.write("flowtap enrich: --output parquet needs --out FILE\n");
    return 2;
  }
  const unwritable = options.outFile ? whyUnwritable(options.outFile) : undefined;
  if (unwritable) {
    io.stderr.write(`flowtap enrich: --out ${options.outFile}: ${unwritable}\n`);
    return 2;
  }
  const threads = options.files.length === 0 ? 1 : (options.threads ?? defaultThreads(await inputBytes(options.files), availableParallelism()));

  // For JSON lines on their way to Parquet, and Parquet from standard input.
  const scratch = options.output === "parquet" || options.files.length === 0 ? mkdtempSync(path.join(tmpdir(), "flowtap-enrich-")) : undefined;
  const jsonlPath = options.output === "parquet" ? path.join(scratch!, "enriched.jsonl") : options.outFile;
  // Room for a few chunks, so enrichment goes on while the last one is written.
  const sink: NodeJS.WritableStream = jsonlPath ? createWriteStream(jsonlPath, { highWaterMark: SINK_BUFFER_BYTES }) : io.stdout;
  // A sink that fails (a full disk, a closed pipe) fails the run: nothing is written past it unnoticed.
  let sinkError: Error | undefined;
  sink.on("error", (err: Error) => (sinkError ??= err));
  const lines = async (chunk: Uint8Array) => {
    if (sinkError) throw sinkError;
    if (!sink.write(chunk)) await once(sink, "drain");
  };
  let reported = 0;
  const malformed = (source: string, line: number, reason: string) => {
    if (reported++ < MALFORMED_REPORTED) io.stderr.write(`${source}:${line}: skipped: ${reason}\n`);
  };
  const totalBytes = options.files.reduce((n, f) => n + statSync(f).size, 0);
  const bar = io.stderr.isTTY && options.files.length > 0 ? new SingleBar({ stream: io.stderr, format: "enrich {bar} {percentage}% | {records} records" }) : undefined;
  bar?.start(totalBytes, 0, { records: 0 });
  const output: EnrichPassOutput = { lines, malformed, progress: bar ? (bytes, records) => bar.increment(bytes, { records }) : undefined };

  let tally: EnrichTally;
  try {
    try {
      tally =
        threads > 1
          ? await enrichInThreads(options, format.fields, threads, output)
          : await runEnrichPass(options.files.length === 0 ? await stdinSources(io.stdin, scratch!) : fileSources(options.files), { fields: format.fields, inventory: loadInventory(options.inventoryDirs ?? []), windowSeconds: options.windowSeconds }, output);
    } finally {
      bar?.stop();
      if (jsonlPath) await finished((sink as WriteStream).end()).catch((err: Error) => (sinkError ??= err));
    }
    if (sinkError) throw sinkError;
    if (options.output === "parquet" && jsonlPath && options.outFile) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { copyJsonlToParquet } = require("./duckdb") as typeof import("./duckdb");
      await copyJsonlToParquet(jsonlPath, options.outFile);
    }
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
  const { counts, enriched, unknown, unplaced, written, outsideWindows } = tally;
  if (counts.malformed > MALFORMED_REPORTED) io.stderr.write(`… and ${counts.malformed - MALFORMED_REPORTED} more malformed lines\n`);
  io.stderr.write(
    `flowtap enrich: ${counts.read} records read, ${enriched} enriched, ${counts.nodata + counts.skipdata} without traffic (NODATA/SKIPDATA), ${counts.malformed} malformed, ${unknown} with an unknown private address${unplaced > 0 ? ` (${unplaced} held by ENIs of several VPCs, none where the record was logged)` : ""}; ${written} written${options.windowSeconds ? ` (${options.windowSeconds}-second windows${outsideWindows > 0 ? `; ${outsideWindows} without a start time or both addresses, which no window holds` : ""})` : ""}${threads > 1 ? ` by ${threads} threads` : ""}\n`,
  );
  return counts.records === 0 ? 1 : 0;
}

/**
 * Standard input as a source: Parquet (told by its first bytes) is copied to a file in `scratch`
 * first, as DuckDB reads a Parquet file's footer before its rows (`aws s3 cp s3://…/x.parquet -`).
 */
async function stdinSources(stdin: Readable, scratch: string): Promise<EnrichSource[]> {
  const { head, bytes } = await headOf(stdin, KIND_BYTES);
  if (kindOf(head) !== "parquet") return [{ name: "stdin", open: () => ({ bytes: Readable.from(bytes, { objectMode: false }), partitioned: false }) }];
  const copy = path.join(scratch, "stdin.parquet");
  await pipeline(bytes, createWriteStream(copy));
  return fileSources([copy]).map((source) => ({ ...source, name: "stdin" }));
}

/**
 * Loads the worker through tsx, as bin/flowtap.cjs loads the CLI, so it runs from the TypeScript
 * sources. Paths are absolute: an eval'd worker resolves modules from the working directory.
 */
const WORKER_LAUNCHER = `require(${JSON.stringify(require.resolve("tsx/cjs/api"))}).register(); require(${JSON.stringify(path.join(__dirname, "enrich-worker.ts"))});`;

/**
 * Runs one pass per thread, each over every file and its own share of the flows, and sums what they
 * counted: partition 0 on the main thread (which would otherwise only wait and write), the others
 * on worker threads.
 */
async function enrichInThreads(options: EnrichOptions, fields: readonly FlowLogField[], threads: number, output: EnrichPassOutput): Promise<EnrichTally> {
  const workers = Array.from({ length: threads - 1 }, (_, i) => {
    const data: EnrichWorkerData = {
      files: options.files,
      fields,
      inventoryDirs: options.inventoryDirs ?? [],
      partition: { index: i + 1, count: threads },
      windowSeconds: options.windowSeconds,
      progress: output.progress !== undefined,
      malformedReported: MALFORMED_REPORTED,
    };
    return new Worker(WORKER_LAUNCHER, { eval: true, workerData: data });
  });
  // Records read per partition, for the progress bar; every partition reads every byte, so the main thread's bytes show how far all are.
  const records = new Array<number>(threads).fill(0);
  const showRecords = () => records.reduce((a, b) => a + b, 0);
  let failure: Error | undefined;
  const run = (worker: Worker, index: number) =>
    new Promise<EnrichTally>((resolve, reject) => {
      let tally: EnrichTally | undefined;
      // Chunks are written in the order each worker posts them; a credit goes back once one is written.
      let written = Promise.resolve();
      worker.on("message", (message: EnrichWorkerMessage) => {
        switch (message.kind) {
          case "lines":
            written = written.then(() => output.lines(Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength))).then(() => post(worker, { kind: "credit" }), reject);
            break;
          case "malformed":
            output.malformed(message.source, message.line, message.reason);
            break;
          case "progress":
            records[index] = message.records;
            break;
          case "done":
            tally = message.tally;
            break;
        }
      });
      worker.on("error", reject);
      worker.on("exit", (code) => {
        if (code !== 0 || !tally) reject(new Error(`enrichment worker ${index} stopped (exit code ${code}) before it finished`));
        else written.then(() => resolve(tally!), reject);
      });
    });
  const inWorkers = workers.map((worker, i) => run(worker, i + 1));
  // Only the first failure is reported; the others' must not go unhandled.
  for (const pass of inWorkers) pass.catch(() => undefined);
  try {
    const here = runEnrichPass(
      fileSources(options.files),
      { fields, inventory: inventoryHandingOnInstances(options.inventoryDirs ?? [], workers), windowSeconds: options.windowSeconds, partition: { index: 0, count: threads } },
      {
        // Once a worker has failed, the main thread's pass stops at its next chunk.
        lines: (chunk) => (failure ? Promise.reject(failure) : output.lines(chunk)),
        malformed: output.malformed,
        progress: output.progress
          ? (bytes, read) => {
              records[0] = read;
              output.progress!(bytes, showRecords());
            }
          : undefined,
      },
    );
    return sum(await Promise.all([here, ...inWorkers]));
  } catch (err) {
    failure = err as Error;
    throw err;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const post = (worker: Worker, message: EnrichMainMessage) => worker.postMessage(message);

/**
 * The inventory of `dirs`, its instances' tags posted to `workers` on the way (they read the rest
 * themselves). The documents it was read from are let go once it is made (some 100 MiB of heap
 * for the bench's 17 MB).
 */
function inventoryHandingOnInstances(dirs: readonly string[], workers: readonly Worker[]): Inventory {
  const documents = readInventory(dirs);
  const instances = instanceTagsOnly(documents.instances);
  for (const worker of workers) post(worker, { kind: "instances", instances });
  return new Inventory(documents);
}

function sum(tallies: readonly EnrichTally[]): EnrichTally {
  const total = emptyTally();
  for (const t of tallies) {
    for (const key of Object.keys(total.counts) as (keyof EnrichTally["counts"])[]) total.counts[key] += t.counts[key];
    total.enriched += t.enriched;
    total.unknown += t.unknown;
    total.unplaced += t.unplaced;
    total.written += t.written;
    total.outsideWindows += t.outsideWindows;
  }
  return total;
}
