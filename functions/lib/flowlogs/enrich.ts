import type { SecurityGroup } from "@aws-sdk/client-ec2";
import { FIELD as IMPORTED_FIELD } from "./fields";
import { FNV_OFFSET, FNV_PRIME, INTERNED_VALUES as IMPORTED_INTERNED_VALUES } from "./interner";
import { isPrivateAddress } from "./ip-ranges";
import type { EndpointType, Holder, Inventory, LoggedAt } from "./inventory";
import { slotsOf, type FlowLogRecord, type RecordSlots } from "./record";
import { ipv4Number, parsedAddress, SecurityGroupRules, type Peer, type RuleMatch } from "./security-groups";

/** One end of an enriched flow. Fields a record cannot know are left out. */
export interface Side {
  Addr: string;
  Port?: number;
  Type: EndpointType;
  Arn?: string;
  InterfaceId?: string;
  SubnetId?: string;
  VpcId?: string;
  AccountId?: string;
  SecurityGroupIds?: string[];
  AvailabilityZone?: string;
  AvailabilityZoneId?: string;
  Region?: string;
  AwsService?: string;
  Rfc1918: boolean;
  Tags?: Record<string, string>;
  /** The rules of this side's security groups that admit the flow, on the side the traffic reached. */
  SecurityGroupRules?: string[];
}

/** An enriched record, as docs/enriched-record.md fixes its shape. */
export interface EnrichedRecord {
  Version?: number;
  AccountId?: string;
  InterfaceId?: string;
  Protocol?: string;
  Start?: number;
  End?: number;
  Action?: string;
  LogStatus?: string;
  Uploaded: number;
  Downloaded: number;
  Packets: number;
  Client?: Side;
  Server?: Side;
  CrossAz?: boolean;
}

/** A local copy: an imported binding is read through a getter in CommonJS output, too slow per record. */
const FIELD = { ...IMPORTED_FIELD };
const INTERNED_VALUES = IMPORTED_INTERNED_VALUES;

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6" };

export function protocolName(protocol: number | undefined): string | undefined {
  return protocol === undefined ? undefined : (PROTOCOL_NAMES[protocol] ?? String(protocol));
}

/** FNV-1a of a string's UTF-16 code units: stable for equal strings, whichever object holds them. */
function stringHash(text: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash;
}

/**
 * An address resolved once: what held it, as the enriched side shows it, and its JSON, shared
 * by every flow that names it (nothing here is modified after construction).
 */
export class Endpoint implements Peer {
  /** The side without a port or rules. */
  readonly side: Readonly<Side>;
  /** `,"Client":{"Addr":"…"` and `,"Server":{"Addr":"…"`: what comes before the port, in either role. */
  readonly clientJsonHead: Buffer;
  readonly serverJsonHead: Buffer;
  /** `,"Type":…` up to, not including, the closing brace: what comes after the port. */
  readonly jsonRest: Buffer;
  /** The side's Type, InterfaceId, zone and account, read per record without touching the side. */
  readonly type: EndpointType;
  readonly interfaceId?: string;
  readonly availabilityZone?: string;
  readonly availabilityZoneId?: string;
  readonly accountId?: string;
  readonly hash: number;
  /**
   * The resource it stands for in a window's key: its ARN, else its AWS service, else its address
   * (every address of a load balancer, or of S3, is one resource); and a hash of it.
   */
  readonly identity: string;
  readonly identityHash: number;
  readonly parsed: Peer["parsed"];
  readonly ipv4: number | undefined;
  readonly securityGroupIds: readonly string[];
  /** Its security groups' rules, when it has groups. */
  readonly rules?: SecurityGroupRules;

