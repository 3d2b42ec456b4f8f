import { TerraformStack, type TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";

/** The partition, region and account a provider deploys into, as Terraform values. */
export interface AwsContext {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** Holds one provider's context data sources at the top of a stack. */
class AwsContextSources extends Construct {
  public readonly context: AwsContext;

  constructor(scope: Construct, id: string, provider?: TerraformProvider) {
    super(scope, id);
    this.context = {
      partition: new DataAwsPartition(this, "partition", { provider }).partition,
      region: new DataAwsRegion(this, "region", { provider }).region,
      account: new DataAwsCallerIdentity(this, "account", { provider }).accountId,
    };
  }
}

/**
 * The partition, region and account of `provider` (the stack's default provider when unset),
 * read by data sources created once per stack and provider and shared by every construct.
 */
export function awsContext(scope: Construct, provider?: TerraformProvider): AwsContext {
  const stack = TerraformStack.of(scope);
  const id = `aws-context-${provider?.alias ?? "default"}`;
  const existing = stack.node.tryFindChild(id);
  return existing instanceof AwsContextSources ? existing.context : new AwsContextSources(stack, id, provider).context;
}
