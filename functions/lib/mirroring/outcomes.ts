/** What happened to one ENI (or a whole instance or task) in a mirroring run. */
export type Outcome =
  | "created"
  | "would-create"
  | "already-mirrored"
  | "excluded"
  | "unsupported"
  | "session-limit"
  | "source-gone"
  | "target-unavailable"
  | "removed"
  | "would-remove"
  | "failed";

export interface MirrorOutcome {
  readonly outcome: Outcome;
  /** The instance id or task ARN. */
  readonly sourceId: string;
  readonly interfaceId?: string;
  /** Why, in the words of the policy or of AWS's error code. */
  readonly reason?: string;
  readonly sessionId?: string;
  readonly sessionNumber?: number;
}

/** Counts per outcome, every outcome present (0 when none), in a stable order. */
export function summarize(outcomes: Iterable<MirrorOutcome>): Record<Outcome, number> {
  const counts: Record<Outcome, number> = {
    created: 0,
    "would-create": 0,
    "already-mirrored": 0,
    excluded: 0,
    unsupported: 0,
    "session-limit": 0,
    "source-gone": 0,
    "target-unavailable": 0,
    removed: 0,
    "would-remove": 0,
    failed: 0,
  };
  for (const o of outcomes) counts[o.outcome]++;
  return counts;
}

/** The CloudWatch metric name of an outcome (embedded metric format). */
export function metricName(outcome: Outcome): string {
  return outcome
    .split("-")
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join("");
}
