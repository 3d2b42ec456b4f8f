import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { StateMachine } from "aws-local-stepfunctions";
import { natFlowRecorderDefinition } from "../functions/lib/nat-recorder/state-machine";
import { recordingSummary } from "../functions/lib/nat-recorder/recording";
import { declaredActionsOf } from "./helpers/declared-calls";
import { createRecordingsTable, startDynalite } from "./helpers/dynalite";

// asl-validator ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require("asl-validator") as (definition: unknown) => { isValid: boolean; errors: unknown[] };

const TABLE = "flowtap-nat-flow-recorder-recordings";
const NAT = "nat-0a1b2c3d4e5f60001";
const NAT_ENIS = ["eni-0a1b2c3d4e5f6aaa1", "eni-0a1b2c3d4e5f6aaa2"];
const okEvent = JSON.parse(readFileSync(path.join(__dirname, "fixtures", "cloudwatch-alarm-state-change-nat-ok.json"), "utf8"));

const sfnMock = mockClient(SFNClient);
let db: Awaited<ReturnType<typeof startDynalite>>;
let resumeRecording: (event: unknown) => Promise<unknown>;

beforeAll(async () => {
  db = await startDynalite();
  await createRecordingsTable(db.client, TABLE);
  // The callback function reaches the same DynamoDB, as its own client would in AWS.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint;
  process.env.TABLE_NAME = TABLE;
  ({ handler: resumeRecording } = await import("../functions/nat-flow-recorder/callback"));
});
afterAll(() => db.stop());

/** An error as Step Functions names the failures of an aws-sdk integration: `<Service>.<Code>`. */
function sdkError(service: string, err: unknown): Error {
  const e = err as Error;
  return Object.assign(new Error(e.message), { name: `${service}.${e.name}` });
}

/** Runs a DynamoDB task against dynalite with exactly the Parameters the state machine built. */
async function dynamoTask<T>(command: new (input: never) => unknown, input: unknown): Promise<T> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const { $metadata: _, ...output } = (await db.client.send(new (command as any)(input))) as unknown as Record<string, unknown>;
    return output as T;
  } catch (err) {
    throw sdkError("DynamoDB", err);
  }
}

/** EC2 as far as the recorder uses it: NAT gateways with their ENIs, and flow logs with tags. */
class FakeEc2 {
  readonly flowLogs = new Map<string, { interfaceId: string; tags: Record<string, string>; logFormat: string }>();
  createFailure?: Error;
  deleteFailures: Error[] = [];
  private next = 1;

  /** Addresses of each ENI: a NAT gateway's secondary addresses sit on its ENIs, each listed with its ENI's id. */
  addressesPerInterface = 1;
  readonly createdFor: string[][] = [];

  describeNatGateways = (input: { NatGatewayIds: string[] }) => ({
    NatGateways: input.NatGatewayIds.map((id) => ({
      NatGatewayId: id,
      NatGatewayAddresses: NAT_ENIS.flatMap((eni) => Array.from({ length: this.addressesPerInterface }, (_, i) => ({ NetworkInterfaceId: eni, IsPrimary: eni === NAT_ENIS[0] && i === 0 }))),
    })),
  });

  createFlowLogs = (input: { ResourceIds: string[]; LogFormat: string; TagSpecifications: { Tags: { Key: string; Value: string }[] }[] }) => {
    this.createdFor.push(input.ResourceIds);
    const tags = Object.fromEntries(input.TagSpecifications[0].Tags.map((t) => [t.Key, t.Value]));
    const ids = input.ResourceIds.map((interfaceId, i) => {
      // A failing call has created the first flow log before it failed.
      if (this.createFailure && i > 0) throw this.createFailure;
      const id = `fl-${String(this.next++).padStart(17, "0")}`;
      this.flowLogs.set(id, { interfaceId, tags, logFormat: input.LogFormat });
      return id;
    });
    return { FlowLogIds: ids, Unsuccessful: [] };
  };

  describeFlowLogs = (input: { Filter: { Name: string; Values: string[] }[] }) => {
    const [{ Name, Values }] = input.Filter;
    const tagKey = Name.replace(/^tag:/, "");
    return { FlowLogs: [...this.flowLogs].filter(([, f]) => Values.includes(f.tags[tagKey])).map(([FlowLogId, f]) => ({ FlowLogId, ResourceId: f.interfaceId })) };
  };

