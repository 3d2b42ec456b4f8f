import type { Instance, NetworkInterface, SecurityGroup, Subnet } from "@aws-sdk/client-ec2";
import ipaddr from "ipaddr.js";
import { AwsIpRanges, type IpRangesDocument } from "./ip-ranges";

/** The `Type` vocabulary of an enriched side: closed, as docs/enriched-record.md fixes it. */
export type EndpointType =
  | "ec2:instance"
  | "lambda:function"
  | "rds:db"
  | "elasticloadbalancing:loadbalancer"
  | "ec2:natgateway"
  | "ec2:vpc-endpoint"
  | "elasticache:cluster"
  | "ecs:task"
  | "elasticfilesystem:file-system"
  | "ec2:transit-gateway-attachment"
  | "ec2:network-interface"
  | "aws:service"
  | "internet"
  | "unknown";

/** What an ENI in the inventory tells about the resource that holds an address. */
export interface Holder {
  readonly type: EndpointType;
  readonly arn?: string;
  readonly interfaceId: string;
  readonly subnetId?: string;
  readonly vpcId?: string;
  readonly accountId?: string;
  readonly securityGroupIds: readonly string[];
  readonly availabilityZone?: string;
  /** The zone's id (`use1-az1`): the same physical zone in every account, where zone names are mapped per account. */
  readonly availabilityZoneId?: string;
  readonly region?: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** The AWS CLI JSON files of an inventory directory, parsed; each is optional but the ENIs. */
export interface InventoryDocuments {
  readonly networkInterfaces: { NetworkInterfaces?: NetworkInterface[] };
  readonly securityGroups?: { SecurityGroups?: SecurityGroup[] };
  readonly subnets?: { Subnets?: Subnet[] };
  readonly instances?: { Reservations?: { Instances?: Instance[] }[] };
  readonly resources?: { ResourceTagMappingList?: { ResourceARN?: string; Tags?: { Key?: string; Value?: string }[] }[] };
  readonly managedPrefixLists?: { PrefixLists?: { PrefixListId?: string; PrefixListName?: string }[] };
  readonly ipRanges?: IpRangesDocument;
}

const tags = (list: readonly { Key?: string; Value?: string }[] | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).flatMap((t) => (t.Key === undefined ? [] : [[t.Key, t.Value ?? ""]])));

const regionOfZone = (zone: string | undefined) => zone?.replace(/[a-z]$/, "");

/**
 * What resource an ENI belongs to, from its interface type, requester and description (the
 * only place AWS writes it for managed ENIs), and that resource's ARN when the ENI names it.
 */
