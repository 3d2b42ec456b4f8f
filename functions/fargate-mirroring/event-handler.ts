import { report, reportIgnored } from "../lib/mirroring/report";
import { parseTaskEvent } from "../lib/mirroring/tasks";
import { mirrorTask } from "./mirror-tasks";
import { ec2, ecs, logger, metrics, taskMirroringSettings } from "./runtime";

/**
 * Mirrors the ENI of an ECS task (Fargate or awsvpc on EC2) that reached RUNNING. A task
 * already stopped, or whose ENI is gone, needs nothing and is only counted. Unexpected
 * failures are thrown after reporting, so Lambda retries the event.
 */
export const handler = async (event: unknown): Promise<Record<string, number> | undefined> => {
  const parsed = parseTaskEvent(event);
  if (!parsed.ok) return reportIgnored(event, parsed.reason, logger, metrics);
  const { task } = parsed;
  if (task.lastStatus !== "RUNNING") return reportIgnored(event, `task is ${task.lastStatus}, not RUNNING`, logger, metrics);
  const { mirroring, scope } = taskMirroringSettings();
  logger.appendKeys({ taskArn: task.taskArn, eventId: task.eventId });
  try {
    const outcomes = await mirrorTask({ ec2, ecs, logger, settings: mirroring, scope, idempotencySeed: task.eventId }, task);
    const counts = report(outcomes, logger, metrics);
    if (counts.failed > 0) throw new Error(`${counts.failed} mirror session(s) could not be created; the event will be retried`);
    return counts;
  } finally {
    logger.removeKeys(["taskArn", "eventId"]);
  }
};
