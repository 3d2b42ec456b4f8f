import { z } from "zod";
import {
  ec2MirroringDefaults,
  fargateMirroringDefaults,
  flowInsightsDefaults,
  flowLogSgEnrichmentDefaults,
  natFlowRecorderDefaults,
  orgConfigSchema,
} from "./schema";

/*
 * The reference pages `npm run docs` writes: the org config's keys from the zod schema (its
 * descriptions, titles and defaults), and each stack's outputs from the stacks' own descriptions.
 * A test fails when the committed pages differ from what these render.
 */

/** The part of a JSON Schema (draft 2020-12, as `z.toJSONSchema` writes it) the reference reads. */
interface JsonSchema {
  readonly type?: string;
  readonly title?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly anyOf?: readonly JsonSchema[];
  readonly pattern?: string;
  readonly format?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly items?: JsonSchema;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly propertyNames?: JsonSchema;
  readonly additionalProperties?: JsonSchema | boolean;
}

/** The settings under `features:`, each with the defaults a workspace gets and whether accounts may override it. */
const FEATURE_SECTIONS = [
  { key: "ec2Mirroring", feature: "ec2-mirroring", defaults: ec2MirroringDefaults },
  { key: "fargateMirroring", feature: "fargate-mirroring", defaults: fargateMirroringDefaults },
  { key: "natFlowRecorder", feature: "nat-flow-recorder", defaults: natFlowRecorderDefaults },
  { key: "flowLogSgEnrichment", feature: "flow-log-sg-enrichment", defaults: flowLogSgEnrichmentDefaults },
  { key: "flowInsights", feature: "flow-insights", defaults: flowInsightsDefaults },
  { key: "mirrorTarget", feature: "mirror-target", defaults: {} },
] as const;

const inlineCode = (value: unknown) => `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** What values a key takes, in words. */
function typeOf(schema: JsonSchema): string {
  if (schema.title) return schema.title;
  if (schema.anyOf) {
    const consts = schema.anyOf.map((s) => s.const);
    if (consts.every((c) => c !== undefined)) return `one of ${consts.join(", ")}`;
    return schema.anyOf.map(typeOf).join(" or ");
  }
  if (schema.enum) return `one of ${schema.enum.map(inlineCode).join(", ")}`;
  switch (schema.type) {
    case "boolean":
      return "boolean";
    case "integer":
    case "number": {
      const noun = schema.type === "integer" ? "whole number" : "number";
      if (schema.minimum !== undefined && schema.maximum !== undefined) return `${noun}, ${schema.minimum} to ${schema.maximum}`;
      if (schema.exclusiveMinimum !== undefined) return `${noun} above ${schema.exclusiveMinimum}${schema.maximum !== undefined ? `, at most ${schema.maximum}` : ""}`;
      if (schema.minimum !== undefined) return `${noun}, at least ${schema.minimum}`;
      return noun;
    }
    case "string":
      if (schema.format === "email") return "email address";
      if (schema.pattern) throw new Error(`a key matching ${schema.pattern} has no title: give its schema .meta({ title })`);
      if (schema.minLength !== undefined && schema.maxLength !== undefined) return `text, ${schema.minLength} to ${schema.maxLength} characters`;
      if (schema.maxLength !== undefined) return `text, at most ${schema.maxLength} characters`;
      return "text";
    case "array":
      return `list of ${typeOf(schema.items ?? {})}${schema.minItems ? `, at least ${schema.minItems}` : ""}`;
    case "object":
      if (schema.propertyNames && typeof schema.additionalProperties === "object") {
        return `map of ${typeOf(schema.propertyNames)} to ${typeOf(schema.additionalProperties)}`;
      }
      return "object";
    default:
      throw new Error(`no words for a schema of type ${schema.type ?? JSON.stringify(schema)}`);
  }
}

interface Row {
  readonly key: string;
  readonly type: string;
  readonly default: string;
  readonly description: string;
}

/**
 * One row per key of `schema`'s properties, recursing into nested objects and lists of objects.
 * A key no description documents is an error, so that every input is documented.
 */
function rowsOf(schema: JsonSchema, prefix: string, defaults: Readonly<Record<string, unknown>> = {}, stopAt: (path: string) => boolean = () => false): Row[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).flatMap(([name, property]) => {
    const key = `${prefix}${name}`;
    if (stopAt(key)) return [];
    if (!property.description) throw new Error(`${key} has no description: give its schema .describe("…")`);
    const nested = property.type === "object" && property.properties ? property : property.type === "array" && property.items?.properties ? property.items : undefined;
    const fallback = property.default !== undefined ? property.default : defaults[name];
    const row: Row = {
      key,
      type: nested === property ? "object" : nested ? "list of objects" : typeOf(property),
      default: fallback !== undefined ? inlineCode(fallback) : required.has(name) ? "required" : "unset",
      description: property.description,
    };
    if (!nested) return [row];
    return [row, ...rowsOf(nested, `${key}${nested === property ? "." : "[]."}`, {}, stopAt)];
  });
}

function table(rows: readonly Row[], extra?: { readonly header: string; readonly of: (row: Row) => string }): string[] {
  const header = ["key", "type", "default", ...(extra ? [extra.header] : []), "description"];
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${[`\`${r.key}\``, r.type, r.default, ...(extra ? [extra.of(r)] : []), r.description].map(cell).join(" | ")} |`),
  ];
}

/** The org config as JSON Schema, descriptions and titles included; converted once, on first use, for every table. */
let convertedSchema: JsonSchema | undefined;
function configSchema(): JsonSchema {
  convertedSchema ??= z.toJSONSchema(orgConfigSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  return convertedSchema;
}

/** The table of one feature's settings (`features.<key>`), with whether an account may override each. */
export function featureSettingsTable(key: (typeof FEATURE_SECTIONS)[number]["key"]): string[] {
  const root = configSchema();
  const section = FEATURE_SECTIONS.find((s) => s.key === key)!;
  const schema = root.properties?.features?.properties?.[key];
  if (!schema) throw new Error(`the schema has no features.${key}`);
  const perAccount = root.properties?.accounts?.items?.properties?.[key]?.properties;
  const rows = rowsOf(schema, `features.${key}.`, section.defaults);
  const shortKey = (row: Row) => row.key.slice(`features.${key}.`.length).split(/[.[]/)[0];
  return perAccount ? table(rows, { header: "per account", of: (row) => (shortKey(row) in perAccount ? "yes" : "no") }) : table(rows);
}

/** The org config reference, `docs/reference/config.md`. */
export function configReference(): string {
  const root = configSchema();
  const lines = [
    "# Org config reference",
    "",
    "<!-- Generated by `npm run docs` from config/schema.ts; edit the schema's descriptions, not this page. -->",
    "",
    "One YAML file describes the organization (`npm run synth -- --config org.yaml`). The example is",
    "[config/example.org.yaml](../../config/example.org.yaml), and [examples/](../../examples/) has more.",
    "",
    "- Feature settings are given organization-wide under `features.<feature>`.",
    "- Where the *per account* column says so, one account may override a setting under",
    "  `accounts[].<feature>`.",
    "- A workspace takes the default, then the organization's value, then its account's.",
    "- *unset* means the key has no value unless you give one.",
    "",
    "Besides types and formats, the loader refuses:",
    "",
    "- duplicate accounts and unknown OUs;",
    "- features in an account with no region;",
    "- a mirroring region with no target;",
    "- a region with no NAT gateway or VPC, for the features that need one.",
    "",
    "## Organization, rollout and accounts",
    "",
    ...table(rowsOf(root, "", {}, (key) => key.startsWith("features.") || /^accounts\[\]\.(ec2Mirroring|fargateMirroring|natFlowRecorder|flowLogSgEnrichment|flowInsights)$/.test(key))),
    "",
    "An account's own feature settings go under `accounts[].<feature>`, with the keys below marked *per account*.",
  ];
  for (const section of FEATURE_SECTIONS) {
    lines.push("", `## \`features.${section.key}\``, "", `Settings of [${section.feature}](../${section.feature}.md).`, "", ...featureSettingsTable(section.key));
  }
  return `${lines.join("\n")}\n`;
}

