import type { Instance } from "@aws-sdk/client-ec2";
import type { MirroringSettings } from "./settings";

/** What the mirroring policy needs to know of an ENI. */
export interface InterfaceFacts {
  readonly id: string;
  /** `interface`, `efa`, `trunk`, ... as EC2 reports it; unknown for task ENIs. */
  readonly type?: string;
  readonly subnetId?: string;
  readonly vpcId?: string;
  /** The attachment status: attaching, attached, detaching, detached. */
  readonly attachmentStatus?: string;
}

/** A traffic source: an EC2 instance or an ECS task, with its ENIs. */
export interface SourceFacts {
  readonly kind: "instance" | "task";
  /** The instance id, or the task ARN. */
  readonly sourceId: string;
  /** `running` when the source can be mirrored. */
  readonly state: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly interfaces: readonly InterfaceFacts[];
  readonly availabilityZone?: string;
  /** The zone id (use1-az1), which names the same zone in every account. */
  readonly availabilityZoneId?: string;
}

/** Why a whole source is not mirrored. */
export type SourceExclusion =
  | "excluded-by-tag"
  | "not-included-by-tag"
  | "eks-node"
  | "not-running"
  | "cluster-not-in-scope"
  | "service-not-in-scope"
  | "family-not-in-scope";

/** Why one ENI of a mirrored source is not. */
export type InterfaceExclusion =
  | "unsupported-interface-type"
  | "vpc-not-allowed"
  | "subnet-not-allowed"
  | "is-mirror-target"
  | "detaching";

/** Tags that EKS managed node groups, self-managed nodes and Karpenter put on nodes. */
const EKS_TAG_KEYS = ["aws:eks:cluster-name", "eks:cluster-name", "eks:nodegroup-name", "karpenter.sh/nodepool"];
const EKS_TAG_PREFIX = "kubernetes.io/cluster/";

/** `[{Key, Value}]` (EC2) or `[{key, value}]` (ECS) as a record. */
export function tagRecord(tags: readonly { Key?: string; Value?: string; key?: string; value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).flatMap((t) => {
    const key = t.Key ?? t.key;
    return key === undefined ? [] : [[key, t.Value ?? t.value ?? ""]];
  }));
}

/** The facts of an instance as DescribeInstances returns it. */
export function instanceFacts(instance: Instance): SourceFacts {
  return {
    kind: "instance",
    sourceId: instance.InstanceId ?? "",
    state: instance.State?.Name ?? "unknown",
    tags: tagRecord(instance.Tags),
    availabilityZone: instance.Placement?.AvailabilityZone,
    availabilityZoneId: instance.Placement?.AvailabilityZoneId,
    interfaces: (instance.NetworkInterfaces ?? []).flatMap((eni) =>
      eni.NetworkInterfaceId
        ? [{
            id: eni.NetworkInterfaceId,
            type: eni.InterfaceType,
            subnetId: eni.SubnetId,
            vpcId: eni.VpcId,
            attachmentStatus: eni.Attachment?.Status,
          }]
        : [],
    ),
  };
}

export function isEksNode(tags: Readonly<Record<string, string>>): boolean {
  return Object.keys(tags).some((key) => EKS_TAG_KEYS.includes(key) || key.startsWith(EKS_TAG_PREFIX));
}

/** Exact tag match: the key present and, when a value is given, that value exactly. */
function hasTag(tags: Readonly<Record<string, string>>, key: string, value: string | undefined): boolean {
  return Object.prototype.hasOwnProperty.call(tags, key) && (value === undefined || tags[key] === value);
}

/** Why the source is not mirrored by the tag rules, or undefined when it is. */
export function sourceExclusion(facts: SourceFacts, settings: MirroringSettings): SourceExclusion | undefined {
  if (facts.state !== "running") return "not-running";
  if (hasTag(facts.tags, settings.excludeTagKey, settings.excludeTagValue)) return "excluded-by-tag";
  if (settings.includeTagKey !== undefined && !hasTag(facts.tags, settings.includeTagKey, settings.includeTagValue)) {
    return "not-included-by-tag";
  }
  if (facts.kind === "instance" && settings.excludeEksNodes && isEksNode(facts.tags)) return "eks-node";
  return undefined;
}

/** Why the ENI is not a mirror source, or undefined when it is one. */
export function interfaceExclusion(
  eni: InterfaceFacts,
  settings: MirroringSettings,
  mirrorTargetInterfaceIds: ReadonlySet<string>,
): InterfaceExclusion | undefined {
  // AWS mirrors only ENIs of type `interface`; EFA, trunk and branch ENIs are refused.
  if (eni.type !== undefined && eni.type !== "interface") return "unsupported-interface-type";
  if (mirrorTargetInterfaceIds.has(eni.id)) return "is-mirror-target";
  if (eni.attachmentStatus === "detaching" || eni.attachmentStatus === "detached") return "detaching";
  if (settings.vpcIds.length > 0 && !settings.vpcIds.includes(eni.vpcId ?? "")) return "vpc-not-allowed";
  if (settings.subnetIds.length > 0 && !settings.subnetIds.includes(eni.subnetId ?? "")) return "subnet-not-allowed";
  return undefined;
}
