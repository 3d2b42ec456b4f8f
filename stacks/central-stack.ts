import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { OrgConfig } from "../config/schema";
import { partitionOf } from "../config/workspaces";
import { configureStateBackend } from "../modules/state-backend";
import { terraformLiterals } from "../modules/terraform-literal";
import { AlarmTopic } from "../modules/alarm-topic";

export interface CentralStackProps {
  readonly config: OrgConfig;
  /** The stack's name; also its state key. */
  readonly name: string;
}

/**
 * A stack in the central (security) account: one ordinary workspace, a provider per region it
 * deploys to, each assuming the rollout role in the central account and refusing any other.
 */
export abstract class CentralStack extends TerraformStack {
  /** The provider in the central account's home region. */
  protected readonly provider: AwsProvider;
  private readonly providers = new Map<string, AwsProvider>();
  private readonly config: OrgConfig;

  constructor(scope: Construct, props: CentralStackProps) {
    super(scope, props.name);
    this.config = props.config;
    configureStateBackend(this, props.config, props.name);
    this.provider = this.providerFor(props.config.central.region);
  }

  /** The topic the stack's alarms notify in `region`, mailed to the config's `alarmEmail`. */
  protected alarmTopicFor(region: string): AlarmTopic {
    const id = `alarms-${region}`;
    const existing = this.node.tryFindChild(id);
    if (existing instanceof AlarmTopic) return existing;
    return new AlarmTopic(this, id, { provider: this.providerFor(region), topicName: `${this.node.id}-alarms`.replace(/^(?!flowtap-)/, "flowtap-"), email: this.config.alarmEmail });
  }

  /** The provider for a region of the central account (the home region's is the default provider). */
  protected providerFor(region: string): AwsProvider {
    const existing = this.providers.get(region);
    if (existing) return existing;
    const { central, rollout, tags } = this.config;
    const provider = new AwsProvider(this, region === central.region ? "aws" : `aws-${region}`, {
      alias: region === central.region ? undefined : region,
      region,
      allowedAccountIds: [central.accountId],
      assumeRole: [
        {
          roleArn: `arn:${partitionOf(region)}:iam::${central.accountId}:role/${rollout.assumeRoleName}`,
          sessionName: rollout.sessionName,
          externalId: rollout.externalId,
        },
      ],
      defaultTags: [{ tags: terraformLiterals({ ...tags, ManagedBy: "flowtap", Feature: this.node.id }) }],
    });
    this.providers.set(region, provider);
    return provider;
  }
}
