import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type NetworkInterface,
  type SecurityGroup,
} from "@aws-sdk/client-ec2";
import { isIPv4 } from "node:net";
import { ExpiringMap } from "../expiring-map";
import { withRetry, type RetryOptions } from "../retry";
import { delegatedPrefixesOf, delegatedPrefixKeyOf, holderOf, Inventory, type Holder, type HolderContext } from "./inventory";
import { isPrivateAddress, type IpRangesDocument } from "./ip-ranges";

/** Ids or filter values per call: EC2 takes up to 200 values in one filter. */
const VALUES_PER_CALL = 200;

function* batches<T>(items: readonly T[], size = VALUES_PER_CALL): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

export interface LiveInventoryOptions {
  /** How long a lookup (found or not) is trusted, in seconds. */
  readonly ttlSeconds: number;
  readonly retry?: RetryOptions;
  /** The clock, in milliseconds. @default Date.now */
  readonly now?: () => number;
}

/**
 * The inventory of one account and region, looked up from EC2 as flows need it: the ENIs that
 * hold the addresses flows name, their security groups and their instances' tags. Lookups are
 * cached with a TTL across batches and made many ids at a time, so calls grow with the distinct
 * ENIs seen, not with records. An address no ENI holds is remembered as such for the TTL too.
 */
export class LiveInventory {
  private readonly interfaces: ExpiringMap<NetworkInterface>;
  /** Address to the id of the ENI holding it; "" when none in this account does. */
  private readonly holders: ExpiringMap<string>;
  private readonly groups: ExpiringMap<SecurityGroup | undefined>;
  private readonly instances: ExpiringMap<Instance | undefined>;
  /** Holders made, by the ENI answer they were made from, with the instance answer they were made with. */
  private readonly madeHolders = new WeakMap<NetworkInterface, { instance?: Instance; holder?: Holder }>();
  private readonly now: () => number;
  /** API calls made: what the benchmark counts. */
  calls = 0;

  constructor(
    private readonly ec2: EC2Client,
    private readonly options: LiveInventoryOptions,
  ) {
    const ttl = options.ttlSeconds * 1000;
    this.interfaces = new ExpiringMap(ttl);
    this.holders = new ExpiringMap(ttl);
    this.groups = new ExpiringMap(ttl);
    this.instances = new ExpiringMap(ttl);
    this.now = options.now ?? Date.now;
  }

  /**
   * An inventory knowing every ENI that holds one of `addresses` or is one of `interfaceIds`, with
   * their groups and instances, and AWS's ranges for the addresses no ENI holds.
   */
  async inventoryFor(addresses: Iterable<string>, interfaceIds: Iterable<string>, ipRanges?: IpRangesDocument): Promise<Inventory> {
    const now = this.now();
    const unknownAddresses = [...new Set(addresses)].filter((a) => !this.holders.get(a, now));
    const wantedInterfaces = new Set([...interfaceIds].filter((id) => id.startsWith("eni-")));
    if (unknownAddresses.length > 0) await this.lookUpAddresses(unknownAddresses, now);
    for (const address of addresses) {
      const holder = this.holders.get(address, now)?.value;
      if (holder) wantedInterfaces.add(holder);
    }
    const missingInterfaces = [...wantedInterfaces].filter((id) => !this.interfaces.get(id, now));
    if (missingInterfaces.length > 0) await this.lookUpInterfaces(missingInterfaces, now);
    const enis = [...wantedInterfaces].flatMap((id) => this.interfaces.get(id, now)?.value ?? []);

    const groupIds = [...new Set(enis.flatMap((e) => (e.Groups ?? []).flatMap((g) => g.GroupId ?? [])))];
    const missingGroups = groupIds.filter((id) => !this.groups.get(id, now));
    if (missingGroups.length > 0) await this.lookUpGroups(missingGroups, now);
    const instanceIds = [...new Set(enis.flatMap((e) => (e.Attachment?.InstanceId && !e.RequesterManaged ? [e.Attachment.InstanceId] : [])))];
    const missingInstances = instanceIds.filter((id) => !this.instances.get(id, now));
    if (missingInstances.length > 0) await this.lookUpInstances(missingInstances, now);

    return new Inventory(
      {
        networkInterfaces: { NetworkInterfaces: enis },
        securityGroups: { SecurityGroups: groupIds.flatMap((id) => this.groups.get(id, now)?.value ?? []) },
        instances: { Reservations: [{ Instances: instanceIds.flatMap((id) => this.instances.get(id, now)?.value ?? []) }] },
        ipRanges,
      },
      (eni, context) => this.keptHolderOf(eni, context, now),
    );
  }

