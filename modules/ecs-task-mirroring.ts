import { Fn, type TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import * as path from "node:path";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import type { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";
import { mirroringEnvironment, mirroringPolicyStatements, validateMirroringSettings } from "./mirroring-shared";
import { bundleHandlers } from "./bundle";
import { NodejsFunction } from "./nodejs-function";

export interface EcsTaskMirroringProps extends Pick<TerraformMetaArguments, "provider"> {
  /** The traffic mirror targets, as JSON mapping zone ids (use1-az1) and "default" to target ids. */
  readonly mirrorTargets: string;
  /** The traffic mirror filter (tmf-...) sessions use. */
  readonly mirrorFilterId: string;
  /** Tasks with this tag are never mirrored. */
  readonly excludeTagKey: string;
  /** @default - any value of `excludeTagKey` excludes */
  readonly excludeTagValue?: string;
  /** @default - every task not excluded is mirrored */
  readonly includeTagKey?: string;
  /** @default - any value of `includeTagKey` includes */
  readonly includeTagValue?: string;
  /** Cluster names. @default - every cluster */
  readonly clusters?: string[];
  /** Service names. @default - every task, service or not */
  readonly services?: string[];
  /** Task definition families. @default - every family */
  readonly taskDefinitionFamilies?: string[];
  /** @default - every subnet */
  readonly subnetIds?: string[];
  /** @default 1 */
  readonly sessionNumber?: number;
  /** @default - AWS assigns a VXLAN network id */
  readonly virtualNetworkId?: number;
  /** @default - whole packets */
  readonly packetLength?: number;
  /**
   * The EventBridge pattern for task events, as JSON text.
   * @default - every `ECS Task State Change` with lastStatus RUNNING, in any cluster
   */
  readonly taskEventPattern?: string;
  /** @default "rate(1 hour)" */
  readonly reconcileSchedule?: string;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** Function name prefix. @default "flowtap-fargate-mirroring" */
  readonly namePrefix?: string;
}

const FUNCTIONS_DIR = path.join(__dirname, "..", "functions", "fargate-mirroring");

/**
 * Mirrors the ENI of every ECS task (Fargate, and awsvpc-mode tasks on EC2) that reaches RUNNING,
 * with a reconciler sweeping running tasks (ListTasks/DescribeTasks, 100 a call) for the ones
 * that started while the function failed or was throttled.
 */
export class EcsTaskMirroring extends Construct {
  /** The function that mirrors tasks as their events arrive. */
  public readonly eventFunction: NodejsFunction;
  /** The function that sweeps running tasks on a schedule. */
  public readonly reconcilerFunction: NodejsFunction;

  constructor(scope: Construct, id: string, props: EcsTaskMirroringProps) {
    super(scope, id);
    validateMirroringSettings("EcsTaskMirroring", props);
    const provider = props.provider;
    const prefix = props.namePrefix ?? "flowtap-fargate-mirroring";
    const aws = {
      partition: new DataAwsPartition(this, "partition", { provider }).partition,
      region: new DataAwsRegion(this, "region", { provider }).region,
      account: new DataAwsCallerIdentity(this, "account", { provider }).accountId,
    };
    const environment = {
      ...mirroringEnvironment(props, "flowtap-fargate-mirroring"),
      ECS_CLUSTERS: Fn.join(",", props.clusters ?? []),
      ECS_SERVICES: Fn.join(",", props.services ?? []),
      ECS_TASK_FAMILIES: Fn.join(",", props.taskDefinitionFamilies ?? []),
    };
    const ecsArn = (resource: string) => `arn:${aws.partition}:ecs:${aws.region}:${aws.account}:${resource}`;
    const readTasks: DataAwsIamPolicyDocumentStatement = { sid: "ReadTasks", actions: ["ecs:DescribeTasks"], resources: [ecsArn("task/*")] };
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
      description: "Mirrors the ENIs of ECS tasks that reach RUNNING",
      timeout: 60,
      logRetentionDays: props.logRetentionDays,
      environment,
      policyStatements: [readTasks, ...permissions(false)],
    });
    this.eventFunction.addTrigger({
      name: "task-running",
      description: "ECS tasks reaching RUNNING in the clusters in scope",
      eventPattern: props.taskEventPattern ?? {
        source: ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        detail: { lastStatus: ["RUNNING"] },
      },
    });

    this.reconcilerFunction = new NodejsFunction(this, "reconciler", {
      provider,
      functionName: `${prefix}-reconciler`,
      entry: path.join(FUNCTIONS_DIR, "reconciler.ts"),
      description: "Sweeps running ECS tasks: mirrors what events missed, unmirrors what became excluded",
      timeout: 900,
      memorySize: 512,
      reservedConcurrency: 1,
      logRetentionDays: props.logRetentionDays,
      environment,
      policyStatements: [
        readTasks,
        { sid: "ListTasks", actions: ["ecs:ListTasks"], resources: [ecsArn("container-instance/*")] },
        { sid: "ListClusters", actions: ["ecs:ListClusters"], resources: ["*"] },
        ...permissions(true),
      ],
    });
    this.reconcilerFunction.addTrigger({
      name: "sweep",
      description: "Periodic sweep of every running task in scope",
      scheduleExpression: props.reconcileSchedule ?? "rate(1 hour)",
    });
  }
}
