import { Command, InvalidArgumentError, Option } from "commander";

/*
 * Each command loads its own modules when it runs (typed by `typeof import`): loading every
 * command's AWS SDK clients and DuckDB up front made any command take 0.7 s to start, against
 * 0.25 s for `flowtap enrich` alone.
 */
/* eslint-disable @typescript-eslint/no-require-imports */

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive whole number");
  return n;
}

/** Collects repeated `key=value` flags into a record. */
function collectPairs(value: string, previous: Record<string, string>): Record<string, string> {
  const [key, target, ...rest] = value.split("=");
  if (!key || !target || rest.length > 0) throw new InvalidArgumentError("expected name=value");
  return { ...previous, [key]: target };
}

/** A point in time as seconds since the epoch, given as such or as an ISO 8601 time. */
function parseInstant(value: string): number {
  const seconds = /^\d+$/.test(value) ? Number(value) : Date.parse(value) / 1000;
  if (!Number.isFinite(seconds)) throw new InvalidArgumentError("expected seconds since the epoch or an ISO 8601 time, e.g. 2026-12-08T09:30:00Z");
  return Math.floor(seconds);
}

/** The Athena workgroup `flowtap query --athena` runs in (flow-insights-central's unless named), with a client of the options' region and profile. */
function athenaTarget(opts: { workgroup?: string; database?: string; region?: string; profile?: string }) {
  const { AthenaClient } = require("@aws-sdk/client-athena") as typeof import("@aws-sdk/client-athena");
  const { FLOW_INSIGHTS } = require("../config/flow-insights") as typeof import("../config/flow-insights");
  // Retries are runAthenaQuery's (withRetry), so the SDK makes one attempt.
  const client = new AthenaClient({ region: opts.region, profile: opts.profile, maxAttempts: 1 });
  return { client, workgroup: opts.workgroup ?? FLOW_INSIGHTS.workgroupName, database: opts.database ?? FLOW_INSIGHTS.databaseName };
}

