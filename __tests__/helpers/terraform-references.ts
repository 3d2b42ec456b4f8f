/**
 * Reads every string of a synthesized stack as Terraform reads it — a template, where `${…}` is an
 * expression and `%{…}` a directive, `$${` and `%%{` literal — and reports each template sequence
 * that is not a well-formed expression, or refers to something the stack does not declare. It is
 * a careful tokenizer, not a full HCL parser: enough to catch literal text Terraform would read as
 * code (a flow log format's `${srcaddr}`) and references to what is not there.
 */

export interface TemplateProblem {
  /** The Terraform address of the block the string is in: `aws_x.name`, `data.aws_x.name`, `local.name`, `output.name`, … */
  readonly address: string;
  /** Where in the block: `environment.variables.FLOW_LOG_FORMAT`. */
  readonly attribute: string;
  /** The offending template sequence, as written. */
  readonly text: string;
  readonly problem: string;
}

interface Declarations {
  readonly resources: ReadonlySet<string>;
  readonly data: ReadonlySet<string>;
  readonly variables: ReadonlySet<string>;
  readonly locals: ReadonlySet<string>;
  readonly modules: ReadonlySet<string>;
}

interface Scope {
  readonly declared: Declarations;
  /** The block has `for_each` (so `each.key`/`each.value` mean something) or `count` (`count.index`). */
  readonly forEach: boolean;
  readonly count: boolean;
}

type Token = { kind: "ident" | "number" | "string" | "punct"; text: string };

const PATH_ATTRIBUTES = new Set(["module", "root", "cwd"]);
const KEYWORDS = new Set(["true", "false", "null"]);
const OPERATORS = ["...", "==", "!=", "<=", ">=", "&&", "||", "=>", "+", "-", "*", "/", "%", "<", ">", "!", "?", ":", "=", ".", ",", "(", ")", "[", "]", "{", "}"];
const BINARY_OPERATORS = new Set(["==", "!=", "<=", ">=", "&&", "||", "+", "-", "*", "/", "%", "<", ">", "?", ":", "=>", "=", ".", ","]);

class TemplateError extends Error {}

