import type { App, TerraformStack } from "cdktf";
import type { OrgConfig } from "../config/schema";
import { enabledFeatures } from "../config/rollout-manifest";
import { Ec2MirroringStack } from "./ec2-mirroring-stack";
import { FargateMirroringStack } from "./fargate-mirroring-stack";
import { FlowInsightsCentralStack } from "./flow-insights-central-stack";
import { FlowInsightsStack } from "./flow-insights-stack";
import { FlowLogSgEnrichmentStack } from "./flow-log-sg-enrichment-stack";
import { MIRROR_TARGET_STACK, MirrorTargetStack } from "./mirror-target-stack";
import { NatFlowRecorderStack } from "./nat-flow-recorder-stack";

/** Adds the central stacks the config asks for, then one member stack per feature some account enables. */
export function composeStacks(app: App, config: OrgConfig, configFile: string): TerraformStack[] {
  const mirrorTarget = config.features.mirrorTarget ? new MirrorTargetStack(app, { config }) : undefined;
  const flowInsightsCentral = enabledFeatures(config).includes("flow-insights") ? new FlowInsightsCentralStack(app, { config }) : undefined;
  const mirroringProps = { config, configFile, mirrorTargetStack: mirrorTarget ? { stack: mirrorTarget, name: MIRROR_TARGET_STACK } : undefined };
  const members = enabledFeatures(config).map((feature): TerraformStack => {
    switch (feature) {
      case "ec2-mirroring":
        return new Ec2MirroringStack(app, mirroringProps);
      case "fargate-mirroring":
        return new FargateMirroringStack(app, mirroringProps);
      case "nat-flow-recorder":
        return new NatFlowRecorderStack(app, { config, configFile });
      case "flow-log-sg-enrichment":
        return new FlowLogSgEnrichmentStack(app, { config, configFile });
      case "flow-insights":
        return new FlowInsightsStack(app, { config, configFile, centralStack: flowInsightsCentral! });
    }
  });
  return [...(mirrorTarget ? [mirrorTarget] : []), ...(flowInsightsCentral ? [flowInsightsCentral] : []), ...members];
}