export function classifyInterface(eni: NetworkInterface): { type: EndpointType; resource?: string; service?: string } {
  const description = eni.Description ?? "";
  const type = eni.InterfaceType ?? "interface";
  const instanceId = eni.Attachment?.InstanceId;
  let match: RegExpExecArray | null;
  if (type === "natGateway" || /^Interface for NAT Gateway nat-/.test(description)) {
    const id = /(nat-[0-9a-f]+)/.exec(description)?.[1];
    return { type: "ec2:natgateway", resource: id && `natgateway/${id}`, service: "ec2" };
  }
  if (type === "transit_gateway" || /^Network Interface for Transit Gateway Attachment tgw-attach-/.test(description)) {
    const id = /(tgw-attach-[0-9a-f]+)/.exec(description)?.[1];
    return { type: "ec2:transit-gateway-attachment", resource: id && `transit-gateway-attachment/${id}`, service: "ec2" };
  }
  if (type === "vpc_endpoint" || type === "gateway_load_balancer_endpoint" || /^VPC Endpoint Interface (vpce-[0-9a-f]+)/.test(description)) {
    const id = /(vpce-[0-9a-f]+)/.exec(description)?.[1];
    return { type: "ec2:vpc-endpoint", resource: id && `vpc-endpoint/${id}`, service: "ec2" };
  }
  if ((match = /^ELB ((?:app|net|gwy)\/[^/]+\/[0-9a-f]+)$/.exec(description) ?? /^ELB ([A-Za-z0-9-]+)$/.exec(description))) {
    return { type: "elasticloadbalancing:loadbalancer", resource: `loadbalancer/${match[1]}`, service: "elasticloadbalancing" };
  }
  if (type === "lambda" || description.startsWith("AWS Lambda VPC ENI-")) {
    const name = /^AWS Lambda VPC ENI-(.+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.exec(description)?.[1];
    return { type: "lambda:function", resource: name && `function:${name}`, service: "lambda" };
  }
  if (description === "RDSNetworkInterface") return { type: "rds:db" };
  if ((match = /^ElastiCache ([a-z0-9-]+)$/.exec(description))) return { type: "elasticache:cluster", resource: `cluster:${match[1]}`, service: "elasticache" };
  if ((match = /^EFS mount target for (fs-[0-9a-f]+)/.exec(description))) {
    return { type: "elasticfilesystem:file-system", resource: `file-system/${match[1]}`, service: "elasticfilesystem" };
  }
  // Branch ENIs are ECS's (awsvpc trunking) or EKS's (security groups for pods, `aws-k8s-branch-eni`): a pod is no ECS task.
  const eksPod = type === "branch" && description.startsWith("aws-k8s-branch-eni");
  if (/^arn:aws[a-z-]*:ecs:/.test(description) || eni.RequesterId === "578734482556" || (type === "branch" && !eksPod)) return { type: "ecs:task" };
  if (instanceId && !eni.RequesterManaged) return { type: "ec2:instance", resource: `instance/${instanceId}`, service: "ec2" };
  return { type: "ec2:network-interface", resource: eni.NetworkInterfaceId && `network-interface/${eni.NetworkInterfaceId}`, service: "ec2" };
}

/** What is known beside an ENI that says more about its resource. */
export interface HolderContext {
  /** Tags of instances, by id. */
  readonly instanceTags?: ReadonlyMap<string, Record<string, string>>;
  /** Tags the tagging API has, by ARN. */
  readonly resourceTags?: ReadonlyMap<string, Record<string, string>>;
  /** Availability zones of subnets, for ENIs that do not say theirs. */
  readonly subnetZones?: ReadonlyMap<string, string | undefined>;
  /** Availability zone ids of subnets, for ENIs that do not say theirs. */
  readonly subnetZoneIds?: ReadonlyMap<string, string | undefined>;
}

/** What an ENI says of the resource holding its addresses; undefined for an ENI without an id. */
export function holderOf(eni: NetworkInterface, context: HolderContext = {}): Holder | undefined {
  if (!eni.NetworkInterfaceId) return undefined;
  const zone = eni.AvailabilityZone ?? (eni.SubnetId ? context.subnetZones?.get(eni.SubnetId) : undefined);
  const zoneId = eni.AvailabilityZoneId ?? (eni.SubnetId ? context.subnetZoneIds?.get(eni.SubnetId) : undefined);
  const region = regionOfZone(zone);
  const { type, resource, service } = classifyInterface(eni);
  const arn = resource && service && region && eni.OwnerId ? `arn:aws:${service}:${region}:${eni.OwnerId}:${resource}` : undefined;
  const instanceId = eni.Attachment?.InstanceId;
  return {
    type,
    arn,
    interfaceId: eni.NetworkInterfaceId,
    subnetId: eni.SubnetId,
    vpcId: eni.VpcId,
    accountId: eni.OwnerId,
    securityGroupIds: (eni.Groups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])),
    availabilityZone: zone,
    availabilityZoneId: zoneId,
    region,
    // The owning resource's tags (the instance's, or what the tagging API has for its ARN), else the ENI's.
    tags: (type === "ec2:instance" && instanceId && context.instanceTags?.get(instanceId)) || (arn && context.resourceTags?.get(arn)) || tags(eni.TagSet),
  };
}

/** Every address an ENI holds: private and public IPv4 (Elastic or not), IPv6. */
export function addressesOf(eni: NetworkInterface): string[] {
  const addresses = new Set<string>();
  for (const a of eni.PrivateIpAddresses ?? []) {
    if (a.PrivateIpAddress) addresses.add(a.PrivateIpAddress);
    if (a.Association?.PublicIp) addresses.add(a.Association.PublicIp);
  }
  if (eni.PrivateIpAddress) addresses.add(eni.PrivateIpAddress);
  if (eni.Association?.PublicIp) addresses.add(eni.Association.PublicIp);
  for (const a of eni.Ipv6Addresses ?? []) if (a.Ipv6Address) addresses.add(a.Ipv6Address);
  return [...addresses];
}

/**
 * The prefix of `length` bits that `address` falls in, as `network/length` (the form an ENI's
 * delegated prefixes are held under); undefined when the address is not of `family`.
 */
function prefixKeyOf(address: string, family: "ipv4" | "ipv6", length: number): string | undefined {
  try {
    const network = family === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(`${address}/${length}`) : ipaddr.IPv6.networkAddressFromCIDR(`${address}/${length}`);
    return `${network.toString()}/${length}`;
  } catch {
    return undefined;
  }
}

