import {
  CreateTrafficMirrorSessionCommand,
  DescribeInstancesCommand,
  DescribeTrafficMirrorSessionsCommand,
  DescribeTrafficMirrorTargetsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { PassThrough } from "node:stream";
import { collect } from "./helpers/streams";
import { runBackfill } from "../cli/backfill";
import { flowtapProgram } from "../cli/main";
import { settingsFromEnvironment } from "../functions/lib/mirroring/settings";
import { PRIMARY_ENI, SECONDARY_ENI, awsError, describeInstances, mirroringEnvironment, session } from "./helpers/ec2-fixtures";

const ec2Mock = mockClient(EC2Client);
const settings = settingsFromEnvironment(mirroringEnvironment);

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock.on(DescribeTrafficMirrorTargetsCommand).resolves({ TrafficMirrorTargets: [] });
  ec2Mock.on(DescribeTrafficMirrorSessionsCommand).resolves({ TrafficMirrorSessions: [session(PRIMARY_ENI, 1)] });
  ec2Mock.on(DescribeInstancesCommand).resolves(describeInstances());
  ec2Mock.on(CreateTrafficMirrorSessionCommand).callsFake((input) => ({ TrafficMirrorSession: session(input.NetworkInterfaceId, input.SessionNumber) }));
});

describe("flowtap backfill", () => {
  it("prints what it would mirror on --dry-run and changes nothing", async () => {
    const stdout = collect();
    const status = await runBackfill({ settings, dryRun: true, concurrency: 2 }, { ec2: new EC2Client({}), stdout: stdout.stream, stderr: new PassThrough() });
    expect(status).toBe(0);
    expect(ec2Mock).not.toHaveReceivedCommand(CreateTrafficMirrorSessionCommand);
    expect(stdout.text()).toContain(`would mirror i-1234567890abcdef0 ${SECONDARY_ENI} as session 1 to tmt-0a1b2c3d4e5f60001`);
    expect(stdout.text()).toMatch(/dry run/);
  });

  it("creates the missing sessions and ends with a summary table", async () => {
    const stdout = collect();
    const status = await runBackfill({ settings, dryRun: false, concurrency: 2 }, { ec2: new EC2Client({}), stdout: stdout.stream, stderr: new PassThrough() });
    expect(status).toBe(0);
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateTrafficMirrorSessionCommand, 1);
    const rows = Object.fromEntries(
      [...stdout.text().matchAll(/│ (created|already mirrored|excluded|unsupported|failed)\s*│ (\d+)/g)].map((m) => [m[1], Number(m[2])]),
    );
    expect(rows).toEqual({ created: 1, "already mirrored": 1, excluded: 0, unsupported: 0, failed: 0 });
  });

  it("exits 1 and names the ENI when a session cannot be created", async () => {
    ec2Mock.on(CreateTrafficMirrorSessionCommand).rejects(awsError("UnauthorizedOperation", "not authorized"));
    const stdout = collect();
    const status = await runBackfill({ settings, dryRun: false, concurrency: 1 }, { ec2: new EC2Client({}), stdout: stdout.stream, stderr: new PassThrough() });
    expect(status).toBe(1);
    expect(stdout.text()).toContain(`failed: i-1234567890abcdef0 ${SECONDARY_ENI} (UnauthorizedOperation: not authorized)`);
  });

  it("maps its flags onto the handler's settings and names a bad flag in the error", async () => {
    const program = flowtapProgram().exitOverride();
    program.commands.forEach((c) => c.exitOverride());
    await expect(
      program.parseAsync(["backfill", "--target-id", "tmt-0a1b2c3d4e5f60001", "--filter-id", "tmf-nothex", "--region", "us-east-1"], { from: "user" }),
    ).rejects.toThrow("--filter-id: expected a traffic mirror filter id such as tmf-0123456789abcdef0");
    await expect(
      program.parseAsync(["backfill", "--filter-id", "tmf-0a1b2c3d4e5f60001", "--region", "us-east-1"], { from: "user" }),
    ).rejects.toThrow(/--target-id\/--zone-target: expected a non-empty JSON object/);
  });
});