/** A repeatable option's values, in the order given. */
function collectValues(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The flag each mirroring setting comes from, to name it in errors. */
const FLAG_NAMES = {
  MIRROR_TARGETS: "--target-id/--zone-target",
  MIRROR_FILTER_ID: "--filter-id",
  EXCLUDE_TAG_KEY: "--exclude-tag-key",
  SESSION_NUMBER: "--session-number",
  VIRTUAL_NETWORK_ID: "--virtual-network-id",
  PACKET_LENGTH: "--packet-length",
};

/** The `flowtap` command; `bin/flowtap.cjs` runs it (`npx flowtap`). */
export function flowtapProgram(): Command {
  const program = new Command("flowtap")
    .description("Network visibility for a whole AWS Organization")
    .showHelpAfterError();

  program
    .command("backfill")
    .description("Mirror every running EC2 instance of an account and region that has no session yet (what the reconciler does on schedule, on demand)")
    .option("--target-id <tmt-id>", "traffic mirror target for sources in zones without their own (may be shared through RAM)")
    .option("--zone-target <zone-id=tmt-id...>", "target for sources in one availability zone id, e.g. use1-az1=tmt-0123456789abcdef0 (repeatable)", collectPairs, {})
    .requiredOption("--filter-id <tmf-id>", "traffic mirror filter: the ec2-mirroring stack's mirror_filter_id output")
    .option("--exclude-tag-key <key>", "instances with this tag are not mirrored", "flowtap:exclude")
    .option("--exclude-tag-value <value>", "only this exact value of --exclude-tag-key excludes")
    .option("--include-tag-key <key>", "mirror only instances with this tag")
    .option("--include-tag-value <value>", "only this exact value of --include-tag-key includes")
    .option("--no-exclude-eks-nodes", "mirror EKS and Karpenter nodes too")
    .option("--vpc-ids <ids>", "comma-separated VPC allow-list")
    .option("--subnet-ids <ids>", "comma-separated subnet allow-list")
    .option("--session-number <n>", "preferred session number", "1")
    .option("--virtual-network-id <n>", "VXLAN network id sessions carry")
    .option("--packet-length <bytes>", "bytes of each packet to mirror")
    .addOption(new Option("--concurrency <n>", "instances worked on at once").default(4).argParser(positiveInt))
    .option("--dry-run", "print what would be mirrored; change nothing", false)
    .option("--region <region>", "AWS region (default: the credential chain's)")
    .option("--profile <profile>", "AWS shared-config profile (default: the credential chain's)")
    .action(async (opts) => {
      const { EC2Client } = require("@aws-sdk/client-ec2") as typeof import("@aws-sdk/client-ec2");
      const { settingsFromEnvironment } = require("../functions/lib/mirroring/settings") as typeof import("../functions/lib/mirroring/settings");
      const { runBackfill } = require("./backfill") as typeof import("./backfill");
      const settings = settingsFromEnvironment({
        MIRROR_TARGETS: JSON.stringify({ ...opts.zoneTarget, ...(opts.targetId ? { default: opts.targetId } : {}) }),
        MIRROR_FILTER_ID: opts.filterId,
        EXCLUDE_TAG_KEY: opts.excludeTagKey,
        EXCLUDE_TAG_VALUE: opts.excludeTagValue,
        EXCLUDE_EKS_NODES: String(opts.excludeEksNodes),
        INCLUDE_TAG_KEY: opts.includeTagKey,
        INCLUDE_TAG_VALUE: opts.includeTagValue,
        VPC_IDS: opts.vpcIds,
        SUBNET_IDS: opts.subnetIds,
        SESSION_NUMBER: opts.sessionNumber,
        VIRTUAL_NETWORK_ID: opts.virtualNetworkId,
        PACKET_LENGTH: opts.packetLength,
      }, FLAG_NAMES);
      const ec2 = new EC2Client({ region: opts.region, profile: opts.profile, maxAttempts: 1 });
      process.exitCode = await runBackfill(
        { settings, dryRun: opts.dryRun, concurrency: opts.concurrency },
        { ec2, stdout: process.stdout, stderr: process.stderr },
      );
    });
  program
    .command("rollout")
    .description("Plan or apply every stack in every workspace of the rollout manifest that synth wrote (needs terraform on PATH)")
    .argument("<action>", "plan, or apply (applies the plans a previous `rollout plan` saved)")
    .option("--manifest <file>", "the rollout manifest", "cdktf.out/rollout.json")
    .option("--stack <name>", "only this stack")
    .option("--accounts <ids>", "only these account ids (comma-separated)", (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean))
    .option("--ou <ou-id>", "only accounts in this OU")
    .addOption(new Option("--parallel <n>", "workspaces run at once").default(4).argParser(positiveInt))
    .action(async (action: string, opts) => {
      if (action !== "plan" && action !== "apply") throw new InvalidArgumentError(`action must be plan or apply, not ${action}`);
      const { runRollout } = require("./rollout") as typeof import("./rollout");
      process.exitCode = await runRollout(
        { action, manifestPath: opts.manifest, stack: opts.stack, accounts: opts.accounts, ou: opts.ou, parallel: opts.parallel },
        { stdout: process.stdout, stderr: process.stderr, env: process.env },
      );
    });

  program
    .command("validate")
    .description("terraform init -backend=false and terraform validate of every synthesized stack, one line per stack (needs terraform; exit 1 on any invalid stack)")
    .option("--stacks <dir>", "the synthesized stacks", "cdktf.out/stacks")
    .option("--mirror <dir>", "install hashicorp/aws from this filesystem mirror (the directory holding registry.terraform.io), re-pinned to its version (default: TF_PLUGIN_MIRROR, else the registry)")
    .addOption(new Option("--parallel <n>", "stacks validated at once").default(2).argParser(positiveInt))
    .action(async (opts) => {
      const { runValidate } = require("./validate") as typeof import("./validate");
      process.exitCode = await runValidate(
        { stacksDir: opts.stacks, mirrorDir: opts.mirror ?? process.env.TF_PLUGIN_MIRROR, parallel: opts.parallel },
        { stdout: process.stdout, stderr: process.stderr, env: process.env },
      );
    });

  program
    .command("enrich")
    .description("Enrich VPC flow log records (plain, gzip, Parquet, Firehose JSON lines, CloudWatch Logs payloads, exports or filter-log-events output) with what is on both ends; one JSON object per line")
    .argument("[files...]", "flow log files, or directories (every file beneath them); standard input when none")
    .option("--format <format>", "the log format string as given to CreateFlowLogs, e.g. '${version} ${srcaddr} ...' (default: the v2 format; an S3 header line overrides it)")
    .option("--inventory <dir>", "inventory directory (see flowtap inventory), or a directory of them, one per account; repeatable, merged. Without one, only AWS ranges and private addresses are told apart", collectValues)
    .addOption(new Option("--window <seconds>", "aggregate into windows of this many seconds").choices(["60", "300", "3600"]))
    .addOption(new Option("--output <kind>", "jsonl or parquet").choices(["jsonl", "parquet"]).default("jsonl"))
    .option("--out <file>", "write here instead of standard output (required for parquet)")
    .option("--threads <n>", "threads for files (the main one and workers), each enriching the records of its share of the flows (default: one, and one more per 64 MiB of input (gzip'd files by their size unzipped, Parquet rows as lines of text), up to the available CPUs; standard input uses one; with --window, records are shared by the pair of resources at their ends)", positiveInt)
    .action(async (files: string[], opts) => {
      const { runEnrich } = require("./enrich") as typeof import("./enrich");
      process.exitCode = await runEnrich(
        { format: opts.format, inventoryDirs: opts.inventory ?? [], windowSeconds: opts.window ? Number(opts.window) : undefined, output: opts.output, outFile: opts.out, files, threads: opts.threads },
        { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
      );
    });

  program
    .command("inventory")
    .description("Write the inventory flowtap enrich reads (the AWS CLI's JSON, one file per call) from a live account")
    .requiredOption("--out <dir>", "directory to write the files to")
    .option("--region <region>", "one region (default: every region enabled for the account, merged)")
    .option("--profile <profile>", "AWS shared-config profile (default: the credential chain's)")
    .action(async (opts) => {
      const { runInventory } = require("./inventory") as typeof import("./inventory");
      process.exitCode = await runInventory({ outDir: opts.out, region: opts.region, profile: opts.profile }, { stderr: process.stderr });
    });

  program
    .command("query")
    .description("Answer a named question (or your own SQL) over enriched records, JSONL or Parquet, with DuckDB, or in Athena; the view is called flows (recent_flows with --recent)")
    .argument("[name]", "a named query (see --list)")
    .argument("[files...]", "enriched records, JSONL (plain or gzip'd) or Parquet: files, or directories (every file beneath them)")
    .option("--list", "name the queries and what they answer", false)
    .option("--sql <sql>", "run this SQL instead of a named query")
    .option("--param <name=value...>", "a parameter of the query (repeatable)", collectPairs, {})
    .option("--json", "one JSON object per row instead of a table", false)
    .option("--recent", "the recent store's questions, over its files (recent/ of the central bucket) or, with --athena, its table recent_flows", false)
    .option("--now <time>", "over files: when now is, for --recent's last minutes (seconds since the epoch, or an ISO 8601 time; default: the clock's)", parseInstant)
    .option("--athena", "run in Athena, in the central account, instead of over files", false)
    .option("--workgroup <name>", "with --athena: the workgroup (default: flow-insights-central's)")
    .option("--database <name>", "with --athena: the Glue database (default: flow-insights-central's)")
    .option("--region <region>", "with --athena: the central account's home region (default: the credential chain's)")
    .option("--profile <profile>", "with --athena: AWS shared-config profile (default: the credential chain's)")
    .action(async (name: string | undefined, files: string[], opts) => {
      // With --sql, every argument is a file.
      const all = opts.sql && name ? [name, ...files] : files;
      const { runQuery } = require("./query") as typeof import("./query");
      const athena = opts.athena ? athenaTarget(opts) : undefined;
      process.exitCode = await runQuery(
        { name: opts.sql ? undefined : name, sql: opts.sql, list: opts.list, json: opts.json, parameters: opts.param, files: all, recent: opts.recent, now: opts.now, athena },
        { stdout: process.stdout, stderr: process.stderr },
      );
    });

  program
    .command("accounts")
    .description("Bring the organization's accounts and OUs into the org config, so new accounts join the rollout")
    .requiredOption("--from-organizations", "list them with AWS Organizations (from the management account or a delegated administrator)")
    .option("--config <file>", "the org config to merge into", "config/example.org.yaml")
    .option("--regions <regions>", "regions for accounts not yet in the config (comma-separated)", (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean), [])
    .option("--features <features>", "features for accounts not yet in the config (comma-separated)", (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean), [])
    .option("--write", "write the merged config back to the file (default: print it)", false)
    .option("--region <region>", "AWS region for the Organizations API (default: the credential chain's)")
    .option("--profile <profile>", "AWS shared-config profile (default: the credential chain's)")
    .action(async (opts) => {
      const { runAccounts } = require("./accounts-command") as typeof import("./accounts-command");
      process.exitCode = await runAccounts(
        { configFile: opts.config, newAccountRegions: opts.regions, newAccountFeatures: opts.features, write: opts.write, region: opts.region, profile: opts.profile },
        { stdout: process.stdout, stderr: process.stderr },
      );
    });

  return program;
}
