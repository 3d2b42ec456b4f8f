import { parseMirroringEvent } from "../lib/mirroring/events";
import { report, reportIgnored } from "../lib/mirroring/report";
import { sweepTasks } from "./mirror-tasks";
import { ec2, ecs, logger, metrics, taskMirroringSettings } from "./runtime";

/**
 * The scheduled sweep over running tasks: mirrors the tasks that started while the event
 * function failed or was throttled, and removes flowtap's sessions from tasks that became excluded.
 */
export const handler = async (event: unknown): Promise<Record<string, number> | undefined> => {
  const parsed = parseMirroringEvent(event);
  if (!parsed.ok) return reportIgnored(event, parsed.reason, logger, metrics);
  if (parsed.trigger.kind !== "sweep") return reportIgnored(event, "only scheduled events start a sweep", logger, metrics);
  const { mirroring, scope } = taskMirroringSettings();
  const outcomes = await sweepTasks({ ec2, ecs, logger, settings: mirroring, scope, idempotencySeed: parsed.trigger.eventId }, { remove: true });
  const counts = report(outcomes, logger, metrics);
  logger.info("sweep done", { counts });
  return counts;
};
