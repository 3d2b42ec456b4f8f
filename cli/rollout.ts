import { SingleBar } from "cli-progress";
import Table from "cli-table3";
import { spawn } from "node:child_process";
import { accessSync, constants, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, type WriteStream } from "node:fs";
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

/**
 * How one workspace ended. `waiting`: not planned, because a stack it depends on has not been
 * applied with nothing left to change (see {@link runRollout}).
 */
export type WorkspaceResult = "no changes" | "changes" | "applied" | "waiting" | "failed" | "skipped";

interface Job {
  readonly stack: RolloutStack;
  readonly workspace: RolloutWorkspace;
}

interface Outcome {
  readonly result: WorkspaceResult;
  /** The stacks a `waiting` workspace waits for. */
  readonly waitingFor?: readonly string[];
}

/** What `rollout-logs/summary.json` holds after each run, for a pipeline to read. */
export interface RolloutSummary {
  readonly action: RolloutAction;
  readonly counts: Readonly<Record<WorkspaceResult, number>>;
  readonly workspaces: readonly {
    readonly stack: string;
    readonly workspace: string;
    readonly accountId: string;
    readonly region: string;
    readonly result: WorkspaceResult;
    readonly waitingFor?: readonly string[];
  }[];
}

/** Beside a workspace's saved plan: it was not planned, and what it waits for. Apply reports such a workspace as waiting, not as lacking a reviewed plan. */
const waitingMarker = (workspace: string) => `${workspace}.waiting`;

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

/**
 * Runs terraform, writing the command and all it prints to the workspace's log; resolves with its
 * exit status and standard output. Callers pass -no-color: the output goes to a file, not a terminal.
 */
