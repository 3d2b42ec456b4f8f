/**
 * An inventory and flow logs shaped like a real organization's, for the enrichment benchmark
 * (issue #28): the inventory as the AWS CLI writes it (4-space JSON), with the attribute sets AWS
 * returns (an instance's is some 6 KB), several VPCs and zones, typical tags, and security groups
 * whose rules name CIDRs, other groups, prefix lists and IPv6 ranges; and default-format (v2)
 * records of many conversations with ephemeral client ports, a few dozen server ports, both
 * directions logged by each end's ENI, some REJECT and NODATA. Seeded: the same on every run.
 *
 * `tsx samples/organization.ts --out DIR --enis 10000 --records 1000000` writes DIR/inventory/
 * and DIR/flow-logs.log.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

const ACCOUNT = "210987654321";
const REGION = "us-east-1";
const ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"];
const ZONE_IDS: Readonly<Record<string, string>> = { "us-east-1a": "use1-az4", "us-east-1b": "use1-az6", "us-east-1c": "use1-az1" };
/** Server ports of the organization's services, most used first. */
const SERVICE_PORTS = [443, 8080, 5432, 6379, 3306, 9092, 8443, 2049, 11211, 9200, 27017, 5672, 8500, 8125, 9090, 3000, 4317, 50051, 6443, 2379, 8081, 8000, 5000, 1521, 1433, 9300, 7000, 9042, 10250, 53];
const TEAMS = ["payments", "checkout", "catalog", "search", "identity", "platform", "data", "ml", "risk", "ledger", "notifications", "growth"];
const ENVIRONMENTS = ["prod", "staging", "dev"];

/** A deterministic pseudo-random sequence (xorshift32). */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

const hex = (n: number, width = 17) => n.toString(16).padStart(width, "0");

interface Vpc {
  readonly id: string;
  readonly second: number;
  readonly subnets: readonly { readonly id: string; readonly zone: string; readonly third: number }[];
  readonly groups: readonly string[];
}

type Kind = "instance" | "task" | "lambda" | "elb" | "rds" | "cache" | "endpoint" | "nat" | "efs" | "tgw" | "plain";

interface GeneratedEni {
  readonly id: string;
  readonly kind: Kind;
  readonly vpc: Vpc;
  readonly subnet: Vpc["subnets"][number];
  readonly address: string;
  readonly secondary: readonly string[];
  readonly ipv6?: string;
  readonly publicIp?: string;
  readonly groups: readonly string[];
  readonly instanceId?: string;
  readonly team: string;
  readonly environment: string;
  readonly app: string;
  /** The port it serves, for servers. */
  readonly port: number;
}

export interface OrganizationShape {
  readonly enis: readonly GeneratedEni[];
  readonly vpcs: readonly Vpc[];
  readonly prefixLists: readonly string[];
}

const KINDS: readonly [Kind, number][] = [
  ["instance", 0.62],
  ["task", 0.12],
  ["lambda", 0.06],
  ["elb", 0.05],
  ["rds", 0.04],
  ["cache", 0.03],
  ["endpoint", 0.03],
  ["efs", 0.02],
  ["nat", 0.01],
  ["tgw", 0.01],
  ["plain", 0.01],
];

