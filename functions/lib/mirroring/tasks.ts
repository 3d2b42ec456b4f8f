import type { Task } from "@aws-sdk/client-ecs";
import { z } from "zod";
import { tagRecord, type InterfaceFacts, type SourceExclusion, type SourceFacts } from "./policy";

/** Which ECS tasks are in scope; an empty list admits every value. */
export interface TaskScope {
  /** Cluster names. */
  readonly clusters: readonly string[];
  /** Service names (tasks started by a service have the group `service:<name>`). */
  readonly services: readonly string[];
  /** Task definition families. */
  readonly families: readonly string[];
}

/** What a task state change event says of the task. */
export interface TaskEvent {
  readonly eventId: string;
  readonly taskArn: string;
  readonly clusterArn: string;
  readonly lastStatus: string;
  readonly facts: SourceFacts;
  readonly group?: string;
  readonly taskDefinitionArn?: string;
  readonly launchType?: string;
}

export type ParsedTaskEvent = { readonly ok: true; readonly task: TaskEvent } | { readonly ok: false; readonly reason: string };

const attachment = z.object({
  type: z.string(),
  status: z.string().optional(),
  details: z.array(z.object({ name: z.string(), value: z.string().optional() })).default([]),
});

const taskStateChange = z.object({
  id: z.string().min(1),
  source: z.literal("aws.ecs"),
  "detail-type": z.literal("ECS Task State Change"),
  detail: z.object({
    taskArn: z.string().regex(/^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task\/.+/),
    clusterArn: z.string().regex(/^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/.+/),
    lastStatus: z.string(),
    availabilityZone: z.string().optional(),
    group: z.string().optional(),
    taskDefinitionArn: z.string().optional(),
    launchType: z.string().optional(),
    attachments: z.array(attachment).default([]),
  }),
});

/** ENI attachments as events (`eni`) and DescribeTasks (`ElasticNetworkInterface`) name them. */
const ENI_ATTACHMENT_TYPES = new Set(["eni", "ElasticNetworkInterface"]);

function taskInterfaces(attachments: readonly z.infer<typeof attachment>[]): InterfaceFacts[] {
  return attachments
    .filter((a) => ENI_ATTACHMENT_TYPES.has(a.type))
    .flatMap((a) => {
      const detail = (name: string) => a.details.find((d) => d.name === name)?.value;
      const id = detail("networkInterfaceId");
      if (!id) return [];
      // Task ENIs report ATTACHED; DELETED and DETACHED ones are on their way out.
      const status = a.status?.toUpperCase();
      return [{ id, subnetId: detail("subnetId"), attachmentStatus: status === "ATTACHED" || status === undefined ? "attached" : "detaching" }];
    });
}

/** Reads an `ECS Task State Change` event; anything else is refused with a reason. */
export function parseTaskEvent(event: unknown): ParsedTaskEvent {
  const parsed = taskStateChange.safeParse(event);
  if (!parsed.success) {
    return { ok: false, reason: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(event)"}: ${i.message}`).join("; ") };
  }
  const d = parsed.data.detail;
  return {
    ok: true,
    task: {
      eventId: parsed.data.id,
      taskArn: d.taskArn,
      clusterArn: d.clusterArn,
      lastStatus: d.lastStatus,
      group: d.group,
      taskDefinitionArn: d.taskDefinitionArn,
      launchType: d.launchType,
      facts: {
        kind: "task",
        sourceId: d.taskArn,
        state: d.lastStatus.toLowerCase(),
        tags: {},
        availabilityZone: d.availabilityZone,
        interfaces: taskInterfaces(d.attachments),
      },
    },
  };
}

/** The facts of a task as DescribeTasks returns it (with `include: ["TAGS"]`). */
export function taskFacts(task: Task): SourceFacts {
  return {
    kind: "task",
    sourceId: task.taskArn ?? "",
    state: (task.lastStatus ?? "unknown").toLowerCase(),
    tags: tagRecord(task.tags),
    availabilityZone: task.availabilityZone,
    interfaces: taskInterfaces(
      (task.attachments ?? []).map((a) => ({
        type: a.type ?? "",
        status: a.status,
        details: (a.details ?? []).flatMap((d) => (d.name ? [{ name: d.name, value: d.value }] : [])),
      })),
    ),
  };
}

/** The last path segment of an ARN: a cluster's name, or `family:revision` of a task definition. */
const arnName = (arn: string | undefined) => arn?.slice(arn.lastIndexOf("/") + 1) ?? "";

/** The task definition family of a task definition ARN. */
export function familyOf(taskDefinitionArn: string | undefined): string {
  const name = arnName(taskDefinitionArn);
  const colon = name.lastIndexOf(":");
  return colon === -1 ? name : name.slice(0, colon);
}

/** Why a task is outside the configured clusters, services or families, or undefined when inside. */
export function taskScopeExclusion(
  task: { readonly clusterArn?: string; readonly group?: string; readonly taskDefinitionArn?: string },
  scope: TaskScope,
): SourceExclusion | undefined {
  if (scope.clusters.length > 0 && !scope.clusters.includes(arnName(task.clusterArn))) return "cluster-not-in-scope";
  if (scope.services.length > 0) {
    const service = task.group?.startsWith("service:") ? task.group.slice("service:".length) : undefined;
    if (service === undefined || !scope.services.includes(service)) return "service-not-in-scope";
  }
  if (scope.families.length > 0 && !scope.families.includes(familyOf(task.taskDefinitionArn))) return "family-not-in-scope";
  return undefined;
}

const idList = z.string().optional().transform((v) => (v ? v.split(",").map((s) => s.trim()).filter(Boolean) : []));
const scopeSchema = z.object({ ECS_CLUSTERS: idList, ECS_SERVICES: idList, ECS_TASK_FAMILIES: idList });

/** Reads the task scope from an environment. */
export function taskScopeFromEnvironment(env: Record<string, string | undefined>): TaskScope {
  const parsed = scopeSchema.parse(env);
  return { clusters: parsed.ECS_CLUSTERS, services: parsed.ECS_SERVICES, families: parsed.ECS_TASK_FAMILIES };
}
