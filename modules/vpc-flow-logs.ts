import { TerraformIterator, type TerraformMetaArguments } from "cdktf";
import type { Construct } from "constructs";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { VPC_FLOW_LOG_FORMAT } from "../functions/lib/flowlogs/format";
import { terraformLiteral } from "./terraform-literal";

export interface VpcFlowLogsProps extends Pick<TerraformMetaArguments, "provider"> {
  /** The VPCs to log, one flow log each. */
  readonly vpcIds: string[];
  /** Which traffic to record: ALL, ACCEPT or REJECT. @default "ALL" */
  readonly trafficType?: string;
  readonly logDestinationType: "cloud-watch-logs" | "kinesis-data-firehose";
  /** The log group's or the delivery stream's ARN. */
  readonly logDestination: string;
  /** The role flow logs deliver to a log group with. @default - none (Firehose delivery uses the service-linked role) */
  readonly iamRoleArn?: string;
  /** Each flow log is named `<namePrefix>-<vpc id>`. */
  readonly namePrefix: string;
}

/**
 * flowtap's VPC flow logs: one per VPC, with every field (so that enrichment can say all it
 * knows) and 60-second aggregation. Created as `flow-log` in `scope`, the address the feature
 * modules have always given it.
 */
export function vpcFlowLogs(scope: Construct, props: VpcFlowLogsProps): FlowLog {
  const vpcs = TerraformIterator.fromList(props.vpcIds);
  return new FlowLog(scope, "flow-log", {
    provider: props.provider,
    forEach: vpcs,
    vpcId: vpcs.value,
    trafficType: props.trafficType ?? "ALL",
    logDestinationType: props.logDestinationType,
    logDestination: props.logDestination,
    iamRoleArn: props.iamRoleArn,
    logFormat: terraformLiteral(VPC_FLOW_LOG_FORMAT),
    maxAggregationInterval: 60,
    tags: { Name: `${props.namePrefix}-${vpcs.value}` },
  });
}
