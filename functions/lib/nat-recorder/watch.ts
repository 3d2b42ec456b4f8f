import type { MetricDataQuery, PutMetricAlarmCommandInput } from "@aws-sdk/client-cloudwatch";
import type { NatGateway } from "@aws-sdk/client-ec2";
import { createHash } from "node:crypto";
import { ALARM_NAME_PREFIX } from "./recording";

/** What a NAT gateway's traffic alarm sums: bytes to and from destinations, per period. */
export const TRAFFIC_METRICS = ["BytesOutToDestination", "BytesInFromDestination"] as const;
export const TRAFFIC_ALARM_DESCRIPTION = "flowtap nat-flow-recorder: traffic through this NAT gateway is abnormal; flow logs record while this alarm is in ALARM";

/** How the watcher finds NAT gateways and alarms on them: the workspace's nat-flow-recorder settings. */
export interface WatchSettings {
  /** Watch only NAT gateways with this tag (and `tagValue`, when set). */
  readonly tagKey?: string;
  readonly tagValue?: string;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  /** Bytes per period that raise the alarm; unused with anomaly detection. */
  readonly thresholdBytes: number;
  readonly anomalyDetection: boolean;
  readonly anomalyBandWidth: number;
}

/** NAT gateways in these states have (or will have) traffic; the others are gone or going. */
const LIVE_STATES = new Set(["pending", "available"]);

/** The ids of the NAT gateways to watch: live, and tagged so when the settings name a tag. */
export function watchedNatGateways(gateways: readonly NatGateway[], settings: WatchSettings): string[] {
  return gateways
    .filter((g) => g.NatGatewayId && LIVE_STATES.has(g.State ?? ""))
    .filter((g) => settings.tagKey === undefined || (g.Tags ?? []).some((t) => t.Key === settings.tagKey && (settings.tagValue === undefined || t.Value === settings.tagValue)))
    .map((g) => g.NatGatewayId!)
    .sort();
}

/** A short digest of the alarm settings, kept in each alarm's description so that an alarm of older settings is put again. */
function settingsDigest(settings: WatchSettings): string {
  const { tagKey: _key, tagValue: _value, ...alarm } = settings;
  return createHash("sha256").update(JSON.stringify(alarm)).digest("hex").slice(0, 12);
}

/** The traffic alarm of one NAT gateway, as the stack's alarms for listed NAT gateways are: a static threshold or an anomaly band. */
export function trafficAlarm(natGatewayId: string, settings: WatchSettings): PutMetricAlarmCommandInput {
  const metric = (id: string, metricName: string): MetricDataQuery => ({
    Id: id,
    ReturnData: false,
    MetricStat: { Metric: { Namespace: "AWS/NATGateway", MetricName: metricName, Dimensions: [{ Name: "NatGatewayId", Value: natGatewayId }] }, Period: settings.periodSeconds, Stat: "Sum" },
  });
  const metrics: MetricDataQuery[] = [
    metric("m1", TRAFFIC_METRICS[0]),
    metric("m2", TRAFFIC_METRICS[1]),
    { Id: "total", Expression: "m1 + m2", Label: "Bytes to and from destinations", ReturnData: true },
  ];
  const common = {
    AlarmName: `${ALARM_NAME_PREFIX}${natGatewayId}`,
    AlarmDescription: `${TRAFFIC_ALARM_DESCRIPTION} (found by the watcher; settings ${settingsDigest(settings)})`,
    EvaluationPeriods: settings.evaluationPeriods,
    DatapointsToAlarm: settings.datapointsToAlarm,
    TreatMissingData: "notBreaching",
    Tags: [{ Key: "ManagedBy", Value: "flowtap" }],
  };
  if (settings.anomalyDetection) {
    return {
      ...common,
      ComparisonOperator: "GreaterThanUpperThreshold",
      ThresholdMetricId: "band",
      Metrics: [...metrics, { Id: "band", Expression: `ANOMALY_DETECTION_BAND(total, ${settings.anomalyBandWidth})`, Label: "Expected bytes", ReturnData: true }],
    };
  }
  return { ...common, ComparisonOperator: "GreaterThanThreshold", Threshold: settings.thresholdBytes, Metrics: metrics };
}

/** An alarm as DescribeAlarms lists it: what the plan compares. */
export interface ExistingAlarm {
  readonly AlarmName?: string;
  readonly AlarmDescription?: string;
}

/**
 * What to change so that exactly the watched NAT gateways have a traffic alarm of the current
 * settings: alarms to put (missing, or made with other settings) and alarms to delete (of NAT
 * gateways no longer watched). Only alarms under the recorder's prefix are considered.
 */
export function watchPlan(watched: readonly string[], alarms: readonly ExistingAlarm[], settings: WatchSettings): { put: PutMetricAlarmCommandInput[]; remove: string[] } {
  const existing = new Map(alarms.flatMap((a) => (a.AlarmName?.startsWith(ALARM_NAME_PREFIX) ? [[a.AlarmName, a.AlarmDescription ?? ""]] : [])));
  const put = watched.map((id) => trafficAlarm(id, settings)).filter((alarm) => existing.get(alarm.AlarmName!) !== alarm.AlarmDescription);
  const wanted = new Set(watched.map((id) => `${ALARM_NAME_PREFIX}${id}`));
  const remove = [...existing.keys()].filter((name) => !wanted.has(name)).sort();
  return { put, remove };
}