/** The length of the prefixes EC2 delegates to an ENI, per family. */
const DELEGATED_PREFIX_LENGTH = { ipv4: 28, ipv6: 80 } as const;

/** The prefix EC2 would have delegated `address` from, as `network/length`; undefined when it is no address. */
export function delegatedPrefixKeyOf(address: string): string | undefined {
  const family = address.includes(":") ? "ipv6" : "ipv4";
  return prefixKeyOf(address, family, DELEGATED_PREFIX_LENGTH[family]);
}

/** The prefixes delegated to an ENI (EKS's prefix mode gives pods addresses from them), each as `network/length`. */
export function delegatedPrefixesOf(eni: { Ipv4Prefixes?: { Ipv4Prefix?: string }[]; Ipv6Prefixes?: { Ipv6Prefix?: string }[] }): string[] {
  const given = [...(eni.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix), ...(eni.Ipv6Prefixes ?? []).map((p) => p.Ipv6Prefix)];
  return given.flatMap((prefix) => {
    if (!prefix || !ipaddr.isValidCIDR(prefix)) return [];
    const [network, length] = ipaddr.parseCIDR(prefix);
    return prefixKeyOf(network.toString(), network.kind(), length) ?? [];
  });
}

/** Addresses whose key keyOf remembers at once: bounded like every cache here. */
const PREFIX_KEYS_HELD = 100_000;

const ipRangesIndexes = new WeakMap<IpRangesDocument, AwsIpRanges>();

/**
 * AWS's ranges indexed once per document: indexing the published file (some 12,000 prefixes) takes
 * about 90 ms, so a function that keeps the document across invocations keeps its index too, and
 * the answers the index has cached.
 */
function indexedIpRanges(document: IpRangesDocument): AwsIpRanges {
  let index = ipRangesIndexes.get(document);
  if (!index) {
    index = new AwsIpRanges(document);
    ipRangesIndexes.set(document, index);
  }
  return index;
}

/** Where a flow was logged: what picks the holder of an address ENIs in several places hold. */
export interface LoggedAt {
  readonly vpcId?: string;
  readonly accountId?: string;
  readonly region?: string;
}

/**
 * The one holder of `holders` that `pick` keeps, else, when `pick` keeps none, undefined to go on
 * to a looser test; `null` when it keeps more than one (which one held the address cannot be told).
 */
function onlyOne(holders: readonly Holder[], pick: (holder: Holder) => boolean): Holder | null | undefined {
  const kept = holders.filter(pick);
  return kept.length === 1 ? kept[0] : kept.length > 1 ? null : undefined;
}

/**
 * Which of the holders of one address held it for a flow logged at `at`: the only one, else the
 * one in its VPC, else the only one in its account and region, else in its account, else in its
 * region; undefined when none is, or more than one is (the address is then as unknown as one no
 * ENI holds). Private ranges repeat across VPCs: every region's default VPC is 172.31.0.0/16, and
 * accounts reuse ranges.
 */
export function holderWhereLogged(holders: readonly Holder[], at: LoggedAt): Holder | undefined {
  if (holders.length <= 1) return holders[0];
  const tests: ((holder: Holder) => boolean)[] = [
    (h) => at.vpcId !== undefined && h.vpcId === at.vpcId,
    (h) => at.accountId !== undefined && at.region !== undefined && h.accountId === at.accountId && h.region === at.region,
    (h) => at.accountId !== undefined && h.accountId === at.accountId,
    (h) => at.region !== undefined && h.region === at.region,
  ];
  for (const test of tests) {
    const found = onlyOne(holders, test);
    if (found !== undefined) return found ?? undefined;
  }
  return undefined;
}

/**
 * The inventory an enrichment runs against: every address an ENI holds (private, public/Elastic IP,
 * IPv6) to what holds it, security groups by id, and AWS's published ranges for the rest.
 */
