import {
  CreateTrafficMirrorSessionCommand,
  DeleteTrafficMirrorSessionCommand,
  DescribeInstancesCommand,
  DescribeTrafficMirrorSessionsCommand,
  DescribeTrafficMirrorTargetsCommand,
  type EC2Client,
  type Filter,
  type Instance,
} from "@aws-sdk/client-ec2";
import { createHash } from "node:crypto";
import pLimit from "p-limit";
import { instanceFacts, type InstanceFacts } from "../lib/mirroring/policy";
import type { MirrorOutcome, Outcome } from "../lib/mirroring/outcomes";
import {
  MANAGED_BY_TAG,
  planInstance,
  sessionFacts,
  sessionsByInterface,
  type InstancePlan,
  type SessionFacts,
} from "../lib/mirroring/sessions";
import type { MirroringSettings } from "../lib/mirroring/settings";
import { awsErrorCode, withRetry, type RetryOptions } from "../lib/retry";

/** Everything a mirroring run needs; the EC2 client is created once by the caller. */
export interface MirroringContext {
  readonly ec2: EC2Client;
  readonly settings: MirroringSettings;
  /** Makes client tokens: the same seed and ENI give the same token, so a redelivered event creates nothing new. */
  readonly idempotencySeed: string;
  readonly retry?: RetryOptions;
  /** Plan only: report would-create and would-remove, change nothing. */
  readonly dryRun?: boolean;
}

/** EC2 error codes that are answers, not faults: each maps to an outcome and is never retried. */
const EXPECTED_ERRORS: Readonly<Record<string, Outcome>> = {
  NetworkInterfaceNotSupported: "unsupported",
  TrafficMirrorSessionsPerInterfaceLimitExceeded: "session-limit",
  "InvalidNetworkInterfaceID.NotFound": "instance-gone",
  "InvalidInstanceID.NotFound": "instance-gone",
  "InvalidTrafficMirrorTargetId.NotFound": "target-unavailable",
  "InvalidTrafficMirrorSessionId.NotFound": "removed",
};

/** Filter values EC2 accepts in one filter, kept well under its limit. */
const FILTER_VALUES_PER_CALL = 100;

const targetInterfaceCache: { ids?: ReadonlySet<string>; fetchedAt: number } = { fetchedAt: 0 };
const TARGET_CACHE_TTL_MS = 5 * 60_000;

/** ENIs that are traffic mirror targets (owned or shared): never mirror sources. Cached per container. */
export async function mirrorTargetInterfaceIds(ctx: MirroringContext, now = Date.now()): Promise<ReadonlySet<string>> {
  if (targetInterfaceCache.ids && now - targetInterfaceCache.fetchedAt < TARGET_CACHE_TTL_MS) return targetInterfaceCache.ids;
  const ids = new Set<string>();
  let NextToken: string | undefined;
  do {
    const page = await withRetry(() => ctx.ec2.send(new DescribeTrafficMirrorTargetsCommand({ NextToken, MaxResults: 1000 })), ctx.retry);
    for (const t of page.TrafficMirrorTargets ?? []) if (t.NetworkInterfaceId) ids.add(t.NetworkInterfaceId);
    NextToken = page.NextToken;
  } while (NextToken);
  targetInterfaceCache.ids = ids;
  targetInterfaceCache.fetchedAt = now;
  return ids;
}

/** Forgets cached lookups (tests, and the CLI between accounts). */
export function resetCaches(): void {
  targetInterfaceCache.ids = undefined;
  targetInterfaceCache.fetchedAt = 0;
}

