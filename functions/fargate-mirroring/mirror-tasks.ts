import {
  DescribeTasksCommand,
  ListClustersCommand,
  ListTasksCommand,
  type ECSClient,
  type Task,
} from "@aws-sdk/client-ecs";
import type { Logger } from "@aws-lambda-powertools/logger";
import {
  allSessions,
  applyPlan,
  errorOutcome,
  mirrorTargetInterfaceIds,
  sessionsOn,
  withZoneIds,
  type MirroringContext,
} from "../lib/mirroring/ec2-sessions";
import type { MirrorOutcome } from "../lib/mirroring/outcomes";
import type { SourceFacts } from "../lib/mirroring/policy";
import { planSource, type SessionFacts, type SourcePlan } from "../lib/mirroring/sessions";
import { familyOf, taskFacts, taskScopeExclusion, type TaskEvent, type TaskScope } from "../lib/mirroring/tasks";
import { withRetry } from "../lib/retry";

export interface TaskMirroringContext extends MirroringContext {
  readonly ecs: ECSClient;
  readonly scope: TaskScope;
  readonly logger?: Logger;
}

/** DescribeTasks takes at most 100 tasks a call; ListTasks returns at most 100 a page. */
const TASKS_PER_CALL = 100;

/**
 * Task families EC2 refused to mirror (`NetworkInterfaceNotSupported`, which AWS may answer for
 * Fargate's AWS-managed ENIs). Remembered per container, so a family is tried once, explained
 * once, and never retried in a loop.
 */
const unsupportedFamilies = new Set<string>();

export function forgetUnsupportedFamilies(): void {
  unsupportedFamilies.clear();
}

const UNSUPPORTED_EXPLANATION =
  "EC2 refuses Traffic Mirroring on this task family's ENIs (NetworkInterfaceNotSupported): AWS manages Fargate task ENIs " +
  "and may not allow them as mirror sources on this platform. flowtap will not retry this family. To see its traffic, " +
  "run a packet-forwarding sidecar (VXLAN to the sensor) in the task, or run the service on EC2 capacity, whose instance ENIs flowtap mirrors.";

/** Applies a plan, unless the task's family is known to be unsupported; learns from NetworkInterfaceNotSupported. */
async function applyTaskPlan(ctx: TaskMirroringContext, plan: SourcePlan, family: string, remove: boolean): Promise<MirrorOutcome[]> {
  const creates = plan.interfaces.filter((d) => d.action === "create");
  if (creates.length > 0 && unsupportedFamilies.has(family)) {
    return creates.map((d) => ({ outcome: "unsupported", sourceId: plan.source.sourceId, interfaceId: d.interfaceId, reason: `family ${family} is not supported (not retried)` }));
  }
  const outcomes = await applyPlan(ctx, plan, remove);
  if (outcomes.some((o) => o.outcome === "unsupported" && o.reason === "NetworkInterfaceNotSupported") && !unsupportedFamilies.has(family)) {
    unsupportedFamilies.add(family);
    ctx.logger?.warn("task family cannot be mirrored", { family, explanation: UNSUPPORTED_EXPLANATION });
  }
  return outcomes;
}

async function describeTasks(ctx: TaskMirroringContext, cluster: string, taskArns: readonly string[]): Promise<Task[]> {
  const tasks: Task[] = [];
  for (let i = 0; i < taskArns.length; i += TASKS_PER_CALL) {
    const described = await withRetry(
      () => ctx.ecs.send(new DescribeTasksCommand({ cluster, tasks: taskArns.slice(i, i + TASKS_PER_CALL), include: ["TAGS"] })),
      ctx.retry,
    );
    tasks.push(...(described.tasks ?? []));
  }
  return tasks;
}

/**
 * Mirrors the ENI of a task that reached RUNNING: one DescribeTasks (for its tags), one
 * DescribeTrafficMirrorSessions, then one CreateTrafficMirrorSession if it has none to its target.
 * Tasks outside the configured clusters, services or families cost no call at all.
 */
