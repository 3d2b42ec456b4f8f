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
import pLimit from "p-limit";
import { awsErrorCode, withRetry } from "../functions/lib/retry";
import { IP_RANGES_URL } from "../functions/lib/flowlogs/published-ip-ranges";
import { INVENTORY_FILES, INVENTORY_LISTS } from "./inventory-files";

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
  /** The region the configuration names (AWS_REGION, the profile's `region`), if any. */
  readonly configuredRegion: () => Promise<string | undefined>;
}

export function defaultClients(options: InventoryOptions): InventoryClients {
  return {
    ec2: (region) => new EC2Client({ region, profile: options.profile, maxAttempts: 1 }),
    tagging: (region) => new ResourceGroupsTaggingAPIClient({ region, profile: options.profile, maxAttempts: 1 }),
    fetchIpRanges: async () => {
      const response = await fetch(IP_RANGES_URL);
      if (!response.ok) throw new Error(`${IP_RANGES_URL} answered ${response.status}`);
      return response.json();
    },
    configuredRegion: () => new EC2Client({ profile: options.profile }).config.region().catch(() => undefined),
  };
}

/**
 * Error codes of a call refused by policy: an explicit deny (a service control policy's region
 * deny, an IAM condition on aws:RequestedRegion), or a region the credentials are not valid in.
 */
