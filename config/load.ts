import { readFileSync } from "node:fs";
import * as path from "node:path";
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import { orgConfigSchema, type OrgConfig } from "./schema";

/** The org config `npm run synth` uses when none is given. */
export const EXAMPLE_CONFIG_PATH = path.join(__dirname, "example.org.yaml");

/** A config that cannot be used; `problems` holds one line per problem, each naming file, line, path and what is expected. */
export class ConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** Reads, parses and validates an org config file. Throws {@link ConfigError} listing every problem found. */
export function loadOrgConfig(file: string): OrgConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError([`${file}: cannot read the org config: ${(err as Error).message}`]);
  }
  return parseOrgConfig(text, file);
}

/** Parses and validates org config YAML text; `file` names it in messages. */
export function parseOrgConfig(text: string, file: string): OrgConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return `${file}:${line}:${col}: invalid YAML: ${e.message.split("\n")[0]}`;
      }),
    );
  }
  const result = orgConfigSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const issuePath = [...issue.path] as (string | number)[];
      if (issue.code === "unrecognized_keys") {
        return issue.keys
          .map((key) => describe(file, doc, lineCounter, [...issuePath, key], "unknown setting; check its spelling against config/schema.ts", true))
          .join("\n");
      }
      return describe(file, doc, lineCounter, issuePath, issue.message);
    }).join("\n").split("\n"),
  );
}

function describe(file: string, doc: Document, lineCounter: LineCounter, issuePath: (string | number)[], message: string, atKey = false): string {
  const where = locate(doc, lineCounter, issuePath, atKey);
  return `${file}${where}: ${formatPath(issuePath) || "(document)"}: ${message}`;
}

/**
 * `:line:col` of the deepest node of `issuePath` present in the document (a missing key points
 * at its parent); with `atKey`, of the last key itself rather than its value.
 */
function locate(doc: Document, lineCounter: LineCounter, issuePath: (string | number)[], atKey = false): string {
  if (atKey) {
    const parent = issuePath.length === 1 ? doc.contents : doc.getIn(issuePath.slice(0, -1), true);
    const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === issuePath.at(-1)) : undefined;
    if (isScalar(pair?.key) && pair.key.range) {
      const { line, col } = lineCounter.linePos(pair.key.range[0]);
      return `:${line}:${col}`;
    }
  }
  for (let depth = issuePath.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(issuePath.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const { line, col } = lineCounter.linePos(node.range[0]);
      return `:${line}:${col}`;
    }
  }
  return "";
}

/** `accounts[1].regions[0]` style, as a reader finds it in the YAML. */
export function formatPath(issuePath: readonly (string | number | symbol)[]): string {
  return issuePath
    .map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${String(part)}`))
    .join("");
}
