import { createGunzip, gunzipSync } from "node:zlib";
import { Readable } from "node:stream";
import { createInterface } from "node:readline";
import { headerFormat } from "./format";
import type { FlowLogField } from "./fields";
import { parseRecord, type FlowLogRecord } from "./record";

/** What one input line (or log event) gave: a record, or why it is not one, with where it was. */
export type ReadItem =
  | { readonly kind: "record"; readonly record: FlowLogRecord; readonly line: number }
  | { readonly kind: "malformed"; readonly line: number; readonly reason: string; readonly text: string };

/** Counts kept while reading: what a summary reports. */
export interface ReadCounts {
  read: number;
  records: number;
  malformed: number;
  nodata: number;
  skipdata: number;
}

/** Splits a line holding one or more concatenated JSON objects (`{...}{...}`), as Firehose writes CloudWatch Logs payloads. */
export function splitJsonObjects(text: string): string[] {
  const objects: string[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{") {
      if (depth === 0) start = i;
      depth++;
    } else if (c === "}") {
      depth--;
      if (depth === 0 && start !== -1) {
        objects.push(text.slice(start, i + 1));
        start = -1;
      }
    }
  }
  return objects;
}

/**
 * The flow log lines in one JSON object: `{"message": "..."}` as Firehose direct delivery writes
 * it, or a CloudWatch Logs subscription DATA_MESSAGE with its `logEvents` (a CONTROL_MESSAGE has none).
 */
function messagesOf(value: unknown): string[] | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.message === "string") return [v.message];
  if (v.messageType === "CONTROL_MESSAGE") return [];
  if (v.messageType === "DATA_MESSAGE" && Array.isArray(v.logEvents)) {
    return v.logEvents.flatMap((e) => (typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string" ? [(e as { message: string }).message] : []));
  }
  return undefined;
}

async function* linesOf(source: Readable): AsyncGenerator<string> {
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  for await (const line of lines) yield line;
}

/** Looks at the first bytes: gzip data is decompressed on the fly; anything else is read as it is. */
async function decompressed(source: Readable): Promise<Readable> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let head = Buffer.alloc(0);
  let done = false;
  while (head.length < 2 && !done) {
    const next = await chunks.next();
    if (next.done) done = true;
    else head = Buffer.concat([head, Buffer.from(next.value)]);
  }
  const all = async function* () {
    if (head.length > 0) yield head;
    while (!done) {
      const next = await chunks.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  };
  const stream = Readable.from(all(), { objectMode: false });
  return head[0] === 0x1f && head[1] === 0x8b ? stream.pipe(createGunzip()) : stream;
}

/**
 * Reads flow log records from any of the shapes they arrive in: plain text (with or without the
 * header line S3 delivery writes, which then sets the format), gzip, Firehose JSON lines, and
 * CloudWatch Logs subscription payloads (gzip'd, base64'd or not). Streams: nothing is held but
 * the current line. A line that is not a record is reported with its line number and reason,
 * and never disturbs the next.
 */
export async function* readFlowLogs(source: Readable, format: readonly FlowLogField[], counts: ReadCounts): AsyncGenerator<ReadItem> {
  let fields = format;
  let lineNumber = 0;
  const parse = function* (text: string, line: number): Generator<ReadItem> {
    counts.read++;
    const parsed = parseRecord(text, fields);
    if (!parsed.ok) {
      counts.malformed++;
      yield { kind: "malformed", line, reason: parsed.reason, text };
      return;
    }
    counts.records++;
    if (parsed.record["log-status"] === "NODATA") counts.nodata++;
    else if (parsed.record["log-status"] === "SKIPDATA") counts.skipdata++;
    yield { kind: "record", record: parsed.record, line };
  };
  for await (const raw of linesOf(await decompressed(source))) {
    lineNumber++;
    const text = raw.trim();
    if (text.length === 0) continue;
    if (text.startsWith("{")) {
      const objects = splitJsonObjects(text);
      for (const json of objects) {
        let messages: string[] | undefined;
        try {
          messages = messagesOf(JSON.parse(json));
        } catch {
          messages = undefined;
        }
        if (messages === undefined) {
          counts.read++;
          counts.malformed++;
          yield { kind: "malformed", line: lineNumber, reason: "JSON that is neither {\"message\": ...} nor a CloudWatch Logs subscription payload", text: json.slice(0, 200) };
          continue;
        }
        for (const message of messages) yield* parse(message, lineNumber);
      }
      continue;
    }
    // A CloudWatch Logs payload as Lambda receives it: base64 of gzip'd JSON.
    if (/^H4sI[A-Za-z0-9+/=]+$/.test(text)) {
      let messages: string[] | undefined;
      try {
        messages = messagesOf(JSON.parse(gunzipSync(Buffer.from(text, "base64")).toString("utf8")));
      } catch {
        messages = undefined;
      }
      if (messages !== undefined) {
        for (const message of messages) yield* parse(message, lineNumber);
        continue;
      }
    }
    if (lineNumber === 1) {
      const header = headerFormat(text);
      if (header) {
        fields = header;
        continue;
      }
    }
    yield* parse(text, lineNumber);
  }
}

export function emptyCounts(): ReadCounts {
  return { read: 0, records: 0, malformed: 0, nodata: 0, skipdata: 0 };
}
