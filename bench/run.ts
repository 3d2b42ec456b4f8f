/**
 * `npm run bench`: figures for what issue #2 measures, each printed beside the baseline it is
 * compared with, measured in the same run.
 *
 *  1. `npm run synth` wall time for the example org, against the floor of starting tsx and
 *     synthesizing an empty cdktf app.
 *  2. Each Lambda bundle's size and cold `require` time, against requiring the unbundled
 *     `@aws-sdk/client-ec2` the handlers use.
 *  3. EC2 API calls per mirrored instance, against the bound of 2 + one per ENI needing a session.
 *  4. API calls per ECS task mirrored, against the bound of 2 + one create.
 *  5. Reconciler calls for 1,000 running tasks, against ceil(tasks/100) list and describe calls
 *     plus one create per unmirrored ENI.
 *  6. Synth of a generated 1,000-account, 3-region organization with every feature, against the
 *     example org: at most 1.5 times its time, and bytes per workspace in each stack.
 *  7. Enrichment of default-format records against a 10,000-ENI inventory to JSONL, with the CLI's
 *     threads and on the main thread only (each also in 60-second windows), plain, gzip'd and as Parquet, against
 *     a baseline that only reads the same input and splits its lines and fields (medians of three
 *     interleaved rounds); peak RSS for 1 and 10 million records (memory must stay flat); 300 small
 *     files, text, gzip'd and Parquet, against the same records in one file; the README's sample,
 *     against the CLI's start alone.
 *  8. The Firehose enrichment function: EC2 API calls for 100,000 records over 1,000 distinct
 *     ENIs, against ceil(distinct values / 200) per lookup kind; its time per 0.2 MB batch once
 *     lookups are warm; and its time on a 6 MB batch, against only decoding the same batch.
 *  9. The flow-insights enrichment function per Kinesis batch of 5,000 records on warm caches
 *     (ownerships in dynalite, a full-size ip-ranges.json), against only decoding the same batches.
 * 10. `terraform plan` of ec2-mirroring in every workspace of a generated 20-account, 2-region
 *     organization (the real terraform, the mirrored provider, a local STS), seconds per
 *     workspace against a 2-account organization's workspaces planned at the same moments: a
 *     workspace's plan must not slow as the organization grows (at most 1.25 times).
 * 11. Enrichment of an input shaped like a real organization's (samples/organization.ts: a 10,000-ENI
 *     inventory as the AWS CLI writes it, 1 million records of some 400,000 conversations), whole
 *     process on 1 and 2 threads against the read-and-split baseline (medians of three interleaved
 *     rounds), where one thread's time goes (its CPU profile, by phase), and peak RSS at 1 and 10
 *     million records.
 */
