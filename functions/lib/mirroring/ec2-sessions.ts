import {
  CreateTrafficMirrorSessionCommand,
  DeleteTrafficMirrorSessionCommand,
  DescribeAvailabilityZonesCommand,
  DescribeTrafficMirrorSessionsCommand,
  DescribeTrafficMirrorTargetsCommand,
  type EC2Client,
  type Filter,
} from "@aws-sdk/client-ec2";
import { createHash } from "node:crypto";
import { awsErrorCode, withRetry, type RetryOptions } from "../retry";
import type { MirrorOutcome, Outcome } from "./outcomes";
import type { SourceFacts } from "./policy";
import { MANAGED_BY_TAG, sessionFacts, sessionsByInterface, type SessionFacts, type SourcePlan } from "./sessions";
import type { MirroringSettings } from "./settings";

/**
 * The EC2 side of mirroring, shared by the instance and task functions and the CLI: sessions,
 * targets and zones looked up, sessions created and removed. The caller creates the client.
 */
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
  "InvalidNetworkInterfaceID.NotFound": "source-gone",
  "InvalidInstanceID.NotFound": "source-gone",
  "InvalidTrafficMirrorTargetId.NotFound": "target-unavailable",
  "InvalidTrafficMirrorSessionId.NotFound": "removed",
};

/** Filter values EC2 accepts in one filter, kept well under its limit. */
const FILTER_VALUES_PER_CALL = 100;
const CACHE_TTL_MS = 5 * 60_000;

interface Cached<T> {
  value?: T;
  fetchedAt: number;
}
const targetInterfaces: Cached<ReadonlySet<string>> = { fetchedAt: 0 };
const zoneIds: Cached<ReadonlyMap<string, string>> = { fetchedAt: 0 };

async function cached<T>(cache: Cached<T>, load: () => Promise<T>, now: number): Promise<T> {
  if (cache.value !== undefined && now - cache.fetchedAt < CACHE_TTL_MS) return cache.value;
  cache.value = await load();
  cache.fetchedAt = now;
  return cache.value;
}

/** Forgets cached lookups (tests, and the CLI between accounts). */
export function resetCaches(): void {
  for (const cache of [targetInterfaces, zoneIds] as Cached<unknown>[]) {
    cache.value = undefined;
    cache.fetchedAt = 0;
  }
}

/** ENIs that are traffic mirror targets (owned or shared): never mirror sources. Cached per container. */
export function mirrorTargetInterfaceIds(ctx: MirroringContext, now = Date.now()): Promise<ReadonlySet<string>> {
  return cached(targetInterfaces, async () => {
    const ids = new Set<string>();
    let NextToken: string | undefined;
    do {
      const page = await withRetry(() => ctx.ec2.send(new DescribeTrafficMirrorTargetsCommand({ NextToken, MaxResults: 1000 })), ctx.retry);
      for (const t of page.TrafficMirrorTargets ?? []) if (t.NetworkInterfaceId) ids.add(t.NetworkInterfaceId);
      NextToken = page.NextToken;
    } while (NextToken);
    return ids;
  }, now);
}

/**
 * Fills in each source's zone id from its zone name, which is all ECS and some EC2 responses
 * give. Only needed, and only looked up (once per container), when targets are set per zone.
 */
