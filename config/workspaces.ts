import {
  ec2MirroringDefaults,
  flowInsightsDefaults,
  flowLogSgEnrichmentDefaults,
  type FlowInsightsMemberResolved,
  type FlowLogSgEnrichmentResolved,
  fargateMirroringDefaults,
  natFlowRecorderDefaults,
  type NatFlowRecorderResolved,
  type Ec2MirroringResolved,
  type FargateMirroringResolved,
  type Feature,
  type OrgConfig,
} from "./schema";

/**
 * Where a workspace's mirror targets come from: a target id in the config, or the central
 * `mirror-target` stack's targets for the region (per zone), read through remote state.
 */
export type TargetSource = { readonly kind: "config"; readonly targetId: string } | { readonly kind: "mirror-target" };

/** The `ec2-mirroring` settings of one workspace: defaults and per-account overrides applied. */
export type Ec2MirroringWorkspaceSettings = Readonly<Omit<Ec2MirroringResolved, "targetIds">> & { readonly targets: TargetSource };
/** The `fargate-mirroring` settings of one workspace: defaults and per-account overrides applied. */
export type FargateMirroringWorkspaceSettings = Readonly<Omit<FargateMirroringResolved, "targetIds">> & { readonly targets: TargetSource };

/** One member account and region: where a member stack is applied, as Terraform workspace `<account-id>-<region>`. */
export interface Workspace {
  readonly name: string;
  readonly accountId: string;
  readonly accountName: string;
  readonly ou?: string;
  readonly region: string;
  readonly partition: string;
  readonly features: readonly Feature[];
  /** The role the AWS provider assumes to deploy into this account. */
  readonly roleArn: string;
  readonly ec2Mirroring?: Ec2MirroringWorkspaceSettings;
  readonly fargateMirroring?: FargateMirroringWorkspaceSettings;
  readonly natFlowRecorder?: NatFlowRecorderWorkspaceSettings;
  readonly flowLogSgEnrichment?: FlowLogSgEnrichmentWorkspaceSettings;
  readonly flowInsights?: FlowInsightsWorkspaceSettings;
}

/** The `flow-insights` settings of one member workspace: its region's VPCs, defaults and overrides applied. */
export type FlowInsightsWorkspaceSettings = Readonly<Omit<FlowInsightsMemberResolved, "vpcIds">> & { readonly vpcIds: readonly string[] };

/** The `flow-log-sg-enrichment` settings of one workspace: its region's VPCs, defaults and overrides applied. */
export type FlowLogSgEnrichmentWorkspaceSettings = Readonly<Omit<FlowLogSgEnrichmentResolved, "vpcIds">> & { readonly vpcIds: readonly string[] };

/** The `nat-flow-recorder` settings of one workspace: its region's NAT gateways, defaults and overrides applied. */
export type NatFlowRecorderWorkspaceSettings = Readonly<Omit<NatFlowRecorderResolved, "natGatewayIds" | "thresholdBytes" | "natGatewayTagKey" | "natGatewayTagValue">> & {
  /** The NAT gateways listed for the region; none: every NAT gateway is found, narrowed by the tag. */
  readonly natGatewayIds: readonly string[];
  readonly natGatewayTagKey?: string;
  readonly natGatewayTagValue?: string;
  /** Unset only with anomaly detection. */
  readonly thresholdBytes?: number;
};

/** The AWS partition of a region: `aws`, `aws-us-gov` or `aws-cn`. */
export function partitionOf(region: string): string {
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("cn-")) return "aws-cn";
  return "aws";
}

const resolved = new WeakMap<OrgConfig, Workspace[]>();

/** Every workspace of the organization, in config order: accounts, then their regions. Resolved once per config. */
export function workspacesOf(config: OrgConfig): Workspace[] {
  let workspaces = resolved.get(config);
  if (!workspaces) {
    workspaces = resolveWorkspaces(config);
    resolved.set(config, workspaces);
  }
  return workspaces;
}

function resolveWorkspaces(config: OrgConfig): Workspace[] {
  return config.accounts.flatMap((account) =>
    account.regions.map((region): Workspace => {
      const partition = partitionOf(region);
      return {
        name: `${account.id}-${region}`,
        accountId: account.id,
        accountName: account.name,
        ou: account.ou,
        region,
        partition,
        features: account.features,
        roleArn: `arn:${partition}:iam::${account.id}:role/${config.rollout.assumeRoleName}`,
        ec2Mirroring: account.features.includes("ec2-mirroring")
          ? resolveMirroring(config, region, ec2MirroringDefaults, config.features.ec2Mirroring, account.ec2Mirroring)
          : undefined,
        fargateMirroring: account.features.includes("fargate-mirroring")
          ? resolveMirroring(config, region, fargateMirroringDefaults, config.features.fargateMirroring, account.fargateMirroring)
          : undefined,
        natFlowRecorder: account.features.includes("nat-flow-recorder") ? resolveNatFlowRecorder(config, account, region) : undefined,
        flowLogSgEnrichment: account.features.includes("flow-log-sg-enrichment") ? resolveFlowLogSgEnrichment(config, account, region) : undefined,
        flowInsights: account.features.includes("flow-insights") ? resolveFlowInsights(config, account, region) : undefined,
      };
    }),
  );
}