import { spawnSync } from "node:child_process";
import { unzipSync } from "fflate";
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip, gzipSync } from "node:zlib";
import {
  CreateTrafficMirrorSessionCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeTrafficMirrorSessionsCommand,
  DescribeTrafficMirrorTargetsCommand,
  EC2Client,
  type CreateTrafficMirrorSessionCommandInput,
  type NetworkInterface,
  type SecurityGroup,
} from "@aws-sdk/client-ec2";
import { DescribeTasksCommand, ECSClient, ListTasksCommand, type Task } from "@aws-sdk/client-ecs";
import { FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { KinesisStreamRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { FEATURES } from "../config/schema";
import { DEFAULT_FORMAT, type FlowLogField } from "../functions/lib/flowlogs/fields";
import { FlowEnricher } from "../functions/lib/flowlogs/enrich";
import { decodeFirehoseRecords, transformDecoded } from "../functions/lib/flowlogs/firehose";
import { parseLogFormat, VPC_FLOW_LOG_FORMAT } from "../functions/lib/flowlogs/format";
import { isPrivateAddress } from "../functions/lib/flowlogs/ip-ranges";
import { addressesOf, delegatedPrefixKeyOf, holderOf } from "../functions/lib/flowlogs/inventory";
import { LiveInventory } from "../functions/lib/flowlogs/live-inventory";
import { OwnershipStore } from "../functions/lib/flowlogs/ownership";
import { decodeKinesisRecords } from "../functions/lib/flowlogs/tumbling-window";
import { sampleEc2 } from "../samples/ec2-responder";
import { sampleFlowLogLines, sampleInventory, writeParquetFlowLogs } from "../samples/generate";
import { createInventoryTable, startDynalite } from "../__tests__/helpers/dynalite";
import { preparePlanning, stackDocument, stateFixtureOf, synthesizeInto, writeRemoteStateFixture } from "../__tests__/helpers/terraform";
import { findTerraformTools, terraformToolsLine } from "../cli/terraform-tools";
import { loadOrgConfig } from "../config/load";
import { MIRROR_TARGET_STACK } from "../stacks/mirror-target-stack";

const ROOT = path.join(__dirname, "..");
const TSX = path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
const RUNS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeCommand(args: string[], env: NodeJS.ProcessEnv = {}): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function benchSynth(): void {
  const out = mkdtempSync(path.join(tmpdir(), "flowtap-bench-"));
  const emptyApp = path.join(out, "empty-app.ts");
  writeFileSync(
    emptyApp,
    `import { App, TerraformStack } from "cdktf";\nconst app = new App({ outdir: ${JSON.stringify(path.join(out, "empty"))} });\nnew TerraformStack(app, "empty");\napp.synth();\n`,
  );
  const synth = Array.from({ length: RUNS }, () => timeCommand([TSX, "main.ts", "--out", path.join(out, "example")]));
  const floor = Array.from({ length: RUNS }, () => timeCommand([TSX, emptyApp], { NODE_PATH: path.join(ROOT, "node_modules") }));
  console.log("\n1. synth wall time (median of %d runs)", RUNS);
  console.log("   example org (npm run synth):        %s ms", median(synth).toFixed(0));
  console.log("   baseline, empty cdktf app via tsx:  %s ms", median(floor).toFixed(0));
  console.log("   flowtap's own cost:                 %s ms", (median(synth) - median(floor)).toFixed(0));
}

function benchBundles(): void {
  console.log("\n2. Lambda bundles of the synthesized stacks (cold require = fresh node process, median of %d)", RUNS);
  const requireTime = (target: string) =>
    median(
      Array.from({ length: RUNS }, () => {
        const result = spawnSync(
          process.execPath,
          ["-e", `const t=process.hrtime.bigint();require(${JSON.stringify(target)});console.log(Number(process.hrtime.bigint()-t)/1e6)`],
          { cwd: ROOT, encoding: "utf8", env: { ...process.env, AWS_REGION: "us-east-1" } },
        );
        if (result.status !== 0) throw new Error(result.stderr);
        return Number(result.stdout.trim());
      }),
    );
  const stacksDir = path.join(ROOT, "cdktf.out", "stacks");
  // Functions sharing code (the same handler in several regions) share one bundle: each is measured once.
  const bundles = new Map<string, { names: string[]; zip: string }>();
  for (const stack of readdirSync(stacksDir)) {
    const tf = JSON.parse(readFileSync(path.join(stacksDir, stack, "cdk.tf.json"), "utf8"));
    for (const fn of Object.values<{ function_name: string; filename: string; source_code_hash: string }>(tf.resource?.aws_lambda_function ?? {})) {
      const bundle = bundles.get(fn.source_code_hash) ?? { names: [], zip: path.join(stacksDir, stack, fn.filename) };
      bundle.names.push(fn.function_name);
      bundles.set(fn.source_code_hash, bundle);
    }
  }
  const unpacked = mkdtempSync(path.join(tmpdir(), "flowtap-bundles-"));
  for (const [hash, { names, zip }] of bundles) {
    const dir = path.join(unpacked, hash.slice(0, 12));
    mkdirSync(dir);
    const files = unzipSync(readFileSync(zip));
    for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
    const index = path.join(dir, "index.js");
    console.log(
      "   %s index.js %s KiB, zip %s KiB, cold require %s ms",
      `${names[0]}${names.length > 1 ? ` (+${names.length - 1} sharing it)` : ""}:`.padEnd(38),
      (statSync(index).size / 1024).toFixed(0),
      (statSync(zip).size / 1024).toFixed(0),
      requireTime(index).toFixed(1),
    );
  }
  console.log("   baseline, require('@aws-sdk/client-ec2') unbundled: %s ms", requireTime("@aws-sdk/client-ec2").toFixed(1));
}

async function benchApiCalls(): Promise<void> {
  Object.assign(process.env, {
    MIRROR_TARGETS: JSON.stringify({ default: "tmt-0a1b2c3d4e5f60001" }),
    MIRROR_FILTER_ID: "tmf-0a1b2c3d4e5f60001",
    EXCLUDE_TAG_KEY: "flowtap:exclude",
    POWERTOOLS_METRICS_DISABLED: "true",
    POWERTOOLS_LOG_LEVEL: "SILENT",
    AWS_REGION: "us-east-1",
  });
  const ec2 = mockClient(EC2Client);
  const instances = 200;
  let expectedCreates = 0;
  // Instance n has (n % 4) + 1 ENIs; every third ENI is already mirrored.
  const enisOf = (n: number) => Array.from({ length: (n % 4) + 1 }, (_, i) => `eni-${n.toString(16).padStart(12, "0")}${i}`);
  ec2.on(DescribeTrafficMirrorTargetsCommand).resolves({ TrafficMirrorTargets: [] });
  ec2.on(DescribeInstancesCommand).callsFake((input) => {
    const n = parseInt(input.InstanceIds[0].slice(2), 16);
    return {
      Reservations: [{ Instances: [{ InstanceId: input.InstanceIds[0], State: { Name: "running" }, Tags: [], NetworkInterfaces: enisOf(n).map((id) => ({ NetworkInterfaceId: id, InterfaceType: "interface", Attachment: { Status: "attached" } })) }] }],
    };
  });
  ec2.on(DescribeTrafficMirrorSessionsCommand).callsFake((input) => ({
    TrafficMirrorSessions: (input.Filters[0].Values as string[])
      .filter((_, i) => i % 3 === 2)
      .map((id) => ({ TrafficMirrorSessionId: `tms-${id.slice(4)}`, NetworkInterfaceId: id, TrafficMirrorTargetId: "tmt-0a1b2c3d4e5f60001", SessionNumber: 1 })),
  }));
  ec2.on(CreateTrafficMirrorSessionCommand).callsFake((input: CreateTrafficMirrorSessionCommandInput) => ({ TrafficMirrorSession: { TrafficMirrorSessionId: `tms-${input.NetworkInterfaceId!.slice(4)}` } }));
  const { handler } = await import("../functions/ec2-mirroring/event-handler");
  // Warm the container: the mirror-target ENI list is fetched once per 5 minutes, not per event.
  await handler({ id: "warm", source: "aws.ec2", "detail-type": "EC2 Instance State-change Notification", detail: { "instance-id": "i-0000000000000fff", state: "running" } });
  ec2.resetHistory();
  for (let n = 0; n < instances; n++) {
    const enis = enisOf(n);
    expectedCreates += enis.filter((_, i) => i % 3 !== 2).length;
    await handler({ id: `e-${n}`, source: "aws.ec2", "detail-type": "EC2 Instance State-change Notification", detail: { "instance-id": `i-${n.toString(16).padStart(17, "0")}`, state: "running" } });
  }
  const calls = ec2.calls().length;
  const creates = ec2.commandCalls(CreateTrafficMirrorSessionCommand).length;
  const bound = 2 * instances + expectedCreates;
  console.log("\n3. EC2 API calls per mirrored instance (%d instances, 1-4 ENIs each, warm container)", instances);
  console.log("   calls made: %d (%s per instance), of which creates: %d", calls, (calls / instances).toFixed(2), creates);
  console.log("   baseline bound, 2 + one per ENI needing a session: %d (%s per instance)", bound, (bound / instances).toFixed(2));
  console.log("   within bound: %s", calls <= bound ? "yes" : "NO");
  if (calls > bound) process.exitCode = 1;
  ec2.restore();
}

/** A Fargate task as DescribeTasks returns it, with one ENI. */
function fargateTask(n: number): Task {
  const id = n.toString(16).padStart(32, "0");
  return {
    taskArn: `arn:aws:ecs:us-east-1:123456789012:task/payments/${id}`,
    clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/payments",
    lastStatus: "RUNNING",
    availabilityZone: "us-east-1a",
    taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/payments-api:7",
    attachments: [{ type: "ElasticNetworkInterface", status: "ATTACHED", details: [{ name: "networkInterfaceId", value: `eni-${id.slice(-17)}` }] }],
    tags: [],
  };
}

async function benchTasks(): Promise<void> {
  Object.assign(process.env, { ECS_CLUSTERS: "payments", ECS_SERVICES: "", ECS_TASK_FAMILIES: "" });
  const ec2 = mockClient(EC2Client);
  const ecs = mockClient(ECSClient);
  const tasks = Array.from({ length: 1000 }, (_, n) => fargateTask(n));
  const byArn = new Map(tasks.map((t) => [t.taskArn!, t]));
  const mirrored = new Set(tasks.filter((_, n) => n % 4 === 0).map((t) => t.attachments![0].details![0].value!));
  ec2.on(DescribeTrafficMirrorTargetsCommand).resolves({ TrafficMirrorTargets: [] });
  ec2.on(DescribeTrafficMirrorSessionsCommand).callsFake((input) => {
    const enis: string[] = input.Filters?.[0]?.Values ?? [...mirrored];
    return { TrafficMirrorSessions: enis.filter((id) => mirrored.has(id)).map((id) => ({ TrafficMirrorSessionId: `tms-${id.slice(4)}`, NetworkInterfaceId: id, TrafficMirrorTargetId: "tmt-0a1b2c3d4e5f60001", SessionNumber: 1 })) };
  });
  ec2.on(CreateTrafficMirrorSessionCommand).callsFake((input: CreateTrafficMirrorSessionCommandInput) => ({ TrafficMirrorSession: { TrafficMirrorSessionId: `tms-${input.NetworkInterfaceId!.slice(4)}` } }));
  ecs.on(DescribeTasksCommand).callsFake((input) => ({ tasks: (input.tasks as string[]).map((arn) => byArn.get(arn)) }));
  ecs.on(ListTasksCommand).callsFake((input) => {
    const start = input.nextToken ? Number(input.nextToken) : 0;
    return { taskArns: tasks.slice(start, start + 100).map((t) => t.taskArn!), nextToken: start + 100 < tasks.length ? String(start + 100) : undefined };
  });

  const { handler } = await import("../functions/fargate-mirroring/event-handler");
  const { handler: reconcile } = await import("../functions/fargate-mirroring/reconciler");
  const { resetCaches } = await import("../functions/lib/mirroring/ec2-sessions");
  const sample = 200;
  const taskEvent = (t: Task, n: number) => ({
    id: `t-${n}`, source: "aws.ecs", "detail-type": "ECS Task State Change",
    detail: { taskArn: t.taskArn, clusterArn: t.clusterArn, lastStatus: "RUNNING", availabilityZone: t.availabilityZone, taskDefinitionArn: t.taskDefinitionArn, attachments: [{ type: "eni", status: "ATTACHED", details: t.attachments![0].details }] },
  });
  await handler(taskEvent(tasks[1], -1)); // warm the container's target-ENI cache
  ec2.resetHistory();
  ecs.resetHistory();
  let needed = 0;
  for (let n = 0; n < sample; n++) {
    if (!mirrored.has(tasks[n].attachments![0].details![0].value!)) needed++;
    await handler(taskEvent(tasks[n], n));
  }
  const eventCalls = ec2.calls().length + ecs.calls().length;
  console.log("\n4. API calls per ECS task mirrored (%d task events, a quarter already mirrored, warm container)", sample);
  console.log("   calls made: %d (%s per task)", eventCalls, (eventCalls / sample).toFixed(2));
  console.log("   baseline bound, DescribeTasks + DescribeTrafficMirrorSessions + one create when needed: %d (%s per task)", 2 * sample + needed, ((2 * sample + needed) / sample).toFixed(2));
  if (eventCalls > 2 * sample + needed) process.exitCode = 1;

  resetCaches();
  ec2.resetHistory();
  ecs.resetHistory();
  await reconcile({ id: "sweep", source: "aws.events", "detail-type": "Scheduled Event" });
  const creates = ec2.commandCalls(CreateTrafficMirrorSessionCommand).length;
  const unmirrored = tasks.length - mirrored.size;
  const pages = Math.ceil(tasks.length / 100);
  console.log("\n5. reconciler sweep of %d running tasks (ListTasks pages of 100)", tasks.length);
  console.log("   ListTasks %d, DescribeTasks %d, DescribeTrafficMirrorSessions %d, DescribeTrafficMirrorTargets %d, creates %d",
    ecs.commandCalls(ListTasksCommand).length, ecs.commandCalls(DescribeTasksCommand).length,
    ec2.commandCalls(DescribeTrafficMirrorSessionsCommand).length, ec2.commandCalls(DescribeTrafficMirrorTargetsCommand).length, creates);
  console.log("   baseline bound: %d list + %d describe (tasks/100), 1 + 1 lookups, %d creates (one per unmirrored ENI)", pages, pages, unmirrored);
  const within = ecs.commandCalls(ListTasksCommand).length <= pages && ecs.commandCalls(DescribeTasksCommand).length <= pages && creates === unmirrored;
  console.log("   within bound: %s", within ? "yes" : "NO");
  if (!within) process.exitCode = 1;
  ec2.restore();
  ecs.restore();
}

/** An organization of `accounts` accounts in three regions, every feature enabled everywhere. */
function generatedOrg(accounts: number): string {
  const regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
  const nlb = (region: string, n: number) => `arn:aws:elasticloadbalancing:${region}:111111111111:loadbalancer/net/sensors-${n}/0a1b2c3d4e5f600${n}`;
  const config = {
    organization: { id: "o-a1b2c3d4e5", name: "generated", managementAccountId: "999999999999" },
    central: { accountId: "111111111111", region: "us-east-1" },
    backend: { s3: { bucket: "flowtap-state", region: "us-east-1" } },
    features: {
      mirrorTarget: {
        targets: regions.flatMap((region) => [
          { region, networkLoadBalancerArn: nlb(region, 1) },
          { region, zoneId: `${region === "us-east-1" ? "use1" : region === "eu-west-1" ? "euw1" : "apse2"}-az1`, networkLoadBalancerArn: nlb(region, 2) },
        ]),
        shareWithOrganization: true,
      },
      ec2Mirroring: { excludeTagKey: "flowtap:exclude" },
      fargateMirroring: { clusters: ["payments"] },
      natFlowRecorder: {
        thresholdBytes: 2147483648,
        natGatewayIds: Object.fromEntries(regions.map((region, i) => [region, [`nat-0a1b2c3d4e5f6000${i}`]])),
      },
      flowLogSgEnrichment: { vpcIds: Object.fromEntries(regions.map((region, i) => [region, [`vpc-0a1b2c3d4e5f6000${i}`]])) },
      flowInsights: { inventoryExternalId: "flowtap-bench", vpcIds: Object.fromEntries(regions.map((region, i) => [region, [`vpc-0a1b2c3d4e5f6000${i}`]])) },
    },
    accounts: Array.from({ length: accounts }, (_, n) => ({
      id: String(200000000000 + n),
      name: `team-${n}`,
      ou: `ou-ab12-${String(10000000 + (n % 20))}`,
      regions,
      features: [...FEATURES],
    })),
  };
  return JSON.stringify(config);
}

function benchScale(): void {
  const out = mkdtempSync(path.join(tmpdir(), "flowtap-scale-"));
  const bigConfig = path.join(out, "big.org.yaml");
  // JSON is YAML: the loader reads it as is.
  writeFileSync(bigConfig, generatedOrg(1000));
  const runs = 3;
  const small = Array.from({ length: runs }, () => timeCommand([TSX, "main.ts", "--out", path.join(out, "small")]));
  const big = Array.from({ length: runs }, () => timeCommand([TSX, "main.ts", "--config", bigConfig, "--out", path.join(out, "big")]));
  const ratio = median(big) / median(small);
  const memberWorkspaces = (dir: string) =>
    (JSON.parse(readFileSync(path.join(out, dir, "rollout.json"), "utf8")).stacks as { role: string; workspaces: unknown[] }[])
      .filter((s) => s.role === "member")
      .reduce((n, s) => n + s.workspaces.length, 0);
  console.log("\n6. synth at scale (median of %d runs each, same machine, same run)", runs);
  console.log("   example org (%d member workspaces): %s ms", memberWorkspaces("small"), median(small).toFixed(0));
  console.log("   generated org, 1,000 accounts x 3 regions, every feature (%d member workspaces): %s ms", memberWorkspaces("big"), median(big).toFixed(0));
  console.log("   ratio %s (target at most 1.5): %s", ratio.toFixed(2), ratio <= 1.5 ? "met" : "NOT MET");
  const workspaces = (dir: string) => JSON.parse(readFileSync(path.join(out, dir, "rollout.json"), "utf8")).stacks as { name: string; workspaces: unknown[] }[];
  for (const stack of workspaces("big")) {
    const smallStack = workspaces("small").find((s) => s.name === stack.name);
    // What a stack synthesizes: its configuration and, for member stacks, its workspace map.
    const size = (dir: string) =>
      ["cdk.tf.json", "workspaces.auto.tfvars.json"]
        .map((file) => path.join(out, dir, "stacks", stack.name, file))
        .reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
    const extraWorkspaces = stack.workspaces.length - (smallStack?.workspaces.length ?? 0);
    const perWorkspace = extraWorkspaces > 0 ? ((size("big") - size("small")) / extraWorkspaces).toFixed(0) : "n/a (central)";
    console.log("   %s: %s KiB (cdk.tf.json + workspace map) for %d workspaces (example: %s KiB); %s bytes per added workspace, %s per added account",
      stack.name.padEnd(18), (size("big") / 1024).toFixed(0), stack.workspaces.length, (size("small") / 1024).toFixed(0),
      perWorkspace, extraWorkspaces > 0 ? ((size("big") - size("small")) / 997).toFixed(0) : "n/a");
  }
  if (ratio > 1.5) process.exitCode = 1;
}

/** An organization of `accounts` accounts in two regions with ec2-mirroring, state kept locally so that it plans offline. */
function mirroringOrg(accounts: number): string {
  const regions = ["us-east-1", "eu-west-1"];
  return JSON.stringify({
    organization: { id: "o-a1b2c3d4e5", name: "generated", managementAccountId: "999999999999" },
    central: { accountId: "111111111111", region: "us-east-1" },
    features: {
      mirrorTarget: {
        targets: regions.map((region, n) => ({ region, networkLoadBalancerArn: `arn:aws:elasticloadbalancing:${region}:111111111111:loadbalancer/net/sensors/0a1b2c3d4e5f600${n}` })),
        shareWithOrganization: true,
      },
      ec2Mirroring: { excludeTagKey: "flowtap:exclude" },
    },
    accounts: Array.from({ length: accounts }, (_, n) => ({ id: String(200000000000 + n), name: `team-${n}`, regions, features: ["ec2-mirroring"] })),
  });
}

/** A generated organization with ec2-mirroring, synthesized and initialized; it plans one workspace at a call, returning the plan's seconds. */
async function mirroringPlanner(accounts: number, tools: Extract<ReturnType<typeof findTerraformTools>, { found: true }>) {
  const root = mkdtempSync(path.join(tmpdir(), `flowtap-plan-${accounts}-`));
  const configFile = path.join(root, "org.yaml");
  writeFileSync(configFile, mirroringOrg(accounts));
  const config = loadOrgConfig(configFile);
  const manifest = synthesizeInto(root, config, configFile);
  const planning = await preparePlanning(root, manifest, tools.terraform, tools.mirror, path.join(root, "plugin-cache"));
  writeRemoteStateFixture(root, "ec2-mirroring", "mirror-target-state", stateFixtureOf(stackDocument(root, MIRROR_TARGET_STACK), config));
  return {
    workspaces: manifest.stacks.find((s) => s.name === "ec2-mirroring")!.workspaces.map((ws) => ws.name),
    async plan(workspace: string): Promise<number> {
      const start = process.hrtime.bigint();
      const plan = await planning.plan("ec2-mirroring", workspace);
      if (plan.run.code !== 0) throw new Error(`ec2-mirroring did not plan in ${workspace}: ${plan.run.stderr}`);
      return Number(process.hrtime.bigint() - start) / 1e9;
    },
    close: () => planning.close(),
  };
}

async function benchPlans(): Promise<void> {
  console.log("\n10. terraform plan of ec2-mirroring in every workspace (the real terraform and mirrored provider; STS answered locally)");
  const tools = findTerraformTools();
  console.log("   %s", terraformToolsLine(tools));
  if (!tools.found) return;
  const small = await mirroringPlanner(2, tools);
  const large = await mirroringPlanner(20, tools);
  try {
    // Each workspace of the large organization plans beside one of the small one's, so that both
    // meet the same load; the small one's workspaces are planned again in turn (nothing is applied).
    const smallTimes: number[] = [];
    const largeTimes: number[] = [];
    for (const [i, workspace] of large.workspaces.entries()) {
      const [s, l] = await Promise.all([small.plan(small.workspaces[i % small.workspaces.length]), large.plan(workspace)]);
      smallTimes.push(s);
      largeTimes.push(l);
    }
    const describe = (times: number[]) => `median ${median(times).toFixed(2)} s, slowest ${Math.max(...times).toFixed(2)} s`;
    console.log("   baseline, 2 accounts x 2 regions (%d workspaces, each planned %d times): %s per workspace", small.workspaces.length, largeTimes.length / small.workspaces.length, describe(smallTimes));
    console.log("   generated, 20 accounts x 2 regions (%d workspaces):                     %s per workspace", large.workspaces.length, describe(largeTimes));
    const ratio = median(largeTimes) / median(smallTimes);
    console.log("   ratio of medians %s (target at most 1.25): %s", ratio.toFixed(2), ratio <= 1.25 ? "met" : "NOT MET");
    if (ratio > 1.25) process.exitCode = 1;
  } finally {
    await Promise.all([small.close(), large.close()]);
  }
}

/** What bench/enrich-child.ts prints of one measured run. */
interface EnrichChildRun {
  readonly records: number;
  readonly seconds: number;
  readonly peakRssMiB: number;
  readonly threads: number;
}

/** One run of bench/enrich-child.ts in a process of its own (so that its peak RSS is its own), by default through tsx's command. */
function runEnrichChild(mode: string, inventoryDir: string, files: readonly string[], launcher: readonly string[] = [TSX]): EnrichChildRun {
  const result = spawnSync(process.execPath, [...launcher, path.join(ROOT, "bench", "enrich-child.ts"), mode, inventoryDir, ...files], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout.trim().split("\n").pop()!) as EnrichChildRun;
}

/** Many small flow log files, and the records in each. */
const SMALL_FILES = 300;
const SMALL_FILE_RECORDS = 400;

async function benchEnrichment(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "flowtap-enrich-bench-"));
  const inventoryDir = path.join(dir, "inventory");
  const records = path.join(dir, "flow-logs.log");
  // Generated by the same code as the samples, in a child so this process stays small.
  const generate = spawnSync(process.execPath, [TSX, path.join(ROOT, "samples", "generate.ts"), "--out", dir, "--enis", "10000", "--records", "1000000", "--plain"], { cwd: ROOT, encoding: "utf8" });
  if (generate.status !== 0) throw new Error(generate.stderr);
  const run = (mode: string, files: string[]) => runEnrichChild(mode, inventoryDir, files);
  // S3 delivers flow logs gzip'd, or as Parquet (FileFormat=parquet).
  const gzipped = `${records}.gz`;
  await pipeline(createReadStream(records), createGzip(), createWriteStream(gzipped));
  const parquet = `${records}.parquet`;
  await writeParquetFlowLogs(records, parquet, false);
  // The machine's speed drifts by a quarter within minutes: the 1-million-record runs take turns,
  // three rounds, and each figure is the median of its three (the range beside it).
  const modes = { baseline: [records], enrich: [records], "enrich-one-thread": [records], "enrich-window": [records], "enrich-window-one-thread": [records], gzip: [gzipped], parquet: [parquet] } as const;
  const rounds = Array.from({ length: 3 }, () =>
    Object.fromEntries(Object.entries(modes).map(([mode, files]) => [mode, run(mode === "gzip" || mode === "parquet" ? "enrich" : mode, [...files])])),
  );
  const ten = run("enrich", Array.from({ length: 10 }, () => records));
  // S3 delivery writes a flow log's files every 5 or 10 minutes: a quiet one's are many and small.
  const smallFiles = { text: path.join(dir, "small-text"), gzip: path.join(dir, "small-gzip"), parquet: path.join(dir, "small-parquet") };
  const smallLines = sampleFlowLogLines(SMALL_FILES * SMALL_FILE_RECORDS, 10_000);
  for (const folder of Object.values(smallFiles)) mkdirSync(folder);
  for (let i = 0; i < SMALL_FILES; i++) {
    const name = `${String(i).padStart(4, "0")}.log`;
    const text = `${smallLines.slice(i * SMALL_FILE_RECORDS, (i + 1) * SMALL_FILE_RECORDS).join("\n")}\n`;
    writeFileSync(path.join(smallFiles.text, name), text);
    writeFileSync(path.join(smallFiles.gzip, `${name}.gz`), gzipSync(text));
    await writeParquetFlowLogs(path.join(smallFiles.text, name), path.join(smallFiles.parquet, `${name}.parquet`), false);
  }
  // The same records in one file: what reading them costs but for the files' own cost.
  const oneFile = path.join(dir, "small-in-one.log");
  writeFileSync(oneFile, `${smallLines.join("\n")}\n`);
  const smallRounds = Array.from({ length: 3 }, () => ({
    one: run("enrich", [oneFile]).seconds,
    text: run("enrich", [smallFiles.text]).seconds,
    gzip: run("enrich", [smallFiles.gzip]).seconds,
    parquet: run("enrich", [smallFiles.parquet]).seconds,
  }));
  const smallSeconds = (kind: keyof (typeof smallRounds)[number]) => median(smallRounds.map((round) => round[kind]));
  // What a run costs before and after its records: the README's sample, against the CLI starting and doing nothing.
  const flowtap = path.join(ROOT, "bin", "flowtap.cjs");
  const startRounds = Array.from({ length: RUNS }, () => ({
    sample: timeCommand([flowtap, "enrich", "--inventory", path.join(ROOT, "samples", "inventory"), "--out", path.join(dir, "sample.jsonl"), path.join(ROOT, "samples", "flow-logs.log.gz")]),
    help: timeCommand([flowtap, "--help"]),
  }));
  const perFile = (kind: keyof typeof smallFiles) => `${smallSeconds(kind).toFixed(2)} s (${(((smallSeconds(kind) - smallSeconds("one")) / SMALL_FILES) * 1000).toFixed(1)} ms a file)`;
  const rate = (r: { records: number; seconds: number }) => r.records / r.seconds;
  const rates = (mode: keyof typeof modes) => rounds.map((round) => rate(round[mode]));
  const figure = (mode: keyof typeof modes) => {
    const all = rates(mode);
    return `${median(all).toFixed(0)} records/s (${Math.min(...all).toFixed(0)}-${Math.max(...all).toFixed(0)})`;
  };
  const peakRss = (mode: keyof typeof modes) => Math.max(...rounds.map((round) => round[mode].peakRssMiB)).toFixed(0);
  const ratio = (mode: keyof typeof modes) => (median(rates(mode)) / median(rates("baseline"))).toFixed(2);
  const threads = rounds[0].enrich.threads;
  console.log("\n7. enrichment, default format, 10,000-ENI inventory, to JSONL (one process; times include loading the inventory; medians of 3 interleaved rounds)");
  console.log("   baseline, read and split lines and fields: %s, peak RSS %s MiB", figure("baseline"), peakRss("baseline"));
  console.log("   flowtap enrich, 1 million records, %d threads: %s, %s of the baseline (target: 1,000,000/s and 0.6), peak RSS %s MiB", threads, figure("enrich"), ratio("enrich"), peakRss("enrich"));
  console.log("   flowtap enrich, 1 million records, main thread only: %s, %s of the baseline, peak RSS %s MiB", figure("enrich-one-thread"), ratio("enrich-one-thread"), peakRss("enrich-one-thread"));
  console.log("   flowtap enrich --window 60, 1 million records, %d threads: %s, %s of the baseline, peak RSS %s MiB", rounds[0]["enrich-window"].threads, figure("enrich-window"), ratio("enrich-window"), peakRss("enrich-window"));
  console.log("   flowtap enrich --window 60, 1 million records, main thread only: %s, %s of the baseline, peak RSS %s MiB", figure("enrich-window-one-thread"), ratio("enrich-window-one-thread"), peakRss("enrich-window-one-thread"));
  console.log("   flowtap enrich, 1 million records gzip'd (%s MB), %d threads: %s, peak RSS %s MiB", (statSync(gzipped).size / 1e6).toFixed(0), threads, figure("gzip"), peakRss("gzip"));
  console.log("   flowtap enrich, 1 million records as Parquet (%s MB), %d thread(s): %s, peak RSS %s MiB", (statSync(parquet).size / 1e6).toFixed(0), rounds[0].parquet.threads, figure("parquet"), peakRss("parquet"));
  console.log("   flowtap enrich, 10 million records, %d threads: %s records/s, peak RSS %s MiB (flat if close to the 1-million figure)", ten.threads, rate(ten).toFixed(0), ten.peakRssMiB.toFixed(0));
  console.log(
    "   flowtap enrich, %d files of %d records: text %s, gzip'd %s, Parquet %s; baseline, the same records in one text file: %s s",
    SMALL_FILES, SMALL_FILE_RECORDS, perFile("text"), perFile("gzip"), perFile("parquet"), smallSeconds("one").toFixed(2),
  );
  console.log(
    "   flowtap enrich of the README's sample (400 records, its inventory): median %s ms; baseline, flowtap --help (the CLI's start): %s ms (%d runs each, taking turns)",
    median(startRounds.map((round) => round.sample)).toFixed(0), median(startRounds.map((round) => round.help)).toFixed(0), RUNS,
  );
}

