import { centralArns, FLOW_INSIGHTS } from "./flow-insights";
import type { TargetSource, Workspace } from "./workspaces";

/**
 * What a member stack looks up by `terraform.workspace`: one entry per workspace, snake_case
 * as Terraform reads it. Unset optional settings are "" so every entry has the same shape.
 */
export type WorkspaceMap = Record<string, Record<string, string | number | boolean | string[]>>;

/** The entries every member stack has: where the workspace deploys and how to get there. */
function baseEntry(ws: Workspace): Record<string, string> {
  return { account_id: ws.accountId, account_name: ws.accountName, region: ws.region, role_arn: ws.roleArn };
}

/** The mirror targets from the config as the functions read them (`{"default": "tmt-..."}`); "{}" when they come from the mirror-target stack. */
export function mirrorTargetsJson(targets: TargetSource): string {
  return JSON.stringify(targets.kind === "config" ? { default: targets.targetId } : {});
}

interface SharedMirroringSettings {
  readonly targets: TargetSource;
  readonly excludeTagKey: string;
  readonly excludeTagValue?: string;
  readonly includeTagKey?: string;
  readonly includeTagValue?: string;
  readonly subnetIds: readonly string[];
  readonly sessionNumber: number;
  readonly virtualNetworkId?: number;
  readonly packetLength?: number;
  readonly reconcileSchedule: string;
  readonly logRetentionDays: number;
}

function mirroringEntry(ws: Workspace, s: SharedMirroringSettings): Record<string, string | number | boolean | string[]> {
  return {
    ...baseEntry(ws),
    mirror_targets_source: s.targets.kind,
    mirror_targets_json: mirrorTargetsJson(s.targets),
    exclude_tag_key: s.excludeTagKey,
    exclude_tag_value: s.excludeTagValue ?? "",
    include_tag_key: s.includeTagKey ?? "",
    include_tag_value: s.includeTagValue ?? "",
    subnet_ids: [...s.subnetIds],
    session_number: s.sessionNumber,
    virtual_network_id: s.virtualNetworkId === undefined ? "" : String(s.virtualNetworkId),
    packet_length: s.packetLength === undefined ? "" : String(s.packetLength),
    reconcile_schedule: s.reconcileSchedule,
    log_retention_days: s.logRetentionDays,
  };
}

function required<T>(value: T | undefined, ws: Workspace, feature: string): T {
  if (value === undefined) throw new Error(`workspace ${ws.name} does not enable ${feature}`);
  return value;
}

/** The `ec2-mirroring` stack's workspace map. */
export function ec2MirroringWorkspaceMap(workspaces: readonly Workspace[]): WorkspaceMap {
  return Object.fromEntries(
    workspaces.map((ws) => {
      const s = required(ws.ec2Mirroring, ws, "ec2-mirroring");
      return [ws.name, { ...mirroringEntry(ws, s), exclude_eks_nodes: s.excludeEksNodes, vpc_ids: [...s.vpcIds] }];
    }),
  );
}

/**
 * The EventBridge pattern for a workspace's task events: tasks reaching RUNNING, in the
 * configured clusters when there are any (so out-of-scope clusters never invoke the function).
 */
export function taskEventPattern(ws: Workspace, clusters: readonly string[]): Record<string, unknown> {
  const clusterArns = clusters.map((name) => `arn:${ws.partition}:ecs:${ws.region}:${ws.accountId}:cluster/${name}`);
  return {
    source: ["aws.ecs"],
    "detail-type": ["ECS Task State Change"],
    detail: { lastStatus: ["RUNNING"], ...(clusterArns.length > 0 ? { clusterArn: clusterArns } : {}) },
  };
}

