import { parseMirroringEvent } from "../lib/mirroring/events";
import { report, reportIgnored } from "../lib/mirroring/report";
import { sweepInstances } from "./mirror-instances";
import { ec2, logger, metrics, mirroringSettings } from "./runtime";

/**
 * The scheduled sweep: mirrors every eligible ENI of every running instance that events
 * missed, and removes flowtap's own sessions from instances that became excluded. A session
 * that could not be created is reported and left to the next sweep.
 */
export const handler = async (event: unknown): Promise<Record<string, number> | undefined> => {
  const parsed = parseMirroringEvent(event);
  if (!parsed.ok) return reportIgnored(event, parsed.reason, logger, metrics);
  if (parsed.trigger.kind !== "sweep") return reportIgnored(event, `${parsed.trigger.kind} events go to the event function`, logger, metrics);
  const outcomes = await sweepInstances({ ec2, settings: mirroringSettings(), idempotencySeed: parsed.trigger.eventId }, { remove: true });
  const counts = report(outcomes, logger, metrics);
  logger.info("sweep done", { counts });
  return counts;
};