  deleteFlowLogs = (input: { FlowLogIds: string[] }) => {
    const failure = this.deleteFailures.shift();
    if (failure) throw failure;
    for (const id of input.FlowLogIds) this.flowLogs.delete(id);
    return { Unsuccessful: [] };
  };
}

/**
 * The definition as aws-local-stepfunctions can run it. Step Functions resolves a Task's
 * TimeoutSecondsPath against the state's input; the emulator resolves it against the input after
 * Parameters, where `settings` no longer is. So the path becomes the value it resolves to in AWS.
 */
function forLocalEmulator(definition: Record<string, unknown>, recordingSeconds: number): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(definition)) as { States: Record<string, Record<string, unknown>> };
  const wait = copy.States.WaitForAlarmToClear;
  expect(wait.TimeoutSecondsPath).toBe("$.settings.recordingSeconds");
  delete wait.TimeoutSecondsPath;
  wait.TimeoutSeconds = recordingSeconds;
  return copy;
}

interface Run {
  ec2: FakeEc2;
  published: { Subject: string; Message: string }[];
  result: Promise<unknown>;
}

const execution = (name: string) => ({
  Execution: { Name: name, Id: `arn:aws:states:us-east-1:222222222222:execution:flowtap-nat-flow-recorder:${name}` },
  State: { EnteredTime: "2026-11-22T17:04:00.000Z" },
  Task: { Token: `token-of-${name}` },
});

function startRecording(name: string, options: { recordingSeconds?: number; maxRecordings?: number; ec2?: FakeEc2; summary?: (input: Record<string, string>) => unknown } = {}): Run {
  const ec2 = options.ec2 ?? new FakeEc2();
  const published: { Subject: string; Message: string }[] = [];
  const machine = new StateMachine(forLocalEmulator(natFlowRecorderDefinition(), options.recordingSeconds ?? 60) as never);
  const input = {
    alarmName: `flowtap-nat-traffic/${NAT}`,
    alarmTime: "2026-11-22T17:03:48Z",
    settings: {
      table: TABLE,
      logGroupName: "/flowtap/nat-flow-recorder/us-east-1",
      deliverLogsRoleArn: "arn:aws:iam::222222222222:role/flowtap-nat-flow-recorder-delivery",
      recordingSeconds: options.recordingSeconds ?? 60,
      maxRecordings: options.maxRecordings ?? 1_000_000_000,
      topicArn: "arn:aws:sns:us-east-1:222222222222:flowtap-nat-flow-recorder-summaries",
      summaryFunction: "arn:aws:lambda:us-east-1:222222222222:function:flowtap-nat-flow-recorder-summary",
    },
  };
  let resumeWaiting!: (output: unknown) => void;
  const alarmCleared = new Promise<unknown>((resolve) => (resumeWaiting = resolve));
  sfnMock.on(SendTaskSuccessCommand, { taskToken: `token-of-${name}` }).callsFake((cmd) => {
    resumeWaiting(JSON.parse(cmd.output));
    return {};
  });
  const { result } = machine.run(input as never, {
    context: execution(name),
    overrides: {
      taskResourceLocalHandlers: {
        ClaimRecording: (p) => dynamoTask(UpdateItemCommand, p),
        WhyNotRecording: (p) => dynamoTask(GetItemCommand, p),
        ReleaseClaim: (p) => dynamoTask(UpdateItemCommand, p),
        WaitForAlarmToClear: async (p) => {
          await dynamoTask(UpdateItemCommand, p);
          return (await alarmCleared) as never;
        },
        FindNatInterfaces: (p) => ec2.describeNatGateways(p as never) as never,
        StartFlowLogs: (p) => ec2.createFlowLogs(p as never) as never,
        FindRecordingFlowLogs: (p) => ec2.describeFlowLogs(p as never) as never,
        StopFlowLogs: (p) => ec2.deleteFlowLogs(p as never) as never,
        Summarize: async (p) => ({ Payload: (options.summary ?? ((i) => recordingSummary({ ...(i as unknown as Parameters<typeof recordingSummary>[0]), talkers: [] })))((p as { Payload: Record<string, string> }).Payload) }) as never,
        Notify: (p) => (published.push(p as never), {}),
        NotifyFailure: (p) => (published.push(p as never), {}),
        NotifyCleanupFailure: (p) => (published.push(p as never), {}),
      },
      retryIntervalOverrides: { StopFlowLogs: 0, FindRecordingFlowLogs: 0, ReleaseClaim: 0 },
    },
  }) as { result: Promise<unknown> };
  return { ec2, published, result };
}

