import type { WindowTotal } from "./aggregate";
import { crossAzOf, protocolName, type Endpoint, type Flow } from "./enrich";
import type { RuleMatch } from "./security-groups";

const ascii = (text: string) => Buffer.from(text, "latin1");
const KEY = {
  windowStart: ascii(',"Window":{"Start":'),
  windowEnd: ascii(',"End":'),
  windowSeconds: ascii(',"Seconds":'),
  flows: ascii('},"Flows":'),
  start: ascii('"Start":'),
  end: ascii('"End":'),
  uploaded: ascii('"Uploaded":'),
  downloaded: ascii(',"Downloaded":'),
  packets: ascii(',"Packets":'),
  port: ascii(',"Port":'),
  crossAzTrue: ascii(',"CrossAz":true'),
  crossAzFalse: ascii(',"CrossAz":false'),
};
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
/** Room for everything of a record but its fragments. */
const RECORD_OVERHEAD = 256;
/** Record heads held at once (one or a few per ENI): bounded like every cache here. */
const HEADS_HELD = 100_000;

/** `{"Version":…,"AccountId":…,"InterfaceId":…,"Protocol":…,`: the fields a record shares with every other its ENI logged. */
class RecordHead {
  readonly json: Buffer;
  /** Another head of the same ENI (another protocol, say). */
  next?: RecordHead;

  constructor(
    readonly version: number | undefined,
    readonly accountId: string | undefined,
    readonly interfaceId: string | undefined,
    readonly protocol: number | undefined,
  ) {
    let json = "{";
    if (version !== undefined) json += `"Version":${version},`;
    if (accountId !== undefined) json += `"AccountId":${JSON.stringify(accountId)},`;
    if (interfaceId !== undefined) json += `"InterfaceId":${JSON.stringify(interfaceId)},`;
    if (protocol !== undefined) json += `"Protocol":${JSON.stringify(protocolName(protocol))},`;
    this.json = Buffer.from(json);
  }
}

/**
 * Writes flows as JSON lines straight into bytes, from fragments made once per ENI, endpoint, rule
 * set and outcome: the same text `JSON.stringify(toEnrichedRecord(flow))` gives, at a fraction of
 * the cost (building the object and stringifying it costs more than the enrichment itself).
 */
export class EnrichedJsonWriter {
  private buffer = Buffer.allocUnsafe(1 << 21);
  /** Bytes written since the last take(). */
  length = 0;
  private readonly heads = new Map<string | undefined, RecordHead>();
  /** `"Action":…,"LogStatus":…,` per action and status; the last one is checked first. */
  private readonly outcomes = new Map<string, Buffer>();
  private lastAction?: string;
  private lastLogStatus?: string;
  private lastOutcome: Buffer = Buffer.alloc(0);

  /** Appends one flow as a line of JSON. */
  write(flow: Flow): void {
    const head = this.head(flow, flow.interfaceId);
    const outcome = this.outcome(flow.action, flow.logStatus);
    const hasEnds = flow.client !== undefined && flow.server !== undefined;
    const needed = RECORD_OVERHEAD + head.length + outcome.length + (hasEnds ? endsBytes(flow) : 0);
    if (this.length + needed > this.buffer.length) this.grow(needed);

    const out = this.buffer;
    let at = put(out, this.length, head);
    // Each optional field is written with the comma after it: "Uploaded", always present, follows.
    if (flow.start !== undefined) at = putNumberField(out, at, KEY.start, flow.start);
    if (flow.end !== undefined) at = putNumberField(out, at, KEY.end, flow.end);
    at = put(out, at, outcome);
    at = putTraffic(out, at, flow.uploaded, flow.downloaded, flow.packets);
    if (hasEnds) at = putEnds(out, at, flow, flow.clientPort);
    out[at++] = CLOSE_BRACE;
    out[at++] = NEWLINE;
    this.length = at;
  }

  /**
   * Appends one window's total as a line of JSON: the same text as `JSON.stringify(toAggregatedRecord(total))`,
   * its first flow's fields but for its ENI, times, log status and client port, then its window and flow count.
   */
  writeWindow(total: WindowTotal): void {
    const flow = total.flow;
    const head = this.head(flow, undefined);
    const outcome = this.outcome(flow.action, undefined);
    const needed = RECORD_OVERHEAD + head.length + outcome.length + endsBytes(flow);
    if (this.length + needed > this.buffer.length) this.grow(needed);

    const out = this.buffer;
    let at = put(out, this.length, head);
    at = put(out, at, outcome);
    at = putTraffic(out, at, total.uploaded, total.downloaded, total.packets);
    at = putEnds(out, at, flow, undefined);
    at = put(out, at, KEY.windowStart);
    at = putNumber(out, at, total.windowStart);
    at = put(out, at, KEY.windowEnd);
    at = putNumber(out, at, total.windowStart + total.seconds);
    at = put(out, at, KEY.windowSeconds);
    at = putNumber(out, at, total.seconds);
    at = put(out, at, KEY.flows);
    at = putNumber(out, at, total.flows);
    out[at++] = CLOSE_BRACE;
    out[at++] = NEWLINE;
    this.length = at;
  }

