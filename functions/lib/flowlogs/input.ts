import { createGunzip, gunzipSync } from "node:zlib";
import { Readable } from "node:stream";
import { headerFormat } from "./format";
import { FIELD, isFlowLogField, type FlowLogField } from "./fields";
import { spread as importedSpread } from "./interner";
import { RecordScanner, type FlowLogRecord, type RecordSlots } from "./record";

const LOG_STATUS = FIELD["log-status"];
/** A local copy: an imported binding is read through a getter in CommonJS output, too slow per record. */
const spread = importedSpread;

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

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The JSON objects of a line, each with its value (undefined when it is not JSON). A line almost
 * always holds one (a Firehose record, a line of its delivery), so the whole is parsed first.
 */
function parsedJsonObjects(text: string): { json: string; value: unknown }[] {
  const whole = parsedJson(text);
  return whole !== undefined ? [{ json: text, value: whole }] : splitJsonObjects(text).map((json) => ({ json, value: parsedJson(json) }));
}

/** The `message` of each event that has one. */
const eventMessages = (events: unknown[]) =>
  events.flatMap((e) => (typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string" ? [(e as { message: string }).message] : []));

/** True for what `aws logs get-log-events` and `filter-log-events` answer: `{"events": [...], ...}`. */
function isLogEventsDocument(value: unknown): boolean {
  return typeof value === "object" && value !== null && Array.isArray((value as { events?: unknown }).events);
}

/**
 * The flow log lines in one JSON object: `{"message": "..."}` as Firehose direct delivery writes
 * it, a CloudWatch Logs subscription DATA_MESSAGE with its `logEvents` (a CONTROL_MESSAGE has none),
 * or the `events` of what `aws logs filter-log-events` and `get-log-events` answer.
 */
function messagesOf(value: unknown): string[] | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.message === "string") return [v.message];
  if (v.messageType === "CONTROL_MESSAGE") return [];
  if (v.messageType === "DATA_MESSAGE" && Array.isArray(v.logEvents)) return eventMessages(v.logEvents);
  if (isLogEventsDocument(v)) return eventMessages(v.events as unknown[]);
  return undefined;
}

/**
 * Decompressed output is handed on in chunks of this size: zlib's default (16 KiB) makes
 * decompression cost three times as much, and every chunk costs the reader a step of its own.
 */
const GUNZIP_CHUNK_BYTES = 1 << 20;

/** True when `bytes` begin as gzip data does (its two magic bytes). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The first `length` bytes of `source` (fewer when it is shorter), read before anything else is,
 * and all of its bytes, those included, to go on with: what tells what a stream holds.
 */
export async function headOf(source: Readable, length: number): Promise<{ head: Buffer; bytes: AsyncGenerator<Buffer> }> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const asBuffer = (chunk: Buffer | string) => (typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk);
  let head: Buffer = Buffer.alloc(0);
  let done = false;
  while (head.length < length && !done) {
    const next = await chunks.next();
    if (next.done) done = true;
    else head = head.length === 0 ? asBuffer(next.value) : Buffer.concat([head, asBuffer(next.value)]);
  }
  const bytes = async function* () {
    if (head.length > 0) yield head;
    while (!done) {
      const next = await chunks.next();
      if (next.done) return;
      yield asBuffer(next.value);
    }
  };
  return { head: head.subarray(0, length), bytes: bytes() };
}

/**
 * What gzip data that cannot be decompressed (cut short, corrupt) fails with: zlib's own errors
 * (`Z_BUF_ERROR`, `Z_DATA_ERROR`) do not say what was being read. Any other error is as it was.
 */
export function gzipFailure(name: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === "string" && code.startsWith("Z_") ? new Error(`${name}: ${(err as Error).message} (gzip data)`, { cause: err }) : err;
}

/** The bytes of `source`, chunk by chunk: gzip data (by its first bytes) is decompressed on the fly. */
async function* bytesOf(source: Readable, name: string): AsyncGenerator<Buffer> {
  const { head, bytes } = await headOf(source, 2);
  if (!isGzip(head)) return yield* bytes;
  const compressed = Readable.from(bytes, { objectMode: false });
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  // pipe() does not pass a failure on: without this, a source that fails would leave the read waiting.
  compressed.on("error", (err) => gunzip.destroy(err));
  try {
    yield* compressed.pipe(gunzip);
  } catch (err) {
    throw gzipFailure(name, err);
  }
}

/** What a FlowLogReader hands on, as it reads. */
export interface ReaderHandlers {
  /** A record, in the scanner's slots until the next record is read. */
  record(slots: RecordScanner, line: number): void;
  malformed(line: number, reason: string, text: string): void;
  /**
   * A header line below the first, or another document of log events: another file's or log
   * stream's records follow (they may go back in time).
   */
  seriesBegins?(): void;
}