const item = async (): Promise<Record<string, AttributeValue> | undefined> =>
  (await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { natGatewayId: { S: NAT } }, ConsistentRead: true }))).Item;

async function tokenStored(): Promise<void> {
  for (let i = 0; i < 200 && !(await item())?.taskToken; i++) await new Promise((r) => setTimeout(r, 10));
}

beforeEach(async () => {
  sfnMock.reset();
  await db.client.send(new DeleteItemCommand({ TableName: TABLE, Key: { natGatewayId: { S: NAT } } }));
});

describe("nat-flow-recorder state machine", () => {
  it("is valid Amazon States Language", () => {
    expect(aslValidator(natFlowRecorderDefinition())).toMatchObject({ isValid: true });
  });

  it("records every ENI of the NAT gateway until the alarm's OK callback, then stops, releases and notifies", async () => {
    const run = startRecording("first");
    await tokenStored();
    // While recording: both ENIs have a flow log in the recording format, tagged with the execution.
    expect([...run.ec2.flowLogs.values()].map((f) => f.interfaceId)).toEqual(NAT_ENIS);
    expect([...run.ec2.flowLogs.values()][0]).toMatchObject({
      tags: { ManagedBy: "flowtap", "flowtap:execution": "first", "flowtap:nat-gateway-id": NAT },
      logFormat: expect.stringContaining("${flow-direction} ${traffic-path}"),
    });
    expect(await item()).toMatchObject({ recording: { BOOL: true }, recordings: { N: "1" }, taskToken: { S: "token-of-first" } });

    await expect(resumeRecording(okEvent)).resolves.toEqual({ resumed: true, natGatewayId: NAT });
    await run.result;

    expect(run.ec2.flowLogs.size).toBe(0);
    const released = await item();
    expect(released).toMatchObject({ recording: { BOOL: false }, recordings: { N: "1" } });
    expect(released?.taskToken).toBeUndefined();
    expect(run.published).toEqual([expect.objectContaining({ Subject: `flowtap: NAT gateway ${NAT} traffic recorded`, Message: expect.stringContaining("No flow was recorded") })]);
  });

  it("asks for one flow log per ENI when the NAT gateway's secondary addresses repeat its ENIs", async () => {
    const ec2 = new FakeEc2();
    ec2.addressesPerInterface = 3;
    const run = startRecording("secondary-addresses", { ec2 });
    await tokenStored();
    expect(ec2.createdFor).toEqual([NAT_ENIS]);
    await resumeRecording(okEvent);
    await run.result;
    expect(ec2.flowLogs.size).toBe(0);
  });

  it("stops at the recording time limit when the alarm does not clear (States.Timeout)", async () => {
    const run = startRecording("timeout", { recordingSeconds: 1 });
    await run.result;
    expect(run.ec2.flowLogs.size).toBe(0);
    expect(await item()).toMatchObject({ recording: { BOOL: false }, recordings: { N: "1" } });
    expect(run.published).toHaveLength(1);
  });

  it("refuses a second recording while the NAT gateway records, and creates no flow log", async () => {
    await db.client.send(new PutItemCommand({ TableName: TABLE, Item: { natGatewayId: { S: NAT }, recording: { BOOL: true }, recordings: { N: "3" }, executionName: { S: "other" } } }));
    const run = startRecording("second");
    await expect(run.result).resolves.toBeDefined();
    expect(run.ec2.flowLogs.size).toBe(0);
    expect(await item()).toMatchObject({ recording: { BOOL: true }, recordings: { N: "3" }, executionName: { S: "other" } });
    expect(run.published).toEqual([]);
  });

  it("stops recording a NAT gateway once it reached the configured maximum", async () => {
    await db.client.send(new PutItemCommand({ TableName: TABLE, Item: { natGatewayId: { S: NAT }, recording: { BOOL: false }, recordings: { N: "10" } } }));
    const run = startRecording("eleventh", { maxRecordings: 10 });
    await run.result;
    expect(run.ec2.flowLogs.size).toBe(0);
    expect(await item()).toMatchObject({ recordings: { N: "10" } });
  });

  it("cleans up a flow log a failed CreateFlowLogs left behind, releases the NAT gateway and reports the failure", async () => {
    const ec2 = new FakeEc2();
    ec2.createFailure = Object.assign(new Error("The maximum number of flow logs has been reached."), { name: "Ec2.FlowLogsLimitExceeded" });
    const run = startRecording("create-fails", { ec2 });
    await expect(run.result).rejects.toThrow("see the notification and the execution history");
    expect(ec2.flowLogs.size).toBe(0);
    expect(await item()).toMatchObject({ recording: { BOOL: false } });
    expect(run.published).toEqual([expect.objectContaining({ Message: expect.stringContaining("Ec2.FlowLogsLimitExceeded") })]);
  });

  it("still sends the summary, without top talkers, when the Logs Insights query fails", async () => {
    const run = startRecording("query-fails", {
      recordingSeconds: 1,
      summary: () => {
        throw Object.assign(new Error("the Logs Insights query ended Failed"), { name: "QueryFailed" });
      },
    });
    await run.result;
    expect(run.ec2.flowLogs.size).toBe(0);
    expect(run.published).toEqual([expect.objectContaining({ Message: expect.stringMatching(/top-talkers query failed \(QueryFailed\)/) })]);
  });

  it("retries a throttled DeleteFlowLogs until the flow logs are gone", async () => {
    const ec2 = new FakeEc2();
    ec2.deleteFailures = [1, 2].map(() => Object.assign(new Error("Request limit exceeded."), { name: "Ec2.RequestLimitExceeded" }));
    const run = startRecording("delete-throttled", { recordingSeconds: 1, ec2 });
    await run.result;
    expect(ec2.deleteFailures).toEqual([]);
    expect(ec2.flowLogs.size).toBe(0);
    expect(await item()).toMatchObject({ recording: { BOOL: false } });
  });

  it("tells someone to act when the flow logs cannot be stopped, instead of leaving them silently", async () => {
    const ec2 = new FakeEc2();
    ec2.deleteFailures = Array.from({ length: 30 }, () => Object.assign(new Error("not authorized"), { name: "Ec2.UnauthorizedOperation" }));
    const run = startRecording("delete-denied", { recordingSeconds: 1, ec2 });
    await expect(run.result).rejects.toThrow("flow logs may still be recording; see the notification");
    expect(run.published).toEqual([expect.objectContaining({ Message: expect.stringMatching(/^ACTION NEEDED: .*flowtap:execution=delete-denied/) })]);
  });
});

