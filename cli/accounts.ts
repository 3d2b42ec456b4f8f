import {
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListRootsCommand,
  type OrganizationsClient,
} from "@aws-sdk/client-organizations";
import { isMap, isSeq, parseDocument } from "yaml";
import { ConfigError, parseOrgConfig } from "../config/load";
import { withRetry } from "../functions/lib/retry";

/** An account as the organization lists it, with the OU it sits in. */
export interface OrganizationAccount {
  readonly id: string;
  readonly name: string;
  /** ACTIVE, SUSPENDED, PENDING_CLOSURE, ... */
  readonly status: string;
  /** The parent: an OU id, or the root id. */
  readonly ou: string;
  /** The parent's path from the root, e.g. `Root/Workloads/Prod`. */
  readonly ouPath: string;
}

export interface OrganizationalUnit {
  readonly id: string;
  readonly name: string;
  readonly path: string;
}

async function allPages<T>(fetch: (token: string | undefined) => Promise<{ items: T[] | undefined; next: string | undefined }>): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await withRetry(() => fetch(token));
    items.push(...(page.items ?? []));
    token = page.next;
  } while (token);
  return items;
}

/** Walks the organization from its root: every OU with its path, every account with its OU. Paginated, throttling retried. */
export async function listOrganization(org: OrganizationsClient): Promise<{ accounts: OrganizationAccount[]; ous: OrganizationalUnit[] }> {
  const roots = await allPages((NextToken) => org.send(new ListRootsCommand({ NextToken })).then((r) => ({ items: r.Roots, next: r.NextToken })));
  const accounts: OrganizationAccount[] = [];
  const ous: OrganizationalUnit[] = [];
  const queue = roots.map((root) => ({ id: root.Id ?? "", path: root.Name ?? "Root" }));
  while (queue.length > 0) {
    const parent = queue.shift()!;
    const children = await allPages((NextToken) =>
      org.send(new ListAccountsForParentCommand({ ParentId: parent.id, NextToken })).then((r) => ({ items: r.Accounts, next: r.NextToken })),
    );
    for (const a of children) {
      if (a.Id) accounts.push({ id: a.Id, name: a.Name ?? a.Id, status: a.State ?? a.Status ?? "UNKNOWN", ou: parent.id, ouPath: parent.path });
    }
    const units = await allPages((NextToken) =>
      org.send(new ListOrganizationalUnitsForParentCommand({ ParentId: parent.id, NextToken })).then((r) => ({ items: r.OrganizationalUnits, next: r.NextToken })),
    );
    for (const ou of units) {
      if (!ou.Id) continue;
      const unit = { id: ou.Id, name: ou.Name ?? ou.Id, path: `${parent.path}/${ou.Name ?? ou.Id}` };
      ous.push(unit);
      queue.push({ id: unit.id, path: unit.path });
    }
  }
  return { accounts, ous };
}

export interface AccountMerge {
  /** The config text with the organization's OUs and accounts merged in, comments kept. */
  readonly text: string;
  readonly added: readonly OrganizationAccount[];
  readonly moved: readonly { readonly account: OrganizationAccount; readonly from: string }[];
  /** Accounts in the config that the organization no longer has as ACTIVE: for a reviewer to remove. */
  readonly gone: readonly string[];
}

/**
 * Merges the organization into an org config: `organization.organizationalUnits` becomes the
 * organization's OUs; each ACTIVE account not yet listed is appended with `newAccountRegions` and
 * `newAccountFeatures`; a listed account that moved gets its new OU. Nothing is removed: accounts
 * that left or were suspended are reported. The result is validated before it is returned.
 */
export function mergeOrganization(
  configText: string,
  file: string,
  listed: { accounts: readonly OrganizationAccount[]; ous: readonly OrganizationalUnit[] },
  defaults: { newAccountRegions: readonly string[]; newAccountFeatures: readonly string[] },
): AccountMerge {
  const doc = parseDocument(configText);
  const accountsNode = doc.get("accounts", true);
  if (!isSeq(accountsNode)) throw new ConfigError([`${file}: has no accounts list to merge into`]);
  doc.setIn(["organization", "organizationalUnits"], doc.createNode(listed.ous.map((ou) => ({ id: ou.id, name: ou.name, path: ou.path }))));

  const active = listed.accounts.filter((a) => a.status === "ACTIVE");
  const known = new Map<string, number>();
  accountsNode.items.forEach((item, index) => {
    if (isMap(item)) known.set(String(item.get("id")), index);
  });
  const added: OrganizationAccount[] = [];
  const moved: { account: OrganizationAccount; from: string }[] = [];
  for (const account of active) {
    const index = known.get(account.id);
    if (index === undefined) {
      const entry = doc.createNode({ id: account.id, name: account.name, ou: account.ou, regions: [...defaults.newAccountRegions], features: [...defaults.newAccountFeatures] });
      // Account ids are strings of digits: keep them quoted so YAML does not read a number.
      (entry.get("id", true) as { type?: string }).type = "QUOTE_DOUBLE";
      accountsNode.add(entry);
      added.push(account);
      continue;
    }
    const item = accountsNode.items[index];
    if (isMap(item) && item.get("ou") !== account.ou) {
      moved.push({ account, from: String(item.get("ou") ?? "(none)") });
      item.set("ou", account.ou);
    }
  }
  const activeIds = new Set(active.map((a) => a.id));
  const gone = [...known.keys()].filter((id) => !activeIds.has(id));
  const text = doc.toString();
  parseOrgConfig(text, file);
  return { text, added, moved, gone };
}
