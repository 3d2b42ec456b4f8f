import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECSClient } from "@aws-sdk/client-ecs";
import { settingsFromEnvironment, type MirroringSettings } from "../lib/mirroring/settings";
import { taskScopeFromEnvironment, type TaskScope } from "../lib/mirroring/tasks";

// Created once per container. Retries are ours (withRetry), so the SDK makes one attempt.
export const ec2 = new EC2Client({ maxAttempts: 1 });
export const ecs = new ECSClient({ maxAttempts: 1 });
export const logger = new Logger();
export const metrics = new Metrics();

let settings: { mirroring: MirroringSettings; scope: TaskScope } | undefined;
/** The function's settings, read from its environment on first use. */
export function taskMirroringSettings(): { mirroring: MirroringSettings; scope: TaskScope } {
  settings ??= { mirroring: settingsFromEnvironment(process.env), scope: taskScopeFromEnvironment(process.env) };
  return settings;
}
