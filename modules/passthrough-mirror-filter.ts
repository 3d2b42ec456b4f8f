import type { TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import { Ec2TrafficMirrorFilter } from "@cdktf/provider-aws/lib/ec2-traffic-mirror-filter";
import { Ec2TrafficMirrorFilterRule } from "@cdktf/provider-aws/lib/ec2-traffic-mirror-filter-rule";

export interface PassthroughMirrorFilterProps extends Pick<TerraformMetaArguments, "provider"> {
  /**
   * Also mirror traffic to and from the VPC's Amazon DNS resolver.
   * @default false - DNS queries are not mirrored
   */
  readonly mirrorAmazonDns?: boolean;
  /** @default "flowtap passthrough filter" */
  readonly description?: string;
}

/**
 * A traffic mirror filter that accepts every packet, IPv4 and IPv6, both directions.
 * A filter without rules mirrors nothing, so the four accept rules are what make it pass through.
 */
export class PassthroughMirrorFilter extends Construct {
  /** The filter id (tmf-...), to pass to traffic mirror sessions. */
  public readonly filterId: string;

  constructor(scope: Construct, id: string, props: PassthroughMirrorFilterProps = {}) {
    super(scope, id);
    const provider = props.provider;
    const filter = new Ec2TrafficMirrorFilter(this, "filter", {
      provider,
      description: props.description ?? "flowtap passthrough filter",
      networkServices: props.mirrorAmazonDns ? ["amazon-dns"] : undefined,
    });
    const directions = ["ingress", "egress"] as const;
    const families = [
      { name: "ipv4", any: "0.0.0.0/0" },
      { name: "ipv6", any: "::/0" },
    ];
    for (const direction of directions) {
      families.forEach((family, index) => {
        new Ec2TrafficMirrorFilterRule(this, `${direction}-${family.name}`, {
          provider,
          trafficMirrorFilterId: filter.id,
          description: `accept all ${family.name} ${direction}`,
          trafficDirection: direction,
          ruleNumber: 100 + index,
          ruleAction: "accept",
          sourceCidrBlock: family.any,
          destinationCidrBlock: family.any,
        });
      });
    }
    this.filterId = filter.id;
  }
}
