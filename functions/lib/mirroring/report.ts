import type { Logger } from "@aws-lambda-powertools/logger";
import { MetricUnit, type Metrics } from "@aws-lambda-powertools/metrics";
import { metricName, summarize, type MirrorOutcome, type Outcome } from "./outcomes";

/** Outcomes worth a warning: AWS said no, for a reason a reader may need to act on. */
const WARNINGS: ReadonlySet<Outcome> = new Set(["unsupported", "session-limit", "source-gone", "target-unavailable"]);

/**
 * Logs each outcome once as a structured line and counts every outcome in a metric
 * (embedded metric format, flushed before returning). Returns the counts.
 */
export function report(outcomes: readonly MirrorOutcome[], logger: Logger, metrics: Metrics): Record<Outcome, number> {
  for (const o of outcomes) {
    const line = { sourceId: o.sourceId, interfaceId: o.interfaceId, reason: o.reason, sessionId: o.sessionId, sessionNumber: o.sessionNumber };
    if (o.outcome === "failed") logger.error(`mirroring ${o.outcome}`, line);
    else if (WARNINGS.has(o.outcome)) logger.warn(`mirroring ${o.outcome}`, line);
    else logger.info(`mirroring ${o.outcome}`, line);
  }
  const counts = summarize(outcomes);
  for (const [outcome, count] of Object.entries(counts) as [Outcome, number][]) {
    if (count > 0) metrics.addMetric(metricName(outcome), MetricUnit.Count, count);
  }
  metrics.publishStoredMetrics();
  return counts;
}

/** Logs and counts an event the function does not handle. */
export function reportIgnored(event: unknown, reason: string, logger: Logger, metrics: Metrics): undefined {
  logger.warn("ignored event", { reason, event });
  metrics.addMetric("IgnoredEvents", MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  return undefined;
}
