/**
 * `npm run bench`: figures for what issue #2 measures, each printed beside the baseline it is
 * compared with, measured in the same run.
 *
 *  1. `npm run synth` wall time for the example org, against the floor of starting tsx and
 *     synthesizing an empty cdktf app.
 *  2. Each Lambda bundle's size and cold `require` time, against requiring the unbundled
 *     `@aws-sdk/client-ec2` the handlers use.
 *  3. EC2 API calls per mirrored instance, against the bound of 2 + one per ENI needing a session.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  CreateTrafficMirrorSessionCommand,
  DescribeInstancesCommand,
  DescribeTrafficMirrorSessionsCommand,
  DescribeTrafficMirrorTargetsCommand,
  EC2Client,
  type CreateTrafficMirrorSessionCommandInput,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";

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
  const buildRoot = path.join(ROOT, ".build", "functions");
  console.log("\n2. Lambda bundles (after synth; cold require = fresh node process, median of %d)", RUNS);
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
  for (const name of readdirSync(buildRoot)) {
    const file = path.join(buildRoot, name, "index.js");
    const zip = findZip(name);
    console.log(
      "   %s: index.js %s KiB, zip %s KiB, cold require %s ms",
      name.padEnd(34),
      (statSync(file).size / 1024).toFixed(0),
      zip ? (statSync(zip).size / 1024).toFixed(0) : "?",
      requireTime(file).toFixed(1),
    );
  }
  console.log("   baseline, require('@aws-sdk/client-ec2') unbundled: %s ms", requireTime("@aws-sdk/client-ec2").toFixed(1));
}

function findZip(functionName: string): string | undefined {
  const assets = path.join(ROOT, "cdktf.out", "stacks", "ec2-mirroring", "assets");
  const construct = functionName.endsWith("-reconciler") ? "mirroring_reconciler_bundle" : "mirroring_events_bundle";
  for (const dir of readdirSync(assets).filter((d) => d.startsWith(construct))) {
    for (const hash of readdirSync(path.join(assets, dir))) return path.join(assets, dir, hash, "archive.zip");
  }
  return undefined;
}

async function benchApiCalls(): Promise<void> {
  Object.assign(process.env, {
    MIRROR_TARGET_ID: "tmt-0a1b2c3d4e5f60001",
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
}

async function main(): Promise<void> {
  console.log("flowtap benchmarks, node %s, %s", process.version, new Date().toISOString());
  benchSynth();
  benchBundles();
  await benchApiCalls();
}

void main();
