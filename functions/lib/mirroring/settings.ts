import { z } from "zod";

/** How the mirroring functions decide what to mirror, read from their environment. */
export interface MirroringSettings {
  readonly targetId: string;
  readonly filterId: string;
  readonly excludeTagKey: string;
  readonly excludeTagValue?: string;
  readonly excludeEksNodes: boolean;
  readonly includeTagKey?: string;
  readonly includeTagValue?: string;
  readonly vpcIds: readonly string[];
  readonly subnetIds: readonly string[];
  readonly sessionNumber: number;
  readonly virtualNetworkId?: number;
  readonly packetLength?: number;
}

const optional = z.string().optional().transform((v) => (v ? v : undefined));
const idList = z.string().optional().transform((v) => (v ? v.split(",").map((s) => s.trim()).filter(Boolean) : []));
const optionalInt = (min: number, max: number) =>
  z.string().optional().transform((v, ctx) => {
    if (!v) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `expected an integer from ${min} to ${max}, got "${v}"` });
      return z.NEVER;
    }
    return n;
  });

const environmentSchema = z.object({
  MIRROR_TARGET_ID: z.string({ error: "required" }).regex(/^tmt-[0-9a-f]{8,17}$/, "expected a traffic mirror target id such as tmt-0123456789abcdef0"),
  MIRROR_FILTER_ID: z.string({ error: "required" }).regex(/^tmf-[0-9a-f]{8,17}$/, "expected a traffic mirror filter id such as tmf-0123456789abcdef0"),
  EXCLUDE_TAG_KEY: z.string({ error: "required" }).min(1, "must not be empty"),
  EXCLUDE_TAG_VALUE: optional,
  EXCLUDE_EKS_NODES: z.enum(["true", "false"]).default("true"),
  INCLUDE_TAG_KEY: optional,
  INCLUDE_TAG_VALUE: optional,
  VPC_IDS: idList,
  SUBNET_IDS: idList,
  SESSION_NUMBER: optionalInt(1, 32766),
  VIRTUAL_NETWORK_ID: optionalInt(0, 16777215),
  PACKET_LENGTH: optionalInt(1, 8947),
});

/**
 * Reads settings from an environment (the function's, or the CLI's flags mapped onto the same
 * names). `names` says what to call each variable in an error, e.g. the CLI flag it came from.
 */
export function settingsFromEnvironment(
  env: Record<string, string | undefined>,
  names: Readonly<Record<string, string>> = {},
): MirroringSettings {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${names[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join("; ");
    throw new Error(`invalid mirroring settings: ${problems}`);
  }
  const e = parsed.data;
  return {
    targetId: e.MIRROR_TARGET_ID,
    filterId: e.MIRROR_FILTER_ID,
    excludeTagKey: e.EXCLUDE_TAG_KEY,
    excludeTagValue: e.EXCLUDE_TAG_VALUE,
    excludeEksNodes: e.EXCLUDE_EKS_NODES === "true",
    includeTagKey: e.INCLUDE_TAG_KEY,
    includeTagValue: e.INCLUDE_TAG_VALUE,
    vpcIds: e.VPC_IDS,
    subnetIds: e.SUBNET_IDS,
    sessionNumber: e.SESSION_NUMBER ?? 1,
    virtualNetworkId: e.VIRTUAL_NETWORK_ID,
    packetLength: e.PACKET_LENGTH,
  };
}
