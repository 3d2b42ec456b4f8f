import {
  DescribeInstancesCommand,
  DescribeManagedPrefixListsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRegionsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { withRetry } from "../functions/lib/retry";
import { INVENTORY_FILES } from "./inventory-files";

export interface InventoryOptions {
  readonly outDir: string;
  /** One region; every region enabled for the account when unset. */
  readonly region?: string;
  readonly profile?: string;
}

export interface InventoryClients {
  readonly ec2: (region: string) => EC2Client;
  readonly tagging: (region: string) => ResourceGroupsTaggingAPIClient;
  /** Fetches AWS's published ip-ranges.json. */
  readonly fetchIpRanges: () => Promise<unknown>;
}

export const IP_RANGES_URL = "https://ip-ranges.amazonaws.com/ip-ranges.json";

export function defaultClients(options: InventoryOptions): InventoryClients {
  return {
    ec2: (region) => new EC2Client({ region, profile: options.profile, maxAttempts: 1 }),
    tagging: (region) => new ResourceGroupsTaggingAPIClient({ region, profile: options.profile, maxAttempts: 1 }),
    fetchIpRanges: async () => {
      const response = await fetch(IP_RANGES_URL);
      if (!response.ok) throw new Error(`${IP_RANGES_URL} answered ${response.status}`);
      return response.json();
    },
  };
}

/** Every page of a paginated call, merged into the list the AWS CLI would print under `key`. */
async function allPages<T>(key: string, call: (token: string | undefined) => Promise<Record<string, unknown>>, tokenKey = "NextToken"): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await withRetry(() => call(token));
    items.push(...((page[key] as T[] | undefined) ?? []));
    token = (page[tokenKey] as string | undefined) || undefined;
  } while (token);
  return items;
}

/**
 * `flowtap inventory`: writes the inventory files `flowtap enrich` reads, from a live account,
 * every page of every call, for one region or all enabled ones (merged). Returns the exit status.
 */
export async function runInventory(options: InventoryOptions, io: { stderr: NodeJS.WritableStream }, clients = defaultClients(options)): Promise<number> {
  const home = options.region ?? process.env.AWS_REGION ?? "us-east-1";
  const regions = options.region
    ? [options.region]
    : ((await withRetry(() => clients.ec2(home).send(new DescribeRegionsCommand({ AllRegions: false })))).Regions ?? []).flatMap((r) => (r.RegionName ? [r.RegionName] : []));
  const merged: Record<string, Record<string, unknown[]>> = {
    networkInterfaces: { NetworkInterfaces: [] },
    securityGroups: { SecurityGroups: [] },
    subnets: { Subnets: [] },
    instances: { Reservations: [] },
    managedPrefixLists: { PrefixLists: [] },
    resources: { ResourceTagMappingList: [] },
  };
  for (const region of regions) {
    const ec2 = clients.ec2(region);
    const tagging = clients.tagging(region);
    // Each Describe command has its own input type; the pagination is the same for all.
    const ec2Pages = (key: string, command: (token: string | undefined) => object) =>
      allPages<unknown>(key, (NextToken) => ec2.send(command(NextToken) as never) as unknown as Promise<Record<string, unknown>>);
    const [enis, groups, subnets, reservations, prefixLists, resources] = await Promise.all([
      ec2Pages("NetworkInterfaces", (NextToken) => new DescribeNetworkInterfacesCommand({ NextToken, MaxResults: 1000 })),
      ec2Pages("SecurityGroups", (NextToken) => new DescribeSecurityGroupsCommand({ NextToken, MaxResults: 1000 })),
      ec2Pages("Subnets", (NextToken) => new DescribeSubnetsCommand({ NextToken, MaxResults: 1000 })),
      ec2Pages("Reservations", (NextToken) => new DescribeInstancesCommand({ NextToken, MaxResults: 1000 })),
      ec2Pages("PrefixLists", (NextToken) => new DescribeManagedPrefixListsCommand({ NextToken, MaxResults: 100 })),
      allPages<unknown>("ResourceTagMappingList", (PaginationToken) => tagging.send(new GetResourcesCommand({ PaginationToken, ResourcesPerPage: 100 })) as unknown as Promise<Record<string, unknown>>, "PaginationToken"),
    ]);
    merged.networkInterfaces.NetworkInterfaces.push(...enis);
    merged.securityGroups.SecurityGroups.push(...groups);
    merged.subnets.Subnets.push(...subnets);
    merged.instances.Reservations.push(...reservations);
    merged.managedPrefixLists.PrefixLists.push(...prefixLists);
    merged.resources.ResourceTagMappingList.push(...resources);
    io.stderr.write(`${region}: ${enis.length} network interfaces, ${groups.length} security groups, ${subnets.length} subnets, ${reservations.length} reservations, ${resources.length} tagged resources\n`);
  }
  mkdirSync(options.outDir, { recursive: true });
  for (const [key, content] of Object.entries(merged)) {
    writeFileSync(path.join(options.outDir, INVENTORY_FILES[key as keyof typeof INVENTORY_FILES]), `${JSON.stringify(content, null, 4)}\n`);
  }
  try {
    writeFileSync(path.join(options.outDir, INVENTORY_FILES.ipRanges), `${JSON.stringify(await clients.fetchIpRanges())}\n`);
  } catch (err) {
    io.stderr.write(`ip-ranges.json not fetched (${(err as Error).message}); public addresses will be "internet" unless you add it: curl -o ${path.join(options.outDir, INVENTORY_FILES.ipRanges)} ${IP_RANGES_URL}\n`);
  }
  io.stderr.write(`flowtap inventory: wrote ${options.outDir} for ${regions.length} region(s)\n`);
  return 0;
}