/** The organization: 20 VPCs of 3 zones, 20 security groups each, and `count` ENIs. */
export function organizationShape(count: number, seed = 28): OrganizationShape {
  const next = random(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  const vpcs: Vpc[] = Array.from({ length: 20 }, (_, v) => ({
    id: `vpc-${hex(0x1000 + v)}`,
    second: v,
    subnets: ZONES.flatMap((zone, z) => [0, 1].map((tier) => ({ id: `subnet-${hex(0x10000 + v * 8 + z * 2 + tier)}`, zone, third: z * 64 + tier * 32 }))),
    groups: Array.from({ length: 20 }, (_, g) => `sg-${hex(0x100000 + v * 32 + g)}`),
  }));
  const prefixLists = Array.from({ length: 4 }, (_, i) => `pl-${hex(0x2000 + i)}`);
  const used = new Map<string, number>();
  const enis: GeneratedEni[] = [];
  let instances = 0;
  for (let i = 0; i < count; i++) {
    let roll = next();
    const kind = KINDS.find(([, share]) => (roll -= share) < 0)?.[0] ?? "plain";
    const vpc = vpcs[Math.floor(Math.pow(next(), 1.5) * vpcs.length)];
    const subnet = pick(vpc.subnets);
    const key = subnet.id;
    const n = used.get(key) ?? 0;
    used.set(key, n + 1);
    const host = (k: number) => `10.${vpc.second}.${subnet.third + Math.floor(k / 250)}.${(k % 250) + 4}`;
    const secondaries = kind === "instance" && next() < 0.1 ? 2 : 0;
    for (let s = 0; s < secondaries; s++) used.set(key, (used.get(key) ?? 0) + 1);
    const team = pick(TEAMS);
    const groupCount = kind === "nat" || kind === "tgw" ? 0 : 1 + Math.floor(next() * 3);
    enis.push({
      id: `eni-${hex(0x500000 + i)}`,
      kind,
      vpc,
      subnet,
      address: host(n),
      secondary: Array.from({ length: secondaries }, (_, s) => host(n + 1 + s)),
      ipv6: next() < 0.15 ? `2600:1f18:${hex(vpc.second, 4)}:${hex(subnet.third, 4)}::${hex(n, 4)}` : undefined,
      publicIp: kind === "nat" || kind === "elb" || (kind === "instance" && next() < 0.05) ? `54.${160 + (i % 40)}.${(i >> 8) & 255}.${i & 255}` : undefined,
      groups: Array.from({ length: groupCount }, () => pick(vpc.groups)).filter((g, k, all) => all.indexOf(g) === k),
      instanceId: kind === "instance" ? `i-${hex(0x700000 + instances++)}` : undefined,
      team,
      environment: pick(ENVIRONMENTS),
      app: `${team}-${pick(["api", "worker", "web", "db", "cache", "stream"])}`,
      port: kind === "rds" ? pick([5432, 3306]) : kind === "cache" ? pick([6379, 11211]) : kind === "efs" ? 2049 : SERVICE_PORTS[Math.floor(Math.pow(next(), 2) * SERVICE_PORTS.length)],
    });
  }
  return { enis, vpcs, prefixLists };
}

const describe = (eni: GeneratedEni): { description: string; interfaceType: string; requesterManaged: boolean; requesterId?: string } => {
  const suffix = eni.id.slice(4);
  switch (eni.kind) {
    case "instance":
    case "plain":
      return { description: eni.kind === "plain" ? "manually created" : "", interfaceType: "interface", requesterManaged: false };
    case "task":
      return { description: `arn:aws:ecs:${REGION}:${ACCOUNT}:attachment/${suffix.slice(0, 8)}-1f2e-4d3c-8b7a-${suffix.slice(5).padStart(12, "0")}`, interfaceType: "interface", requesterManaged: true, requesterId: "578734482556" };
    case "lambda":
      return { description: `AWS Lambda VPC ENI-${eni.app}-0f2b6c7e-1a2b-4c3d-8e9f-${suffix.slice(5).padStart(12, "0")}`, interfaceType: "lambda", requesterManaged: true, requesterId: "AROAEXAMPLELAMBDA:lambda" };
    case "elb":
      return { description: `ELB app/${eni.app}/${suffix.slice(1)}`, interfaceType: "interface", requesterManaged: true, requesterId: "amazon-elb" };
    case "rds":
      return { description: "RDSNetworkInterface", interfaceType: "interface", requesterManaged: true, requesterId: "amazon-rds" };
    case "cache":
      return { description: `ElastiCache ${eni.app}-${suffix.slice(-3)}`, interfaceType: "interface", requesterManaged: true, requesterId: "amazon-elasticache" };
    case "endpoint":
      return { description: `VPC Endpoint Interface vpce-${suffix}`, interfaceType: "vpc_endpoint", requesterManaged: true, requesterId: "727180483921" };
    case "efs":
      return { description: `EFS mount target for fs-${suffix} (fsmt-${suffix})`, interfaceType: "interface", requesterManaged: true, requesterId: "amazon-efs" };
    case "nat":
      return { description: `Interface for NAT Gateway nat-${suffix}`, interfaceType: "nat_gateway", requesterManaged: true, requesterId: "amazon-nat" };
    case "tgw":
      return { description: `Network Interface for Transit Gateway Attachment tgw-attach-${suffix}`, interfaceType: "transit_gateway", requesterManaged: true, requesterId: "amazon-tgw" };
  }
};

const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

function eniTags(eni: GeneratedEni): Record<string, string> {
  return { team: eni.team, environment: eni.environment, app: eni.app, "cost-center": `cc-${1000 + TEAMS.indexOf(eni.team)}` };
}

function networkInterface(eni: GeneratedEni) {
  const kind = describe(eni);
  const groupName = (id: string) => `${eni.vpc.id.slice(-4)}-${id.slice(-3)}`;
  const association = eni.publicIp ? { Association: { IpOwnerId: "amazon", PublicDnsName: `ec2-${eni.publicIp.replace(/\./g, "-")}.compute-1.amazonaws.com`, PublicIp: eni.publicIp } } : {};
  return {
    ...association,
    ...(eni.instanceId
      ? {
          Attachment: {
            AttachTime: "2026-10-01T08:12:44+00:00",
            AttachmentId: `eni-attach-${eni.id.slice(4)}`,
            DeleteOnTermination: true,
            DeviceIndex: 0,
            NetworkCardIndex: 0,
            InstanceId: eni.instanceId,
            InstanceOwnerId: ACCOUNT,
            Status: "attached",
          },
        }
      : kind.requesterManaged
        ? { Attachment: { AttachTime: "2026-10-01T08:12:44+00:00", AttachmentId: `ela-attach-${eni.id.slice(4)}`, DeleteOnTermination: false, DeviceIndex: 1, NetworkCardIndex: 0, InstanceOwnerId: kind.requesterId ?? "amazon-aws", Status: "attached" } }
        : {}),
    AvailabilityZone: eni.subnet.zone,
    ConnectionTrackingConfiguration: { TcpEstablishedTimeout: 432000, UdpStreamTimeout: 180, UdpTimeout: 30 },
    Description: kind.description,
    Groups: eni.groups.map((GroupId) => ({ GroupName: groupName(GroupId), GroupId })),
    InterfaceType: kind.interfaceType,
    Ipv6Addresses: eni.ipv6 ? [{ Ipv6Address: eni.ipv6, IsPrimaryIpv6: false }] : [],
    MacAddress: `0e:${eni.id.slice(-10).match(/../g)!.join(":")}`,
    NetworkInterfaceId: eni.id,
    OwnerId: ACCOUNT,
    PrivateDnsName: `ip-${eni.address.replace(/\./g, "-")}.ec2.internal`,
    PrivateIpAddress: eni.address,
    PrivateIpAddresses: [
      { ...association, Primary: true, PrivateDnsName: `ip-${eni.address.replace(/\./g, "-")}.ec2.internal`, PrivateIpAddress: eni.address },
      ...eni.secondary.map((address) => ({ Primary: false, PrivateDnsName: `ip-${address.replace(/\./g, "-")}.ec2.internal`, PrivateIpAddress: address })),
    ],
    ...(kind.requesterId ? { RequesterId: kind.requesterId } : {}),
    RequesterManaged: kind.requesterManaged,
    SourceDestCheck: eni.kind !== "nat",
    Status: "in-use",
    SubnetId: eni.subnet.id,
    TagSet: kind.requesterManaged ? [] : tagList(eniTags(eni)),
    VpcId: eni.vpc.id,
  };
}

function instance(eni: GeneratedEni, index: number) {
  const nic: ReturnType<typeof networkInterface> & { Attachment?: object; Association?: object } = networkInterface(eni);
  const tags = {
    Name: `${eni.app}-${eni.environment}-${index}`,
    ...eniTags(eni),
    owner: `${eni.team}@example.com`,
    "aws:autoscaling:groupName": `${eni.app}-${eni.environment}-asg`,
    "aws:ec2launchtemplate:id": `lt-${hex(TEAMS.indexOf(eni.team))}`,
    "aws:ec2launchtemplate:version": "7",
    ...(index % 3 === 0 ? { "kubernetes.io/cluster/platform": "owned", "eks:nodegroup-name": `${eni.team}-ng` } : {}),
    "backup-policy": index % 2 ? "daily" : "none",
  };
  return {
    AmiLaunchIndex: 0,
    ImageId: "ami-0abcdef1234567890",
    InstanceId: eni.instanceId,
    InstanceType: ["m6i.large", "c6i.xlarge", "r6g.2xlarge", "t3.medium"][index % 4],
    KeyName: `${eni.team}-ops`,
    LaunchTime: "2026-10-01T08:12:41+00:00",
    Monitoring: { State: "disabled" },
    Placement: { AvailabilityZone: eni.subnet.zone, GroupName: "", Tenancy: "default" },
    PrivateDnsName: nic.PrivateDnsName,
    PrivateIpAddress: eni.address,
    ProductCodes: [],
    PublicDnsName: eni.publicIp ? `ec2-${eni.publicIp.replace(/\./g, "-")}.compute-1.amazonaws.com` : "",
    ...(eni.publicIp ? { PublicIpAddress: eni.publicIp } : {}),
    State: { Code: 16, Name: "running" },
    StateTransitionReason: "",
    SubnetId: eni.subnet.id,
    VpcId: eni.vpc.id,
    Architecture: index % 4 === 2 ? "arm64" : "x86_64",
    BlockDeviceMappings: ["/dev/xvda", "/dev/xvdb"].map((DeviceName, d) => ({ DeviceName, Ebs: { AttachTime: "2026-10-01T08:12:42+00:00", DeleteOnTermination: true, Status: "attached", VolumeId: `vol-${hex(index * 2 + d)}` } })),
    ClientToken: `${eni.app}-${hex(index, 8)}-4f3e-9d2c-1b0a`,
    EbsOptimized: true,
    EnaSupport: true,
    Hypervisor: "xen",
    IamInstanceProfile: { Arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${eni.app}`, Id: `AIPA${hex(index, 17).toUpperCase()}` },
    NetworkInterfaces: [
      {
        ...(nic.Association ? { Association: nic.Association } : {}),
        Attachment: { ...nic.Attachment, AttachTime: "2026-10-01T08:12:41+00:00" },
        Description: nic.Description,
        Groups: nic.Groups,
        Ipv6Addresses: nic.Ipv6Addresses,
        MacAddress: nic.MacAddress,
        NetworkInterfaceId: eni.id,
        OwnerId: ACCOUNT,
        PrivateDnsName: nic.PrivateDnsName,
        PrivateIpAddress: eni.address,
        PrivateIpAddresses: nic.PrivateIpAddresses,
        SourceDestCheck: true,
        Status: "in-use",
        SubnetId: eni.subnet.id,
        VpcId: eni.vpc.id,
        InterfaceType: "interface",
      },
    ],
    RootDeviceName: "/dev/xvda",
    RootDeviceType: "ebs",
    SecurityGroups: nic.Groups,
    SourceDestCheck: true,
    Tags: tagList(tags),
    VirtualizationType: "hvm",
    CpuOptions: { CoreCount: 1, ThreadsPerCore: 2 },
    CapacityReservationSpecification: { CapacityReservationPreference: "open" },
    HibernationOptions: { Configured: false },
    MetadataOptions: { State: "applied", HttpTokens: "required", HttpPutResponseHopLimit: 2, HttpEndpoint: "enabled", HttpProtocolIpv6: "disabled", InstanceMetadataTags: "disabled" },
    EnclaveOptions: { Enabled: false },
    BootMode: "uefi-preferred",
    PlatformDetails: "Linux/UNIX",
    UsageOperation: "RunInstances",
    UsageOperationUpdateTime: "2026-10-01T08:12:41+00:00",
    PrivateDnsNameOptions: { HostnameType: "ip-name", EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
    MaintenanceOptions: { AutoRecovery: "default" },
    CurrentInstanceBootMode: "uefi",
    NetworkPerformanceOptions: { BandwidthWeighting: "default" },
    Operator: { Managed: false },
  };
}

function securityGroups(shape: OrganizationShape) {
  const next = random(2028);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  const none = { IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] };
  return shape.vpcs.flatMap((vpc) =>
    vpc.groups.map((GroupId, g) => {
      const ports = Array.from({ length: 4 + Math.floor(next() * 8) }, () => pick(SERVICE_PORTS)).filter((p, k, all) => all.indexOf(p) === k);
      const inbound = ports.flatMap((port, k) => [
        { IpProtocol: "tcp", FromPort: port, ToPort: port, ...none, UserIdGroupPairs: Array.from({ length: 1 + (k % 3) }, () => ({ Description: "from the tier in front", GroupId: pick(vpc.groups), UserId: ACCOUNT })) },
        { IpProtocol: "tcp", FromPort: port, ToPort: port, ...none, IpRanges: [{ CidrIp: `10.${vpc.second}.0.0/16`, Description: "the VPC" }, { CidrIp: `10.${(vpc.second + 1) % 20}.${pick([0, 64, 128])}.0/18` }] },
      ]);
      return {
        Description: `${vpc.id} tier ${g}`,
        GroupName: `${vpc.id.slice(-4)}-${GroupId.slice(-3)}`,
        IpPermissions: [
          ...inbound,
          { IpProtocol: "-1", ...none, UserIdGroupPairs: [{ Description: "itself", GroupId, UserId: ACCOUNT }] },
          { IpProtocol: "tcp", FromPort: 22, ToPort: 22, ...none, PrefixListIds: [{ Description: "bastions", PrefixListId: pick(shape.prefixLists) }] },
          ...(g % 5 === 0 ? [{ IpProtocol: "tcp", FromPort: 443, ToPort: 443, ...none, IpRanges: [{ CidrIp: "0.0.0.0/0", Description: "HTTPS from anywhere" }], Ipv6Ranges: [{ CidrIpv6: "::/0", Description: "HTTPS from anywhere" }] }] : []),
          ...(g % 7 === 0 ? [{ IpProtocol: "udp", FromPort: 1024, ToPort: 65535, ...none, IpRanges: [{ CidrIp: "10.0.0.0/8" }] }] : []),
          { IpProtocol: "icmp", FromPort: -1, ToPort: -1, ...none, IpRanges: [{ CidrIp: "10.0.0.0/8", Description: "ping" }] },
        ],
        OwnerId: ACCOUNT,
        GroupId,
        IpPermissionsEgress: [{ IpProtocol: "-1", ...none, IpRanges: [{ CidrIp: "0.0.0.0/0" }], Ipv6Ranges: [{ CidrIpv6: "::/0" }] }],
        Tags: tagList({ team: pick(TEAMS), Name: `${vpc.id.slice(-4)}-${g}` }),
        VpcId: vpc.id,
        SecurityGroupArn: `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/${GroupId}`,
      };
    }),
  );
}

function taggedResources(shape: OrganizationShape) {
  const arnOf = (eni: GeneratedEni): string | undefined => {
    const { description } = describe(eni);
    switch (eni.kind) {
      case "instance":
        return `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${eni.instanceId}`;
      case "lambda":
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${eni.app}`;
      case "elb":
        return `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/${description.slice(4)}`;
      case "cache":
        return `arn:aws:elasticache:${REGION}:${ACCOUNT}:cluster:${description.slice(11)}`;
      case "endpoint":
        return `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc-endpoint/vpce-${eni.id.slice(4)}`;
      case "efs":
        return `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT}:file-system/fs-${eni.id.slice(4)}`;
      case "nat":
        return `arn:aws:ec2:${REGION}:${ACCOUNT}:natgateway/nat-${eni.id.slice(4)}`;
      default:
        return undefined;
    }
  };
  const mappings = shape.enis.flatMap((eni) => {
    const arn = arnOf(eni);
    return arn ? [{ ResourceARN: arn, Tags: tagList({ ...eniTags(eni), owner: `${eni.team}@example.com`, "data-classification": eni.environment === "prod" ? "confidential" : "internal" }) }] : [];
  });
  // What else the tagging API answers: volumes, buckets, queues, roles' resources; most of an account's tagged resources.
  const others = Array.from({ length: shape.enis.length }, (_, i) => ({
    ResourceARN: [`arn:aws:ec2:${REGION}:${ACCOUNT}:volume/vol-${hex(i)}`, `arn:aws:s3:::${TEAMS[i % TEAMS.length]}-data-${i}`, `arn:aws:sqs:${REGION}:${ACCOUNT}:${TEAMS[i % TEAMS.length]}-queue-${i}`][i % 3],
    Tags: tagList({ team: TEAMS[i % TEAMS.length], environment: ENVIRONMENTS[i % 3], "cost-center": `cc-${1000 + (i % TEAMS.length)}` }),
  }));
  return [...mappings, ...others];
}

/** AWS's ip-ranges.json at its published size (some 9,000 IPv4 and 3,000 IPv6 prefixes). */
function ipRanges() {
  const services = ["AMAZON", "EC2", "S3", "DYNAMODB", "CLOUDFRONT", "ROUTE53_HEALTHCHECKS", "API_GATEWAY"];
  return {
    syncToken: "1764979200",
    createDate: "2026-12-06-00-00-00",
    prefixes: [
      { ip_prefix: "52.216.0.0/15", region: REGION, service: "AMAZON", network_border_group: REGION },
      { ip_prefix: "52.216.0.0/15", region: REGION, service: "S3", network_border_group: REGION },
      ...Array.from({ length: 9000 }, (_, i) => ({ ip_prefix: `${3 + (i >> 12)}.${(i >> 4) & 255}.${(i & 15) * 16}.0/${20 + (i % 8)}`, region: ["us-east-1", "us-west-2", "eu-west-1"][i % 3], service: services[i % services.length], network_border_group: REGION })),
    ],
    ipv6_prefixes: Array.from({ length: 3000 }, (_, i) => ({ ipv6_prefix: `2600:1f${(i % 256).toString(16).padStart(2, "0")}:${i.toString(16)}::/${40 + (i % 16)}`, region: REGION, service: services[i % services.length], network_border_group: REGION })),
  };
}

/** The inventory files, by name, as `aws <service> <command>` prints them. */
export function organizationInventory(shape: OrganizationShape): Record<string, unknown> {
  const instances = shape.enis.filter((e) => e.instanceId);
  return {
    "describe-network-interfaces.json": { NetworkInterfaces: shape.enis.map(networkInterface) },
    "describe-subnets.json": {
      Subnets: shape.vpcs.flatMap((vpc) =>
        vpc.subnets.map((s) => ({ AvailabilityZone: s.zone, AvailabilityZoneId: ZONE_IDS[s.zone], AvailableIpAddressCount: 4000, CidrBlock: `10.${vpc.second}.${s.third}.0/19`, DefaultForAz: false, MapPublicIpOnLaunch: false, State: "available", SubnetId: s.id, VpcId: vpc.id, OwnerId: ACCOUNT, AssignIpv6AddressOnCreation: false, Ipv6CidrBlockAssociationSet: [], SubnetArn: `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/${s.id}` })),
      ),
    },
    "describe-security-groups.json": { SecurityGroups: securityGroups(shape) },
    "describe-managed-prefix-lists.json": { PrefixLists: shape.prefixLists.map((PrefixListId, i) => ({ PrefixListId, AddressFamily: "IPv4", State: "create-complete", PrefixListArn: `arn:aws:ec2:${REGION}:${ACCOUNT}:prefix-list/${PrefixListId}`, PrefixListName: ["bastions", "corporate-vpn", "monitoring", "ci-runners"][i], MaxEntries: 20, Version: 3, Tags: [], OwnerId: ACCOUNT })) },
    "describe-instances.json": { Reservations: instances.map((eni, i) => ({ Groups: [], Instances: [instance(eni, i)], OwnerId: ACCOUNT, RequesterId: "940372691376", ReservationId: `r-${hex(i)}` })) },
    "get-resources.json": { ResourceTagMappingList: taggedResources(shape) },
    "ip-ranges.json": ipRanges(),
  };
}

/**
 * Default-format (v2) records of conversations over the organization, in time order: a client
 * (an instance, task or function, or an address on the internet) talks to a server (a load
 * balancer, database, cache, instance, an AWS service or the internet) on the server's port, from an
 * ephemeral port; each ENI at either end logs both directions, a rejected connection only its
 * way in; now and then an ENI logs a NODATA record. Calls `write` with each line.
 */
export function writeOrganizationRecords(shape: OrganizationShape, count: number, write: (line: string) => void, seed = 1): void {
  const next = random(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)];
  const clients = shape.enis.filter((e) => e.kind === "instance" || e.kind === "task" || e.kind === "lambda");
  const servers = shape.enis.filter((e) => e.kind !== "nat" && e.kind !== "tgw" && e.kind !== "lambda");
  // A few servers take most connections, as a few services do in any organization.
  const popularServer = () => servers[Math.floor(Math.pow(next(), 3) * servers.length)];
  const internet = Array.from({ length: 2000 }, (_, i) => `${[151, 104, 198, 185, 140][i % 5]}.${(i * 7) % 256}.${(i * 13) % 256}.${1 + (i % 250)}`);
  const awsService = Array.from({ length: 200 }, (_, i) => `52.${216 + (i % 2)}.${(i * 11) % 256}.${1 + (i % 250)}`);
  const start0 = 1764979200;
  let written = 0;
  const emit = (line: string) => {
    if (written < count) {
      write(line);
      written++;
    }
  };
  const record = (eni: GeneratedEni, src: string, dst: string, srcPort: number, dstPort: number, protocol: number, packets: number, bytes: number, start: number, action: string) =>
    emit(`2 ${ACCOUNT} ${eni.id} ${src} ${dst} ${srcPort} ${dstPort} ${protocol} ${packets} ${bytes} ${start} ${start + 60} ${action} OK`);
  for (let c = 0; written < count; c++) {
    const start = start0 + Math.floor(c / 800) * 60;
    const roll = next();
    const internal = roll < 0.7;
    const fromInternet = roll >= 0.95;
    const client = fromInternet ? undefined : pick(clients);
    const server = internal || fromInternet ? popularServer() : undefined;
    const clientAddress = client?.address ?? pick(internet);
    const serverAddress = server?.address ?? (roll < 0.85 ? pick(awsService) : pick(internet));
    const serverPort = server?.port ?? 443;
    const protocol = serverPort === 53 || serverPort === 8125 ? 17 : 6;
    const clientPort = 32768 + Math.floor(next() * 28232);
    const accepted = next() < 0.97;
    const up = 60 + Math.floor(next() * 40_000);
    const down = 60 + Math.floor(next() * 400_000);
    const upPackets = 1 + (up >> 10);
    const downPackets = 1 + (down >> 10);
    const action = accepted ? "ACCEPT" : "REJECT";
    // Not every VPC's flow logs are on: a server's own ENI logs the conversation a third of the time.
    const serverLogs = next() < 0.33;
    for (const eni of [client, server]) {
      if (!eni || (eni === server && client && !serverLogs)) continue;
      if (!accepted && eni === client) continue;
      record(eni, clientAddress, serverAddress, clientPort, serverPort, protocol, upPackets, up, start, action);
      if (accepted) record(eni, serverAddress, clientAddress, serverPort, clientPort, protocol, downPackets, down, start, action);
    }
    if (next() < 0.01) emit(`2 ${ACCOUNT} ${pick(shape.enis).id} - - - - - - - ${start} ${start + 60} - NODATA`);
  }
}