/** The index of the `}` that closes a template sequence whose expression starts at `from`, or -1. */
function closingBrace(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      i = closingQuote(text, i + 1);
      if (i < 0) return -1;
    } else if (c === "{" || c === "(" || c === "[") {
      depth++;
    } else if (c === ")" || c === "]") {
      depth--;
    } else if (c === "}") {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

/** The index of the `"` that ends a quoted string whose contents start at `from`, or -1. */
function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (c === '"') return i;
    else if ((c === "$" || c === "%") && text[i + 1] === "{") {
      if (text[i - 1] === c) continue; // `$${` inside a quoted string is literal too
      const close = closingBrace(text, i + 2);
      if (close < 0) return -1;
      i = close;
    }
  }
  return -1;
}

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expression.length) {
    const rest = expression.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][\w-]*/.exec(rest);
    if (ident) {
      tokens.push({ kind: "ident", text: ident[0] });
      i += ident[0].length;
      continue;
    }
    const number = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(rest);
    if (number) {
      tokens.push({ kind: "number", text: number[0] });
      i += number[0].length;
      continue;
    }
    if (rest[0] === '"') {
      const end = closingQuote(expression, i + 1);
      if (end < 0) throw new TemplateError("an unterminated string");
      tokens.push({ kind: "string", text: expression.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const operator = OPERATORS.find((op) => rest.startsWith(op));
    if (!operator) throw new TemplateError(`a character Terraform cannot read here: ${JSON.stringify(rest[0])}`);
    tokens.push({ kind: "punct", text: operator });
    i += operator.length;
  }
  return tokens;
}

function checkBalanced(tokens: readonly Token[]): void {
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  const open: string[] = [];
  for (const t of tokens) {
    if (t.kind !== "punct") continue;
    if (t.text === "(" || t.text === "[" || t.text === "{") open.push(t.text);
    else if (pairs[t.text] && open.pop() !== pairs[t.text]) throw new TemplateError(`an unmatched ${t.text}`);
  }
  if (open.length > 0) throw new TemplateError(`an unclosed ${open.at(-1)}`);
}

/** Each problem with the references of an expression's tokens. */
function checkReferences(tokens: readonly Token[], scope: Scope, bound: ReadonlySet<string>, problems: string[], check: (template: string, bound: ReadonlySet<string>) => void): void {
  const names = new Set(bound);
  // Names a for expression binds: `for k, v in …`.
  tokens.forEach((t, i) => {
    if (t.kind !== "ident" || t.text !== "for" || !["[", "{"].includes(tokens[i - 1]?.text ?? "")) return;
    for (let j = i + 1; j < tokens.length && tokens[j].text !== "in"; j++) if (tokens[j].kind === "ident") names.add(tokens[j].text);
  });
  const brackets: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const previous = tokens[i - 1]?.text;
    const next = tokens[i + 1]?.text;
    if (t.kind === "string") {
      check(t.text, names);
      continue;
    }
    if (t.kind === "punct") {
      if (["(", "[", "{"].includes(t.text)) brackets.push(t.text);
      else if ([")", "]", "}"].includes(t.text)) brackets.pop();
      continue;
    }
    if (t.kind !== "ident") continue;
    if (previous === "." || next === "(" || KEYWORDS.has(t.text) || names.has(t.text)) continue;
    if (brackets.at(-1) === "{" && (next === "=" || next === ":") && (previous === "{" || previous === ",")) continue; // an object key
    if (["for", "in", "if"].includes(t.text) && brackets.length > 0 && ["[", "{"].includes(brackets.at(-1)!)) continue;
    const attribute = (k: number) => (tokens[i + k]?.text === "." && tokens[i + k + 1]?.kind === "ident" ? tokens[i + k + 1].text : undefined);
    const first = attribute(1);
    switch (t.text) {
      case "var":
        if (!first || !scope.declared.variables.has(first)) problems.push(`var.${first ?? ""} is not a declared variable`);
        break;
      case "local":
        if (!first || !scope.declared.locals.has(first)) problems.push(`local.${first ?? ""} is not a declared local value`);
        break;
      case "module":
        if (!first || !scope.declared.modules.has(first)) problems.push(`module.${first ?? ""} is not a declared module`);
        break;
      case "data": {
        const name = attribute(3);
        if (!first || !name || !scope.declared.data.has(`${first}.${name}`)) problems.push(`data.${first ?? ""}.${name ?? ""} is not a declared data source`);
        break;
      }
      case "terraform":
        if (first !== "workspace") problems.push(`terraform.${first ?? ""} is not a value Terraform has (only terraform.workspace)`);
        break;
      case "path":
        if (!first || !PATH_ATTRIBUTES.has(first)) problems.push(`path.${first ?? ""} is not one of path.module, path.root, path.cwd`);
        break;
      case "each":
        if (!scope.forEach || (first !== "key" && first !== "value")) problems.push(`each.${first ?? ""} outside a block with for_each`);
        break;
      case "count":
        if (!scope.count || first !== "index") problems.push(`count.${first ?? ""} outside a block with count`);
        break;
      default:
        if (!first) problems.push(`${t.text} reads as a reference to resource type ${t.text}, which must be followed by the resource's name`);
        else if (!scope.declared.resources.has(`${t.text}.${first}`)) problems.push(`${t.text}.${first} is not a declared resource`);
    }
  }
}

