import ipaddr from "ipaddr.js";

/** An address AWS publishes in ip-ranges.json: the service (or AMAZON) and region it belongs to. */
export interface AwsAddress {
  readonly service: string;
  readonly region: string;
}

interface PrefixEntry {
  readonly service: string;
  readonly region: string;
}

/** The shape of AWS's published ip-ranges.json, the fields used here. */
export interface IpRangesDocument {
  readonly prefixes?: readonly { ip_prefix: string; region: string; service: string }[];
  readonly ipv6_prefixes?: readonly { ipv6_prefix: string; region: string; service: string }[];
}

/** The bytes of an address, as a hex string, masked to `bits` bits: a key per prefix length. */
function maskedKey(bytes: readonly number[], bits: number): string {
  let key = "";
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const byte = keep === 0 ? 0 : bytes[i] & (0xff << (8 - keep)) & 0xff;
    key += byte.toString(16).padStart(2, "0");
  }
  return key;
}

/**
 * Longest-prefix match over AWS's ip-ranges.json, IPv4 and IPv6. Where a prefix is listed for a
 * service and for AMAZON (AWS lists every prefix under AMAZON too), the service wins; AMAZON is
 * the answer only when nothing more specific matches. Answers are cached per address.
 */
export class AwsIpRanges {
  /** Per family, per prefix length (longest first), the entries by masked address. */
  private readonly tables: Record<4 | 6, { bits: number; entries: Map<string, PrefixEntry> }[]> = { 4: [], 6: [] };
  private readonly cache = new Map<string, AwsAddress | undefined>();

  constructor(document: IpRangesDocument) {
    const add = (cidr: string, service: string, region: string) => {
      let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
      try {
        parsed = ipaddr.parseCIDR(cidr);
      } catch {
        return;
      }
      const [address, bits] = parsed;
      const family = address.kind() === "ipv4" ? 4 : 6;
      let table = this.tables[family].find((t) => t.bits === bits);
      if (!table) {
        table = { bits, entries: new Map() };
        this.tables[family].push(table);
      }
      const key = maskedKey(address.toByteArray(), bits);
      const existing = table.entries.get(key);
      // AMAZON lists every range; a named service for the same prefix is more specific.
      if (!existing || existing.service === "AMAZON") table.entries.set(key, { service, region });
    };
    for (const p of document.prefixes ?? []) add(p.ip_prefix, p.service, p.region);
    for (const p of document.ipv6_prefixes ?? []) add(p.ipv6_prefix, p.service, p.region);
    for (const family of [4, 6] as const) this.tables[family].sort((a, b) => b.bits - a.bits);
  }

  /** The AWS service and region of a public address, or undefined when AWS does not publish it. */
  lookup(address: string): AwsAddress | undefined {
    if (this.cache.has(address)) return this.cache.get(address);
    let result: AwsAddress | undefined;
    if (ipaddr.isValid(address)) {
      const parsed = ipaddr.parse(address);
      const family = parsed.kind() === "ipv4" ? 4 : 6;
      const bytes = parsed.toByteArray();
      let amazon: AwsAddress | undefined;
      for (const table of this.tables[family]) {
        const hit = table.entries.get(maskedKey(bytes, table.bits));
        if (!hit) continue;
        if (hit.service !== "AMAZON") {
          result = { service: hit.service, region: hit.region };
          break;
        }
        amazon ??= { service: "AMAZON", region: hit.region };
      }
      result ??= amazon;
    }
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(address, result);
    return result;
  }
}

const PRIVATE_V4 = [ipaddr.parseCIDR("10.0.0.0/8"), ipaddr.parseCIDR("172.16.0.0/12"), ipaddr.parseCIDR("192.168.0.0/16")];
const ULA = ipaddr.parseCIDR("fc00::/7");

/** RFC 1918 private IPv4, or IPv6 unique local (fc00::/7). */
export function isPrivateAddress(address: string): boolean {
  if (address.startsWith("10.") || address.startsWith("192.168.")) return true;
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv4") return PRIVATE_V4.some((range) => (parsed as ipaddr.IPv4).match(range as [ipaddr.IPv4, number]));
  return (parsed as ipaddr.IPv6).match(ULA as [ipaddr.IPv6, number]);
}
