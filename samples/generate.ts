/**
 * Generates a sample organization's inventory (as the AWS CLI prints it) and VPC flow logs over
 * it: `npm run samples` writes the small set committed under samples/, and the benchmarks build
 * large ones (10,000 ENIs, millions of records) with the same code.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { sqlString, withDuckDb } from "../cli/duckdb";

const ACCOUNT = "123456789010";
const REGION = "us-east-1";
const VPC = "vpc-0a1b2c3d4e5f60001";
const ZONES = [
  { zone: "us-east-1a", subnet: "subnet-0a1b2c3d4e5f6000a", cidr: "10.0" },
  { zone: "us-east-1b", subnet: "subnet-0a1b2c3d4e5f6000b", cidr: "10.1" },
];
const hex = (n: number, width = 17) => n.toString(16).padStart(width, "0");

/** A deterministic pseudo-random sequence, so generated data is the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface SampleEni {
  id: string;
  address: string;
  zone: (typeof ZONES)[number];
  description: string;
  interfaceType: string;
  instanceId?: string;
  requesterManaged: boolean;
  groups: string[];
  publicIp?: string;
}

const GROUPS = {
  web: "sg-0a1b2c3d4e5f6web0",
  app: "sg-0a1b2c3d4e5f6app0",
  db: "sg-0a1b2c3d4e5f6db00",
  cache: "sg-0a1b2c3d4e5f6cac0",
};

/** The sample's ENIs: one of each kind of resource, then instances up to `count`. */
function sampleEnis(count: number): SampleEni[] {
  const at = (i: number) => ZONES[i % 2];
  const address = (i: number) => `${at(i).cidr}.${Math.floor(i / 250) % 250}.${(i % 250) + 4}`;
  const kinds: Omit<SampleEni, "id" | "address" | "zone">[] = [
    { description: "ELB app/web/50dc6c495c0c9188", interfaceType: "interface", requesterManaged: true, groups: [GROUPS.web] },
    { description: "Interface for NAT Gateway nat-0a1b2c3d4e5f60001", interfaceType: "natGateway", requesterManaged: true, groups: [], publicIp: "54.210.0.10" },
    { description: "AWS Lambda VPC ENI-orders-api-0f2b6c7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f", interfaceType: "lambda", requesterManaged: true, groups: [GROUPS.app] },
    { description: "RDSNetworkInterface", interfaceType: "interface", requesterManaged: true, groups: [GROUPS.db] },
    { description: "ElastiCache sessions-001", interfaceType: "interface", requesterManaged: true, groups: [GROUPS.cache] },
    { description: "EFS mount target for fs-0a1b2c3d4e5f60001 (fsmt-0a1b2c3d4e5f60001)", interfaceType: "interface", requesterManaged: true, groups: [GROUPS.app] },
    { description: "VPC Endpoint Interface vpce-0a1b2c3d4e5f60001", interfaceType: "vpc_endpoint", requesterManaged: true, groups: [GROUPS.app] },
    { description: "Network Interface for Transit Gateway Attachment tgw-attach-0a1b2c3d4e5f60001", interfaceType: "transit_gateway", requesterManaged: true, groups: [] },
    { description: "arn:aws:ecs:us-east-1:123456789010:attachment/6b8c0a25-3f1c-4d5e-9a7b-1c2d3e4f5a6b", interfaceType: "interface", requesterManaged: true, groups: [GROUPS.app] },
  ];
  return Array.from({ length: count }, (_, i) => {
    const kind = kinds[i] ?? { description: "", interfaceType: "interface", instanceId: `i-${hex(i)}`, requesterManaged: false, groups: [i % 2 ? GROUPS.app : GROUPS.web] };
    return { id: `eni-${hex(i)}`, address: address(i), zone: at(i), ...kind };
  });
}

