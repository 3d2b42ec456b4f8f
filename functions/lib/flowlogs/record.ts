import { isIP } from "node:net";
import { FIELD_VALUES, FLOW_LOG_FIELDS, type FlowLogField } from "./fields";

/** A parsed record: each field of the format that had a value (`-` leaves it out). */
export type FlowLogRecord = Partial<Record<FlowLogField, string | number>>;

export type RecordResult = { readonly ok: true; readonly record: FlowLogRecord } | { readonly ok: false; readonly reason: string };

/** Upper bounds of integer fields whose range AWS fixes. */
const INT_MAX: Partial<Record<FlowLogField, number>> = {
  srcport: 65535,
  dstport: 65535,
  protocol: 255,
  "tcp-flags": 255,
  "traffic-path": 8,
  "encryption-status": 3,
};

/** Splits on any run of spaces or tabs, without a regular expression (the hot path). */
export function splitFields(line: string): string[] {
  const parts: string[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    const blank = c === 32 || c === 9 || c === 13;
    if (blank) {
      if (start !== -1) {
        parts.push(line.slice(start, i));
        start = -1;
      }
    } else if (start === -1) {
      start = i;
    }
  }
  if (start !== -1) parts.push(line.slice(start));
  return parts;
}

function isDigits(text: string): boolean {
  if (text.length === 0 || text.length > 15) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Parses one record of the given format. A wrong number of fields, a number that is not one,
 * an address that is not one, or a value outside a field's vocabulary makes it malformed, with
 * the reason; NODATA and SKIPDATA records parse like any other (most of their fields are `-`).
 */
export function parseRecord(line: string, fields: readonly FlowLogField[]): RecordResult {
  const values = splitFields(line);
  if (values.length !== fields.length) {
    return { ok: false, reason: `expected ${fields.length} fields, found ${values.length}` };
  }
  const record: FlowLogRecord = {};
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    const text = values[i];
    if (text === "-") continue;
    switch (FLOW_LOG_FIELDS[field]) {
      case "int": {
        if (!isDigits(text)) return { ok: false, reason: `${field} "${text}" is not a whole number` };
        const n = Number(text);
        const max = INT_MAX[field];
        if (max !== undefined && n > max) return { ok: false, reason: `${field} ${n} is out of range (0-${max})` };
        record[field] = n;
        break;
      }
      case "ip":
        if (isIP(text) === 0) return { ok: false, reason: `${field} "${text}" is not an IPv4 or IPv6 address` };
        record[field] = text;
        break;
      default: {
        const allowed = FIELD_VALUES[field];
        if (allowed && !allowed.has(text)) return { ok: false, reason: `${field} "${text}" is not one of ${[...allowed].join(", ")}` };
        record[field] = text;
      }
    }
  }
  return { ok: true, record };
}
