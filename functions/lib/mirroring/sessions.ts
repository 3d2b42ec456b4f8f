import type { TrafficMirrorSession } from "@aws-sdk/client-ec2";
import {
  interfaceExclusion,
  sourceExclusion,
  type InterfaceExclusion,
  type SourceExclusion,
  type SourceFacts,
} from "./policy";
import { allTargetIds, targetFor, type MirroringSettings } from "./settings";

/** AWS's limit of traffic mirror sessions per source ENI. */
export const MAX_SESSIONS_PER_INTERFACE = 3;
/** Session numbers AWS accepts. */
export const MIN_SESSION_NUMBER = 1;
export const MAX_SESSION_NUMBER = 32766;
/** The tag that marks sessions flowtap created, and the only sessions it ever deletes. */
export const MANAGED_BY_TAG = { key: "ManagedBy", value: "flowtap" } as const;

/** A traffic mirror session as the planner sees it. */
export interface SessionFacts {
  readonly sessionId: string;
  readonly interfaceId: string;
  readonly targetId: string;
  readonly sessionNumber: number;
  readonly managedByFlowtap: boolean;
}

export function sessionFacts(session: TrafficMirrorSession): SessionFacts | undefined {
  if (!session.TrafficMirrorSessionId || !session.NetworkInterfaceId || !session.TrafficMirrorTargetId) return undefined;
  return {
    sessionId: session.TrafficMirrorSessionId,
    interfaceId: session.NetworkInterfaceId,
    targetId: session.TrafficMirrorTargetId,
    sessionNumber: session.SessionNumber ?? 0,
    managedByFlowtap: (session.Tags ?? []).some((t) => t.Key === MANAGED_BY_TAG.key && t.Value === MANAGED_BY_TAG.value),
  };
}

/** Groups sessions by their source ENI. */
export function sessionsByInterface(sessions: Iterable<SessionFacts>): Map<string, SessionFacts[]> {
  const byInterface = new Map<string, SessionFacts[]>();
  for (const session of sessions) {
    const list = byInterface.get(session.interfaceId);
    if (list) list.push(session);
    else byInterface.set(session.interfaceId, [session]);
  }
  return byInterface;
}

/**
 * The session number for a new session on an ENI whose sessions hold `taken`: the preferred
 * one when free, else the lowest free one; undefined when the ENI is at AWS's limit.
 */
export function allocateSessionNumber(taken: Iterable<number>, preferred: number): number | undefined {
  const used = new Set(taken);
  if (used.size >= MAX_SESSIONS_PER_INTERFACE) return undefined;
  if (!used.has(preferred)) return preferred;
  for (let n = MIN_SESSION_NUMBER; n <= MAX_SESSION_NUMBER; n++) {
    if (!used.has(n)) return n;
  }
  return undefined;
}

export type InterfaceDecision =
  | { readonly interfaceId: string; readonly action: "create"; readonly sessionNumber: number; readonly targetId: string }
  | {
      readonly interfaceId: string;
      readonly action: "skip";
      readonly reason: "already-mirrored" | "session-limit" | "no-target-for-zone" | InterfaceExclusion;
    };

/** What to do for one source: its ENIs' decisions, and flowtap's sessions to remove. */
export interface SourcePlan {
  readonly source: SourceFacts;
  readonly excluded?: SourceExclusion;
  readonly interfaces: readonly InterfaceDecision[];
  /**
   * flowtap's own sessions that must go: on ENIs no longer eligible, duplicates to the target,
   * and sessions to another of the configured targets once the zone's own target has one.
   */
  readonly removals: readonly SessionFacts[];
}

/**
 * Decides, for one source, which ENIs get a session (to the target of the source's zone, else
 * the default) and which of flowtap's sessions go. `excluded` overrides the tag rules with a
 * reason of the caller's (an ECS task outside the configured clusters, say).
 */
export function planSource(
  facts: SourceFacts,
  sessions: ReadonlyMap<string, readonly SessionFacts[]>,
  settings: MirroringSettings,
  mirrorTargetInterfaceIds: ReadonlySet<string>,
  excludedByScope?: SourceExclusion,
): SourcePlan {
  const excluded = excludedByScope ?? sourceExclusion(facts, settings);
  const ourTargets = allTargetIds(settings.targets);
  const target = targetFor(settings.targets, facts.availabilityZoneId);
  const removals: SessionFacts[] = [];
  const interfaces: InterfaceDecision[] = [];
  for (const eni of facts.interfaces) {
    const existing = sessions.get(eni.id) ?? [];
    const ours = existing.filter((s) => s.managedByFlowtap);
    if (excluded !== undefined) {
      // A stopped instance keeps its sessions; only a policy exclusion removes them.
      if (excluded !== "not-running") removals.push(...ours);
      continue;
    }
    const eniExcluded = interfaceExclusion(eni, settings, mirrorTargetInterfaceIds);
    if (eniExcluded !== undefined) {
      if (eniExcluded !== "detaching") removals.push(...ours);
      interfaces.push({ interfaceId: eni.id, action: "skip", reason: eniExcluded });
      continue;
    }
    if (target === undefined) {
      interfaces.push({ interfaceId: eni.id, action: "skip", reason: "no-target-for-zone" });
      continue;
    }
    const toTarget = existing.filter((s) => s.targetId === target).sort((a, b) => a.sessionNumber - b.sessionNumber);
    if (toTarget.length > 0) {
      // Two events racing can each create a session; keep one, remove flowtap's extra ones.
      const [, ...duplicates] = toTarget;
      removals.push(...duplicates.filter((s) => s.managedByFlowtap));
      // A session flowtap made to another zone's target (or the default, before this zone had one) is now redundant.
      removals.push(...ours.filter((s) => s.targetId !== target && ourTargets.has(s.targetId)));
      interfaces.push({ interfaceId: eni.id, action: "skip", reason: "already-mirrored" });
      continue;
    }
    const sessionNumber = allocateSessionNumber(existing.map((s) => s.sessionNumber), settings.sessionNumber);
    interfaces.push(
      sessionNumber === undefined
        ? { interfaceId: eni.id, action: "skip", reason: "session-limit" }
        : { interfaceId: eni.id, action: "create", sessionNumber, targetId: target },
    );
  }
  return { source: facts, excluded, interfaces, removals };
}
