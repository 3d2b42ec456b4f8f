import { Fn, Token, type IResolvable, type TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import * as path from "node:path";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";
import { mirroringEnvironment, mirroringPolicyStatements, validateMirroringSettings } from "./mirroring-shared";
import { bundleHandlers } from "./bundle";
import { NodejsFunction } from "./nodejs-function";

export interface Ec2InstanceMirroringProps extends Pick<TerraformMetaArguments, "provider"> {
  /**
   * The traffic mirror targets, as JSON mapping availability zone ids (use1-az1) and "default"
   * to target ids: `{"default":"tmt-0123456789abcdef0"}`. A source is mirrored to its zone's
   * target, else the default. Targets may be shared from another account through AWS RAM.
   */
  readonly mirrorTargets: string;
  /** The traffic mirror filter (tmf-...) sessions use. */
  readonly mirrorFilterId: string;
  /** Instances with this tag are never mirrored (the sensors themselves, typically). */
  readonly excludeTagKey: string;
  /** @default - any value of `excludeTagKey` excludes */
  readonly excludeTagValue?: string;
  /** @default true - EKS and Karpenter nodes are not mirrored */
  readonly excludeEksNodes?: boolean | IResolvable;
  /** @default - every instance not excluded is mirrored */
  readonly includeTagKey?: string;
  /** @default - any value of `includeTagKey` includes */
  readonly includeTagValue?: string;
  /** @default - every VPC */
  readonly vpcIds?: string[];
  /** @default - every subnet */
  readonly subnetIds?: string[];
  /** The preferred session number; the lowest free one is used when an ENI has it taken. @default 1 */
  readonly sessionNumber?: number;
  /** @default - AWS assigns a VXLAN network id */
  readonly virtualNetworkId?: number;
  /** Bytes of each packet to mirror. @default - whole packets */
  readonly packetLength?: number;
  /** How often the reconciler sweeps every running instance. @default "rate(1 hour)" */
  readonly reconcileSchedule?: string;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** Function name prefix. @default "flowtap-ec2-mirroring" */
  readonly namePrefix?: string;
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
    const prefix = props.namePrefix ?? "flowtap-ec2-mirroring";
    const aws = {
      partition: new DataAwsPartition(this, "partition", { provider }).partition,
      region: new DataAwsRegion(this, "region", { provider }).region,
      account: new DataAwsCallerIdentity(this, "account", { provider }).accountId,
    };
    const environment = {
      ...mirroringEnvironment(props, "flowtap-ec2-mirroring"),
      EXCLUDE_EKS_NODES: Token.asString(props.excludeEksNodes ?? true),
      VPC_IDS: Fn.join(",", props.vpcIds ?? []),
    };
    // Both functions share most of their code: bundle them in one esbuild run.
    bundleHandlers([
      { entry: path.join(FUNCTIONS_DIR, "event-handler.ts"), name: prefix },
      { entry: path.join(FUNCTIONS_DIR, "reconciler.ts"), name: `${prefix}-reconciler` },
    ]);
    const permissions = (removeSessions: boolean) =>
      mirroringPolicyStatements({ ...aws, mirrorFilterId: props.mirrorFilterId, mirrorTargets: props.mirrorTargets, removeSessions });

    this.eventFunction = new NodejsFunction(this, "events", {
      provider,
      functionName: prefix,
      entry: path.join(FUNCTIONS_DIR, "event-handler.ts"),
      description: "Mirrors the ENIs of EC2 instances that start running or get an ENI attached",
      timeout: 60,
      logRetentionDays: props.logRetentionDays,
      environment,
      policyStatements: permissions(false),
    });
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

    this.reconcilerFunction = new NodejsFunction(this, "reconciler", {
      provider,
      functionName: `${prefix}-reconciler`,
      entry: path.join(FUNCTIONS_DIR, "reconciler.ts"),
      description: "Sweeps running instances: mirrors what events missed, unmirrors what became excluded",
      timeout: 900,
      memorySize: 512,
      // One sweep at a time: two would race on the same ENIs.
      reservedConcurrency: 1,
      logRetentionDays: props.logRetentionDays,
      environment,
      policyStatements: permissions(true),
    });
    this.reconcilerFunction.addTrigger({
      name: "sweep",
      description: "Periodic sweep of every running instance",
      scheduleExpression: props.reconcileSchedule ?? "rate(1 hour)",
    });
  }
}