export async function withZoneIds(ctx: MirroringContext, sources: readonly SourceFacts[], now = Date.now()): Promise<SourceFacts[]> {
  const needs = Object.keys(ctx.settings.targets.byZoneId).length > 0 && sources.some((s) => !s.availabilityZoneId && s.availabilityZone);
  if (!needs) return [...sources];
  const byName = await cached(zoneIds, async () => {
    const zones = await withRetry(() => ctx.ec2.send(new DescribeAvailabilityZonesCommand({ AllAvailabilityZones: false })), ctx.retry);
    return new Map((zones.AvailabilityZones ?? []).flatMap((z) => (z.ZoneName && z.ZoneId ? [[z.ZoneName, z.ZoneId]] : [])));
  }, now);
  return sources.map((s) => (s.availabilityZoneId || !s.availabilityZone ? s : { ...s, availabilityZoneId: byName.get(s.availabilityZone) }));
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

/** Every session in the account and region, by ENI: what a sweep plans against. */
export async function allSessions(ctx: MirroringContext): Promise<Map<string, SessionFacts[]>> {
  return sessionsByInterface(await describeSessions(ctx, undefined));
}

/** Sessions on the given ENIs, by ENI: one call per 100 ENIs (and per page). */
export async function sessionsOn(ctx: MirroringContext, interfaceIds: readonly string[]): Promise<Map<string, SessionFacts[]>> {
  const sessions: SessionFacts[] = [];
  for (let i = 0; i < interfaceIds.length; i += FILTER_VALUES_PER_CALL) {
    const chunk = interfaceIds.slice(i, i + FILTER_VALUES_PER_CALL);
    sessions.push(...(await describeSessions(ctx, [{ Name: "network-interface-id", Values: chunk }])));
  }
  return sessionsByInterface(sessions);
}

function clientToken(ctx: MirroringContext, interfaceId: string, targetId: string): string {
  return createHash("sha256").update(`${ctx.idempotencySeed}|${interfaceId}|${targetId}`).digest("hex").slice(0, 64);
}

/** The outcome an error stands for: an expected EC2 answer by its code, else `failed`. */
export function errorOutcome(err: unknown, sourceId: string, interfaceId?: string): MirrorOutcome {
  const code = awsErrorCode(err) ?? "Error";
  const outcome = EXPECTED_ERRORS[code] ?? "failed";
  const reason = outcome === "failed" ? `${code}: ${(err as Error).message}` : code;
  return { outcome, sourceId, interfaceId, reason };
}

async function createSession(
  ctx: MirroringContext,
  source: SourceFacts,
  interfaceId: string,
  targetId: string,
  sessionNumber: number,
): Promise<MirrorOutcome> {
  const base = { sourceId: source.sourceId, interfaceId, sessionNumber };
  if (ctx.dryRun) return { outcome: "would-create", ...base, reason: `to ${targetId}` };
  const s = ctx.settings;
  try {
    const created = await withRetry(
      () =>
        ctx.ec2.send(
          new CreateTrafficMirrorSessionCommand({
            NetworkInterfaceId: interfaceId,
            TrafficMirrorTargetId: targetId,
            TrafficMirrorFilterId: s.filterId,
            SessionNumber: sessionNumber,
            VirtualNetworkId: s.virtualNetworkId,
            PacketLength: s.packetLength,
            Description: `flowtap: ${source.sourceId}`.slice(0, 255),
            ClientToken: clientToken(ctx, interfaceId, targetId),
            TagSpecifications: [
              {
                ResourceType: "traffic-mirror-session",
                Tags: [
                  { Key: MANAGED_BY_TAG.key, Value: MANAGED_BY_TAG.value },
                  { Key: source.kind === "instance" ? "flowtap:instance-id" : "flowtap:task-arn", Value: source.sourceId },
                ],
              },
            ],
          }),
        ),
      ctx.retry,
    );
    return { outcome: "created", ...base, sessionId: created.TrafficMirrorSession?.TrafficMirrorSessionId };
  } catch (err) {
    return errorOutcome(err, source.sourceId, interfaceId);
  }
}

async function removeSession(ctx: MirroringContext, sourceId: string, session: SessionFacts, reason: string): Promise<MirrorOutcome> {
  const base = { sourceId, interfaceId: session.interfaceId, sessionId: session.sessionId, sessionNumber: session.sessionNumber, reason };
  if (ctx.dryRun) return { outcome: "would-remove", ...base };
  try {
    await withRetry(() => ctx.ec2.send(new DeleteTrafficMirrorSessionCommand({ TrafficMirrorSessionId: session.sessionId })), ctx.retry);
    return { outcome: "removed", ...base };
  } catch (err) {
    const outcome = errorOutcome(err, sourceId, session.interfaceId);
    // Already gone is what we wanted.
    return outcome.outcome === "removed" || outcome.outcome === "source-gone" ? { outcome: "removed", ...base } : outcome;
  }
}

/** The outcome of a decision not to create a session. */
const SKIP_OUTCOMES: Readonly<Record<string, Outcome>> = {
  "already-mirrored": "already-mirrored",
  "session-limit": "session-limit",
  "unsupported-interface-type": "unsupported",
  "no-target-for-zone": "target-unavailable",
};

/** Carries out a plan: creates the sessions it decided on and, when `remove` is set, removes flowtap's stale ones. */
export async function applyPlan(ctx: MirroringContext, plan: SourcePlan, remove: boolean): Promise<MirrorOutcome[]> {
  const outcomes: MirrorOutcome[] = [];
  const { sourceId } = plan.source;
  if (plan.excluded !== undefined) outcomes.push({ outcome: "excluded", sourceId, reason: plan.excluded });
  for (const decision of plan.interfaces) {
    if (decision.action === "create") {
      outcomes.push(await createSession(ctx, plan.source, decision.interfaceId, decision.targetId, decision.sessionNumber));
    } else {
      outcomes.push({ outcome: SKIP_OUTCOMES[decision.reason] ?? "excluded", sourceId, interfaceId: decision.interfaceId, reason: decision.reason });
    }
  }
  if (remove) {
    for (const session of plan.removals) {
      outcomes.push(await removeSession(ctx, sourceId, session, plan.excluded ?? "no longer eligible, duplicate, or to another zone's target"));
    }
  }
  return outcomes;
}
