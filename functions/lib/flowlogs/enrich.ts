import type { SecurityGroup } from "@aws-sdk/client-ec2";
import { isPrivateAddress } from "./ip-ranges";
import type { EndpointType, Holder, Inventory } from "./inventory";
import type { FlowLogRecord } from "./record";
import { admittingRules } from "./security-groups";

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
  Region?: string;
  AwsService?: string;
  Rfc1918: boolean;
  Tags?: Record<string, string>;
  /** The rules of this side's security groups that admit the flow, on the side the traffic reached. */
  SecurityGroupRules?: string[];
}

/** An enriched record, in the shape DESIGN.md fixes. */
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

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6" };

export function protocolName(protocol: number | undefined): string | undefined {
  return protocol === undefined ? undefined : (PROTOCOL_NAMES[protocol] ?? String(protocol));
}

/**
 * What is known of an address, without the port: resolved once per address and shared by every
 * record that names it (its arrays and tags are never modified).
 */
const resolvedSides = new WeakMap<Inventory, Map<string, Side>>();

function resolveAddress(address: string, inventory: Inventory): Side {
  let cache = resolvedSides.get(inventory);
  if (!cache) {
    cache = new Map();
    resolvedSides.set(inventory, cache);
  }
  let side = cache.get(address);
  if (side) return side;
  const holder = inventory.byAddress.get(address);
  const Rfc1918 = isPrivateAddress(address);
  if (holder) side = fromHolder(address, holder, Rfc1918);
  else if (!Rfc1918) {
    const aws = inventory.ipRanges?.lookup(address);
    side = aws
      ? { Addr: address, Type: "aws:service", AwsService: aws.service, ...(aws.region !== "GLOBAL" ? { Region: aws.region } : {}), Rfc1918 }
      : { Addr: address, Type: "internet", Rfc1918 };
  } else side = { Addr: address, Type: "unknown", Rfc1918 };
  // Bounded: a flood of distinct internet addresses must not grow memory without end.
  if (cache.size > 200_000) cache.clear();
  cache.set(address, side);
  return side;
}

/** A record's side: the address's shared resolution, with the record's port first after the address. */
function sideOf(address: string, inventory: Inventory, port: number | undefined): Side {
  const resolved = resolveAddress(address, inventory);
  if (port === undefined) return { ...resolved };
  const { Addr, ...rest } = resolved;
  return { Addr, Port: port, ...rest } as Side;
}

function fromHolder(address: string, h: Holder, Rfc1918: boolean): Side {
  const side = { Addr: address, Type: h.type } as Side;
  if (h.arn) side.Arn = h.arn;
  side.InterfaceId = h.interfaceId;
  if (h.subnetId) side.SubnetId = h.subnetId;
  if (h.vpcId) side.VpcId = h.vpcId;
  if (h.accountId) side.AccountId = h.accountId;
  if (h.securityGroupIds.length > 0) side.SecurityGroupIds = h.securityGroupIds as string[];
  if (h.availabilityZone) side.AvailabilityZone = h.availabilityZone;
  if (h.region) side.Region = h.region;
  side.Rfc1918 = Rfc1918;
  if (Object.keys(h.tags).length > 0) side.Tags = h.tags as Record<string, string>;
  return side;
}

const groupsOf = (side: Side, inventory: Inventory): SecurityGroup[] =>
  (side.SecurityGroupIds ?? []).flatMap((id) => {
    const g = inventory.securityGroups.get(id);
    return g ? [g] : [];
  });

/** True when the source of the record opened the connection, by the rules DESIGN.md fixes. */
export function sourceIsClient(r: FlowLogRecord, source: Side, destination: Side, inventory: Inventory): boolean {
  const flags = r["tcp-flags"] as number | undefined;
  if (flags !== undefined) {
    const syn = (flags & 0x02) !== 0;
    const ack = (flags & 0x10) !== 0;
    if (syn && !ack) return true;
    if (syn && ack) return false;
  }
  const sport = r.srcport as number | undefined;
  const dport = r.dstport as number | undefined;
  if (sport === undefined || dport === undefined) return true;
  const protocol = (r.protocol as number | undefined) ?? 0;
  const admitsInbound = (side: Side, port: number, peer: Side) =>
    admittingRules(groupsOf(side, inventory), "inbound", protocol, port, { address: peer.Addr, securityGroupIds: peer.SecurityGroupIds ?? [] }, inventory.prefixListNames).length > 0;
  const destinationServes = dport < 1024 || admitsInbound(destination, dport, source);
  const sourceServes = sport < 1024 || admitsInbound(source, sport, destination);
  if (destinationServes !== sourceServes) return destinationServes;
  return dport <= sport;
}

