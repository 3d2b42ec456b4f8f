import { TerraformOutput, Token } from "cdktf";
import type { Construct } from "constructs";
import { fargateMirroringWorkspaceMap } from "../config/terraform-maps";
import { usesCentralTargets } from "../config/rollout-manifest";
import { workspacesWith } from "../config/workspaces";
import { EcsTaskMirroring } from "../modules/ecs-task-mirroring";
import { PassthroughMirrorFilter } from "../modules/passthrough-mirror-filter";
import type { MirroringStackProps } from "./ec2-mirroring-stack";
import { MemberStack } from "./member-stack";

/** `fargate-mirroring`, per member account and region: the ENI of every ECS task in scope mirrored as it starts. */
export class FargateMirroringStack extends MemberStack {
  constructor(scope: Construct, props: MirroringStackProps) {
    super(scope, { ...props, feature: "fargate-mirroring", workspaces: fargateMirroringWorkspaceMap(workspacesWith(props.config, "fargate-mirroring")) });
    const provider = this.provider;
    const filter = new PassthroughMirrorFilter(this, "filter", { provider });
    const mirroring = new EcsTaskMirroring(this, "mirroring", {
      provider,
      mirrorTargets: this.mirrorTargets(usesCentralTargets(props.config, "fargate-mirroring") ? props.mirrorTargetStack : undefined),
      mirrorFilterId: filter.filterId,
      alarmTopicArn: this.alarmTopic().topicArn,
      excludeTagKey: this.setting("exclude_tag_key"),
      excludeTagValue: this.setting("exclude_tag_value"),
      includeTagKey: this.setting("include_tag_key"),
      includeTagValue: this.setting("include_tag_value"),
      clusters: this.listSetting("clusters"),
      services: this.listSetting("services"),
      taskDefinitionFamilies: this.listSetting("task_definition_families"),
      subnetIds: this.listSetting("subnet_ids"),
      sessionNumber: this.numberSetting("session_number"),
      virtualNetworkId: Token.asNumber(this.setting("virtual_network_id")),
      packetLength: Token.asNumber(this.setting("packet_length")),
      taskEventPattern: this.setting("task_event_pattern"),
      reconcileSchedule: this.setting("reconcile_schedule"),
      logRetentionDays: this.numberSetting("log_retention_days"),
    });

    new TerraformOutput(this, "mirror_filter_id", { value: filter.filterId, description: "The passthrough traffic mirror filter sessions use." });
    new TerraformOutput(this, "event_function_name", { value: mirroring.eventFunction.functionName, description: "The function that mirrors tasks as they reach RUNNING." });
    new TerraformOutput(this, "reconciler_function_name", { value: mirroring.reconcilerFunction.functionName, description: "The function that sweeps running tasks on schedule." });
    new TerraformOutput(this, "failure_queue_urls", {
      value: [mirroring.eventFunction.failureQueueUrl, mirroring.reconcilerFunction.failureQueueUrl],
      description: "Queues holding events the functions could not process; alarm on their depth.",
    });
  }
}
