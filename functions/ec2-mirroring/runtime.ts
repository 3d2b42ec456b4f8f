import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { EC2Client } from "@aws-sdk/client-ec2";
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
