import { DescribeInstancesCommand, DescribeNetworkInterfacesCommand, DescribeSecurityGroupsCommand, EC2Client, type NetworkInterface } from "@aws-sdk/client-ec2";
import type { FirehoseTransformationEvent, FirehoseTransformationEventRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { handler } from "../functions/flow-log-sg-enrichment/handler";
import { FlowEnricher } from "../functions/lib/flowlogs/enrich";
import { decodeFirehoseRecords, RESPONSE_LIMIT_BYTES, transformDecoded } from "../functions/lib/flowlogs/firehose";
import type { FlowLogField } from "../functions/lib/flowlogs/fields";
import { parseLogFormat, VPC_FLOW_LOG_FORMAT } from "../functions/lib/flowlogs/format";
import { LiveInventory } from "../functions/lib/flowlogs/live-inventory";
import { sampleEc2 } from "../samples/ec2-responder";
import { captureOutput, metricValues } from "./helpers/capture-output";
import { declaredActionsOf, recordSentActions } from "./helpers/declared-calls";

const FORMAT = parseLogFormat(VPC_FLOW_LOG_FORMAT);
if (!FORMAT.ok) throw new Error(FORMAT.reason);
const FIELDS = FORMAT.fields;
const ACCOUNT = "123456789010";

// The sample organization's ENIs, groups and instances, answered by a mocked EC2 the way EC2 filters them.
const sample = sampleEc2(1200);
const ENIS = sample.networkInterfaces;
const [ALB, , LAMBDA, RDS] = ENIS;
const INSTANCE = ENIS[9];

const ec2 = mockClient(EC2Client);
const sentActions = recordSentActions({ EC2Client: ec2 });
function answerLikeEc2(): void {
  ec2.reset();
  ec2.on(DescribeNetworkInterfacesCommand).callsFake((input) => {
    expect(input.Filters?.[0].Values?.length).toBeLessThanOrEqual(200);
    return sample.describeNetworkInterfaces(input.Filters ?? []);
  });
  ec2.on(DescribeSecurityGroupsCommand).callsFake((input) => sample.describeSecurityGroups(input.Filters ?? []));
  ec2.on(DescribeInstancesCommand).callsFake((input) => sample.describeInstances(input.Filters ?? []));
}

/** A flow log record in the all-fields format flowtap's flow logs use, `-` for what is not given. */
function vpcRecord(values: Partial<Record<FlowLogField, string | number>>): string {
  return FIELDS.map((f) => String(values[f] ?? "-")).join(" ");
}
const flow = (eni: NetworkInterface, src: string, dst: string, srcport: number, dstport: number, bytes = 4249, extra: Partial<Record<FlowLogField, string | number>> = {}) =>
  vpcRecord({
    version: 8, "account-id": ACCOUNT, "interface-id": eni.NetworkInterfaceId, srcaddr: src, dstaddr: dst, srcport, dstport, protocol: 6, packets: 20, bytes,
    start: 1732204800, end: 1732204860, action: "ACCEPT", "log-status": "OK", "vpc-id": eni.VpcId, "subnet-id": eni.SubnetId, ...extra,
  });
/** A record as VPC Flow Logs delivers it to Firehose: `{"message": "<record>"}`. */
const delivered = (recordId: string, line: string): FirehoseTransformationEventRecord => ({
  recordId, approximateArrivalTimestamp: 1732204900000, data: Buffer.from(JSON.stringify({ message: line })).toString("base64"),
});
const eventOf = (records: FirehoseTransformationEventRecord[]): FirehoseTransformationEvent => ({
  invocationId: "b7f5b5c2-9d1e-4bb3-8e0a-6f4c9c2e1a11", deliveryStreamArn: `arn:aws:firehose:us-east-1:${ACCOUNT}:deliverystream/flowtap-flow-log-sg-enrichment`, region: "us-east-1", records,
});
const linesOf = (data: string | undefined) => Buffer.from(data ?? "", "base64").toString("utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const ip = (eni: NetworkInterface) => eni.PrivateIpAddress!;

let output: ReturnType<typeof captureOutput>;
/** AWS's ranges as ip-ranges.amazonaws.com serves them (the sample's copy): the function fetches them itself. */
const published = jest.fn(async (_url: string | URL | Request) => new Response(readFileSync(path.join(__dirname, "..", "samples", "inventory", "ip-ranges.json")), { headers: { etag: '"sample"' } }));
beforeAll(() => {
  Object.assign(process.env, { FLOW_LOG_FORMAT: VPC_FLOW_LOG_FORMAT, LOOKUP_TTL_SECONDS: "300", POWERTOOLS_METRICS_NAMESPACE: "flowtap", POWERTOOLS_SERVICE_NAME: "test" });
  jest.spyOn(globalThis, "fetch").mockImplementation(published);
});
afterAll(() => jest.restoreAllMocks());
beforeEach(() => {
  answerLikeEc2();
  output = captureOutput();
});
afterEach(() => output.restore());

describe("the Firehose transformation function", () => {
  it("answers AWS's documented sample event record by record: data that is not a flow log fails, untouched", async () => {
    const event = JSON.parse(readFileSync(path.join(__dirname, "fixtures", "firehose-transformation-event.json"), "utf8")) as FirehoseTransformationEvent;
    const { records } = await handler(event);
    expect(records).toEqual([
      { recordId: "record1", result: "ProcessingFailed", data: "SGVsbG8gV29ybGQ=" },
      { recordId: "record2", result: "ProcessingFailed", data: "SGVsbG8gV29ybGQ=" },
    ]);
    expect(metricValues(output.lines(), "RecordsFailed")).toEqual([2]);
  });

  it("enriches direct-delivery records with each end's resource, security groups and the rule that admitted the flow, partitioned by account and date", async () => {
    const { records } = await handler(eventOf([delivered("r1", flow(INSTANCE, ALB.PrivateIpAddress!, ip(INSTANCE), 40000, 8080))]));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ recordId: "r1", result: "Ok", metadata: { partitionKeys: { account_id: ACCOUNT, date: "2024-11-21" } } });
    const [enriched] = linesOf(records[0].data);
    expect(enriched).toMatchObject({
      Version: 8, InterfaceId: INSTANCE.NetworkInterfaceId, Uploaded: 4249,
      Client: { Addr: ip(ALB), Type: "elasticloadbalancing:loadbalancer", SecurityGroupIds: ["sg-0a1b2c3d4e5f6web0"] },
      Server: {
        Addr: ip(INSTANCE), Port: 8080, Type: "ec2:instance", Arn: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/${INSTANCE.Attachment!.InstanceId}`,
        Tags: { app: "Storefront", Name: "node-0" },
        SecurityGroupRules: ['sg-0a1b2c3d4e5f6app0 inbound tcp 8080 from sg-0a1b2c3d4e5f6web0 "from the load balancer"'],
      },
    });
  });

  it("tells an S3 address from the internet by AWS's published ranges, as flowtap enrich and flow-insights do, fetching them once for many batches", async () => {
    const toS3 = flow(INSTANCE, ip(INSTANCE), "52.217.44.20", 40000, 443);
    const elsewhere = flow(INSTANCE, ip(INSTANCE), "198.51.100.7", 40001, 443);
    for (let i = 0; i < 3; i++) {
      const { records } = await handler(eventOf([delivered("s3", toS3), delivered("net", elsewhere)]));
      expect(records.flatMap((r) => linesOf(r.data)).map((r) => r.Server)).toEqual([
        expect.objectContaining({ Addr: "52.217.44.20", Type: "aws:service", AwsService: "S3", Region: "us-east-1" }),
        expect.objectContaining({ Addr: "198.51.100.7", Type: "internet" }),
      ]);
    }
    expect(published.mock.calls.map(([url]) => String(url))).toEqual(["https://ip-ranges.amazonaws.com/ip-ranges.json"]);
  });

  it("partitions each record by its own account and day, however a batch mixes them", async () => {
    const OTHER_ACCOUNT = "210987654321";
    const NEXT_DAY = { start: 1732204800 + 86_400, end: 1732204860 + 86_400 };
    const lines = [
      flow(INSTANCE, ip(ALB), ip(INSTANCE), 40000, 8080),
      flow(INSTANCE, ip(ALB), ip(INSTANCE), 40001, 8080, 4249, { "account-id": OTHER_ACCOUNT }),
      flow(INSTANCE, ip(ALB), ip(INSTANCE), 40002, 8080, 4249, NEXT_DAY),
      flow(INSTANCE, ip(ALB), ip(INSTANCE), 40003, 8080, 4249, { "account-id": OTHER_ACCOUNT, ...NEXT_DAY }),
      flow(INSTANCE, ip(ALB), ip(INSTANCE), 40004, 8080),
    ];
    const { records } = await handler(eventOf(lines.map((line, i) => delivered(`r${i}`, line))));
    expect(records.map((r) => r.metadata?.partitionKeys)).toEqual([
      { account_id: ACCOUNT, date: "2024-11-21" },
      { account_id: OTHER_ACCOUNT, date: "2024-11-21" },
      { account_id: ACCOUNT, date: "2024-11-22" },
      { account_id: OTHER_ACCOUNT, date: "2024-11-22" },
      { account_id: ACCOUNT, date: "2024-11-21" },
    ]);
  });

  it("drops records without flow log lines (a CloudWatch control message, an empty record) and keeps NODATA records", async () => {
    const control = { recordId: "c", approximateArrivalTimestamp: 1, data: Buffer.from(JSON.stringify({ messageType: "CONTROL_MESSAGE", logEvents: [] })).toString("base64") };
    const empty = { recordId: "e", approximateArrivalTimestamp: 1, data: "" };
    const nodata = delivered("n", vpcRecord({ version: 8, "account-id": ACCOUNT, "interface-id": LAMBDA.NetworkInterfaceId, start: 1732204800, end: 1732204860, "log-status": "NODATA" }));
    const { records } = await handler(eventOf([control, empty, nodata]));
    expect(records.map((r) => [r.recordId, r.result])).toEqual([["c", "Dropped"], ["e", "Dropped"], ["n", "Ok"]]);
    expect(linesOf(records[2].data)).toEqual([expect.objectContaining({ LogStatus: "NODATA", InterfaceId: LAMBDA.NetworkInterfaceId })]);
  });

  it("answers every recordId exactly once and in order, whatever mix of good, malformed and empty records comes", async () => {
    const good = fc.constantFrom(...ENIS.slice(0, 30)).map((eni) => flow(eni, ip(eni), "52.217.44.20", 40000, 443));
    const data = fc.oneof(
      good.map((line) => JSON.stringify({ message: line })),
      fc.string({ maxLength: 40 }),
      good.map((line) => line.split(" ").slice(0, 10).join(" ")),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(data, { maxLength: 30 }), async (payloads) => {
        const input = payloads.map((p, i) => ({ recordId: `id-${i}`, approximateArrivalTimestamp: 1732204900000, data: Buffer.from(p).toString("base64") }));
        const { records } = await handler(eventOf(input));
        expect(records.map((r) => r.recordId)).toEqual(input.map((r) => r.recordId));
        for (const [i, r] of records.entries()) {
          expect(["Ok", "Dropped", "ProcessingFailed"]).toContain(r.result);
          // A failed record is answered with its own data, for Firehose to keep under the error prefix.
          if (r.result === "ProcessingFailed") expect(r.data).toBe(input[i].data);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("fails only the records that would take the response over 6 MiB, never cutting one short", () => {
    // Each record carries 40 flows: its enriched output is some 40 KB, and a batch of 250 would answer with about 10 MB.
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ message: flow(INSTANCE, ip(INSTANCE), ip(RDS), 40000 + i, 5432) }));
    const input = Array.from({ length: 250 }, (_, i) => ({ recordId: `big-${i}`, approximateArrivalTimestamp: 1, data: Buffer.from(lines.join("\n")).toString("base64") }));
    const batch = decodeFirehoseRecords(input, FIELDS);
    const inventory = new LiveInventory(new EC2Client({}), { ttlSeconds: 300 });
    return inventory.inventoryFor(batch.addresses, batch.interfaceIds).then((known) => {
      const { records, summary } = transformDecoded(batch, new FlowEnricher(known));
      const response = Buffer.byteLength(JSON.stringify({ records }));
      expect(response).toBeLessThanOrEqual(6 * 1024 * 1024);
      expect(response).toBeGreaterThan(RESPONSE_LIMIT_BYTES - 100_000);
      expect(summary.overLimit).toBeGreaterThan(0);
      expect(summary.ok + summary.overLimit).toBe(250);
      // What fits is whole: every Ok record holds all 40 of its flows.
      for (const r of records.filter((x) => x.result === "Ok")) expect(linesOf(r.data)).toHaveLength(40);
      const failed = records.filter((x) => x.result === "ProcessingFailed");
      expect(failed).toHaveLength(summary.overLimit);
      for (const r of failed) expect(r.data).toBe(input[0].data);
    });
  });
});

describe("the answer's size", () => {
  it("never passes the limit, however the limit falls among the records", async () => {
    const lines = ENIS.slice(0, 60).map((eni, i) => JSON.stringify({ message: flow(eni, ip(eni), "52.217.44.20", 40000 + i, 443) }));
    const input = lines.map((line, i) => ({ recordId: `r-${i}-${"x".repeat(i % 7)}`, approximateArrivalTimestamp: 1, data: Buffer.from(i % 9 === 0 ? "garbage" : line).toString("base64") }));
    const batch = decodeFirehoseRecords(input, FIELDS);
    const enricher = new FlowEnricher(await new LiveInventory(new EC2Client({}), { ttlSeconds: 300 }).inventoryFor(batch.addresses, batch.interfaceIds));
    const reservedForFailures = Buffer.byteLength(JSON.stringify({ records: input.map((r) => ({ recordId: r.recordId, result: "ProcessingFailed", data: r.data })) }));
    fc.assert(
      fc.property(fc.integer({ min: reservedForFailures, max: reservedForFailures + 120_000 }), (limit) => {
        const { records } = transformDecoded(batch, enricher, limit);
        // The limit leaves room for the {"records":[…]} around the answers.
        expect(Buffer.byteLength(JSON.stringify({ records }))).toBeLessThanOrEqual(limit + 64);
      }),
      { numRuns: 50 },
    );
  });

  it("counts every answer to the byte: a limit of exactly the response fits it, one byte less fails its last record", async () => {
    const lines = ENIS.slice(0, 30).map((eni, i) => JSON.stringify({ message: flow(eni, ip(eni), "52.217.44.20", 40000 + i, 443) }));
    const input = lines.map((line, i) => ({ recordId: `r-${i}-"é"`, approximateArrivalTimestamp: 1, data: Buffer.from(i % 4 === 0 ? "garbage" : line).toString("base64") }));
    const batch = decodeFirehoseRecords(input, FIELDS);
    const enricher = new FlowEnricher(await new LiveInventory(new EC2Client({}), { ttlSeconds: 300 }).inventoryFor(batch.addresses, batch.interfaceIds));
    const unlimited = transformDecoded(batch, enricher).records;
    // {"records":[a,b,…]} is the answers, a comma after each but the last, and 13 bytes around them.
    const answersBytes = Buffer.byteLength(JSON.stringify({ records: unlimited })) - 13;

    expect(transformDecoded(batch, enricher, answersBytes).summary.overLimit).toBe(0);
    const tight = transformDecoded(batch, enricher, answersBytes - 1);
    expect(tight.summary.overLimit).toBe(1);
    expect(tight.records.at(-1)).toEqual({ recordId: input.at(-1)!.recordId, result: "ProcessingFailed", data: input.at(-1)!.data });
  });
});

describe("looking up what flows name", () => {
  it("asks EC2 many addresses per call and remembers the answers, found or not, until the TTL passes", async () => {
    let now = 0;
    const inventory = new LiveInventory(new EC2Client({}), { ttlSeconds: 300, now: () => now });
    const addresses = [...ENIS.slice(0, 450).map(ip), "10.250.0.1", "198.51.100.7"];
    const first = await inventory.inventoryFor(addresses, []);
    expect(first.byAddress.get(ip(INSTANCE))?.type).toBe("ec2:instance");
    const networkInterfaceCalls = ec2.commandCalls(DescribeNetworkInterfacesCommand);
    // 452 private-filter values in 3 calls, 1 public-filter call, then the ENIs themselves are known.
    expect(networkInterfaceCalls.map((c) => c.args[0].input.Filters?.[0].Name)).toEqual([
      "addresses.private-ip-address", "addresses.private-ip-address", "addresses.private-ip-address", "association.public-ip",
    ]);
    expect(ec2.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(1);
    // The two addresses no ENI holds, by the prefix each falls in; then the instances of 450 ENIs, 200 a call.
    expect(ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input.Filters?.[0].Name)).toEqual([
      "network-interface.ipv4-prefixes.ipv4-prefix", "instance-id", "instance-id", "instance-id",
    ]);
    const calls = inventory.calls;

    now += 299_000;
    await inventory.inventoryFor(addresses, [INSTANCE.NetworkInterfaceId!]);
    expect(inventory.calls).toBe(calls);
    now += 2_000;
    await inventory.inventoryFor([ip(INSTANCE)], []);
    expect(inventory.calls).toBeGreaterThan(calls);
  });

  it("puts an address that ENIs of two VPCs hold (overlapping ranges) on the one in the VPC that logged each record", async () => {
    const elsewhere: NetworkInterface = { ...INSTANCE, NetworkInterfaceId: "eni-0ffffffffffffffff", VpcId: "vpc-0bbbbbbbbbbbbbbbb", SubnetId: "subnet-0bbbbbbbbbbbbbbbb", Attachment: undefined, TagSet: [{ Key: "Name", Value: "elsewhere" }] };
    sample.networkInterfaces.push(elsewhere);
    try {
      const inventory = new LiveInventory(new EC2Client({}), { ttlSeconds: 300, now: () => 0 });
      const batch = decodeFirehoseRecords([delivered("here", flow(INSTANCE, ip(INSTANCE), ip(RDS), 40000, 5432)), delivered("there", flow(elsewhere, ip(INSTANCE), "52.217.44.20", 40001, 443))], FIELDS);
      const records = transformDecoded(batch, new FlowEnricher(await inventory.inventoryFor(batch.addresses, batch.interfaceIds))).records;
      const clients = records.map((r) => linesOf(r.data)[0].Client);
      expect(clients.map((c) => [c.InterfaceId, c.VpcId, c.Type])).toEqual([
        [INSTANCE.NetworkInterfaceId, INSTANCE.VpcId, "ec2:instance"],
        ["eni-0ffffffffffffffff", "vpc-0bbbbbbbbbbbbbbbb", "ec2:network-interface"],
      ]);
    } finally {
      sample.networkInterfaces.pop();
    }
  });

  it("puts an address from a prefix delegated to an ENI (an EKS pod's, in prefix mode) on that ENI's resource", async () => {
    INSTANCE.Ipv4Prefixes = [{ Ipv4Prefix: "10.0.200.16/28" }];
    try {
      const inventory = new LiveInventory(new EC2Client({}), { ttlSeconds: 300, now: () => 0 });
      const batch = decodeFirehoseRecords([delivered("pod", flow(INSTANCE, "10.0.200.20", "52.217.44.20", 40000, 443)), delivered("beside", flow(INSTANCE, "10.0.200.32", "52.217.44.20", 40001, 443))], FIELDS);
      const records = transformDecoded(batch, new FlowEnricher(await inventory.inventoryFor(batch.addresses, []))).records;
      expect(records.map((r) => linesOf(r.data)[0].Client)).toEqual([
        expect.objectContaining({ Addr: "10.0.200.20", Type: "ec2:instance", InterfaceId: INSTANCE.NetworkInterfaceId }),
        { Addr: "10.0.200.32", Port: 40001, Type: "unknown", Rfc1918: true },
      ]);
    } finally {
      delete INSTANCE.Ipv4Prefixes;
    }
  });

  it("keeps what it resolved across batches while EC2's answers stay the same, and resolves again once the TTL brings new ones", async () => {
    let now = 0;
    const inventory = new LiveInventory(new EC2Client({}), { ttlSeconds: 300, now: () => now });
    let enricher: FlowEnricher | undefined;
    const enrich = async () => {
      const batch = decodeFirehoseRecords([delivered("r", flow(INSTANCE, ip(INSTANCE), ip(RDS), 40000, 5432))], FIELDS);
      const known = await inventory.inventoryFor(batch.addresses, batch.interfaceIds);
      if (enricher) enricher.use(known);
      else enricher = new FlowEnricher(known);
      return { line: linesOf(transformDecoded(batch, enricher).records[0].data)[0], client: enricher.endpoint(ip(INSTANCE)), server: enricher.endpoint(ip(RDS)) };
    };
    const first = await enrich();
    expect(first.line.Client.Tags).toEqual({ app: "Storefront", Name: "node-0" });
    expect(first.line.Client.SecurityGroupRules).toEqual(["sg-0a1b2c3d4e5f6app0 outbound all traffic to 0.0.0.0/0"]);

    // EC2 now answers otherwise: the instance retagged, its group's outbound rule narrowed.
    const instanceAt = sample.instances.findIndex((i) => i.InstanceId === INSTANCE.Attachment!.InstanceId);
    const groupAt = sample.securityGroups.findIndex((g) => g.GroupId === "sg-0a1b2c3d4e5f6app0");
    const [instance, group] = [sample.instances[instanceAt], sample.securityGroups[groupAt]];
    try {
      sample.instances[instanceAt] = { ...instance, Tags: [{ Key: "app", Value: "Checkout" }] };
      sample.securityGroups[groupAt] = { ...group, IpPermissionsEgress: [{ IpProtocol: "tcp", FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: "10.1.0.0/16", Description: "databases" }] }] };
      // Within the TTL the answers kept are used, and so is what was resolved from them.
      now += 60_000;
      const cached = await enrich();
      expect(cached.line).toEqual(first.line);
      expect(cached.client).toBe(first.client);
      expect(cached.server).toBe(first.server);
      // Past it, the new answers are looked up and what depended on them resolved again; what did not change is kept.
      now += 300_000;
      const fresh = await enrich();
      expect(fresh.line.Client.Tags).toEqual({ app: "Checkout" });
      expect(fresh.line.Client.SecurityGroupRules).toEqual(['sg-0a1b2c3d4e5f6app0 outbound tcp 5432 to 10.1.0.0/16 "databases"']);
      expect(fresh.client).not.toBe(first.client);
      expect(fresh.line.Server).toEqual(first.line.Server);
      // A group's rules changed on their own (the ENI and instance answered the same) are seen too.
      sample.securityGroups[groupAt] = { ...group, IpPermissionsEgress: [{ IpProtocol: "tcp", FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: "10.1.0.7/32", Description: "orders db" }] }] };
      now += 301_000;
      expect((await enrich()).line.Client.SecurityGroupRules).toEqual(['sg-0a1b2c3d4e5f6app0 outbound tcp 5432 to 10.1.0.7/32 "orders db"']);
    } finally {
      sample.instances[instanceAt] = instance;
      sample.securityGroups[groupAt] = group;
    }
  });

  it("makes API calls that grow with distinct ENIs, not with records", async () => {
    const inventory = new LiveInventory(new EC2Client({}), { ttlSeconds: 300 });
    const enis = ENIS.slice(0, 100);
    const batchOf = (n: number) => Array.from({ length: n }, (_, i) => delivered(`r${i}`, flow(enis[i % 100], ip(enis[i % 100]), "52.217.44.20", 40000 + i, 443)));
    const small = decodeFirehoseRecords(batchOf(100), FIELDS);
    await inventory.inventoryFor(small.addresses, small.interfaceIds);
    const afterSmall = inventory.calls;
    const large = decodeFirehoseRecords(batchOf(5000), FIELDS);
    await inventory.inventoryFor(large.addresses, large.interfaceIds);
    expect(inventory.calls).toBe(afterSmall);
  });
});

it("sends only the requests its role's permission table declares", () => {
  const declared = declaredActionsOf("flowtap-flow-log-sg-enrichment");
  expect([...sentActions].filter((action) => !declared.has(action))).toEqual([]);
  expect(sentActions.size).toBeGreaterThan(0);
});