/** The inventory files, as `aws <service> <command>` prints them. */
export function sampleInventory(count: number): Record<string, unknown> {
  const enis = sampleEnis(count);
  const rule = (protocol: string, from: number, to: number, peer: Record<string, unknown>) => ({ IpProtocol: protocol, FromPort: from, ToPort: to, ...peer });
  const noPeers = { IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] };
  const everywhere = { IpProtocol: "-1", ...noPeers, IpRanges: [{ CidrIp: "0.0.0.0/0" }], Ipv6Ranges: [{ CidrIpv6: "::/0" }] };
  const instances = enis.filter((e) => e.instanceId);
  return {
    "describe-network-interfaces.json": {
      NetworkInterfaces: enis.map((e) => ({
        AvailabilityZone: e.zone.zone,
        Description: e.description,
        Groups: e.groups.map((GroupId) => ({ GroupId, GroupName: Object.entries(GROUPS).find(([, id]) => id === GroupId)?.[0] })),
        InterfaceType: e.interfaceType,
        Ipv6Addresses: [],
        MacAddress: "0e:00:00:00:00:00",
        NetworkInterfaceId: e.id,
        OwnerId: ACCOUNT,
        PrivateIpAddress: e.address,
        PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: e.address, ...(e.publicIp ? { Association: { PublicIp: e.publicIp, IpOwnerId: "amazon" } } : {}) }],
        RequesterManaged: e.requesterManaged,
        SourceDestCheck: true,
        Status: "in-use",
        SubnetId: e.zone.subnet,
        TagSet: [],
        VpcId: VPC,
        ...(e.instanceId ? { Attachment: { AttachmentId: `eni-attach-${e.id.slice(4)}`, DeviceIndex: 0, InstanceId: e.instanceId, InstanceOwnerId: ACCOUNT, Status: "attached" } } : {}),
      })),
    },
    "describe-subnets.json": { Subnets: ZONES.map((z) => ({ AvailabilityZone: z.zone, AvailabilityZoneId: z.zone === "us-east-1a" ? "use1-az1" : "use1-az2", CidrBlock: `${z.cidr}.0.0/16`, SubnetId: z.subnet, VpcId: VPC, OwnerId: ACCOUNT })) },
    "describe-security-groups.json": {
      SecurityGroups: [
        { GroupId: GROUPS.web, GroupName: "web", VpcId: VPC, OwnerId: ACCOUNT, IpPermissions: [rule("tcp", 443, 443, { ...noPeers, IpRanges: [{ CidrIp: "0.0.0.0/0", Description: "HTTPS from anywhere" }], Ipv6Ranges: [{ CidrIpv6: "::/0" }] })], IpPermissionsEgress: [everywhere] },
        { GroupId: GROUPS.app, GroupName: "app", VpcId: VPC, OwnerId: ACCOUNT, IpPermissions: [rule("tcp", 8080, 8080, { ...noPeers, UserIdGroupPairs: [{ GroupId: GROUPS.web, UserId: ACCOUNT, Description: "from the load balancer" }] }), rule("tcp", 22, 22, { ...noPeers, PrefixListIds: [{ PrefixListId: "pl-0a1b2c3d4e5f60001" }] })], IpPermissionsEgress: [everywhere] },
        { GroupId: GROUPS.db, GroupName: "db", VpcId: VPC, OwnerId: ACCOUNT, IpPermissions: [rule("tcp", 5432, 5432, { ...noPeers, UserIdGroupPairs: [{ GroupId: GROUPS.app, UserId: ACCOUNT }] })], IpPermissionsEgress: [] },
        { GroupId: GROUPS.cache, GroupName: "cache", VpcId: VPC, OwnerId: ACCOUNT, IpPermissions: [rule("tcp", 6379, 6379, { ...noPeers, IpRanges: [{ CidrIp: "10.0.0.0/8" }] })], IpPermissionsEgress: [] },
      ],
    },
    "describe-managed-prefix-lists.json": { PrefixLists: [{ PrefixListId: "pl-0a1b2c3d4e5f60001", PrefixListName: "corporate-vpn", AddressFamily: "IPv4", OwnerId: ACCOUNT, State: "create-complete" }] },
    "describe-instances.json": {
      Reservations: instances.map((e, i) => ({
        ReservationId: `r-${hex(i)}`,
        OwnerId: ACCOUNT,
        Instances: [{ InstanceId: e.instanceId, InstanceType: "m6i.large", Placement: { AvailabilityZone: e.zone.zone }, State: { Code: 16, Name: "running" }, SubnetId: e.zone.subnet, VpcId: VPC, PrivateIpAddress: e.address, Tags: [{ Key: "app", Value: i % 2 ? "DataProcessor" : "Storefront" }, { Key: "Name", Value: `node-${i}` }] }],
      })),
    },
    "get-resources.json": {
      ResourceTagMappingList: [
        { ResourceARN: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188`, Tags: [{ Key: "app", Value: "Storefront" }] },
        { ResourceARN: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:orders-api`, Tags: [{ Key: "app", Value: "Orders" }] },
        { ResourceARN: `arn:aws:elasticache:${REGION}:${ACCOUNT}:cluster:sessions-001`, Tags: [{ Key: "app", Value: "Storefront" }] },
      ],
    },
    "ip-ranges.json": {
      syncToken: "1732204800",
      createDate: "2026-11-21-16-00-00",
      prefixes: [
        { ip_prefix: "52.216.0.0/15", region: REGION, service: "AMAZON", network_border_group: REGION },
        { ip_prefix: "52.216.0.0/15", region: REGION, service: "S3", network_border_group: REGION },
        { ip_prefix: "3.80.0.0/12", region: REGION, service: "AMAZON", network_border_group: REGION },
        { ip_prefix: "3.80.0.0/12", region: REGION, service: "EC2", network_border_group: REGION },
        { ip_prefix: "52.94.0.0/22", region: REGION, service: "AMAZON", network_border_group: REGION },
      ],
      ipv6_prefixes: [
        { ipv6_prefix: "2600:1f18::/33", region: REGION, service: "AMAZON", network_border_group: REGION },
        { ipv6_prefix: "2600:1f18::/33", region: REGION, service: "EC2", network_border_group: REGION },
      ],
    },
  };
}

