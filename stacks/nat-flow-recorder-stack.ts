import { TerraformOutput, Token } from "cdktf";
import type { Construct } from "constructs";
import type { OrgConfig } from "../config/schema";
import { natFlowRecorderWorkspaceMap } from "../config/terraform-maps";
import { workspacesWith } from "../config/workspaces";
import { NatFlowRecorder } from "../modules/nat-flow-recorder";
import { MemberStack } from "./member-stack";

export interface NatFlowRecorderStackProps {
  readonly config: OrgConfig;
  readonly configFile: string;
}

/** `nat-flow-recorder`, per member account and region: flow logs on NAT gateways only while their traffic is abnormal. */
export class NatFlowRecorderStack extends MemberStack {
  constructor(scope: Construct, props: NatFlowRecorderStackProps) {
    super(scope, { ...props, feature: "nat-flow-recorder", workspaces: natFlowRecorderWorkspaceMap(workspacesWith(props.config, "nat-flow-recorder")) });
    const recorder = new NatFlowRecorder(this, "recorder", {
      provider: this.provider,
      natGatewayIds: this.listSetting("nat_gateway_ids"),
      discoverNatGateways: Token.asAny(this.setting("discover_nat_gateways")),
      natGatewayTagKey: this.setting("nat_gateway_tag_key"),
      natGatewayTagValue: this.setting("nat_gateway_tag_value"),
      alarmTopicArn: this.alarmTopic().topicArn,
      periodSeconds: this.numberSetting("period_seconds"),
      evaluationPeriods: this.numberSetting("evaluation_periods"),
      datapointsToAlarm: this.numberSetting("datapoints_to_alarm"),
      thresholdBytes: this.numberSetting("threshold_bytes"),
      anomalyDetection: Token.asAny(this.setting("anomaly_detection")),
      anomalyBandWidth: this.numberSetting("anomaly_band_width"),
      recordingSeconds: this.numberSetting("recording_seconds"),
      maxRecordings: this.numberSetting("max_recordings"),
      logRetentionDays: this.numberSetting("log_retention_days"),
      logGroupClass: this.setting("log_group_class"),
      notificationEmail: this.setting("notification_email"),
    });
    new TerraformOutput(this, "flow_log_group", { value: recorder.logGroupName, description: "The log group recordings write to; it is kept when the stack is destroyed." });
    new TerraformOutput(this, "state_machine_arn", { value: recorder.stateMachineArn, description: "The recording state machine; its executions show every recording." });
    new TerraformOutput(this, "summary_topic_arn", { value: recorder.topicArn, description: "Where recording summaries are published; subscribe more endpoints here." });
  }
}
