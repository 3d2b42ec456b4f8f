import { isIP } from "node:net";
import { FIELD, FIELD_NAMES, FIELD_VALUES, FLOW_LOG_FIELDS, type FlowLogField } from "./fields";
import { ByteInterner, EntriesByKey, fnv1a, FNV_OFFSET as IMPORTED_FNV_OFFSET, FNV_PRIME as IMPORTED_FNV_PRIME } from "./interner";

/** A parsed record: each field of the format that had a value (`-` leaves it out). */
export type FlowLogRecord = Partial<Record<FlowLogField, string | number>>;

export type RecordResult = { readonly ok: true; readonly record: FlowLogRecord } | { readonly ok: false; readonly reason: string };

/**
 * A record's values by field ordinal (FIELD): what enrichment reads. A scanner's slots describe
 * the record it scanned last, until it scans the next.
 */
export interface RecordSlots {
  /** 1 where the record has a value for the field. */
  readonly present: Uint8Array;
  /** Values of integer fields. */
  readonly ints: Float64Array;
  /** Values of text and address fields. */
  readonly texts: (string | undefined)[];
  /**
   * Per text and address field a scanner read, the number the scanner's interner gave its value
   * (equal values, equal numbers), or -1: what lets enrichment key its caches by number.
   */
  readonly entries?: Int32Array;
}

/** Upper bounds of integer fields whose range AWS fixes. */
const INT_MAX: Partial<Record<FlowLogField, number>> = {
  srcport: 65535,
  dstport: 65535,
  protocol: 255,
  "tcp-flags": 255,
  "traffic-path": 8,
  "encryption-status": 3,
};

/** Local copies: an imported binding is read through a getter in CommonJS output, too slow per byte. */
const FNV_OFFSET = IMPORTED_FNV_OFFSET;
const FNV_PRIME = IMPORTED_FNV_PRIME;

const KIND_INT = 0;
const KIND_IP = 1;
const KIND_TEXT = 2;
const KIND_CODE = { int: KIND_INT, ip: KIND_IP, text: KIND_TEXT } as const;
const DASH = 45;
const DOT = 46;
const MAX_DIGITS = 15;

const ROLE_INTERFACE = 1;
const ROLE_SOURCE = 2;
const ROLE_DESTINATION = 3;
const ROLE_PKT_SOURCE = 4;
const ROLE_PKT_DESTINATION = 5;
const ROLE_SOURCE_PORT = 6;
const ROLE_DESTINATION_PORT = 7;
/**
 * The fields that name a flow whichever direction it was logged in: the ENI, and the two ends'
 * addresses and ports, which the reverse record holds swapped. An end's address is its `pkt-`
 * address when the record has one (behind a NAT gateway, say), as enrichment and FlowMerger take it.
 */
const FLOW_KEY_ROLES: Partial<Record<FlowLogField, number>> = {
  "interface-id": ROLE_INTERFACE,
  srcaddr: ROLE_SOURCE,
  dstaddr: ROLE_DESTINATION,
  "pkt-srcaddr": ROLE_PKT_SOURCE,
  "pkt-dstaddr": ROLE_PKT_DESTINATION,
  srcport: ROLE_SOURCE_PORT,
  dstport: ROLE_DESTINATION_PORT,
};