  /**
   * The holder of an ENI, the same object as long as EC2's answers behind it are (the ENI and its
   * instance: a lookup after the TTL brings new ones), so that an enricher kept across batches
   * keeps what it resolved for it (FlowEnricher.use) and resolves it again once they change.
   */
  private keptHolderOf(eni: NetworkInterface, context: HolderContext, now: number): Holder | undefined {
    const instanceId = eni.Attachment?.InstanceId;
    const instance = instanceId ? this.instances.get(instanceId, now)?.value : undefined;
    const made = this.madeHolders.get(eni);
    if (made && made.instance === instance) return made.holder;
    const holder = holderOf(eni, context);
    this.madeHolders.set(eni, { instance, holder });
    return holder;
  }

  /** Every page of a describe call, each attempt retried on throttling, each call counted. */
  private async allPages<T>(page: (token: string | undefined) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
    const found: T[] = [];
    let token: string | undefined;
    do {
      this.calls++;
      const { items, next } = await withRetry(() => page(token), this.options.retry);
      found.push(...items);
      token = next;
    } while (token);
    return found;
  }

  private describeInterfaces(filter: Filter): Promise<NetworkInterface[]> {
    return this.allPages(async (NextToken) => {
      const page = await this.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [filter], NextToken, MaxResults: 1000 }));
      return { items: page.NetworkInterfaces ?? [], next: page.NextToken };
    });
  }

  private remember(enis: readonly NetworkInterface[], now: number): void {
    for (const eni of enis) {
      if (!eni.NetworkInterfaceId) continue;
      this.interfaces.set(eni.NetworkInterfaceId, eni, now);
      for (const a of eni.PrivateIpAddresses ?? []) {
        if (a.PrivateIpAddress) this.holders.set(a.PrivateIpAddress, eni.NetworkInterfaceId, now);
        if (a.Association?.PublicIp) this.holders.set(a.Association.PublicIp, eni.NetworkInterfaceId, now);
      }
      for (const a of eni.Ipv6Addresses ?? []) if (a.Ipv6Address) this.holders.set(a.Ipv6Address, eni.NetworkInterfaceId, now);
    }
  }

  /** Finds the ENIs holding addresses: private IPv4, public IPv4 (Elastic or auto-assigned) and IPv6 by their own filters. */
  private async lookUpAddresses(addresses: string[], now: number): Promise<void> {
    const v4 = addresses.filter((a) => isIPv4(a));
    const v6 = addresses.filter((a) => !isIPv4(a));
    // A VPC may use public ranges privately: every IPv4 address is looked up as a private one, the non-RFC 1918 ones also as public.
    const lookups: [string, string[]][] = [
      ["addresses.private-ip-address", v4],
      ["association.public-ip", v4.filter((a) => !isPrivateAddress(a))],
      ["ipv6-addresses.ipv6-address", v6],
    ];
    for (const [name, values] of lookups) {
      for (const batch of batches(values)) this.remember(await this.describeInterfaces({ Name: name, Values: batch }), now);
    }
    await this.lookUpDelegatedPrefixes(addresses.filter((a) => !this.holders.get(a, now)), now);
    for (const address of addresses) if (!this.holders.get(address, now)) this.holders.set(address, "", now);
  }

  /**
   * Finds the ENIs that addresses no ENI holds by themselves were handed out from: prefixes
   * delegated to them (EKS's prefix mode gives pods theirs from these). EC2 filters ENIs by no
   * prefix, so the instances they are attached to are looked up by them.
   */
  private async lookUpDelegatedPrefixes(addresses: string[], now: number): Promise<void> {
    const keyed = new Map<string, string[]>();
    for (const address of addresses) {
      const key = delegatedPrefixKeyOf(address);
      if (key === undefined) continue;
      const sharing = keyed.get(key);
      if (sharing) sharing.push(address);
      else keyed.set(key, [address]);
    }
    const keys = [...keyed.keys()];
    const lookups: [string, string[]][] = [
      ["network-interface.ipv4-prefixes.ipv4-prefix", keys.filter((k) => !k.includes(":"))],
      ["network-interface.ipv6-prefixes.ipv6-prefix", keys.filter((k) => k.includes(":"))],
    ];
    const delegatedTo = new Map<string, string>();
    for (const [name, values] of lookups) {
      for (const batch of batches(values)) {
        const instances = await this.allPages((NextToken) => this.instancesPage({ Name: name, Values: batch }, NextToken));
        for (const eni of instances.flatMap((i) => i.NetworkInterfaces ?? [])) {
          for (const key of delegatedPrefixesOf(eni)) if (eni.NetworkInterfaceId && keyed.has(key)) delegatedTo.set(key, eni.NetworkInterfaceId);
        }
      }
    }
    if (delegatedTo.size === 0) return;
    await this.lookUpInterfaces([...new Set(delegatedTo.values())], now);
    for (const [key, eniId] of delegatedTo) for (const address of keyed.get(key)!) this.holders.set(address, eniId, now);
  }

  private async lookUpInterfaces(ids: string[], now: number): Promise<void> {
    // By filter rather than NetworkInterfaceIds: an id that no longer exists is then absent, not an error for the whole call.
    for (const batch of batches(ids)) this.remember(await this.describeInterfaces({ Name: "network-interface-id", Values: batch }), now);
  }

  /** Looks ids up by a filter, 200 at a time, and remembers each, found or not. */
  private async lookUpByFilter<T>(
    ids: string[],
    now: number,
    cache: ExpiringMap<T | undefined>,
    idOf: (item: T) => string | undefined,
    describe: (batch: string[], token: string | undefined) => Promise<{ items: T[]; next?: string }>,
  ): Promise<void> {
    for (const batch of batches(ids)) {
      for (const item of await this.allPages((token) => describe(batch, token))) {
        const id = idOf(item);
        if (id) cache.set(id, item, now);
      }
      for (const id of batch) if (!cache.get(id, now)) cache.set(id, undefined, now);
    }
  }

  private lookUpGroups(ids: string[], now: number): Promise<void> {
    return this.lookUpByFilter(ids, now, this.groups, (g) => g.GroupId, async (batch, NextToken) => {
      const page = await this.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: "group-id", Values: batch }], NextToken, MaxResults: 1000 }));
      return { items: page.SecurityGroups ?? [], next: page.NextToken };
    });
  }

  private lookUpInstances(ids: string[], now: number): Promise<void> {
    return this.lookUpByFilter(ids, now, this.instances, (i) => i.InstanceId, (batch, NextToken) => this.instancesPage({ Name: "instance-id", Values: batch }, NextToken));
  }

  /** One page of the instances a filter selects. */
  private async instancesPage(filter: Filter, NextToken: string | undefined): Promise<{ items: Instance[]; next?: string }> {
    const page = await this.ec2.send(new DescribeInstancesCommand({ Filters: [filter], NextToken, MaxResults: 1000 }));
    return { items: (page.Reservations ?? []).flatMap((r) => r.Instances ?? []), next: page.NextToken };
  }
}
