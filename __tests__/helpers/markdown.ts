import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

export const REPOSITORY_ROOT = path.join(__dirname, "..", "..");

/** Every file of the repository as a clean clone has it, plus new files not yet committed (ignored ones left out). */
export const repositoryFiles = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: REPOSITORY_ROOT, encoding: "utf8" })
  .split("\n")
  .filter((f) => f && existsSync(path.join(REPOSITORY_ROOT, f)));

/** The documentation: every Markdown file but the tests' own. */
export const markdownFiles = repositoryFiles.filter((f) => f.endsWith(".md") && !f.startsWith("__tests__/"));

export const readRepositoryFile = (file: string) => readFileSync(path.join(REPOSITORY_ROOT, file), "utf8");

/** A Markdown text without its fenced code blocks, where `#` lines and `](…)` are not headings or links. */
export const withoutCodeBlocks = (markdown: string) => markdown.replace(/^\s*```[\s\S]*?^\s*```/gm, "");

/** The comment that marks a shell block a reader can only run against a real AWS account. */
export const NEEDS_AWS_MARKER = "<!-- needs an AWS account -->";

/** A fenced `sh` block of a page, as a reader would copy it. */
export interface ShellBlock {
  readonly file: string;
  /** The line of the opening fence, 1-based. */
  readonly line: number;
  /** The block's text, its fence's indentation removed. */
  readonly text: string;
  /** Preceded by {@link NEEDS_AWS_MARKER}. */
  readonly needsAws: boolean;
}

export function shellBlocks(file: string): ShellBlock[] {
  const lines = readRepositoryFile(file).split("\n");
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```sh\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(indent));
    const previous = lines.slice(0, i).reverse().find((l) => l.trim() !== "");
    blocks.push({ file, line: i + 1, text: body.join("\n"), needsAws: previous?.trim() === NEEDS_AWS_MARKER });
    i = j;
  }
  return blocks;
}

/**
 * The commands of a shell block: backslash continuations joined, comments dropped, and `a && b`
 * split into `a` and `b` (which `set -e` runs the same way).
 */
export function commandsOf(script: string): string[] {
  return script
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean)
    .flatMap((line) => line.split(/\s+&&\s+/));
}
