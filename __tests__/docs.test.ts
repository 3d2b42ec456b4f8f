import { existsSync, statSync } from "node:fs";
import * as path from "node:path";
import { loadOrgConfig } from "../config/load";
import { generatedPages } from "../docs/generate";
import { markdownFiles, readRepositoryFile, repositoryFiles, REPOSITORY_ROOT as ROOT, withoutCodeBlocks } from "./helpers/markdown";
import { synthAll } from "./helpers/synth";

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`. */
const anchorOf = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");

function anchorsIn(file: string): Set<string> {
  const text = withoutCodeBlocks(readRepositoryFile(file));
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])));
}

describe("the documentation", () => {
  it("is what npm run docs generates: the config reference from the schema, the outputs from the stacks", () => {
    for (const [page, text] of generatedPages()) {
      expect({ page, text: readRepositoryFile(page) }).toEqual({ page, text });
    }
  });

  it("refers to no document outside the repository", () => {
    // Built from parts, so that this file does not name them itself.
    const outside = new RegExp([["DESIGN", "md"].join("\\."), ["STYLE", "md"].join("\\."), "\\.\\./shared"].join("|"));
    const offenders = repositoryFiles.filter((f) => statSync(path.join(ROOT, f)).size < 2_000_000 && outside.test(readRepositoryFile(f)));
    expect(offenders).toEqual([]);
  });

  it("links only to files and headings that exist", () => {
    const broken: string[] = [];
    for (const file of markdownFiles) {
      const text = withoutCodeBlocks(readRepositoryFile(file));
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [filePart, anchor] = target.split("#");
        const linked = filePart ? path.normalize(path.join(path.dirname(file), filePart)) : file;
        if (!existsSync(path.join(ROOT, linked))) broken.push(`${file}: ${target} (no such file)`);
        else if (anchor && linked.endsWith(".md") && !anchorsIn(linked).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it.each(["examples/single-account/org.yaml", "examples/organization/org.yaml"])("%s loads and synthesizes", (file) => {
    const stacks = synthAll(loadOrgConfig(path.join(ROOT, file)), file);
    expect(stacks.size).toBeGreaterThan(0);
    for (const stack of stacks.values()) expect(Object.keys(stack.tf.resource ?? {}).length).toBeGreaterThan(0);
  });

  it("keeps the README under 200 lines", () => {
    expect(readRepositoryFile("README.md").split("\n").length).toBeLessThan(200);
  });
});
