import type { NetworkInterface } from "@aws-sdk/client-ec2";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/** The committed sample inventory directory (samples/inventory). */
export const SAMPLE_INVENTORY = path.join(__dirname, "..", "..", "samples", "inventory");

/** The sample inventory's ENIs, as describe-network-interfaces.json lists them. */
export function sampleNetworkInterfaces(): NetworkInterface[] {
  return JSON.parse(readFileSync(path.join(SAMPLE_INVENTORY, "describe-network-interfaces.json"), "utf8")).NetworkInterfaces;
}

/** Writes the sample inventory to `dir` (made) with `networkInterfaces` for its ENIs, every other file as it is; returns `dir`. */
export function writeSampleInventory(dir: string, networkInterfaces: readonly NetworkInterface[]): string {
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(SAMPLE_INVENTORY)) copyFileSync(path.join(SAMPLE_INVENTORY, file), path.join(dir, file));
  writeFileSync(path.join(dir, "describe-network-interfaces.json"), JSON.stringify({ NetworkInterfaces: networkInterfaces }));
  return dir;
}