/** Default-format (v2) records: both directions of each flow, between the sample's resources and the internet. */
export function sampleFlowLogLines(count: number, enis: number, seed = 7): string[] {
  const next = random(seed);
  const all = sampleEnis(enis);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  const instances = all.filter((e) => e.instanceId);
  const lines: string[] = [];
  const publicPeers = ["52.217.44.20", "3.85.12.7", "198.51.100.7", "52.94.1.2"];
  const [alb, , lambda, rds] = all;
  for (let i = 0; lines.length < count; i++) {
    const start = 1732204800 + Math.floor(i / 40) * 60;
    // Mostly instances calling out; some load balancer to instance, and Lambda to RDS, traffic.
    const roll = next();
    const client = roll < 0.1 ? alb : roll < 0.15 ? lambda : pick(instances);
    const server = client === alb ? pick(instances) : client === lambda ? rds : next() < 0.6 ? pick(all) : undefined;
    const serverAddr = server?.address ?? pick(publicPeers);
    const serverPort = client === alb ? 8080 : client === lambda ? 5432 : server ? pick([443, 8080, 5432, 6379, 2049]) : 443;
    const clientPort = 32768 + Math.floor(next() * 28000);
    const up = 200 + Math.floor(next() * 50000);
    const down = 100 + Math.floor(next() * 500000);
    const action = next() < 0.97 ? "ACCEPT" : "REJECT";
    lines.push(`2 ${ACCOUNT} ${client.id} ${client.address} ${serverAddr} ${clientPort} ${serverPort} 6 ${10 + (up % 40)} ${up} ${start} ${start + 60} ${action} OK`);
    if (lines.length < count && action === "ACCEPT") lines.push(`2 ${ACCOUNT} ${client.id} ${serverAddr} ${client.address} ${serverPort} ${clientPort} 6 ${10 + (down % 60)} ${down} ${start} ${start + 60} ${action} OK`);
  }
  return lines;
}

/**
 * Writes `<out>/inventory/` and the flow logs: by default the committed sample (24 ENIs, 400
 * records, gzip with the header line S3 delivery writes); `--plain` writes `flow-logs.log`,
 * default format without header, as the benchmarks read it.
 */
export function writeSample(out: string, enis: number, records: number, plain: boolean): string {
  mkdirSync(path.join(out, "inventory"), { recursive: true });
  for (const [file, content] of Object.entries(sampleInventory(enis))) writeFileSync(path.join(out, "inventory", file), `${JSON.stringify(content, null, 2)}\n`);
  const lines = sampleFlowLogLines(records, enis);
  if (plain) {
    const file = path.join(out, "flow-logs.log");
    writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  }
  const header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
  const file = path.join(out, "flow-logs.log.gz");
  writeFileSync(file, gzipSync(`${header}\n${lines.join("\n")}\n`, { level: 9 }));
  return file;
}

/** The columns and types VPC Flow Logs write to Parquet for the default format: the fields' names with `_` for `-`. */
const PARQUET_COLUMNS: Readonly<Record<string, string>> = {
  version: "INTEGER",
  account_id: "VARCHAR",
  interface_id: "VARCHAR",
  srcaddr: "VARCHAR",
  dstaddr: "VARCHAR",
  srcport: "INTEGER",
  dstport: "INTEGER",
  protocol: "BIGINT",
  packets: "BIGINT",
  bytes: "BIGINT",
  start: "BIGINT",
  end: "BIGINT",
  action: "VARCHAR",
  log_status: "VARCHAR",
};

/**
 * Writes default-format text flow logs (with S3's header line or without) as S3 delivery writes
 * them with `FileFormat=parquet`, `-` as null.
 */
export async function writeParquetFlowLogs(textFile: string, parquetFile: string, withHeader: boolean): Promise<void> {
  const columns = `{${Object.entries(PARQUET_COLUMNS).map(([name, type]) => `'${name}': '${type}'`).join(", ")}}`;
  await withDuckDb((connection) =>
    connection.run(
      `COPY (SELECT * FROM read_csv(${sqlString(textFile)}, delim = ' ', header = ${withHeader}, nullstr = '-', columns = ${columns})) TO ${sqlString(parquetFile)} (FORMAT parquet, COMPRESSION gzip)`,
    ),
  );
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { out: { type: "string" }, enis: { type: "string" }, records: { type: "string" }, plain: { type: "boolean", default: false } },
  });
  const enis = Number(values.enis ?? 24);
  const records = Number(values.records ?? 400);
  const file = writeSample(values.out ?? __dirname, enis, records, values.plain ?? false);
  console.log(`samples: wrote inventory/ (${enis} ENIs) and ${file} (${records} records)`);
}