/** One end of a flow for flowKeyHash: its address's hash and its port's, mixed so that neither stands for the other. */
function endHash(address: number, port: number): number {
  return Math.imul(address ^ Math.imul(port, 0x9e3779b1), 0x85ebca6b);
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** Where the last addressToken call stopped: its second result (a module variable, so that no object is made per address). */
let addressTokenEnd = 0;

/**
 * Reads the token that begins at `start` (up to a blank or `end`; addressTokenEnd then says where
 * it ends): the value of the IPv4 address it spells in canonical dotted decimal, or -1 for
 * anything else (IPv6, leading zeros, not an address, which the interner's way judges).
 */
function addressToken(bytes: Buffer, start: number, end: number): number {
  let address = 0;
  let octet = 0;
  let octetDigits = 0;
  let dots = 0;
  let ipv4 = true;
  let i = start;
  for (; i < end; i++) {
    const c = bytes[i];
    if (isBlank(c)) break;
    if (c === DOT) {
      if (octetDigits === 0 || octet > 255) ipv4 = false;
      address = address * 256 + octet;
      octet = 0;
      octetDigits = 0;
      dots++;
    } else {
      const digit = c - 48;
      if (digit < 0 || digit > 9 || (octetDigits === 1 && octet === 0)) ipv4 = false;
      octet = octet * 10 + digit;
      octetDigits++;
    }
  }
  addressTokenEnd = i;
  return ipv4 && dots === 3 && octetDigits > 0 && octet <= 255 ? address * 256 + octet : -1;
}

/** Values are decoded once per distinct string, whichever scanner meets them first. */
const sharedInterner = new ByteInterner();
/** IPv4 addresses (the usual case) by their value: found without hashing or comparing bytes. */
const ipv4Entries = new EntriesByKey(sharedInterner);
/** Interner marks of address entries: checked once each. */
const VALID_ADDRESS = 1;
const NOT_AN_ADDRESS = 2;

/**
 * A field's closed vocabulary, matched by the hash the scanner computed and then byte for byte:
 * no decoding, no interning.
 */
class Vocabulary {
  private readonly hashes: Int32Array;
  private readonly bytes: Buffer[];

  constructor(readonly words: readonly string[]) {
    this.bytes = words.map((w) => Buffer.from(w, "latin1"));
    this.hashes = Int32Array.from(this.bytes, (b) => fnv1a(b, 0, b.length));
  }

  /** The word `bytes[start..end)` spells, or undefined. */
  wordOf(hash: number, bytes: Buffer, start: number, end: number): string | undefined {
    for (let w = 0; w < this.hashes.length; w++) {
      if (this.hashes[w] !== hash) continue;
      const word = this.bytes[w];
      if (word.length !== end - start) continue;
      let i = 0;
      while (i < word.length && word[i] === bytes[start + i]) i++;
      if (i === word.length) return this.words[w];
    }
    return undefined;
  }
}

function vocabularyOf(field: FlowLogField): Vocabulary | undefined {
  const values = FIELD_VALUES[field];
  return values && new Vocabulary([...values]);
}

/**
 * Parses records of one format straight from bytes into RecordSlots: one pass over each line,
 * numbers read digit by digit, strings interned. A wrong number of fields, a number that is not
 * one, an address that is not one, or a value outside a field's vocabulary makes the record
 * malformed, with the reason; NODATA and SKIPDATA records parse like any other.
 */
export class RecordScanner implements RecordSlots {
  readonly present = new Uint8Array(FIELD_NAMES.length);
  readonly ints = new Float64Array(FIELD_NAMES.length);
  readonly texts: (string | undefined)[] = FIELD_NAMES.map(() => undefined);
  readonly entries = new Int32Array(FIELD_NAMES.length).fill(-1);
  /** Why the last scan failed. */
  reason = "";
  private ordinals!: Int32Array;
  private kinds!: Int32Array;
  private maxima!: Float64Array;
  private vocabularies!: (Vocabulary | undefined)[];

  private names!: readonly FlowLogField[];
  /** The FLOW_KEY_ROLES of the format's fields (0: none). */
  private flowKeyRoles!: Uint8Array;
  /** The position after the last field with a role. */
  private flowKeyEnd = 0;

  constructor(fields: readonly FlowLogField[]) {
    this.setFormat(fields);
  }

  /** Changes the format, as a header line of an S3 file does. */
  setFormat(fields: readonly FlowLogField[]): void {
    this.names = fields;
    this.ordinals = Int32Array.from(fields, (f) => FIELD[f]);
    this.kinds = Int32Array.from(fields, (f) => KIND_CODE[FLOW_LOG_FIELDS[f]]);
    this.maxima = Float64Array.from(fields, (f) => INT_MAX[f] ?? Number.MAX_SAFE_INTEGER);
    this.vocabularies = fields.map(vocabularyOf);
    this.flowKeyRoles = Uint8Array.from(fields, (f) => FLOW_KEY_ROLES[f] ?? 0);
    this.flowKeyEnd = this.flowKeyRoles.findLastIndex((role) => role !== 0) + 1;
  }

  /** Scans `bytes[start..end)`, one record; false (and `reason`) when it is malformed. */
  scan(bytes: Buffer, start: number, end: number): boolean {
    const { ordinals, kinds, maxima, present, ints } = this;
    const expected = ordinals.length;
    for (let f = 0; f < expected; f++) present[ordinals[f]] = 0;
    let found = 0;
    let error: string | undefined;
    let i = start;
    while (i < end) {
      while (i < end && isBlank(bytes[i])) i++;
      if (i === end) break;
      const tokenStart = i;
      const field = found++;
      if (field >= expected || error !== undefined) {
        while (i < end && !isBlank(bytes[i])) i++;
        continue;
      }
      if (kinds[field] === KIND_IP) {
        const value = addressToken(bytes, tokenStart, end);
        i = addressTokenEnd;
        if (i - tokenStart === 1 && bytes[tokenStart] === DASH) continue;
        error = this.readAddress(field, value, bytes, tokenStart, i);
        continue;
      }
      if (kinds[field] !== KIND_INT) {
        // Text is hashed as it is scanned, for the interner.
        let hash = FNV_OFFSET;
        while (i < end) {
          const c = bytes[i];
          if (isBlank(c)) break;
          hash = Math.imul(hash ^ c, FNV_PRIME);
          i++;
        }
        if (i - tokenStart === 1 && bytes[tokenStart] === DASH) continue;
        error = this.readText(field, hash, bytes, tokenStart, i);
        continue;
      }
      // Integers are read as they are scanned, digit by digit.
      let value = 0;
      let digits = true;
      while (i < end) {
        const c = bytes[i];
        if (isBlank(c)) break;
        const digit = c - 48;
        if (digit < 0 || digit > 9) digits = false;
        value = value * 10 + digit;
        i++;
      }
      if (i - tokenStart === 1 && bytes[tokenStart] === DASH) continue;
      if (!digits || i - tokenStart > MAX_DIGITS) error = `${this.names[field]} "${bytes.toString("utf8", tokenStart, i)}" is not a whole number`;
      else if (value > maxima[field]) error = `${this.names[field]} ${value} is out of range (0-${maxima[field]})`;
      else {
        ints[ordinals[field]] = value;
        present[ordinals[field]] = 1;
      }
    }
    if (found !== expected) {
      this.reason = `expected ${expected} fields, found ${found}`;
      return false;
    }
    if (error !== undefined) {
      this.reason = error;
      return false;
    }
    return true;
  }

  /**
   * A hash of the flow of the record in `bytes[start..end)` (its FLOW_KEY_ROLES), the same for its
   * reverse, found without scanning the rest of the line. It needs no valid record: a line
   * hashes to one value, whatever it holds.
   */
  flowKeyHash(bytes: Buffer, start: number, end: number): number {
    const roles = this.flowKeyRoles;
    const last = this.flowKeyEnd;
    let eni = 0;
    let source = 0;
    let destination = 0;
    let sourcePort = 0;
    let destinationPort = 0;
    let pktSource = 0;
    let pktDestination = 0;
    let hasPktSource = false;
    let hasPktDestination = false;
    let field = 0;
    let i = start;
    while (i < end && field < last) {
      while (i < end && isBlank(bytes[i])) i++;
      const role = roles[field++];
      const tokenStart = i;
      if (role === 0) {
        while (i < end && !isBlank(bytes[i])) i++;
        continue;
      }
      let hash = FNV_OFFSET;
      for (; i < end; i++) {
        const c = bytes[i];
        if (isBlank(c)) break;
        hash = Math.imul(hash ^ c, FNV_PRIME);
      }
      if (i - tokenStart === 1 && bytes[tokenStart] === DASH) continue;
      if (role === ROLE_INTERFACE) eni = hash;
      else if (role === ROLE_SOURCE) source = hash;
      else if (role === ROLE_DESTINATION) destination = hash;
      else if (role === ROLE_SOURCE_PORT) sourcePort = hash;
      else if (role === ROLE_DESTINATION_PORT) destinationPort = hash;
      else if (role === ROLE_PKT_SOURCE) {
        pktSource = hash;
        hasPktSource = true;
      } else {
        pktDestination = hash;
        hasPktDestination = true;
      }
    }
    if (hasPktSource) source = pktSource;
    if (hasPktDestination) destination = pktDestination;
    // The ends are summed, so that they count the same in either order.
    return (Math.imul(eni, FNV_PRIME) + endHash(source, sourcePort) + endHash(destination, destinationPort)) | 0;
  }

  /**
   * Reads only the address fields of the record in `bytes[start..end)` into their slots, leaving
   * out what is not an address: for code that must know a record's ends to tell whether to read
   * the rest. Other slots keep what they held.
   */
  scanAddresses(bytes: Buffer, start: number, end: number): void {
    const { ordinals, kinds, present } = this;
    const last = this.flowKeyEnd;
    for (let f = 0; f < last; f++) if (kinds[f] === KIND_IP) present[ordinals[f]] = 0;
    let field = 0;
    let i = start;
    while (i < end && field < last) {
      while (i < end && isBlank(bytes[i])) i++;
      const tokenStart = i;
      const f = field++;
      if (kinds[f] !== KIND_IP) {
        while (i < end && !isBlank(bytes[i])) i++;
        continue;
      }
      const value = addressToken(bytes, tokenStart, end);
      i = addressTokenEnd;
      if (i - tokenStart === 1 && bytes[tokenStart] === DASH) continue;
      this.readAddress(f, value, bytes, tokenStart, i);
    }
  }

  /** Reads an address field's token (`ipv4`: its addressToken value) into its slot; the reason when it is not an address. */
  private readAddress(field: number, ipv4: number, bytes: Buffer, start: number, end: number): string | undefined {
    if (ipv4 === -1) return this.readText(field, fnv1a(bytes, start, end), bytes, start, end);
    this.readIpv4(field, ipv4 | 0, bytes, start, end);
    return undefined;
  }

  /** Reads an IPv4 address, checked as it was scanned (its value `key`, its text `bytes[start..end)`), into its slot. */
  private readIpv4(field: number, key: number, bytes: Buffer, start: number, end: number): void {
    let entry = ipv4Entries.get(key);
    if (entry === -1) {
      entry = sharedInterner.entry(bytes, start, end);
      sharedInterner.marks[entry] = VALID_ADDRESS;
      ipv4Entries.set(key, entry);
    }
    const ordinal = this.ordinals[field];
    this.texts[ordinal] = sharedInterner.text(entry);
    this.entries[ordinal] = entry;
    this.present[ordinal] = 1;
  }

  /** Reads one text or address field's token into its slot; the reason when it is not a value of that field. */
  private readText(field: number, hash: number, bytes: Buffer, start: number, end: number): string | undefined {
    const ordinal = this.ordinals[field];
    const vocabulary = this.vocabularies[field];
    let text: string | undefined;
    let entry = -1;
    if (vocabulary) {
      text = vocabulary.wordOf(hash, bytes, start, end);
      if (text === undefined) return `${this.names[field]} "${bytes.toString("utf8", start, end)}" is not one of ${vocabulary.words.join(", ")}`;
    } else {
      entry = sharedInterner.entryOfHashed(hash, bytes, start, end);
      text = sharedInterner.text(entry);
      if (this.kinds[field] === KIND_IP) {
        let mark = sharedInterner.marks[entry];
        if (mark === 0) sharedInterner.marks[entry] = mark = isIP(text) !== 0 ? VALID_ADDRESS : NOT_AN_ADDRESS;
        if (mark === NOT_AN_ADDRESS) return `${this.names[field]} "${text}" is not an IPv4 or IPv6 address`;
      }
    }
    this.texts[ordinal] = text;
    this.entries[ordinal] = entry;
    this.present[ordinal] = 1;
    return undefined;
  }

  /** The last scanned record as an object of its present fields, in format order. */
  toRecord(): FlowLogRecord {
    const record: FlowLogRecord = {};
    const { names, ordinals, kinds, present, ints, texts } = this;
    for (let f = 0; f < names.length; f++) {
      const ordinal = ordinals[f];
      if (present[ordinal]) record[names[f]] = kinds[f] === KIND_INT ? ints[ordinal] : texts[ordinal];
    }
    return record;
  }
}

/** Empty slots, to fill with slotsOf. */
export function emptySlots(): RecordSlots {
  return { present: new Uint8Array(FIELD_NAMES.length), ints: new Float64Array(FIELD_NAMES.length), texts: FIELD_NAMES.map(() => undefined) };
}

/**
 * A record object's values as slots, for code that holds records rather than scanning them.
 * Given `slots`, fills and returns those (code enriching many records reuses one set).
 */
export function slotsOf(record: FlowLogRecord, slots: RecordSlots = emptySlots()): RecordSlots {
  slots.present.fill(0);
  // for…in, not Object.entries: no array per field, which per record was most of this function's cost.
  for (const key in record) {
    const name = key as FlowLogField;
    const value = record[name];
    if (value === undefined) continue;
    const ordinal = FIELD[name];
    slots.present[ordinal] = 1;
    if (typeof value === "number") slots.ints[ordinal] = value;
    else slots.texts[ordinal] = value;
  }
  return slots;
}

const scanners = new WeakMap<readonly FlowLogField[], RecordScanner>();

/** Parses one record of the given format (see RecordScanner for what makes one malformed). */
export function parseRecord(line: string, fields: readonly FlowLogField[]): RecordResult {
  let scanner = scanners.get(fields);
  if (!scanner) {
    scanner = new RecordScanner(fields);
    scanners.set(fields, scanner);
  }
  const bytes = Buffer.from(line, "utf8");
  return scanner.scan(bytes, 0, bytes.length) ? { ok: true, record: scanner.toRecord() } : { ok: false, reason: scanner.reason };
}
