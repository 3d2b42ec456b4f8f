import { z } from "zod";

/** What an event asks the mirroring functions to do. */
export type MirroringTrigger =
  | { readonly kind: "instance-running"; readonly eventId: string; readonly instanceId: string }
  | { readonly kind: "interface-attached"; readonly eventId: string; readonly instanceId: string; readonly interfaceId: string }
  | { readonly kind: "sweep"; readonly eventId: string };

export type ParsedEvent = { readonly ok: true; readonly trigger: MirroringTrigger } | { readonly ok: false; readonly reason: string };

const instanceId = z.string().regex(/^i-[0-9a-f]{8,17}$/);
const interfaceId = z.string().regex(/^eni-[0-9a-f]{8,17}$/);

const stateChange = z.object({
  id: z.string().min(1),
  source: z.literal("aws.ec2"),
  "detail-type": z.literal("EC2 Instance State-change Notification"),
  detail: z.object({ "instance-id": instanceId, state: z.string() }),
});

const attachCall = z.object({
  id: z.string().min(1),
  source: z.literal("aws.ec2"),
  "detail-type": z.literal("AWS API Call via CloudTrail"),
  detail: z.object({
    eventName: z.literal("AttachNetworkInterface"),
    errorCode: z.undefined().optional(),
    requestParameters: z.object({ instanceId, networkInterfaceId: interfaceId }),
  }),
});

const scheduled = z.object({
  id: z.string().min(1),
  source: z.literal("aws.events"),
  "detail-type": z.literal("Scheduled Event"),
});

function describeIssues(error: z.ZodError): string {
  return error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(event)"}: ${i.message}`).join("; ");
}

/** Reads an EventBridge event the mirroring functions subscribe to; anything else is refused with a reason. */
export function parseMirroringEvent(event: unknown): ParsedEvent {
  const detailType = typeof event === "object" && event !== null ? (event as Record<string, unknown>)["detail-type"] : undefined;
  switch (detailType) {
    case "EC2 Instance State-change Notification": {
      const parsed = stateChange.safeParse(event);
      if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error) };
      if (parsed.data.detail.state !== "running") return { ok: false, reason: `instance state is ${parsed.data.detail.state}, not running` };
      return { ok: true, trigger: { kind: "instance-running", eventId: parsed.data.id, instanceId: parsed.data.detail["instance-id"] } };
    }
    case "AWS API Call via CloudTrail": {
      const parsed = attachCall.safeParse(event);
      if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error) };
      const params = parsed.data.detail.requestParameters;
      return {
        ok: true,
        trigger: { kind: "interface-attached", eventId: parsed.data.id, instanceId: params.instanceId, interfaceId: params.networkInterfaceId },
      };
    }
    case "Scheduled Event": {
      const parsed = scheduled.safeParse(event);
      if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error) };
      return { ok: true, trigger: { kind: "sweep", eventId: parsed.data.id } };
    }
    default:
      return { ok: false, reason: `unexpected detail-type ${JSON.stringify(detailType ?? null)}` };
  }
}