/** The outputs a synthesized stack declares, as its `cdk.tf.json` has them. */
export interface StackOutputs {
  readonly name: string;
  readonly role: "central" | "member";
  readonly outputs: Readonly<Record<string, { readonly description?: string }>>;
}

/** The table of one stack's outputs. */
export function outputsTable(stack: StackOutputs): string[] {
  return [
    "| output | description |",
    "|---|---|",
    ...Object.entries(stack.outputs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, output]) => {
        if (!output.description) throw new Error(`output ${name} of ${stack.name} has no description`);
        return `| \`${name}\` | ${cell(output.description)} |`;
      }),
  ];
}

/** The stacks' outputs reference, `docs/reference/outputs.md`. */
export function outputsReference(stacks: readonly StackOutputs[]): string {
  const lines = [
    "# Stack outputs",
    "",
    "<!-- Generated by `npm run docs` from the outputs the stacks declare; edit their descriptions, not this page. -->",
    "",
    "`terraform output` shows these after an apply, run in the stack's directory (`cdktf.out/stacks/<stack>`).",
    "A member stack has them per workspace: run `terraform workspace select <account-id>-<region>` first.",
  ];
  for (const stack of stacks) lines.push("", `## \`${stack.name}\` (${stack.role})`, "", ...outputsTable(stack));
  return `${lines.join("\n")}\n`;
}

/** What a page's generated region holds: `config <featureKey>` or `outputs <stack>`. */
const REGION = /(<!-- generated: (config|outputs) ([\w-]+) -->\n)[\s\S]*?(<!-- end generated -->)/g;

/**
 * A hand-written page with each generated region (between `<!-- generated: config ec2Mirroring -->`
 * or `<!-- generated: outputs ec2-mirroring -->` and `<!-- end generated -->`) rendered anew.
 */
export function withGeneratedRegions(page: string, stacks: readonly StackOutputs[]): string {
  return page.replace(REGION, (_match, open: string, kind: string, name: string, close: string) => {
    let body: string[];
    if (kind === "config") {
      if (!FEATURE_SECTIONS.some((s) => s.key === name)) throw new Error(`no feature settings named ${name}`);
      body = featureSettingsTable(name as (typeof FEATURE_SECTIONS)[number]["key"]);
    } else {
      const stack = stacks.find((s) => s.name === name);
      if (!stack) throw new Error(`no stack named ${name}`);
      body = outputsTable(stack);
    }
    return `${open}\n${body.join("\n")}\n\n${close}`;
  });
}