  constructor(
    readonly address: string,
    side: Side,
    rules: SecurityGroupRules | undefined,
    /** What the inventory said held the address (undefined: nothing in it). */
    readonly holder?: Holder,
    /**
     * True for an address ENIs of several VPCs hold, before it is told which: each record's is
     * resolved by where it was logged (Inventory.holderFor); this one stands for none of them.
     */
    readonly shared = false,
  ) {
    this.side = side;
    const json = JSON.stringify(side);
    const head = `{"Addr":${JSON.stringify(address)}`;
    this.clientJsonHead = Buffer.from(`,"Client":${head}`);
    this.serverJsonHead = Buffer.from(`,"Server":${head}`);
    this.jsonRest = Buffer.from(json.slice(head.length, -1));
    this.type = side.Type;
    this.interfaceId = side.InterfaceId;
    this.availabilityZone = side.AvailabilityZone;
    this.availabilityZoneId = side.AvailabilityZoneId;
    this.accountId = side.AccountId;
    this.hash = stringHash(address);
    this.identity = side.Arn ?? side.AwsService ?? address;
    this.identityHash = stringHash(this.identity);
    this.parsed = parsedAddress(address);
    this.ipv4 = ipv4Number(this.parsed);
    this.securityGroupIds = side.SecurityGroupIds ?? [];
    this.rules = rules;
  }
}

/**
 * One flow on its way out: a record enriched, possibly merged with its reverse. `Client` and
 * `Server` are shared endpoints; what is particular to the flow (ports, rules, counts) is here.
 */
export class Flow {
  version?: number;
  accountId?: string;
  interfaceId?: string;
  protocol?: number;
  start?: number;
  end?: number;
  action?: string;
  logStatus?: string;
  /** The record's az-id: the zone id of the ENI that logged it, when the format has it. */
  loggedZoneId?: string;
  uploaded = 0;
  downloaded = 0;
  packets = 0;
  client?: Endpoint;
  clientPort?: number;
  server?: Endpoint;
  serverPort?: number;
  clientRules?: RuleMatch;
  serverRules?: RuleMatch;
  /** Which directions the flow's records carried: CLIENT_TO_SERVER, SERVER_TO_CLIENT, or both once merged. */
  directions = 0;
  /** FlowMerger's bookkeeping: the next flow in its bucket, and its place in arrival order while it waits (else -1). */
  nextInBucket?: Flow;
  arrival = -1;
}

export const CLIENT_TO_SERVER = 1;
export const SERVER_TO_CLIENT = 2;

function sideOfHolder(address: string, h: Holder, Rfc1918: boolean): Side {
  const side = { Addr: address, Type: h.type } as Side;
  if (h.arn) side.Arn = h.arn;
  side.InterfaceId = h.interfaceId;
  if (h.subnetId) side.SubnetId = h.subnetId;
  if (h.vpcId) side.VpcId = h.vpcId;
  if (h.accountId) side.AccountId = h.accountId;
  if (h.securityGroupIds.length > 0) side.SecurityGroupIds = h.securityGroupIds as string[];
  if (h.availabilityZone) side.AvailabilityZone = h.availabilityZone;
  if (h.availabilityZoneId) side.AvailabilityZoneId = h.availabilityZoneId;
  if (h.region) side.Region = h.region;
  side.Rfc1918 = Rfc1918;
  if (Object.keys(h.tags).length > 0) side.Tags = h.tags as Record<string, string>;
  return side;
}

/** Endpoints held at once: a flood of distinct internet addresses must not grow memory without end. */
const ENDPOINTS_HELD = 200_000;

export interface FlowEnricherOptions {
  /**
   * What held an address when a record was captured, for inventories that know ownership over
   * time. @default - the inventory's holder of the address (one, whatever the time)
   */
  readonly holderAt?: (address: string, record: RecordSlots) => Holder | undefined;
}

/**
 * Enriches records against an inventory. Addresses are resolved once and security group rule
 * sets compiled once; a record then costs a few map lookups and comparisons. An enricher may
 * outlive its inventory (use()): what it resolved is kept while the next inventory says the same.
 */
