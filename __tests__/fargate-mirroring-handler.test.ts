import {
  CreateTrafficMirrorSessionCommand,
  DeleteTrafficMirrorSessionCommand,
  DescribeAvailabilityZonesCommand,
  DescribeTrafficMirrorSessionsCommand,
  DescribeTrafficMirrorTargetsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { DescribeTasksCommand, ECSClient, ListClustersCommand, ListTasksCommand, type Task } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { handler } from "../functions/fargate-mirroring/event-handler";
import { forgetUnsupportedFamilies } from "../functions/fargate-mirroring/mirror-tasks";
import { handler as reconcile } from "../functions/fargate-mirroring/reconciler";
import { resetCaches } from "../functions/lib/mirroring/ec2-sessions";
import { captureOutput, metricValues } from "./helpers/capture-output";
import { awsError, fixture, mirroringEnvironment, scheduledEvent, session } from "./helpers/ec2-fixtures";
import { declaredActionsOf, recordSentActions } from "./helpers/declared-calls";

const ec2 = mockClient(EC2Client);
const ecs = mockClient(ECSClient);
let output: ReturnType<typeof captureOutput>;

/** AWS's documented `ECS Task State Change` sample: a Fargate task in FargateCluster, zone us-west-2c (usw2-az3). */
const taskEvent = fixture<Record<string, unknown>>("ecs-task-state-change-running.json");
const describedTask = fixture<{ tasks: Task[] }>("describe-tasks-fargate.json");
const TASK_ARN = "arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad";
const TASK_ENI = "eni-abcd1234";
const ZONE_TARGET = "tmt-0a1b2c3d4e5f6aaa3";
const DEFAULT_TARGET = "tmt-0a1b2c3d4e5f6dddd";

beforeAll(() =>
  Object.assign(process.env, mirroringEnvironment, {
    MIRROR_TARGETS: JSON.stringify({ "usw2-az3": ZONE_TARGET, "usw2-az1": "tmt-0a1b2c3d4e5f6aaa1", default: DEFAULT_TARGET }),
    ECS_CLUSTERS: "FargateCluster,payments",
    ECS_SERVICES: "",
    ECS_TASK_FAMILIES: "",
  }),
);

beforeEach(() => {
  ec2.reset();
  ecs.reset();
  resetCaches();
  forgetUnsupportedFamilies();
  ecs.on(DescribeTasksCommand).resolves(describedTask);
  ec2.on(DescribeAvailabilityZonesCommand).resolves(fixture("describe-availability-zones-us-west-2.json"));
  ec2.on(DescribeTrafficMirrorTargetsCommand).resolves({ TrafficMirrorTargets: [] });
  ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({ TrafficMirrorSessions: [] });
  ec2.on(CreateTrafficMirrorSessionCommand).callsFake((input) => ({ TrafficMirrorSession: session(input.NetworkInterfaceId, input.SessionNumber, { targetId: input.TrafficMirrorTargetId }) }));
  output = captureOutput();
});
afterEach(() => output.restore());

const creates = () => ec2.commandCalls(CreateTrafficMirrorSessionCommand).map((c) => c.args[0].input);

describe("fargate-mirroring event handler", () => {
  const sentActions = recordSentActions({ EC2Client: ec2, ECSClient: ecs });
  it("mirrors a task's ENI to the target of its own zone, with one DescribeTasks and one session lookup", async () => {
    expect(await handler(taskEvent)).toMatchObject({ created: 1, failed: 0 });
    expect(ecs).toHaveReceivedCommandWith(DescribeTasksCommand, { cluster: "arn:aws:ecs:us-west-2:111122223333:cluster/FargateCluster", tasks: [TASK_ARN], include: ["TAGS"] });
    expect(ec2).toHaveReceivedCommandWith(DescribeTrafficMirrorSessionsCommand, { Filters: [{ Name: "network-interface-id", Values: [TASK_ENI] }] });
    expect(creates()).toEqual([
      expect.objectContaining({
        NetworkInterfaceId: TASK_ENI,
        TrafficMirrorTargetId: ZONE_TARGET,
        TagSpecifications: [{ ResourceType: "traffic-mirror-session", Tags: [{ Key: "ManagedBy", Value: "flowtap" }, { Key: "flowtap:task-arn", Value: TASK_ARN }] }],
      }),
    ]);
  });

  it("falls back to the default target when the task's zone has none", async () => {
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ ...describedTask.tasks[0], availabilityZone: "us-west-2a" }] });
    await handler(taskEvent);
    expect(creates()).toEqual([expect.objectContaining({ TrafficMirrorTargetId: DEFAULT_TARGET })]);
  });

  it("creates nothing when the event is delivered again and the session exists", async () => {
    ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({ TrafficMirrorSessions: [session(TASK_ENI, 1, { targetId: ZONE_TARGET })] });
    expect(await handler(taskEvent)).toMatchObject({ created: 0, "already-mirrored": 1 });
    expect(ec2).not.toHaveReceivedCommand(CreateTrafficMirrorSessionCommand);
  });

  it("counts a task that stopped before it was described, and creates nothing", async () => {
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ ...describedTask.tasks[0], lastStatus: "STOPPED" }] });
    expect(await handler(taskEvent)).toMatchObject({ "source-gone": 1, failed: 0 });
    expect(ec2).not.toHaveReceivedCommand(CreateTrafficMirrorSessionCommand);
  });

  it("counts a task DescribeTasks no longer returns (MISSING) as gone", async () => {
    ecs.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: TASK_ARN, reason: "MISSING" }] });
    expect(await handler(taskEvent)).toMatchObject({ "source-gone": 1, failed: 0 });
  });

  it("does not fail when the ENI is deleted between the event and the create", async () => {
    ec2.on(CreateTrafficMirrorSessionCommand).rejects(awsError("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID 'eni-abcd1234' does not exist"));
    expect(await handler(taskEvent)).toMatchObject({ "source-gone": 1, failed: 0 });
  });

  it("explains NetworkInterfaceNotSupported once per task family, counts it, and never retries that family", async () => {
    ec2.on(CreateTrafficMirrorSessionCommand).rejects(awsError("NetworkInterfaceNotSupported", "The network interface is not supported for Traffic Mirroring."));
    expect(await handler(taskEvent)).toMatchObject({ unsupported: 1, failed: 0 });
    expect(await handler({ ...taskEvent, id: "another-delivery" })).toMatchObject({ unsupported: 1, failed: 0 });

    expect(ec2).toHaveReceivedCommandTimes(CreateTrafficMirrorSessionCommand, 1);
    const explanations = output.lines().filter((l) => l.message === "task family cannot be mirrored");
    expect(explanations).toEqual([expect.objectContaining({ family: "sample-fargate", explanation: expect.stringMatching(/packet-forwarding sidecar/) })]);
    expect(metricValues(output.lines(), "Unsupported")).toEqual([1, 1]);
  });

  it("retries a throttled DescribeTasks (ThrottlingException) and then mirrors", async () => {
    ecs.on(DescribeTasksCommand).rejectsOnce(awsError("ThrottlingException", "Rate exceeded")).resolves(describedTask);
    expect(await handler(taskEvent)).toMatchObject({ created: 1 });
    expect(ecs).toHaveReceivedCommandTimes(DescribeTasksCommand, 2);
  });

  it("ignores a task outside the configured clusters without calling AWS", async () => {
    const other = { ...taskEvent, detail: { ...(taskEvent.detail as object), clusterArn: "arn:aws:ecs:us-west-2:111122223333:cluster/batch" } };
    expect(await handler(other)).toMatchObject({ excluded: 1, created: 0 });
    expect(ecs.calls()).toHaveLength(0);
    expect(ec2.calls()).toHaveLength(0);
  });

  it("skips a task carrying the exclusion tag", async () => {
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ ...describedTask.tasks[0], tags: [{ key: "flowtap:exclude", value: "true" }] }] });
    expect(await handler(taskEvent)).toMatchObject({ excluded: 1, created: 0 });
  });

  it.each([
    ["a STOPPED task", { ...taskEvent, detail: { ...(taskEvent.detail as object), lastStatus: "STOPPED" } }],
    ["an instance state change", fixture("ec2-instance-state-change-running.json")],
    ["a task ARN that is not one", { ...taskEvent, detail: { ...(taskEvent.detail as object), taskArn: "not-an-arn" } }],
  ])("logs and ignores %s", async (_name, event) => {
    await expect(handler(event)).resolves.toBeUndefined();
    expect(ecs.calls()).toHaveLength(0);
  });

  it("sends only the requests its role's permission table declares", () => {
    const declared = declaredActionsOf("flowtap-fargate-mirroring");
    expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
    expect(sentActions.size).toBeGreaterThan(0);
  });
});