/** The all-fields format the stacks' flow logs use. */
function vpcFlowLogFormat(): readonly FlowLogField[] {
  const format = parseLogFormat(VPC_FLOW_LOG_FORMAT);
  if (!format.ok) throw new Error(format.reason);
  return format.fields;
}

/** The sample's default-format records, rewritten in that format, `-` for what they do not hold. */
function sampleLinesInVpcFormat(count: number, enis: number): string[] {
  const format = vpcFlowLogFormat();
  const positions = DEFAULT_FORMAT.map((f) => format.indexOf(f));
  return sampleFlowLogLines(count, enis).map((line) => {
    const values = format.map(() => "-");
    line.split(" ").forEach((v, i) => (values[positions[i]] = v));
    return values.join(" ");
  });
}

async function benchFirehoseFunction(): Promise<void> {
  Object.assign(process.env, { FLOW_LOG_FORMAT: VPC_FLOW_LOG_FORMAT, LOOKUP_TTL_SECONDS: "300", POWERTOOLS_METRICS_DISABLED: "true", POWERTOOLS_LOG_LEVEL: "SILENT", AWS_REGION: "us-east-1" });
  const sample = sampleEc2(1000);
  const ec2 = mockClient(EC2Client);
  ec2.on(DescribeNetworkInterfacesCommand).callsFake((input) => sample.describeNetworkInterfaces(input.Filters ?? []));
  ec2.on(DescribeSecurityGroupsCommand).callsFake((input) => sample.describeSecurityGroups(input.Filters ?? []));
  ec2.on(DescribeInstancesCommand).callsFake((input) => sample.describeInstances(input.Filters ?? []));
  const format = vpcFlowLogFormat();
  const records = sampleLinesInVpcFormat(100_000, 1000);
  const lines = records.map((line) => JSON.stringify({ message: line }));
  // Firehose's processor buffer is 0.2 MB: batches of that much input.
  const batches: string[][] = [[]];
  let size = 0;
  for (const line of lines) {
    if (size + line.length > 200_000) {
      batches.push([]);
      size = 0;
    }
    batches.at(-1)!.push(line);
    size += line.length;
  }
  const eventOf = (batch: string[], offset: number) => ({
    invocationId: "bench", deliveryStreamArn: "arn:aws:firehose:us-east-1:123456789010:deliverystream/flowtap-flow-log-sg-enrichment", region: "us-east-1",
    records: batch.map((line, i) => ({ recordId: String(offset + i), approximateArrivalTimestamp: 1732204900000, data: Buffer.from(line).toString("base64") })),
  });
  // The function fetches AWS's ranges itself; the bench answers with the sample's copy rather than reach the internet.
  const ipRanges = readFileSync(path.join(__dirname, "..", "samples", "inventory", "ip-ranges.json"));
  globalThis.fetch = async () => new Response(ipRanges, { headers: { etag: '"bench"' } });
  const { handler } = await import("../functions/flow-log-sg-enrichment/handler");
  let offset = 0;
  const callsPerBatch: number[] = [];
  const batchMs: number[] = [];
  for (const batch of batches) {
    const before = ec2.calls().length;
    const event = eventOf(batch, offset);
    const started = process.hrtime.bigint();
    await handler(event);
    batchMs.push(Number(process.hrtime.bigint() - started) / 1e6);
    callsPerBatch.push(ec2.calls().length - before);
    offset += batch.length;
  }
  const calls = ec2.calls().length;
  const lastCalling = callsPerBatch.findLastIndex((n) => n > 0) + 1;
  const [srcAt, dstAt] = [format.indexOf("srcaddr"), format.indexOf("dstaddr")];
  const addresses = new Set(records.flatMap((record) => { const v = record.split(" "); return [v[srcAt], v[dstAt]]; }));
  const privateAddresses = [...addresses].filter((a) => isPrivateAddress(a)).length;
  const publicAddresses = addresses.size - privateAddresses;
  const instanceCount = sample.instances.length;
  // Addresses no ENI holds are looked up once more, by the delegated prefix each falls in.
  const held = new Set(sample.networkInterfaces.flatMap(addressesOf));
  const prefixes = new Set([...addresses].filter((a) => !held.has(a)).map(delegatedPrefixKeyOf));
  const prefixLookups = Math.ceil([...prefixes].filter((p) => !p?.includes(":")).length / 200) + Math.ceil([...prefixes].filter((p) => p?.includes(":")).length / 200);
  const bound = Math.ceil(addresses.size / 200) + Math.ceil(publicAddresses / 200) + prefixLookups + 1 + Math.ceil(instanceCount / 200);
  console.log("\n8. flow-log-sg-enrichment function (Firehose transformation)");
  console.log("   EC2 API calls for %d records in %d batches of 0.2 MB, %d distinct addresses over 1,000 ENIs: %d (%d in the first batch; none after batch %d, once every address had been seen)",
    lines.length, batches.length, addresses.size, calls, callsPerBatch[0], lastCalling);
  console.log("   floor, had every address come in one batch: %d = %d private + %d public address lookups, %d delegated-prefix lookups, 1 security group, %d instance lookups of 200 each; per record: %s calls",
    bound, Math.ceil(addresses.size / 200), Math.ceil(publicAddresses / 200), prefixLookups, Math.ceil(instanceCount / 200), (calls / lines.length).toFixed(5));
  const warm = batchMs.slice(lastCalling);
  console.log("   handler per 0.2 MB batch once lookups are warm (%d batches, about %d records each): median %s ms (%s-%s)",
    warm.length, Math.round(lines.length / batches.length), median(warm).toFixed(1), Math.min(...warm).toFixed(1), Math.max(...warm).toFixed(1));

  // One 6 MB batch (Lambda's request limit), warm lookups: the answer is bounded by 6 MiB too, so most records fail over the limit.
  const big: string[] = [];
  for (let bytes = 0, i = 0; bytes < 5_800_000; i++) {
    big.push(lines[i % lines.length]);
    bytes += Math.ceil((lines[i % lines.length].length * 4) / 3) + 60;
  }
  const event = eventOf(big, 0);
  const eventBytes = Buffer.byteLength(JSON.stringify(event));
  const timed = async <T>(run: () => Promise<T> | T) => {
    const times: number[] = [];
    let result!: T;
    for (let r = 0; r < RUNS; r++) {
      const started = process.hrtime.bigint();
      result = await run();
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return { ms: median(times), result };
  };
  const decodeOnly = await timed(() => decodeFirehoseRecords(event.records, format));
  const full = await timed(() => handler(event));
  const ok = full.result.records.filter((r) => r.result === "Ok").length;
  const unbounded = await timed(async () => {
    const batch = decodeFirehoseRecords(event.records, format);
    return transformDecoded(batch, new FlowEnricher(await new LiveInventory(new EC2Client({}), { ttlSeconds: 300 }).inventoryFor(batch.addresses, batch.interfaceIds)), Infinity);
  });
  console.log("   a %s MB batch of %d records: handler %s ms (%d enriched, %d over the 6 MiB answer, failed back to Firehose); decoding alone %s ms (baseline)",
    (eventBytes / 1e6).toFixed(1), big.length, full.ms.toFixed(0), ok, big.length - ok, decodeOnly.ms.toFixed(0));
  console.log("   enriching the whole batch with no answer limit: %s ms, %s records/s, %s of the decode-only rate",
    unbounded.ms.toFixed(0), ((big.length / unbounded.ms) * 1000).toFixed(0), (decodeOnly.ms / unbounded.ms).toFixed(2));
  ec2.restore();
}

/**
 * The flow-insights enrichment function (Kinesis tumbling window) on warm caches: ownerships of
 * 300 ENIs' addresses in DynamoDB (dynalite), an ip-ranges.json of the published file's size (some
 * 12,000 prefixes, generated) from S3, batches of 100 CloudWatch Logs payloads of 50 flow log
 * records each, the window's state carried from one invocation to the next; against decoding alone.
 */
async function benchFlowInsightsFunction(): Promise<void> {
  const db = await startDynalite();
  const s3 = mockClient(S3Client);
  const firehose = mockClient(FirehoseClient);
  try {
    const tableName = "flowtap-bench-inventory";
    await createInventoryTable(db.client, tableName);
    const store = new OwnershipStore(db.client, { tableName, retentionDays: 30 });
    const inventory = sampleInventory(300) as { "describe-network-interfaces.json": { NetworkInterfaces: NetworkInterface[] }; "describe-security-groups.json": { SecurityGroups: SecurityGroup[] } };
    const firstStart = 1732204800;
    for (const eni of inventory["describe-network-interfaces.json"].NetworkInterfaces) {
      const holder = holderOf(eni);
      if (holder) await store.observe(holder, addressesOf(eni), { accountId: eni.OwnerId!, region: "us-east-1" }, (firstStart - 3600) * 1000);
    }
    for (const group of inventory["describe-security-groups.json"].SecurityGroups) await store.putSecurityGroup(group);
    const ipRanges = JSON.stringify({
      prefixes: Array.from({ length: 9000 }, (_, i) => ({ ip_prefix: `${3 + (i >> 12)}.${(i >> 4) & 255}.${(i & 15) * 16}.0/${20 + (i % 8)}`, region: "us-east-1", service: i % 2 ? "AMAZON" : "EC2" })),
      ipv6_prefixes: Array.from({ length: 3000 }, (_, i) => ({ ipv6_prefix: `2600:1f${(i % 256).toString(16).padStart(2, "0")}:${i.toString(16)}::/${40 + (i % 16)}`, region: "us-east-1", service: i % 2 ? "AMAZON" : "S3" })),
    });
    s3.on(GetObjectCommand).callsFake(() => ({ Body: { transformToString: async () => ipRanges } }));
    firehose.on(PutRecordBatchCommand).callsFake((input) => ({ FailedPutCount: 0, RequestResponses: input.Records.map(() => ({ RecordId: "r" })) }));
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "bench",
      FLOW_LOG_FORMAT: VPC_FLOW_LOG_FORMAT, TABLE_NAME: tableName, RETENTION_DAYS: "30", DELIVERY_STREAM: "flowtap-flow-insights", WINDOW_SECONDS: "300",
      IP_RANGES_BUCKET: "flowtap-bench", IP_RANGES_KEY: "ip-ranges/ip-ranges.json", POWERTOOLS_METRICS_DISABLED: "true", POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    const EVENTS = 50;
    const PAYLOADS = 100;
    const BATCHES = 20;
    const lines = sampleLinesInVpcFormat(BATCHES * PAYLOADS * EVENTS, 300);
    const payload = (events: string[], n: number): KinesisStreamRecord => ({
      kinesis: {
        kinesisSchemaVersion: "1.0", partitionKey: "p", sequenceNumber: String(n), approximateArrivalTimestamp: firstStart,
        data: gzipSync(JSON.stringify({ messageType: "DATA_MESSAGE", owner: "123456789010", logGroup: "/flowtap/flow-insights/flow-logs", logStream: "eni-all", subscriptionFilters: ["flowtap"], logEvents: events.map((message, i) => ({ id: String(i), timestamp: firstStart * 1000, message })) })).toString("base64"),
      },
      eventSource: "aws:kinesis", eventVersion: "1.0", eventID: `shardId-000000000000:${n}`, eventName: "aws:kinesis:record",
      invokeIdentityArn: "arn:aws:iam::111111111111:role/flowtap-flow-insights-enrich", awsRegion: "us-east-1", eventSourceARN: "arn:aws:kinesis:us-east-1:111111111111:stream/flowtap-flow-insights",
    });
    const batches = Array.from({ length: BATCHES }, (_, b) => Array.from({ length: PAYLOADS }, (_, p) => payload(lines.slice((b * PAYLOADS + p) * EVENTS, (b * PAYLOADS + p + 1) * EVENTS), b * PAYLOADS + p)));
    const { handler } = await import("../functions/flow-insights/enrich");
    let state: Record<string, unknown> | undefined;
    const handlerMs: number[] = [];
    for (const records of batches) {
      const started = process.hrtime.bigint();
      const response = await handler({ Records: records, window: { start: "2024-11-21T16:00:00Z", end: "2024-11-21T16:05:00Z" }, state, isFinalInvokeForWindow: false, isWindowTerminatedEarly: false });
      handlerMs.push(Number(process.hrtime.bigint() - started) / 1e6);
      state = response.state as Record<string, unknown>;
    }
    const fields = vpcFlowLogFormat();
    const decodeMs = batches.map((records) => {
      const started = process.hrtime.bigint();
      decodeKinesisRecords(records, fields);
      return Number(process.hrtime.bigint() - started) / 1e6;
    });
    // The first batches look every address up; the rest find them cached, as a warm function does.
    const warm = handlerMs.slice(5);
    console.log("\n9. flow-insights enrichment function (Kinesis tumbling window), warm caches");
    console.log("   handler per batch of %d payloads (%d records, 300 ENIs' ownerships, a 12,000-prefix ip-ranges.json): median %s ms (%s-%s) over %d batches",
      PAYLOADS, PAYLOADS * EVENTS, median(warm).toFixed(1), Math.min(...warm).toFixed(1), Math.max(...warm).toFixed(1), warm.length);
    console.log("   baseline, decoding the same batches alone: median %s ms", median(decodeMs).toFixed(1));
  } finally {
    s3.restore();
    firehose.restore();
    await db.stop();
  }
}

/** The phase each source file's (or V8's) self time belongs to, in a CPU profile of `flowtap enrich`. */
const PHASES: readonly [string, RegExp][] = [
  ["inventory load", /(inventory-files|flowlogs\/inventory|ip-ranges)\.ts$|^JSON\.parse$/],
  ["parse (lines, fields, addresses)", /(record|input|interner|fields)\.ts$/],
  ["lookups (ends, orientation, merge)", /(enrich|aggregate)\.ts$/],
  ["rule matching", /security-groups\.ts$|ipaddr\.js$/],
  ["serialize", /serialize\.ts$/],
  ["write", /enrich-pass\.ts$|^(writeBuffer|writev|writeGeneric|writeOrBuffer|_write)$/],
  ["garbage collection", /^\(garbage collector\)$/],
];

/** Self time by phase (seconds) of a `.cpuprofile`; what no phase claims (start, module loading, streams) is "start and other". */
function phasesOf(profileFile: string): [string, number][] {
  const profile = JSON.parse(readFileSync(profileFile, "utf8")) as { nodes: { id: number; callFrame: { functionName: string; url: string } }[]; samples: number[]; timeDeltas: number[] };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const seconds = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)!;
    // A thread waiting is not spending time.
    if (frame.functionName === "(idle)") return;
    const phase = PHASES.find(([, pattern]) => pattern.test(frame.url) || pattern.test(frame.functionName))?.[0] ?? "start and other";
    seconds.set(phase, (seconds.get(phase) ?? 0) + profile.timeDeltas[i] / 1e6);
  });
  return [...PHASES.map(([name]) => name), "start and other"].map((name) => [name, seconds.get(name) ?? 0]);
}

