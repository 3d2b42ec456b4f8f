import type { RolloutManifest, RolloutStack } from "./rollout-manifest";

/** What a synthesized stack deploys in each of its workspaces, as the review counts it. */
export interface StackFacts {
  /** Resources by Terraform type. */
  readonly resources: Readonly<Record<string, number>>;
  /** IAM roles by name: who may assume them, and the actions their policies allow. */
  readonly roles: Readonly<Record<string, { readonly trustedBy: readonly string[]; readonly actions: readonly string[] }>>;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized Terraform JSON is open-ended */

const POLICY_REF = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/;
const ROLE_REF = /^\$\{aws_iam_role\.([^.]+)\.(name|id)\}$/;

/** Counts resources and reads IAM roles and their allowed actions out of a synthesized stack. */
export function stackFacts(tf: any): StackFacts {
  const resources: Record<string, number> = {};
  for (const [type, byId] of Object.entries<Record<string, unknown>>(tf.resource ?? {})) {
    resources[type] = Object.keys(byId).length;
  }
  const documents: Record<string, any> = tf.data?.aws_iam_policy_document ?? {};
  const statementsOf = (ref: string | undefined) => documents[POLICY_REF.exec(ref ?? "")?.[1] ?? ""]?.statement ?? [];
  const roles: Record<string, { trustedBy: string[]; actions: string[] }> = {};
  const roleIds: Record<string, string> = {};
  for (const [id, role] of Object.entries<any>(tf.resource?.aws_iam_role ?? {})) {
    // A name with the workspace's region or account in it reads as the reviewer will meet it: one per workspace.
    const name = String(role.name ?? id)
      .replace(/\$\{data\.aws_region\.[\w-]+\.(?:region|name)\}/g, "<region>")
      .replace(/\$\{data\.aws_caller_identity\.[\w-]+\.account_id\}/g, "<account>");
    roleIds[id] = name;
    const trustedBy = statementsOf(role.assume_role_policy).flatMap((s: any) => (s.principals ?? []).flatMap((p: any) => p.identifiers ?? []));
    roles[name] = { trustedBy: [...new Set<string>(trustedBy)].sort(), actions: [] };
  }
  for (const policy of Object.values<any>(tf.resource?.aws_iam_role_policy ?? {})) {
    const roleName = roleIds[ROLE_REF.exec(String(policy.role))?.[1] ?? ""];
    if (!roleName) continue;
    const allowed = statementsOf(policy.policy)
      .filter((s: any) => (s.effect ?? "Allow") === "Allow")
      .flatMap((s: any) => s.actions ?? []);
    roles[roleName].actions = [...new Set<string>([...roles[roleName].actions, ...allowed])].sort();
  }
  return { resources, roles };
}

const code = (s: string) => `\`${s}\``;

function whereMatrix(manifest: RolloutManifest): string[] {
  const members = manifest.stacks.filter((s) => s.role === "member");
  const regions = [...new Set(members.flatMap((s) => s.workspaces.map((w) => w.region)))].sort();
  const accounts = new Map<string, { name: string; ou?: string; byRegion: Map<string, Set<string>> }>();
  for (const stack of members) {
    for (const ws of stack.workspaces) {
      const entry = accounts.get(ws.accountId) ?? { name: ws.accountName, ou: ws.ou, byRegion: new Map() };
      const features = entry.byRegion.get(ws.region) ?? new Set<string>();
      features.add(stack.name);
      entry.byRegion.set(ws.region, features);
      accounts.set(ws.accountId, entry);
    }
  }
  const lines = [`| account | OU | ${regions.join(" | ")} |`, `|---|---|${regions.map(() => "---|").join("")}`];
  for (const [id, a] of [...accounts].sort((x, y) => x[1].name.localeCompare(y[1].name))) {
    const cells = regions.map((r) => [...(a.byRegion.get(r) ?? [])].sort().join(", ") || "–");
    lines.push(`| ${a.name} (${id}) | ${a.ou ?? "–"} | ${cells.join(" | ")} |`);
  }
  return lines;
}

function stackSection(stack: RolloutStack, facts: StackFacts | undefined): string[] {
  const lines = [
    `## ${stack.name} (${stack.role}, ${stack.workspaces.length} workspace${stack.workspaces.length === 1 ? "" : "s"})`,
    "",
    `Directory ${code(stack.directory)}; ${stack.dependsOn.length > 0 ? `applied after ${stack.dependsOn.map(code).join(", ")} (reads its outputs).` : "depends on no other stack."}`,
    "",
  ];
  if (!facts) return [...lines, "Not synthesized in this run.", ""];
  lines.push("What each workspace deploys:", "", "| resource type | count |", "|---|---|");
  for (const [type, count] of Object.entries(facts.resources).sort()) lines.push(`| ${code(type)} | ${count} |`);
  lines.push("");
  const roles = Object.entries(facts.roles).sort();
  if (roles.length > 0) {
    lines.push("IAM permissions it grants:", "", "| role | trusted by | allowed actions |", "|---|---|---|");
    for (const [name, role] of roles) lines.push(`| ${code(name)} | ${role.trustedBy.map(code).join(", ")} | ${role.actions.map(code).join(", ")} |`);
    lines.push("");
  }
  return lines;
}

/** Differences a reviewer should see between the previous manifest and this one. */
export function rolloutChanges(previous: RolloutManifest, current: RolloutManifest): string[] {
  const changes: string[] = [];
  const before = new Map(previous.stacks.map((s) => [s.name, s]));
  const after = new Map(current.stacks.map((s) => [s.name, s]));
  for (const name of before.keys()) if (!after.has(name)) changes.push(`stack ${code(name)} removed: its resources will be destroyed where applied`);
  for (const [name, stack] of after) {
    const old = before.get(name);
    if (!old) {
      changes.push(`stack ${code(name)} added, in ${stack.workspaces.length} workspace(s)`);
      continue;
    }
    const oldWs = new Set(old.workspaces.map((w) => w.name));
    const newWs = new Set(stack.workspaces.map((w) => w.name));
    const added = [...newWs].filter((w) => !oldWs.has(w));
    const removed = [...oldWs].filter((w) => !newWs.has(w));
    if (added.length > 0) changes.push(`${code(name)}: workspaces added: ${added.join(", ")}`);
    if (removed.length > 0) changes.push(`${code(name)}: workspaces removed (destroy their resources before dropping them): ${removed.join(", ")}`);
    const types = new Set([...Object.keys(old.resources ?? {}), ...Object.keys(stack.resources ?? {})]);
    for (const type of [...types].sort()) {
      const was = old.resources?.[type] ?? 0;
      const is = stack.resources?.[type] ?? 0;
      if (was !== is) changes.push(`${code(name)}: ${code(type)} ${was} → ${is} per workspace`);
    }
    const roleNames = new Set([...Object.keys(old.roles ?? {}), ...Object.keys(stack.roles ?? {})]);
    for (const role of [...roleNames].sort()) {
      const was = new Set(old.roles?.[role]?.actions ?? []);
      const is = new Set(stack.roles?.[role]?.actions ?? []);
      const granted = [...is].filter((a) => !was.has(a));
      const revoked = [...was].filter((a) => !is.has(a));
      if (granted.length > 0) changes.push(`${code(name)}: role ${code(role)} newly allowed ${granted.map(code).join(", ")}`);
      if (revoked.length > 0) changes.push(`${code(name)}: role ${code(role)} no longer allowed ${revoked.map(code).join(", ")}`);
    }
  }
  return changes;
}

/**
 * `ROLLOUT.md`: what a reviewer reads before approving a pipeline. Per stack what it deploys
 * (resource counts by type), where (account × region), the IAM permissions it grants, and,
 * given the previous manifest, what changed.
 */
export function rolloutReview(manifest: RolloutManifest, previous?: RolloutManifest): string {
  const workspaces = manifest.stacks.reduce((n, s) => n + s.workspaces.length, 0);
  const lines = [
    "# flowtap rollout review",
    "",
    `Organization ${code(manifest.organizationId)}, from ${code(manifest.configFile)}: ${manifest.stacks.length} stack(s), ${workspaces} workspace(s) in all.`,
    "Apply the stacks in the order below; member stacks run once per workspace `<account-id>-<region>`.",
    "",
  ];
  if (previous) {
    const changes = rolloutChanges(previous, manifest);
    lines.push("## Changes since the previous manifest", "", ...(changes.length > 0 ? changes.map((c) => `- ${c}`) : ["No stack, workspace, resource count or permission changed."]), "");
  }
  lines.push("## Where", "", ...whereMatrix(manifest), "");
  for (const stack of manifest.stacks) lines.push(...stackSection(stack, stack.resources && stack.roles ? { resources: stack.resources, roles: stack.roles } : undefined));
  return `${lines.join("\n").trimEnd()}\n`;
}

/** The manifest with each stack's resource counts and IAM roles read from its synthesized JSON. */
export function withStackFacts(manifest: RolloutManifest, synthesized: (stackName: string) => unknown): RolloutManifest {
  return { ...manifest, stacks: manifest.stacks.map((stack) => ({ ...stack, ...stackFacts(synthesized(stack.name)) })) };
}
