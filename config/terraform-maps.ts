import type { Workspace } from "./workspaces";

/**
 * What a member stack looks up by `terraform.workspace`: one entry per workspace, snake_case
 * as Terraform reads it. Unset optional settings are "" so every entry has the same shape.
 */
export type WorkspaceMap = Record<string, Record<string, string | number | boolean | string[]>>;

/** The entries every member stack has: where the workspace deploys and how to get there. */
function baseEntry(ws: Workspace): Record<string, string> {
  return { account_id: ws.accountId, account_name: ws.accountName, region: ws.region, role_arn: ws.roleArn };
}

/** The `ec2-mirroring` stack's workspace map. */
export function ec2MirroringWorkspaceMap(workspaces: readonly Workspace[]): WorkspaceMap {
  return Object.fromEntries(
    workspaces.map((ws) => {
      const s = ws.ec2Mirroring;
      if (!s) throw new Error(`workspace ${ws.name} does not enable ec2-mirroring`);
      return [
        ws.name,
        {
          ...baseEntry(ws),
          target_id: s.targetId,
          exclude_tag_key: s.excludeTagKey,
          exclude_tag_value: s.excludeTagValue ?? "",
          exclude_eks_nodes: s.excludeEksNodes,
          include_tag_key: s.includeTagKey ?? "",
          include_tag_value: s.includeTagValue ?? "",
          vpc_ids: [...s.vpcIds],
          subnet_ids: [...s.subnetIds],
          session_number: s.sessionNumber,
          virtual_network_id: s.virtualNetworkId === undefined ? "" : String(s.virtualNetworkId),
          packet_length: s.packetLength === undefined ? "" : String(s.packetLength),
          reconcile_schedule: s.reconcileSchedule,
          log_retention_days: s.logRetentionDays,
        },
      ];
    }),
  );
}
