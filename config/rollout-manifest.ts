import { FEATURES, type Feature, type OrgConfig } from "./schema";
import { workspacesWith } from "./workspaces";

export interface RolloutWorkspace {
  readonly name: string;
  readonly accountId: string;
  readonly accountName: string;
  readonly ou?: string;
  readonly region: string;
  readonly features: readonly Feature[];
}

export interface RolloutStack {
  readonly name: string;
  readonly role: "member" | "central";
  /** The synthesized stack's directory, relative to the output directory. */
  readonly directory: string;
  readonly workspaces: readonly RolloutWorkspace[];
}

/** `cdktf.out/rollout.json`: what a pipeline iterates to plan and apply every stack in every workspace. */
export interface RolloutManifest {
  readonly version: 1;
  readonly organizationId: string;
  readonly configFile: string;
  readonly stacks: readonly RolloutStack[];
}

/** The features with at least one workspace: the stacks synth writes. */
export function enabledFeatures(config: OrgConfig): Feature[] {
  return FEATURES.filter((feature) => workspacesWith(config, feature).length > 0);
}

export function rolloutManifest(config: OrgConfig, configFile: string): RolloutManifest {
  return {
    version: 1,
    organizationId: config.organization.id,
    configFile,
    stacks: enabledFeatures(config).map((feature) => ({
      name: feature,
      role: "member",
      directory: `stacks/${feature}`,
      workspaces: workspacesWith(config, feature).map((ws) => ({
        name: ws.name,
        accountId: ws.accountId,
        accountName: ws.accountName,
        ...(ws.ou ? { ou: ws.ou } : {}),
        region: ws.region,
        features: ws.features,
      })),
    })),
  };
}