const REFUSED = new Set(["UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "AuthFailure", "UnrecognizedClientException", "InvalidClientTokenId", "OptInRequired"]);

/** A region's call refused by policy: what `flowtap inventory` leaves the region out for, when it was not named. */
export class RegionRefused extends Error {
  /** The call and what AWS answered. */
  readonly reason: string;

  constructor(
    readonly region: string,
    call: string,
    cause: Error,
  ) {
    const reason = `${call} refused (${cause.name}: ${cause.message})`;
    super(`${region}: ${reason}`, { cause });
    this.reason = reason;
  }
}

/** Regions read at once: each has its own API rate limits, so they do not throttle one another. */
const REGIONS_AT_ONCE = 4;

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

/** What one region holds, each list as the AWS CLI prints it under its key. */
type RegionInventory = Record<keyof typeof INVENTORY_LISTS, unknown[]>;

/** Every page of every call `flowtap inventory` makes in `region`; a call refused by policy throws RegionRefused. */
async function readRegion(region: string, clients: InventoryClients): Promise<RegionInventory> {
  const ec2 = clients.ec2(region);
  const tagging = clients.tagging(region);
  const named = <T>(call: string, pages: Promise<T>) =>
    pages.catch((err: Error) => {
      throw REFUSED.has(awsErrorCode(err) ?? "") ? new RegionRefused(region, call, err) : err;
    });
  // Each Describe command has its own input type; the pagination is the same for all.
  const ec2Pages = (action: string, key: string, command: (token: string | undefined) => object) =>
    named(`ec2:${action}`, allPages<unknown>(key, (NextToken) => ec2.send(command(NextToken) as never) as unknown as Promise<Record<string, unknown>>));
  const [networkInterfaces, securityGroups, subnets, instances, managedPrefixLists, resources] = await Promise.all([
    ec2Pages("DescribeNetworkInterfaces", "NetworkInterfaces", (NextToken) => new DescribeNetworkInterfacesCommand({ NextToken, MaxResults: 1000 })),
    ec2Pages("DescribeSecurityGroups", "SecurityGroups", (NextToken) => new DescribeSecurityGroupsCommand({ NextToken, MaxResults: 1000 })),
    ec2Pages("DescribeSubnets", "Subnets", (NextToken) => new DescribeSubnetsCommand({ NextToken, MaxResults: 1000 })),
    ec2Pages("DescribeInstances", "Reservations", (NextToken) => new DescribeInstancesCommand({ NextToken, MaxResults: 1000 })),
    ec2Pages("DescribeManagedPrefixLists", "PrefixLists", (NextToken) => new DescribeManagedPrefixListsCommand({ NextToken, MaxResults: 100 })),
    named(
      "tag:GetResources",
      allPages<unknown>("ResourceTagMappingList", (PaginationToken) => tagging.send(new GetResourcesCommand({ PaginationToken, ResourcesPerPage: 100 })) as unknown as Promise<Record<string, unknown>>, "PaginationToken"),
    ),
  ]);
  return { networkInterfaces, securityGroups, subnets, instances, managedPrefixLists, resources };
}

/**
 * The regions enabled for the account, listed in the configured region (a policy that denies every
 * region but a few, as data-residency rules do, may deny us-east-1), else in us-east-1.
 */
async function enabledRegions(clients: InventoryClients): Promise<string[]> {
  const home = (await clients.configuredRegion()) ?? "us-east-1";
  try {
    const answer = await withRetry(() => clients.ec2(home).send(new DescribeRegionsCommand({ AllRegions: false })));
    return (answer.Regions ?? []).flatMap((r) => (r.RegionName ? [r.RegionName] : []));
  } catch (err) {
    if (!REFUSED.has(awsErrorCode(err) ?? "")) throw err;
    const refused = new RegionRefused(home, "ec2:DescribeRegions", err as Error);
    throw new Error(`${refused.message}; name a region the account may use with --region, AWS_REGION or the profile's region`, { cause: err });
  }
}

/**
 * `flowtap inventory`: writes the inventory files `flowtap enrich` reads, from a live account,
 * every page of every call, for one region or all enabled ones (merged, in the order EC2 lists
 * them; a region a policy refuses is left out and named, unless it was the one asked for).
 * Returns the exit status.
 */
export async function runInventory(options: InventoryOptions, io: { stderr: NodeJS.WritableStream }, clients = defaultClients(options)): Promise<number> {
  const regions = options.region ? [options.region] : await enabledRegions(clients);
  const limit = pLimit(REGIONS_AT_ONCE);
  const read = await Promise.all(
    regions.map((region) =>
      limit(async () => {
        try {
          const held = await readRegion(region, clients);
          io.stderr.write(`${region}: ${held.networkInterfaces.length} network interfaces, ${held.securityGroups.length} security groups, ${held.subnets.length} subnets, ${held.instances.length} reservations, ${held.resources.length} tagged resources\n`);
          return held;
        } catch (err) {
          // A region asked for by name must answer; of all enabled ones, those a policy denies are left out.
          if (options.region || !(err instanceof RegionRefused)) throw err;
          io.stderr.write(`${region}: left out: ${err.reason}\n`);
          return undefined;
        }
      }),
    ),
  );
  const written = regions.filter((_, i) => read[i]);
  const refused = regions.filter((_, i) => !read[i]);
  if (written.length === 0 && refused.length > 0) {
    io.stderr.write(`flowtap inventory: every region refused (${refused.join(", ")}); nothing written\n`);
    return 1;
  }
  mkdirSync(options.outDir, { recursive: true });
  for (const [key, listKey] of Object.entries(INVENTORY_LISTS) as [keyof RegionInventory, string][]) {
    const content = { [listKey]: read.flatMap((held) => held?.[key] ?? []) };
    writeFileSync(path.join(options.outDir, INVENTORY_FILES[key]), `${JSON.stringify(content, null, 4)}\n`);
  }
  try {
    writeFileSync(path.join(options.outDir, INVENTORY_FILES.ipRanges), `${JSON.stringify(await clients.fetchIpRanges())}\n`);
  } catch (err) {
    io.stderr.write(`ip-ranges.json not fetched (${(err as Error).message}); public addresses will be "internet" unless you add it: curl -o ${path.join(options.outDir, INVENTORY_FILES.ipRanges)} ${IP_RANGES_URL}\n`);
  }
  io.stderr.write(`flowtap inventory: wrote ${options.outDir} for ${written.length} region(s)${options.region ? "" : ` (${written.join(", ")})`}${refused.length > 0 ? `; ${refused.length} left out, refused: ${refused.join(", ")}` : ""}\n`);
  return 0;
}
