import { z } from "zod";

/**
 * The traffic mirror targets a source may send to: one per availability zone id (use1-az1, ...;
 * zone names differ between accounts, zone ids do not) and a default for zones with none.
 */
export interface MirrorTargets {
  readonly byZoneId: Readonly<Record<string, string>>;
  readonly default?: string;
}

/** How the mirroring functions decide what to mirror, read from their environment. */
export interface MirroringSettings {
  readonly targets: MirrorTargets;
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

const targetId = z.string().regex(/^tmt-[0-9a-f]{8,17}$/, "expected a traffic mirror target id such as tmt-0123456789abcdef0");
const ZONE_ID = /^[a-z]{2,}[0-9]?-az[0-9]+$/;

/** `{"use1-az1": "tmt-...", "default": "tmt-..."}`: at least one target. */
const targetsJson = z.string({ error: "required" }).transform((text, ctx): MirrorTargets => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: "custom", message: `expected a JSON object of zone id (or "default") to target id, got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  const parsed = z.record(z.string(), targetId).safeParse(value);
  if (!parsed.success || Object.keys(parsed.data).length === 0) {
    ctx.addIssue({ code: "custom", message: `expected a non-empty JSON object of zone id (or "default") to target id (tmt-...), got ${text}` });
    return z.NEVER;
  }
  const { default: fallback, ...byZoneId } = parsed.data;
  const badZone = Object.keys(byZoneId).find((zone) => !ZONE_ID.test(zone));
  if (badZone) {
    ctx.addIssue({ code: "custom", message: `"${badZone}" is not an availability zone id such as use1-az1` });
    return z.NEVER;
  }
  return { byZoneId, default: fallback };
});

/** The target for a source in the given zone: the zone's own, else the default. */
export function targetFor(targets: MirrorTargets, zoneId: string | undefined): string | undefined {
  return (zoneId !== undefined ? targets.byZoneId[zoneId] : undefined) ?? targets.default;
}

/** Every target id the settings name, for telling flowtap's sessions to them apart. */
export function allTargetIds(targets: MirrorTargets): Set<string> {
  return new Set([...Object.values(targets.byZoneId), ...(targets.default ? [targets.default] : [])]);
}

const environmentSchema = z.object({
  MIRROR_TARGETS: targetsJson,
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
    targets: e.MIRROR_TARGETS,
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
