import type { IpPermission, SecurityGroup } from "@aws-sdk/client-ec2";
import ipaddr from "ipaddr.js";

const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };
const ALL = -1;

/** What the peer of a flow is, for matching rules that name addresses, groups or prefix lists. */
export interface Peer {
  readonly address: string;
  /** The address, parsed once by its owner (ipaddr.js throws on what is not an address). */
  readonly parsed: ipaddr.IPv4 | ipaddr.IPv6 | undefined;
  readonly securityGroupIds: readonly string[];
}

/** Parses an address for Peer, undefined when it is not one. */
export function parsedAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  // parse, not isValid then parse: that parses every address twice, and an endpoint's address is almost always valid.
  try {
    return ipaddr.parse(address);
  } catch {
    return undefined;
  }
}

/** One peer entry of one rule (a rule names several CIDRs, groups or prefix lists), ready to match. */
interface Entry {
  readonly protocol: number;
  readonly fromPort: number;
  readonly toPort: number;
  readonly cidr?: [ipaddr.IPv4 | ipaddr.IPv6, number];
  readonly groupId?: string;
  /** Prefix lists' entries are not in the inventory: such a rule may admit anything. */
  readonly prefixList: boolean;
  /** The rule as a reader sees it: `sg-0a1 inbound tcp 443 from 10.0.0.0/8 "web"`. */
  readonly text: string;
}

/** The rules of one direction that admit a flow, and their JSON (`,"SecurityGroupRules":[...]`), shared by every flow they admit. */
export interface RuleMatch {
  readonly rules: readonly string[];
  readonly json: Buffer;
}

function protocolNumber(rule: IpPermission): number {
  const p = rule.IpProtocol ?? "-1";
  if (p === "-1") return ALL;
  return PROTOCOL_NUMBERS[p] ?? Number(p);
}

function protocolText(rule: IpPermission): string {
  const p = rule.IpProtocol ?? "-1";
  if (p === "-1") return "all traffic";
  const ports = rule.FromPort === undefined || rule.FromPort === -1 ? "" : rule.FromPort === rule.ToPort ? ` ${rule.FromPort}` : ` ${rule.FromPort}-${rule.ToPort}`;
  return `${p}${ports}`;
}

function compile(groups: readonly SecurityGroup[], direction: "inbound" | "outbound", prefixListNames: ReadonlyMap<string, string>): Entry[] {
  const entries: Entry[] = [];
  const preposition = direction === "inbound" ? "from" : "to";
  const note = (description: string | undefined) => (description ? ` "${description}"` : "");
  for (const group of groups) {
    for (const rule of (direction === "inbound" ? group.IpPermissions : group.IpPermissionsEgress) ?? []) {
      const anyPort = rule.FromPort === undefined || rule.FromPort === -1;
      const base = {
        protocol: protocolNumber(rule),
        fromPort: anyPort ? ALL : rule.FromPort!,
        toPort: anyPort ? ALL : (rule.ToPort ?? rule.FromPort!),
        prefixList: false,
      };
      const head = `${group.GroupId} ${direction} ${protocolText(rule)} ${preposition}`;
      const ranges = [...(rule.IpRanges ?? []).map((r) => [r.CidrIp, r.Description]), ...(rule.Ipv6Ranges ?? []).map((r) => [r.CidrIpv6, r.Description])];
      for (const [cidr, description] of ranges) {
        if (!cidr || !ipaddr.isValidCIDR(cidr)) continue;
        entries.push({ ...base, cidr: ipaddr.parseCIDR(cidr), text: `${head} ${cidr}${note(description)}` });
      }
      for (const pair of rule.UserIdGroupPairs ?? []) {
        if (pair.GroupId) entries.push({ ...base, groupId: pair.GroupId, text: `${head} ${pair.GroupId}${note(pair.Description)}` });
      }
      for (const pl of rule.PrefixListIds ?? []) {
        if (pl.PrefixListId) entries.push({ ...base, prefixList: true, text: `${head} ${pl.PrefixListId} (${prefixListNames.get(pl.PrefixListId) ?? "prefix list"}, may admit)` });
      }
    }
  }
  return entries;
}

function admits(entry: Entry, protocol: number, port: number | undefined, peer: Peer): boolean {
  if (entry.protocol !== ALL && entry.protocol !== protocol) return false;
  if (entry.fromPort !== ALL && port !== undefined && (port < entry.fromPort || port > entry.toPort)) return false;
  if (entry.prefixList) return true;
  if (entry.groupId !== undefined) return peer.securityGroupIds.includes(entry.groupId);
  const [range, bits] = entry.cidr!;
  return peer.parsed !== undefined && peer.parsed.kind() === range.kind() && peer.parsed.match(range, bits);
}

/**
 * The rules of a set of security groups (an ENI's), compiled once and shared by every flow of
 * every ENI with that set. Rules naming another security group match when the peer is in it;
 * IPv6 ranges are matched like IPv4; a prefix-list rule is listed as "may admit" (its entries
 * are not in the inventory).
 */
export class SecurityGroupRules {
  private readonly inbound: Entry[];
  private readonly outbound: Entry[];
  /** Per direction, the RuleMatch of each set of matching entries, by the set's key. */
  private readonly matches = { inbound: new Map<string | number, RuleMatch>(), outbound: new Map<string | number, RuleMatch>() };

  constructor(groups: readonly SecurityGroup[], prefixListNames: ReadonlyMap<string, string> = new Map()) {
    this.inbound = compile(groups, "inbound", prefixListNames);
    this.outbound = compile(groups, "outbound", prefixListNames);
  }

  /** True when some rule of `direction` admits the flow with `peer` on `protocol`/`port`. */
  admits(direction: "inbound" | "outbound", protocol: number, port: number | undefined, peer: Peer): boolean {
    for (const entry of direction === "inbound" ? this.inbound : this.outbound) if (admits(entry, protocol, port, peer)) return true;
    return false;
  }

  /** The rules of `direction` that admit the flow (none: no rule admits it). */
  admitting(direction: "inbound" | "outbound", protocol: number, port: number | undefined, peer: Peer): RuleMatch {
    const entries = direction === "inbound" ? this.inbound : this.outbound;
    // The set of matching entries as a bit mask while it fits one, else as their indices.
    let mask = 0;
    let indices: number[] | undefined;
    for (let i = 0; i < entries.length; i++) {
      if (!admits(entries[i], protocol, port, peer)) continue;
      if (entries.length <= 30) mask |= 1 << i;
      else (indices ??= []).push(i);
    }
    const key = entries.length <= 30 ? mask : (indices ?? []).join(",");
    const cache = this.matches[direction];
    let match = cache.get(key);
    if (!match) {
      const rules = entries.filter((_, i) => (entries.length <= 30 ? (mask & (1 << i)) !== 0 : indices?.includes(i)));
      const texts = rules.map((e) => e.text);
      match = { rules: texts, json: Buffer.from(`,"SecurityGroupRules":${JSON.stringify(texts)}`) };
      cache.set(key, match);
    }
    return match;
  }
}
