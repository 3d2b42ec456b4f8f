import { DEFAULT_FORMAT, FIELD_NAMES, isFlowLogField, type FlowLogField } from "./fields";

export type FormatResult = { readonly ok: true; readonly fields: readonly FlowLogField[] } | { readonly ok: false; readonly reason: string };

/**
 * Reads a log format string as given to CreateFlowLogs (`${version} ${srcaddr} ...`); an empty or
 * absent one is the default (version 2) format.
 */
export function parseLogFormat(format: string | undefined): FormatResult {
  const tokens = (format ?? "").trim().split(/\s+/).filter(Boolean);
  if (tokens.length === 0) return { ok: true, fields: DEFAULT_FORMAT };
  const fields: FlowLogField[] = [];
  for (const token of tokens) {
    const match = /^\$\{([a-z0-9-]+)\}$/.exec(token);
    if (!match) return { ok: false, reason: `"${token}" is not a field reference such as \${srcaddr}` };
    const name = match[1];
    if (!isFlowLogField(name)) return { ok: false, reason: `\${${name}} is not a VPC flow log field` };
    if (fields.includes(name)) return { ok: false, reason: `\${${name}} appears twice` };
    fields.push(name);
  }
  return { ok: true, fields };
}

/**
 * The format a header line names, as S3 delivery writes one at the top of each file
 * (`version account-id interface-id ...`); undefined when the line is a record, not a header.
 */
export function headerFormat(line: string): readonly FlowLogField[] | undefined {
  const tokens = line.trim().split(/\s+/).filter(Boolean);
  if (tokens.length === 0 || !tokens.every(isFlowLogField)) return undefined;
  return new Set(tokens).size === tokens.length ? (tokens as FlowLogField[]) : undefined;
}

/**
 * Every field a VPC flow log can carry (versions 2 to 8), as a format string for CreateFlowLogs:
 * what flowtap's own flow logs record. `resource-id` and `encryption-status` are left out: VPC
 * flow logs do not take them.
 */
export const VPC_FLOW_LOG_FORMAT = FIELD_NAMES.filter((f) => f !== "resource-id" && f !== "encryption-status")
  .map((f) => `\${${f}}`)
  .join(" ");