export class FlowEnricher {
  /** Endpoints by address, each valid while the inventory's holder of its address is the holder it was resolved from. */
  private readonly endpoints = new Map<string, Endpoint>();
  /**
   * Endpoints by the interner entry a scanner gave their address: an array index instead of a
   * string lookup. Made on first use (6 ms): enrichers of record objects, one per batch, have no entries.
   */
  private endpointsByEntry?: (Endpoint | undefined)[];
  /** With `holderAt`: endpoints per holder and address (a holder's endpoint is the same for every record it holds). */
  private heldEndpoints = new WeakMap<Holder, Map<string, Endpoint>>();
  /** Compiled rules by their groups' ids, with the groups they were compiled from. */
  private readonly ruleSets = new Map<string, { groups: readonly SecurityGroup[]; rules: SecurityGroupRules }>();
  /** The security group of each id in the inventories used so far, as last seen. */
  private readonly groupsSeen = new Map<string, SecurityGroup>();

  constructor(
    private inventory: Inventory,
    private readonly options: FlowEnricherOptions = {},
  ) {
    this.seeGroups(inventory);
  }

  /**
   * Enriches against `inventory` from now on (a function's next batch), keeping what was resolved
   * where it still holds: an address's endpoint while its holder is the same object (an inventory
   * makes a new one when what it knows of the ENI changes), and every endpoint while the security
   * groups are the same objects (an endpoint carries its groups' rules; a group answered anew may
   * have other rules, so all are resolved again).
   */
  use(inventory: Inventory): void {
    const groupsChanged = this.seeGroups(inventory);
    // Addresses no ENI holds are told by AWS's ranges.
    if (groupsChanged || inventory.ipRanges !== this.inventory.ipRanges) this.endpoints.clear();
    if (groupsChanged) this.heldEndpoints = new WeakMap();
    this.inventory = inventory;
    this.endpointsByEntry = undefined;
  }

  /** Notes the inventory's security groups; true when one of them is another object than the one seen before under its id. */
  private seeGroups(inventory: Inventory): boolean {
    let changed = false;
    for (const [id, group] of inventory.securityGroups) {
      const seen = this.groupsSeen.get(id);
      if (seen !== undefined && seen !== group) changed = true;
      this.groupsSeen.set(id, group);
    }
    return changed;
  }

  /**
   * What held an address, from the inventory, else AWS's published ranges, else the internet; for
   * an address ENIs of several VPCs hold, a shared endpoint (endpointAt resolves it per record).
   */
  endpoint(address: string): Endpoint {
    const key = this.inventory.keyOf(address);
    const holder = this.inventory.byAddress.get(key);
    const shared = holder === undefined && this.inventory.sharedAddresses.size > 0 && this.inventory.sharedAddresses.has(key);
    let endpoint = this.endpoints.get(address);
    if (endpoint && endpoint.holder === holder && endpoint.shared === shared) return endpoint;
    endpoint = shared ? new Endpoint(address, { Addr: address, Type: "unknown", Rfc1918: isPrivateAddress(address) }, undefined, undefined, true) : this.resolve(address, holder);
    if (this.endpoints.size >= ENDPOINTS_HELD) this.endpoints.clear();
    this.endpoints.set(address, endpoint);
    return endpoint;
  }

  /** The endpoint of an address a scanner interned as `entry` (-1: not interned). Entries are reused, so the address is checked. */
  private endpointOfEntry(address: string, entry: number): Endpoint {
    if (entry < 0 || entry >= INTERNED_VALUES) return this.endpoint(address);
    const byEntry = (this.endpointsByEntry ??= Array.from({ length: INTERNED_VALUES }, () => undefined));
    const known = byEntry[entry];
    if (known !== undefined && known.address === address) return known;
    const endpoint = this.endpoint(address);
    byEntry[entry] = endpoint;
    return endpoint;
  }

  /** The endpoint of an address a known holder held (or, for undefined, no ENI did). */
  private heldEndpoint(address: string, holder: Holder | undefined): Endpoint {
    if (!holder) return this.endpoint(address);
    let byAddress = this.heldEndpoints.get(holder);
    if (!byAddress) {
      byAddress = new Map();
      this.heldEndpoints.set(holder, byAddress);
    }
    let endpoint = byAddress.get(address);
    if (!endpoint) {
      endpoint = this.resolve(address, holder);
      byAddress.set(address, endpoint);
    }
    return endpoint;
  }

