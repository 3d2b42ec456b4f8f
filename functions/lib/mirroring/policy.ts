import type { Instance } from "@aws-sdk/client-ec2";
import type { MirroringSettings } from "./settings";

/** What the mirroring policy needs to know of an ENI. */
export interface InterfaceFacts {
  readonly id: string;
  /** `interface`, `efa`, `trunk`, ... as EC2 reports it. */
  readonly type?: string;
  readonly subnetId?: string;
  readonly vpcId?: string;
  /** The attachment status: attaching, attached, detaching, detached. */
  readonly attachmentStatus?: string;
}

/** What the mirroring policy needs to know of an instance. */
export interface InstanceFacts {
  readonly instanceId: string;
  readonly state: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly interfaces: readonly InterfaceFacts[];
}

/** Why a whole instance is not mirrored. */
export type InstanceExclusion = "excluded-by-tag" | "not-included-by-tag" | "eks-node" | "not-running";

/** Why one ENI of a mirrored instance is not. */
export type InterfaceExclusion =
  | "unsupported-interface-type"
  | "vpc-not-allowed"
  | "subnet-not-allowed"
  | "is-mirror-target"
  | "detaching";

/** Tags that EKS managed node groups, self-managed nodes and Karpenter put on nodes. */
const EKS_TAG_KEYS = ["aws:eks:cluster-name", "eks:cluster-name", "eks:nodegroup-name", "karpenter.sh/nodepool"];
const EKS_TAG_PREFIX = "kubernetes.io/cluster/";

/** The facts of an instance as DescribeInstances returns it. */
export function instanceFacts(instance: Instance): InstanceFacts {
  return {
    instanceId: instance.InstanceId ?? "",
    state: instance.State?.Name ?? "unknown",
    tags: Object.fromEntries((instance.Tags ?? []).flatMap((t) => (t.Key === undefined ? [] : [[t.Key, t.Value ?? ""]]))),
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

/** Why the instance is not mirrored, or undefined when it is. */
export function instanceExclusion(facts: InstanceFacts, settings: MirroringSettings): InstanceExclusion | undefined {
  if (facts.state !== "running") return "not-running";
  if (hasTag(facts.tags, settings.excludeTagKey, settings.excludeTagValue)) return "excluded-by-tag";
  if (settings.includeTagKey !== undefined && !hasTag(facts.tags, settings.includeTagKey, settings.includeTagValue)) {
    return "not-included-by-tag";
  }
  if (settings.excludeEksNodes && isEksNode(facts.tags)) return "eks-node";
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
