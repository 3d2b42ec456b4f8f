import { parseMirroringEvent } from "../lib/mirroring/events";
import { report, reportIgnored } from "../lib/mirroring/report";
import { mirrorInstance } from "./mirror-instances";
import { ec2, logger, metrics, mirroringSettings } from "./runtime";

/**
 * Mirrors the ENIs of an instance that started running or had an ENI attached. Expected
 * answers from EC2 (unsupported instance, ENI at its session limit, instance gone, target not
 * shared yet) are logged and counted, never retried. An unexpected failure is thrown after
 * reporting, so Lambda retries the event and, at the end, leaves it in the failure queue.
 */
export const handler = async (event: unknown): Promise<Record<string, number> | undefined> => {
  const parsed = parseMirroringEvent(event);
  if (!parsed.ok) return reportIgnored(event, parsed.reason, logger, metrics);
  if (parsed.trigger.kind === "sweep") return reportIgnored(event, "scheduled events go to the reconciler", logger, metrics);
  const { trigger } = parsed;
  logger.appendKeys({ instanceId: trigger.instanceId, trigger: trigger.kind, eventId: trigger.eventId });
  try {
    const outcomes = await mirrorInstance({ ec2, settings: mirroringSettings(), idempotencySeed: trigger.eventId }, trigger.instanceId);
    const counts = report(outcomes, logger, metrics);
    if (counts.failed > 0) throw new Error(`${counts.failed} mirror session(s) could not be created; the event will be retried`);
    return counts;
  } finally {
    logger.removeKeys(["instanceId", "trigger", "eventId"]);
  }
};