describe("the nat-flow-recorder state machine's tasks", () => {
  /** The IAM action each Task state's integration calls: aws-sdk:<service>:<action>, or an optimized integration. */
  const OPTIMIZED: Record<string, string> = { "lambda:invoke": "lambda:InvokeFunction", "sns:publish": "sns:Publish" };
  const actionsOf = (node: unknown): string[] => {
    if (Array.isArray(node)) return node.flatMap(actionsOf);
    if (!node || typeof node !== "object") return [];
    const resource = (node as { Type?: string; Resource?: string }).Type === "Task" ? (node as { Resource: string }).Resource : undefined;
    const own = resource
      ? [
          ((integration: string) => OPTIMIZED[integration] ?? integration.replace(/:(\w)/, (_, c: string) => `:${c.toUpperCase()}`))(
            resource.replace(/^arn:aws:states:::(aws-sdk:)?/, "").replace(/\.\w+$/, ""),
          ),
        ]
      : [];
    return [...own, ...Object.values(node).flatMap(actionsOf)];
  };

  it("call only what the state machine role's permission table declares", () => {
    const called = new Set(actionsOf(natFlowRecorderDefinition()));
    const declared = declaredActionsOf({ stack: "nat-flow-recorder", rolePath: "recorder/state-machine-role" });
    expect([...called].filter((action) => !declared.has(action))).toEqual([]);
    expect([...called].sort()).toEqual(expect.arrayContaining(["dynamodb:GetItem", "dynamodb:UpdateItem", "ec2:CreateFlowLogs", "ec2:DeleteFlowLogs", "lambda:InvokeFunction", "sns:Publish"]));
  });
});