/** The fields a record names addresses in; `pkt-` ones are the real ends behind NAT. */
const ADDRESS_FIELDS: readonly FlowLogField[] = ["srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr"];

/**
 * Reader handlers that keep each record as an object, and the addresses and ENIs the records
 * name: what code that must look them up before enriching (the Lambda functions) reads with.
 */
export class RecordCollector implements ReaderHandlers {
  private records: FlowLogRecord[] = [];
  readonly addresses = new Set<string>();
  readonly interfaceIds = new Set<string>();

  constructor(readonly malformed: ReaderHandlers["malformed"]) {}

  record(slots: RecordScanner): void {
    const record = slots.toRecord();
    this.records.push(record);
    for (const field of ADDRESS_FIELDS) if (typeof record[field] === "string") this.addresses.add(record[field]);
    if (typeof record["interface-id"] === "string") this.interfaceIds.add(record["interface-id"]);
  }

  /** The records collected since the last take. */
  take(): FlowLogRecord[] {
    const records = this.records;
    this.records = [];
    return records;
  }
}

/** A line longer than this is not a flow log record or payload: it is reported and skipped. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;
const NEWLINE = 0x0a;

/** `H4sI`: how base64 of gzip data (1f 8b 08) begins. */
function startsWithGzipBase64(bytes: Buffer, start: number, end: number): boolean {
  return end - start > 4 && bytes[start] === 0x48 && bytes[start + 1] === 0x34 && bytes[start + 2] === 0x73 && bytes[start + 3] === 0x49;
}

/** How an event's message begins in a JSON document printed one key to a line. */
const MESSAGE_KEY = Buffer.from('"message":', "latin1");

function startsWith(bytes: Buffer, start: number, end: number, prefix: Buffer): boolean {
  return end - start >= prefix.length && bytes.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0;
}

/** True when `bytes[start..end)` holds only JSON's brackets and commas: a line of a document's structure. */
function isJsonStructure(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c !== 0x7b && c !== 0x7d && c !== 0x5b && c !== 0x5d && c !== 0x2c && !isBlank(c)) return false;
  }
  return true;
}

/** The UTF-8 byte order mark that Windows tools (PowerShell's `Out-File`, Notepad) write first. */
const BYTE_ORDER_MARK = Buffer.from([0xef, 0xbb, 0xbf]);

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** The longest field name (`ecs-container-instance-arn`) and then some: a longer first word is no field's. */
const FIELD_NAME_MAX_BYTES = 32;

/** True when a line's first word is a field's name, as a header line's is (cheap: most records begin with a digit). */
function startsWithFieldName(bytes: Buffer, start: number, end: number): boolean {
  if (bytes[start] < 0x61 || bytes[start] > 0x7a /* a-z */) return false;
  let i = start;
  const limit = Math.min(end, start + FIELD_NAME_MAX_BYTES);
  while (i < limit && !isBlank(bytes[i])) i++;
  return isFlowLogField(bytes.toString("latin1", start, i));
}

/** `yyyy-mm-ddThh:mm:ss`, `9` for a digit: how the timestamp of an exported CloudWatch Logs event begins. */
const EXPORT_TIMESTAMP = Buffer.from("9999-99-99T99:99:99", "latin1");
const NINE = 0x39;

/**
 * Where the event of a line begins after the timestamp a CloudWatch Logs export task
 * (CreateExportTask) writes before each one (`2024-11-21T16:00:00.000Z 2 123456789010 eni-…`), or
 * `start` when the line has none. No flow log field's value looks like one.
 */
function afterExportTimestamp(bytes: Buffer, start: number, end: number): number {
  if (end - start <= EXPORT_TIMESTAMP.length + 1 || bytes[start + 4] !== 0x2d /* - */) return start;
  for (let i = 0; i < EXPORT_TIMESTAMP.length; i++) {
    const c = bytes[start + i];
    if (EXPORT_TIMESTAMP[i] === NINE ? c < 0x30 || c > NINE : c !== EXPORT_TIMESTAMP[i]) return start;
  }
  let i = start + EXPORT_TIMESTAMP.length;
  if (bytes[i] === 0x2e /* . */) while (++i < end && bytes[i] >= 0x30 && bytes[i] <= NINE);
  if (i >= end - 1 || bytes[i] !== 0x5a /* Z */ || !isBlank(bytes[i + 1])) return start;
  i++;
  while (i < end && isBlank(bytes[i])) i++;
  return i;
}

