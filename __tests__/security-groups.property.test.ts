import type { IpPermission, SecurityGroup } from "@aws-sdk/client-ec2";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { ipv4Number, parsedAddress, SecurityGroupRules, type Peer } from "../functions/lib/flowlogs/security-groups";

/**
 * SecurityGroupRules reuses answers (which entries a protocol and a stretch of ports leave, and the
 * text of each admitting subset): whatever order flows come in, each answer must be the one the
 * rules give that flow read afresh, entry by entry, as AWS documents security group rules.
 */

const GROUP_IDS = ["sg-0000000000000000a", "sg-0000000000000000b", "sg-0000000000000000c", "sg-0000000000000000d"];
const PROTOCOLS = ["tcp", "udp", "icmp", "-1"] as const;
const NUMBERS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1 };

const port = fc.integer({ min: 0, max: 65535 });
// Ports where ranges begin and end, and their neighbours: where reusing an answer for the wrong stretch of ports would show.
const RULE_PORTS = [0, 22, 443, 1024, 8080, 65535];
const rulePort = fc.oneof({ arbitrary: fc.constantFrom(...RULE_PORTS), weight: 4 }, { arbitrary: port, weight: 1 });
const flowPort = fc.oneof({ arbitrary: fc.constantFrom(...RULE_PORTS.flatMap((p) => [p - 1, p, p + 1, p + 10, p + 11]).filter((p) => p >= 0 && p <= 65535)), weight: 4 }, { arbitrary: port, weight: 1 });
const ipv4 = fc.tuple(fc.constantFrom(10, 172, 192, 52), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 })).map((o) => o.join("."));
const ipv6 = fc.tuple(fc.constantFrom("2600:1f18", "2001:db8", "fd00:1"), fc.integer({ min: 0, max: 3 })).map(([prefix, n]) => `${prefix}:${n}::${n + 1}`);
const cidr4 = fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, bits]) => `${a}/${bits}`);
const cidr6 = fc.tuple(ipv6, fc.integer({ min: 16, max: 128 })).map(([a, bits]) => `${a}/${bits}`);

const rule: fc.Arbitrary<IpPermission> = fc
  .record({
    protocol: fc.constantFrom(...PROTOCOLS),
    ports: fc.tuple(rulePort, fc.oneof({ arbitrary: fc.constantFrom(0, 1, 10), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: 2000 }), weight: 1 })),
    anyPort: fc.boolean(),
    cidrs: fc.array(cidr4, { maxLength: 2 }),
    cidrs6: fc.array(cidr6, { maxLength: 1 }),
    groups: fc.subarray(GROUP_IDS, { maxLength: 2 }),
    prefixLists: fc.subarray(["pl-00000000000000001"], { maxLength: 1 }),
  })
  .map(({ protocol, ports: [from, width], anyPort, cidrs, cidrs6, groups, prefixLists }) => ({
    IpProtocol: protocol,
    ...(protocol === "-1" || protocol === "icmp" || anyPort ? { FromPort: -1, ToPort: -1 } : { FromPort: from, ToPort: Math.min(65535, from + width) }),
    IpRanges: cidrs.map((CidrIp) => ({ CidrIp })),
    Ipv6Ranges: cidrs6.map((CidrIpv6) => ({ CidrIpv6 })),
    UserIdGroupPairs: groups.map((GroupId) => ({ GroupId })),
    PrefixListIds: prefixLists.map((PrefixListId) => ({ PrefixListId })),
  }));

const groups: fc.Arbitrary<SecurityGroup[]> = fc
  .uniqueArray(fc.constantFrom(...GROUP_IDS), { minLength: 1, maxLength: 3 })
  .chain((ids) => fc.tuple(...ids.map((GroupId) => fc.record({ inbound: fc.array(rule, { maxLength: 4 }), outbound: fc.array(rule, { maxLength: 3 }) }).map((r) => ({ GroupId, IpPermissions: r.inbound, IpPermissionsEgress: r.outbound })))));

const peer: fc.Arbitrary<Peer> = fc.record({ address: fc.oneof(ipv4, ipv6), groups: fc.subarray(GROUP_IDS, { maxLength: 2 }) }).map(({ address, groups: securityGroupIds }) => {
  const parsed = parsedAddress(address);
  return { address, parsed, ipv4: ipv4Number(parsed), securityGroupIds };
});

const flow = fc.record({ direction: fc.constantFrom("inbound" as const, "outbound" as const), protocol: fc.constantFrom(6, 6, 17, 1, 50), port: fc.option(flowPort, { nil: undefined }), peer: fc.nat() });

/** The texts of the entries that admit the flow, read afresh from the groups: the reference the reused answers are held to. */
function admittingAfresh(groupList: readonly SecurityGroup[], direction: "inbound" | "outbound", protocol: number, flowPort: number | undefined, p: Peer): string[] {
  const texts: string[] = [];
  for (const group of groupList) {
    for (const r of (direction === "inbound" ? group.IpPermissions : group.IpPermissionsEgress) ?? []) {
      const ruleProtocol = r.IpProtocol === "-1" ? -1 : NUMBERS[r.IpProtocol!];
      if (ruleProtocol !== -1 && ruleProtocol !== protocol) continue;
      const anyPort = r.FromPort === -1;
      if (!anyPort && flowPort !== undefined && (flowPort < r.FromPort! || flowPort > r.ToPort!)) continue;
      const head = `${group.GroupId} ${direction} ${r.IpProtocol === "-1" ? "all traffic" : `${r.IpProtocol}${anyPort ? "" : r.FromPort === r.ToPort ? ` ${r.FromPort}` : ` ${r.FromPort}-${r.ToPort}`}`} ${direction === "inbound" ? "from" : "to"}`;
      for (const c of [...(r.IpRanges ?? []).map((x) => x.CidrIp!), ...(r.Ipv6Ranges ?? []).map((x) => x.CidrIpv6!)]) {
        const [range, bits] = ipaddr.parseCIDR(c);
        if (p.parsed && p.parsed.kind() === range.kind() && p.parsed.match(range, bits)) texts.push(`${head} ${c}`);
      }
      for (const pair of r.UserIdGroupPairs ?? []) if (p.securityGroupIds.includes(pair.GroupId!)) texts.push(`${head} ${pair.GroupId}`);
      for (const pl of r.PrefixListIds ?? []) texts.push(`${head} ${pl.PrefixListId} (prefix list, may admit)`);
    }
  }
  return texts;
}

describe("security group rule matching", () => {
  it("answers each flow, in any order and however often asked, as its rules read afresh do", () => {
    fc.assert(
      fc.property(groups, fc.array(peer, { minLength: 1, maxLength: 4 }), fc.array(flow, { minLength: 1, maxLength: 60 }), (groupList, peers, flows) => {
        const rules = new SecurityGroupRules(groupList);
        for (const f of flows) {
          const p = peers[f.peer % peers.length];
          const expected = admittingAfresh(groupList, f.direction, f.protocol, f.port, p);
          const match = rules.admitting(f.direction, f.protocol, f.port, p);
          expect(match.rules).toEqual(expected);
          expect(JSON.parse(`{${match.json.toString().slice(1)}}`).SecurityGroupRules).toEqual(expected);
          expect(rules.admits(f.direction, f.protocol, f.port, p)).toBe(expected.length > 0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("parses an address by its family, as ipaddr.parse does", () => {
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6, fc.string({ maxLength: 12 })), (address) => {
        const expected = ipaddr.isValid(address) ? ipaddr.parse(address).toString() : undefined;
        expect(parsedAddress(address)?.toString()).toBe(expected);
      }),
    );
  });
});
