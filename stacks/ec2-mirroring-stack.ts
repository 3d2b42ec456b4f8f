import { TerraformOutput, Token, type TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { OrgConfig } from "../config/schema";
import { ec2MirroringWorkspaceMap } from "../config/terraform-maps";
import { usesCentralTargets } from "../config/rollout-manifest";
import { workspacesWith } from "../config/workspaces";
import { Ec2InstanceMirroring } from "../modules/ec2-instance-mirroring";
import { PassthroughMirrorFilter } from "../modules/passthrough-mirror-filter";
import { MemberStack } from "./member-stack";

export interface MirroringStackProps {
  readonly config: OrgConfig;
  readonly configFile: string;
  /** The central stack holding the sensors' targets, when the config has one. */
  readonly mirrorTargetStack?: { readonly stack: TerraformStack; readonly name: string };
}

/** `ec2-mirroring`, per member account and region: every eligible EC2 ENI mirrored to the sensors' target. */
export class Ec2MirroringStack extends MemberStack {
  constructor(scope: Construct, props: MirroringStackProps) {
    super(scope, { ...props, feature: "ec2-mirroring", workspaces: ec2MirroringWorkspaceMap(workspacesWith(props.config, "ec2-mirroring")) });
    const provider = this.provider;
    const filter = new PassthroughMirrorFilter(this, "filter", { provider });
    const mirroring = new Ec2InstanceMirroring(this, "mirroring", {
      provider,
      mirrorTargets: this.mirrorTargets(usesCentralTargets(props.config, "ec2-mirroring") ? props.mirrorTargetStack : undefined),
      mirrorFilterId: filter.filterId,
      alarmTopicArn: this.alarmTopic().topicArn,
      excludeTagKey: this.setting("exclude_tag_key"),
      excludeTagValue: this.setting("exclude_tag_value"),
      excludeEksNodes: Token.asAny(this.setting("exclude_eks_nodes")),
      includeTagKey: this.setting("include_tag_key"),
      includeTagValue: this.setting("include_tag_value"),
      vpcIds: this.listSetting("vpc_ids"),
      subnetIds: this.listSetting("subnet_ids"),
      sessionNumber: this.numberSetting("session_number"),
      virtualNetworkId: Token.asNumber(this.setting("virtual_network_id")),
      packetLength: Token.asNumber(this.setting("packet_length")),
      reconcileSchedule: this.setting("reconcile_schedule"),
      logRetentionDays: this.numberSetting("log_retention_days"),
    });

    new TerraformOutput(this, "mirror_filter_id", { value: filter.filterId, description: "The passthrough traffic mirror filter sessions use." });
    new TerraformOutput(this, "event_function_name", { value: mirroring.eventFunction.functionName, description: "The function that mirrors instances as they start and get ENIs attached." });
    new TerraformOutput(this, "reconciler_function_name", { value: mirroring.reconcilerFunction.functionName, description: "The function that sweeps the account on schedule; invoke it to backfill from AWS." });
    new TerraformOutput(this, "failure_queue_urls", {
      value: [mirroring.eventFunction.failureQueueUrl, mirroring.reconcilerFunction.failureQueueUrl],
      description: "Queues holding events the functions could not process; alarm on their depth.",
    });
  }
}