function run(terraform: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log: WriteStream): Promise<{ code: number; stdout: string }> {
  log.write(`\n$ terraform ${args.join(" ")}\n`);
  return new Promise((resolve) => {
    const child = spawn(terraform, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => {
      stdout.push(chunk);
      log.write(chunk);
    });
    child.stderr.pipe(log, { end: false });
    child.on("error", (err) => {
      log.write(`${err.message}\n`);
      resolve({ code: 127, stdout: "" });
    });
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(stdout).toString("utf8") }));
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
 * for every selected workspace, the stacks in dependency order and up to `parallel` workspaces of
 * a stack at once, each workspace with its own TF_DATA_DIR (parallel workspaces of one directory
 * must not share a selected workspace) and its own log file. Goes on past failures.
 *
 * Plans proceed in waves: a stack is planned only once the stacks it depends on (`dependsOn`:
 * it reads their outputs, or sends to what they create) are applied with nothing left to change,
 * so that its plan holds the outputs it will be applied with. Until then its workspaces are
 * `waiting` (any plan saved earlier is removed, so apply cannot use it); applying the wave and
 * planning again plans them. A dependency planned
 * in the same run must plan "no changes" in every workspace; one not selected (`--stack`, filters)
 * must have outputs in its state. On apply, a workspace whose dependency failed to apply is
 * skipped. Writes `rollout-logs/summary.json`, and returns the exit status: 1 when a workspace
 * failed or was skipped, 0 when the rest only waits.
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
  const terraformRun = (job: Job, logName: string) => new WorkspaceRun(terraform, job, root, path.join(logRoot, job.stack.name, logName), pluginCache, io.env);

  const bar = io.stderr.isTTY ? new SingleBar({ stream: io.stderr, format: `${options.action} {bar} {value}/{total} workspaces | {current}` }) : undefined;
  bar?.start(jobs.length, 0, { current: "" });
  const outcomes = new Map<Job, Outcome>();
  const selectedStacks = new Set(jobs.map((j) => j.stack.name));
  /** Whether each dependency not planned in this run has outputs in its state. */
  const appliedOutside = new Map<string, Promise<boolean>>();
  const appliedElsewhere = (name: string) => {
    if (!appliedOutside.has(name)) {
      const stack = manifest.stacks.find((s) => s.name === name);
      if (!stack) throw new Error(`the manifest names ${name} as a dependency but has no such stack`);
      appliedOutside.set(name, Promise.all(stack.workspaces.map((workspace) => terraformRun({ stack, workspace }, `${workspace.name}.state.log`).hasOutputs())).then((all) => all.every(Boolean)));
    }
    return appliedOutside.get(name)!;
  };
  const stackResults = (name: string) => jobs.filter((j) => j.stack.name === name).map((j) => outcomes.get(j)?.result);

  for (const stack of manifest.stacks) {
    const stackJobs = jobs.filter((j) => j.stack === stack);
    if (stackJobs.length === 0) continue;
    const waitingFor: string[] = [];
    let blockedBy: string[] = [];
    if (options.action === "plan") {
      for (const dependency of stack.dependsOn) {
        const ready = selectedStacks.has(dependency) ? stackResults(dependency).every((r) => r === "no changes") : await appliedElsewhere(dependency);
        if (!ready) waitingFor.push(dependency);
      }
    } else {
      blockedBy = stack.dependsOn.filter((d) => stackResults(d).some((r) => r === "failed" || r === "skipped" || r === "waiting"));
    }
    const runJob = async (job: Job) => {
      const workspaceRun = terraformRun(job, `${job.workspace.name}.log`);
      const outcome: Outcome =
        waitingFor.length > 0
          ? workspaceRun.wait(waitingFor)
          : blockedBy.length > 0
            ? { result: "skipped" }
            : options.action === "plan"
              ? await workspaceRun.plan()
              : await workspaceRun.apply();
      outcomes.set(job, outcome);
      bar?.increment(1, { current: `${stack.name} ${job.workspace.name}: ${describe(outcome)}` });
    };
    // The plugin cache is not safe for concurrent first installs: a stack's first workspace initializes alone.
    const [first, ...rest] = stackJobs;
    await runJob(first);
    const limit = pLimit(options.parallel);
    await Promise.all(rest.map((job) => limit(() => runJob(job))));
  }
  bar?.stop();

  const table = new Table({ head: ["stack", "workspace", "account", "region", "result"], style: { head: [], border: [] } });
  for (const job of jobs) table.push([job.stack.name, job.workspace.name, job.workspace.accountName, job.workspace.region, describe(outcomes.get(job)!)]);
  io.stdout.write(`${table.toString()}\n`);
  const summary = summarize(options.action, jobs, outcomes);
  mkdirSync(logRoot, { recursive: true });
  writeFileSync(path.join(logRoot, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  const { counts } = summary;
  io.stdout.write(
    `ok: ${counts["no changes"] + counts.applied}, changed: ${counts.changes}, waiting: ${counts.waiting}, failed: ${counts.failed}, skipped: ${counts.skipped} (logs and summary.json in ${logRoot})\n`,
  );
  if (counts.waiting > 0) {
    const awaited = [...new Set(summary.workspaces.flatMap((w) => w.waitingFor ?? []))].join(", ");
    io.stdout.write(
      `${counts.waiting} workspaces wait for ${awaited}: each is planned once the stacks it depends on are applied with nothing left to change. ` +
        `${options.action === "plan" ? "Review and apply this plan, then run" : "Run"} flowtap rollout plan again for the next wave.\n`,
    );
  }
  return counts.failed + counts.skipped > 0 ? 1 : 0;
}

function describe(outcome: Outcome): string {
  return outcome.result === "waiting" ? `waiting for ${outcome.waitingFor!.join(", ")}` : outcome.result;
}

function summarize(action: RolloutAction, jobs: readonly Job[], outcomes: ReadonlyMap<Job, Outcome>): RolloutSummary {
  const counts: Record<WorkspaceResult, number> = { "no changes": 0, changes: 0, applied: 0, waiting: 0, failed: 0, skipped: 0 };
  const workspaces = jobs.map((job) => {
    const { result, waitingFor } = outcomes.get(job)!;
    counts[result]++;
    return { stack: job.stack.name, workspace: job.workspace.name, accountId: job.workspace.accountId, region: job.workspace.region, result, ...(waitingFor ? { waitingFor } : {}) };
  });
  return { action, counts, workspaces };
}

/** terraform in one workspace of one stack: its directory, data directory, saved plan and log file. */
class WorkspaceRun {
  private readonly cwd: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly planFile: string;

  constructor(
    private readonly terraform: string,
    private readonly job: Job,
    root: string,
    private readonly logFile: string,
    pluginCache: string,
    baseEnv: NodeJS.ProcessEnv,
  ) {
    this.cwd = path.resolve(root, job.stack.directory);
    this.planFile = `${job.workspace.name}.tfplan`;
    this.env = { ...baseEnv, TF_DATA_DIR: `.terraform-${job.workspace.name}`, TF_PLUGIN_CACHE_DIR: pluginCache, TF_IN_AUTOMATION: "1", TF_INPUT: "0" };
  }

  async plan(): Promise<Outcome> {
    rmSync(path.join(this.cwd, waitingMarker(this.job.workspace.name)), { force: true });
    return this.withLog(async (log) => {
      if (!(await this.selectWorkspace(log))) return { result: "failed" };
      const { code } = await run(this.terraform, ["plan", "-input=false", "-no-color", "-detailed-exitcode", `-out=${this.planFile}`], this.cwd, this.env, log);
      return { result: code === 0 ? "no changes" : code === 2 ? "changes" : "failed" };
    });
  }

  async apply(): Promise<Outcome> {
    return this.withLog(async (log) => {
      if (!existsSync(path.join(this.cwd, this.planFile))) {
        const marker = path.join(this.cwd, waitingMarker(this.job.workspace.name));
        if (existsSync(marker)) {
          const waitingFor = readFileSync(marker, "utf8").trim().split(",");
          log.write(`not planned: waiting for ${waitingFor.join(", ")}; run flowtap rollout plan once it is applied\n`);
          return { result: "waiting", waitingFor };
        }
        log.write(`no saved plan ${this.planFile}: run flowtap rollout plan first and review it\n`);
        return { result: "failed" };
      }
      if (!(await this.selectWorkspace(log))) return { result: "failed" };
      const { code } = await run(this.terraform, ["apply", "-input=false", "-no-color", this.planFile], this.cwd, this.env, log);
      return { result: code === 0 ? "applied" : "failed" };
    });
  }

  /** Not planned this run: a plan saved by an earlier run is removed, so that apply cannot use it, and the marker says what it waits for. */
  wait(waitingFor: readonly string[]): Outcome {
    rmSync(path.join(this.cwd, this.planFile), { force: true });
    mkdirSync(path.dirname(this.logFile), { recursive: true });
    writeFileSync(this.logFile, `not planned: waiting for ${waitingFor.join(", ")}, which must be applied with nothing left to change first\n`);
    writeFileSync(path.join(this.cwd, waitingMarker(this.job.workspace.name)), `${waitingFor.join(",")}\n`);
    return { result: "waiting", waitingFor };
  }

  /** Whether the workspace's state has outputs, that is, the stack has been applied there. */
  async hasOutputs(): Promise<boolean> {
    return this.withLog(async (log) => {
      if (!(await this.selectWorkspace(log))) return false;
      const output = await run(this.terraform, ["output", "-no-color", "-json"], this.cwd, this.env, log);
      try {
        return output.code === 0 && Object.keys(JSON.parse(output.stdout) as object).length > 0;
      } catch {
        return false;
      }
    });
  }

  private async selectWorkspace(log: WriteStream): Promise<boolean> {
    if ((await run(this.terraform, ["init", "-input=false", "-no-color"], this.cwd, this.env, log)).code !== 0) return false;
    const name = this.job.workspace.name;
    const select = name === "default" ? ["workspace", "select", "-no-color", "default"] : ["workspace", "select", "-no-color", "-or-create", name];
    return (await run(this.terraform, select, this.cwd, this.env, log)).code === 0;
  }

  private async withLog<T>(body: (log: WriteStream) => Promise<T>): Promise<T> {
    mkdirSync(path.dirname(this.logFile), { recursive: true });
    const log = createWriteStream(this.logFile);
    try {
      return await body(log);
    } finally {
      await new Promise((resolve) => log.end(resolve));
    }
  }
}