  private resolve(address: string, holder: Holder | undefined): Endpoint {
    const Rfc1918 = isPrivateAddress(address);
    let side: Side;
    if (holder) side = sideOfHolder(address, holder, Rfc1918);
    else if (!Rfc1918) {
      const aws = this.inventory.ipRanges?.lookup(address);
      side = aws
        ? { Addr: address, Type: "aws:service", AwsService: aws.service, ...(aws.region !== "GLOBAL" ? { Region: aws.region } : {}), Rfc1918 }
        : { Addr: address, Type: "internet", Rfc1918 };
    } else side = { Addr: address, Type: "unknown", Rfc1918 };
    return new Endpoint(address, side, holder && holder.securityGroupIds.length > 0 ? this.rulesOf(holder.securityGroupIds) : undefined, holder);
  }

  private rulesOf(groupIds: readonly string[]): SecurityGroupRules {
    const key = groupIds.join(",");
    const groups = groupIds.flatMap((id) => this.inventory.securityGroups.get(id) ?? []);
    const compiled = this.ruleSets.get(key);
    if (compiled && compiled.groups.length === groups.length && compiled.groups.every((group, i) => group === groups[i])) return compiled.rules;
    const rules = new SecurityGroupRules(groups, this.inventory.prefixListNames);
    this.ruleSets.set(key, { groups, rules });
    return rules;
  }

  /** The endpoint of the address in a record's `field`. */
  private endpointAt(r: RecordSlots, field: number): Endpoint {
    const endpoint = this.endpointOfAddress(r, field);
    return endpoint.shared ? this.heldEndpoint(endpoint.address, this.inventory.holderFor(endpoint.address, this.recordLoggedAt(r))) : endpoint;
  }

  /** The endpoint of the address in a record's `field`, shared when ENIs of several VPCs hold it. */
  private endpointOfAddress(r: RecordSlots, field: number): Endpoint {
    const address = r.texts[field]!;
    const holderAt = this.options.holderAt;
    return holderAt ? this.heldEndpoint(address, holderAt(address, r)) : r.entries ? this.endpointOfEntry(address, r.entries[field]) : this.endpoint(address);
  }

  /** Where a record was logged, its own fields filled in from the inventory's ENI that logged it. */
  private recordLoggedAt(r: RecordSlots): LoggedAt {
    return loggedAt(r, r.present[FIELD["interface-id"]] ? this.inventory.byInterface.get(r.texts[FIELD["interface-id"]]!) : undefined);
  }

  /**
   * A hash of the resources at a record's two ends, the same in either order (0 without both):
   * equal for a flow's two directions and for every flow of a window's key, whatever addresses
   * of those resources each names (but an address ENIs of several VPCs hold counts as itself).
   */
  resourcesHash(r: RecordSlots): number {
    const srcField = sourceField(r.present);
    const dstField = destinationField(r.present);
    if (srcField === -1 || dstField === -1) return 0;
    // A shared address is hashed as itself: the slots of a record scanned for its addresses alone do not say where it was logged.
    return (this.endpointOfAddress(r, srcField).identityHash + this.endpointOfAddress(r, dstField).identityHash) | 0;
  }

