/**
 * Answers EC2's describe calls from a sample inventory the way EC2 filters them, for tests and
 * benchmarks of code that looks ENIs, security groups and instances up (there is no local EC2).
 */
import type { Filter, Instance, NetworkInterface, SecurityGroup } from "@aws-sdk/client-ec2";
import { sampleInventory } from "./generate";

export interface SampleEc2 {
  readonly networkInterfaces: NetworkInterface[];
  readonly securityGroups: SecurityGroup[];
  readonly instances: Instance[];
  describeNetworkInterfaces(filters: readonly Filter[]): { NetworkInterfaces: NetworkInterface[] };
  describeSecurityGroups(filters: readonly Filter[]): { SecurityGroups: SecurityGroup[] };
  describeInstances(filters: readonly Filter[]): { Reservations: { Instances: Instance[] }[] };
}

function interfaceMatches(eni: NetworkInterface, filter: Filter): boolean {
  const values = new Set(filter.Values);
  switch (filter.Name) {
    case "addresses.private-ip-address":
      return (eni.PrivateIpAddresses ?? []).some((a) => values.has(a.PrivateIpAddress ?? ""));
    case "association.public-ip":
      return (eni.PrivateIpAddresses ?? []).some((a) => values.has(a.Association?.PublicIp ?? ""));
    case "ipv6-addresses.ipv6-address":
      return (eni.Ipv6Addresses ?? []).some((a) => values.has(a.Ipv6Address ?? ""));
    case "network-interface-id":
      return values.has(eni.NetworkInterfaceId ?? "");
    case "attachment.instance-id":
      return values.has(eni.Attachment?.InstanceId ?? "");
    default:
      throw new Error(`the sample EC2 does not know filter ${filter.Name}`);
  }
}

/** DescribeInstances' filters by the prefixes delegated to an instance's ENIs, with what each matches. */
const DELEGATED_PREFIX_FILTERS: Record<string, (eni: NetworkInterface) => string[]> = {
  "network-interface.ipv4-prefixes.ipv4-prefix": (eni) => (eni.Ipv4Prefixes ?? []).flatMap((p) => p.Ipv4Prefix ?? []),
  "network-interface.ipv6-prefixes.ipv6-prefix": (eni) => (eni.Ipv6Prefixes ?? []).flatMap((p) => p.Ipv6Prefix ?? []),
};

function only(filters: readonly Filter[], name: string): Set<string> {
  const filter = filters.find((f) => f.Name === name);
  if (!filter || filters.length !== 1) throw new Error(`the sample EC2 answers only a ${name} filter`);
  return new Set(filter.Values);
}

/** The sample inventory of `enis` ENIs, served as EC2 would serve it. */
export function sampleEc2(enis: number): SampleEc2 {
  const files = sampleInventory(enis) as Record<string, Record<string, unknown[]>>;
  const networkInterfaces = files["describe-network-interfaces.json"].NetworkInterfaces as NetworkInterface[];
  const securityGroups = files["describe-security-groups.json"].SecurityGroups as SecurityGroup[];
  const instances = (files["describe-instances.json"].Reservations as { Instances: Instance[] }[]).flatMap((r) => r.Instances);
  return {
    networkInterfaces,
    securityGroups,
    instances,
    describeNetworkInterfaces: (filters) => ({ NetworkInterfaces: networkInterfaces.filter((e) => filters.every((f) => interfaceMatches(e, f))) }),
    describeSecurityGroups: (filters) => {
      const ids = only(filters, "group-id");
      return { SecurityGroups: securityGroups.filter((g) => ids.has(g.GroupId ?? "")) };
    },
    describeInstances: (filters) => {
      const delegated = filters.length === 1 ? DELEGATED_PREFIX_FILTERS[filters[0].Name ?? ""] : undefined;
      if (!delegated) {
        const ids = only(filters, "instance-id");
        return { Reservations: [{ Instances: instances.filter((i) => ids.has(i.InstanceId ?? "")) }] };
      }
      // By the prefixes delegated to their ENIs, as EC2 writes them: each instance with its ENIs.
      const values = new Set(filters[0].Values);
      const enisOf = (instance: Instance) => networkInterfaces.filter((e) => e.Attachment?.InstanceId === instance.InstanceId);
      return {
        Reservations: [
          {
            Instances: instances
              .filter((i) => enisOf(i).some((e) => delegated(e).some((prefix) => values.has(prefix))))
              .map((i) => ({ ...i, NetworkInterfaces: enisOf(i).map((e) => ({ NetworkInterfaceId: e.NetworkInterfaceId, Ipv4Prefixes: e.Ipv4Prefixes, Ipv6Prefixes: e.Ipv6Prefixes })) })),
          },
        ],
      };
    },
  };
}
