import {
  CreateTrafficMirrorSessionCommand,
  DeleteTrafficMirrorSessionCommand,
  DescribeInstancesCommand,
  DescribeTrafficMirrorSessionsCommand,
  DescribeTrafficMirrorTargetsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { handler } from "../functions/ec2-mirroring/event-handler";
import { resetCaches } from "../functions/lib/mirroring/ec2-sessions";
import { captureOutput, metricValues } from "./helpers/capture-output";
import {
  FILTER_ID,
  INSTANCE_ID,
  PRIMARY_ENI,
  SECONDARY_ENI,
  TARGET_ID,
  attachEvent,
  awsError,
  describeInstances,
  fixture,
  mirroringEnvironment,
  runningEvent,
  scheduledEvent,
  session,
} from "./helpers/ec2-fixtures";
import { declaredActionsOf, recordSentActions } from "./helpers/declared-calls";

const ec2 = mockClient(EC2Client);
const sentActions = recordSentActions({ EC2Client: ec2 });
let output: ReturnType<typeof captureOutput>;

beforeAll(() => Object.assign(process.env, mirroringEnvironment));

beforeEach(() => {
  ec2.reset();
  resetCaches();
  ec2.on(DescribeInstancesCommand).resolves(describeInstances());
  ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({ TrafficMirrorSessions: [] });
  ec2.on(DescribeTrafficMirrorTargetsCommand).resolves(fixture("describe-traffic-mirror-targets.json"));
  ec2.on(CreateTrafficMirrorSessionCommand).callsFake((input) => ({
    TrafficMirrorSession: { ...session(input.NetworkInterfaceId, input.SessionNumber), TrafficMirrorSessionId: `tms-0000000000000000${input.SessionNumber}` },
  }));
  output = captureOutput();
});

afterEach(() => output.restore());

const createdInputs = () => ec2.commandCalls(CreateTrafficMirrorSessionCommand).map((c) => c.args[0].input);

describe("ec2-mirroring event handler", () => {
  it("mirrors every ENI of a multi-ENI instance with one describe of each kind and one create per ENI", async () => {
    const counts = await handler(runningEvent);

    expect(counts).toMatchObject({ created: 2, failed: 0 });
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: [INSTANCE_ID] });
    expect(ec2).toHaveReceivedCommandTimes(DescribeTrafficMirrorSessionsCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DescribeTrafficMirrorSessionsCommand, {
      Filters: [{ Name: "network-interface-id", Values: [PRIMARY_ENI, SECONDARY_ENI] }],
    });
    expect(createdInputs()).toEqual([
      expect.objectContaining({
        NetworkInterfaceId: PRIMARY_ENI,
        TrafficMirrorTargetId: TARGET_ID,
        TrafficMirrorFilterId: FILTER_ID,
        SessionNumber: 1,
        TagSpecifications: [
          {
            ResourceType: "traffic-mirror-session",
            Tags: [
              { Key: "ManagedBy", Value: "flowtap" },
              { Key: "flowtap:instance-id", Value: INSTANCE_ID },
            ],
          },
        ],
      }),
      expect.objectContaining({ NetworkInterfaceId: SECONDARY_ENI, SessionNumber: 1 }),
    ]);
    expect(metricValues(output.lines(), "Created")).toEqual([2]);
  });

  it("mirrors the instance an ENI was attached to (CloudTrail AttachNetworkInterface)", async () => {
    const counts = await handler(attachEvent);
    expect(counts).toMatchObject({ created: 2 });
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: [INSTANCE_ID] });
  });

  it("creates nothing for an instance with the exclusion tag", async () => {
    ec2.on(DescribeInstancesCommand).resolves(describeInstances({ tags: { "flowtap:exclude": "true" } }));
    const counts = await handler(runningEvent);
    expect(counts).toMatchObject({ created: 0, excluded: 1 });
    expect(ec2).not.toHaveReceivedCommand(CreateTrafficMirrorSessionCommand);
  });

  it("matches the exclusion tag value exactly, not as a substring", async () => {
    ec2.on(DescribeInstancesCommand).resolves(describeInstances({ tags: { "flowtap:exclude": "true-ish" } }));
    expect(await handler(runningEvent)).toMatchObject({ created: 2, excluded: 0 });
  });

  it.each([
    ["aws:eks:cluster-name", "prod"],
    ["eks:nodegroup-name", "ng-1"],
    ["kubernetes.io/cluster/prod", "owned"],
    ["karpenter.sh/nodepool", "default"],
  ])("creates nothing for an EKS node tagged %s", async (key, value) => {
    ec2.on(DescribeInstancesCommand).resolves(describeInstances({ tags: { [key]: value } }));
    expect(await handler(runningEvent)).toMatchObject({ created: 0, excluded: 1 });
    expect(ec2).not.toHaveReceivedCommand(CreateTrafficMirrorSessionCommand);
  });

  it("creates a session only for the ENI that has none to the target", async () => {
    ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({ TrafficMirrorSessions: [session(PRIMARY_ENI, 1)] });
    expect(await handler(runningEvent)).toMatchObject({ created: 1, "already-mirrored": 1 });
    expect(createdInputs().map((i) => i.NetworkInterfaceId)).toEqual([SECONDARY_ENI]);
  });

  it("takes the lowest free session number when another tool's session holds the configured one", async () => {
    ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({
      TrafficMirrorSessions: [session(PRIMARY_ENI, 1, { targetId: "tmt-0bbbbbbbbbbbbbbbb", flowtap: false }), session(PRIMARY_ENI, 2, { targetId: "tmt-0cccccccccccccccc", flowtap: false })],
    });
    await handler(runningEvent);
    expect(createdInputs()).toEqual([
      expect.objectContaining({ NetworkInterfaceId: PRIMARY_ENI, SessionNumber: 3 }),
      expect.objectContaining({ NetworkInterfaceId: SECONDARY_ENI, SessionNumber: 1 }),
    ]);
  });

  it("creates nothing new when the same event is delivered twice", async () => {
    await handler(runningEvent);
    const firstTokens = createdInputs().map((i) => i.ClientToken);
    // The second delivery finds the sessions the first one made.
    ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({ TrafficMirrorSessions: [session(PRIMARY_ENI, 1), session(SECONDARY_ENI, 1)] });
    const counts = await handler(runningEvent);
    expect(counts).toMatchObject({ created: 0, "already-mirrored": 2 });
    expect(ec2).toHaveReceivedCommandTimes(CreateTrafficMirrorSessionCommand, 2);
    expect(new Set(firstTokens).size).toBe(2);
  });

  it("sends the same client token when a redelivery races the first delivery, so EC2 creates one session", async () => {
    await handler(runningEvent);
    await handler(runningEvent);
    const tokens = createdInputs().map((i) => `${i.NetworkInterfaceId}:${i.ClientToken}`);
    expect(tokens.slice(0, 2)).toEqual(tokens.slice(2));
    expect(createdInputs()[0].ClientToken).toMatch(/^[0-9a-f]{64}$/);
  });

  it("reports an ENI already at 3 sessions and does not try to create a fourth", async () => {
    ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({
      TrafficMirrorSessions: [1, 2, 3].map((n) => session(PRIMARY_ENI, n, { targetId: `tmt-0${n}${"0".repeat(15)}`, flowtap: false })),
    });
    const counts = await handler(runningEvent);
    expect(counts).toMatchObject({ "session-limit": 1, created: 1 });
    expect(createdInputs().map((i) => i.NetworkInterfaceId)).toEqual([SECONDARY_ENI]);
  });

  it("retries a throttled create (RequestLimitExceeded) and then succeeds", async () => {
    ec2
      .on(CreateTrafficMirrorSessionCommand)
      .rejectsOnce(awsError("RequestLimitExceeded", "Request limit exceeded."))
      .callsFake((input) => ({ TrafficMirrorSession: session(input.NetworkInterfaceId, input.SessionNumber) }));
    const counts = await handler(runningEvent);
    expect(counts).toMatchObject({ created: 2, failed: 0 });
    expect(ec2).toHaveReceivedCommandTimes(CreateTrafficMirrorSessionCommand, 3);
  });

  it("logs an unsupported instance once with instance, ENI and reason, counts it, and does not fail", async () => {
    ec2.on(CreateTrafficMirrorSessionCommand).rejects(awsError("NetworkInterfaceNotSupported", "The network interface is not supported for Traffic Mirroring."));
    const counts = await handler(runningEvent);
    expect(counts).toMatchObject({ unsupported: 2, failed: 0 });
    // Never retried: one attempt per ENI.
    expect(ec2).toHaveReceivedCommandTimes(CreateTrafficMirrorSessionCommand, 2);
    const warnings = output.lines().filter((l) => l.message === "mirroring unsupported");
    expect(warnings).toEqual([
      expect.objectContaining({ level: "WARN", instanceId: INSTANCE_ID, interfaceId: PRIMARY_ENI, reason: "NetworkInterfaceNotSupported" }),
      expect.objectContaining({ level: "WARN", instanceId: INSTANCE_ID, interfaceId: SECONDARY_ENI, reason: "NetworkInterfaceNotSupported" }),
    ]);
    expect(metricValues(output.lines(), "Unsupported")).toEqual([2]);
  });

  it("treats an ENI type AWS cannot mirror (EFA, trunk) as unsupported without calling create", async () => {
    ec2.on(DescribeInstancesCommand).resolves(describeInstances({ interfaceTypes: ["interface", "efa"] }));
    expect(await handler(runningEvent)).toMatchObject({ created: 1, unsupported: 1 });
  });

  it("reports a TrafficMirrorSessionsPerInterfaceLimitExceeded answer without failing", async () => {
    ec2.on(CreateTrafficMirrorSessionCommand).rejects(awsError("TrafficMirrorSessionsPerInterfaceLimitExceeded"));
    expect(await handler(runningEvent)).toMatchObject({ "session-limit": 2, failed: 0 });
  });

  it("reports an instance already terminated without describing sessions", async () => {
    ec2.on(DescribeInstancesCommand).rejects(awsError("InvalidInstanceID.NotFound", "The instance ID 'i-1234567890abcdef0' does not exist"));
    expect(await handler(runningEvent)).toMatchObject({ "source-gone": 1, failed: 0 });
    expect(ec2).not.toHaveReceivedCommand(DescribeTrafficMirrorSessionsCommand);
  });

  it("reports an instance that is shutting down by the time it is described", async () => {
    ec2.on(DescribeInstancesCommand).resolves(describeInstances({ state: "shutting-down" }));
    expect(await handler(runningEvent)).toMatchObject({ "source-gone": 1 });
    expect(ec2).not.toHaveReceivedCommand(CreateTrafficMirrorSessionCommand);
  });

  it("reports a target not shared with the account yet, without failing the invocation", async () => {
    ec2.on(CreateTrafficMirrorSessionCommand).rejects(awsError("InvalidTrafficMirrorTargetId.NotFound", "The traffic mirror target ID 'tmt-0a1b2c3d4e5f60001' does not exist"));
    const counts = await handler(runningEvent);
    expect(counts).toMatchObject({ "target-unavailable": 2, failed: 0 });
    expect(metricValues(output.lines(), "TargetUnavailable")).toEqual([2]);
  });

  it("never makes an ENI that is itself a mirror target a source", async () => {
    ec2.on(DescribeTrafficMirrorTargetsCommand).resolves({
      TrafficMirrorTargets: [{ TrafficMirrorTargetId: "tmt-0ffff1111eeee2222", NetworkInterfaceId: PRIMARY_ENI, Type: "network-interface" }],
    });
    expect(await handler(runningEvent)).toMatchObject({ created: 1, excluded: 1 });
    expect(createdInputs().map((i) => i.NetworkInterfaceId)).toEqual([SECONDARY_ENI]);
  });

  it("fails the invocation on an unexpected error, after reporting, so Lambda retries the event", async () => {
    ec2.on(CreateTrafficMirrorSessionCommand).rejects(awsError("UnauthorizedOperation", "You are not authorized to perform this operation."));
    await expect(handler(runningEvent)).rejects.toThrow(/could not be created; the event will be retried/);
    expect(output.lines().filter((l) => l.level === "ERROR")).toHaveLength(2);
  });

  it.each([
    ["null", null],
    ["a string", "running"],
    ["an empty object", {}],
    ["an unknown detail-type", { ...runningEvent, "detail-type": "EC2 Spot Instance Interruption Warning" }],
    ["a state change without detail", { ...runningEvent, detail: undefined }],
    ["a malformed instance id", { ...runningEvent, detail: { "instance-id": "i-XYZ", state: "running" } }],
    ["a stopped state", { ...runningEvent, detail: { "instance-id": INSTANCE_ID, state: "stopped" } }],
    ["a failed AttachNetworkInterface call", { ...attachEvent, detail: { ...(attachEvent.detail as object), errorCode: "Client.UnauthorizedOperation" } }],
    ["a scheduled event (the reconciler's)", scheduledEvent],
  ])("logs and ignores %s without calling EC2", async (_name, event) => {
    await expect(handler(event)).resolves.toBeUndefined();
    expect(ec2.calls()).toHaveLength(0);
    expect(output.lines()).toContainEqual(expect.objectContaining({ level: "WARN", message: "ignored event" }));
  });
});

describe("ec2-mirroring event handler, target ENI cache", () => {
  it("describes mirror targets once per container, not once per event", async () => {
    await handler(runningEvent);
    await handler(attachEvent);
    expect(ec2).toHaveReceivedCommandTimes(DescribeTrafficMirrorTargetsCommand, 1);
    expect(ec2).not.toHaveReceivedCommand(DeleteTrafficMirrorSessionCommand);
  });
});

it("sends only the requests its role's permission table declares", () => {
  const declared = declaredActionsOf("flowtap-ec2-mirroring");
  expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
  expect(sentActions.size).toBeGreaterThan(0);
});