  /** Enriches one record: both ends resolved, oriented, security group rules of the side it reached. */
  enrich(r: RecordSlots): Flow {
    const { present, ints, texts } = r;
    const flow = new Flow();
    if (present[FIELD.version]) flow.version = ints[FIELD.version];
    if (present[FIELD["account-id"]]) flow.accountId = texts[FIELD["account-id"]];
    if (present[FIELD["interface-id"]]) flow.interfaceId = texts[FIELD["interface-id"]];
    const protocol = present[FIELD.protocol] ? ints[FIELD.protocol] : undefined;
    flow.protocol = protocol;
    if (present[FIELD.start]) flow.start = ints[FIELD.start];
    if (present[FIELD.end]) flow.end = ints[FIELD.end];
    if (present[FIELD.action]) flow.action = texts[FIELD.action];
    if (present[FIELD["log-status"]]) flow.logStatus = texts[FIELD["log-status"]];
    if (present[FIELD["az-id"]]) flow.loggedZoneId = texts[FIELD["az-id"]];
    if (present[FIELD.packets]) flow.packets = ints[FIELD.packets];

    const srcField = sourceField(present);
    const dstField = destinationField(present);
    if (srcField === -1 || dstField === -1) return flow;
    const hasPorts = present[FIELD.srcport] === 1 && present[FIELD.dstport] === 1 && (protocol === 6 || protocol === 17 || protocol === 132);
    const source = this.endpointAt(r, srcField);
    const destination = this.endpointAt(r, dstField);
    const sourcePort = hasPorts ? ints[FIELD.srcport] : undefined;
    const destinationPort = hasPorts ? ints[FIELD.dstport] : undefined;
    const flags = present[FIELD["tcp-flags"]] ? ints[FIELD["tcp-flags"]] : undefined;
    const clientIsSource = hasPorts ? sourceIsClient(flags, protocol ?? 0, source, sourcePort!, destination, destinationPort!) : true;
    const bytes = present[FIELD.bytes] ? ints[FIELD.bytes] : 0;
    flow.client = clientIsSource ? source : destination;
    flow.clientPort = clientIsSource ? sourcePort : destinationPort;
    flow.server = clientIsSource ? destination : source;
    flow.serverPort = clientIsSource ? destinationPort : sourcePort;
    flow.directions = clientIsSource ? CLIENT_TO_SERVER : SERVER_TO_CLIENT;
    flow.uploaded = clientIsSource ? bytes : 0;
    flow.downloaded = clientIsSource ? 0 : bytes;

    // The rules of the side the traffic reached: the destination's inbound rules for ingress, the source's
    // outbound for egress. Security groups are stateful, so only the direction that opened the connection is judged.
    const logged = flow.interfaceId;
    const direction = present[FIELD["flow-direction"]]
      ? texts[FIELD["flow-direction"]]
      : logged === undefined
        ? undefined
        : destination.interfaceId === logged
          ? "ingress"
          : source.interfaceId === logged
            ? "egress"
            : undefined;
    if (clientIsSource && protocol !== undefined && direction !== undefined) {
      if (direction === "ingress") flow.serverRules = destination.rules?.admitting("inbound", protocol, destinationPort, source);
      else flow.clientRules = source.rules?.admitting("outbound", protocol, destinationPort, destination);
    }
    return flow;
  }
}

/** Where a record was logged: its own VPC, account and region fields, else those of `logger`, the ENI that logged it, when known. */
export function loggedAt(r: RecordSlots, logger?: Holder): LoggedAt {
  const { present, texts } = r;
  return {
    vpcId: present[FIELD["vpc-id"]] ? texts[FIELD["vpc-id"]] : logger?.vpcId,
    accountId: present[FIELD["account-id"]] ? texts[FIELD["account-id"]] : logger?.accountId,
    region: present[FIELD.region] ? texts[FIELD.region] : logger?.region,
  };
}

/** The field that holds a record's source address (its `pkt-` one when it has one, as behind a NAT gateway), or -1. */
function sourceField(present: Uint8Array): number {
  return present[FIELD["pkt-srcaddr"]] ? FIELD["pkt-srcaddr"] : present[FIELD.srcaddr] ? FIELD.srcaddr : -1;
}

/** The field that holds a record's destination address (its `pkt-` one when it has one), or -1. */
function destinationField(present: Uint8Array): number {
  return present[FIELD["pkt-dstaddr"]] ? FIELD["pkt-dstaddr"] : present[FIELD.dstaddr] ? FIELD.dstaddr : -1;
}

/**
 * True when the source of the record opened the connection, by the rules docs/enriched-record.md fixes: SYN
 * without ACK; else a port below 1024 or one the other side's groups admit inbound serves;
 * else the lower port serves.
 */