export class Inventory {
  /**
   * Addresses one ENI of the inventory holds, to what holds it; and prefixes delegated to one ENI,
   * as `network/length` (keyOf finds an address's).
   */
  readonly byAddress = new Map<string, Holder>();
  /**
   * Addresses (and delegated prefixes) ENIs of more than one VPC hold, with every holder: ranges
   * overlap across VPCs (every region's default VPC is 172.31.0.0/16, and accounts reuse ranges).
   * Which one held such an address depends on where the flow was logged (holderFor); they are not
   * in byAddress.
   */
  readonly sharedAddresses = new Map<string, Holder[]>();
  /** True when an ENI of the inventory has delegated prefixes. */
  private holdsPrefixes = false;
  /** Addresses no ENI holds by themselves, to the key keyOf found for them. */
  private readonly prefixKeys = new Map<string, string>();
  readonly byInterface = new Map<string, Holder>();
  readonly securityGroups = new Map<string, SecurityGroup>();
  readonly prefixListNames = new Map<string, string>();
  readonly ipRanges?: AwsIpRanges;

  /**
   * `holders` makes each ENI's holder: an inventory built again from the same facts may hand back
   * the holder it made before, so that an enricher that outlives it keeps what it resolved (see
   * FlowEnricher.use). @default holderOf, a new holder each time
   */
  constructor(docs: InventoryDocuments, holders: (eni: NetworkInterface, context: HolderContext) => Holder | undefined = holderOf) {
    const resourceTags = new Map<string, Record<string, string>>();
    for (const mapping of docs.resources?.ResourceTagMappingList ?? []) {
      if (mapping.ResourceARN) resourceTags.set(mapping.ResourceARN, tags(mapping.Tags));
    }
    const instanceTags = new Map<string, Record<string, string>>();
    for (const r of docs.instances?.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId) instanceTags.set(i.InstanceId, tags(i.Tags));
    const subnetZones = new Map((docs.subnets?.Subnets ?? []).flatMap((s) => (s.SubnetId ? [[s.SubnetId, s.AvailabilityZone]] : [])));
    const subnetZoneIds = new Map((docs.subnets?.Subnets ?? []).flatMap((s) => (s.SubnetId ? [[s.SubnetId, s.AvailabilityZoneId]] : [])));
    for (const sg of docs.securityGroups?.SecurityGroups ?? []) if (sg.GroupId) this.securityGroups.set(sg.GroupId, sg);
    for (const pl of docs.managedPrefixLists?.PrefixLists ?? []) if (pl.PrefixListId) this.prefixListNames.set(pl.PrefixListId, pl.PrefixListName ?? pl.PrefixListId);
    if (docs.ipRanges) this.ipRanges = indexedIpRanges(docs.ipRanges);

    for (const eni of docs.networkInterfaces.NetworkInterfaces ?? []) {
      const holder = holders(eni, { instanceTags, resourceTags, subnetZones, subnetZoneIds });
      if (!holder) continue;
      this.byInterface.set(holder.interfaceId, holder);
      for (const address of addressesOf(eni)) this.hold(address, holder);
      for (const prefix of delegatedPrefixesOf(eni)) {
        this.holdsPrefixes = true;
        this.hold(prefix, holder);
      }
    }
  }

  /**
   * The key `address` is held under: itself when an ENI holds it, else the delegated prefix it
   * falls in when an ENI holds that (the address of an EKS pod in prefix mode), else itself.
   */
  keyOf(address: string): string {
    if (!this.holdsPrefixes || this.byAddress.has(address) || this.sharedAddresses.has(address)) return address;
    let key = this.prefixKeys.get(address);
    if (key === undefined) {
      const prefix = delegatedPrefixKeyOf(address);
      key = prefix !== undefined && (this.byAddress.has(prefix) || this.sharedAddresses.has(prefix)) ? prefix : address;
      if (this.prefixKeys.size >= PREFIX_KEYS_HELD) this.prefixKeys.clear();
      this.prefixKeys.set(address, key);
    }
    return key;
  }

  /** Notes that `holder` holds `address`; an ENI listed again (inventories merged) replaces itself. */
  private hold(address: string, holder: Holder): void {
    const shared = this.sharedAddresses.get(address);
    if (shared) {
      const again = shared.findIndex((h) => h.interfaceId === holder.interfaceId);
      if (again === -1) shared.push(holder);
      else shared[again] = holder;
      return;
    }
    const held = this.byAddress.get(address);
    if (held && held.interfaceId !== holder.interfaceId) {
      this.byAddress.delete(address);
      this.sharedAddresses.set(address, [held, holder]);
    } else this.byAddress.set(address, holder);
  }

  /** The holder of an address for a flow logged at `at` (see holderWhereLogged); undefined when no ENI holds it. */
  holderFor(address: string, at: LoggedAt): Holder | undefined {
    const key = this.keyOf(address);
    const holders = this.sharedAddresses.get(key);
    return holders ? holderWhereLogged(holders, at) : this.byAddress.get(key);
  }
}
