import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import { z } from "zod";
import { natGatewayOfAlarm } from "../lib/nat-recorder/recording";
import { awsErrorCode, withRetry } from "../lib/retry";

// Created once per container. Retries are ours (withRetry), so the SDK makes one attempt.
const dynamo = new DynamoDBClient({ maxAttempts: 1 });
const sfn = new SFNClient({ maxAttempts: 1 });
const logger = new Logger();

/** Step Functions' answers for a token whose task is already over: the recording stopped on its own. */
const STALE_TOKEN_ERRORS = new Set(["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"]);

const alarmStateChange = z.object({
  source: z.literal("aws.cloudwatch"),
  "detail-type": z.literal("CloudWatch Alarm State Change"),
  detail: z.object({
    alarmName: z.string(),
    state: z.object({ value: z.string(), timestamp: z.string().optional() }),
  }),
});

export interface ResumeResult {
  readonly resumed: boolean;
  readonly natGatewayId?: string;
  readonly reason?: string;
}

/**
 * Resumes the recording of a NAT gateway whose traffic alarm went back to OK: reads the task
 * token the state machine stored and answers it, so the execution stops the flow logs now
 * instead of at the end of the recording time.
 */
export const handler = async (event: unknown): Promise<ResumeResult> => {
  const parsed = alarmStateChange.safeParse(event);
  if (!parsed.success) {
    logger.warn("ignored event", { reason: parsed.error.issues[0]?.message, event });
    return { resumed: false, reason: "not an alarm state change" };
  }
  const { alarmName, state } = parsed.data.detail;
  const natGatewayId = natGatewayOfAlarm(alarmName);
  if (!natGatewayId || state.value !== "OK") {
    logger.warn("ignored event", { alarmName, state: state.value });
    return { resumed: false, reason: `not an OK state of a flowtap NAT alarm (${alarmName}: ${state.value})` };
  }
  const item = await withRetry(() =>
    dynamo.send(new GetItemCommand({ TableName: process.env.TABLE_NAME, Key: { natGatewayId: { S: natGatewayId } }, ConsistentRead: true })),
  );
  const taskToken = item.Item?.taskToken?.S;
  if (!taskToken) {
    logger.info("nothing to resume: no recording waits for this NAT gateway", { natGatewayId });
    return { resumed: false, natGatewayId, reason: "no recording in progress" };
  }
  try {
    await withRetry(() =>
      sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ clearedAt: state.timestamp ?? null, alarmName }) })),
    );
  } catch (err) {
    const code = awsErrorCode(err);
    if (code && STALE_TOKEN_ERRORS.has(code)) {
      logger.info("the recording had already stopped", { natGatewayId, reason: code });
      return { resumed: false, natGatewayId, reason: code };
    }
    throw err;
  }
  logger.info("recording resumed to stop", { natGatewayId, alarmName });
  return { resumed: true, natGatewayId };
};