async function describeSessions(ctx: MirroringContext, filters: Filter[] | undefined): Promise<SessionFacts[]> {
  const sessions: SessionFacts[] = [];
  let NextToken: string | undefined;
  do {
    const page = await withRetry(
      () => ctx.ec2.send(new DescribeTrafficMirrorSessionsCommand({ Filters: filters, NextToken, MaxResults: 1000 })),
      ctx.retry,
    );
    for (const s of page.TrafficMirrorSessions ?? []) {
      const facts = sessionFacts(s);
      if (facts) sessions.push(facts);
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return sessions;
}

/** Sessions on the given ENIs, by ENI: one call per 100 ENIs (and per page). */
async function sessionsOn(ctx: MirroringContext, interfaceIds: readonly string[]): Promise<Map<string, SessionFacts[]>> {
  const sessions: SessionFacts[] = [];
  for (let i = 0; i < interfaceIds.length; i += FILTER_VALUES_PER_CALL) {
    const chunk = interfaceIds.slice(i, i + FILTER_VALUES_PER_CALL);
    sessions.push(...(await describeSessions(ctx, [{ Name: "network-interface-id", Values: chunk }])));
  }
  return sessionsByInterface(sessions);
}

function clientToken(ctx: MirroringContext, interfaceId: string): string {
  return createHash("sha256").update(`${ctx.idempotencySeed}|${interfaceId}|${ctx.settings.targetId}`).digest("hex").slice(0, 64);
}

async function createSession(ctx: MirroringContext, instanceId: string, interfaceId: string, sessionNumber: number): Promise<MirrorOutcome> {
  if (ctx.dryRun) return { outcome: "would-create", instanceId, interfaceId, sessionNumber };
  const s = ctx.settings;
  try {
    const created = await withRetry(
      () =>
        ctx.ec2.send(
          new CreateTrafficMirrorSessionCommand({
            NetworkInterfaceId: interfaceId,
            TrafficMirrorTargetId: s.targetId,
            TrafficMirrorFilterId: s.filterId,
            SessionNumber: sessionNumber,
            VirtualNetworkId: s.virtualNetworkId,
            PacketLength: s.packetLength,
            Description: `flowtap: ${instanceId}`,
            ClientToken: clientToken(ctx, interfaceId),
            TagSpecifications: [
              {
                ResourceType: "traffic-mirror-session",
                Tags: [
                  { Key: MANAGED_BY_TAG.key, Value: MANAGED_BY_TAG.value },
                  { Key: "flowtap:instance-id", Value: instanceId },
                ],
              },
            ],
          }),
        ),
      ctx.retry,
    );
    return { outcome: "created", instanceId, interfaceId, sessionNumber, sessionId: created.TrafficMirrorSession?.TrafficMirrorSessionId };
  } catch (err) {
    return errorOutcome(err, instanceId, interfaceId);
  }
}

async function removeSession(ctx: MirroringContext, instanceId: string, session: SessionFacts, reason: string): Promise<MirrorOutcome> {
  const base = { instanceId, interfaceId: session.interfaceId, sessionId: session.sessionId, sessionNumber: session.sessionNumber, reason };
  if (ctx.dryRun) return { outcome: "would-remove", ...base };
  try {
    await withRetry(() => ctx.ec2.send(new DeleteTrafficMirrorSessionCommand({ TrafficMirrorSessionId: session.sessionId })), ctx.retry);
    return { outcome: "removed", ...base };
  } catch (err) {
    const outcome = errorOutcome(err, instanceId, session.interfaceId);
    // Already gone is what we wanted.
    return outcome.outcome === "removed" || outcome.outcome === "instance-gone" ? { outcome: "removed", ...base } : outcome;
  }
}

function errorOutcome(err: unknown, instanceId: string, interfaceId?: string): MirrorOutcome {
  const code = awsErrorCode(err) ?? "Error";
  const outcome = EXPECTED_ERRORS[code] ?? "failed";
  const reason = outcome === "failed" ? `${code}: ${(err as Error).message}` : code;
  return { outcome, instanceId, interfaceId, reason };
}

/** Carries out a plan: creates the sessions it decided on and, when `remove` is set, removes flowtap's stale ones. */
export async function applyPlan(ctx: MirroringContext, plan: InstancePlan, remove: boolean): Promise<MirrorOutcome[]> {
  const outcomes: MirrorOutcome[] = [];
  const { instanceId } = plan;
  if (plan.excluded !== undefined) outcomes.push({ outcome: "excluded", instanceId, reason: plan.excluded });
  for (const decision of plan.interfaces) {
    if (decision.action === "create") {
      outcomes.push(await createSession(ctx, instanceId, decision.interfaceId, decision.sessionNumber));
    } else {
      const outcome: Outcome =
        decision.reason === "already-mirrored" ? "already-mirrored"
        : decision.reason === "session-limit" ? "session-limit"
        : decision.reason === "unsupported-interface-type" ? "unsupported"
        : "excluded";
      outcomes.push({ outcome, instanceId, interfaceId: decision.interfaceId, reason: decision.reason });
    }
  }
  if (remove) {
    for (const session of plan.removals) {
      outcomes.push(await removeSession(ctx, instanceId, session, plan.excluded ?? "no longer eligible or duplicate"));
    }
  }
  return outcomes;
}

/**
 * Mirrors one instance, as its event asks: one DescribeInstances, one DescribeTrafficMirrorSessions
 * for its ENIs, then one CreateTrafficMirrorSession per ENI that has no session to the target.
 */
export async function mirrorInstance(ctx: MirroringContext, instanceId: string): Promise<MirrorOutcome[]> {
  let instance: Instance | undefined;
  try {
    const described = await withRetry(() => ctx.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })), ctx.retry);
    instance = described.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
  } catch (err) {
    return [errorOutcome(err, instanceId)];
  }
  if (!instance) return [{ outcome: "instance-gone", instanceId, reason: "not returned by DescribeInstances" }];
  const facts = instanceFacts(instance);
  if (facts.state === "shutting-down" || facts.state === "terminated") {
    return [{ outcome: "instance-gone", instanceId, reason: `instance is ${facts.state}` }];
  }
  const targets = await mirrorTargetInterfaceIds(ctx);
  const sessions = await sessionsOn(ctx, facts.interfaces.map((i) => i.id));
  return applyPlan(ctx, planInstance(facts, sessions, ctx.settings, targets), false);
}

