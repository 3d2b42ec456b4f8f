import { FEATURES, MIRRORING_FEATURES, type Feature, type OrgConfig } from "./schema";
import { workspacesWith } from "./workspaces";

export interface RolloutWorkspace {
  readonly name: string;
  readonly accountId: string;
  readonly accountName: string;
  readonly ou?: string;
  readonly region: string;
  readonly features: readonly string[];
}

export interface RolloutStack {
  readonly name: string;
  /** `central`: one workspace (`default`) in the central account. `member`: one workspace per account and region. */
  readonly role: "member" | "central";
  /** The synthesized stack's directory, relative to the output directory. */
  readonly directory: string;
  /** Stacks to apply before this one (it reads their outputs by remote state). */
  readonly dependsOn: readonly string[];
  readonly workspaces: readonly RolloutWorkspace[];
  /** What each workspace deploys: resources by type (filled in from the synthesized stack). */
  readonly resources?: Readonly<Record<string, number>>;
  /** IAM roles by name, with who may assume them and what they allow (from the synthesized stack). */
  readonly roles?: Readonly<Record<string, { readonly trustedBy: readonly string[]; readonly actions: readonly string[] }>>;
}

/** `cdktf.out/rollout.json`: what a pipeline iterates to plan and apply every stack in every workspace. */
export interface RolloutManifest {
  readonly version: 1;
  readonly organizationId: string;
  readonly configFile: string;
  /** In an order that applies every stack after the stacks it depends on. */
  readonly stacks: readonly RolloutStack[];
}

/** The member features with at least one workspace: the member stacks synth writes. */
export function enabledFeatures(config: OrgConfig): Feature[] {
  return FEATURES.filter((feature) => workspacesWith(config, feature).length > 0);
}

/** The central stack of flow-insights, which its member stack points at. */
export const FLOW_INSIGHTS_CENTRAL_STACK = "flow-insights-central";

/** The central stacks the config asks for. */
export function centralStacks(config: OrgConfig): string[] {
  return [
    ...(config.features.mirrorTarget ? ["mirror-target"] : []),
    ...(workspacesWith(config, "flow-insights").length > 0 ? [FLOW_INSIGHTS_CENTRAL_STACK] : []),
  ];
}

/** The central stacks a member stack must be applied after. */
function dependenciesOf(config: OrgConfig, feature: Feature): string[] {
  if (feature === "flow-insights") return [FLOW_INSIGHTS_CENTRAL_STACK];
  return usesCentralTargets(config, feature) ? ["mirror-target"] : [];
}

/** Whether a member feature's stack reads its targets from the mirror-target stack in some workspace. */
export function usesCentralTargets(config: OrgConfig, feature: Feature): boolean {
  if (feature !== "ec2-mirroring" && feature !== "fargate-mirroring") return false;
  const key = MIRRORING_FEATURES[feature];
  return workspacesWith(config, feature).some((ws) => ws[key]?.targets.kind === "mirror-target");
}

export function rolloutManifest(config: OrgConfig, configFile: string): RolloutManifest {
  const central = centralStacks(config).map(
    (name): RolloutStack => ({
      name,
      role: "central",
      directory: `stacks/${name}`,
      dependsOn: [],
      workspaces: [{ name: "default", accountId: config.central.accountId, accountName: "central", region: config.central.region, features: [name] }],
    }),
  );
  const members = enabledFeatures(config).map(
    (feature): RolloutStack => ({
      name: feature,
      role: "member",
      directory: `stacks/${feature}`,
      dependsOn: dependenciesOf(config, feature),
      workspaces: workspacesWith(config, feature).map((ws) => ({
        name: ws.name,
        accountId: ws.accountId,
        accountName: ws.accountName,
        ...(ws.ou ? { ou: ws.ou } : {}),
        region: ws.region,
        features: ws.features,
      })),
    }),
  );
  return { version: 1, organizationId: config.organization.id, configFile, stacks: [...central, ...members] };
}