/** Writes `<out>/inventory/` and `<out>/flow-logs.log`; returns the log's path. */
export function writeOrganizationSample(out: string, enis: number, records: number): string {
  const shape = organizationShape(enis);
  mkdirSync(path.join(out, "inventory"), { recursive: true });
  for (const [file, content] of Object.entries(organizationInventory(shape))) writeFileSync(path.join(out, "inventory", file), `${JSON.stringify(content, null, 4)}\n`);
  const file = path.join(out, "flow-logs.log");
  const fd = openSync(file, "w");
  try {
    let buffered: string[] = [];
    const flush = () => {
      if (buffered.length > 0) writeSync(fd, `${buffered.join("\n")}\n`);
      buffered = [];
    };
    writeOrganizationRecords(shape, records, (line) => {
      buffered.push(line);
      if (buffered.length === 10_000) flush();
    });
    flush();
  } finally {
    closeSync(fd);
  }
  return file;
}

if (require.main === module) {
  const { values } = parseArgs({ options: { out: { type: "string" }, enis: { type: "string" }, records: { type: "string" } } });
  if (!values.out) throw new Error("--out DIR is required");
  const enis = Number(values.enis ?? 10_000);
  const records = Number(values.records ?? 1_000_000);
  const file = writeOrganizationSample(values.out, enis, records);
  console.log(`organization sample: wrote ${values.out}/inventory/ (${enis} ENIs) and ${file} (${records} records)`);
}
