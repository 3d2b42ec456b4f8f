import { FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { KinesisStreamRecord, KinesisStreamStateResponse, KinesisStreamTumblingWindowEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import type { FlowLogField } from "../functions/lib/flowlogs/fields";
import { VPC_FLOW_LOG_FORMAT, parseLogFormat } from "../functions/lib/flowlogs/format";
import type { Holder } from "../functions/lib/flowlogs/inventory";
import { OwnershipStore } from "../functions/lib/flowlogs/ownership";
import { serializedState, type WindowState } from "../functions/lib/flowlogs/tumbling-window";
import { captureOutput, metricValues } from "./helpers/capture-output";
import { createInventoryTable, startDynalite } from "./helpers/dynalite";
import { declaredActionsOf, recordSentActions } from "./helpers/declared-calls";

const TABLE = "inventory-enrich-test";
const FORMAT = parseLogFormat(VPC_FLOW_LOG_FORMAT);
if (!FORMAT.ok) throw new Error(FORMAT.reason);
const FIELDS = FORMAT.fields;
const firehose = mockClient(FirehoseClient);
const s3 = mockClient(S3Client);
const sentActions = recordSentActions({ FirehoseClient: firehose, S3Client: s3 });
let db: Awaited<ReturnType<typeof startDynalite>>;
let store: OwnershipStore;
let handler: (event: KinesisStreamTumblingWindowEvent) => Promise<KinesisStreamStateResponse>;
let output: ReturnType<typeof captureOutput>;

const T0 = Date.UTC(2026, 10, 22, 12, 0) / 1000;
const web = (eni: string, address: string, vpcId = "vpc-0a1"): Holder => ({
  type: "ec2:instance", interfaceId: eni, vpcId, accountId: "222222222222", securityGroupIds: ["sg-0web"], availabilityZone: "us-east-1a", region: "us-east-1", tags: { app: address },
});

beforeAll(async () => {
  db = await startDynalite();
  await createInventoryTable(db.client, TABLE);
  store = new OwnershipStore(db.client, { tableName: TABLE, retentionDays: 30 });
  // 10.0.0.5 was eni-old's until 12:10, eni-new's from 12:20.
  await store.observe(web("eni-old", "old"), ["10.0.0.5"], { accountId: "222222222222", region: "us-east-1" }, T0 * 1000 - 3_600_000);
  await store.release("eni-old", (T0 + 600) * 1000);
  await store.observe(web("eni-new", "new"), ["10.0.0.5"], { accountId: "222222222222", region: "us-east-1" }, (T0 + 1200) * 1000);
  // A node whose ENI was delegated 10.0.3.16/28 for its pods (EKS's prefix mode).
  await store.observe(web("eni-node", "node"), ["10.0.0.40", "10.0.3.16/28"], { accountId: "222222222222", region: "us-east-1" }, T0 * 1000 - 3_600_000);
  await store.putSecurityGroup({ GroupId: "sg-0web", IpPermissions: [{ IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0" }] }], IpPermissionsEgress: [] });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "test",
    FLOW_LOG_FORMAT: VPC_FLOW_LOG_FORMAT, TABLE_NAME: TABLE, RETENTION_DAYS: "30", DELIVERY_STREAM: "flowtap-flow-insights", WINDOW_SECONDS: "300",
    IP_RANGES_BUCKET: "flowtap-flow-insights-111111111111-us-east-1", IP_RANGES_KEY: "ip-ranges/ip-ranges.json",
  });
  ({ handler } = await import("../functions/flow-insights/enrich"));
});
afterAll(() => db.stop());
beforeEach(() => {
  firehose.reset();
  s3.reset();
  firehose.on(PutRecordBatchCommand).callsFake((input) => ({ FailedPutCount: 0, RequestResponses: input.Records.map(() => ({ RecordId: "r" })) }));
  s3.on(GetObjectCommand).rejects(Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey" }));
  output = captureOutput();
});
afterEach(() => output.restore());

const line = (values: Partial<Record<FlowLogField, string | number>>) => FIELDS.map((f) => String(values[f] ?? "-")).join(" ");
const flow = (start: number, src: string, dst: string, sport: number, dport: number, bytes: number) =>
  line({ version: 8, "account-id": "222222222222", "interface-id": "eni-new", srcaddr: src, dstaddr: dst, srcport: sport, dstport: dport, protocol: 6, packets: 10, bytes, start, end: start + 60, action: "ACCEPT", "log-status": "OK", "vpc-id": "vpc-0a1" });
/** A record as a CloudWatch Logs destination puts it on Kinesis: a gzip'd subscription payload. */
function kinesisRecord(sequenceNumber: string, messages: string[]): KinesisStreamRecord {
  const payload = { messageType: "DATA_MESSAGE", owner: "222222222222", logGroup: "/flowtap/flow-insights/flow-logs", logStream: "eni-new-all", subscriptionFilters: ["flowtap-flow-insights"], logEvents: messages.map((message, i) => ({ id: String(i), timestamp: T0 * 1000, message })) };
  return {
    kinesis: { kinesisSchemaVersion: "1.0", partitionKey: "p", sequenceNumber, data: gzipSync(JSON.stringify(payload)).toString("base64"), approximateArrivalTimestamp: T0 },
    eventSource: "aws:kinesis", eventVersion: "1.0", eventID: `shardId-000000000000:${sequenceNumber}`, eventName: "aws:kinesis:record",
    invokeIdentityArn: "arn:aws:iam::111111111111:role/flowtap-flow-insights-enrich", awsRegion: "us-east-1", eventSourceARN: "arn:aws:kinesis:us-east-1:111111111111:stream/flowtap-flow-insights",
  };
}
const windowEvent = (records: KinesisStreamRecord[], state: Record<string, unknown> | undefined, final = false): KinesisStreamTumblingWindowEvent => ({
  Records: records, window: { start: "2026-11-22T12:00:00Z", end: "2026-11-22T12:05:00Z" }, state, isFinalInvokeForWindow: final, isWindowTerminatedEarly: false,
});
const delivered = () =>
  firehose.commandCalls(PutRecordBatchCommand).flatMap((c) => (c.args[0].input.Records ?? []).map((r) => JSON.parse(Buffer.from(r.Data as Uint8Array).toString("utf8"))));

describe("the flow-insights enrichment function", () => {
  it("keeps AWS's documented tumbling-window event's batch going: data that is no log payload is counted, not retried", async () => {
    const event = JSON.parse(readFileSync(path.join(__dirname, "fixtures", "kinesis-tumbling-window-event.json"), "utf8")) as KinesisStreamTumblingWindowEvent;
    const answer = await handler(event);
    expect(answer).toEqual({ state: { aggregates: {} }, batchItemFailures: [] });
    expect(metricValues(output.lines(), "RecordsMalformed")).toEqual([1]);
  });

  it("attributes each flow to what held its address at the flow's time, and aggregates both directions into the window", async () => {
    const late = flow(T0 + 60, "10.0.0.5", "52.217.44.20", 40000, 443, 1000);
    const reverse = flow(T0 + 60, "52.217.44.20", "10.0.0.5", 443, 40000, 5000);
    const later = flow(T0 + 1500, "10.0.0.5", "52.217.44.20", 40001, 443, 700);
    const first = await handler(windowEvent([kinesisRecord("1", [late, reverse])], undefined));
    expect(first.batchItemFailures).toEqual([]);
    const second = await handler(windowEvent([kinesisRecord("2", [later])], first.state));
    expect(firehose.commandCalls(PutRecordBatchCommand)).toHaveLength(0);
    const final = await handler(windowEvent([], second.state, true));
    expect(final.state).toEqual({ aggregates: {} });
    const aggregates = delivered();
    expect(aggregates).toHaveLength(2);
    // At 12:01 the address was eni-old's, at 12:25 eni-new's: a late record is not given to today's holder.
    expect(aggregates).toContainEqual(expect.objectContaining({ Uploaded: 1000, Downloaded: 5000, Flows: 2, Client: expect.objectContaining({ InterfaceId: "eni-old", Tags: { app: "old" } }), Window: { Start: T0, End: T0 + 300, Seconds: 300 } }));
    expect(aggregates).toContainEqual(expect.objectContaining({ Uploaded: 700, Client: expect.objectContaining({ InterfaceId: "eni-new" }), Window: expect.objectContaining({ Start: T0 + 1500 }) }));
  });

  it("tells a flow between two accounts crossed zones by zone id, where both ends say us-east-1a", async () => {
    const at = { region: "us-east-1" };
    await store.observe({ ...web("eni-zone-a", "a"), availabilityZoneId: "use1-az1" }, ["10.0.7.1"], { accountId: "222222222222", ...at }, T0 * 1000 - 3_600_000);
    const other = { ...web("eni-zone-b", "b", "vpc-0b2"), accountId: "333333333333", availabilityZoneId: "use1-az2" };
    await store.observe(other, ["10.0.8.1"], { accountId: "333333333333", ...at }, T0 * 1000 - 3_600_000);
    const between = line({ version: 8, "account-id": "222222222222", "interface-id": "eni-zone-a", srcaddr: "10.0.7.1", dstaddr: "10.0.8.1", srcport: 40000, dstport: 443, protocol: 6, packets: 10, bytes: 900, start: T0 + 60, end: T0 + 120, action: "ACCEPT", "log-status": "OK", "vpc-id": "vpc-0a1" });
    const first = await handler(windowEvent([kinesisRecord("zones", [between])], undefined));
    await handler(windowEvent([], first.state, true));
    expect(delivered()).toEqual([
      expect.objectContaining({
        CrossAz: true,
        Client: expect.objectContaining({ AccountId: "222222222222", AvailabilityZone: "us-east-1a", AvailabilityZoneId: "use1-az1" }),
        Server: expect.objectContaining({ AccountId: "333333333333", AvailabilityZone: "us-east-1a", AvailabilityZoneId: "use1-az2" }),
      }),
    ]);
  });

  it("puts a pod's address on the node whose ENI its prefix was delegated to", async () => {
    const pod = flow(T0 + 60, "10.0.3.20", "52.217.44.20", 40000, 443, 1000);
    const beside = flow(T0 + 60, "10.0.3.32", "52.217.44.20", 40000, 443, 1000);
    const first = await handler(windowEvent([kinesisRecord("3", [pod, beside])], undefined));
    await handler(windowEvent([], first.state, true));
    expect(delivered().map((a) => [a.Client.Addr, a.Client.Type, a.Client.InterfaceId])).toEqual(
      expect.arrayContaining([
        ["10.0.3.20", "ec2:instance", "eni-node"],
        ["10.0.3.32", "unknown", undefined],
      ]),
    );
  });

  it("answers a batch it could not finish as failed from its first record, with the state as it came, so the retry counts nothing twice", async () => {
    const state = { aggregates: { k: { Uploaded: 1 } } };
    firehose.on(PutRecordBatchCommand).rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
    const records = Array.from({ length: 3000 }, (_, i) => flow(T0, `10.9.0.${i % 5}`, "52.217.44.20", 60000, 2000 + i, 100));
    const answer = await handler(windowEvent([kinesisRecord("7", records), kinesisRecord("8", [records[0]])], state));
    expect(answer).toEqual({ state, batchItemFailures: [{ itemIdentifier: "7" }] });
  });

  it("delivers early when the window's state grows near Lambda's 1 MB, and resends what Firehose refuses", async () => {
    let refused = false;
    firehose.on(PutRecordBatchCommand).callsFake((input) => {
      const failFirst = !refused;
      refused = true;
      return { FailedPutCount: failFirst ? 1 : 0, RequestResponses: input.Records.map((_: unknown, i: number) => (failFirst && i === 0 ? { ErrorCode: "ServiceUnavailableException" } : { RecordId: "r" })) };
    });
    // 3,000 server ports make 3,000 aggregates, some 900 KB of state.
    const records = Array.from({ length: 3000 }, (_, i) => flow(T0, `10.9.0.${i % 5}`, "52.217.44.20", 60000, 2000 + i, 100));
    const answer = await handler(windowEvent([kinesisRecord("9", records)], undefined));
    expect(answer.state).toEqual({ aggregates: {} });
    // One refused record, sent again.
    expect(delivered().length).toBe(3001);
    expect(new Set(delivered().map((a) => a.Server.Port)).size).toBe(3000);
  });
});

describe("the window's state", () => {
  it("weighs as its JSON does, to the byte, whatever its keys and tags hold, and serializes each aggregate as a line", () => {
    const aggregateArb = fc.record({
      Protocol: fc.constantFrom("tcp", "udp"), Uploaded: fc.nat(), Downloaded: fc.nat(), Packets: fc.nat(), Flows: fc.nat(),
      Client: fc.record({ Addr: fc.ipV4(), Type: fc.constant("ec2:instance" as const), Rfc1918: fc.boolean(), Tags: fc.dictionary(fc.string(), fc.string({ unit: "binary" })) }),
      Window: fc.record({ Start: fc.nat(), End: fc.nat(), Seconds: fc.constant(300) }),
    });
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: "binary" }), aggregateArb), (aggregates) => {
        const state = { aggregates: aggregates as unknown as WindowState["aggregates"] };
        const { lines, bytes } = serializedState(state);
        expect(bytes).toBe(Buffer.byteLength(JSON.stringify(state)));
        expect(lines).toEqual(Object.values(state.aggregates).map((a) => JSON.stringify(a)));
      }),
      { numRuns: 200 },
    );
  });
});

it("sends only the requests its role's permission table declares", () => {
  const declared = declaredActionsOf("flowtap-flow-insights-enrich-us-east-1");
  expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
  expect(sentActions.size).toBeGreaterThan(0);
});