function sourceIsClient(flags: number | undefined, protocol: number, source: Endpoint, sourcePort: number, destination: Endpoint, destinationPort: number): boolean {
  if (flags !== undefined) {
    const syn = (flags & 0x02) !== 0;
    const ack = (flags & 0x10) !== 0;
    if (syn && !ack) return true;
    if (syn && ack) return false;
  }
  const destinationServes = destinationPort < 1024 || (destination.rules?.admits("inbound", protocol, destinationPort, source) ?? false);
  // Where the port order agrees with the destination's answer, the source's cannot change it: it is not asked.
  if (destinationServes === destinationPort <= sourcePort) return destinationServes;
  const sourceServes = sourcePort < 1024 || (source.rules?.admits("inbound", protocol, sourcePort, destination) ?? false);
  if (destinationServes !== sourceServes) return destinationServes;
  return destinationPort <= sourcePort;
}

function sideOf(endpoint: Endpoint, port: number | undefined, rules: RuleMatch | undefined): Side {
  const { Addr, ...rest } = endpoint.side;
  const side = (port === undefined ? { Addr, ...rest } : { Addr, Port: port, ...rest }) as Side;
  if (rules) side.SecurityGroupRules = [...rules.rules];
  return side;
}

/** A flow as the enriched record object docs/enriched-record.md shows, keys in its order, absent fields left out. */
export function toEnrichedRecord(flow: Flow): EnrichedRecord {
  const record = {} as EnrichedRecord;
  if (flow.version !== undefined) record.Version = flow.version;
  if (flow.accountId !== undefined) record.AccountId = flow.accountId;
  if (flow.interfaceId !== undefined) record.InterfaceId = flow.interfaceId;
  if (flow.protocol !== undefined) record.Protocol = protocolName(flow.protocol);
  if (flow.start !== undefined) record.Start = flow.start;
  if (flow.end !== undefined) record.End = flow.end;
  if (flow.action !== undefined) record.Action = flow.action;
  if (flow.logStatus !== undefined) record.LogStatus = flow.logStatus;
  record.Uploaded = flow.uploaded;
  record.Downloaded = flow.downloaded;
  record.Packets = flow.packets;
  if (flow.client && flow.server) {
    record.Client = sideOf(flow.client, flow.clientPort, flow.clientRules);
    record.Server = sideOf(flow.server, flow.serverPort, flow.serverRules);
    const crossAz = crossAzOf(flow);
    if (crossAz !== undefined) record.CrossAz = crossAz;
  }
  return record;
}

/** An end's zone id: the inventory's, else, for the end whose ENI logged the record, the record's az-id. */
function zoneIdOf(endpoint: Endpoint, flow: Flow): string | undefined {
  return endpoint.availabilityZoneId ?? (endpoint.interfaceId !== undefined && endpoint.interfaceId === flow.interfaceId ? flow.loggedZoneId : undefined);
}

/**
 * Whether a flow with both ends crossed availability zones: by zone id when both ends have one;
 * by zone name only when both ends are in one account (names are mapped to physical zones per
 * account, so `us-east-1a` of two accounts may be two zones); else not known (undefined).
 */
export function crossAzOf(flow: Flow): boolean | undefined {
  const client = flow.client!;
  const server = flow.server!;
  const clientZoneId = zoneIdOf(client, flow);
  const serverZoneId = zoneIdOf(server, flow);
  if (clientZoneId && serverZoneId) return clientZoneId !== serverZoneId;
  if (client.availabilityZone && server.availabilityZone && client.accountId !== undefined && client.accountId === server.accountId) {
    return client.availabilityZone !== server.availabilityZone;
  }
  return undefined;
}

const enrichers = new WeakMap<Inventory, FlowEnricher>();

/** The enricher of an inventory, made once. */
export function enricherOf(inventory: Inventory): FlowEnricher {
  let enricher = enrichers.get(inventory);
  if (!enricher) {
    enricher = new FlowEnricher(inventory);
    enrichers.set(inventory, enricher);
  }
  return enricher;
}