/** The `fargate-mirroring` stack's workspace map. */
export function fargateMirroringWorkspaceMap(workspaces: readonly Workspace[]): WorkspaceMap {
  return Object.fromEntries(
    workspaces.map((ws) => {
      const s = required(ws.fargateMirroring, ws, "fargate-mirroring");
      return [
        ws.name,
        {
          ...mirroringEntry(ws, s),
          clusters: [...s.clusters],
          services: [...s.services],
          task_definition_families: [...s.taskDefinitionFamilies],
          task_event_pattern: JSON.stringify(taskEventPattern(ws, s.clusters)),
        },
      ];
    }),
  );
}

/** The `nat-flow-recorder` stack's workspace map. */
export function natFlowRecorderWorkspaceMap(workspaces: readonly Workspace[]): WorkspaceMap {
  return Object.fromEntries(
    workspaces.map((ws) => {
      const s = required(ws.natFlowRecorder, ws, "nat-flow-recorder");
      return [
        ws.name,
        {
          ...baseEntry(ws),
          nat_gateway_ids: [...s.natGatewayIds],
          // No list: the watcher finds the region's NAT gateways (those with the tag, when one is set).
          discover_nat_gateways: s.natGatewayIds.length === 0,
          nat_gateway_tag_key: s.natGatewayTagKey ?? "",
          nat_gateway_tag_value: s.natGatewayTagValue ?? "",
          period_seconds: s.periodSeconds,
          evaluation_periods: s.evaluationPeriods,
          datapoints_to_alarm: s.datapointsToAlarm,
          // Unused with anomaly detection, which alarms on a band instead.
          threshold_bytes: s.thresholdBytes ?? 0,
          anomaly_detection: s.anomalyDetection,
          anomaly_band_width: s.anomalyBandWidth,
          recording_seconds: s.recordingMinutes * 60,
          // The state machine compares with a number: "unlimited" (0) becomes one no NAT gateway reaches.
          max_recordings: s.maxRecordings === 0 ? 1_000_000_000 : s.maxRecordings,
          log_retention_days: s.logRetentionDays,
          log_group_class: s.logGroupClass,
          notification_email: s.notificationEmail ?? "",
        },
      ];
    }),
  );
}

/** The `flow-log-sg-enrichment` stack's workspace map. */
export function flowLogSgEnrichmentWorkspaceMap(workspaces: readonly Workspace[]): WorkspaceMap {
  return Object.fromEntries(
    workspaces.map((ws) => {
      const s = required(ws.flowLogSgEnrichment, ws, "flow-log-sg-enrichment");
      return [
        ws.name,
        {
          ...baseEntry(ws),
          vpc_ids: [...s.vpcIds],
          traffic_type: s.trafficType,
          intelligent_tiering_days: s.intelligentTieringDays,
          expiration_days: s.expirationDays,
          buffering_seconds: s.bufferingSeconds,
          lookup_ttl_seconds: s.lookupTtlSeconds,
          query_scan_limit_bytes: Math.round(s.queryScanLimitGiB * 1024 ** 3),
          log_retention_days: s.logRetentionDays,
        },
      ];
    }),
  );
}

/** The `flow-insights` member stack's workspace map: the VPCs to log, and where the central pipeline listens. */
export function flowInsightsWorkspaceMap(workspaces: readonly Workspace[], centralAccountId: string, inventoryExternalId: string): WorkspaceMap {
  return Object.fromEntries(
    workspaces.map((ws) => {
      const s = required(ws.flowInsights, ws, "flow-insights");
      const central = centralArns(centralAccountId, ws.region);
      return [
        ws.name,
        {
          ...baseEntry(ws),
          vpc_ids: [...s.vpcIds],
          traffic_type: s.trafficType,
          flow_log_retention_days: s.flowLogRetentionDays,
          central_bus_arn: central.busArn,
          logs_destination_arn: central.destinationArn,
          inventory_function_role_arn: central.inventoryRoleArn,
          inventory_role_name: FLOW_INSIGHTS.memberRoleName(ws.region),
          inventory_external_id: inventoryExternalId,
        },
      ];
    }),
  );
}
