import { DeleteItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand } from "@aws-sdk/client-cloudwatch-logs";
import { SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { queryTopTalkers } from "../functions/nat-flow-recorder/summary";
import { recordingSummary, TOP_TALKERS_QUERY } from "../functions/lib/nat-recorder/recording";
import { createRecordingsTable, startDynalite } from "./helpers/dynalite";
import { awsError } from "./helpers/ec2-fixtures";
import { declaredActionsOf, recordSentActions } from "./helpers/declared-calls";

const TABLE = "recordings-callback-test";
const NAT = "nat-0a1b2c3d4e5f60001";
const okEvent = JSON.parse(readFileSync(path.join(__dirname, "fixtures", "cloudwatch-alarm-state-change-nat-ok.json"), "utf8"));
const sfn = mockClient(SFNClient);
let db: Awaited<ReturnType<typeof startDynalite>>;
let handler: (event: unknown) => Promise<unknown>;

beforeAll(async () => {
  db = await startDynalite();
  await createRecordingsTable(db.client, TABLE);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint;
  process.env.TABLE_NAME = TABLE;
  ({ handler } = await import("../functions/nat-flow-recorder/callback"));
});
afterAll(() => db.stop());
beforeEach(async () => {
  sfn.reset();
  await db.client.send(new DeleteItemCommand({ TableName: TABLE, Key: { natGatewayId: { S: NAT } } }));
});

const waiting = (token: string) =>
  db.client.send(new PutItemCommand({ TableName: TABLE, Item: { natGatewayId: { S: NAT }, recording: { BOOL: true }, taskToken: { S: token }, executionName: { S: "e" } } }));

describe("nat-flow-recorder callback function", () => {
  const sentActions = recordSentActions({ SFNClient: sfn });
  it("answers the stored task token when the NAT gateway's alarm returns to OK", async () => {
    await waiting("AAAAKgAAAAIAAAAAAAAAAf");
    sfn.on(SendTaskSuccessCommand).resolves({});
    await expect(handler(okEvent)).resolves.toEqual({ resumed: true, natGatewayId: NAT });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: "AAAAKgAAAAIAAAAAAAAAAf",
      output: JSON.stringify({ clearedAt: "2026-11-22T17:20:48.551+0000", alarmName: `flowtap-nat-traffic/${NAT}` }),
    });
  });

  it("does nothing when no recording waits for that NAT gateway", async () => {
    await expect(handler(okEvent)).resolves.toEqual({ resumed: false, natGatewayId: NAT, reason: "no recording in progress" });
    expect(sfn.calls()).toHaveLength(0);
  });

  it.each(["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])("treats a stale token (%s) as a recording that already stopped, not as an error", async (code) => {
    await waiting("stale-token");
    sfn.on(SendTaskSuccessCommand).rejects(awsError(code, "Task Timed Out: 'Provided task does not exist anymore'"));
    await expect(handler(okEvent)).resolves.toEqual({ resumed: false, natGatewayId: NAT, reason: code });
  });

  it("retries a throttled SendTaskSuccess", async () => {
    await waiting("token");
    sfn.on(SendTaskSuccessCommand).rejectsOnce(awsError("ThrottlingException", "Rate exceeded")).resolves({});
    await expect(handler(okEvent)).resolves.toMatchObject({ resumed: true });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 2);
  });

  it.each([
    ["an ALARM state", { ...okEvent, detail: { ...okEvent.detail, state: { ...okEvent.detail.state, value: "ALARM" } } }],
    ["another alarm", { ...okEvent, detail: { ...okEvent.detail, alarmName: "ServerCpuTooHigh" } }],
    ["something else", { source: "aws.ec2" }],
  ])("ignores %s", async (_name, event) => {
    await waiting("token");
    await expect(handler(event)).resolves.toMatchObject({ resumed: false });
    expect(sfn.calls()).toHaveLength(0);
  });

  it("sends only the requests its role's permission table declares", () => {
    const declared = declaredActionsOf("flowtap-nat-flow-recorder-callback");
    expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
    expect(sentActions.size).toBeGreaterThan(0);
  });
});

describe("nat-flow-recorder summary function", () => {
  const logs = mockClient(CloudWatchLogsClient);
  const sentActions = recordSentActions({ CloudWatchLogsClient: logs });
  const input = { natGatewayId: NAT, alarmName: `flowtap-nat-traffic/${NAT}`, logGroupName: "/flowtap/nat-flow-recorder/us-east-1", startTime: "2026-11-22T17:04:00.000Z", endTime: "2026-11-22T17:20:49.000Z" };
  const row = (src: string, dst: string, service: string, pathId: string, bytes: number, flows: number) =>
    Object.entries({ pktSrcAddr: src, pktDstAddr: dst, pktDstAwsService: service, trafficPath: pathId, totalBytes: String(bytes), flows: String(flows) }).map(([field, value]) => ({ field, value }));
  beforeEach(() => logs.reset());

  it("queries the recording window (and a little after, for late records) and names the top talkers", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q-1" });
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: "Running", results: [] })
      .resolves({ status: "Complete", results: [row("10.0.1.15", "52.216.8.10", "S3", "8", 7_516_192_768, 1200), row("10.0.2.7", "3.5.1.20", "-", "8", 1_048_576, 12)] });
    const talkers = await queryTopTalkers(new CloudWatchLogsClient({}), input, 1);
    expect(logs).toHaveReceivedCommandWith(StartQueryCommand, {
      logGroupName: input.logGroupName,
      startTime: Date.parse(input.startTime) / 1000,
      endTime: Math.floor(Date.parse(input.endTime) / 1000) + 600,
      queryString: TOP_TALKERS_QUERY,
    });
    const { message } = recordingSummary({ ...input, talkers });
    expect(message).toContain("7.0 GiB  10.0.1.15 -> 52.216.8.10 (S3), through an internet gateway (Nitro), 1200 flow records");
    expect(message).toContain("1.0 MiB  10.0.2.7 -> 3.5.1.20, through an internet gateway (Nitro), 12 flow records");
  });

  it("fails, so the state machine sends its summary without top talkers, when the query does", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q-2" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Failed" });
    await expect(queryTopTalkers(new CloudWatchLogsClient({}), input, 1)).rejects.toMatchObject({ name: "QueryFailed" });
  });

  it("gives up on a query that does not complete", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q-3" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Running" });
    await expect(queryTopTalkers(new CloudWatchLogsClient({}), input, 1, 3)).rejects.toMatchObject({ name: "QueryTimedOut" });
    expect(logs).toHaveReceivedCommandTimes(GetQueryResultsCommand, 3);
  });

  it("sends only the requests its role's permission table declares", () => {
    const declared = declaredActionsOf("flowtap-nat-flow-recorder-summary");
    expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
    expect(sentActions.size).toBeGreaterThan(0);
  });
});
