import { ec2MirroringDefaults, type Ec2MirroringResolved, type Feature, type OrgConfig } from "./schema";

/** The `ec2-mirroring` settings of one workspace: defaults and per-account overrides applied, and its region's target. */
export type Ec2MirroringWorkspaceSettings = Readonly<Omit<Ec2MirroringResolved, "targetIds">> & { readonly targetId: string };

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
}

/** The AWS partition of a region: `aws`, `aws-us-gov` or `aws-cn`. */
export function partitionOf(region: string): string {
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("cn-")) return "aws-cn";
  return "aws";
}

/** Every workspace of the organization, in config order: accounts, then their regions. */
export function workspacesOf(config: OrgConfig): Workspace[] {
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
          ? resolveEc2Mirroring(config, account.id, region)
          : undefined,
      };
    }),
  );
}

/** The workspaces in which a feature is enabled. */
export function workspacesWith(config: OrgConfig, feature: Feature): Workspace[] {
  return workspacesOf(config).filter((ws) => ws.features.includes(feature));
}

function resolveEc2Mirroring(config: OrgConfig, accountId: string, region: string): Ec2MirroringWorkspaceSettings {
  const account = config.accounts.find((a) => a.id === accountId);
  const org = config.features.ec2Mirroring ?? {};
  const own = account?.ec2Mirroring ?? {};
  const targetId = own.targetIds?.[region] ?? org.targetIds?.[region];
  if (!targetId) {
    // The schema refuses such a config; reaching here means it was bypassed.
    throw new Error(`no mirror target for ${accountId} in ${region}`);
  }
  const { targetIds: _org, ...orgRest } = org;
  const { targetIds: _own, ...ownRest } = own;
  return { ...ec2MirroringDefaults, ...orgRest, ...ownRest, targetId };
}