/** Every running instance in the account and region, page by page (1,000 a page). */
export async function* runningInstances(ctx: MirroringContext): AsyncGenerator<InstanceFacts[]> {
  let NextToken: string | undefined;
  do {
    const page = await withRetry(
      () =>
        ctx.ec2.send(
          new DescribeInstancesCommand({
            Filters: [{ Name: "instance-state-name", Values: ["running"] }],
            MaxResults: 1000,
            NextToken,
          }),
        ),
      ctx.retry,
    );
    yield (page.Reservations ?? []).flatMap((r) => r.Instances ?? []).map(instanceFacts);
    NextToken = page.NextToken;
  } while (NextToken);
}

export interface SweepOptions {
  /** Remove flowtap's sessions from instances and ENIs that are no longer eligible. */
  readonly remove: boolean;
  /** Instances worked on at once. @default 4 */
  readonly concurrency?: number;
  /** Called as instances are found and as each is done, for a progress display. */
  readonly onProgress?: (event: { readonly found: number; readonly done: number }) => void;
}

/**
 * Sweeps every running instance: one paginated listing of instances, one of all sessions and one
 * of mirror targets, then the creates and removals the plans call for, `concurrency` at a time.
 */
export async function sweep(ctx: MirroringContext, options: SweepOptions): Promise<MirrorOutcome[]> {
  const [targets, sessions] = await Promise.all([mirrorTargetInterfaceIds(ctx), describeSessions(ctx, undefined)]);
  const byInterface = sessionsByInterface(sessions);
  const limit = pLimit(options.concurrency ?? 4);
  const pending: Promise<MirrorOutcome[]>[] = [];
  let found = 0;
  let done = 0;
  for await (const page of runningInstances(ctx)) {
    found += page.length;
    options.onProgress?.({ found, done });
    for (const facts of page) {
      pending.push(
        limit(async () => {
          const outcomes = await applyPlan(ctx, planInstance(facts, byInterface, ctx.settings, targets), options.remove);
          options.onProgress?.({ found, done: ++done });
          return outcomes;
        }),
      );
    }
  }
  return (await Promise.all(pending)).flat();
}