/**
 * One of `count` readers of the same input, each reading the records of its share of the flows,
 * chosen by a hash of the ENI and the flow's two ends (address and port) in either order (so that
 * the two directions of a flow, which one ENI logs, reach the same reader, and the flows of a busy
 * ENI, or of a busy pair of addresses such as an application and its database, spread over all).
 * What is not a record at all (a line that is not JSON, say) is reported by reader 0 only.
 */
export interface ReaderPartition {
  readonly index: number;
  readonly count: number;
}

/**
 * How a reader tells its partition's records when not by their line's bytes: by a hash of what
 * the record's addresses stand for (the resources at its ends, say), given slots in which only the
 * address fields are read. A line that is not a record belongs to the reader its addresses give.
 */
export type AddressesHash = (addresses: RecordSlots) => number;

/**
 * Reads flow log records from any of the shapes they arrive in, chunk by chunk: plain text
 * (with or without the header line S3 delivery writes, which then sets the format), Firehose
 * JSON lines, CloudWatch Logs subscription payloads (gzip'd and base64'd, or not), and what a
 * CloudWatch Logs export task writes (each event after its timestamp). Nothing
 * is held but the unfinished last line of a chunk. A line that is not a record is reported with
 * its line number and reason, and never disturbs the next.
 */
export class FlowLogReader {
  private readonly scanner: RecordScanner;
  private carry: Buffer | undefined;
  private skippingLongLine = false;
  private lineNumber = 0;
  /** Within a JSON document printed one key to a line. */
  private inJsonDocument = false;

  /** True when this reader reports what is not a record (and so belongs to no flow). */
  private readonly reportsUnowned: boolean;

  constructor(
    format: readonly FlowLogField[],
    private readonly counts: ReadCounts,
    private readonly handlers: ReaderHandlers,
    private readonly partition?: ReaderPartition,
    private readonly addressesHash?: AddressesHash,
  ) {
    this.scanner = new RecordScanner(format);
    if (partition && !(Number.isInteger(partition.count) && partition.count > 0 && Number.isInteger(partition.index) && partition.index >= 0 && partition.index < partition.count)) {
      throw new Error(`partition ${partition.index} of ${partition.count}: expected a whole index from 0 to count - 1`);
    }
    this.reportsUnowned = (partition?.index ?? 0) === 0;
  }

  /** Reads the complete lines of `chunk` (and of what was left of the previous one). */
  push(chunk: Buffer): void {
    const bytes = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    let position = 0;
    for (;;) {
      const newline = bytes.indexOf(NEWLINE, position);
      if (newline === -1) break;
      if (this.skippingLongLine) this.skippingLongLine = false;
      else this.line(bytes, position, newline);
      position = newline + 1;
    }
    if (position === bytes.length || this.skippingLongLine) return;
    if (bytes.length - position > MAX_LINE_BYTES) {
      this.lineNumber++;
      if (this.reportsUnowned) {
        this.counts.read++;
        this.counts.malformed++;
        this.handlers.malformed(this.lineNumber, `line longer than ${MAX_LINE_BYTES} bytes`, bytes.toString("utf8", position, position + 200));
      }
      this.skippingLongLine = true;
      return;
    }
    this.carry = bytes.subarray(position);
  }

  /** Reads the last line, when the input does not end with a newline; a JSON document ends with its input. */
  end(): void {
    if (this.carry) this.line(this.carry, 0, this.carry.length);
    this.carry = undefined;
    this.inJsonDocument = false;
  }

  private line(bytes: Buffer, start: number, end: number): void {
    this.lineNumber++;
    if (this.lineNumber === 1 && startsWith(bytes, start, end, BYTE_ORDER_MARK)) start += BYTE_ORDER_MARK.length;
    const unindented = start;
    while (start < end && isBlank(bytes[start])) start++;
    while (end > start && isBlank(bytes[end - 1])) end--;
    if (start === end) return;
    // A JSON document printed one key to a line begins with a line that is `{` and ends with one that is `}`, unindented.
    if (end - start === 1 && bytes[start] === 0x7b /* { */ && !this.inJsonDocument) {
      this.inJsonDocument = true;
      // get-log-events reads one log stream (one ENI's): the next document may go back in time.
      if (this.lineNumber > 1) this.handlers.seriesBegins?.();
      return;
    }
    if (this.inJsonDocument) {
      if (end - start === 1 && bytes[start] === 0x7d /* } */ && start === unindented) this.inJsonDocument = false;
      if (this.jsonDocumentLine(bytes, start, end)) return;
    }
    if (bytes[start] === 0x7b /* { */) return this.json(bytes.toString("utf8", start, end));
    // A CloudWatch Logs payload as Lambda receives it: base64 of gzip'd JSON.
    if (startsWithGzipBase64(bytes, start, end) && this.base64(bytes.toString("latin1", start, end))) return;
    start = afterExportTimestamp(bytes, start, end);
    // A header further down begins another file's records (S3 files concatenated, as `zcat` does).
    if (this.lineNumber === 1 || startsWithFieldName(bytes, start, end)) {
      const header = headerFormat(bytes.toString("utf8", start, end));
      if (header) {
        this.scanner.setFormat(header);
        if (this.lineNumber > 1) this.handlers.seriesBegins?.();
        return;
      }
    }
    this.record(bytes, start, end);
  }