export async function mirrorTask(ctx: TaskMirroringContext, event: TaskEvent): Promise<MirrorOutcome[]> {
  const sourceId = event.taskArn;
  const outOfScope = taskScopeExclusion(event, ctx.scope);
  if (outOfScope) return [{ outcome: "excluded", sourceId, reason: outOfScope }];
  let task: Task | undefined;
  try {
    [task] = await describeTasks(ctx, event.clusterArn, [event.taskArn]);
  } catch (err) {
    return [errorOutcome(err, sourceId)];
  }
  // A task that stopped before we looked needs nothing: AWS deletes a session with its ENI.
  if (!task || task.lastStatus !== "RUNNING") {
    return [{ outcome: "source-gone", sourceId, reason: task ? `task is ${task.lastStatus}` : "not returned by DescribeTasks" }];
  }
  const [facts] = await withZoneIds(ctx, [taskFacts(task)]);
  const targets = await mirrorTargetInterfaceIds(ctx);
  const sessions = await sessionsOn(ctx, facts.interfaces.map((i) => i.id));
  return applyTaskPlan(ctx, planSource(facts, sessions, ctx.settings, targets), familyOf(task.taskDefinitionArn), false);
}

async function* paged<T>(fetch: (nextToken: string | undefined) => Promise<{ items: T[]; nextToken?: string }>): AsyncGenerator<T[]> {
  let nextToken: string | undefined;
  do {
    const page = await fetch(nextToken);
    yield page.items;
    nextToken = page.nextToken;
  } while (nextToken);
}

/** The clusters to sweep: the configured ones, else every cluster of the account and region. */
async function clustersToSweep(ctx: TaskMirroringContext): Promise<string[]> {
  if (ctx.scope.clusters.length > 0) return [...ctx.scope.clusters];
  const clusters: string[] = [];
  for await (const page of paged((nextToken) =>
    withRetry(() => ctx.ecs.send(new ListClustersCommand({ nextToken, maxResults: 100 })), ctx.retry).then((r) => ({
      items: r.clusterArns ?? [],
      nextToken: r.nextToken,
    })),
  )) clusters.push(...page);
  return clusters;
}

/**
 * Sweeps every running task in scope: per cluster, ListTasks pages of 100 and one DescribeTasks
 * per page, against one listing of all sessions; then the creates and removals the plans call for.
 */
export async function sweepTasks(ctx: TaskMirroringContext, options: { readonly remove: boolean }): Promise<MirrorOutcome[]> {
  const [targets, sessions]: [ReadonlySet<string>, Map<string, SessionFacts[]>] = await Promise.all([mirrorTargetInterfaceIds(ctx), allSessions(ctx)]);
  const outcomes: MirrorOutcome[] = [];
  for (const cluster of await clustersToSweep(ctx)) {
    try {
      for await (const taskArns of paged((nextToken) =>
        withRetry(() => ctx.ecs.send(new ListTasksCommand({ cluster, desiredStatus: "RUNNING", nextToken, maxResults: TASKS_PER_CALL })), ctx.retry).then(
          (r) => ({ items: r.taskArns ?? [], nextToken: r.nextToken }),
        ),
      )) {
        if (taskArns.length === 0) continue;
        const tasks = (await describeTasks(ctx, cluster, taskArns)).filter((t) => t.lastStatus === "RUNNING");
        const facts: SourceFacts[] = await withZoneIds(ctx, tasks.map(taskFacts));
        for (const [i, task] of tasks.entries()) {
          const plan = planSource(facts[i], sessions, ctx.settings, targets, taskScopeExclusion(task, ctx.scope));
          outcomes.push(...(await applyTaskPlan(ctx, plan, familyOf(task.taskDefinitionArn), options.remove)));
        }
      }
    } catch (err) {
      // One cluster's failure (deleted meanwhile, access denied) does not stop the others.
      const outcome = errorOutcome(err, cluster);
      outcomes.push({ ...outcome, reason: `cluster ${cluster}: ${outcome.reason}` });
    }
  }
  return outcomes;
}
