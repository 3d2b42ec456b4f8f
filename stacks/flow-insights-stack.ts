import { TerraformOutput, type TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { OrgConfig } from "../config/schema";
import { flowInsightsWorkspaceMap } from "../config/terraform-maps";
import { workspacesWith } from "../config/workspaces";
import { FlowInsightsMember } from "../modules/flow-insights-member";
import { MemberStack } from "./member-stack";

export interface FlowInsightsStackProps {
  readonly config: OrgConfig;
  readonly configFile: string;
  /** The central stack: its destination and bus must exist before members point at them. */
  readonly centralStack: TerraformStack;
}

/** `flow-insights`, per member account and region: flow logs and inventory events to the central pipeline, and the role it reads the inventory with. */
export class FlowInsightsStack extends MemberStack {
  constructor(scope: Construct, props: FlowInsightsStackProps) {
    const externalId = props.config.features.flowInsights?.inventoryExternalId;
    if (!externalId) throw new Error("flow-insights needs features.flowInsights.inventoryExternalId in the org config");
    super(scope, {
      ...props,
      feature: "flow-insights",
      workspaces: flowInsightsWorkspaceMap(workspacesWith(props.config, "flow-insights"), props.config.central.accountId, externalId),
    });
    this.addDependency(props.centralStack);
    const member = new FlowInsightsMember(this, "member", {
      provider: this.provider,
      vpcIds: this.listSetting("vpc_ids"),
      alarmTopicArn: this.alarmTopic().topicArn,
      trafficType: this.setting("traffic_type"),
      flowLogRetentionDays: this.numberSetting("flow_log_retention_days"),
      logsDestinationArn: this.setting("logs_destination_arn"),
      centralBusArn: this.setting("central_bus_arn"),
      inventoryFunctionRoleArn: this.setting("inventory_function_role_arn"),
      inventoryRoleName: this.setting("inventory_role_name"),
      inventoryExternalId: this.setting("inventory_external_id"),
    });
    new TerraformOutput(this, "inventory_role_arn", { value: member.inventoryRoleArn, description: "The role the central inventory function assumes here (with the ExternalId) to describe ENIs, groups, instances and tags." });
    new TerraformOutput(this, "flow_log_group", { value: member.logGroupName, description: "The short-lived log group the flow logs go through on their way to the central pipeline." });
  }
}
