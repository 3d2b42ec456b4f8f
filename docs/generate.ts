import { App } from "cdktf";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { EXAMPLE_CONFIG_PATH, loadOrgConfig } from "../config/load";
import { configReference, outputsReference, withGeneratedRegions, type StackOutputs } from "../config/reference";
import { composeStacks } from "../stacks";
import { MemberStack } from "../stacks/member-stack";

const ROOT = path.join(__dirname, "..");

/** Every stack's outputs, as synth of the example organization declares them. */
export function exampleStackOutputs(): StackOutputs[] {
  const outdir = mkdtempSync(path.join(tmpdir(), "flowtap-docs-"));
  try {
    const app = new App({ outdir });
    const stacks = composeStacks(app, loadOrgConfig(EXAMPLE_CONFIG_PATH), path.relative(ROOT, EXAMPLE_CONFIG_PATH));
    app.synth();
    return stacks.map((stack) => ({
      name: stack.node.id,
      role: stack instanceof MemberStack ? "member" : "central",
      outputs: JSON.parse(readFileSync(path.join(outdir, "stacks", stack.node.id, "cdk.tf.json"), "utf8")).output ?? {},
    }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Every page `npm run docs` writes, by path from the project root: the two reference pages whole,
 * and each page of docs/ with its generated regions rendered anew.
 */
export function generatedPages(stacks: readonly StackOutputs[] = exampleStackOutputs()): Map<string, string> {
  const pages = new Map<string, string>([
    ["docs/reference/config.md", configReference()],
    ["docs/reference/outputs.md", outputsReference(stacks)],
  ]);
  for (const name of readdirSync(path.join(ROOT, "docs")).filter((n) => n.endsWith(".md")).sort()) {
    const page = `docs/${name}`;
    pages.set(page, withGeneratedRegions(readFileSync(path.join(ROOT, page), "utf8"), stacks));
  }
  return pages;
}

// `npm run docs`: rewrite the generated pages and regions.
if (require.main === module) {
  for (const [page, text] of generatedPages()) {
    const file = path.join(ROOT, page);
    let before: string | undefined;
    try {
      before = readFileSync(file, "utf8");
    } catch {
      before = undefined;
    }
    if (before === text) continue;
    writeFileSync(file, text);
    console.log(`flowtap docs: wrote ${page}`);
  }
}