describe("fargate-mirroring reconciler", () => {
  const sentActions = recordSentActions({ EC2Client: ec2, ECSClient: ecs });
  /** n running tasks in `cluster`, one ENI each, zone us-west-2c; every third already mirrored. */
  function tasks(cluster: string, n: number): Task[] {
    return Array.from({ length: n }, (_, i) => ({
      ...describedTask.tasks[0],
      clusterArn: `arn:aws:ecs:us-west-2:111122223333:cluster/${cluster}`,
      taskArn: `arn:aws:ecs:us-west-2:111122223333:task/${cluster}/${i.toString(16).padStart(32, "0")}`,
      attachments: [{ ...describedTask.tasks[0].attachments![0], details: [{ name: "networkInterfaceId", value: `eni-${cluster.length}${i.toString(16).padStart(16, "0")}` }] }],
    }));
  }

  it("sweeps 250 tasks with 3 list pages and 3 describes, creating one session per unmirrored ENI", async () => {
    const all = tasks("payments", 250);
    const pages = [all.slice(0, 100), all.slice(100, 200), all.slice(200)];
    ecs.on(ListTasksCommand).callsFake((input) => {
      const page = input.nextToken ? Number(input.nextToken) : 0;
      return { taskArns: pages[page].map((t) => t.taskArn!), nextToken: page < 2 ? String(page + 1) : undefined };
    });
    ecs.on(DescribeTasksCommand).callsFake((input) => ({ tasks: all.filter((t) => input.tasks.includes(t.taskArn)) }));
    ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({
      TrafficMirrorSessions: all.filter((_, i) => i % 3 === 0).map((t) => session(t.attachments![0].details![0].value!, 1, { targetId: ZONE_TARGET })),
    });
    ecs.on(ListTasksCommand, { cluster: "FargateCluster" }).resolves({ taskArns: [] });

    const counts = await reconcile(scheduledEvent);

    expect(counts).toMatchObject({ created: 166, "already-mirrored": 84, failed: 0 });
    expect(ecs).toHaveReceivedCommandTimes(DescribeTasksCommand, 3);
    expect(ecs).toHaveReceivedCommandTimes(ListTasksCommand, 4);
    expect(ecs).not.toHaveReceivedCommand(ListClustersCommand);
    expect(ecs.commandCalls(DescribeTasksCommand).every((c) => c.args[0].input.tasks!.length <= 100)).toBe(true);
  });

  it("tries an unsupported family once, not once per task", async () => {
    const all = tasks("payments", 5);
    ecs.on(ListTasksCommand, { cluster: "payments" }).resolves({ taskArns: all.map((t) => t.taskArn!) });
    ecs.on(ListTasksCommand, { cluster: "FargateCluster" }).resolves({ taskArns: [] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: all });
    ec2.on(CreateTrafficMirrorSessionCommand).rejects(awsError("NetworkInterfaceNotSupported"));
    expect(await reconcile(scheduledEvent)).toMatchObject({ unsupported: 5, failed: 0 });
    expect(ec2).toHaveReceivedCommandTimes(CreateTrafficMirrorSessionCommand, 1);
  });

  it("removes flowtap's sessions from tasks that became excluded, and leaves sessions flowtap did not make", async () => {
    const [kept, excluded, foreign] = tasks("payments", 3);
    excluded.tags = [{ key: "flowtap:exclude", value: "true" }];
    foreign.tags = [{ key: "flowtap:exclude", value: "true" }];
    const eniOf = (t: Task) => t.attachments![0].details![0].value!;
    ecs.on(ListTasksCommand, { cluster: "payments" }).resolves({ taskArns: [kept, excluded, foreign].map((t) => t.taskArn!) });
    ecs.on(ListTasksCommand, { cluster: "FargateCluster" }).resolves({ taskArns: [] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [kept, excluded, foreign] });
    const stale = session(eniOf(excluded), 1, { targetId: ZONE_TARGET, id: "tms-0stale0000000001" });
    ec2.on(DescribeTrafficMirrorSessionsCommand).resolves({
      TrafficMirrorSessions: [session(eniOf(kept), 1, { targetId: ZONE_TARGET }), stale, session(eniOf(foreign), 1, { targetId: ZONE_TARGET, flowtap: false, id: "tms-0theirs00000001" })],
    });
    ec2.on(DeleteTrafficMirrorSessionCommand).resolves({ TrafficMirrorSessionId: stale.TrafficMirrorSessionId });

    expect(await reconcile(scheduledEvent)).toMatchObject({ removed: 1, "already-mirrored": 1, failed: 0 });
    expect(ec2.commandCalls(DeleteTrafficMirrorSessionCommand).map((c) => c.args[0].input.TrafficMirrorSessionId)).toEqual(["tms-0stale0000000001"]);
    expect(creates()).toEqual([]);
  });

  it("reports a configured cluster that does not exist and sweeps the others", async () => {
    const all = tasks("payments", 2);
    ecs.on(ListTasksCommand, { cluster: "FargateCluster" }).rejects(awsError("ClusterNotFoundException", "Cluster not found."));
    ecs.on(ListTasksCommand, { cluster: "payments" }).resolves({ taskArns: all.map((t) => t.taskArn!) });
    ecs.on(DescribeTasksCommand).resolves({ tasks: all });
    expect(await reconcile(scheduledEvent)).toMatchObject({ created: 2, failed: 1 });
  });

  it("sends only the requests its role's permission table declares", () => {
    const declared = declaredActionsOf("flowtap-fargate-mirroring-reconciler");
    expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
    expect(sentActions.size).toBeGreaterThan(0);
  });
});
