import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import pLimit from "p-limit";
import { translateForProvider } from "../cli/terraform-tools";
import { MIRROR_TARGET_STACK } from "../stacks/mirror-target-stack";
import { describeCall, evaluateStack, PermissionIndex, type EvaluatedStack, type IamPolicy, type NamedPolicy, type SimulatedCall } from "./helpers/iam-simulation";
import { exampleConfigFile, exampleOrg } from "./helpers/synth";
import { describeWithTerraform, preparePlanning, stackDocument, stateFixtureOf, synthesizeWithCalls, terraformTools, writeRemoteStateFixture, type PlanningRoot } from "./helpers/terraform";

/**
 * Every request a run makes (the tables beside the constructs, `modules/runtime-calls.ts`),
 * simulated with @cloud-copilot/iam-simulate against the identity and resource policies of every
 * workspace of the example organization, as the real terraform evaluates them.
 */

const organizationAccounts = new Set([exampleOrg.central.accountId, exampleOrg.organization.managementAccountId ?? "", ...exampleOrg.accounts.map((a) => a.id)]);

/** `policy` without the `action` of statement `index` (without the statement, if that was its only action). */
function withoutAction(policy: IamPolicy, index: number, action: string): IamPolicy {
  const statement = policy.Statement[index];
  const actions = ([] as string[]).concat(statement.Action);
  const rest = actions.filter((a) => a !== action);
  return { ...policy, Statement: rest.length ? policy.Statement.map((s, i) => (i === index ? { ...s, Action: rest } : s)) : policy.Statement.filter((_, i) => i !== index) };
}

