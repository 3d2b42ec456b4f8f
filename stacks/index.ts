import type { App, TerraformStack } from "cdktf";
import type { Feature, OrgConfig } from "../config/schema";
import { enabledFeatures } from "../config/rollout-manifest";
import { Ec2MirroringStack } from "./ec2-mirroring-stack";

const stackFactories: Record<Feature, (app: App, config: OrgConfig, configFile: string) => TerraformStack> = {
  "ec2-mirroring": (app, config, configFile) => new Ec2MirroringStack(app, { config, configFile }),
};

/** Adds one stack per feature that some account enables. */
export function composeStacks(app: App, config: OrgConfig, configFile: string): TerraformStack[] {
  return enabledFeatures(config).map((feature) => stackFactories[feature](app, config, configFile));
}
