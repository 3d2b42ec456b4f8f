import { Fn, Token, type IResolvable, type TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import * as path from "node:path";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import type { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";
import { NodejsFunction } from "./nodejs-function";

export interface Ec2InstanceMirroringProps extends Pick<TerraformMetaArguments, "provider"> {
  /** The traffic mirror target (tmt-...) sessions send to; it may be shared from another account through AWS RAM. */
  readonly mirrorTargetId: string;
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
 * Mirrors every eligible ENI of every EC2 instance in the account and region to one target:
 * an event function for instances that start running and ENIs attached later, and a
 * scheduled reconciler that repairs what the events missed and unmirrors instances that
 * became excluded. Sessions it creates are tagged `ManagedBy=flowtap`; it deletes no others.
 */
export class Ec2InstanceMirroring extends Construct {
  /** The function that mirrors instances as their events arrive. */
  public readonly eventFunction: NodejsFunction;
  /** The function that sweeps the account on a schedule. */
  public readonly reconcilerFunction: NodejsFunction;

  constructor(scope: Construct, id: string, props: Ec2InstanceMirroringProps) {
    super(scope, id);
    validate(props);
    const provider = props.provider;
    const prefix = props.namePrefix ?? "flowtap-ec2-mirroring";
    const partition = new DataAwsPartition(this, "partition", { provider }).partition;
    const region = new DataAwsRegion(this, "region", { provider }).region;
    const account = new DataAwsCallerIdentity(this, "account", { provider }).accountId;
    const ec2Arn = (resource: string, owner: string = account) => `arn:${partition}:ec2:${region}:${owner}:${resource}`;

    const environment: Record<string, string> = {
      MIRROR_TARGET_ID: props.mirrorTargetId,
      MIRROR_FILTER_ID: props.mirrorFilterId,
      EXCLUDE_TAG_KEY: props.excludeTagKey,
      EXCLUDE_TAG_VALUE: props.excludeTagValue ?? "",
      EXCLUDE_EKS_NODES: Token.asString(props.excludeEksNodes ?? true),
      INCLUDE_TAG_KEY: props.includeTagKey ?? "",
      INCLUDE_TAG_VALUE: props.includeTagValue ?? "",
      VPC_IDS: Fn.join(",", props.vpcIds ?? []),
      SUBNET_IDS: Fn.join(",", props.subnetIds ?? []),
      SESSION_NUMBER: Token.asString(props.sessionNumber ?? 1),
      VIRTUAL_NETWORK_ID: props.virtualNetworkId === undefined ? "" : Token.asString(props.virtualNetworkId),
      PACKET_LENGTH: props.packetLength === undefined ? "" : Token.asString(props.packetLength),
      POWERTOOLS_SERVICE_NAME: "flowtap-ec2-mirroring",
      POWERTOOLS_METRICS_NAMESPACE: "flowtap",
    };

    const describe: DataAwsIamPolicyDocumentStatement = {
      sid: "Describe",
      actions: ["ec2:DescribeInstances", "ec2:DescribeTrafficMirrorSessions", "ec2:DescribeTrafficMirrorTargets"],
      resources: ["*"],
    };
    const createSession: DataAwsIamPolicyDocumentStatement[] = [
      {
        sid: "MirrorSourcesToTheTarget",
        actions: ["ec2:CreateTrafficMirrorSession"],
        resources: [
          ec2Arn("network-interface/*"),
          ec2Arn(`traffic-mirror-filter/${props.mirrorFilterId}`),
          // A RAM-shared target belongs to another account.
          ec2Arn(`traffic-mirror-target/${props.mirrorTargetId}`, "*"),
        ],
      },
      {
        sid: "CreateTaggedSessions",
        actions: ["ec2:CreateTrafficMirrorSession"],
        resources: [ec2Arn("traffic-mirror-session/*")],
        condition: [{ test: "StringEquals", variable: "aws:RequestTag/ManagedBy", values: ["flowtap"] }],
      },
      {
        sid: "TagSessionsOnCreate",
        actions: ["ec2:CreateTags"],
        resources: [ec2Arn("traffic-mirror-session/*")],
        condition: [{ test: "StringEquals", variable: "ec2:CreateAction", values: ["CreateTrafficMirrorSession"] }],
      },
    ];

    this.eventFunction = new NodejsFunction(this, "events", {
      provider,
      functionName: prefix,
      entry: path.join(FUNCTIONS_DIR, "event-handler.ts"),
      description: "Mirrors the ENIs of EC2 instances that start running or get an ENI attached",
      timeout: 60,
      logRetentionDays: props.logRetentionDays,
      environment,
      policyStatements: [describe, ...createSession],
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
      policyStatements: [
        describe,
        ...createSession,
        {
          sid: "RemoveOwnSessions",
          actions: ["ec2:DeleteTrafficMirrorSession"],
          resources: [ec2Arn("traffic-mirror-session/*")],
          condition: [{ test: "StringEquals", variable: "aws:ResourceTag/ManagedBy", values: ["flowtap"] }],
        },
      ],
    });
    this.reconcilerFunction.addTrigger({
      name: "sweep",
      description: "Periodic sweep of every running instance",
      scheduleExpression: props.reconcileSchedule ?? "rate(1 hour)",
    });
  }
}

function validate(props: Ec2InstanceMirroringProps): void {
  const check = (value: string | number | undefined, ok: (v: string) => boolean, what: string) => {
    if (value === undefined || Token.isUnresolved(value)) return;
    if (!ok(String(value))) throw new Error(`Ec2InstanceMirroring: ${what} (got "${value}")`);
  };
  check(props.mirrorTargetId, (v) => /^tmt-[0-9a-f]{8,17}$/.test(v), "mirrorTargetId must be a traffic mirror target id such as tmt-0123456789abcdef0");
  check(props.sessionNumber, (v) => Number(v) >= 1 && Number(v) <= 32766, "sessionNumber must be 1-32766");
  check(props.packetLength, (v) => Number(v) >= 1 && Number(v) <= 8947, "packetLength must be 1-8947 bytes");
  check(props.virtualNetworkId, (v) => Number(v) >= 0 && Number(v) <= 16777215, "virtualNetworkId must be 0-16777215");
  check(props.excludeTagKey, (v) => v.length > 0, "excludeTagKey must not be empty");
}
