import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { EC2Client } from "@aws-sdk/client-ec2";
import { metricName, summarize, type MirrorOutcome } from "../lib/mirroring/outcomes";
import { settingsFromEnvironment, type MirroringSettings } from "../lib/mirroring/settings";

// Created once per container. Retries are ours (withRetry), so the SDK makes one attempt.
export const ec2 = new EC2Client({ maxAttempts: 1 });
export const logger = new Logger();
export const metrics = new Metrics();

let settings: MirroringSettings | undefined;
/** The function's settings, read from its environment on first use. */
export function mirroringSettings(): MirroringSettings {
  settings ??= settingsFromEnvironment(process.env);
  return settings;
}

/** Outcomes worth a log line: everything but the quiet successes and the policy's exclusions. */
const LOGGED_AS_WARNING = new Set(["unsupported", "session-limit", "instance-gone", "target-unavailable"]);

/**
 * Logs each outcome once as a structured line and counts every outcome in a metric
 * (embedded metric format, flushed at the end of the invocation).
 */
export function report(outcomes: readonly MirrorOutcome[]): Record<string, number> {
  for (const o of outcomes) {
    const line = { instanceId: o.instanceId, interfaceId: o.interfaceId, reason: o.reason, sessionId: o.sessionId, sessionNumber: o.sessionNumber };
    if (o.outcome === "failed") logger.error(`mirroring ${o.outcome}`, line);
    else if (LOGGED_AS_WARNING.has(o.outcome)) logger.warn(`mirroring ${o.outcome}`, line);
    else logger.info(`mirroring ${o.outcome}`, line);
  }
  const counts = summarize(outcomes);
  for (const [outcome, count] of Object.entries(counts)) {
    if (count > 0) metrics.addMetric(metricName(outcome as keyof typeof counts), MetricUnit.Count, count);
  }
  metrics.publishStoredMetrics();
  return counts;
}