/** The workspaces in which a feature is enabled. */
export function workspacesWith(config: OrgConfig, feature: Feature): Workspace[] {
  return workspacesOf(config).filter((ws) => ws.features.includes(feature));
}

/** Defaults, then organization-wide settings, then the account's own; the target from them or the mirror-target stack. */
function resolveMirroring<D extends object, S extends { targetIds?: Record<string, string> }>(
  config: OrgConfig,
  region: string,
  defaults: D,
  org: S | undefined,
  own: S | undefined,
): D & Omit<S, "targetIds"> & { targets: TargetSource } {
  const targetId = own?.targetIds?.[region] ?? org?.targetIds?.[region];
  const hasCentralTargets = config.features.mirrorTarget?.targets.some((t) => t.region === region) ?? false;
  if (!targetId && !hasCentralTargets) {
    // The schema refuses such a config; reaching here means it was bypassed.
    throw new Error(`no mirror target in ${region}`);
  }
  const { targetIds: _org, ...orgRest } = org ?? ({} as S);
  const { targetIds: _own, ...ownRest } = own ?? ({} as S);
  const targets: TargetSource = targetId ? { kind: "config", targetId } : { kind: "mirror-target" };
  return { ...defaults, ...orgRest, ...ownRest, targets } as D & Omit<S, "targetIds"> & { targets: TargetSource };
}

/** A region with no NAT gateways listed finds them (natGatewayIds empty). */
function resolveNatFlowRecorder(config: OrgConfig, account: OrgConfig["accounts"][number], region: string): NatFlowRecorderWorkspaceSettings {
  const org = config.features.natFlowRecorder ?? {};
  const own = account.natFlowRecorder ?? {};
  const { natGatewayIds: orgLists, ...orgRest } = org;
  const { natGatewayIds: ownLists, ...ownRest } = own;
  return { ...natFlowRecorderDefaults, ...orgRest, ...ownRest, natGatewayIds: ownLists?.[region] ?? orgLists?.[region] ?? [] };
}

function resolveFlowLogSgEnrichment(config: OrgConfig, account: OrgConfig["accounts"][number], region: string): FlowLogSgEnrichmentWorkspaceSettings {
  return withRegionList(flowLogSgEnrichmentDefaults, config.features.flowLogSgEnrichment ?? {}, account.flowLogSgEnrichment ?? {}, "vpcIds", region, `no VPC for ${account.id} in ${region}`);
}

/**
 * A feature's settings for one workspace: its defaults, then the organization's settings, then
 * the account's own; `key`, a list per region, is the region's list from the account, else from
 * the organization, and there must be one.
 */
function withRegionList<K extends string, D extends object, S extends Partial<Record<K, Record<string, string[]>>>>(
  defaults: D,
  org: S,
  own: S,
  key: K,
  region: string,
  missing: string,
): D & Omit<S, K> & Record<K, string[]> {
  const list = own[key]?.[region] ?? org[key]?.[region];
  if (!list) throw new Error(missing);
  const { [key]: _org, ...orgRest } = org;
  const { [key]: _own, ...ownRest } = own;
  return { ...defaults, ...orgRest, ...ownRest, [key]: list } as D & Omit<S, K> & Record<K, string[]>;
}

function resolveFlowInsights(config: OrgConfig, account: OrgConfig["accounts"][number], region: string): FlowInsightsWorkspaceSettings {
  const own = account.flowInsights ?? {};
  const org = config.features.flowInsights ?? {};
  const vpcIds = own.vpcIds?.[region] ?? org.vpcIds?.[region];
  if (!vpcIds) throw new Error(`no VPC for ${account.id} in ${region}`);
  return {
    trafficType: own.trafficType ?? org.trafficType ?? flowInsightsDefaults.trafficType,
    flowLogRetentionDays: own.flowLogRetentionDays ?? org.flowLogRetentionDays ?? flowInsightsDefaults.flowLogRetentionDays,
    vpcIds,
  };
}
