/**
 * One measured run for the enrichment benchmark, in its own process so its peak RSS is its own:
 * `baseline` only reads the input and splits lines and fields; `enrich` runs flowtap enrich as the
 * CLI does (its default threads for the input's size), `enrich-one-thread` on the main thread only,
 * `enrich-window` with 60-second windows (default threads), `enrich-window-one-thread` so on the main thread only,
 * `enrich-threads-N` with N threads.
 * Prints one JSON line: records, seconds, peak RSS, threads.
 */
import { createReadStream } from "node:fs";
import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import { runEnrich } from "../cli/enrich";

/** The baseline's field splitting: any run of spaces or tabs, without a regular expression. */
function splitFields(line: string): string[] {
  const parts: string[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) {
      if (start !== -1) parts.push(line.slice(start, i));
      start = -1;
    } else if (start === -1) start = i;
  }
  if (start !== -1) parts.push(line.slice(start));
  return parts;
}

async function main(): Promise<void> {
  const [mode, inventoryDir, ...files] = process.argv.slice(2);
  const started = process.hrtime.bigint();
  let records = 0;
  let threads = 1;
  if (mode === "baseline") {
    for (const file of files) {
      for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
        if (splitFields(line).length > 0) records++;
      }
    }
  } else {
    const sink = new PassThrough();
    sink.resume();
    const stderr = new PassThrough();
    let summary = "";
    stderr.on("data", (c) => (summary += c));
    const windowSeconds = mode.startsWith("enrich-window") ? 60 : undefined;
    const threadsAsked = /-threads-(\d+)$/.exec(mode)?.[1];
    await runEnrich({ inventoryDirs: [inventoryDir], output: "jsonl", files, windowSeconds, threads: mode.endsWith("one-thread") ? 1 : threadsAsked ? Number(threadsAsked) : undefined }, { stdin: process.stdin, stdout: sink, stderr });
    records = Number(/(\d+) records read/.exec(summary)?.[1] ?? 0);
    threads = Number(/by (\d+) threads/.exec(summary)?.[1] ?? 1);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ records, seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024, threads }));
}

void main();
