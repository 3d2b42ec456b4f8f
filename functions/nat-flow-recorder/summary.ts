import { Logger } from "@aws-lambda-powertools/logger";
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand } from "@aws-sdk/client-cloudwatch-logs";
import { z } from "zod";
import { recordingSummary, TOP_TALKERS_QUERY, topTalkers } from "../lib/nat-recorder/recording";
import { withRetry } from "../lib/retry";

const logs = new CloudWatchLogsClient({ maxAttempts: 1 });
const logger = new Logger();

const summaryInput = z.object({
  natGatewayId: z.string(),
  alarmName: z.string(),
  logGroupName: z.string(),
  startTime: z.string().datetime({ offset: true }),
  endTime: z.string().datetime({ offset: true }),
});
export type SummaryInput = z.infer<typeof summaryInput>;

/** Runs the top-talkers query over the recording window and waits for it (polling every `pollIntervalMs`). */
export async function queryTopTalkers(client: CloudWatchLogsClient, input: SummaryInput, pollIntervalMs = 1000, maxPolls = 90) {
  const toEpoch = (iso: string) => Math.floor(Date.parse(iso) / 1000);
  // Flow logs reach CloudWatch Logs up to a few minutes late: look a little past the end.
  const { queryId } = await withRetry(() =>
    client.send(
      new StartQueryCommand({
        logGroupName: input.logGroupName,
        startTime: toEpoch(input.startTime),
        endTime: toEpoch(input.endTime) + 600,
        queryString: TOP_TALKERS_QUERY,
      }),
    ),
  );
  for (let poll = 0; poll < maxPolls; poll++) {
    const results = await withRetry(() => client.send(new GetQueryResultsCommand({ queryId })));
    if (results.status === "Complete") return topTalkers(results.results ?? []);
    if (results.status !== "Running" && results.status !== "Scheduled") {
      throw Object.assign(new Error(`the Logs Insights query ended ${results.status}`), { name: "QueryFailed" });
    }
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
  throw Object.assign(new Error(`the Logs Insights query did not complete in ${(maxPolls * pollIntervalMs) / 1000} s`), { name: "QueryTimedOut" });
}

/**
 * Called by the recorder's state machine after the flow logs stopped: the summary to notify,
 * with the recording window's top talkers. Fails when the query does, so the state machine
 * sends its summary without them.
 */
export const handler = async (event: unknown): Promise<{ subject: string; message: string }> => {
  const input = summaryInput.parse(event);
  const talkers = await queryTopTalkers(logs, input);
  logger.info("recording summarized", { natGatewayId: input.natGatewayId, talkers: talkers.length });
  return recordingSummary({ ...input, talkers });
};
