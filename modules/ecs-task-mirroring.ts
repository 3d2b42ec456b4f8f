import { Fn } from "cdktf";
import { Construct } from "constructs";
import * as path from "node:path";
import { awsContext } from "./aws-context";
import { EXAMPLE_IDS } from "./runtime-calls";
import { createMirroringFunctions } from "./mirroring-functions";
import { mirroringEnvironment, validateMirroringSettings, type MirroringFunctionSettings } from "./mirroring-shared";
import type { NodejsFunction } from "./nodejs-function";

export interface EcsTaskMirroringProps extends MirroringFunctionSettings {
  /** Cluster names. @default - every cluster */
  readonly clusters?: string[];
  /** Service names. @default - every task, service or not */
  readonly services?: string[];
  /** Task definition families. @default - every family */
  readonly taskDefinitionFamilies?: string[];
  /**
   * The EventBridge pattern for task events, as JSON text.
   * @default - every `ECS Task State Change` with lastStatus RUNNING, in any cluster
   */
  readonly taskEventPattern?: string;
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
    const aws = awsContext(this, provider);
    const ecsArn = (resource: string) => `arn:${aws.partition}:ecs:${aws.region}:${aws.account}:${resource}`;
    const functions = createMirroringFunctions(this, {
      provider,
      aws,
      functionsDir: FUNCTIONS_DIR,
      namePrefix: props.namePrefix ?? "flowtap-fargate-mirroring",
      eventDescription: "Mirrors the ENIs of ECS tasks that reach RUNNING",
      reconcilerDescription: "Sweeps running ECS tasks: mirrors what events missed, unmirrors what became excluded",
      sweepDescription: "Periodic sweep of every running task in scope",
      environment: {
        ...mirroringEnvironment(props, "flowtap-fargate-mirroring"),
        ECS_CLUSTERS: Fn.join(",", props.clusters ?? []),
        ECS_SERVICES: Fn.join(",", props.services ?? []),
        ECS_TASK_FAMILIES: Fn.join(",", props.taskDefinitionFamilies ?? []),
      },
      mirrorFilterId: props.mirrorFilterId,
      alarmTopicArn: props.alarmTopicArn,
      mirrorTargets: props.mirrorTargets,
      sourceStatements: [{ sid: "ReadTasks", actions: ["ecs:DescribeTasks"], resources: [ecsArn("task/*")] }],
      sourceCalls: [{ action: "ecs:DescribeTasks", resource: ecsArn(`task/payments/${EXAMPLE_IDS.ecsTask}`), reason: "a task's ENI, group and tags" }],
      sweepStatements: [
        { sid: "ListTasks", actions: ["ecs:ListTasks"], resources: [ecsArn("container-instance/*")] },
        { sid: "ListClusters", actions: ["ecs:ListClusters"], resources: ["*"] },
      ],
      sweepCalls: [
        { action: "ecs:ListTasks", resource: ecsArn(`container-instance/payments/${EXAMPLE_IDS.ecsContainerInstance}`), reason: "the running tasks of a cluster" },
        { action: "ecs:ListClusters", resource: "*", reason: "the clusters to sweep when none are configured" },
      ],
      reconcileSchedule: props.reconcileSchedule,
      logRetentionDays: props.logRetentionDays,
    });
    this.eventFunction = functions.eventFunction;
    this.reconcilerFunction = functions.reconcilerFunction;
    this.eventFunction.addTrigger({
      name: "task-running",
      description: "ECS tasks reaching RUNNING in the clusters in scope",
      eventPattern: props.taskEventPattern ?? {
        source: ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        detail: { lastStatus: ["RUNNING"] },
      },
    });
  }
}