/** Enriches one record object on its own (code that streams records uses FlowEnricher and FlowMerger). */
export function enrichRecord(record: FlowLogRecord, inventory: Inventory): EnrichedRecord {
  return toEnrichedRecord(enricherOf(inventory).enrich(slotsOf(record)));
}

/** The merge key of a flow: equal for a record and its reverse (mirrored ends land on the same client and server). */
function mergeHash(f: Flow): number {
  let h = Math.imul(f.client!.hash, 0x9e3779b1) ^ Math.imul(f.server!.hash, 0x85ebca6b);
  h = Math.imul(h ^ (f.clientPort ?? 0x10000), 0xc2b2ae35) ^ Math.imul(f.serverPort ?? 0x10000, 0x27d4eb2f);
  h = Math.imul(h ^ f.start!, 0x165667b1) ^ (f.protocol ?? 256);
  return h >>> 1;
}

/** True when `b` is the reverse of `a`: the same flow, the other direction (a repeated record is not its own reverse). */
function isReverse(a: Flow, b: Flow): boolean {
  return (
    (a.directions & b.directions) === 0 &&
    a.start === b.start &&
    a.interfaceId === b.interfaceId &&
    a.protocol === b.protocol &&
    a.client!.address === b.client!.address &&
    a.server!.address === b.server!.address &&
    a.clientPort === b.clientPort &&
    a.serverPort === b.serverPort
  );
}

/** How long a flow waits for its reverse by default, in seconds of input time. */
export const MERGE_HORIZON_SECONDS = 900;

/**
 * Records in a row older than the horizon that are taken for another series (input that goes back
 * in time without saying so: log streams put together) rather than for late ones. Late records
 * come alone or a few at a time; a series brings its whole length.
 */
export const LATE_RUN_BEGINS_SERIES = 64;

/**
 * Merges the two directions of flows as they stream by: two records are one flow when the same
 * ENI logged them in the same capture window, with the same protocol and mirrored ends (a
 * record repeated, as a file read twice repeats them, is not its own reverse). A flow
 * waits for its reverse until the input moves `horizonSeconds` past its window, then comes out
 * alone (Downloaded or Uploaded 0). Memory holds only the flows that wait: a flow is let go of
 * as soon as it is merged or its horizon passes.
 *
 * Input that goes back in time begins another series (rewindIfBehind, when the caller knows where
 * one begins; else a run of LATE_RUN_BEGINS_SERIES records older than the horizon): what waited
 * goes out, `rewound` is called, and time starts again from the new series.
 */
export class FlowMerger {
  private readonly buckets = new Map<number, Flow>();
  /** Waiting flows in arrival order (a merged one leaves a hole): the horizon passes them front first. */
  private arrivals: (Flow | undefined)[] = [];
  /** The arrival number of `arrivals[0]`. */
  private arrivalBase = 0;
  private head = 0;
  private latestStart = 0;
  /** Flows older than the horizon, in a row: held until they make a series or a flow in time ends the run. */
  private lateRun: Flow[] = [];

  /**
   * `emit` receives each flow once it is complete; `rewound`, when a series begins, after what
   * waited went out and before any flow of the new series (so that windows downstream start again too).
   */
  constructor(
    private readonly emit: (flow: Flow) => void,
    private readonly horizonSeconds = MERGE_HORIZON_SECONDS,
    private readonly rewound?: () => void,
  ) {}

  push(flow: Flow): void {
    if (!flow.client || !flow.server || flow.interfaceId === undefined || flow.start === undefined) {
      this.emit(flow);
      return;
    }
    if (this.behindHorizon(flow.start)) {
      this.lateRun.push(flow);
      if (this.lateRun.length === LATE_RUN_BEGINS_SERIES) {
        const run = this.lateRun;
        this.lateRun = [];
        this.rewind(run[0].start!);
        for (const held of run) this.place(held);
      }
      return;
    }
    this.endLateRun();
    this.place(flow);
  }

  /** Lets the late flows held go: each merges with what waits, or goes out alone. */
  private endLateRun(): void {
    if (this.lateRun.length === 0) return;
    const run = this.lateRun;
    this.lateRun = [];
    for (const held of run) this.place(held);
  }

