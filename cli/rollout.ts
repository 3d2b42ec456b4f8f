import { SingleBar } from "cli-progress";
import Table from "cli-table3";
import { spawn } from "node:child_process";
import { accessSync, constants, createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from "node:fs";
import * as path from "node:path";
import pLimit from "p-limit";
import type { RolloutManifest, RolloutStack, RolloutWorkspace } from "../config/rollout-manifest";

export type RolloutAction = "plan" | "apply";

export interface RolloutOptions {
  readonly action: RolloutAction;
  /** `cdktf.out/rollout.json`; stack directories are relative to its folder. */
  readonly manifestPath: string;
  /** Only this stack. */
  readonly stack?: string;
  /** Only these account ids. */
  readonly accounts?: readonly string[];
  /** Only accounts in this OU. */
  readonly ou?: string;
  /** Workspaces run at once, per stack. */
  readonly parallel: number;
}

export interface RolloutIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

/** How one workspace ended. */
export type WorkspaceResult = "no changes" | "changes" | "applied" | "failed" | "skipped";

interface Job {
  readonly stack: RolloutStack;
  readonly workspace: RolloutWorkspace;
}

/** The executable `name` resolves to on PATH, or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function run(terraform: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log: WriteStream): Promise<number> {
  log.write(`\n$ terraform ${args.join(" ")}\n`);
  return new Promise((resolve) => {
    const child = spawn(terraform, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on("error", (err) => {
      log.write(`${err.message}\n`);
      resolve(127);
    });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

/** The workspaces of the manifest the options select, stack by stack, in the manifest's (dependency) order. */
export function selectJobs(manifest: RolloutManifest, options: Pick<RolloutOptions, "stack" | "accounts" | "ou">): Job[] {
  if (options.stack && !manifest.stacks.some((s) => s.name === options.stack)) {
    throw new Error(`no stack ${options.stack} in the manifest (it has ${manifest.stacks.map((s) => s.name).join(", ")})`);
  }
  return manifest.stacks
    .filter((stack) => !options.stack || stack.name === options.stack)
    .flatMap((stack) =>
      stack.workspaces
        .filter((ws) => !options.accounts || options.accounts.includes(ws.accountId))
        .filter((ws) => !options.ou || ws.ou === options.ou)
        .map((workspace) => ({ stack, workspace })),
    );
}

/**
 * Runs `terraform init`, `workspace select -or-create` and `plan` (or `apply` of the saved plan)
 * for every selected workspace, `parallel` at a time within a stack and the stacks in dependency
 * order, each workspace with its own TF_DATA_DIR so parallel workspaces of one directory do not
 * share a selected workspace, and its own log file. Goes on past failures; a workspace whose
 * stack depends on a stack that failed to apply is skipped. Returns the exit status.
 */
export async function runRollout(options: RolloutOptions, io: RolloutIo): Promise<number> {
  const terraform = findOnPath("terraform", io.env);
  if (!terraform) {
    io.stderr.write("flowtap rollout needs a terraform binary (1.10 or later) on PATH, and found none\n");
    return 1;
  }
  const manifest = JSON.parse(readFileSync(options.manifestPath, "utf8")) as RolloutManifest;
  const root = path.dirname(options.manifestPath);
  const jobs = selectJobs(manifest, options);
  if (jobs.length === 0) {
    io.stderr.write("flowtap rollout: no workspace matches the given --stack, --accounts and --ou\n");
    return 1;
  }
  const logRoot = path.join(root, "rollout-logs");
  const pluginCache = io.env.TF_PLUGIN_CACHE_DIR ?? path.resolve(root, ".terraform-plugin-cache");
  mkdirSync(pluginCache, { recursive: true });

  const bar = io.stderr.isTTY ? new SingleBar({ stream: io.stderr, format: `${options.action} {bar} {value}/{total} workspaces | {current}` }) : undefined;
  bar?.start(jobs.length, 0, { current: "" });
  const results = new Map<Job, WorkspaceResult>();
  const failedStacks = new Set<string>();

  for (const stack of manifest.stacks) {
    const stackJobs = jobs.filter((j) => j.stack === stack);
    const blockedBy = stack.dependsOn.filter((d) => failedStacks.has(d));
    const limit = pLimit(options.parallel);
    await Promise.all(
      stackJobs.map((job) =>
        limit(async () => {
          const result: WorkspaceResult =
            options.action === "apply" && blockedBy.length > 0 ? "skipped" : await runWorkspace(terraform, job, options.action, root, logRoot, pluginCache, io.env);
          results.set(job, result);
          if (result === "failed" && options.action === "apply") failedStacks.add(stack.name);
          bar?.increment(1, { current: `${stack.name} ${job.workspace.name}: ${result}` });
        }),
      ),
    );
  }
  bar?.stop();

  const table = new Table({ head: ["stack", "workspace", "account", "region", "result"], style: { head: [], border: [] } });
  for (const job of jobs) table.push([job.stack.name, job.workspace.name, job.workspace.accountName, job.workspace.region, results.get(job) ?? "skipped"]);
  io.stdout.write(`${table.toString()}\n`);
  const count = (...r: WorkspaceResult[]) => jobs.filter((j) => r.includes(results.get(j) ?? "skipped")).length;
  io.stdout.write(`ok: ${count("no changes", "applied")}, changed: ${count("changes")}, failed: ${count("failed")}, skipped: ${count("skipped")} (logs in ${logRoot})\n`);
  return count("failed", "skipped") > 0 ? 1 : 0;
}

async function runWorkspace(
  terraform: string,
  { stack, workspace }: Job,
  action: RolloutAction,
  root: string,
  logRoot: string,
  pluginCache: string,
  baseEnv: NodeJS.ProcessEnv,
): Promise<WorkspaceResult> {
  const cwd = path.resolve(root, stack.directory);
  const logDir = path.join(logRoot, stack.name);
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(path.join(logDir, `${workspace.name}.log`));
  const env = {
    ...baseEnv,
    TF_DATA_DIR: `.terraform-${workspace.name}`,
    TF_PLUGIN_CACHE_DIR: pluginCache,
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
  };
  const planFile = `${workspace.name}.tfplan`;
  try {
    if ((await run(terraform, ["init", "-input=false"], cwd, env, log)) !== 0) return "failed";
    const select = workspace.name === "default" ? ["workspace", "select", "default"] : ["workspace", "select", "-or-create", workspace.name];
    if ((await run(terraform, select, cwd, env, log)) !== 0) return "failed";
    if (action === "plan") {
      const code = await run(terraform, ["plan", "-input=false", "-detailed-exitcode", `-out=${planFile}`], cwd, env, log);
      return code === 0 ? "no changes" : code === 2 ? "changes" : "failed";
    }
    if (!existsSync(path.join(cwd, planFile))) {
      log.write(`no saved plan ${planFile}: run flowtap rollout plan first and review it\n`);
      return "failed";
    }
    return (await run(terraform, ["apply", "-input=false", planFile], cwd, env, log)) === 0 ? "applied" : "failed";
  } finally {
    await new Promise((resolve) => log.end(resolve));
  }
}