async function benchOrganizationEnrichment(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "flowtap-organization-bench-"));
  const generate = spawnSync(process.execPath, [TSX, path.join(ROOT, "samples", "organization.ts"), "--out", dir, "--enis", "10000", "--records", "1000000"], { cwd: ROOT, encoding: "utf8" });
  if (generate.status !== 0) throw new Error(generate.stderr);
  const records = path.join(dir, "flow-logs.log");
  const inventoryDir = path.join(dir, "inventory");
  const run = (mode: string, files: string[], launcher?: string[]) => runEnrichChild(mode, inventoryDir, files, launcher);
  const modes = ["baseline", "enrich-threads-1", "enrich-threads-2"] as const;
  const rounds = Array.from({ length: 3 }, () => Object.fromEntries(modes.map((mode) => [mode, run(mode, [records])])) as Record<(typeof modes)[number], EnrichChildRun>);
  const seconds = (mode: (typeof modes)[number]) => rounds.map((round) => round[mode].seconds);
  const figure = (mode: (typeof modes)[number]) => `${median(seconds(mode)).toFixed(2)} s (${Math.min(...seconds(mode)).toFixed(2)}-${Math.max(...seconds(mode)).toFixed(2)})`;
  const rss = (mode: (typeof modes)[number]) => Math.max(...rounds.map((round) => round[mode].peakRssMiB)).toFixed(0);
  const baseline = median(seconds("baseline"));
  const profileDir = path.join(dir, "profile");
  // tsx's command runs the script in a child process of its own; for a profile of the script, tsx is a loader instead.
  run("enrich-threads-1", [records], ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--import", "tsx"]);
  // One profile per thread; tsx's loader has one of its own. The enriching thread's has the most samples.
  const total = (phases: [string, number][]) => phases.reduce((n, [, s]) => n + s, 0);
  const phases = readdirSync(profileDir)
    .map((f) => phasesOf(path.join(profileDir, f)))
    .reduce((busiest, p) => (total(p) > total(busiest) ? p : busiest));
  const profiled = total(phases);
  const ten = run("enrich-threads-2", Array.from({ length: 10 }, () => records));
  const mib = (file: string) => (statSync(path.join(inventoryDir, file)).size / 2 ** 20).toFixed(1);
  console.log(
    "\n11. enrichment of an organization-shaped input: a 10,000-ENI inventory as the AWS CLI writes it (describe-instances %s MiB, describe-network-interfaces %s MiB, describe-security-groups %s MiB, get-resources %s MiB), 1,000,000 records of %s MiB (whole process; medians of 3 interleaved rounds)",
    mib("describe-instances.json"), mib("describe-network-interfaces.json"), mib("describe-security-groups.json"), mib("get-resources.json"), (statSync(records).size / 2 ** 20).toFixed(0),
  );
  console.log("   baseline, read and split lines and fields: %s, peak RSS %s MiB", figure("baseline"), rss("baseline"));
  console.log("   flowtap enrich, 1 thread: %s, %s × the baseline, peak RSS %s MiB", figure("enrich-threads-1"), (median(seconds("enrich-threads-1")) / baseline).toFixed(2), rss("enrich-threads-1"));
  console.log(
    "   flowtap enrich, 2 threads: %s, %s × the baseline (target: at most 2.5), the second thread worth %s × (target: 1.6), peak RSS %s MiB",
    figure("enrich-threads-2"), (median(seconds("enrich-threads-2")) / baseline).toFixed(2), (median(seconds("enrich-threads-1")) / median(seconds("enrich-threads-2"))).toFixed(2), rss("enrich-threads-2"),
  );
  console.log("   flowtap enrich, 10,000,000 records (the file read ten times), 2 threads: %s s, peak RSS %s MiB (target: under 600)", ten.seconds.toFixed(2), ten.peakRssMiB.toFixed(0));
  console.log("   where 1 thread's time goes (CPU profile, self time, %s s sampled):", profiled.toFixed(2));
  for (const [name, s] of phases) console.log("     %s %s s (%s %%)", name.padEnd(36), s.toFixed(2), ((100 * s) / profiled).toFixed(1));
}

