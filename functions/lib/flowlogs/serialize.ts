import { protocolName, type Endpoint, type Flow } from "./enrich";
import type { RuleMatch } from "./security-groups";

const ascii = (text: string) => Buffer.from(text, "latin1");
const KEY = {
  version: ascii('"Version":'),
  accountId: ascii('"AccountId":'),
  interfaceId: ascii('"InterfaceId":'),
  protocol: ascii('"Protocol":'),
  start: ascii('"Start":'),
  end: ascii('"End":'),
  action: ascii('"Action":'),
  logStatus: ascii('"LogStatus":'),
  uploaded: ascii('"Uploaded":'),
  downloaded: ascii(',"Downloaded":'),
  packets: ascii(',"Packets":'),
  client: ascii(',"Client":'),
  server: ascii(',"Server":'),
  port: ascii(',"Port":'),
  crossAzTrue: ascii(',"CrossAz":true'),
  crossAzFalse: ascii(',"CrossAz":false'),
};
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
/** Room for everything of a record but its endpoints' and rules' fragments. */
const RECORD_OVERHEAD = 1024;
/** Quoted strings held at once (ENI ids, accounts, actions): bounded like every cache here. */
const QUOTED_HELD = 100_000;

/** JSON strings made once per distinct value; most fields repeat their last value, checked first. */
class QuotedStrings {
  private last?: string;
  private lastJson: Buffer = Buffer.alloc(0);
  private readonly known = new Map<string, Buffer>();

  json(text: string): Buffer {
    if (text === this.last) return this.lastJson;
    let json = this.known.get(text);
    if (!json) {
      json = Buffer.from(JSON.stringify(text));
      if (this.known.size >= QUOTED_HELD) this.known.clear();
      this.known.set(text, json);
    }
    this.last = text;
    this.lastJson = json;
    return json;
  }
}

/**
 * Writes flows as JSON lines straight into bytes, from fragments made once per endpoint, rule
 * set and string: the same text `JSON.stringify(toEnrichedRecord(flow))` gives, at a fraction of
 * the cost (building the object and stringifying it costs more than the enrichment itself).
 */
export class EnrichedJsonWriter {
  private buffer = Buffer.allocUnsafe(1 << 21);
  /** Bytes written since the last take(). */
  length = 0;
  private readonly accountIds = new QuotedStrings();
  private readonly interfaceIds = new QuotedStrings();
  private readonly actions = new QuotedStrings();
  private readonly logStatuses = new QuotedStrings();
  private readonly protocols = new QuotedStrings();

  /** Appends one flow as a line of JSON. */
  write(flow: Flow): void {
    const client = flow.client;
    const server = flow.server;
    let needed = RECORD_OVERHEAD + (flow.accountId?.length ?? 0) * 6 + (flow.interfaceId?.length ?? 0) * 6;
    if (client && server) {
      needed += client.jsonHead.length + client.jsonRest.length + server.jsonHead.length + server.jsonRest.length;
      needed += (flow.clientRules?.json.length ?? 0) + (flow.serverRules?.json.length ?? 0);
    }
    if (this.length + needed > this.buffer.length) this.grow(needed);

    const out = this.buffer;
    let at = this.length;
    out[at++] = OPEN_BRACE;
    // Each optional field is written with the comma after it: "Uploaded", always present, follows.
    if (flow.version !== undefined) at = putNumberField(out, at, KEY.version, flow.version);
    if (flow.accountId !== undefined) at = putField(out, at, KEY.accountId, this.accountIds.json(flow.accountId));
    if (flow.interfaceId !== undefined) at = putField(out, at, KEY.interfaceId, this.interfaceIds.json(flow.interfaceId));
    if (flow.protocol !== undefined) at = putField(out, at, KEY.protocol, this.protocols.json(protocolName(flow.protocol)!));
    if (flow.start !== undefined) at = putNumberField(out, at, KEY.start, flow.start);
    if (flow.end !== undefined) at = putNumberField(out, at, KEY.end, flow.end);
    if (flow.action !== undefined) at = putField(out, at, KEY.action, this.actions.json(flow.action));
    if (flow.logStatus !== undefined) at = putField(out, at, KEY.logStatus, this.logStatuses.json(flow.logStatus));
    at = put(out, at, KEY.uploaded);
    at = putNumber(out, at, flow.uploaded);
    at = put(out, at, KEY.downloaded);
    at = putNumber(out, at, flow.downloaded);
    at = put(out, at, KEY.packets);
    at = putNumber(out, at, flow.packets);
    if (client && server) {
      at = put(out, at, KEY.client);
      at = putSide(out, at, client, flow.clientPort, flow.clientRules);
      at = put(out, at, KEY.server);
      at = putSide(out, at, server, flow.serverPort, flow.serverRules);
      const clientZone = client.side.AvailabilityZone;
      const serverZone = server.side.AvailabilityZone;
      if (clientZone && serverZone) at = put(out, at, clientZone === serverZone ? KEY.crossAzFalse : KEY.crossAzTrue);
    }
    out[at++] = CLOSE_BRACE;
    out[at++] = NEWLINE;
    this.length = at;
  }

  /** Appends a line of text already serialized (an aggregated record, say). */
  writeLine(text: string): void {
    const needed = Buffer.byteLength(text) + 1;
    if (this.length + needed > this.buffer.length) this.grow(needed);
    this.length += this.buffer.write(text, this.length, "utf8");
    this.buffer[this.length++] = NEWLINE;
  }

  /** A copy of the bytes written since the last take(); the writer then starts again, in the same buffer. */
  take(): Buffer {
    const written = Buffer.from(this.buffer.subarray(0, this.length));
    this.length = 0;
    return written;
  }

  private grow(needed: number): void {
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + needed));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

/* Writers of one piece each: they take the buffer and position and return the position after. */

function put(out: Buffer, at: number, fragment: Buffer): number {
  // Short fragments are copied byte by byte: a native copy costs more to call than it saves.
  if (fragment.length < 24) {
    for (let i = 0; i < fragment.length; i++) out[at++] = fragment[i];
    return at;
  }
  out.set(fragment, at);
  return at + fragment.length;
}

/** A non-negative whole number, as JSON writes it. */
function putNumber(out: Buffer, at: number, value: number): number {
  if (value < 10) {
    out[at] = 48 + value;
    return at + 1;
  }
  let digits = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
  const end = at + digits;
  let position = end;
  // Within 32 bits integer division is exact and much cheaper than floating point.
  let v = value;
  while (v > 0x7fffffff) {
    out[--position] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  while (v > 0) {
    out[--position] = 48 + (v % 10);
    v = (v / 10) | 0;
  }
  return end;
}

function putField(out: Buffer, at: number, key: Buffer, value: Buffer): number {
  at = put(out, at, key);
  at = put(out, at, value);
  out[at] = COMMA;
  return at + 1;
}

function putNumberField(out: Buffer, at: number, key: Buffer, value: number): number {
  at = put(out, at, key);
  at = putNumber(out, at, value);
  out[at] = COMMA;
  return at + 1;
}

function putSide(out: Buffer, at: number, endpoint: Endpoint, port: number | undefined, rules: RuleMatch | undefined): number {
  at = put(out, at, endpoint.jsonHead);
  if (port !== undefined) {
    at = put(out, at, KEY.port);
    at = putNumber(out, at, port);
  }
  at = put(out, at, endpoint.jsonRest);
  if (rules) at = put(out, at, rules.json);
  out[at] = CLOSE_BRACE;
  return at + 1;
}
