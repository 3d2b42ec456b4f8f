import type { TerraformProvider } from "cdktf";
import type { Construct } from "constructs";
import type { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import * as path from "node:path";
import type { AwsContext } from "./aws-context";
import { bundleHandlers } from "./bundle";
import { mirroringCalls, mirroringPolicyStatements } from "./mirroring-shared";
import { NodejsFunction } from "./nodejs-function";
import type { RoleCall } from "./runtime-calls";

export interface MirroringFunctionsProps {
  readonly provider?: TerraformProvider;
  readonly aws: AwsContext;
  /** The folder holding `event-handler.ts` and `reconciler.ts`. */
  readonly functionsDir: string;
  /** The event function's name; the reconciler's adds `-reconciler`. */
  readonly namePrefix: string;
  readonly eventDescription: string;
  readonly reconcilerDescription: string;
  readonly sweepDescription: string;
  readonly environment: Record<string, string>;
  readonly mirrorFilterId: string;
  readonly mirrorTargets: string;
  /** What both functions may do besides mirroring (reading their sources). */
  readonly sourceStatements: DataAwsIamPolicyDocumentStatement[];
  /** The requests `sourceStatements` are for. */
  readonly sourceCalls: readonly RoleCall[];
  /** What only the reconciler may do besides that (listing its sources). */
  readonly sweepStatements: DataAwsIamPolicyDocumentStatement[];
  /** The requests `sweepStatements` are for. */
  readonly sweepCalls: readonly RoleCall[];
  readonly reconcileSchedule?: string;
  /** The topic its alarms notify (an `AlarmTopic` of the same region). */
  readonly alarmTopicArn: string;
  readonly logRetentionDays?: number;
}

/**
 * The two functions every mirroring feature has, created in `scope` as `events` and
 * `reconciler`: the event function (which may create sessions) and the scheduled reconciler
 * (which may also remove flowtap's own), bundled together in one esbuild run.
 */
export function createMirroringFunctions(scope: Construct, props: MirroringFunctionsProps): { eventFunction: NodejsFunction; reconcilerFunction: NodejsFunction } {
  const { provider, namePrefix } = props;
  const eventEntry = path.join(props.functionsDir, "event-handler.ts");
  const reconcilerEntry = path.join(props.functionsDir, "reconciler.ts");
  bundleHandlers([
    { entry: eventEntry, name: namePrefix },
    { entry: reconcilerEntry, name: `${namePrefix}-reconciler` },
  ]);
  const permissions = (removeSessions: boolean) => ({ ...props.aws, mirrorFilterId: props.mirrorFilterId, mirrorTargets: props.mirrorTargets, removeSessions });
  const mirroring = (removeSessions: boolean) => mirroringPolicyStatements(permissions(removeSessions));

  const eventFunction = new NodejsFunction(scope, "events", {
    provider,
    functionName: namePrefix,
    alarmTopicArn: props.alarmTopicArn,
    // IAM names are global to the account, and the stack is applied in each of its regions.
    roleName: `${namePrefix}-${props.aws.region}`,
    entry: eventEntry,
    description: props.eventDescription,
    timeout: 60,
    logRetentionDays: props.logRetentionDays,
    environment: props.environment,
    policyStatements: [...props.sourceStatements, ...mirroring(false)],
    calls: [...props.sourceCalls, ...mirroringCalls(permissions(false))],
  });
  const reconcilerFunction = new NodejsFunction(scope, "reconciler", {
    provider,
    functionName: `${namePrefix}-reconciler`,
    alarmTopicArn: props.alarmTopicArn,
    roleName: `${namePrefix}-reconciler-${props.aws.region}`,
    entry: reconcilerEntry,
    description: props.reconcilerDescription,
    timeout: 900,
    memorySize: 512,
    // One sweep at a time: two would race on the same ENIs.
    reservedConcurrency: 1,
    logRetentionDays: props.logRetentionDays,
    environment: props.environment,
    policyStatements: [...props.sourceStatements, ...props.sweepStatements, ...mirroring(true)],
    calls: [...props.sourceCalls, ...props.sweepCalls, ...mirroringCalls(permissions(true))],
  });
  reconcilerFunction.addTrigger({
    name: "sweep",
    description: props.sweepDescription,
    scheduleExpression: props.reconcileSchedule ?? "rate(1 hour)",
  });
  return { eventFunction, reconcilerFunction };
}
