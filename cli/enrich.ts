import { SingleBar } from "cli-progress";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { WindowAggregator } from "../functions/lib/flowlogs/aggregate";
import { FlowEnricher, FlowMerger } from "../functions/lib/flowlogs/enrich";
import { parseLogFormat } from "../functions/lib/flowlogs/format";
import { emptyCounts, FlowLogReader, readInto } from "../functions/lib/flowlogs/input";
import { EnrichedJsonWriter } from "../functions/lib/flowlogs/serialize";
import { loadInventory } from "./inventory-files";
import { copyJsonlToParquet } from "./duckdb";

export interface EnrichOptions {
  /** The log format string as given to CreateFlowLogs; the header line of S3 files overrides it. */
  readonly format?: string;
  readonly inventoryDir?: string;
  readonly windowSeconds?: number;
  readonly output: "jsonl" | "parquet";
  readonly outFile?: string;
  /** Input files; stdin when none. */
  readonly files: readonly string[];
}

export interface EnrichIo {
  readonly stdin: Readable;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** How many malformed lines are reported one by one before only the count goes on. */
const MALFORMED_REPORTED = 20;

/**
 * `flowtap enrich`: flow log records in, one enriched JSON object per line out (or Parquet),
 * streaming, with a summary on stderr. Exits 0 unless nothing at all could be read.
 */
export async function runEnrich(options: EnrichOptions, io: EnrichIo): Promise<number> {
  const format = parseLogFormat(options.format);
  if (!format.ok) {
    io.stderr.write(`flowtap enrich: --format: ${format.reason}\n`);
    return 2;
  }
  if (options.output === "parquet" && !options.outFile) {
    io.stderr.write("flowtap enrich: --output parquet needs --out FILE\n");
    return 2;
  }
  const inventory = loadInventory(options.inventoryDir);
  const counts = emptyCounts();
  let enriched = 0;
  let unknown = 0;
  let written = 0;

  const scratch = options.output === "parquet" ? mkdtempSync(path.join(tmpdir(), "flowtap-enrich-")) : undefined;
  const jsonlPath = scratch ? path.join(scratch, "enriched.jsonl") : options.outFile;
  const sink: NodeJS.WritableStream = jsonlPath ? createWriteStream(jsonlPath) : io.stdout;
  // Records are written into one buffer and handed to the stream a megabyte or so at a time.
  const writer = new EnrichedJsonWriter();
  const flushWriter = async () => {
    if (writer.length === 0) return;
    if (!sink.write(writer.take())) await new Promise((resolve) => sink.once("drain", resolve));
  };
  const aggregator = options.windowSeconds
    ? new WindowAggregator(options.windowSeconds, (record) => {
        written++;
        writer.writeLine(JSON.stringify(record));
      })
    : undefined;
  const merger = new FlowMerger((flow) => {
    if (aggregator) aggregator.push(flow);
    else {
      written++;
      writer.write(flow);
    }
  });
  const enricher = new FlowEnricher(inventory);

  const sources: { name: string; stream: Readable; size?: number }[] =
    options.files.length === 0 ? [{ name: "stdin", stream: io.stdin }] : options.files.map((f) => ({ name: f, stream: createReadStream(f, { highWaterMark: 1 << 20 }), size: statSync(f).size }));
  const totalBytes = sources.reduce((n, s) => n + (s.size ?? 0), 0);
  const bar = io.stderr.isTTY && options.files.length > 0 ? new SingleBar({ stream: io.stderr, format: "enrich {bar} {percentage}% | {records} records" }) : undefined;
  bar?.start(totalBytes, 0, { records: 0 });

  for (const source of sources) {
    const counted = new PassThrough({ highWaterMark: 1 << 20 });
    source.stream.on("data", (chunk: Buffer) => bar?.increment(chunk.length, { records: counts.records }));
    source.stream.on("error", (err) => counted.destroy(err));
    source.stream.pipe(counted);
    const reader = new FlowLogReader(format.fields, counts, {
      record: (slots) => {
        const flow = enricher.enrich(slots);
        if (flow.client?.side.Type === "unknown" || flow.server?.side.Type === "unknown") unknown++;
        if (flow.client) enriched++;
        merger.push(flow);
      },
      malformed: (line, reason) => {
        if (counts.malformed <= MALFORMED_REPORTED) io.stderr.write(`${source.name}:${line}: skipped: ${reason}\n`);
      },
    });
    await readInto(counted, reader, async () => {
      if (writer.length > 1 << 20) await flushWriter();
    });
  }
  merger.flush();
  aggregator?.flush();
  await flushWriter();
  bar?.stop();
  if (jsonlPath) await new Promise<void>((resolve) => (sink as WriteStream).end(resolve));

  if (scratch && jsonlPath && options.outFile) {
    try {
      await copyJsonlToParquet(jsonlPath, options.outFile, written);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  if (counts.malformed > MALFORMED_REPORTED) io.stderr.write(`… and ${counts.malformed - MALFORMED_REPORTED} more malformed lines\n`);
  io.stderr.write(
    `flowtap enrich: ${counts.read} records read, ${enriched} enriched, ${counts.nodata + counts.skipdata} without traffic (NODATA/SKIPDATA), ${counts.malformed} malformed, ${unknown} with an unknown private address; ${written} written${options.windowSeconds ? ` (${options.windowSeconds}-second windows)` : ""}\n`,
  );
  return counts.records === 0 ? 1 : 0;
}