  /** The head of a record of `interfaceId` (undefined for a window's, which names none). */
  private head(flow: Flow, interfaceId: string | undefined): Buffer {
    const first = this.heads.get(interfaceId);
    for (let head = first; head; head = head.next) {
      if (head.version === flow.version && head.protocol === flow.protocol && head.accountId === flow.accountId) return head.json;
    }
    const head = new RecordHead(flow.version, flow.accountId, interfaceId, flow.protocol);
    if (this.heads.size >= HEADS_HELD) this.heads.clear();
    else head.next = first;
    this.heads.set(interfaceId, head);
    return head.json;
  }

  private outcome(action: string | undefined, logStatus: string | undefined): Buffer {
    if (action === this.lastAction && logStatus === this.lastLogStatus) return this.lastOutcome;
    const key = `${action} ${logStatus}`;
    let json = this.outcomes.get(key);
    if (!json) {
      json = Buffer.from(`${action !== undefined ? `"Action":${JSON.stringify(action)},` : ""}${logStatus !== undefined ? `"LogStatus":${JSON.stringify(logStatus)},` : ""}`);
      // Both fields have closed vocabularies: this map stays small.
      this.outcomes.set(key, json);
    }
    this.lastAction = action;
    this.lastLogStatus = logStatus;
    this.lastOutcome = json;
    return json;
  }

  /** A copy of the bytes written since the last take(); the writer then starts again, in the same buffer. */
  take(): Buffer {
    const written = Buffer.from(this.buffer.subarray(0, this.length));
    this.length = 0;
    return written;
  }

  /** The bytes written since the last take(), as text in `encoding` (no copy of the bytes on the way); the writer then starts again. */
  takeText(encoding: BufferEncoding): string {
    const text = this.buffer.toString(encoding, 0, this.length);
    this.length = 0;
    return text;
  }

  private grow(needed: number): void {
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + needed));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

/* Writers of one piece each: they take the buffer and position and return the position after. */

function put(out: Buffer, at: number, fragment: Buffer): number {
  // Very short fragments are copied byte by byte: a native copy costs more to call than it saves.
  if (fragment.length < 16) {
    for (let i = 0; i < fragment.length; i++) out[at++] = fragment[i];
    return at;
  }
  out.set(fragment, at);
  return at + fragment.length;
}

const POWERS_OF_TEN = Float64Array.from({ length: 17 }, (_, i) => 10 ** i);
/** The digits of 00 to 99, two bytes each: numbers are written two digits per division. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i % 2 === 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));

/** A non-negative whole number, as JSON writes it. */
function putNumber(out: Buffer, at: number, value: number): number {
  let digits = 1;
  while (digits < 16 && value >= POWERS_OF_TEN[digits]) digits++;
  const end = at + digits;
  let position = end;
  let v = value;
  while (v > 0x7fffffff) {
    out[--position] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  // Within 32 bits integer division is exact and much cheaper than floating point.
  while (v >= 100) {
    const pair = (v % 100) * 2;
    v = (v / 100) | 0;
    out[--position] = DIGIT_PAIRS[pair + 1];
    out[--position] = DIGIT_PAIRS[pair];
  }
  if (v >= 10) {
    out[position - 1] = DIGIT_PAIRS[v * 2 + 1];
    out[position - 2] = DIGIT_PAIRS[v * 2];
  } else out[position - 1] = 48 + v;
  return end;
}

function putNumberField(out: Buffer, at: number, key: Buffer, value: number): number {
  at = put(out, at, key);
  at = putNumber(out, at, value);
  out[at] = COMMA;
  return at + 1;
}

function putTraffic(out: Buffer, at: number, uploaded: number, downloaded: number, packets: number): number {
  at = put(out, at, KEY.uploaded);
  at = putNumber(out, at, uploaded);
  at = put(out, at, KEY.downloaded);
  at = putNumber(out, at, downloaded);
  at = put(out, at, KEY.packets);
  return putNumber(out, at, packets);
}

/** The room the ends of a flow with both take. */
function endsBytes(flow: Flow): number {
  const client = flow.client!;
  const server = flow.server!;
  return client.clientJsonHead.length + client.jsonRest.length + server.serverJsonHead.length + server.jsonRest.length + (flow.clientRules?.json.length ?? 0) + (flow.serverRules?.json.length ?? 0);
}

/** `,"Client":{…},"Server":{…}` and CrossAz when it is known (crossAzOf), of a flow with both ends; the client's port unless it is left out. */
function putEnds(out: Buffer, at: number, flow: Flow, clientPort: number | undefined): number {
  const client = flow.client!;
  const server = flow.server!;
  at = putSide(out, at, client.clientJsonHead, client, clientPort, flow.clientRules);
  at = putSide(out, at, server.serverJsonHead, server, flow.serverPort, flow.serverRules);
  const crossAz = crossAzOf(flow);
  return crossAz === undefined ? at : put(out, at, crossAz ? KEY.crossAzTrue : KEY.crossAzFalse);
}

function putSide(out: Buffer, at: number, head: Buffer, endpoint: Endpoint, port: number | undefined, rules: RuleMatch | undefined): number {
  at = put(out, at, head);
  if (port !== undefined) {
    at = put(out, at, KEY.port);
    at = putNumber(out, at, port);
  }
  at = put(out, at, endpoint.jsonRest);
  if (rules) at = put(out, at, rules.json);
  out[at] = CLOSE_BRACE;
  return at + 1;
}
