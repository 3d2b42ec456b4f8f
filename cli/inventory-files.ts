import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { Inventory, type InventoryDocuments } from "../functions/lib/flowlogs/inventory";

/** The files of an inventory directory: what `aws <service> <command> > <command>.json` writes. */
export const INVENTORY_FILES = {
  networkInterfaces: "describe-network-interfaces.json",
  securityGroups: "describe-security-groups.json",
  subnets: "describe-subnets.json",
  instances: "describe-instances.json",
  managedPrefixLists: "describe-managed-prefix-lists.json",
  resources: "get-resources.json",
  ipRanges: "ip-ranges.json",
} as const satisfies Record<keyof InventoryDocuments, string>;

export type InventoryDirectories = { readonly ok: true; readonly dirs: readonly string[] } | { readonly ok: false; readonly reason: string };

const holdsInventory = (dir: string) => existsSync(path.join(dir, INVENTORY_FILES.networkInterfaces));

/**
 * The inventory directories that command-line paths name: a directory that holds the files, or
 * one whose directories do, one per account (as `flowtap inventory --profile P --out DIR/P` writes
 * them), in name order. A path that is neither is an error, told before any input is read.
 */
export function inventoryDirectories(paths: readonly string[]): InventoryDirectories {
  const dirs: string[] = [];
  for (const given of paths) {
    if (!statSync(given, { throwIfNoEntry: false })?.isDirectory()) return { ok: false, reason: `${given}: no such directory` };
    if (holdsInventory(given)) {
      dirs.push(given);
      continue;
    }
    const accounts = readdirSync(given, { withFileTypes: true })
      .filter((entry) => !entry.name.startsWith(".") && (entry.isDirectory() || entry.isSymbolicLink()))
      .map((entry) => path.join(given, entry.name))
      .filter(holdsInventory)
      .sort();
    if (accounts.length === 0) return { ok: false, reason: `${given}: no ${INVENTORY_FILES.networkInterfaces} in it or in a directory beneath it (write one with flowtap inventory --out ${given})` };
    dirs.push(...accounts);
  }
  return { ok: true, dirs };
}

/** The documents of one inventory directory but `leftOut`; only describe-network-interfaces.json is required. */
function readDocuments(dir: string, leftOut?: keyof InventoryDocuments): Partial<Record<keyof InventoryDocuments, unknown>> {
  const read = (file: string, required: boolean): unknown => {
    const full = path.join(dir, file);
    if (!existsSync(full)) {
      if (required) throw new Error(`${full} is missing: an inventory needs at least the output of aws ec2 describe-network-interfaces`);
      return undefined;
    }
    try {
      // Read, then decoded: on Node 20 readFileSync(full, "utf8") takes about 1.6 times as long (130 ms for 63 MB).
      return JSON.parse(readFileSync(full).toString("utf8"));
    } catch (err) {
      throw new Error(`${full} is not JSON as the AWS CLI writes it: ${(err as Error).message}`, { cause: err });
    }
  };
  return Object.fromEntries(Object.entries(INVENTORY_FILES).map(([key, file]) => [key, key === leftOut ? undefined : read(file, key === "networkInterfaces")]));
}

/** The key each document (but ip-ranges.json) holds its list under, as the AWS CLI prints it. */
export const INVENTORY_LISTS = {
  networkInterfaces: "NetworkInterfaces",
  securityGroups: "SecurityGroups",
  subnets: "Subnets",
  instances: "Reservations",
  managedPrefixLists: "PrefixLists",
  resources: "ResourceTagMappingList",
} as const satisfies Record<Exclude<keyof InventoryDocuments, "ipRanges">, string>;

/**
 * The documents of `dirs` (directories that hold the files), merged: each list is every
 * directory's, in turn, so flows between accounts resolve both ends; AWS's ranges are the first
 * directory's that has them. No directory: the documents of an inventory of nothing, which tells
 * only AWS's ranges (none) and private addresses apart. `leftOut` is not read (its list is empty).
 */
export function readInventory(dirs: readonly string[], leftOut?: keyof InventoryDocuments): InventoryDocuments {
  const read = dirs.map((dir) => readDocuments(dir, leftOut));
  const merged: Record<string, unknown> = { ipRanges: read.find((docs) => docs.ipRanges !== undefined)?.ipRanges };
  for (const [key, list] of Object.entries(INVENTORY_LISTS)) {
    merged[key] = { [list]: read.flatMap((docs) => (docs[key as keyof typeof INVENTORY_LISTS] as Record<string, unknown[] | undefined> | undefined)?.[list] ?? []) };
  }
  return merged as unknown as InventoryDocuments;
}

/** The inventory of `dirs` (see readInventory). */
export function loadInventory(dirs: readonly string[]): Inventory {
  return new Inventory(readInventory(dirs));
}

/**
 * Of describe-instances, what enrichment reads (each instance's id and tags): a realistic one is
 * some 6 KB an instance, and reading it is most of an inventory's load (0.2 s per thread for
 * 10,000 instances), so the main thread hands this to worker threads instead.
 */
export function instanceTagsOnly(instances: InventoryDocuments["instances"]): NonNullable<InventoryDocuments["instances"]> {
  return { Reservations: [{ Instances: (instances?.Reservations ?? []).flatMap((r) => r.Instances ?? []).map(({ InstanceId, Tags }) => ({ InstanceId, Tags })) }] };
}
