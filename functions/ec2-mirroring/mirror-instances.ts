import { DescribeInstancesCommand, type Instance } from "@aws-sdk/client-ec2";
import pLimit from "p-limit";
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
import { instanceFacts, type SourceFacts } from "../lib/mirroring/policy";
import { planSource } from "../lib/mirroring/sessions";
import { withRetry } from "../lib/retry";

/**
 * Mirrors one instance, as its event asks: one DescribeInstances, one DescribeTrafficMirrorSessions
 * for its ENIs, then one CreateTrafficMirrorSession per ENI that has no session to its target.
 */
export async function mirrorInstance(ctx: MirroringContext, instanceId: string): Promise<MirrorOutcome[]> {
  let instance: Instance | undefined;
  try {
    const described = await withRetry(() => ctx.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })), ctx.retry);
    instance = described.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
  } catch (err) {
    return [errorOutcome(err, instanceId)];
  }
  if (!instance) return [{ outcome: "source-gone", sourceId: instanceId, reason: "not returned by DescribeInstances" }];
  const [facts] = await withZoneIds(ctx, [instanceFacts(instance)]);
  if (facts.state === "shutting-down" || facts.state === "terminated") {
    return [{ outcome: "source-gone", sourceId: instanceId, reason: `instance is ${facts.state}` }];
  }
  const targets = await mirrorTargetInterfaceIds(ctx);
  const sessions = await sessionsOn(ctx, facts.interfaces.map((i) => i.id));
  return applyPlan(ctx, planSource(facts, sessions, ctx.settings, targets), false);
}

/** Every running instance in the account and region, page by page (1,000 a page). */
export async function* runningInstances(ctx: MirroringContext): AsyncGenerator<SourceFacts[]> {
  let NextToken: string | undefined;
  do {
    const page = await withRetry(
      () =>
        ctx.ec2.send(
          new DescribeInstancesCommand({
            Filters: [{ Name: "instance-state-name", Values: ["running"] }],
            MaxResults: 1000,
            NextToken,
          }),
        ),
      ctx.retry,
    );
    yield withZoneIds(ctx, (page.Reservations ?? []).flatMap((r) => r.Instances ?? []).map(instanceFacts));
    NextToken = page.NextToken;
  } while (NextToken);
}

export interface SweepOptions {
  /** Remove flowtap's sessions from instances and ENIs that are no longer eligible. */
  readonly remove: boolean;
  /** Instances worked on at once. @default 4 */
  readonly concurrency?: number;
  /** Called as instances are found and as each is done, for a progress display. */
  readonly onProgress?: (event: { readonly found: number; readonly done: number }) => void;
}

/**
 * Sweeps every running instance: one paginated listing of instances, one of all sessions and one
 * of mirror targets, then the creates and removals the plans call for, `concurrency` at a time.
 */
export async function sweepInstances(ctx: MirroringContext, options: SweepOptions): Promise<MirrorOutcome[]> {
  const [targets, sessions] = await Promise.all([mirrorTargetInterfaceIds(ctx), allSessions(ctx)]);
  const limit = pLimit(options.concurrency ?? 4);
  const pending: Promise<MirrorOutcome[]>[] = [];
  let found = 0;
  let done = 0;
  for await (const page of runningInstances(ctx)) {
    found += page.length;
    options.onProgress?.({ found, done });
    for (const facts of page) {
      pending.push(
        limit(async () => {
          const outcomes = await applyPlan(ctx, planSource(facts, sessions, ctx.settings, targets), options.remove);
          options.onProgress?.({ found, done: ++done });
          return outcomes;
        }),
      );
    }
  }
  return (await Promise.all(pending)).flat();
}
