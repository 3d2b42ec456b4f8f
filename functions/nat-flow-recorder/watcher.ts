import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { CloudWatchClient, DeleteAlarmsCommand, DescribeAlarmsCommand, PutMetricAlarmCommand, type MetricAlarm } from "@aws-sdk/client-cloudwatch";
import { DescribeNatGatewaysCommand, EC2Client, type Filter, type NatGateway } from "@aws-sdk/client-ec2";
import { z } from "zod";
import { ALARM_NAME_PREFIX } from "../lib/nat-recorder/recording";
import { watchedNatGateways, watchPlan, type WatchSettings } from "../lib/nat-recorder/watch";
import { withRetry } from "../lib/retry";

// Created once per container. Retries are ours (withRetry), so the SDK makes one attempt.
const ec2 = new EC2Client({ maxAttempts: 1 });
const cloudwatch = new CloudWatchClient({ maxAttempts: 1 });
const logger = new Logger();
const metrics = new Metrics();

/** DeleteAlarms takes at most 100 names a call. */
const ALARMS_PER_DELETE = 100;

const whole = (min: number) => z.coerce.number().int().min(min);
const environmentSchema = z.object({
  DISCOVER_NAT_GATEWAYS: z.enum(["true", "false"]),
  NAT_GATEWAY_TAG_KEY: z.string().optional().transform((v) => v || undefined),
  NAT_GATEWAY_TAG_VALUE: z.string().optional().transform((v) => v || undefined),
  PERIOD_SECONDS: whole(60),
  EVALUATION_PERIODS: whole(1),
  DATAPOINTS_TO_ALARM: whole(1),
  THRESHOLD_BYTES: z.coerce.number().min(0),
  ANOMALY_DETECTION: z.enum(["true", "false"]),
  ANOMALY_BAND_WIDTH: z.coerce.number().positive(),
});

function settingsOf(environment: NodeJS.ProcessEnv): { discover: boolean; settings: WatchSettings } {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) throw new Error(`watcher settings: ${parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join("; ")}`);
  const e = parsed.data;
  return {
    discover: e.DISCOVER_NAT_GATEWAYS === "true",
    settings: {
      tagKey: e.NAT_GATEWAY_TAG_KEY,
      tagValue: e.NAT_GATEWAY_TAG_VALUE,
      periodSeconds: e.PERIOD_SECONDS,
      evaluationPeriods: e.EVALUATION_PERIODS,
      datapointsToAlarm: e.DATAPOINTS_TO_ALARM,
      thresholdBytes: e.THRESHOLD_BYTES,
      anomalyDetection: e.ANOMALY_DETECTION === "true",
      anomalyBandWidth: e.ANOMALY_BAND_WIDTH,
    },
  };
}

/** Every NAT gateway of the region in a live state (and with the tag, when one is set), every page: EC2 filters so that fewer pages come back; watchedNatGateways decides. */
async function natGateways(settings: WatchSettings): Promise<NatGateway[]> {
  const filters: Filter[] = [{ Name: "state", Values: ["pending", "available"] }];
  if (settings.tagKey !== undefined) filters.push(settings.tagValue === undefined ? { Name: "tag-key", Values: [settings.tagKey] } : { Name: `tag:${settings.tagKey}`, Values: [settings.tagValue] });
  const found: NatGateway[] = [];
  let token: string | undefined;
  do {
    const page = await withRetry(() => ec2.send(new DescribeNatGatewaysCommand({ Filter: filters, MaxResults: 1000, NextToken: token })));
    found.push(...(page.NatGateways ?? []));
    token = page.NextToken;
  } while (token);
  return found;
}

/** The recorder's traffic alarms, every page. */
async function trafficAlarms(): Promise<MetricAlarm[]> {
  const found: MetricAlarm[] = [];
  let token: string | undefined;
  do {
    const page = await withRetry(() => cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: ALARM_NAME_PREFIX, AlarmTypes: ["MetricAlarm"], MaxRecords: 100, NextToken: token })));
    found.push(...(page.MetricAlarms ?? []));
    token = page.NextToken;
  } while (token);
  return found;
}

/**
 * Keeps a traffic alarm on every NAT gateway of the workspace's region (those with the tag, when
 * one is set), so that a NAT gateway created after the apply is recorded on its next alarm: on
 * CloudTrail's CreateNatGateway and DeleteNatGateway and on a schedule (for what events missed),
 * it puts the alarms that are missing or were made with other settings and deletes those of NAT
 * gateways gone. Each run compares the whole region, so a repeated or late event changes nothing.
 * Where the config lists the NAT gateways, the stack makes their alarms and this does nothing.
 */
export const handler = async (): Promise<{ watched: number; put: number; removed: number }> => {
  const { discover, settings } = settingsOf(process.env);
  if (!discover) return { watched: 0, put: 0, removed: 0 };
  const watched = watchedNatGateways(await natGateways(settings), settings);
  const plan = watchPlan(watched, await trafficAlarms(), settings);
  for (const alarm of plan.put) await withRetry(() => cloudwatch.send(new PutMetricAlarmCommand(alarm)));
  for (let i = 0; i < plan.remove.length; i += ALARMS_PER_DELETE) {
    const names = plan.remove.slice(i, i + ALARMS_PER_DELETE);
    await withRetry(() => cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: names })));
  }
  logger.info("NAT gateways watched", { watched, put: plan.put.map((a) => a.AlarmName), removed: plan.remove });
  metrics.addMetric("NatGatewaysWatched", MetricUnit.Count, watched.length);
  metrics.addMetric("AlarmsPut", MetricUnit.Count, plan.put.length);
  metrics.addMetric("AlarmsRemoved", MetricUnit.Count, plan.remove.length);
  metrics.publishStoredMetrics();
  return { watched: watched.length, put: plan.put.length, removed: plan.remove.length };
};
