import { OrganizationsClient } from "@aws-sdk/client-organizations";
import { readFileSync, writeFileSync } from "node:fs";
import { ConfigError } from "../config/load";
import { listOrganization, mergeOrganization } from "./accounts";

export interface AccountsOptions {
  readonly configFile: string;
  readonly newAccountRegions: readonly string[];
  readonly newAccountFeatures: readonly string[];
  readonly write: boolean;
  readonly region?: string;
  readonly profile?: string;
}

/** `flowtap accounts --from-organizations`: lists the organization and merges it into the config. Returns the exit status. */
export async function runAccounts(
  options: AccountsOptions,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  org = new OrganizationsClient({ region: options.region, profile: options.profile, maxAttempts: 1 }),
): Promise<number> {
  const listed = await listOrganization(org);
  let merge;
  try {
    merge = mergeOrganization(readFileSync(options.configFile, "utf8"), options.configFile, listed, options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`flowtap accounts: the merged config would not be valid; nothing written:\n${err.problems.join("\n")}\n`);
    return 2;
  }
  const ouPath = new Map(listed.accounts.map((a) => [a.id, a.ouPath]));
  for (const a of merge.added) io.stderr.write(`added ${a.id} ${a.name} (${a.ouPath})\n`);
  for (const { account, from } of merge.moved) io.stderr.write(`moved ${account.id} ${account.name} from ${from} to ${account.ou} (${account.ouPath})\n`);
  for (const id of merge.gone) io.stderr.write(`not an active account of the organization any more, left in the config for you to remove: ${id}${ouPath.has(id) ? ` (${ouPath.get(id)})` : ""}\n`);
  io.stderr.write(`${listed.accounts.length} accounts and ${listed.ous.length} OUs listed; ${merge.added.length} added, ${merge.moved.length} moved\n`);
  if (options.write) writeFileSync(options.configFile, merge.text);
  else io.stdout.write(merge.text);
  return 0;
}