  private record(bytes: Buffer, start: number, end: number): void {
    const scanner = this.scanner;
    const partition = this.partition;
    if (partition) {
      let hash: number;
      if (this.addressesHash) {
        scanner.scanAddresses(bytes, start, end);
        hash = this.addressesHash(scanner);
      } else hash = scanner.flowKeyHash(bytes, start, end);
      if ((spread(hash) >>> 0) % partition.count !== partition.index) return;
    }
    const counts = this.counts;
    counts.read++;
    if (!scanner.scan(bytes, start, end)) {
      counts.malformed++;
      this.handlers.malformed(this.lineNumber, scanner.reason, bytes.toString("utf8", start, end));
      return;
    }
    counts.records++;
    if (scanner.present[LOG_STATUS]) {
      const status = scanner.texts[LOG_STATUS];
      if (status === "NODATA") counts.nodata++;
      else if (status === "SKIPDATA") counts.skipdata++;
    }
    this.handlers.record(scanner, this.lineNumber);
  }

  /**
   * Reads a line of a JSON document printed one key to a line, as the AWS CLI prints what
   * `aws logs filter-log-events` and `get-log-events` answer: an event's `"message": "…",` as it
   * comes (the document may be larger than memory), its other keys and brackets as structure. False
   * when the line is neither (a record after a document cut short, say): it is read as any other.
   */
  private jsonDocumentLine(bytes: Buffer, start: number, end: number): boolean {
    if (!startsWith(bytes, start, end, MESSAGE_KEY)) return bytes[start] === 0x22 /* " */ || isJsonStructure(bytes, start, end);
    if (bytes[end - 1] === 0x2c /* , */) end--;
    const message = (parsedJson(`{${bytes.toString("utf8", start, end)}}`) as { message?: unknown } | undefined)?.message;
    if (typeof message === "string") this.messages([message]);
    else if (this.reportsUnowned) {
      this.counts.read++;
      this.counts.malformed++;
      this.handlers.malformed(this.lineNumber, "a JSON document's message that is not a JSON string", bytes.toString("utf8", start, Math.min(end, start + 200)));
    }
    return true;
  }

  private messages(messages: readonly string[]): void {
    for (const message of messages) {
      const bytes = Buffer.from(message, "utf8");
      this.record(bytes, 0, bytes.length);
    }
  }

  private json(text: string): void {
    let first = this.lineNumber === 1;
    for (const { json, value } of parsedJsonObjects(text)) {
      // A document of log events (one to a line, as `jq -c` prints them) is a log stream's, as above.
      if (!first && isLogEventsDocument(value)) this.handlers.seriesBegins?.();
      first = false;
      const messages = messagesOf(value);
      if (messages === undefined) {
        if (!this.reportsUnowned) continue;
        this.counts.read++;
        this.counts.malformed++;
        this.handlers.malformed(this.lineNumber, 'JSON that is neither {"message": ...} nor a CloudWatch Logs subscription payload', json.slice(0, 200));
        continue;
      }
      this.messages(messages);
    }
  }

  /** True when the line was a CloudWatch Logs payload (and its records were read). */
  private base64(text: string): boolean {
    if (!/^H4sI[A-Za-z0-9+/=]+$/.test(text)) return false;
    let messages: string[] | undefined;
    try {
      messages = messagesOf(JSON.parse(gunzipSync(Buffer.from(text, "base64")).toString("utf8")));
    } catch {
      return false;
    }
    if (messages === undefined) return false;
    this.messages(messages);
    return true;
  }
}

/** How readInto reads. */
export interface ReadIntoOptions {
  /** What the input is called in errors. @default "input" */
  readonly name?: string;
  /** Called after each chunk is read; the next waits for it. */
  readonly afterChunk?: () => Promise<void> | void;
}

/** Decompresses `source` when it is gzip and feeds it, chunk by chunk, to a reader. */
export async function readInto(source: Readable, reader: FlowLogReader, options: ReadIntoOptions = {}): Promise<void> {
  for await (const chunk of bytesOf(source, options.name ?? "input")) {
    reader.push(chunk);
    await options.afterChunk?.();
  }
  reader.end();
}

export function emptyCounts(): ReadCounts {
  return { read: 0, records: 0, malformed: 0, nodata: 0, skipdata: 0 };
}
