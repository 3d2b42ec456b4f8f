import type { TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import { Ec2TrafficMirrorTarget } from "@cdktf/provider-aws/lib/ec2-traffic-mirror-target";
import { RamPrincipalAssociation } from "@cdktf/provider-aws/lib/ram-principal-association";
import { RamResourceAssociation } from "@cdktf/provider-aws/lib/ram-resource-association";
import { RamResourceShare } from "@cdktf/provider-aws/lib/ram-resource-share";

/** One traffic mirror target: exactly one of an NLB, a Gateway Load Balancer endpoint or an ENI. */
export interface MirrorTargetSpec {
  /**
   * The availability zone id (use1-az1) whose sources this target serves.
   * @default - the region's default target, for zones without their own
   */
  readonly zoneId?: string;
  /** An NLB with a UDP 4789 (VXLAN) listener forwarding to the sensors. */
  readonly networkLoadBalancerArn?: string;
  readonly gatewayLoadBalancerEndpointId?: string;
  readonly networkInterfaceId?: string;
  /** @default "flowtap mirror target" */
  readonly description?: string;
}

export interface MirrorTargetsProps extends Pick<TerraformMetaArguments, "provider"> {
  /** The targets of one region (the provider's). At most one per zone, and at most one default. */
  readonly targets: readonly MirrorTargetSpec[];
  /** Share with this organization ARN (arn:aws:organizations::<management-account>:organization/o-...). @default - not with the organization */
  readonly shareWithOrganizationArn?: string;
  /** Share with these OU ARNs. @default - with no OU */
  readonly shareWithOuArns?: readonly string[];
  /** Share with these account ids. @default - with no account */
  readonly shareWithAccountIds?: readonly string[];
  /** @default "flowtap-mirror-targets" */
  readonly resourceShareName?: string;
}

/**
 * The sensors' traffic mirror targets in one region, shared through AWS RAM with the
 * organization, OUs or accounts, never with principals outside the organization.
 */
export class MirrorTargets extends Construct {
  /** Target ids by the zone id they serve, and "default" for the region's fallback target. */
  public readonly targetIdsByZone: Readonly<Record<string, string>>;
  /** The RAM resource share's ARN. */
  public readonly resourceShareArn: string;

  constructor(scope: Construct, id: string, props: MirrorTargetsProps) {
    super(scope, id);
    const provider = props.provider;
    const principals = [
      ...(props.shareWithOrganizationArn ? [props.shareWithOrganizationArn] : []),
      ...(props.shareWithOuArns ?? []),
      ...(props.shareWithAccountIds ?? []),
    ];
    if (principals.length === 0) throw new Error("MirrorTargets: share with the organization, OUs or accounts; a target nobody can use mirrors nothing");
    const zones = props.targets.map((t) => t.zoneId ?? "default");
    const repeated = zones.find((zone, i) => zones.indexOf(zone) !== i);
    if (repeated) throw new Error(`MirrorTargets: two targets for ${repeated}; one target per availability zone, and one default`);

    const share = new RamResourceShare(this, "share", {
      provider,
      name: props.resourceShareName ?? "flowtap-mirror-targets",
      allowExternalPrincipals: false,
    });
    const targetIdsByZone: Record<string, string> = {};
    props.targets.forEach((spec, index) => {
      const kinds = [spec.networkLoadBalancerArn, spec.gatewayLoadBalancerEndpointId, spec.networkInterfaceId].filter(Boolean);
      if (kinds.length !== 1) throw new Error(`MirrorTargets: target ${index} needs exactly one of networkLoadBalancerArn, gatewayLoadBalancerEndpointId, networkInterfaceId`);
      const zone = zones[index];
      const target = new Ec2TrafficMirrorTarget(this, `target-${zone}`, {
        provider,
        description: spec.description ?? `flowtap mirror target (${zone})`,
        networkLoadBalancerArn: spec.networkLoadBalancerArn,
        gatewayLoadBalancerEndpointId: spec.gatewayLoadBalancerEndpointId,
        networkInterfaceId: spec.networkInterfaceId,
        tags: { Name: `flowtap-${zone}` },
      });
      new RamResourceAssociation(this, `share-target-${zone}`, { provider, resourceArn: target.arn, resourceShareArn: share.arn });
      targetIdsByZone[zone] = target.id;
    });
    principals.forEach((principal, index) => {
      new RamPrincipalAssociation(this, `principal-${index}`, { provider, principal, resourceShareArn: share.arn });
    });
    this.targetIdsByZone = targetIdsByZone;
    this.resourceShareArn = share.arn;
  }
}
