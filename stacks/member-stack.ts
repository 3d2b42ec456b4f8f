import { Fn, TerraformLocal, TerraformOutput, TerraformStack, TerraformVariable, Token } from "cdktf";
// The hook TerraformAsset uses to write files beside a stack; cdktf does not re-export it.
import { addCustomSynthesis } from "cdktf/lib/synthesize/synthesizer";
import type { Construct } from "constructs";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { Feature, OrgConfig } from "../config/schema";
import type { WorkspaceMap } from "../config/terraform-maps";
import { AlarmTopic } from "../modules/alarm-topic";
import { configureStateBackend, centralStackOutputs } from "../modules/state-backend";
import { terraformLiterals } from "../modules/terraform-literal";

export interface MemberStackProps {
  readonly config: OrgConfig;
  /** The org config file, named in the error a workspace outside the rollout gets. */
  readonly configFile: string;
  readonly feature: Feature;
  /** Every workspace this stack is applied in, with its settings. */
  readonly workspaces: WorkspaceMap;
}

/**
 * A stack applied once per member account and region, as Terraform workspace
 * `<account-id>-<region>`. Everything that differs between workspaces is looked up in a
 * map keyed by `terraform.workspace`; a workspace missing from the map fails at plan time
 * with a message naming it, and the provider refuses any account but the workspace's own.
 */
export abstract class MemberStack extends TerraformStack {
  /** The file beside `cdk.tf.json` holding the workspace map; Terraform loads `*.auto.tfvars.json` by itself. */
  public static readonly WORKSPACES_FILE = "workspaces.auto.tfvars.json";
  /** Every workspace the stack is applied in, with its settings, as written to {@link MemberStack.WORKSPACES_FILE}. */
  public readonly workspaceMap: WorkspaceMap;
  /** The AWS provider, in the workspace's account and region. */
  protected readonly provider: AwsProvider;
  private readonly workspace: TerraformLocal;
  private readonly props: MemberStackProps;

  constructor(scope: Construct, props: MemberStackProps) {
    super(scope, props.feature);
    const { config, feature } = props;
    this.props = props;
    if (Object.keys(props.workspaces).length === 0) {
      throw new Error(`stack ${feature}: no account enables it; leave it out instead of synthesizing an empty stack`);
    }
    // The map is data, not configuration: it goes to a tfvars file beside the stack, so a
    // 1,000-account organization costs cdktf no more to synthesize than a 3-account one.
    this.workspaceMap = props.workspaces;
    new TerraformVariable(this, "workspaces", {
      type: "any",
      nullable: false,
      description: `Settings of each workspace (<account-id>-<region>) this stack is applied in; flowtap synth writes them from ${props.configFile} to ${MemberStack.WORKSPACES_FILE}.`,
    });
    addCustomSynthesis(this, {
      onSynthesize: (session) => {
        const dir = path.join(session.manifest.outdir, session.manifest.forStack(this).workingDirectory);
        mkdirSync(dir, { recursive: true });
        // A variables file: Terraform reads its strings as values, never as templates.
        // eslint-disable-next-line no-restricted-syntax
        writeFileSync(path.join(dir, MemberStack.WORKSPACES_FILE), `${JSON.stringify({ workspaces: this.workspaceMap }, null, 1)}\n`);
      },
    });
    const known = "contains(keys(var.workspaces), terraform.workspace)";
    // file() of a path that cannot exist is Terraform's way to fail with our own message.
    const refusal = `file("flowtap: workspace '\${terraform.workspace}' is not in the rollout of ${props.configFile} for stack ${feature}; select one of its <account-id>-<region> workspaces")`;
    this.workspace = new TerraformLocal(this, "workspace", `\${var.workspaces[${known} ? terraform.workspace : ${refusal}]}`);

    configureStateBackend(this, config, feature);

    this.provider = new AwsProvider(this, "aws", {
      region: this.setting("region"),
      allowedAccountIds: [this.setting("account_id")],
      assumeRole: [
        {
          roleArn: this.setting("role_arn"),
          sessionName: config.rollout.sessionName,
          externalId: config.rollout.externalId,
        },
      ],
      defaultTags: [{ tags: terraformLiterals({ ...config.tags, ManagedBy: "flowtap", Feature: feature }) }],
    });

    new TerraformOutput(this, "account_id", { value: this.setting("account_id"), description: "The account this workspace deployed into." });
    new TerraformOutput(this, "region", { value: this.setting("region"), description: "The region this workspace deployed into." });
  }

  /**
   * The workspace's mirror targets as the functions read them (JSON, zone id or "default" to
   * target id): its own from the config, else the central mirror-target stack's for its region,
   * read by remote state once that stack has been applied, which also makes it a dependency so
   * `cdktf deploy` applies it first. Plan fails with flowtap's message, naming the region and what
   * to apply, when neither has a target for it (mirror-target not applied yet, or not in that region).
   */
  protected mirrorTargets(mirrorTargetStack: { readonly stack: TerraformStack; readonly name: string } | undefined): string {
    const configured = this.setting("mirror_targets_json");
    let targets: string = configured;
    if (mirrorTargetStack) {
      this.addDependency(mirrorTargetStack.stack);
      const central = centralStackOutputs(this, "mirror-target-state", this.props.config, mirrorTargetStack.name);
      // Before mirror-target is applied its outputs are absent: try() turns that into "{}", refused below with our message.
      targets = `\${local.workspace.mirror_targets_source == "config" ? local.workspace.mirror_targets_json : jsonencode(try(${central}.targets_by_region[local.workspace.region], {}))}`;
    }
    new TerraformLocal(this, "mirror_targets_candidate", targets);
    const missing = `file("flowtap: no traffic mirror target for region \${local.workspace.region}: set targetIds in ${this.props.configFile} or apply the mirror-target stack first")`;
    return new TerraformLocal(this, "mirror_targets", `\${local.mirror_targets_candidate == "{}" ? ${missing} : local.mirror_targets_candidate}`).asString;
  }

  /** The topic the feature's alarms notify in the workspace's region, mailed to the config's `alarmEmail`. */
  protected alarmTopic(): AlarmTopic {
    const existing = this.node.tryFindChild("alarms");
    if (existing instanceof AlarmTopic) return existing;
    return new AlarmTopic(this, "alarms", { provider: this.provider, topicName: `flowtap-${this.props.feature}-alarms`, email: this.props.config.alarmEmail });
  }

  /** The current workspace's value of a setting from the workspace map. */
  protected setting(key: string): string {
    return Token.asString(Fn.lookupNested(this.workspace.expression, [key]));
  }

  /** A list setting of the current workspace. */
  protected listSetting(key: string): string[] {
    return Token.asList(Fn.lookupNested(this.workspace.expression, [key]));
  }

  /** A numeric setting of the current workspace. */
  protected numberSetting(key: string): number {
    return Token.asNumber(Fn.lookupNested(this.workspace.expression, [key]));
  }
}
