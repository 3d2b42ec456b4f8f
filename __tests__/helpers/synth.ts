import { Testing, type TerraformStack } from "cdktf";
import { EXAMPLE_CONFIG_PATH, loadOrgConfig } from "../../config/load";
import type { OrgConfig } from "../../config/schema";
import type { WorkspaceMap } from "../../config/terraform-maps";
import { composeStacks } from "../../stacks";
import { MemberStack } from "../../stacks/member-stack";

export const exampleConfigFile = "config/example.org.yaml";
export const exampleOrg: OrgConfig = loadOrgConfig(EXAMPLE_CONFIG_PATH);

/** A synthesized stack: the JSON string the cdktf matchers take, and the parsed document. */
export interface SynthesizedStack {
  readonly name: string;
  readonly stack: TerraformStack;
  readonly json: string;
  /** A member stack's workspace map (what synth writes to workspaces.auto.tfvars.json); empty for central stacks. */
  readonly workspaces: WorkspaceMap;
  // The synthesized Terraform JSON: an open-ended document.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly tf: any;
}

/** Synthesizes every stack the app composes for `config`, keyed by stack name. */
export function synthAll(config: OrgConfig = exampleOrg, configFile = exampleConfigFile): Map<string, SynthesizedStack> {
  const app = Testing.app();
  const stacks = composeStacks(app, config, configFile);
  return new Map(
    stacks.map((stack) => {
      const json = Testing.synth(stack);
      const workspaces = stack instanceof MemberStack ? stack.workspaceMap : {};
      return [stack.node.id, { name: stack.node.id, stack, json, tf: JSON.parse(json), workspaces }];
    }),
  );
}

/** One stack of `config`, synthesized. */
export function synthStack(config: OrgConfig, name: string): SynthesizedStack {
  const stack = synthAll(config).get(name);
  if (!stack) throw new Error(`the app composed no stack named ${name}`);
  return stack;
}

/** The resources of one type in a synthesized stack, by their logical id. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function resourcesOf(synth: SynthesizedStack, type: string): Record<string, any> {
  return synth.tf.resource?.[type] ?? {};
}

/**
 * The entry of `record` whose construct path ends with `pathSuffix`: cdktf derives logical ids
 * from construct paths (`mirroring/events/permissions` -> `mirroring_events_permissions_1A2B3C4D`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function atPath(record: Record<string, any> | undefined, pathSuffix: string, what: string): any {
  const idSuffix = new RegExp(`(^|_)${pathSuffix.replace(/[/-]/g, (c) => (c === "/" ? "_" : c))}_[0-9A-F]{8}$`);
  const key = Object.keys(record ?? {}).find((k) => idSuffix.test(k));
  if (!key || !record) throw new Error(`no ${what} at a path ending in ${pathSuffix}`);
  return record[key];
}

/** A resource whose construct path ends with `pathSuffix`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function resourceAt(synth: SynthesizedStack, type: string, pathSuffix: string): any {
  return atPath(synth.tf.resource?.[type], pathSuffix, type);
}

/** A policy document data source whose construct path ends with `pathSuffix`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function policyAt(synth: SynthesizedStack, pathSuffix: string): any {
  return atPath(synth.tf.data?.aws_iam_policy_document, pathSuffix, "policy document");
}
