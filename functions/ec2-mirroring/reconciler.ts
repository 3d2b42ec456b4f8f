import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { parseMirroringEvent } from "../lib/mirroring/events";
import { sweep } from "./mirror-instances";
import { ec2, logger, metrics, mirroringSettings, report } from "./runtime";

/**
 * The scheduled sweep: mirrors every eligible ENI of every running instance that events
 * missed, and removes flowtap's own sessions from instances that became excluded. A session
 * that could not be created is reported and left to the next sweep.
 */
export const handler = async (event: unknown): Promise<Record<string, number> | undefined> => {
  const parsed = parseMirroringEvent(event);
  if (!parsed.ok || parsed.trigger.kind !== "sweep") {
    logger.warn("ignored event", { reason: parsed.ok ? `${parsed.trigger.kind} events go to the event function` : parsed.reason, event });
    metrics.addMetric("IgnoredEvents", MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    return undefined;
  }
  const outcomes = await sweep(
    { ec2, settings: mirroringSettings(), idempotencySeed: parsed.trigger.eventId },
    { remove: true },
  );
  const counts = report(outcomes);
  logger.info("sweep done", { counts });
  return counts;
};