/** The problems of one string, read as a Terraform template. */
export function templateProblems(text: string, scope: Scope, bound: ReadonlySet<string> = new Set()): { text: string; problem: string }[] {
  const found: { text: string; problem: string }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if ((c !== "$" && c !== "%") || text[i + 1] !== "{") continue;
    if (text[i - 1] === c) continue; // `$${` and `%%{` are literal
    const close = closingBrace(text, i + 2);
    if (close < 0) {
      found.push({ text: text.slice(i, i + 80), problem: "a template sequence that is never closed" });
      break;
    }
    const sequence = text.slice(i, close + 1);
    let expression = text.slice(i + 2, close).replace(/^~/, "").replace(/~$/, "");
    const problems: string[] = [];
    try {
      if (c === "%") {
        const directive = /^\s*(if|for|else|endif|endfor)\b/.exec(expression);
        if (!directive) throw new TemplateError("a directive other than if, else, endif, for, endfor");
        expression = directive[1] === "for" ? expression.replace(/^\s*for\s+[\w-]+(\s*,\s*[\w-]+)?\s+in\s+/, "") : expression.slice(directive[0].length);
        if (["else", "endif", "endfor"].includes(directive[1]) && expression.trim() !== "") throw new TemplateError(`${directive[1]} takes no expression`);
      }
      const tokens = tokenize(expression);
      if (tokens.length === 0 && c === "$") throw new TemplateError("an empty expression");
      checkBalanced(tokens);
      if (tokens.length > 0 && BINARY_OPERATORS.has(tokens.at(-1)!.text)) throw new TemplateError(`an expression ending in ${tokens.at(-1)!.text}`);
      checkReferences(tokens, scope, bound, problems, (nested, names) => {
        for (const p of templateProblems(nested, scope, names)) problems.push(`${p.problem} (in ${p.text})`);
      });
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push(`not a well-formed expression: ${err.message}`);
    }
    for (const problem of problems) found.push({ text: sequence, problem });
    i = close;
  }
  return found;
}

function strings(value: unknown, at: string, visit: (text: string, attribute: string) => void): void {
  if (typeof value === "string") visit(value, at);
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${at}[${i}]`, visit));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) strings(v, at ? `${at}.${k}` : k, visit);
}

// A synthesized stack: an open-ended document.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type TerraformDocument = Record<string, any>;

/** Every template problem in a synthesized stack (`cdk.tf.json`), with the address of its block. */
export function stackTemplateProblems(document: TerraformDocument): TemplateProblem[] {
  const typed = (block: Record<string, Record<string, unknown>> | undefined) => new Set(Object.entries(block ?? {}).flatMap(([type, named]) => Object.keys(named).map((name) => `${type}.${name}`)));
  const declared: Declarations = {
    resources: typed(document.resource),
    data: typed(document.data),
    variables: new Set(Object.keys(document.variable ?? {})),
    locals: new Set(Object.keys(document.locals ?? {})),
    modules: new Set(Object.keys(document.module ?? {})),
  };
  const problems: TemplateProblem[] = [];
  const checkBlock = (address: string, body: unknown) => {
    const block = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
    const scope: Scope = { declared, forEach: "for_each" in block, count: "count" in block };
    strings(body, "", (text, attribute) => {
      for (const p of templateProblems(text, scope)) problems.push({ address, attribute, ...p });
    });
  };
  for (const [section, content] of Object.entries(document)) {
    if (section === "//") continue;
    if (section === "resource" || section === "data") {
      for (const [type, named] of Object.entries(content as Record<string, Record<string, unknown>>)) {
        for (const [name, body] of Object.entries(named)) checkBlock(`${section === "data" ? "data." : ""}${type}.${name}`, body);
      }
    } else if (section === "locals") {
      for (const [name, value] of Object.entries(content as Record<string, unknown>)) checkBlock(`local.${name}`, value);
    } else if (section === "variable" || section === "output" || section === "module") {
      for (const [name, body] of Object.entries(content as Record<string, unknown>)) checkBlock(`${section === "variable" ? "var" : section}.${name}`, body);
    } else {
      checkBlock(section, content);
    }
  }
  return problems;
}
