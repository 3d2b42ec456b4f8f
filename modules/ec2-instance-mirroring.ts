import { Fn, Token, type IResolvable } from "cdktf";
import { Construct } from "constructs";
import * as path from "node:path";
import { awsContext } from "./aws-context";
import { createMirroringFunctions } from "./mirroring-functions";
import { mirroringEnvironment, validateMirroringSettings, type MirroringFunctionSettings } from "./mirroring-shared";
import type { NodejsFunction } from "./nodejs-function";

export interface Ec2InstanceMirroringProps extends MirroringFunctionSettings {
  /** @default true - EKS and Karpenter nodes are not mirrored */
  readonly excludeEksNodes?: boolean | IResolvable;
  /** @default - every VPC */
  readonly vpcIds?: string[];
}

const FUNCTIONS_DIR = path.join(__dirname, "..", "functions", "ec2-mirroring");

/**
 * Mirrors every eligible ENI of every EC2 instance in the account and region: an event function
 * for instances that start running and ENIs attached later, and a scheduled reconciler that
 * repairs what the events missed and unmirrors instances that became excluded. Sessions it
 * creates are tagged `ManagedBy=flowtap`; it deletes no others.
 */
export class Ec2InstanceMirroring extends Construct {
  /** The function that mirrors instances as their events arrive. */
  public readonly eventFunction: NodejsFunction;
  /** The function that sweeps the account on a schedule. */
  public readonly reconcilerFunction: NodejsFunction;

  constructor(scope: Construct, id: string, props: Ec2InstanceMirroringProps) {
    super(scope, id);
    validateMirroringSettings("Ec2InstanceMirroring", props);
    const provider = props.provider;
    const functions = createMirroringFunctions(this, {
      provider,
      aws: awsContext(this, provider),
      functionsDir: FUNCTIONS_DIR,
      namePrefix: props.namePrefix ?? "flowtap-ec2-mirroring",
      eventDescription: "Mirrors the ENIs of EC2 instances that start running or get an ENI attached",
      reconcilerDescription: "Sweeps running instances: mirrors what events missed, unmirrors what became excluded",
      sweepDescription: "Periodic sweep of every running instance",
      environment: {
        ...mirroringEnvironment(props, "flowtap-ec2-mirroring"),
        EXCLUDE_EKS_NODES: Token.asString(props.excludeEksNodes ?? true),
        VPC_IDS: Fn.join(",", props.vpcIds ?? []),
      },
      mirrorFilterId: props.mirrorFilterId,
      alarmTopicArn: props.alarmTopicArn,
      mirrorTargets: props.mirrorTargets,
      sourceStatements: [{ sid: "ReadInstances", actions: ["ec2:DescribeInstances"], resources: ["*"] }],
      sourceCalls: [{ action: "ec2:DescribeInstances", resource: "*", reason: "an instance's ENIs, tags and subnet" }],
      sweepStatements: [],
      sweepCalls: [],
      reconcileSchedule: props.reconcileSchedule,
      logRetentionDays: props.logRetentionDays,
    });
    this.eventFunction = functions.eventFunction;
    this.reconcilerFunction = functions.reconcilerFunction;
    this.eventFunction.addTrigger({
      name: "running",
      description: "EC2 instances entering the running state",
      eventPattern: {
        source: ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        detail: { state: ["running"] },
      },
    });
    this.eventFunction.addTrigger({
      name: "eni-attached",
      description: "Network interfaces attached to running instances (CloudTrail)",
      eventPattern: {
        source: ["aws.ec2"],
        "detail-type": ["AWS API Call via CloudTrail"],
        detail: {
          eventSource: ["ec2.amazonaws.com"],
          eventName: ["AttachNetworkInterface"],
          errorCode: [{ exists: false }],
        },
      },
    });
  }
}