/** Each function with the numbers of the sections it prints, and what they measure. */
const SECTIONS: readonly [readonly number[], () => unknown, string][] = [
  [[1], benchSynth, "npm run synth of the example organization"],
  [[2], benchBundles, "Lambda bundle sizes and cold require"],
  [[3], benchApiCalls, "EC2 calls per mirrored instance"],
  [[4, 5], benchTasks, "API calls per ECS task event, and a reconciler sweep"],
  [[6], benchScale, "synth of a 1,000-account organization"],
  [[7], benchEnrichment, "flowtap enrich throughput and memory"],
  [[8], benchFirehoseFunction, "the flow-log-sg-enrichment function"],
  [[9], benchFlowInsightsFunction, "the flow-insights enrichment function"],
  [[10], benchPlans, "terraform plan at scale"],
  [[11], benchOrganizationEnrichment, "flowtap enrich on an organization-shaped input: threads, phases, memory"],
];

/** `npm run bench` runs every section; `npm run bench -- 7 8` runs those only; `-- --list` names them. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--list")) {
    for (const [numbers, , what] of SECTIONS) console.log(`${numbers.join(", ")}\t${what}`);
    return;
  }
  const known = SECTIONS.flatMap(([numbers]) => numbers);
  const chosen = args.map(Number);
  const unknown = args.filter((_, i) => !known.includes(chosen[i]));
  if (unknown.length > 0) {
    console.error(`flowtap bench: no section ${unknown.join(", ")}; the sections are ${known.join(", ")} (npm run bench -- --list)`);
    process.exitCode = 2;
    return;
  }
  console.log("flowtap benchmarks, node %s, %s", process.version, new Date().toISOString());
  // What the sections and their child processes write goes under one directory, removed at the end.
  const scratch = mkdtempSync(path.join(tmpdir(), "flowtap-bench-run-"));
  process.env.TMPDIR = scratch;
  try {
    for (const [numbers, section] of SECTIONS) if (chosen.length === 0 || numbers.some((n) => chosen.includes(n))) await section();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

void main();
