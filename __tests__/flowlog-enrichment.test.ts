import type { NetworkInterface, SecurityGroup } from "@aws-sdk/client-ec2";
import { randomBytes } from "node:crypto";
import { copyFileSync, createReadStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable, Writable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { sqlString, withDuckDb } from "../cli/duckdb";
import { defaultThreads, inputBytes, runEnrich } from "../cli/enrich";
import { INVENTORY_FILES as INVENTORY_FILE_NAMES, loadInventory } from "../cli/inventory-files";
import { ParquetFlowLogFiles } from "../cli/parquet-flow-logs";
import { toAggregatedRecord, WindowAggregator, windowOf, type AggregatedRecord } from "../functions/lib/flowlogs/aggregate";
import { enricherOf, enrichRecord, Flow, FlowEnricher, FlowMerger, LATE_RUN_BEGINS_SERIES, toEnrichedRecord, type EnrichedRecord } from "../functions/lib/flowlogs/enrich";
import { DEFAULT_FORMAT } from "../functions/lib/flowlogs/fields";
import { parseLogFormat } from "../functions/lib/flowlogs/format";
import { AwsIpRanges, isPrivateAddress } from "../functions/lib/flowlogs/ip-ranges";
import { classifyInterface, Inventory, type Holder, type InventoryDocuments } from "../functions/lib/flowlogs/inventory";
import { parseRecord, slotsOf, type FlowLogRecord } from "../functions/lib/flowlogs/record";
import { duckDbRecordType, ENRICHED_COLUMNS } from "../functions/lib/flowlogs/schema";
import { writeParquetFlowLogs, writeSample } from "../samples/generate";
import { ACCEPTED } from "./helpers/documented-flow-logs";
import { sampleNetworkInterfaces, writeSampleInventory } from "./helpers/sample-inventory";
import { collect } from "./helpers/streams";

const SAMPLES = path.join(__dirname, "..", "samples");
const inventory = loadInventory([path.join(SAMPLES, "inventory")]);
const ACCOUNT = "123456789010";
// Addresses of the sample inventory (samples/generate.ts): one ENI of each kind, then instances.
const ALB = "10.0.0.4";
const NAT_PRIVATE = "10.1.0.5";
const NAT_EIP = "54.210.0.10";
const LAMBDA = "10.0.0.6";
const RDS = "10.1.0.7";
const CACHE = "10.0.0.8";
const EFS = "10.1.0.9";
const ENDPOINT = "10.0.0.10";
const TGW = "10.1.0.11";
const TASK = "10.0.0.12";
const WEB_INSTANCE = "10.0.0.16"; // i-...0c, security group web, us-east-1a
const APP_INSTANCE = "10.1.0.13"; // i-...09, security group app, us-east-1b

function record(line: string, format = DEFAULT_FORMAT): FlowLogRecord {
  const parsed = parseRecord(line, format);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.record;
}
const v2 = (eni: string, src: string, dst: string, sport: number | "-", dport: number | "-", protocol = 6, bytes = 1000, start = 1732204800) =>
  record(`2 ${ACCOUNT} ${eni} ${src} ${dst} ${sport} ${dport} ${protocol} 10 ${bytes} ${start} ${start + 60} ACCEPT OK`);
const eniOf = (address: string) => inventory.byAddress.get(address)!.interfaceId;
const flowOf = (r: FlowLogRecord): Flow => enricherOf(inventory).enrich(slotsOf(r));

/** All a stream's bytes, as text. */
async function textOf(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** Standard streams for runEnrich: nothing on stdin, stdout and stderr collected. */
const io = () => {
  const stdout = collect();
  const stderr = collect();
  return { io: { stdin: Readable.from([]), stdout: stdout.stream, stderr: stderr.stream }, out: stdout.text, err: stderr.text };
};

/** A merger whose output is collected, as enriched records. */
function mergerCollecting(horizonSeconds?: number) {
  const out: EnrichedRecord[] = [];
  const merger = new FlowMerger((flow) => out.push(toEnrichedRecord(flow)), horizonSeconds);
  return { merger, out, take: () => out.splice(0) };
}

describe("resolving addresses to what holds them", () => {
  it.each([
    [ALB, "elasticloadbalancing:loadbalancer", `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188`],
    [NAT_PRIVATE, "ec2:natgateway", `arn:aws:ec2:us-east-1:${ACCOUNT}:natgateway/nat-0a1b2c3d4e5f60001`],
    [LAMBDA, "lambda:function", `arn:aws:lambda:us-east-1:${ACCOUNT}:function:orders-api`],
    [RDS, "rds:db", undefined],
    [CACHE, "elasticache:cluster", `arn:aws:elasticache:us-east-1:${ACCOUNT}:cluster:sessions-001`],
    [EFS, "elasticfilesystem:file-system", `arn:aws:elasticfilesystem:us-east-1:${ACCOUNT}:file-system/fs-0a1b2c3d4e5f60001`],
    [ENDPOINT, "ec2:vpc-endpoint", `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc-endpoint/vpce-0a1b2c3d4e5f60001`],
    [TGW, "ec2:transit-gateway-attachment", `arn:aws:ec2:us-east-1:${ACCOUNT}:transit-gateway-attachment/tgw-attach-0a1b2c3d4e5f60001`],
    [TASK, "ecs:task", undefined],
    [WEB_INSTANCE, "ec2:instance", `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0000000000000000c`],
  ])("resolves %s to a %s with its ARN", (address, type, arn) => {
    const holder = inventory.byAddress.get(address);
    expect(holder?.type).toBe(type);
    expect(holder?.arn).toBe(arn);
  });

  it("takes tags from the owning resource, not the ENI: the instance's, or the tagging API's for its ARN", () => {
    expect(inventory.byAddress.get(WEB_INSTANCE)?.tags).toEqual({ app: "DataProcessor", Name: "node-3" });
    expect(inventory.byAddress.get(ALB)?.tags).toEqual({ app: "Storefront" });
  });

  it("treats a public address an ENI holds (an Elastic IP) as that resource, not as the internet", () => {
    const e = enrichRecord(v2(eniOf(NAT_PRIVATE), NAT_EIP, "198.51.100.7", 40000, 443), inventory);
    expect(e.Client).toMatchObject({ Addr: NAT_EIP, Type: "ec2:natgateway", Rfc1918: false });
  });

  it.each([
    ["52.217.44.20", { Type: "aws:service", AwsService: "S3", Region: "us-east-1" }],
    ["3.85.12.7", { Type: "aws:service", AwsService: "EC2" }],
    ["52.94.1.2", { Type: "aws:service", AwsService: "AMAZON" }],
    ["2600:1f18::10", { Type: "aws:service", AwsService: "EC2" }],
    ["198.51.100.7", { Type: "internet" }],
    ["10.9.9.9", { Type: "unknown", Rfc1918: true }],
  ])("classifies %s by AWS's published ranges, the most specific service first", (address, expected) => {
    const e = enrichRecord(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, address, 40000, 443), inventory);
    expect(e.Server).toMatchObject(expected);
  });

  it("matches the longest prefix, preferring a named service over AMAZON", () => {
    const ranges = new AwsIpRanges({
      prefixes: [
        { ip_prefix: "52.0.0.0/8", region: "us-east-1", service: "EC2" },
        { ip_prefix: "52.216.0.0/15", region: "us-west-2", service: "AMAZON" },
      ],
    });
    expect(ranges.lookup("52.216.1.1")).toEqual({ service: "EC2", region: "us-east-1" });
    expect(ranges.lookup("53.0.0.1")).toBeUndefined();
  });

  it("indexes a ranges document once, however many inventories are built from it (as a function does per batch)", () => {
    const document = { prefixes: [{ ip_prefix: "52.216.0.0/15", region: "us-east-1", service: "S3" }] };
    const [first, second] = [0, 1].map(() => new Inventory({ networkInterfaces: {}, ipRanges: document }));
    expect(second.ipRanges).toBe(first.ipRanges);
    expect(second.ipRanges?.lookup("52.217.44.20")).toEqual({ service: "S3", region: "us-east-1" });
    expect(new Inventory({ networkInterfaces: {}, ipRanges: { ...document } }).ipRanges).not.toBe(first.ipRanges);
  });

  it("keeps what it resolved from one inventory to the next only while the holders and security groups behind it are the same", () => {
    const group = (description: string): SecurityGroup => ({ GroupId: "sg-1", IpPermissionsEgress: [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0", Description: description }] }] });
    const holder = (tags: Record<string, string>): Holder => ({ type: "ec2:instance", interfaceId: "eni-1", securityGroupIds: ["sg-1"], tags });
    const inventoryOf = (g: SecurityGroup) => new Inventory({ networkInterfaces: {}, securityGroups: { SecurityGroups: [g] } });
    let holders = new Map([["10.0.0.1", holder({ app: "a" })]]);
    const firstGroup = group("first");
    const enricher = new FlowEnricher(inventoryOf(firstGroup), { holderAt: (address) => holders.get(address) });
    const client = () => enricher.enrich(slotsOf(record(`2 ${ACCOUNT} eni-1 10.0.0.1 198.51.100.7 40000 443 6 1 100 1732204800 1732204860 ACCEPT OK`))).client!;
    const first = client();
    expect(first.side.Tags).toEqual({ app: "a" });
    expect(first.rules?.admitting("outbound", 6, 443, enricher.endpoint("198.51.100.7")).rules).toEqual(['sg-1 outbound all traffic to 0.0.0.0/0 "first"']);

    // Another inventory of the same answers: the same endpoint.
    enricher.use(inventoryOf(firstGroup));
    expect(client()).toBe(first);
    // A group answered anew (its rules changed), then a holder made anew (its tags changed): resolved again.
    enricher.use(inventoryOf(group("second")));
    const second = client();
    expect(second).not.toBe(first);
    expect(second.rules?.admitting("outbound", 6, 443, enricher.endpoint("198.51.100.7")).rules).toEqual(['sg-1 outbound all traffic to 0.0.0.0/0 "second"']);
    holders = new Map([["10.0.0.1", holder({ app: "b" })]]);
    expect(client().side.Tags).toEqual({ app: "b" });
  });

  it("flags RFC 1918 and IPv6 unique-local addresses as private", () => {
    expect(["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1", "fd00::1"].map(isPrivateAddress)).toEqual([true, true, true, true, true]);
    expect(["172.32.0.1", "8.8.8.8", "2600:1f18::1"].map(isPrivateAddress)).toEqual([false, false, false]);
  });
});

describe("telling what an ENI belongs to", () => {
  const eni = (fields: Partial<NetworkInterface>): NetworkInterface => ({ NetworkInterfaceId: "eni-0a1b2c3d4e5f60001", OwnerId: ACCOUNT, AvailabilityZone: "us-east-1a", InterfaceType: "interface", ...fields });
  it.each([
    ["a Fargate task's", "ecs:task", { Description: "arn:aws:ecs:us-east-1:123456789010:attachment/6f4c9c2e-1a11-4bb3-8e0a-b7f5b5c29d1e", RequesterManaged: true }],
    ["an ECS task's on a trunked instance (a branch)", "ecs:task", { InterfaceType: "branch", Description: "arn:aws:ecs:us-east-1:123456789010:attachment/6f4c9c2e-1a11-4bb3-8e0a-b7f5b5c29d1e" }],
    ["an EKS pod's, with security groups for pods (a branch)", "ec2:network-interface", { InterfaceType: "branch", Description: "aws-k8s-branch-eni" }],
    ["an EKS node's trunk", "ec2:instance", { InterfaceType: "trunk", Description: "aws-k8s-trunk-eni", Attachment: { InstanceId: "i-0a1b2c3d4e5f60001" } }],
  ] as const)("takes %s ENI for %s", (_name, type, fields) => {
    expect(classifyInterface(eni(fields as Partial<NetworkInterface>)).type).toBe(type);
  });
});

describe("addresses that ENIs of several VPCs hold (overlapping ranges)", () => {
  // The sample's web instance, and an ENI of another account's VPC in another region that holds the same address.
  const docs = Object.fromEntries(
    Object.entries(INVENTORY_FILE_NAMES).map(([key, file]) => [key, JSON.parse(readFileSync(path.join(SAMPLES, "inventory", file), "utf8"))]),
  ) as unknown as InventoryDocuments;
  const web = docs.networkInterfaces.NetworkInterfaces!.find((eni) => eni.PrivateIpAddress === WEB_INSTANCE)!;
  const OTHER_ACCOUNT = "210987654321";
  const elsewhere = { ...web, NetworkInterfaceId: "eni-0ffffffffffffffff", OwnerId: OTHER_ACCOUNT, VpcId: "vpc-0bbbbbbbbbbbbbbbb", SubnetId: "subnet-0bbbbbbbbbbbbbbbb", AvailabilityZone: "eu-west-1a", Attachment: undefined, TagSet: [{ Key: "Name", Value: "elsewhere" }] };
  // The web ENI listed twice (the same inventory given twice) shares nothing with itself.
  const overlapping = new Inventory({ ...docs, networkInterfaces: { NetworkInterfaces: [...docs.networkInterfaces.NetworkInterfaces!, web, elsewhere] } });
  const clientOf = (line: string, format = DEFAULT_FORMAT) => new FlowEnricher(overlapping).enrich(slotsOf(record(line, format))).client!;

  it("holds them apart from the addresses one ENI holds", () => {
    expect(overlapping.byAddress.has(WEB_INSTANCE)).toBe(false);
    expect(overlapping.sharedAddresses.get(WEB_INSTANCE)?.map((h) => h.interfaceId)).toEqual([web.NetworkInterfaceId, "eni-0ffffffffffffffff"]);
    expect(overlapping.byAddress.get(APP_INSTANCE)?.interfaceId).toBe(eniOf(APP_INSTANCE));
  });

  it("resolves one to the holder where the flow was logged: its VPC, else its account and region, else its account, else its region", () => {
    const line = (account: string, eni: string) => `2 ${account} ${eni} ${WEB_INSTANCE} 52.217.44.20 40000 443 6 10 1000 1732204800 1732204860 ACCEPT OK`;
    // Logged by either ENI: its own VPC's.
    expect(clientOf(line(ACCOUNT, web.NetworkInterfaceId!))).toMatchObject({ interfaceId: web.NetworkInterfaceId, type: "ec2:instance" });
    expect(clientOf(line(OTHER_ACCOUNT, "eni-0ffffffffffffffff"))).toMatchObject({ interfaceId: "eni-0ffffffffffffffff", availabilityZone: "eu-west-1a" });
    // Logged by an ENI the inventory does not have: the account's.
    expect(clientOf(line(OTHER_ACCOUNT, "eni-0123456789abcdef0")).interfaceId).toBe("eni-0ffffffffffffffff");
    // By the record's own vpc-id and region (v3, v4), whatever its account says.
    const v4 = parseLogFormat("${account-id} ${interface-id} ${vpc-id} ${region} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start}");
    if (!v4.ok) throw new Error(v4.reason);
    expect(clientOf(`${ACCOUNT} eni-0123456789abcdef0 vpc-0bbbbbbbbbbbbbbbb - ${WEB_INSTANCE} 52.217.44.20 40000 443 6 1732204800`, v4.fields).interfaceId).toBe("eni-0ffffffffffffffff");
    expect(clientOf(`- eni-0123456789abcdef0 - eu-west-1 ${WEB_INSTANCE} 52.217.44.20 40000 443 6 1732204800`, v4.fields).interfaceId).toBe("eni-0ffffffffffffffff");
    // Nowhere either holder is: unknown, as an address no ENI holds.
    expect(clientOf(line("999999999999", "eni-0123456789abcdef0"))).toMatchObject({ type: "unknown", interfaceId: undefined });
  });

  it("resolves one by where each record was logged, on one thread or two, merging and windowing as any other", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flowtap-overlap-"));
    const inventoryDir = writeSampleInventory(path.join(dir, "inventory"), [...docs.networkInterfaces.NetworkInterfaces!, elsewhere]);
    const lines = Array.from({ length: 200 }, (_, i) => {
      const [account, eni] = i % 2 === 0 ? [ACCOUNT, web.NetworkInterfaceId!] : [OTHER_ACCOUNT, "eni-0ffffffffffffffff"];
      const start = 1732204800 + Math.floor(i / 2) * 10;
      return [
        `2 ${account} ${eni} ${WEB_INSTANCE} 52.217.44.20 ${40000 + i} 443 6 10 1000 ${start} ${start + 10} ACCEPT OK`,
        `2 ${account} ${eni} 52.217.44.20 ${WEB_INSTANCE} 443 ${40000 + i} 6 10 5000 ${start} ${start + 10} ACCEPT OK`,
      ].join("\n");
    });
    const file = path.join(dir, "flow-logs.log");
    writeFileSync(file, `${lines.join("\n")}\n`);
    for (const threads of [1, 2]) {
      const flows = io();
      expect(await runEnrich({ inventoryDirs: [inventoryDir], output: "jsonl", files: [file], threads }, flows.io)).toBe(0);
      const records = flows.out().trim().split("\n").map((l) => JSON.parse(l) as EnrichedRecord);
      expect(records).toHaveLength(200);
      expect(records.every((r) => r.Downloaded === 5000 && r.Client!.InterfaceId === r.InterfaceId)).toBe(true);
      const windows = io();
      expect(await runEnrich({ inventoryDirs: [inventoryDir], output: "jsonl", files: [file], threads, windowSeconds: 3600 }, windows.io)).toBe(0);
      const byClient = windows.out().trim().split("\n").map((l) => JSON.parse(l) as AggregatedRecord).map((w) => [w.Client!.InterfaceId, w.Flows]);
      expect(byClient.sort()).toEqual([[web.NetworkInterfaceId, 100], ["eni-0ffffffffffffffff", 100]].sort());
    }
    // Logged where neither holder is: unknown, and the summary says why.
    const nowhere = io();
    const stdin = Readable.from([`2 999999999999 eni-0123456789abcdef0 ${WEB_INSTANCE} 52.217.44.20 40000 443 6 10 1000 1732204800 1732204860 ACCEPT OK\n`]);
    expect(await runEnrich({ inventoryDirs: [inventoryDir], output: "jsonl", files: [] }, { ...nowhere.io, stdin })).toBe(0);
    expect(nowhere.err()).toContain("1 with an unknown private address (1 held by ENIs of several VPCs, none where the record was logged); 1 written");
  });
});

describe("addresses from prefixes delegated to an ENI (EKS's prefix mode)", () => {
  const docs = Object.fromEntries(
    Object.entries(INVENTORY_FILE_NAMES).map(([key, file]) => [key, JSON.parse(readFileSync(path.join(SAMPLES, "inventory", file), "utf8"))]),
  ) as unknown as InventoryDocuments;
  const web = docs.networkInterfaces.NetworkInterfaces!.find((eni) => eni.PrivateIpAddress === WEB_INSTANCE)!;
  // The node's ENI, given a /28 and a /80 to hand its pods addresses from.
  const node: NetworkInterface = { ...web, Ipv4Prefixes: [{ Ipv4Prefix: "10.0.3.16/28" }], Ipv6Prefixes: [{ Ipv6Prefix: "2600:1f18:abcd:1200:8a74::/80" }] };
  const others = docs.networkInterfaces.NetworkInterfaces!.filter((eni) => eni !== web);
  const clientOf = (inventoryOf: Inventory, src: string) => new FlowEnricher(inventoryOf).enrich(slotsOf(v2(web.NetworkInterfaceId!, src, "52.217.44.20", 40000, 443))).client!;

  it("resolves a pod's address to the ENI its prefix was delegated to, and nothing beside the prefix", () => {
    const delegated = new Inventory({ ...docs, networkInterfaces: { NetworkInterfaces: [...others, node] } });
    for (const pod of ["10.0.3.16", "10.0.3.20", "10.0.3.31", "2600:1f18:abcd:1200:8a74::5", "2600:1f18:abcd:1200:8a74:ffff:ffff:ffff"]) {
      expect(clientOf(delegated, pod)).toMatchObject({ address: pod, side: { Addr: pod, Type: "ec2:instance", InterfaceId: web.NetworkInterfaceId, Tags: inventory.byAddress.get(WEB_INSTANCE)!.tags } });
    }
    for (const outside of ["10.0.3.15", "10.0.3.32", "2600:1f18:abcd:1200:8a75::5"]) expect(clientOf(delegated, outside).interfaceId).toBeUndefined();
    // The node's own address still resolves as itself.
    expect(clientOf(delegated, WEB_INSTANCE).interfaceId).toBe(web.NetworkInterfaceId);
  });

  it("resolves a prefix ENIs of several VPCs were delegated by where the flow was logged", () => {
    const elsewhere: NetworkInterface = { ...node, NetworkInterfaceId: "eni-0ffffffffffffffff", PrivateIpAddress: "10.9.0.1", PrivateIpAddresses: [{ PrivateIpAddress: "10.9.0.1", Primary: true }], VpcId: "vpc-0bbbbbbbbbbbbbbbb", OwnerId: "210987654321" };
    const overlapping = new Inventory({ ...docs, networkInterfaces: { NetworkInterfaces: [...others, node, elsewhere] } });
    expect(clientOf(overlapping, "10.0.3.20").interfaceId).toBe(web.NetworkInterfaceId);
    expect(overlapping.holderFor("10.0.3.20", { vpcId: "vpc-0bbbbbbbbbbbbbbbb" })?.interfaceId).toBe("eni-0ffffffffffffffff");
  });
});

describe("orientation, merging and windows", () => {
  it("makes the side that sent SYN without ACK the client, whatever the ports", () => {
    const format = parseLogFormat("${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${bytes} ${start} ${tcp-flags}");
    if (!format.ok) throw new Error(format.reason);
    const synAck = record(`5 ${eniOf(WEB_INSTANCE)} ${WEB_INSTANCE} ${APP_INSTANCE} 80 50000 6 300 1732204800 18`, format.fields);
    expect(enrichRecord(synAck, inventory)).toMatchObject({ Client: { Addr: APP_INSTANCE, Port: 50000 }, Server: { Addr: WEB_INSTANCE, Port: 80 }, Uploaded: 0, Downloaded: 300 });
    const syn = record(`5 ${eniOf(WEB_INSTANCE)} ${WEB_INSTANCE} ${APP_INSTANCE} 50000 80 6 200 1732204800 2`, format.fields);
    expect(enrichRecord(syn, inventory)).toMatchObject({ Client: { Addr: WEB_INSTANCE }, Uploaded: 200 });
  });

  it("without flags, makes the side on a port below 1024, or one its security group admits, the server", () => {
    expect(enrichRecord(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, APP_INSTANCE, 443, 50000), inventory)).toMatchObject({ Server: { Addr: WEB_INSTANCE, Port: 443 } });
    // The app group admits 8080 from the web group: the app instance serves, though 8080 > the client's port.
    expect(enrichRecord(v2(eniOf(APP_INSTANCE), WEB_INSTANCE, APP_INSTANCE, 2000, 8080), inventory)).toMatchObject({ Server: { Addr: APP_INSTANCE, Port: 8080 } });
    expect(enrichRecord(v2(eniOf(APP_INSTANCE), APP_INSTANCE, WEB_INSTANCE, 8080, 2000), inventory)).toMatchObject({ Server: { Addr: APP_INSTANCE, Port: 8080 } });
    // Neither: the lower port serves.
    expect(enrichRecord(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, "198.51.100.7", 30000, 9000), inventory)).toMatchObject({ Server: { Port: 9000 } });
  });

  it("takes an ICMP record's source as the client and leaves ports out", () => {
    const e = enrichRecord(v2(eniOf(WEB_INSTANCE), "198.51.100.7", WEB_INSTANCE, 0, 0, 1), inventory);
    expect(e).toMatchObject({ Protocol: "icmp", Client: { Addr: "198.51.100.7" }, Server: { Addr: WEB_INSTANCE } });
    expect(e.Client).not.toHaveProperty("Port");
  });

  it("uses pkt-srcaddr/pkt-dstaddr when present, as the real ends behind a NAT gateway", () => {
    const format = parseLogFormat("${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${bytes} ${start} ${pkt-srcaddr} ${pkt-dstaddr}");
    if (!format.ok) throw new Error(format.reason);
    const r = record(`5 ${eniOf(NAT_PRIVATE)} ${NAT_PRIVATE} 52.217.44.20 40000 443 6 900 1732204800 ${WEB_INSTANCE} 52.217.44.20`, format.fields);
    expect(enrichRecord(r, inventory)).toMatchObject({ InterfaceId: eniOf(NAT_PRIVATE), Client: { Addr: WEB_INSTANCE, Type: "ec2:instance" }, Server: { AwsService: "S3" } });
  });

  it("merges a flow's two directions logged by one ENI into Uploaded and Downloaded", () => {
    const { merger, out } = mergerCollecting();
    merger.push(flowOf(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, "52.217.44.20", 40000, 443, 6, 4249)));
    merger.push(flowOf(v2(eniOf(WEB_INSTANCE), "52.217.44.20", WEB_INSTANCE, 443, 40000, 6, 332)));
    merger.flush();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ Uploaded: 4249, Downloaded: 332, Packets: 20 });
  });

  it("does not merge a record with a repeat of itself (a file read twice): only with its reverse", () => {
    const { merger, out } = mergerCollecting();
    const outbound = () => flowOf(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, "52.217.44.20", 40000, 443, 6, 4249));
    merger.push(outbound());
    merger.push(outbound());
    merger.push(flowOf(v2(eniOf(WEB_INSTANCE), "52.217.44.20", WEB_INSTANCE, 443, 40000, 6, 332)));
    merger.flush();
    expect(out.map((r) => [r.Uploaded, r.Downloaded])).toEqual([[4249, 332], [4249, 0]]);
  });

  it("merges a reverse with the earliest of two waiting repeats", () => {
    const { merger, out } = mergerCollecting(0);
    const outbound = (bytes: number) => flowOf(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, "52.217.44.20", 40000, 443, 6, bytes));
    merger.push(outbound(1));
    merger.push(outbound(2));
    merger.push(flowOf(v2(eniOf(WEB_INSTANCE), "52.217.44.20", WEB_INSTANCE, 443, 40000, 6, 10)));
    merger.flush();
    expect(out.map((r) => [r.Uploaded, r.Downloaded])).toEqual([[1, 10], [2, 0]]);
  });

  it("keeps the same flow logged by two ENIs as two records, each with its own InterfaceId", () => {
    const { merger, out } = mergerCollecting();
    merger.push(flowOf(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, APP_INSTANCE, 40000, 8080)));
    merger.push(flowOf(v2(eniOf(APP_INSTANCE), WEB_INSTANCE, APP_INSTANCE, 40000, 8080)));
    merger.flush();
    expect(out.map((r) => r.InterfaceId).sort()).toEqual([eniOf(WEB_INSTANCE), eniOf(APP_INSTANCE)].sort());
    expect(out.every((r) => r.Downloaded === 0)).toBe(true);
  });

  it("holds flows only within its horizon: earlier windows come out as time moves on, late records do not wait", () => {
    const { merger, take } = mergerCollecting(900);
    const at = (start: number, port: number) => flowOf(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, "52.217.44.20", port, 443, 6, 100, start));
    merger.push(at(1732204800, 40000));
    expect(take()).toEqual([]);
    // Half an hour later the first flow has no reverse coming: it goes out.
    merger.push(at(1732206600, 40001));
    expect(take()).toEqual([expect.objectContaining({ Start: 1732204800 })]);
    // A record from long before the horizon does not wait for its reverse: it goes out as soon as a record in time follows.
    merger.push(at(1732200000, 40002));
    merger.push(at(1732206610, 40003));
    expect(take()).toEqual([expect.objectContaining({ Start: 1732200000 })]);
    merger.flush();
    expect(take()).toEqual([expect.objectContaining({ Start: 1732206600 }), expect.objectContaining({ Start: 1732206610 })]);
  });

  it("starts its time again for input that goes back to begin another series, letting go of what waited", () => {
    let rewound = 0;
    const out: EnrichedRecord[] = [];
    const merger = new FlowMerger((flow) => out.push(toEnrichedRecord(flow)), 900, () => rewound++);
    const take = () => out.splice(0);
    const at = (start: number, port: number, outbound = true) =>
      flowOf(outbound ? v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, "52.217.44.20", port, 443, 6, 100, start) : v2(eniOf(WEB_INSTANCE), "52.217.44.20", WEB_INSTANCE, 443, port, 6, 200, start));
    merger.push(at(1732208400, 40000));
    // Within the horizon: nothing to do.
    merger.rewindIfBehind(1732207600);
    expect({ rewound, out: take() }).toEqual({ rewound: 0, out: [] });
    // An hour back: what waited goes out, and the new series merges rather than pass for late.
    merger.rewindIfBehind(1732204800);
    expect({ rewound, out: take() }).toEqual({ rewound: 1, out: [expect.objectContaining({ Start: 1732208400, Downloaded: 0 })] });
    merger.push(at(1732204800, 40001));
    merger.push(at(1732204800, 40001, false));
    expect(take()).toEqual([expect.objectContaining({ Start: 1732204800, Uploaded: 100, Downloaded: 200 })]);
  });

  it("takes a run of records older than its horizon for another series, in input that says nowhere where one begins, and a shorter run for late records", () => {
    const restarts: number[] = [];
    const out: EnrichedRecord[] = [];
    const merger = new FlowMerger((flow) => out.push(toEnrichedRecord(flow)), 900, () => restarts.push(out.length));
    const at = (start: number, port: number, outbound = true) =>
      flowOf(outbound ? v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, "52.217.44.20", port, 443, 6, 100, start) : v2(eniOf(WEB_INSTANCE), "52.217.44.20", WEB_INSTANCE, 443, port, 6, 200, start));
    const now = 1732208400;
    const hourBack = 1732204800;
    // A flow waits for its reverse; late records, fewer than a run, go by alone and let it wait on.
    merger.push(at(now, 40000));
    for (let i = 0; i < LATE_RUN_BEGINS_SERIES - 1; i++) merger.push(at(hourBack, 41000 + i));
    merger.push(at(now, 40000, false));
    expect(out).toHaveLength(LATE_RUN_BEGINS_SERIES);
    expect(out.filter((f) => f.Uploaded === 100 && f.Downloaded === 200)).toEqual([expect.objectContaining({ Start: now, Client: expect.objectContaining({ Port: 40000 }) })]);
    expect(restarts).toEqual([]);
    // A run as long as LATE_RUN_BEGINS_SERIES: what waited goes out, time starts again, and the run's flows merge.
    out.length = 0;
    merger.push(at(now, 40001));
    for (let i = 0; i < LATE_RUN_BEGINS_SERIES; i++) merger.push(at(hourBack, 42000 + (i >> 1), i % 2 === 0));
    expect(restarts).toEqual([1]);
    expect(out[0]).toMatchObject({ Start: now, Downloaded: 0 });
    merger.flush();
    expect(out.slice(1)).toHaveLength(LATE_RUN_BEGINS_SERIES / 2);
    expect(out.slice(1).every((f) => f.Start === hourBack && f.Uploaded === 100 && f.Downloaded === 200)).toBe(true);
  });

  it("merges as a model of its rules does, for any order of records, reverses, repeats, late arrivals and series going back", () => {
    // One ENI's flows to a few ports over a few capture windows; each record goes out or the way in.
    const recordArb = fc.record({ port: fc.integer({ min: 40000, max: 40003 }), window: fc.integer({ min: 0, max: 40 }), outbound: fc.boolean(), bytes: fc.integer({ min: 1, max: 1000 }) });
    // Stretches of input, each at its own time: one that goes back hours is late, record after record.
    const segmentArb = fc.record({ offset: fc.constantFrom(0, 200, 400), records: fc.array(recordArb, { maxLength: LATE_RUN_BEGINS_SERIES + 30, size: "max" }) });
    const inputArb = fc.array(segmentArb, { minLength: 1, maxLength: 3 }).map((segments) => segments.flatMap((s) => s.records.map((r) => ({ ...r, window: r.window + s.offset }))));
    fc.assert(
      fc.property(inputArb, fc.constantFrom(0, 300, 900), (records, horizon) => {
        const { merger, out } = mergerCollecting(horizon);
        const start = (window: number) => 1732204800 + window * 60;
        for (const r of records) {
          const line = r.outbound ? v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, "52.217.44.20", r.port, 443, 6, r.bytes, start(r.window)) : v2(eniOf(WEB_INSTANCE), "52.217.44.20", WEB_INSTANCE, 443, r.port, 6, r.bytes, start(r.window));
          merger.push(flowOf(line));
        }
        merger.flush();

        // The model: a record waits unless its reverse waits (then both go out as one), or it is later than the horizon.
        type Waiting = { port: number; window: number; outbound: boolean; uploaded: number; downloaded: number; done: boolean };
        const expected: { Start: number; Uploaded: number; Downloaded: number; Port: number }[] = [];
        const waiting: Waiting[] = [];
        const emit = (w: Waiting) => {
          w.done = true;
          expected.push({ Start: start(w.window), Uploaded: w.uploaded, Downloaded: w.downloaded, Port: w.port });
        };
        let latest = -Infinity;
        const place = (r: (typeof records)[number]) => {
          const reverse = waiting.find((w) => !w.done && w.port === r.port && w.window === r.window && w.outbound !== r.outbound);
          const up = r.outbound ? r.bytes : 0;
          const down = r.outbound ? 0 : r.bytes;
          if (reverse) {
            reverse.uploaded += up;
            reverse.downloaded += down;
            emit(reverse);
          } else if (start(r.window) < latest - horizon) emit({ ...r, uploaded: up, downloaded: down, done: false });
          else waiting.push({ ...r, uploaded: up, downloaded: down, done: false });
          if (start(r.window) > latest) {
            latest = start(r.window);
            // In arrival order, up to the first that is still within the horizon.
            for (const w of waiting) {
              if (w.done) continue;
              if (start(w.window) >= latest - horizon) break;
              emit(w);
            }
          }
        };
        // Records older than the horizon are held; as many as LATE_RUN_BEGINS_SERIES in a row begin a series.
        const run: (typeof records)[number][] = [];
        const placeRun = () => run.splice(0).forEach(place);
        for (const r of records) {
          if (start(r.window) >= latest - horizon) {
            placeRun();
            place(r);
            continue;
          }
          run.push(r);
          if (run.length < LATE_RUN_BEGINS_SERIES) continue;
          for (const w of waiting) if (!w.done) emit(w);
          latest = start(run[0].window);
          placeRun();
        }
        placeRun();
        for (const w of waiting) if (!w.done) emit(w);
        expect(out.map((f) => ({ Start: f.Start, Uploaded: f.Uploaded, Downloaded: f.Downloaded, Port: f.Client!.Port }))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("goes on merging after it has let go of the oldest of many waiting flows", () => {
    const { merger, out } = mergerCollecting(60);
    const outbound = flowOf(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, "52.217.44.20", 40000, 443, 6, 100));
    const inbound = flowOf(v2(eniOf(WEB_INSTANCE), "52.217.44.20", WEB_INSTANCE, 443, 40000, 6, 200));
    const at = (template: Flow, i: number) => Object.assign(new Flow(), template, { clientPort: 1024 + (i % 60000), start: 1732204800 + Math.floor(i / 1000) * 60 });
    // Every other flow's reverse comes at once; the rest wait until the horizon passes them, 70,000 in all.
    for (let i = 0; i < 140_000; i++) {
      merger.push(at(outbound, i));
      if (i % 2 === 0) merger.push(at(inbound, i));
    }
    merger.flush();
    expect(out).toHaveLength(140_000);
    expect(out.filter((f) => f.Downloaded === 200 && f.Uploaded === 100)).toHaveLength(70_000);
  });

  it("says CrossAz only when both sides have a zone", () => {
    expect(enrichRecord(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, APP_INSTANCE, 40000, 8080), inventory).CrossAz).toBe(true);
    expect(enrichRecord(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, "198.51.100.7", 40000, 443), inventory)).not.toHaveProperty("CrossAz");
  });

  it("admits IPv6 flows by the groups' IPv6 ranges, and not by their IPv4 ones", () => {
    const v6 = new Inventory({
      networkInterfaces: {
        NetworkInterfaces: [
          { NetworkInterfaceId: "eni-0c6c6c6c6c6c6c6c1", OwnerId: ACCOUNT, InterfaceType: "interface", AvailabilityZone: "us-east-1a", Ipv6Addresses: [{ Ipv6Address: "2600:1f18:1234:5600::10" }], Groups: [{ GroupId: "sg-0c6c6c6c6c6c6c6c1" }] },
        ],
      },
      securityGroups: {
        SecurityGroups: [
          {
            GroupId: "sg-0c6c6c6c6c6c6c6c1",
            IpPermissions: [
              { IpProtocol: "tcp", FromPort: 443, ToPort: 443, Ipv6Ranges: [{ CidrIpv6: "2001:db8::/32", Description: "partners" }] },
              { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
            ],
            IpPermissionsEgress: [],
          },
        ],
      },
    });
    const to = (src: string, port: number) => enrichRecord(v2("eni-0c6c6c6c6c6c6c6c1", src, "2600:1f18:1234:5600::10", 40000, port), v6).Server?.SecurityGroupRules;
    expect(to("2001:db8::7", 443)).toEqual(['sg-0c6c6c6c6c6c6c6c1 inbound tcp 443 from 2001:db8::/32 "partners"']);
    expect(to("2001:db9::7", 443)).toEqual([]);
    expect(to("2001:db8::7", 22)).toEqual([]);
  });

  describe("across accounts, where a zone name is another zone in each account", () => {
    const OTHER = "210987654321";
    const interfaceIn = (id: string, owner: string, address: string, subnet: string, zone: string, zoneId?: string): NetworkInterface => ({
      NetworkInterfaceId: id,
      OwnerId: owner,
      InterfaceType: "interface",
      PrivateIpAddress: address,
      SubnetId: subnet,
      AvailabilityZone: zone,
      ...(zoneId ? { AvailabilityZoneId: zoneId } : {}),
    });
    const crossAccount = new Inventory({
      networkInterfaces: {
        NetworkInterfaces: [
          interfaceIn("eni-0aaaaaaaaaaaaaaa1", ACCOUNT, "10.20.0.1", "subnet-0aaaaaaaaaaaaaaa1", "us-east-1a"),
          interfaceIn("eni-0bbbbbbbbbbbbbbb1", OTHER, "10.30.0.1", "subnet-0bbbbbbbbbbbbbbb1", "us-east-1a", "use1-az2"),
          interfaceIn("eni-0bbbbbbbbbbbbbbb2", OTHER, "10.30.0.2", "subnet-0bbbbbbbbbbbbbbb2", "us-east-1b", "use1-az1"),
          interfaceIn("eni-0bbbbbbbbbbbbbbb3", OTHER, "10.30.0.3", "subnet-0bbbbbbbbbbbbbbb3", "us-east-1a"),
          interfaceIn("eni-0aaaaaaaaaaaaaaa2", ACCOUNT, "10.20.0.2", "subnet-0aaaaaaaaaaaaaaa2", "us-east-1b"),
        ],
      },
      // The first ENI's zone id is its subnet's (describe-subnets says it; an ENI may not).
      subnets: { Subnets: [{ SubnetId: "subnet-0aaaaaaaaaaaaaaa1", AvailabilityZone: "us-east-1a", AvailabilityZoneId: "use1-az1" }] },
    });
    const format = parseLogFormat("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${az-id}");
    if (!format.ok) throw new Error(format.reason);
    const between = (logger: string, src: string, dst: string, azId = "-") =>
      enrichRecord(record(`2 ${ACCOUNT} ${logger} ${src} ${dst} 40000 443 6 10 1000 1732204800 1732204860 ACCEPT OK ${azId}`, format.fields), crossAccount);

    it("compares zone ids: the same name in two accounts can be two zones, two names one zone", () => {
      const sameName = between("eni-0aaaaaaaaaaaaaaa1", "10.20.0.1", "10.30.0.1");
      expect(sameName.Client).toMatchObject({ AvailabilityZone: "us-east-1a", AvailabilityZoneId: "use1-az1" });
      expect(sameName.Server).toMatchObject({ AvailabilityZone: "us-east-1a", AvailabilityZoneId: "use1-az2" });
      expect(sameName.CrossAz).toBe(true);
      expect(between("eni-0aaaaaaaaaaaaaaa1", "10.20.0.1", "10.30.0.2").CrossAz).toBe(false);
    });

    it("compares zone names only within one account, and says nothing when neither tells", () => {
      expect(between("eni-0aaaaaaaaaaaaaaa2", "10.20.0.2", "10.20.0.1").CrossAz).toBe(true);
      expect(between("eni-0bbbbbbbbbbbbbbb3", "10.30.0.3", "10.20.0.1")).not.toHaveProperty("CrossAz");
    });

    it("takes the logging ENI's zone id from the record's az-id when the inventory has none", () => {
      const logged = between("eni-0bbbbbbbbbbbbbbb3", "10.30.0.3", "10.20.0.1", "use1-az1");
      expect(logged.CrossAz).toBe(false);
      // The side shows what the inventory knows; the record's az-id is the logging ENI's, not the other end's.
      expect(logged.Client).not.toHaveProperty("AvailabilityZoneId");
      expect(between("eni-0aaaaaaaaaaaaaaa2", "10.20.0.2", "10.30.0.3", "use1-az3")).not.toHaveProperty("CrossAz");
    });
  });

  it("shows which security group rules admitted the flow on the side it reached: another group, a prefix list", () => {
    const fromAlb = enrichRecord(v2(eniOf(APP_INSTANCE), ALB, APP_INSTANCE, 40000, 8080), inventory);
    expect(fromAlb.Server?.SecurityGroupRules).toEqual(['sg-0a1b2c3d4e5f6app0 inbound tcp 8080 from sg-0a1b2c3d4e5f6web0 "from the load balancer"']);
    const ssh = enrichRecord(v2(eniOf(APP_INSTANCE), "203.0.113.9", APP_INSTANCE, 40000, 22), inventory);
    expect(ssh.Server?.SecurityGroupRules).toEqual(["sg-0a1b2c3d4e5f6app0 inbound tcp 22 from pl-0a1b2c3d4e5f60001 (corporate-vpn, may admit)"]);
    const denied = enrichRecord(v2(eniOf(RDS) ?? "", "198.51.100.7", RDS, 40000, 5432), inventory);
    expect(denied.Server?.SecurityGroupRules).toEqual([]);
  });

  it("keeps NODATA records, with what is known", () => {
    expect(enrichRecord(record(`2 ${ACCOUNT} eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA`), inventory)).toEqual({
      Version: 2, AccountId: ACCOUNT, InterfaceId: "eni-1235b8ca123456789", Start: 1431280876, End: 1431280934, LogStatus: "NODATA", Uploaded: 0, Downloaded: 0, Packets: 0,
    });
  });

  it("aggregates per window and (client, server, server port, protocol, action), saying the window", () => {
    const out: AggregatedRecord[] = [];
    const aggregator = new WindowAggregator(300, (total) => out.push(toAggregatedRecord(total)));
    for (const offset of [0, 60, 120]) aggregator.push(flowOf(v2(eniOf(WEB_INSTANCE), WEB_INSTANCE, "52.217.44.20", 40000 + offset, 443, 6, 100, 1732204800 + offset)));
    aggregator.flush();
    expect(out).toEqual([expect.objectContaining({ Window: { Start: 1732204800, End: 1732205100, Seconds: 300 }, Flows: 3, Uploaded: 300 })]);
    expect(out[0].Client).not.toHaveProperty("Port");
  });

  it("aggregates each flow into the window whose key the tumbling-window function gives it, summing what that key sums", () => {
    // Ends among the load balancer (two addresses, one resource), instances, S3 (two addresses) and the internet.
    const ends = [ALB, "10.0.1.4", WEB_INSTANCE, APP_INSTANCE, "52.217.44.20", "52.217.44.21", "198.51.100.7"];
    const flowArb = fc.record({
      client: fc.constantFrom(...ends), server: fc.constantFrom(...ends), serverPort: fc.constantFrom(22, 443, 8080), clientPort: fc.integer({ min: 40000, max: 40010 }),
      protocol: fc.constantFrom(6, 17), action: fc.constantFrom("ACCEPT", "REJECT"), minute: fc.integer({ min: 0, max: 30 }), bytes: fc.integer({ min: 1, max: 10_000 }),
    });
    fc.assert(
      fc.property(fc.array(flowArb, { maxLength: 60 }), (unordered) => {
        // In time order: a flow that comes after its window has closed is a window of its own, which grouping by key leaves out.
        const specs = [...unordered].sort((a, b) => a.minute - b.minute);
        const flows = specs.map((f) => flowOf(record(`2 ${ACCOUNT} ${eniOf(WEB_INSTANCE)} ${f.client} ${f.server} ${f.clientPort} ${f.serverPort} ${f.protocol} 1 ${f.bytes} ${1732204800 + f.minute * 60} ${1732204860 + f.minute * 60} ${f.action} OK`)));
        const out: AggregatedRecord[] = [];
        const aggregator = new WindowAggregator(300, (total) => out.push(toAggregatedRecord(total)));
        for (const flow of flows) aggregator.push(flow);
        aggregator.flush();
        const expected = new Map<string, { bytes: number; flows: number }>();
        for (const flow of flows) {
          const { key } = windowOf(flow, 300)!;
          const sum = expected.get(key) ?? { bytes: 0, flows: 0 };
          expected.set(key, { bytes: sum.bytes + flow.uploaded + flow.downloaded, flows: sum.flows + 1 });
        }
        expect(out).toHaveLength(expected.size);
        const aggregatedFlows = out.map((w) => flowOf(record(`2 ${ACCOUNT} ${eniOf(WEB_INSTANCE)} ${w.Client!.Addr} ${w.Server!.Addr} 40000 ${w.Server!.Port} ${w.Protocol === "tcp" ? 6 : 17} 1 1 ${w.Window.Start} ${w.Window.End} ${w.Action} OK`)));
        const actual = new Map(out.map((w, i) => [windowOf(aggregatedFlows[i], 300)!.key, { bytes: w.Uploaded + w.Downloaded, flows: w.Flows }]));
        expect(actual).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe("flowtap enrich", () => {

  it("enriches the sample flow logs with the sample inventory and sums up on stderr (on one thread: the input is small)", async () => {
    const t = io();
    const status = await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", files: [path.join(SAMPLES, "flow-logs.log.gz")] }, t.io);
    expect(status).toBe(0);
    const lines = t.out().trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.every((l) => l.Client && l.Server)).toBe(true);
    expect(t.err()).toMatch(/^flowtap enrich: 400 records read, 400 enriched, 0 without traffic \(NODATA\/SKIPDATA\), 0 malformed, 0 with an unknown private address; \d+ written\n$/);
  });

  it("loads DuckDB (80-200 ms of native library) only to read or write Parquet", async () => {
    let duckDbLoads = 0;
    const runWith = async (options: Omit<Parameters<typeof runEnrich>[0], "inventoryDirs" | "files">) => {
      let status = -1;
      await jest.isolateModulesAsync(async () => {
        jest.doMock("@duckdb/node-api", () => {
          duckDbLoads++;
          return jest.requireActual("@duckdb/node-api");
        });
        const isolated = jest.requireActual<typeof import("../cli/enrich")>("../cli/enrich");
        status = await isolated.runEnrich({ ...options, inventoryDirs: [path.join(SAMPLES, "inventory")], files: [path.join(SAMPLES, "flow-logs.log.gz")] }, io().io);
      });
      return status;
    };
    expect(await runWith({ output: "jsonl" })).toBe(0);
    expect(duckDbLoads).toBe(0);
    const out = path.join(mkdtempSync(path.join(tmpdir(), "flowtap-parquet-out-")), "enriched.parquet");
    expect(await runWith({ output: "parquet", outFile: out })).toBe(0);
    expect(duckDbLoads).toBe(1);
  });

  it("writes the same lines with worker threads as with one thread, and reports each malformed line once", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flowtap-threads-"));
    // Enough for each worker to post more chunks than it may have in flight.
    const generated = writeSample(dir, 300, 80_000, true);
    const extra = path.join(dir, "extra.log");
    writeFileSync(extra, `garbage line\n${ACCEPTED}\n`);
    const run = async (threads: number) => {
      const t = io();
      const files = [generated, path.join(SAMPLES, "flow-logs.log.gz"), extra];
      expect(await runEnrich({ inventoryDirs: [path.join(dir, "inventory")], output: "jsonl", files, threads }, t.io)).toBe(0);
      return { lines: t.out().trim().split("\n").sort(), err: t.err() };
    };
    const one = await run(1);
    const three = await run(3);
    expect(three.lines).toEqual(one.lines);
    expect(three.err).toBe(one.err.replace(/\n$/, " by 3 threads\n"));
    expect(three.err.match(/skipped/g)).toHaveLength(1);
    expect(three.err).toContain(`${extra}:1: skipped: expected 14 fields, found 2`);
  });

  it("aggregates windows on worker threads as on one thread: each window's key in one thread, whichever addresses its flows name", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flowtap-window-threads-"));
    const generated = writeSample(dir, 300, 20_000, true);
    // Every minute of a later day, one instance's flows to eight addresses of S3 (one resource in a window's key), both directions each.
    const day = 1732204800 + 86_400;
    const toS3 = path.join(dir, "s3.log");
    const lines = Array.from({ length: 10 * 8 }, (_, i) => {
      const [minute, host] = [Math.floor(i / 8), i % 8];
      const [start, s3, port] = [day + minute * 60, `52.217.44.${20 + host}`, 30000 + i];
      return [
        `2 ${ACCOUNT} ${eniOf(WEB_INSTANCE)} ${WEB_INSTANCE} ${s3} ${port} 443 6 10 1000 ${start} ${start + 60} ACCEPT OK`,
        `2 ${ACCOUNT} ${eniOf(WEB_INSTANCE)} ${s3} ${WEB_INSTANCE} 443 ${port} 6 10 5000 ${start} ${start + 60} ACCEPT OK`,
      ].join("\n");
    });
    writeFileSync(toS3, `garbage line\n${lines.join("\n")}\n`);
    const run = async (threads: number) => {
      const t = io();
      expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", windowSeconds: 60, files: [generated, toS3], threads }, t.io)).toBe(0);
      return { lines: t.out().trim().split("\n").sort(), err: t.err() };
    };
    const one = await run(1);
    const s3Windows = one.lines.map((line) => JSON.parse(line) as AggregatedRecord).filter((w) => w.Window.Start >= day);
    expect(s3Windows.map((w) => [w.Flows, w.Uploaded, w.Downloaded])).toEqual(Array.from({ length: 10 }, () => [8, 8000, 40000]));
    for (const threads of [2, 3]) {
      const more = await run(threads);
      expect(more.lines).toEqual(one.lines);
      expect(more.err).toBe(one.err.replace(/\n$/, ` by ${threads} threads\n`));
      expect(more.err.match(/skipped/g)).toHaveLength(1);
    }
  });

  it("reads a directory as every file beneath it, as aws s3 sync lays out the flow logs S3 delivery writes", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "flowtap-tree-"));
    const day = (d: string) => {
      const dir = path.join(root, "AWSLogs", ACCOUNT, "vpcflowlogs", "us-east-1", "2024", "11", d);
      mkdirSync(dir, { recursive: true });
      return dir;
    };
    const first = path.join(day("21"), `${ACCOUNT}_vpcflowlogs_us-east-1_fl-1234abcd_20241121T0000Z_3b6e4a1c.log.gz`);
    const second = path.join(day("22"), `${ACCOUNT}_vpcflowlogs_us-east-1_fl-1234abcd_20241122T0000Z_9f0c2d7e.log.gz`);
    copyFileSync(path.join(SAMPLES, "flow-logs.log.gz"), first);
    writeFileSync(second, gzipSync(`${ACCEPTED}\n`));
    writeFileSync(path.join(root, "AWSLogs", ".DS_Store"), randomBytes(64));
    const run = async (files: string[]) => {
      const t = io();
      expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", files }, t.io)).toBe(0);
      return { out: t.out(), err: t.err() };
    };
    const fromTree = await run([root]);
    expect(fromTree).toEqual(await run([first, second]));
    expect(fromTree.err).toMatch(/^flowtap enrich: 401 records read, .* 0 malformed/);
  });

  describe("Parquet flow logs, as S3 delivery writes them with FileFormat=parquet", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flowtap-parquet-logs-"));
    const nodata = `2 ${ACCOUNT} eni-00000000000000016 - - - - - - - 1732204800 1732204860 - NODATA`;
    const sampleLines = gunzipSync(readFileSync(path.join(SAMPLES, "flow-logs.log.gz"))).toString().trimEnd().split("\n");
    // A port out of range, which Parquet's INTEGER column holds but no flow log record can.
    const badPort = `2 ${ACCOUNT} eni-00000000000000016 ${WEB_INSTANCE} ${APP_INSTANCE} 70000 443 6 10 1000 1732204800 1732204860 ACCEPT OK`;
    const text = path.join(dir, "records.log");
    writeFileSync(text, `${[...sampleLines.slice(0, 150), badPort, ...sampleLines.slice(150), nodata].join("\n")}\n`);
    const parquet = path.join(dir, `${ACCOUNT}_vpcflowlogs_us-east-1_fl-1234abcd_20241121T0000Z_3b6e4a1c.log.parquet`);
    beforeAll(() => writeParquetFlowLogs(text, parquet, true));

    /** The sorted lines and the stderr of enriching `files` with the sample inventory. */
    const run = async (files: string[], threads: number) => {
      const t = io();
      expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", files, threads }, t.io)).toBe(0);
      return { lines: t.out().trim().split("\n").sort(), err: t.err() };
    };
    /** The same for one file, its name in stderr as FILE. */
    const runFile = async (file: string, threads: number) => {
      const result = await run([file], threads);
      return { ...result, err: result.err.replaceAll(file, "FILE") };
    };

    it("are enriched as the same records in text are, on one thread or two, a bad row reported on its line", async () => {
      const fromText = await runFile(text, 1);
      expect(fromText.err).toMatch(/^FILE:151: skipped: srcport 70000 is out of range \(0-65535\)\nflowtap enrich: 402 records read, 400 enriched, 1 without traffic \(NODATA\/SKIPDATA\), 1 malformed/);
      expect(await runFile(parquet, 1)).toEqual(fromText);
      expect(await runFile(parquet, 2)).toEqual({ ...fromText, err: fromText.err.replace(/written\n$/, "written by 2 threads\n") });
    });

    it("are read from standard input as from the file (copied to a file first, which is then removed)", async () => {
      const scratchDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith("flowtap-enrich-"));
      const before = scratchDirs();
      const t = io();
      expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", files: [] }, { ...t.io, stdin: createReadStream(parquet, { highWaterMark: 1000 }) })).toBe(0);
      const fromFile = await runFile(parquet, 1);
      expect({ lines: t.out().trim().split("\n").sort(), err: t.err().replaceAll("stdin", "FILE") }).toEqual(fromFile);
      expect(scratchDirs()).toEqual(before);
    });

    it("are read many files to a run, on one thread or two, as the same files in text are", async () => {
      const folders = { text: path.join(dir, "many-text"), parquet: path.join(dir, "many-parquet") };
      for (const folder of Object.values(folders)) mkdirSync(folder);
      const records = sampleLines.slice(1);
      for (let i = 0; i < 8; i++) {
        const part = path.join(folders.text, `${i}.log`);
        writeFileSync(part, `${records.filter((_, r) => r % 8 === i).join("\n")}\n`);
        await writeParquetFlowLogs(part, path.join(folders.parquet, `${i}.log.parquet`), false);
      }
      const fromText = await run([folders.text], 1);
      expect(fromText.err).toMatch(/^flowtap enrich: 400 records read, 400 enriched/);
      expect((await run([folders.parquet], 1)).lines).toEqual(fromText.lines);
      expect((await run([folders.parquet], 2)).lines).toEqual(fromText.lines);
    });

    it("are read many to a query, whatever columns each has and between text files, as the same files in text are", async () => {
      const folder = path.join(dir, "mixed");
      mkdirSync(folder);
      const records = sampleLines.slice(1);
      const header = DEFAULT_FORMAT.join(" ");
      const textFile = (name: string, lines: readonly string[], format = header) => {
        writeFileSync(path.join(folder, `${name}.log`), `${[format, ...lines].join("\n")}\n`);
        return path.join(folder, `${name}.log`);
      };
      // Default-format records as Parquet, then selected from with their row numbers.
      const parquetOf = async (name: string, lines: readonly string[], select = (rows: string) => `SELECT * EXCLUDE (file_row_number) FROM ${rows}`) => {
        const plain = path.join(folder, `${name}.default.parquet`);
        await writeParquetFlowLogs(textFile(`${name}.default`, lines), plain, true);
        await withDuckDb((connection) => connection.run(`COPY (${select(`read_parquet(${sqlString(plain)}, file_row_number = true)`)}) TO ${sqlString(path.join(folder, `${name}.parquet`))} (FORMAT parquet)`));
        return path.join(folder, `${name}.parquet`);
      };
      // c has two fields more than the others, set on every other row; in text its header names them.
      const extra = (i: number) => (i % 2 === 0 ? "ingress 1" : "- -");
      // A bad row in the last, reported on its own line of its own file.
      const parts = [records.slice(0, 100), records.slice(100, 200), records.slice(200, 300), [], [...records.slice(300, 350), badPort, ...records.slice(350)]];
      const text = [
        textFile("a", parts[0]),
        textFile("b", parts[1]),
        textFile("c", parts[2].map((r, i) => `${r} ${extra(i)}`), `${header} flow-direction traffic-path`),
        textFile("d", parts[3]),
        textFile("e", parts[4]),
      ];
      const mixed = [
        await parquetOf("a", parts[0]),
        text[1],
        await parquetOf("c", parts[2], (rows) =>
          `SELECT * EXCLUDE (file_row_number), CASE WHEN file_row_number % 2 = 0 THEN 'ingress' END AS flow_direction, CASE WHEN file_row_number % 2 = 0 THEN 1 END AS traffic_path FROM ${rows}`,
        ),
        await parquetOf("d", parts[3]),
        await parquetOf("e", parts[4]),
      ];
      const fromText = await run(text, 1);
      expect(fromText.err).toMatch(new RegExp(`^${path.join(folder, "e.log")}:52: skipped: srcport 70000 is out of range \\(0-65535\\)\nflowtap enrich: 401 records read, 400 enriched, .* 1 malformed`));
      // The extra fields count: flow-direction chooses the side whose rules are shown.
      expect((await run([...text.slice(0, 2), path.join(folder, "c.default.log"), ...text.slice(3)], 1)).lines).not.toEqual(fromText.lines);
      for (const threads of [1, 2]) {
        const fromMixed = await run(mixed, threads);
        expect({ ...fromMixed, err: fromMixed.err.replace("e.parquet", "e.log").replace(" by 2 threads", "") }).toEqual(fromText);
      }
    });

    it("merge with the other direction of their flows in text files, on one thread or two", async () => {
      const folder = path.join(dir, "split");
      mkdirSync(folder);
      // Every other record in each: most flows have one direction in text and the other in Parquet.
      const records = sampleLines.slice(1);
      const text = path.join(folder, "even.log");
      writeFileSync(text, `${records.filter((_, i) => i % 2 === 0).join("\n")}\n`);
      const odd = path.join(folder, "odd.log");
      writeFileSync(odd, `${records.filter((_, i) => i % 2 === 1).join("\n")}\n`);
      const parquet = path.join(folder, "odd.parquet");
      await writeParquetFlowLogs(odd, parquet, false);
      const fromText = (await run([text, odd], 1)).lines;
      expect(fromText.length).toBeLessThan(records.length * 0.6);
      expect((await run([text, parquet], 1)).lines).toEqual(fromText);
      expect((await run([text, parquet], 2)).lines).toEqual(fromText);
    });

    it("are read a partition at a time with every row in one partition on its own line, and progress adding up to the file", async () => {
      const partText = async (partition?: { index: number; count: number }) => {
        let told = 0;
        const read = await textOf(new ParquetFlowLogFiles([parquet]).text(0, (bytes) => (told += bytes), partition));
        expect(told).toBe(statSync(parquet).size);
        return read.split("\n");
      };
      const whole = await partText();
      expect(whole[0]).toBe(DEFAULT_FORMAT.join(" "));
      for (const count of [2, 3]) {
        const parts = await Promise.all(Array.from({ length: count }, (_, index) => partText({ index, count })));
        for (const part of parts) {
          expect(part[0]).toBe(whole[0]);
          // A partition's lines are the whole's, in place, or blank.
          part.forEach((line, i) => expect(line === "" || line === whole[i]).toBe(true));
          expect(part.filter((line) => line !== "").length).toBeLessThan(whole.length * 0.8);
        }
        whole.forEach((line, i) => i > 0 && line !== "" && expect(parts.filter((part) => part[i] === line)).toHaveLength(1));
      }
    });
  });

  it("reads both directions of a flow behind NAT (its pkt- addresses) from Parquet into one partition", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "flowtap-parquet-nat-")), "nat.parquet");
    // 300 flows, each in both directions, as the NAT gateway's ENI logs them: out from its private address, back to the instance behind it.
    await withDuckDb((connection) =>
      connection.run(
        `COPY (SELECT 5 AS version, 'eni-0000000000000000' || (i % 3) AS interface_id, flow.srcaddr, flow.dstaddr, flow.pkt_srcaddr, flow.pkt_dstaddr, 1732204800 AS start, 1732204860 AS "end"
           FROM range(300) AS t(i), LATERAL (VALUES
             ('10.1.0.5', '52.94.' || (i // 250) || '.' || (i % 250), '10.0.' || (i % 7) || '.' || (i % 200 + 16), '52.94.' || (i // 250) || '.' || (i % 250)),
             ('52.94.' || (i // 250) || '.' || (i % 250), '10.0.' || (i % 7) || '.' || (i % 200 + 16), '52.94.' || (i // 250) || '.' || (i % 250), '10.0.' || (i % 7) || '.' || (i % 200 + 16))
           ) AS flow(srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr)) TO ${sqlString(file)} (FORMAT parquet)`,
      ),
    );
    // The flow of a line: its ENI and its two real ends (version interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr ...).
    const flowOfLine = (line: string) => {
      const [, eni, , , pktSrc, pktDst] = line.split(" ");
      return [eni, ...[pktSrc, pktDst].sort()].join(" ");
    };
    const partitions = new Map<string, Set<number>>();
    for (let index = 0; index < 2; index++) {
      const lines = (await textOf(new ParquetFlowLogFiles([file]).text(0, undefined, { index, count: 2 }))).split("\n").slice(1);
      for (const line of lines.filter((l) => l !== "")) partitions.set(flowOfLine(line), (partitions.get(flowOfLine(line)) ?? new Set()).add(index));
    }
    expect(partitions.size).toBe(300);
    expect([...partitions.values()].every((p) => p.size === 1)).toBe(true);
    expect(new Set([...partitions.values()].map((p) => [...p][0]))).toEqual(new Set([0, 1]));
  });

  it("spreads the flows of one busy pair of addresses over the partitions of Parquet by their ports, both directions of each in one", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "flowtap-parquet-pair-")), "pair.parquet");
    // An application's 200 connections to its database, each in both directions.
    await withDuckDb((connection) =>
      connection.run(
        `COPY (SELECT 2 AS version, 'eni-00000000000000016' AS interface_id, flow.* FROM range(200) AS t(i), LATERAL (VALUES
             ('10.0.0.4', '10.0.0.26', (32768 + i)::INTEGER, 5432),
             ('10.0.0.26', '10.0.0.4', 5432, (32768 + i)::INTEGER)
           ) AS flow(srcaddr, dstaddr, srcport, dstport)) TO ${sqlString(file)} (FORMAT parquet)`,
      ),
    );
    const clientPorts = await Promise.all(
      [0, 1].map(async (index) => {
        const lines = (await textOf(new ParquetFlowLogFiles([file]).text(0, undefined, { index, count: 2 }))).split("\n").slice(1).filter((l) => l !== "");
        return lines.map((line) => Math.max(...line.split(" ").slice(4, 6).map(Number)));
      }),
    );
    expect(clientPorts.flat()).toHaveLength(400);
    for (const ports of clientPorts) {
      expect(ports.length).toBeGreaterThan(100);
      // Both directions of each connection in this partition.
      for (const port of new Set(ports)) expect(ports.filter((p) => p === port)).toHaveLength(2);
    }
  });

  it("reads more Parquet files than one query takes, each file its own rows", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flowtap-parquet-many-"));
    const count = 1001;
    // A file per row, the row's source port its file's number.
    await withDuckDb((connection) =>
      connection.run(
        `COPY (SELECT 2 AS version, 'eni-00000000000000016' AS interface_id, '10.0.0.4' AS srcaddr, '10.0.0.26' AS dstaddr, i::INTEGER AS srcport, 443 AS dstport, i AS part FROM range(${count}) AS t(i))
         TO ${sqlString(dir)} (FORMAT parquet, PARTITION_BY (part))`,
      ),
    );
    const files = Array.from({ length: count }, (_, i) => {
      const folder = path.join(dir, `part=${i}`);
      return path.join(folder, readdirSync(folder)[0]);
    });
    const reader = new ParquetFlowLogFiles(files);
    const texts: string[] = [];
    for (let i = 0; i < count; i++) texts.push(await textOf(reader.text(i)));
    expect(texts).toEqual(Array.from({ length: count }, (_, i) => `version interface-id srcaddr dstaddr srcport dstport\n2 eni-00000000000000016 10.0.0.4 10.0.0.26 ${i} 443\n`));
    // Files read together are read in their order: one out of it fails rather than take another's rows.
    await expect(textOf(new ParquetFlowLogFiles(files.slice(0, 2)).text(1))).rejects.toThrow(`${files[1]}: Parquet files read together are read in order: file 1 was opened when file 0 was next`);
  });

  it("refuses Parquet that holds no flow log field, naming its columns", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "flowtap-not-logs-")), "enriched.parquet");
    await withDuckDb((connection) => connection.run(`COPY (SELECT 'tcp' AS "Protocol", 2 AS "Version") TO ${sqlString(file)} (FORMAT parquet)`));
    await expect(runEnrich({ output: "jsonl", files: [file] }, io().io)).rejects.toThrow(`${file}: Parquet with no VPC flow log column (its columns: Protocol, Version)`);
  });

  it("names a path it cannot read, rather than reading standard input instead", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "flowtap-empty-"));
    writeFileSync(path.join(empty, ".hidden"), ACCEPTED);
    for (const [files, reason] of [
      [[path.join(empty, "missing.log")], `${path.join(empty, "missing.log")}: no such file or directory`],
      [[empty], `${empty}: a directory with no files beneath it`],
    ] as const) {
      const t = io();
      const status = await runEnrich({ output: "jsonl", files }, { ...t.io, stdin: Readable.from([`${ACCEPTED}\n`]) });
      expect({ status, err: t.err(), out: t.out() }).toEqual({ status: 2, err: `flowtap enrich: ${reason}\n`, out: "" });
    }
  });

  it("names a gzip file cut short, small or large, whatever the number of threads", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flowtap-cut-short-"));
    const small = path.join(dir, "small.log.gz");
    writeFileSync(small, readFileSync(path.join(SAMPLES, "flow-logs.log.gz")).subarray(0, 2000));
    // Random hex hardly compresses: more than the 1 MiB read at once, so it is read as a stream.
    const large = path.join(dir, "large.log.gz");
    const noise = randomBytes(1_500_000).toString("hex").replace(/(.{100})/g, "$1\n");
    const zipped = gzipSync(noise);
    expect(zipped.length).toBeGreaterThan(1.2 * (1 << 20));
    writeFileSync(large, zipped.subarray(0, zipped.length - 1000));
    for (const file of [small, large]) {
      for (const threads of [1, 2]) {
        await expect(runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", files: [file], threads }, io().io)).rejects.toThrow(`${file}: unexpected end of file (gzip data)`);
      }
    }
  });

  it("fails, rather than waits, when gzip'd input fails while it is read", async () => {
    const failing = new Readable({ read() {} });
    failing.push(gzipSync(`${ACCEPTED}\n`.repeat(1000)).subarray(0, 100));
    setImmediate(() => failing.destroy(new Error("connection reset by peer")));
    await expect(runEnrich({ output: "jsonl", files: [] }, { ...io().io, stdin: failing })).rejects.toThrow("connection reset by peer");
  });

  it("reads a small gzip file that unzips to too much to hold at once as it unzips", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "flowtap-unzips-large-")), "one-long-line.gz");
    writeFileSync(file, gzipSync(Buffer.alloc(65 << 20, "x")));
    expect(statSync(file).size).toBeLessThan(1 << 20);
    const t = io();
    expect(await runEnrich({ output: "jsonl", files: [file] }, t.io)).toBe(1);
    expect(t.err()).toContain(`${file}:1: skipped: line longer than 16777216 bytes`);
  });

  it("aggregates flows whose reverse never comes into their windows, beside flows that merged at once", async () => {
    // 40 minutes: every 10 s a rejected probe (one direction, so it waits out the merger's horizon) and an accepted flow in both directions.
    const lines = Array.from({ length: 240 }, (_, i) => {
      const [start, end] = [1732204800 + i * 10, 1732204810 + i * 10];
      return [
        `2 ${ACCOUNT} ${eniOf(WEB_INSTANCE)} ${ALB} ${WEB_INSTANCE} ${40000 + i} 22 6 1 60 ${start} ${end} REJECT OK`,
        `2 ${ACCOUNT} ${eniOf(WEB_INSTANCE)} ${WEB_INSTANCE} 52.217.44.20 ${30000 + i} 443 6 10 1000 ${start} ${end} ACCEPT OK`,
        `2 ${ACCOUNT} ${eniOf(WEB_INSTANCE)} 52.217.44.20 ${WEB_INSTANCE} 443 ${30000 + i} 6 10 5000 ${start} ${end} ACCEPT OK`,
      ].join("\n");
    });
    const t = io();
    expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", windowSeconds: 60, files: [] }, { ...t.io, stdin: Readable.from([`${lines.join("\n")}\n`]) })).toBe(0);
    const records = t.out().trim().split("\n").map((line) => JSON.parse(line) as AggregatedRecord);
    for (const action of ["ACCEPT", "REJECT"]) {
      const windows = records.filter((r) => r.Action === action);
      expect(windows.map((r) => r.Window.Start).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => 1732204800 + i * 60));
      expect(windows.every((r) => r.Flows === 6)).toBe(true);
    }
  });

  it("says how many records no window could hold (no start time, or not both addresses), rather than leave them out unsaid", async () => {
    // A format without `start`: the records are enriched, but fall in no window.
    const lines = [`${WEB_INSTANCE} 52.217.44.20 40000 443 6 1000`, `52.217.44.20 ${WEB_INSTANCE} 443 40000 6 5000`];
    const t = io();
    const stdin = Readable.from([`${lines.join("\n")}\n`]);
    expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", windowSeconds: 60, format: "${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${bytes}", files: [] }, { ...t.io, stdin })).toBe(0);
    expect(t.out()).toBe("");
    expect(t.err()).toMatch(/2 records read, 2 enriched, .*; 0 written \(60-second windows; 2 without a start time or both addresses, which no window holds\)\n$/);

    // NODATA has no addresses: said the same way, beside the windows of the flows that have them.
    const withNodata = io();
    const nodata = `2 ${ACCOUNT} ${eniOf(WEB_INSTANCE)} - - - - - - - 1732204800 1732204860 - NODATA`;
    const flow = `2 ${ACCOUNT} ${eniOf(WEB_INSTANCE)} ${WEB_INSTANCE} 52.217.44.20 40000 443 6 10 1000 1732204800 1732204860 ACCEPT OK`;
    expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", windowSeconds: 60, files: [] }, { ...withNodata.io, stdin: Readable.from([`${nodata}\n${flow}\n`]) })).toBe(0);
    expect(withNodata.out().trim().split("\n")).toHaveLength(1);
    expect(withNodata.err()).toMatch(/1 without traffic \(NODATA\/SKIPDATA\), .*; 1 written \(60-second windows; 1 without a start time or both addresses, which no window holds\)\n$/);
  });

  it("merges and aggregates files that each go back in time, as another flow log's files or another log stream's export do", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flowtap-series-"));
    // Two ENIs' flow logs over the same hour, one file each: every 10 s a flow, in both directions.
    const files = [WEB_INSTANCE, APP_INSTANCE].map((address, n) => {
      const lines = Array.from({ length: 360 }, (_, i) => {
        const [start, end] = [1732204800 + i * 10, 1732204810 + i * 10];
        return [
          `2 ${ACCOUNT} ${eniOf(address)} ${address} 52.217.44.20 ${30000 + i} 443 6 10 1000 ${start} ${end} ACCEPT OK`,
          `2 ${ACCOUNT} ${eniOf(address)} 52.217.44.20 ${address} 443 ${30000 + i} 6 10 5000 ${start} ${end} ACCEPT OK`,
        ].join("\n");
      });
      const file = path.join(dir, `${n}.log`);
      writeFileSync(file, `${lines.join("\n")}\n`);
      return file;
    });
    const run = async (threads: number, windowSeconds?: number) => {
      const t = io();
      expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", files, threads, windowSeconds }, t.io)).toBe(0);
      return t.out().trim().split("\n").map((line) => JSON.parse(line) as AggregatedRecord);
    };
    for (const threads of [1, 2]) {
      const flows = await run(threads);
      expect(flows).toHaveLength(720);
      expect(flows.every((f) => f.Uploaded === 1000 && f.Downloaded === 5000)).toBe(true);
    }
    // A window of each file's hour, each minute's six flows in one record per file.
    for (const threads of [1, 2]) {
      const windows = await run(threads, 60);
      expect(windows).toHaveLength(120);
      expect(windows.every((w) => w.Flows === 6)).toBe(true);
    }
  });

  it("reads S3 files concatenated into one stream (zcat), each by its own header, each merging though it goes back in time", async () => {
    const header = DEFAULT_FORMAT.join(" ");
    // The second flow log's format has its last two fields the other way round.
    const swapped = [...DEFAULT_FORMAT.slice(0, -2), "log-status", "action"].join(" ");
    const file = (address: string, format: "default" | "swapped") =>
      Array.from({ length: 360 }, (_, i) => {
        const start = 1732204800 + i * 10;
        const ends = (tail: string) => (format === "default" ? tail : tail.split(" ").reverse().join(" "));
        return [
          `2 ${ACCOUNT} ${eniOf(address)} ${address} 52.217.44.20 ${30000 + i} 443 6 10 1000 ${start} ${start + 10} ${ends("ACCEPT OK")}`,
          `2 ${ACCOUNT} ${eniOf(address)} 52.217.44.20 ${address} 443 ${30000 + i} 6 10 5000 ${start} ${start + 10} ${ends("ACCEPT OK")}`,
        ].join("\n");
      });
    const stream = [header, ...file(WEB_INSTANCE, "default"), swapped, ...file(APP_INSTANCE, "swapped"), `2 ${ACCOUNT} bad`].join("\n");
    const t = io();
    expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", files: [] }, { ...t.io, stdin: Readable.from([gzipSync(`${stream}\n`)]) })).toBe(0);
    const flows = t.out().trim().split("\n").map((line) => JSON.parse(line) as EnrichedRecord);
    expect(flows).toHaveLength(720);
    expect(flows.every((f) => f.Action === "ACCEPT" && f.LogStatus === "OK" && f.Uploaded === 1000 && f.Downloaded === 5000)).toBe(true);
    expect(t.err()).toMatch(/^stdin:1443: skipped: expected 14 fields, found 3\nflowtap enrich: 1441 records read, 1440 enriched, .* 1 malformed/);
  });

  it("reads aws logs get-log-events answers for one log stream after another, each merging and aggregating though it goes back in time", async () => {
    // CloudWatch Logs keeps a stream per ENI, and get-log-events reads one stream: a loop over them prints one document each.
    const document = (address: string) => ({
      events: Array.from({ length: 360 }, (_, i) => {
        const start = 1732204800 + i * 10;
        return [
          `2 ${ACCOUNT} ${eniOf(address)} ${address} 52.217.44.20 ${30000 + i} 443 6 10 1000 ${start} ${start + 10} ACCEPT OK`,
          `2 ${ACCOUNT} ${eniOf(address)} 52.217.44.20 ${address} 443 ${30000 + i} 6 10 5000 ${start} ${start + 10} ACCEPT OK`,
        ].map((message) => ({ timestamp: start * 1000, message, ingestionTime: (start + 300) * 1000 }));
      }).flat(),
      nextForwardToken: "f/1",
      nextBackwardToken: "b/1",
    });
    const documents = [WEB_INSTANCE, APP_INSTANCE].map(document);
    // As the AWS CLI prints them, and one to a line (jq -c).
    for (const stdin of [documents.map((d) => JSON.stringify(d, null, 4)).join("\n"), documents.map((d) => JSON.stringify(d)).join("\n")]) {
      const flows = io();
      expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", files: [] }, { ...flows.io, stdin: Readable.from([`${stdin}\n`]) })).toBe(0);
      const lines = flows.out().trim().split("\n").map((line) => JSON.parse(line) as EnrichedRecord);
      expect(lines).toHaveLength(720);
      expect(lines.every((f) => f.Uploaded === 1000 && f.Downloaded === 5000)).toBe(true);
      const windows = io();
      expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", windowSeconds: 60, files: [] }, { ...windows.io, stdin: Readable.from([`${stdin}\n`]) })).toBe(0);
      const aggregates = windows.out().trim().split("\n").map((line) => JSON.parse(line) as AggregatedRecord);
      expect(aggregates).toHaveLength(120);
      expect(aggregates.every((w) => w.Flows === 6)).toBe(true);
    }
  });

  it("merges and aggregates log streams put together with nothing between them (zcat of an export's objects), each though it goes back in time", async () => {
    // A CloudWatch Logs export writes an object per log stream, one ENI's each, every event after its timestamp.
    const stream = (address: string) =>
      Array.from({ length: 360 }, (_, i) => {
        const start = 1732204800 + i * 10;
        const timestamp = new Date(start * 1000).toISOString();
        return [
          `${timestamp} 2 ${ACCOUNT} ${eniOf(address)} ${address} 52.217.44.20 ${30000 + i} 443 6 10 1000 ${start} ${start + 10} ACCEPT OK`,
          `${timestamp} 2 ${ACCOUNT} ${eniOf(address)} 52.217.44.20 ${address} 443 ${30000 + i} 6 10 5000 ${start} ${start + 10} ACCEPT OK`,
        ].join("\n");
      }).join("\n");
    const file = path.join(mkdtempSync(path.join(tmpdir(), "flowtap-streams-")), "streams.log.gz");
    writeFileSync(file, gzipSync(`${stream(WEB_INSTANCE)}\n${stream(APP_INSTANCE)}\n`));
    for (const threads of [1, 2]) {
      const flows = io();
      expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", files: [file], threads }, flows.io)).toBe(0);
      const lines = flows.out().trim().split("\n").map((line) => JSON.parse(line) as EnrichedRecord);
      expect(lines).toHaveLength(720);
      expect(lines.every((f) => f.Uploaded === 1000 && f.Downloaded === 5000)).toBe(true);
      const windows = io();
      expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", windowSeconds: 60, files: [file], threads }, windows.io)).toBe(0);
      const aggregates = windows.out().trim().split("\n").map((line) => JSON.parse(line) as AggregatedRecord);
      expect(aggregates).toHaveLength(120);
      expect(aggregates.every((w) => w.Flows === 6)).toBe(true);
    }
  });

  it("aggregates the windows of a bucket's flow logs as one stream in time, their files read in the order of the time in their names", async () => {
    // Two flow logs (a VPC's and a subnet's, say) that both log one ENI: an hour each, a file per 5 minutes, a flow every 10 s.
    const root = mkdtempSync(path.join(tmpdir(), "flowtap-s3-tree-"));
    const day = path.join(root, "AWSLogs", ACCOUNT, "vpcflowlogs", "us-east-1", "2024", "11", "21");
    mkdirSync(day, { recursive: true });
    for (const flowLog of ["fl-0a1b2c3d", "fl-9f8e7d6c"]) {
      for (let file = 0; file < 12; file++) {
        const lines = Array.from({ length: 30 }, (_, i) => {
          const start = 1732147200 + file * 300 + i * 10;
          return `2 ${ACCOUNT} ${eniOf(WEB_INSTANCE)} ${WEB_INSTANCE} 52.217.44.20 ${30000 + file * 30 + i} 443 6 10 1000 ${start} ${start + 10} ACCEPT OK`;
        });
        const time = `${String(Math.floor(((file + 1) * 5) / 60)).padStart(2, "0")}${String(((file + 1) * 5) % 60).padStart(2, "0")}`;
        writeFileSync(path.join(day, `${ACCOUNT}_vpcflowlogs_us-east-1_${flowLog}_20241121T${time}Z_3b6e4a1c.log.gz`), gzipSync(`${lines.join("\n")}\n`));
      }
    }
    const t = io();
    expect(await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", windowSeconds: 60, files: [root] }, t.io)).toBe(0);
    const windows = t.out().trim().split("\n").map((line) => JSON.parse(line) as AggregatedRecord);
    // Each minute once, with both flow logs' six flows.
    expect(windows).toHaveLength(60);
    expect(windows.every((w) => w.Flows === 12)).toBe(true);
  });

  it("refuses an output it could not write before reading any input", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flowtap-out-"));
    const file = path.join(dir, "file");
    writeFileSync(file, "");
    for (const [output, outFile, reason] of [
      ["parquet", undefined, "--output parquet needs --out FILE"],
      ["parquet", path.join(dir, "missing", "enriched.parquet"), `--out ${path.join(dir, "missing", "enriched.parquet")}: ${path.join(dir, "missing")} is not a directory`],
      ["jsonl", path.join(file, "enriched.jsonl"), `--out ${path.join(file, "enriched.jsonl")}: ${file} is not a directory`],
      ["jsonl", dir, `--out ${dir}: a directory, not a file`],
    ] as const) {
      const t = io();
      const status = await runEnrich({ output, outFile, files: [path.join(SAMPLES, "flow-logs.log.gz")] }, t.io);
      expect({ status, err: t.err(), out: t.out() }).toEqual({ status: 2, err: `flowtap enrich: ${reason}\n`, out: "" });
    }
  });

  it("takes one thread more per 64 MiB of input by default, up to the CPUs", () => {
    const MiB = 1 << 20;
    expect([0, 63 * MiB, 64 * MiB, 127 * MiB, 128 * MiB, 10_000 * MiB].map((bytes) => defaultThreads(bytes, 2))).toEqual([1, 1, 2, 2, 2, 2]);
    expect(defaultThreads(128 * MiB, 4)).toBe(3);
    expect(defaultThreads(10_000 * MiB, 1)).toBe(1);
  });

  it("weighs gzip'd input by its size unzipped (never less than the file), Parquet by its rows as lines of text", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flowtap-input-bytes-"));
    const text = `${ACCEPTED}\n`.repeat(10_000);
    const file = (name: string, bytes: Uint8Array) => {
      writeFileSync(path.join(dir, name), bytes);
      return path.join(dir, name);
    };
    const plain = file("plain.log", Buffer.from(text));
    expect(await inputBytes([plain])).toBe(Buffer.byteLength(text));
    expect(await inputBytes([file("text.log.gz", gzipSync(text))])).toBe(Buffer.byteLength(text));
    // Two members: the trailer tells only the last one's size.
    const twoMembers = file("two.log.gz", Buffer.concat([gzipSync(text), gzipSync(text)]));
    expect(await inputBytes([twoMembers])).toBe(Buffer.byteLength(text));
    // Random bytes do not compress: the file is larger than its content.
    const noise = file("noise.gz", gzipSync(randomBytes(1000)));
    expect(await inputBytes([noise])).toBe(statSync(noise).size);
    expect(await inputBytes([file("tiny.log", Buffer.from([0x1f, 0x8b]))])).toBe(2);

    const parquet = path.join(dir, "records.parquet");
    await writeParquetFlowLogs(plain, parquet, false);
    expect(statSync(parquet).size).toBeLessThan(Buffer.byteLength(text) / 20);
    expect(await inputBytes([parquet, plain, parquet])).toBe(2 * 10_000 * 110 + Buffer.byteLength(text));
  });

  it("names an inventory path with no inventory before reading anything, and fails with a broken inventory's error whatever the number of threads", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "flowtap-no-inventory-"));
    for (const dir of [empty, path.join(empty, "missing")]) {
      const t = io();
      const status = await runEnrich({ inventoryDirs: [dir], output: "jsonl", files: [path.join(SAMPLES, "flow-logs.log.gz")] }, t.io);
      const reason = dir === empty ? `no describe-network-interfaces.json in it or in a directory beneath it (write one with flowtap inventory --out ${dir})` : "no such directory";
      expect({ status, err: t.err(), out: t.out() }).toEqual({ status: 2, err: `flowtap enrich: --inventory: ${dir}: ${reason}\n`, out: "" });
    }
    writeFileSync(path.join(empty, "describe-network-interfaces.json"), '{"NetworkInterfaces": [');
    for (const threads of [1, 2]) {
      await expect(runEnrich({ inventoryDirs: [empty], output: "jsonl", files: [path.join(SAMPLES, "flow-logs.log.gz")], threads }, io().io)).rejects.toThrow(
        `${path.join(empty, "describe-network-interfaces.json")} is not JSON as the AWS CLI writes it`,
      );
    }
  });

  it("merges inventories, one per account, given one by one or as a directory of them, so that flows between accounts resolve both ends", async () => {
    // The sample's ENIs shared out between two accounts' inventories, each with every other file.
    const root = mkdtempSync(path.join(tmpdir(), "flowtap-accounts-"));
    const all = sampleNetworkInterfaces();
    const accounts = ["111111111111", "222222222222"].map((account, i) => writeSampleInventory(path.join(root, account), all.filter((_, n) => n % 2 === i)));
    const run = async (inventoryDirs: string[]) => {
      const t = io();
      expect(await runEnrich({ inventoryDirs, output: "jsonl", files: [path.join(SAMPLES, "flow-logs.log.gz")] }, t.io)).toBe(0);
      return { out: t.out(), err: t.err() };
    };
    const whole = await run([path.join(SAMPLES, "inventory")]);
    expect(whole.err).toContain("0 with an unknown private address");
    expect(await run(accounts)).toEqual(whole);
    expect(await run([root])).toEqual(whole);
    // One account's alone leaves the other's addresses unknown.
    expect((await run(accounts.slice(0, 1))).err).not.toContain("0 with an unknown private address");
  });

  it("fails when its output fails, and stops every thread", async () => {
    for (const threads of [1, 2]) {
      const failing = new Writable({ write: (_chunk, _encoding, done) => done(new Error("no space left on device")) });
      const t = io();
      await expect(runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "jsonl", files: [path.join(SAMPLES, "flow-logs.log.gz")], threads }, { ...t.io, stdout: failing })).rejects.toThrow("no space left on device");
    }
  });

  it("exits 1 when nothing at all could be read", async () => {
    const t = io();
    const status = await runEnrich({ output: "jsonl", files: [], }, { ...t.io, stdin: Readable.from(["not a record\n"]) });
    expect(status).toBe(1);
    expect(t.err()).toContain("stdin:1: skipped: expected 14 fields, found 3");
  });

  it("writes Parquet with the enriched record's columns and types, whatever the records hold", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flowtap-parquet-"));
    const empty = path.join(dir, "empty.log");
    writeFileSync(empty, "");
    const cases = [
      { name: "flows", files: [path.join(SAMPLES, "flow-logs.log.gz")], rows: 202 },
      { name: "windows", files: [path.join(SAMPLES, "flow-logs.log.gz")], windowSeconds: 300, rows: expect.any(Number) },
      { name: "none", files: [empty], rows: 0 },
    ];
    await withDuckDb(async (db) => {
      const one = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJson()[0]?.value;
      const recordType = await one(`SELECT typeof(NULL::${duckDbRecordType()}) AS value`);
      for (const { name, files, windowSeconds, rows } of cases) {
        const out = path.join(dir, `${name}.parquet`);
        await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], output: "parquet", outFile: out, files, windowSeconds }, io().io);
        expect(readFileSync(out).subarray(0, 4).toString()).toBe("PAR1");
        expect({ name, rows: Number(await one(`SELECT count(*) AS value FROM read_parquet(${sqlString(out)})`)) }).toEqual({ name, rows });
        if (rows !== 0) expect(await one(`SELECT typeof(p) AS value FROM read_parquet(${sqlString(out)}) p LIMIT 1`)).toBe(recordType);
      }
      const described = (await db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path.join(dir, "none.parquet"))})`)).getRowObjectsJson();
      expect(described.map((c) => c.column_name)).toEqual(ENRICHED_COLUMNS.map((c) => c.name));
    });
  });

});
