import {
  CreateTrafficMirrorSessionCommand,
  DeleteTrafficMirrorSessionCommand,
  DescribeInstancesCommand,
  DescribeTrafficMirrorSessionsCommand,
  DescribeTrafficMirrorTargetsCommand,
  EC2Client,
  type DescribeInstancesCommandOutput,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { resetCaches } from "../functions/lib/mirroring/ec2-sessions";
import { handler } from "../functions/ec2-mirroring/reconciler";
import { captureOutput } from "./helpers/capture-output";
import { awsError, describeInstances, fixture, mirroringEnvironment, runningEvent, scheduledEvent, session } from "./helpers/ec2-fixtures";
import { declaredActionsOf, recordSentActions } from "./helpers/declared-calls";

const ec2 = mockClient(EC2Client);
const sentActions = recordSentActions({ EC2Client: ec2 });
let output: ReturnType<typeof captureOutput>;

/** Instance ids i-0000000000000001..n, each with two ENIs eni-000000000000N0 and ...N1. */
function instancePage(ids: string[], tags: Record<string, Record<string, string>> = {}): DescribeInstancesCommandOutput {
  const reservations = ids.flatMap((id) => describeInstances({ instanceId: id, tags: tags[id] }).Reservations ?? []);
  return { Reservations: reservations, $metadata: {} };
}
const eniOf = (instanceId: string, index: number) => `eni-${instanceId.slice(2, 15)}${index}`;
const A = "i-0aaaaaaaaaaaa0001";
const B = "i-0bbbbbbbbbbbb0002";
const C = "i-0cccccccccccc0003";

beforeAll(() => Object.assign(process.env, mirroringEnvironment));
beforeEach(() => {
  ec2.reset();
  resetCaches();
  ec2.on(DescribeTrafficMirrorTargetsCommand).resolves(fixture("describe-traffic-mirror-targets.json"));
  ec2.on(CreateTrafficMirrorSessionCommand).callsFake((input) => ({ TrafficMirrorSession: session(input.NetworkInterfaceId, input.SessionNumber) }));
  ec2.on(DeleteTrafficMirrorSessionCommand).callsFake((input) => ({ TrafficMirrorSessionId: input.TrafficMirrorSessionId }));
  output = captureOutput();
});
afterEach(() => output.restore());

describe("ec2-mirroring reconciler", () => {
  it("walks every page of running instances and of sessions, and mirrors only what is missing", async () => {
    ec2.on(DescribeInstancesCommand)
      .resolvesOnce({ ...instancePage([A, B]), NextToken: "page-2" })
      .resolvesOnce(instancePage([C]));
    ec2.on(DescribeTrafficMirrorSessionsCommand)
      .resolvesOnce({ TrafficMirrorSessions: [session(eniOf(A, 0), 1), session(eniOf(A, 1), 1)], NextToken: "s-2" })
      .resolvesOnce({ TrafficMirrorSessions: [session(eniOf(B, 0), 1)] });

    const counts = await handler(scheduledEvent);

    expect(counts).toMatchObject({ created: 3, "already-mirrored": 3, removed: 0, failed: 0 });
    expect(ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { Filters: [{ Name: "instance-state-name", Values: ["running"] }], MaxResults: 1000, NextToken: undefined },
      { Filters: [{ Name: "instance-state-name", Values: ["running"] }], MaxResults: 1000, NextToken: "page-2" },
    ]);
    expect(ec2.commandCalls(DescribeTrafficMirrorSessionsCommand).map((c) => c.args[0].input.NextToken)).toEqual([undefined, "s-2"]);
    const created = ec2.commandCalls(CreateTrafficMirrorSessionCommand).map((c) => c.args[0].input.NetworkInterfaceId).sort();
    expect(created).toEqual([eniOf(B, 1), eniOf(C, 0), eniOf(C, 1)].sort());
  });

  it("removes flowtap's sessions from an instance that became excluded, and no other session", async () => {
    ec2.on(DescribeInstancesCommand).resolves(instancePage([A], { [A]: { "flowtap:exclude": "true" } }));
    ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({
      TrafficMirrorSessions: [
        session(eniOf(A, 0), 1, { id: "tms-0f10f10f10f10f101" }),
        session(eniOf(A, 0), 2, { id: "tms-0077777777777777", targetId: "tmt-0bbbbbbbbbbbbbbbb", flowtap: false }),
        session(eniOf(A, 1), 1, { id: "tms-0f10f10f10f10f102" }),
      ],
    });

    const counts = await handler(scheduledEvent);

    expect(counts).toMatchObject({ removed: 2, created: 0, excluded: 1 });
    const deleted = ec2.commandCalls(DeleteTrafficMirrorSessionCommand).map((c) => c.args[0].input.TrafficMirrorSessionId).sort();
    expect(deleted).toEqual(["tms-0f10f10f10f10f101", "tms-0f10f10f10f10f102"]);
  });

  it("removes a duplicate session flowtap created when two events raced, keeping the lowest number", async () => {
    ec2.on(DescribeInstancesCommand).resolves(instancePage([A]));
    ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({
      TrafficMirrorSessions: [
        session(eniOf(A, 0), 2, { id: "tms-0dddddddddddddd02" }),
        session(eniOf(A, 0), 1, { id: "tms-0dddddddddddddd01" }),
        session(eniOf(A, 1), 1),
      ],
    });
    expect(await handler(scheduledEvent)).toMatchObject({ removed: 1, "already-mirrored": 2 });
    expect(ec2).toHaveReceivedCommandWith(DeleteTrafficMirrorSessionCommand, { TrafficMirrorSessionId: "tms-0dddddddddddddd02" });
  });

  it("counts a session deleted by someone else in the meantime as removed", async () => {
    ec2.on(DescribeInstancesCommand).resolves(instancePage([A], { [A]: { "flowtap:exclude": "true" } }));
    ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({ TrafficMirrorSessions: [session(eniOf(A, 0), 1)] });
    ec2.on(DeleteTrafficMirrorSessionCommand).rejects(awsError("InvalidTrafficMirrorSessionId.NotFound"));
    expect(await handler(scheduledEvent)).toMatchObject({ removed: 1, failed: 0 });
  });

  it("reports a create that keeps failing and goes on with the other instances", async () => {
    ec2.on(DescribeInstancesCommand).resolves(instancePage([A, B]));
    ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({ TrafficMirrorSessions: [] });
    ec2.on(CreateTrafficMirrorSessionCommand, { NetworkInterfaceId: eniOf(A, 0) }).rejects(awsError("UnauthorizedOperation"));
    const counts = await handler(scheduledEvent);
    expect(counts).toMatchObject({ created: 3, failed: 1 });
  });

  it("ignores instance events, which belong to the event function", async () => {
    await expect(handler(runningEvent)).resolves.toBeUndefined();
    expect(ec2.calls()).toHaveLength(0);
  });
});

it("sends only the requests its role's permission table declares", () => {
  const declared = declaredActionsOf("flowtap-ec2-mirroring-reconciler");
  expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
  expect(sentActions.size).toBeGreaterThan(0);
});