describeWithTerraform("the permissions every run needs, simulated", () => {
  const tools = terraformTools as Extract<typeof terraformTools, { found: true }>;
  let planning: PlanningRoot;
  let evaluated: EvaluatedStack[];
  let index: PermissionIndex;
  let simulated: SimulatedCall[];
  /** One evaluated workspace of each stack: the mutation checks run on these. */
  let representatives: EvaluatedStack[];

  beforeAll(async () => {
    const root = mkdtempSync(path.join(tmpdir(), "flowtap-permissions-"));
    const { manifest, calls } = synthesizeWithCalls(root, exampleOrg, exampleConfigFile);
    planning = await preparePlanning(root, manifest, tools.terraform, tools.mirror, path.join(root, "plugin-cache"));
    const mirrorTarget = stackDocument(root, MIRROR_TARGET_STACK);
    for (const stack of manifest.stacks.filter((s) => s.dependsOn.includes(MIRROR_TARGET_STACK))) {
      writeRemoteStateFixture(root, stack.name, "mirror-target-state", stateFixtureOf(mirrorTarget, exampleOrg));
    }
    const regionAttribute = Number(tools.mirror.version.split(".")[0]) < 6 ? "name" : "region";
    // The tables were resolved in the stacks as synthesized; the stacks on disk are re-pinned to the mirror's provider.
    const repinned = (stack: string) => JSON.parse(translateForProvider(JSON.stringify(calls.get(stack) ?? []), tools.mirror.version).text);
    // The workspaces of one stack one after another (they share its directory), two stacks at a time.
    const limit = pLimit(2);
    const perStack = await Promise.all(
      manifest.stacks.map((stack) =>
        limit(async () => {
          const done: EvaluatedStack[] = [];
          for (const ws of stack.workspaces) done.push(await evaluateStack(stack.name, ws.name, stackDocument(root, stack.name), repinned(stack.name), planning.evaluate, regionAttribute));
          return done;
        }),
      ),
    );
    evaluated = perStack.flat();
    representatives = perStack.map((workspaces) => workspaces[0]);
    index = new PermissionIndex(evaluated, exampleOrg.organization.id, organizationAccounts);
    simulated = [];
    for (const s of evaluated) for (const call of s.calls) simulated.push(await index.simulate(call));
  }, 600_000);

  afterAll(async () => {
    await planning?.close();
  });

  it("evaluates every workspace of every stack", () => {
    expect(evaluated.map((s) => `${s.stack} ${s.workspace}`).length).toBe(new Set(evaluated.map((s) => `${s.stack} ${s.workspace}`)).size);
    expect(evaluated.length).toBeGreaterThanOrEqual(13);
  });

  it("names every role once in its account (IAM names are global: a stack applied in two regions of an account must not clash)", () => {
    const where = new Map<string, string[]>();
    for (const s of evaluated) for (const role of s.roles) where.set(role.arn, [...(where.get(role.arn) ?? []), `${s.stack} ${s.workspace}`]);
    expect([...where].filter(([, places]) => places.length > 1).map(([arn, places]) => `${arn}: ${places.join(", ")}`)).toEqual([]);
  });

  it("allows every request a run makes, and denies every request the tables say must fail", () => {
    const unexpected = simulated.filter((s) => s.result !== (s.call.expect ?? "Allowed")).map((s) => `${s.detail}, expected ${s.call.expect ?? "Allowed"}: ${describeCall(s.call)}`);
    expect(unexpected).toEqual([]);
    expect(simulated.filter((s) => s.result === "Denied").length).toBeGreaterThan(0);
  });

  it("has a table for every role: the request that assumes it and the requests made under it", () => {
    const missing: string[] = [];
    for (const s of evaluated) {
      for (const role of s.roles) {
        if (!s.calls.some((c) => c.principal === role.arn && (c.expect ?? "Allowed") === "Allowed")) missing.push(`${s.stack} ${s.workspace}: nothing is declared as made by ${role.address}`);
        const assumed = evaluated.some((e) => e.calls.some((c) => c.action === "sts:AssumeRole" && c.resource === role.arn && (c.expect ?? "Allowed") === "Allowed"));
        if (!assumed) missing.push(`${s.stack} ${s.workspace}: nothing is declared to assume ${role.address}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("grants nothing a run does not need: without any one action of any identity policy, a declared request is denied", async () => {
    const unneeded: string[] = [];
    for (const s of representatives) {
      for (const role of s.roles) {
        const needing = simulated.filter((r) => r.call.principal === role.arn && r.result === "Allowed");
        for (const [p, named] of role.identity.entries()) {
          for (const [i, statement] of named.policy.Statement.entries()) {
            if (statement.Effect !== "Allow") continue;
            for (const action of ([] as string[]).concat(statement.Action)) {
              const identity: NamedPolicy[] = role.identity.map((n, j) => (j === p ? { ...n, policy: withoutAction(n.policy, i, action) } : n));
              const results = await Promise.all(needing.map((r) => index.simulate(r.call, { role: role.arn, identity })));
              if (results.every((r) => r.result === "Allowed")) unneeded.push(`${s.stack}: ${named.name} statement ${statement.Sid ?? i} grants ${action}, which no declared request of ${role.address} needs`);
            }
          }
        }
      }
    }
    expect(unneeded).toEqual([]);
  });

  it("opens no resource policy further than a run needs: without any one of its Allow statements, a declared request is denied", async () => {
    const allowed = simulated.filter((r) => r.result === "Allowed");
    const unneeded: string[] = [];
    const representativeArns = new Set(representatives.flatMap((s) => [...s.resourcePolicies.keys()]));
    for (const [resource, policies] of index.guardedResources()) {
      if (!representativeArns.has(resource)) continue;
      const needing = allowed.filter((r) => index.resourcePolicyKey(r.call.resource) === resource);
      for (const [p, named] of policies.entries()) {
        for (const [i, statement] of named.policy.Statement.entries()) {
          if (statement.Effect !== "Allow") continue;
          const without = policies.map((n, j) => (j === p ? { ...n, policy: { ...n.policy, Statement: n.policy.Statement.filter((_, k) => k !== i) } } : n));
          const results = await Promise.all(needing.map((r) => index.simulate(r.call, { resource: without })));
          if (results.every((r) => r.result === "Allowed")) unneeded.push(`${named.name} statement ${statement.Sid ?? i} on ${resource}: no declared request needs it`);
        }
      }
    }
    expect(unneeded).toEqual([]);
  });
});
