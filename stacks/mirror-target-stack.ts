import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import type { OrgConfig } from "../config/schema";
import { MirrorTargets } from "../modules/mirror-targets";
import { CentralStack } from "./central-stack";

export interface MirrorTargetStackProps {
  readonly config: OrgConfig;
}

/** The name of the central stack holding the sensors' mirror targets; member stacks read its `targets_by_region` output. */
export const MIRROR_TARGET_STACK = "mirror-target";

/**
 * `mirror-target`, in the central account: the sensors' traffic mirror targets, one per zone where
 * configured, shared through AWS RAM with the organization, OUs or accounts, in every region.
 */
export class MirrorTargetStack extends CentralStack {
  constructor(scope: Construct, props: MirrorTargetStackProps) {
    super(scope, { config: props.config, name: MIRROR_TARGET_STACK });
    const spec = props.config.features.mirrorTarget;
    if (!spec) throw new Error("mirror-target needs features.mirrorTarget in the org config");
    const { organization } = props.config;
    const orgArnPrefix = `arn:aws:organizations::${organization.managementAccountId}`;
    const regions = [...new Set(spec.targets.map((t) => t.region))];
    const targetsByRegion: Record<string, Readonly<Record<string, string>>> = {};
    const shareArns: Record<string, string> = {};
    for (const region of regions) {
      const targets = new MirrorTargets(this, `targets-${region}`, {
        provider: this.providerFor(region),
        targets: spec.targets.filter((t) => t.region === region),
        shareWithOrganizationArn: spec.shareWithOrganization ? `${orgArnPrefix}:organization/${organization.id}` : undefined,
        shareWithOuArns: spec.shareWithOus.map((ou) => `${orgArnPrefix}:ou/${organization.id}/${ou}`),
        shareWithAccountIds: spec.shareWithAccounts,
      });
      targetsByRegion[region] = targets.targetIdsByZone;
      shareArns[region] = targets.resourceShareArn;
    }
    new TerraformOutput(this, "targets_by_region", {
      value: targetsByRegion,
      description: "Traffic mirror target ids by region, then by availability zone id or \"default\"; member stacks read it by remote state.",
    });
    new TerraformOutput(this, "resource_share_arns", { value: shareArns, description: "The RAM resource share of each region's targets." });
  }
}
