import { existsSync, readFileSync } from "node:fs";
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

/** Reads an inventory directory; only describe-network-interfaces.json is required. */
export function loadInventory(dir: string | undefined): Inventory {
  if (!dir) return new Inventory({ networkInterfaces: {} });
  const read = (file: string, required: boolean): unknown => {
    const full = path.join(dir, file);
    if (!existsSync(full)) {
      if (required) throw new Error(`${full} is missing: an inventory needs at least the output of aws ec2 describe-network-interfaces`);
      return undefined;
    }
    try {
      return JSON.parse(readFileSync(full, "utf8"));
    } catch (err) {
      throw new Error(`${full} is not JSON as the AWS CLI writes it: ${(err as Error).message}`, { cause: err });
    }
  };
  const docs = Object.fromEntries(
    Object.entries(INVENTORY_FILES).map(([key, file]) => [key, read(file, key === "networkInterfaces")]),
  ) as unknown as InventoryDocuments;
  return new Inventory(docs);
}