/** Enriches one record on its own: both ends resolved, oriented, security group rules of the reached side. */
export function enrichRecord(r: FlowLogRecord, inventory: Inventory): EnrichedRecord {
  const protocol = r.protocol as number | undefined;
  // Keys in the order DESIGN.md shows them; fields the record lacks are left out.
  const base = {
    Version: r.version as number | undefined,
    AccountId: r["account-id"] === undefined ? undefined : String(r["account-id"]),
    InterfaceId: r["interface-id"] === undefined ? undefined : String(r["interface-id"]),
    Protocol: protocolName(protocol),
    Start: r.start as number | undefined,
    End: r.end as number | undefined,
    Action: r.action === undefined ? undefined : String(r.action),
    LogStatus: r["log-status"] === undefined ? undefined : String(r["log-status"]),
    Uploaded: 0,
    Downloaded: 0,
    Packets: (r.packets as number | undefined) ?? 0,
  } as EnrichedRecord;
  for (const key of Object.keys(base) as (keyof EnrichedRecord)[]) if (base[key] === undefined) delete base[key];

  const srcAddr = String(r["pkt-srcaddr"] ?? r.srcaddr ?? "");
  const dstAddr = String(r["pkt-dstaddr"] ?? r.dstaddr ?? "");
  if (!srcAddr || !dstAddr) return base;
  const hasPorts = r.srcport !== undefined && r.dstport !== undefined && (protocol === 6 || protocol === 17 || protocol === 132);
  const source = sideOf(srcAddr, inventory, hasPorts ? (r.srcport as number) : undefined);
  const destination = sideOf(dstAddr, inventory, hasPorts ? (r.dstport as number) : undefined);
  const clientIsSource = hasPorts ? sourceIsClient(r, source, destination, inventory) : true;
  const bytes = (r.bytes as number | undefined) ?? 0;
  base.Client = clientIsSource ? source : destination;
  base.Server = clientIsSource ? destination : source;
  base.Uploaded = clientIsSource ? bytes : 0;
  base.Downloaded = clientIsSource ? 0 : bytes;

  // The rules of the side the traffic reached: the destination's inbound rules for ingress, the source's
  // outbound for egress. Security groups are stateful, so only the direction that opened the connection is judged.
  const logged = base.InterfaceId;
  const direction = r["flow-direction"] ?? (destination.InterfaceId === logged ? "ingress" : source.InterfaceId === logged ? "egress" : undefined);
  if (clientIsSource && protocol !== undefined && direction !== undefined) {
    const reached = direction === "ingress" ? destination : source;
    const peer = direction === "ingress" ? source : destination;
    if (reached.SecurityGroupIds) {
      reached.SecurityGroupRules = admittingRules(
        groupsOf(reached, inventory),
        direction === "ingress" ? "inbound" : "outbound",
        protocol,
        destination.Port,
        { address: peer.Addr, securityGroupIds: peer.SecurityGroupIds ?? [] },
        inventory.prefixListNames,
      );
    }
  }
  if (base.Client.AvailabilityZone && base.Server.AvailabilityZone) base.CrossAz = base.Client.AvailabilityZone !== base.Server.AvailabilityZone;
  return base;
}

/** The key under which a record and its reverse are one flow: same ENI, window and protocol, mirrored ends. */
export function flowKey(e: EnrichedRecord): string | undefined {
  if (!e.Client || !e.Server || e.InterfaceId === undefined || e.Start === undefined) return undefined;
  return `${e.InterfaceId}|${e.Start}|${e.Protocol}|${e.Client.Addr}|${e.Client.Port ?? ""}|${e.Server.Addr}|${e.Server.Port ?? ""}`;
}

/**
 * Merges the two directions of flows as they stream by: a record waits for its reverse (same ENI,
 * capture window, protocol, mirrored ends) until the input moves `horizonSeconds` past its window,
 * then comes out alone (Downloaded or Uploaded 0). Memory holds only the flows of that horizon.
 */
export class FlowMerger {
  private readonly pending = new Map<string, EnrichedRecord>();
  /** Keys in arrival order with their window start: flushing takes from the front only. */
  private readonly arrivals: { key: string; start: number }[] = [];
  private head = 0;
  private latestStart = 0;

  constructor(private readonly horizonSeconds = 900) {}

  /** Takes a record; returns the records that are complete now. */
  push(record: EnrichedRecord): EnrichedRecord[] {
    const key = flowKey(record);
    if (key === undefined) return [record];
    const ready: EnrichedRecord[] = [];
    const waiting = this.pending.get(key);
    if (waiting) {
      this.pending.delete(key);
      ready.push(merge(waiting, record));
    } else if (record.Start! < this.latestStart - this.horizonSeconds) {
      // Late (older than the horizon): its reverse has gone by already, so it does not wait.
      ready.push(record);
    } else {
      this.pending.set(key, record);
      this.arrivals.push({ key, start: record.Start! });
    }
    if (record.Start! > this.latestStart) {
      this.latestStart = record.Start!;
      const horizon = this.latestStart - this.horizonSeconds;
      while (this.head < this.arrivals.length && this.arrivals[this.head].start < horizon) {
        const { key: oldKey } = this.arrivals[this.head++];
        const old = this.pending.get(oldKey);
        // A later record of an older window may wait behind the front; it goes out at the next flush.
        if (old && old.Start! < horizon) {
          ready.push(old);
          this.pending.delete(oldKey);
        }
      }
      if (this.head > 65_536) {
        this.arrivals.splice(0, this.head);
        this.head = 0;
      }
    }
    return ready;
  }

  /** What still waits, at the end of the input. */
  flush(): EnrichedRecord[] {
    const rest = [...this.pending.values()];
    this.pending.clear();
    this.arrivals.length = 0;
    this.head = 0;
    return rest;
  }
}

function merge(a: EnrichedRecord, b: EnrichedRecord): EnrichedRecord {
  return {
    ...a,
    End: Math.max(a.End ?? 0, b.End ?? 0) || a.End,
    Uploaded: a.Uploaded + b.Uploaded,
    Downloaded: a.Downloaded + b.Downloaded,
    Packets: a.Packets + b.Packets,
    Client: { ...a.Client!, ...(b.Client?.SecurityGroupRules ? { SecurityGroupRules: b.Client.SecurityGroupRules } : {}) },
    Server: { ...a.Server!, ...(b.Server?.SecurityGroupRules ? { SecurityGroupRules: b.Server.SecurityGroupRules } : {}) },
  };
}
