import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Command } from "commander";
import { parse as parseShell } from "shell-quote";
import { flowtapProgram } from "../cli/main";
import { terraformToolsLine } from "../cli/terraform-tools";
import { commandsOf, markdownFiles, readRepositoryFile, repositoryFiles, REPOSITORY_ROOT, shellBlocks, type ShellBlock, withoutCodeBlocks } from "./helpers/markdown";
import { terraformTools } from "./helpers/terraform";

/**
 * Every command the README and docs/ show is run here as written, or by `.ci/run`, or — where
 * it needs an AWS account — parsed by the CLI's own definitions. The blocks run in order, the
 * README's first and then each page's, in one scratch copy of the repository (what a clean clone has,
 * and node_modules, linked; what the commands write stays in the copy): a reader follows the README
 * before the pages.
 */

const blocks = markdownFiles.flatMap(shellBlocks);
const ciCommands = readRepositoryFile(".ci/run")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#") && !/^(set|cd) /.test(l));
const quickStart = blocks.find((b) => b.file === "README.md")!;
const needsTerraform = (command: string) => /\b(npm run validate|flowtap validate)\b/.test(command);

/** What a block leaves for this test to run: its commands that `.ci/run` does not already run. */
const commandsToRun = (block: ShellBlock) => commandsOf(block.text).filter((c) => !ciCommands.includes(c));

/** A new directory with the repository's top-level entries a clean clone has, and node_modules, linked into it. */
function scratchCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "flowtap-docs-"));
  const cloned = new Set([...repositoryFiles.map((f) => f.split("/")[0]), "node_modules"]);
  for (const entry of cloned) symlinkSync(path.join(REPOSITORY_ROOT, entry), path.join(dir, entry));
  return dir;
}

const pluginCache = mkdtempSync(path.join(tmpdir(), "flowtap-docs-plugins-"));
const commandEnv: NodeJS.ProcessEnv = {
  ...process.env,
  ...(terraformTools.found ? { TERRAFORM: terraformTools.terraform, TF_PLUGIN_MIRROR: terraformTools.mirror.dir } : {}),
  // One provider install for every validate this file runs.
  TF_PLUGIN_CACHE_DIR: pluginCache,
};

function run(commands: readonly string[], cwd: string, where: string): void {
  const result = spawnSync("bash", ["-euo", "pipefail", "-c", commands.join("\n")], { cwd, env: commandEnv, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${where}: exit status ${result.status}\n$ ${commands.join("\n$ ")}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
}

afterAll(() => rmSync(pluginCache, { recursive: true, force: true }));

describe("the commands the README and docs/ show", () => {
  it("finds the quick start first in the README, and .ci/run runs what it leaves out (npm ci, npm test)", () => {
    expect(commandsOf(quickStart.text)).toEqual(["npm ci", "npm run synth", "npm test"]);
    expect(ciCommands).toEqual(expect.arrayContaining(["npm ci", "npm test"]));
  });

  const pages = ["README.md", ...new Set(blocks.filter((b) => !b.needsAws && b.file !== "README.md").map((b) => b.file))];
  if (!terraformTools.found) console.warn(`${terraformToolsLine(terraformTools)}: the docs' validate commands are not run`);
  let dir: string;
  beforeAll(() => {
    dir = scratchCopy();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe.each(pages)("in %s", (page) => {
    for (const block of blocks.filter((b) => b.file === page && !b.needsAws)) {
      const commands = commandsToRun(block);
      const skip = !terraformTools.found && commands.some(needsTerraform);
      (skip ? it.skip : it)(`line ${block.line}: ${commands.join(" · ")}`, () => run(commands, dir, `${page}:${block.line}`), 300_000);
    }
  });

  it("validates both examples with terraform, through those commands", () => {
    const validated = blocks
      .filter((b) => !b.needsAws)
      .map((b) => commandsToRun(b))
      .flatMap((commands) => commands.flatMap((c, i) => (commands.slice(i + 1).some(needsTerraform) ? [/--config (\S+)/.exec(c)?.[1]] : [])))
      .filter(Boolean);
    expect(new Set(validated)).toEqual(new Set(["examples/single-account/org.yaml", "examples/organization/org.yaml"]));
  });
});

/** `flowtap …` invocations of a command line, as argument lists (variables stand for themselves). */
function flowtapInvocations(command: string): string[][] {
  const words = parseShell(command, (name) => `<${name}>`);
  const invocations: string[][] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] !== "npx" || words[i + 1] !== "flowtap") continue;
    const args: string[] = [];
    for (i += 2; i < words.length && typeof words[i] === "string"; i++) args.push(words[i] as string);
    invocations.push(args);
  }
  return invocations;
}

/** The CLI, parsing only: every action replaced, errors thrown rather than exiting. */
function parsingOnlyProgram(): Command {
  const program = flowtapProgram();
  const silence = (command: Command) => {
    command.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    if (command.commands.length === 0) command.action(() => {});
    command.commands.forEach(silence);
  };
  silence(program);
  return program;
}

describe("the commands the docs show for a real AWS account", () => {
  const awsBlocks = blocks.filter((b) => b.needsAws);
  const invocations = awsBlocks.flatMap((b) => commandsOf(b.text).flatMap((c) => flowtapInvocations(c).map((args) => ({ where: `${b.file}:${b.line}`, args }))));

  it("are marked as such in the pages that have them", () => {
    expect(awsBlocks.length).toBeGreaterThan(0);
    expect(invocations.length).toBeGreaterThan(0);
  });

  it.each(invocations.map((i) => [i.where, i.args.join(" "), i.args] as const))("%s: flowtap %s parses as the CLI defines it", async (_where, _line, args) => {
    await expect(parsingOnlyProgram().parseAsync(args, { from: "user" })).resolves.toBeDefined();
  });

  it("name only outputs the stacks declare", () => {
    // The outputs reference, which docs.test.ts keeps equal to what the stacks declare.
    const outputs = new Set([...readRepositoryFile("docs/reference/outputs.md").matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]));
    const named = awsBlocks.flatMap((b) => [...b.text.matchAll(/terraform output -raw (\w+)/g)].map((m) => m[1]));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !outputs.has(n))).toEqual([]);
  });
});

describe("the commands the pages name in their prose", () => {
  const inline = markdownFiles.flatMap((file) =>
    [...withoutCodeBlocks(readRepositoryFile(file)).matchAll(/`((?:npm run|npx flowtap) [^`]*)`/g)].map((m) => ({ where: file, command: m[1] })),
  );
  const scripts = Object.keys(JSON.parse(readRepositoryFile("package.json")).scripts);

  it("name only npm scripts that package.json has", () => {
    const named = inline.flatMap(({ where, command }) => commandsOf(command).flatMap((c) => {
      const script = /^npm run (\S+)/.exec(c)?.[1];
      return script ? [{ where, script }] : [];
    }));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !scripts.includes(n.script))).toEqual([]);
  });

  // A synopsis (`<command>`, `[--region R]`) describes commands rather than being one.
  it.each(inline.filter((i) => i.command.startsWith("npx flowtap") && !/[<[]/.test(i.command)).map((i) => [i.where, i.command] as const))(
    "%s: %s parses as the CLI defines it",
    async (_where, command) => {
      const [args] = flowtapInvocations(command);
      await parsingOnlyProgram()
        .parseAsync(args, { from: "user" })
        .catch((err: { code?: string }) => {
          if (err.code !== "commander.helpDisplayed") throw err;
        });
    },
  );
});