  private place(flow: Flow): void {
    const hash = mergeHash(flow);
    let waiting = this.buckets.get(hash);
    let previous: Flow | undefined;
    while (waiting && !isReverse(waiting, flow)) {
      previous = waiting;
      waiting = waiting.nextInBucket;
    }
    if (waiting) {
      this.unlink(hash, waiting, previous);
      merge(waiting, flow);
      this.emit(waiting);
    } else if (this.behindHorizon(flow.start!)) {
      // Late (older than the horizon): its reverse has gone by already, so it does not wait.
      this.emit(flow);
    } else {
      // At the bucket's tail (the walk ended there), so a reverse finds the earliest of repeats.
      if (previous) previous.nextInBucket = flow;
      else this.buckets.set(hash, flow);
      flow.arrival = this.arrivalBase + this.arrivals.length;
      this.arrivals.push(flow);
    }
    if (flow.start! > this.latestStart) this.advance(flow.start!);
  }

  private advance(latestStart: number): void {
    this.latestStart = latestStart;
    const horizon = latestStart - this.horizonSeconds;
    const arrivals = this.arrivals;
    while (this.head < arrivals.length) {
      const old = arrivals[this.head];
      if (old !== undefined) {
        if (old.start! >= horizon) break;
        this.remove(old);
        this.emit(old);
      }
      this.head++;
    }
    if (this.head > 65_536) {
      this.arrivals = arrivals.slice(this.head);
      this.arrivalBase += this.head;
      this.head = 0;
    }
  }

  private remove(flow: Flow): void {
    const hash = mergeHash(flow);
    let current = this.buckets.get(hash);
    let previous: Flow | undefined;
    while (current && current !== flow) {
      previous = current;
      current = current.nextInBucket;
    }
    this.unlink(hash, flow, previous);
  }

  /** Takes a waiting flow out of its bucket (after `previous` in it, if any) and out of arrival order. */
  private unlink(hash: number, flow: Flow, previous: Flow | undefined): void {
    if (previous) previous.nextInBucket = flow.nextInBucket;
    else if (flow.nextInBucket) this.buckets.set(hash, flow.nextInBucket);
    else this.buckets.delete(hash);
    flow.nextInBucket = undefined;
    this.arrivals[flow.arrival - this.arrivalBase] = undefined;
    flow.arrival = -1;
  }

  /**
   * When `start` is older than the horizon behind the input's time (a file that begins a series of
   * its own: another flow log's, the next log stream of a CloudWatch Logs export), lets go of every
   * waiting flow (their reverses were in the series that ended) and lets time start again from
   * `start`, so that the new series merges rather than pass for late.
   */
  rewindIfBehind(start: number): void {
    if (this.behindHorizon(start)) this.rewind(start);
  }

  /** True when `start` is older than the horizon behind the input's time: late, or of another series. */
  private behindHorizon(start: number): boolean {
    return start < this.latestStart - this.horizonSeconds;
  }

  private rewind(start: number): void {
    this.flush();
    this.latestStart = start;
    this.rewound?.();
  }

  /** Emits what still waits, at the end of the input. */
  flush(): void {
    this.endLateRun();
    for (let i = this.head; i < this.arrivals.length; i++) {
      const flow = this.arrivals[i];
      if (flow === undefined) continue;
      flow.arrival = -1;
      flow.nextInBucket = undefined;
      this.emit(flow);
    }
    this.buckets.clear();
    this.arrivals = [];
    this.arrivalBase = 0;
    this.head = 0;
  }
}

function merge(into: Flow, reverse: Flow): void {
  into.end = Math.max(into.end ?? 0, reverse.end ?? 0) || into.end;
  into.uploaded += reverse.uploaded;
  into.downloaded += reverse.downloaded;
  into.packets += reverse.packets;
  into.directions |= reverse.directions;
  if (reverse.clientRules) into.clientRules = reverse.clientRules;
  if (reverse.serverRules) into.serverRules = reverse.serverRules;
}
