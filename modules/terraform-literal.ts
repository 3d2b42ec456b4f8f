/**
 * The one way flowtap puts literal text into Terraform JSON.
 *
 * Terraform reads every string of a `.tf.json` file as a template: `${…}` is an expression and
 * `%{…}` a directive. Text that carries either for another reader — a flow log format's
 * `${srcaddr}`, Athena's projection `${date}`, a state machine definition's CreateFlowLogs
 * `LogFormat` — must reach Terraform as `$${` and `%%{`. cdktf's own tokens (attribute
 * references made in TypeScript) are kept as they are, so a literal may mix text and references.
 *
 * Lint forbids `JSON.stringify` in `modules/` and `stacks/`: a document goes through
 * {@link terraformJson}, text through {@link terraformLiteral}. `__tests__/terraform-references.test.ts`
 * checks every synthesized string for what slips past.
 */

// cdktf stands a reference in a string as `${TfToken[TOKEN.n]}` until synthesis resolves it.
const CDKTF_TOKEN = /\$\{TfToken\[[^\]]*\]\}/g;
const TEMPLATE_OPENER = /([$%])\{/g;

function escapeText(text: string): string {
  return text.replace(TEMPLATE_OPENER, (opener, sigil: string) => `${sigil}${opener}`);
}

/** `text` as Terraform must be given it to read it back unchanged; cdktf references in it stay references. */
export function terraformLiteral(text: string): string {
  let escaped = "";
  let from = 0;
  for (const token of text.matchAll(CDKTF_TOKEN)) {
    escaped += escapeText(text.slice(from, token.index)) + token[0];
    from = token.index + token[0].length;
  }
  return escaped + escapeText(text.slice(from));
}

/** A JSON document (state machine definition, event pattern, item, input) as a Terraform string literal. */
export function terraformJson(document: unknown): string {
  // eslint-disable-next-line no-restricted-syntax -- the one place a document is serialized for Terraform
  return terraformLiteral(JSON.stringify(document));
}

/** Every value of a string map (tags, environment variables) as literals. */
export function terraformLiterals(values: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, terraformLiteral(value)]));
}
