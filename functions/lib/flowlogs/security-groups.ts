import type { IpPermission, SecurityGroup } from "@aws-sdk/client-ec2";
import ipaddr from "ipaddr.js";

const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };
const ALL = -1;

/** What the peer of a flow is, for matching rules that name addresses, groups or prefix lists. */
export interface Peer {
  readonly address: string;
  /** The address, parsed once by its owner (undefined: not an address). */
  readonly parsed: ipaddr.IPv4 | ipaddr.IPv6 | undefined;
  /** An IPv4 address as an unsigned 32-bit number (what IPv4 CIDR entries are matched against), else undefined. */
  readonly ipv4: number | undefined;
  readonly securityGroupIds: readonly string[];
}

/**
 * Parses an address for Peer, undefined when it is not one: by its family (ipaddr.parse tries
 * IPv6 first, and an IPv4 address failing that parse cost more than all the rest of matching).
 */
export function parsedAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const family = address.includes(":") ? ipaddr.IPv6 : ipaddr.IPv4;
  return family.isValid(address) ? family.parse(address) : undefined;
}

/** An IPv4 address as an unsigned 32-bit number, else undefined. */
export function ipv4Number(parsed: ipaddr.IPv4 | ipaddr.IPv6 | undefined): number | undefined {
  if (parsed?.kind() !== "ipv4") return undefined;
  const [a, b, c, d] = (parsed as ipaddr.IPv4).octets;
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

const enum PeerKind {
  Ipv4,
  Ipv6,
  Group,
  /** Prefix lists' entries are not in the inventory: such a rule may admit anything. */
  PrefixList,
}

let nextEntryId = 0;

/**
 * One peer entry of one rule (a rule names several CIDRs, groups or prefix lists), ready to match.
 * A class, so that every entry has one shape: matching reads them by the million.
 */
class Entry {
  /** Unique among entries: what a set of admitting entries is known by. */
  readonly id = nextEntryId++;

  constructor(
    readonly protocol: number,
    readonly fromPort: number,
    readonly toPort: number,
    readonly kind: PeerKind,
    /** An IPv4 range's network and mask, as unsigned 32-bit numbers (0 for other kinds). */
    readonly network: number,
    readonly mask: number,
    readonly ipv6: [ipaddr.IPv6, number] | undefined,
    readonly groupId: string | undefined,
    /** The rule as a reader sees it: `sg-0a1 inbound tcp 443 from 10.0.0.0/8 "web"`. */
    readonly text: string,
  ) {}

  /** True when the entry's protocol and ports hold a flow on `protocol`/`port` (undefined: the flow has no ports). */
  holds(protocol: number, port: number | undefined): boolean {
    if (this.protocol !== ALL && this.protocol !== protocol) return false;
    return this.fromPort === ALL || port === undefined || (port >= this.fromPort && port <= this.toPort);
  }

  /** True when the entry names `peer`. */
  names(peer: Peer): boolean {
    switch (this.kind) {
      case PeerKind.Ipv4:
        return peer.ipv4 !== undefined && ((peer.ipv4 & this.mask) >>> 0) === this.network;
      case PeerKind.Ipv6:
        return peer.parsed !== undefined && peer.parsed.kind() === "ipv6" && peer.parsed.match(this.ipv6!);
      case PeerKind.Group:
        return peer.securityGroupIds.includes(this.groupId!);
      case PeerKind.PrefixList:
        return true;
    }
  }
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

/** A CIDR's kind and range as an Entry holds them, undefined when it is not one. */
function rangeOf(cidr: string): { kind: PeerKind; network: number; mask: number; ipv6?: [ipaddr.IPv6, number] } | undefined {
  try {
    if (cidr.includes(":")) return { kind: PeerKind.Ipv6, network: 0, mask: 0, ipv6: ipaddr.IPv6.parseCIDR(cidr) };
    const [network, bits] = ipaddr.IPv4.parseCIDR(cidr);
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return { kind: PeerKind.Ipv4, network: (ipv4Number(network)! & mask) >>> 0, mask };
  } catch {
    return undefined;
  }
}

interface CompiledGroup {
  readonly inbound: EntriesByPort;
  readonly outbound: EntriesByPort;
}

function compileGroup(group: SecurityGroup, direction: "inbound" | "outbound", prefixListNames: ReadonlyMap<string, string>): Entry[] {
  const entries: Entry[] = [];
  const preposition = direction === "inbound" ? "from" : "to";
  const note = (description: string | undefined) => (description ? ` "${description}"` : "");
  for (const rule of (direction === "inbound" ? group.IpPermissions : group.IpPermissionsEgress) ?? []) {
    const anyPort = rule.FromPort === undefined || rule.FromPort === -1;
    const protocol = protocolNumber(rule);
    const fromPort = anyPort ? ALL : rule.FromPort!;
    const toPort = anyPort ? ALL : (rule.ToPort ?? rule.FromPort!);
    const head = `${group.GroupId} ${direction} ${protocolText(rule)} ${preposition}`;
    const ranges = [...(rule.IpRanges ?? []).map((r) => [r.CidrIp, r.Description]), ...(rule.Ipv6Ranges ?? []).map((r) => [r.CidrIpv6, r.Description])];
    for (const [cidr, description] of ranges) {
      const range = cidr ? rangeOf(cidr) : undefined;
      if (range) entries.push(new Entry(protocol, fromPort, toPort, range.kind, range.network, range.mask, range.ipv6, undefined, `${head} ${cidr}${note(description)}`));
    }
    for (const pair of rule.UserIdGroupPairs ?? []) {
      if (pair.GroupId) entries.push(new Entry(protocol, fromPort, toPort, PeerKind.Group, 0, 0, undefined, pair.GroupId, `${head} ${pair.GroupId}${note(pair.Description)}`));
    }
    for (const pl of rule.PrefixListIds ?? []) {
      if (pl.PrefixListId) entries.push(new Entry(protocol, fromPort, toPort, PeerKind.PrefixList, 0, 0, undefined, undefined, `${head} ${pl.PrefixListId} (${prefixListNames.get(pl.PrefixListId) ?? "prefix list"}, may admit)`));
    }
  }
  return entries;
}

/**
 * What is made once per inventory (its map of prefix list names stands for it): each group's
 * entries, whatever sets of groups it is in, and the RuleMatch of each list of admitting entries.
 * Held weakly, so that both go with the inventory.
 */
interface Compilation {
  readonly groups: WeakMap<SecurityGroup, CompiledGroup>;
  readonly matches: MatchNode;
}

const compilations = new WeakMap<ReadonlyMap<string, string>, Compilation>();

function compilationFor(prefixListNames: ReadonlyMap<string, string>): Compilation {
  let compilation = compilations.get(prefixListNames);
  if (!compilation) {
    compilation = { groups: new WeakMap(), matches: { next: new Map() } };
    compilations.set(prefixListNames, compilation);
  }
  return compilation;
}

function compiled(group: SecurityGroup, prefixListNames: ReadonlyMap<string, string>, compilation: Compilation): CompiledGroup {
  let entries = compilation.groups.get(group);
  if (!entries) {
    entries = { inbound: new EntriesByPort(compileGroup(group, "inbound", prefixListNames)), outbound: new EntriesByPort(compileGroup(group, "outbound", prefixListNames)) };
    compilation.groups.set(group, entries);
  }
  return entries;
}

const NO_RULES: RuleMatch = { rules: [], json: Buffer.from(`,"SecurityGroupRules":[]`) };

/**
 * A group's entries of one direction, by what a flow's protocol and port leave of them: found once
 * per protocol and stretch of ports the entries hold alike, for every set the group is in.
 */
class EntriesByPort {
  /**
   * The ports where some entry's range begins or ends (its first port, and the port after its
   * last), sorted: ports between two of them are held by the same entries.
   */
  private readonly boundaries: Int32Array;
  private readonly held = new Map<number, readonly Entry[]>();

  constructor(readonly entries: readonly Entry[]) {
    const ports = new Set<number>();
    for (const e of entries) {
      if (e.fromPort === ALL) continue;
      ports.add(e.fromPort);
      ports.add(e.toPort + 1);
    }
    this.boundaries = Int32Array.from([...ports].sort((a, b) => a - b));
  }

  /** The entries whose protocol and ports hold a flow on `protocol`/`port`, in rule order. */
  holding(protocol: number, port: number | undefined): readonly Entry[] {
    const key = protocol * 0x10000 + (port === undefined ? 0xffff : this.segmentOf(port));
    let held = this.held.get(key);
    if (!held) {
      held = this.entries.filter((e) => e.holds(protocol, port));
      this.held.set(key, held);
    }
    return held;
  }

  /** How many boundaries are at or below `port`: equal for ports every entry holds alike. */
  private segmentOf(port: number): number {
    const b = this.boundaries;
    let low = 0;
    let high = b.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (b[middle] <= port) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** A node of the trie of admitting entry lists, by entry id: each list's RuleMatch is made once, whatever sets it comes from. */
interface MatchNode {
  match?: RuleMatch;
  readonly next: Map<number, MatchNode>;
}

/** One direction of a set of groups, with its last answer. */
class DirectionRules {
  /** The last question and its answer: a record's orientation asks the question its rules then ask again. */
  private lastPeer: Peer | undefined;
  private lastProtocol = -2;
  private lastPort: number | undefined;
  private lastMatch: RuleMatch = NO_RULES;

  constructor(
    private readonly groups: readonly EntriesByPort[],
    private readonly matchRoot: MatchNode,
  ) {}

  /** The rules that admit a flow with `peer` on `protocol`/`port`: only the peer is checked per flow, against the entries its protocol and port leave. */
  admitting(protocol: number, port: number | undefined, peer: Peer): RuleMatch {
    if (peer === this.lastPeer && protocol === this.lastProtocol && port === this.lastPort) return this.lastMatch;
    this.lastPeer = peer;
    this.lastProtocol = protocol;
    this.lastPort = port;
    return (this.lastMatch = this.answer(protocol, port, peer));
  }

  private answer(protocol: number, port: number | undefined, peer: Peer): RuleMatch {
    const root = this.matchRoot;
    let node = root;
    for (const group of this.groups) {
      for (const entry of group.holding(protocol, port)) {
        if (!entry.names(peer)) continue;
        let child = node.next.get(entry.id);
        if (!child) {
          child = { next: new Map() };
          node.next.set(entry.id, child);
        }
        node = child;
      }
    }
    if (node === root) return NO_RULES;
    if (!node.match) {
      const texts = this.groups.flatMap((g) => g.holding(protocol, port).filter((e) => e.names(peer)).map((e) => e.text));
      node.match = { rules: texts, json: Buffer.from(`,"SecurityGroupRules":${JSON.stringify(texts)}`) };
    }
    return node.match;
  }
}

/**
 * The rules of a set of security groups (an ENI's), shared by every flow of every ENI with that
 * set; each group's rules are compiled once, whatever sets it is in. Rules naming another security
 * group match when the peer is in it; IPv6 ranges are matched like IPv4; a prefix-list rule is
 * listed as "may admit" (its entries are not in the inventory). Which of a group's entries a
 * protocol and a stretch of ports leave is found once per group; per flow only those are checked
 * against the peer, and each list of admitting entries has one RuleMatch.
 */
export class SecurityGroupRules {
  private readonly inbound: DirectionRules;
  private readonly outbound: DirectionRules;

  constructor(groups: readonly SecurityGroup[], prefixListNames: ReadonlyMap<string, string> = new Map()) {
    const compilation = compilationFor(prefixListNames);
    const entries = groups.map((group) => compiled(group, prefixListNames, compilation));
    this.inbound = new DirectionRules(entries.map((e) => e.inbound), compilation.matches);
    this.outbound = new DirectionRules(entries.map((e) => e.outbound), compilation.matches);
  }

  /** True when some rule of `direction` admits the flow with `peer` on `protocol`/`port`. */
  admits(direction: "inbound" | "outbound", protocol: number, port: number | undefined, peer: Peer): boolean {
    return this.admitting(direction, protocol, port, peer).rules.length > 0;
  }

  /** The rules of `direction` that admit the flow (none: no rule admits it). */
  admitting(direction: "inbound" | "outbound", protocol: number, port: number | undefined, peer: Peer): RuleMatch {
    return (direction === "inbound" ? this.inbound : this.outbound).admitting(protocol, port, peer);
  }
}
