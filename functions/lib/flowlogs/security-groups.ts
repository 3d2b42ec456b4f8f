import type { IpPermission, SecurityGroup } from "@aws-sdk/client-ec2";
import ipaddr from "ipaddr.js";

const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

function protocolMatches(rule: IpPermission, protocol: number): boolean {
  const p = rule.IpProtocol ?? "-1";
  return p === "-1" || p === String(protocol) || PROTOCOL_NUMBERS[p] === protocol;
}

function portMatches(rule: IpPermission, port: number | undefined): boolean {
  if (rule.FromPort === undefined || rule.FromPort === -1 || port === undefined) return true;
  return port >= rule.FromPort && port <= (rule.ToPort ?? rule.FromPort);
}

const parsedCidrs = new Map<string, [ipaddr.IPv4 | ipaddr.IPv6, number] | null>();
const parsedAddresses = new Map<string, ipaddr.IPv4 | ipaddr.IPv6 | null>();

function parsedOnce<T>(cache: Map<string, T | null>, key: string, parse: () => T): T | null {
  let value = cache.get(key);
  if (value === undefined) {
    try {
      value = parse();
    } catch {
      value = null;
    }
    if (cache.size > 100_000) cache.clear();
    cache.set(key, value);
  }
  return value;
}

function cidrContains(cidr: string, address: string): boolean {
  const range = parsedOnce(parsedCidrs, cidr, () => ipaddr.parseCIDR(cidr));
  const addr = parsedOnce(parsedAddresses, address, () => ipaddr.parse(address));
  return range !== null && addr !== null && addr.kind() === range[0].kind() && addr.match(range);
}

function protocolText(rule: IpPermission): string {
  const p = rule.IpProtocol ?? "-1";
  if (p === "-1") return "all traffic";
  const ports = rule.FromPort === undefined || rule.FromPort === -1 ? "" : rule.FromPort === rule.ToPort ? ` ${rule.FromPort}` : ` ${rule.FromPort}-${rule.ToPort}`;
  return `${p}${ports}`;
}

/** What the peer of a flow is, for matching rules that name addresses, groups or prefix lists. */
export interface Peer {
  readonly address: string;
  readonly securityGroupIds: readonly string[];
}

/**
 * The rules of `groups` in one direction that admit a flow with `peer` on `protocol`/`port`,
 * rendered for a reader (`sg-0a1 inbound tcp 443 from 10.0.0.0/8 "web"`). Rules naming another
 * security group match when the peer is in it; IPv6 ranges are matched like IPv4; a prefix-list
 * rule is listed as "may admit" (its entries are not in the inventory). Empty: no rule admits it.
 */
export function admittingRules(
  groups: readonly SecurityGroup[],
  direction: "inbound" | "outbound",
  protocol: number,
  port: number | undefined,
  peer: Peer,
  prefixListNames: ReadonlyMap<string, string> = new Map(),
): string[] {
  const rendered: string[] = [];
  const preposition = direction === "inbound" ? "from" : "to";
  for (const group of groups) {
    const rules = (direction === "inbound" ? group.IpPermissions : group.IpPermissionsEgress) ?? [];
    for (const rule of rules) {
      if (!protocolMatches(rule, protocol) || !portMatches(rule, port)) continue;
      const head = `${group.GroupId} ${direction} ${protocolText(rule)}`;
      for (const r of rule.IpRanges ?? []) {
        if (r.CidrIp && cidrContains(r.CidrIp, peer.address)) rendered.push(`${head} ${preposition} ${r.CidrIp}${r.Description ? ` "${r.Description}"` : ""}`);
      }
      for (const r of rule.Ipv6Ranges ?? []) {
        if (r.CidrIpv6 && cidrContains(r.CidrIpv6, peer.address)) rendered.push(`${head} ${preposition} ${r.CidrIpv6}${r.Description ? ` "${r.Description}"` : ""}`);
      }
      for (const pair of rule.UserIdGroupPairs ?? []) {
        if (pair.GroupId && peer.securityGroupIds.includes(pair.GroupId)) rendered.push(`${head} ${preposition} ${pair.GroupId}${pair.Description ? ` "${pair.Description}"` : ""}`);
      }
      for (const pl of rule.PrefixListIds ?? []) {
        if (pl.PrefixListId) rendered.push(`${head} ${preposition} ${pl.PrefixListId} (${prefixListNames.get(pl.PrefixListId) ?? "prefix list"}, may admit)`);
      }
    }
  }
  return rendered;
}
