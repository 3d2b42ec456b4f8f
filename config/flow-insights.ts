import { partitionOf } from "./workspaces";

/**
 * The names the two sides of flow-insights agree on: the central stack creates these in each
 * region where a member workspace runs, and member stacks point at them.
 */
export const FLOW_INSIGHTS = {
  /** The central event bus member accounts forward ENI, tag and instance events to. */
  busName: "flowtap-flow-insights",
  /** The CloudWatch Logs destination member flow log groups subscribe to. */
  destinationName: "flowtap-flow-insights",
  /** The Glue database and Athena workgroup of the enriched records, in the home region. */
  databaseName: "flowtap_flow_insights",
  workgroupName: "flowtap-flow-insights",
  /** The central inventory function of a region. */
  inventoryFunctionName: (region: string) => `flowtap-flow-insights-inventory-${region}`,
  /** The central enrichment function of a region. */
  enrichFunctionName: (region: string) => `flowtap-flow-insights-enrich-${region}`,
  /** The role a member account lets the central inventory function of a region assume. */
  memberRoleName: (region: string) => `flowtap-flow-insights-inventory-${region}`,
} as const;

/** The ARNs a member workspace points at, in the central account. */
export function centralArns(centralAccountId: string, region: string) {
  const partition = partitionOf(region);
  return {
    busArn: `arn:${partition}:events:${region}:${centralAccountId}:event-bus/${FLOW_INSIGHTS.busName}`,
    destinationArn: `arn:${partition}:logs:${region}:${centralAccountId}:destination:${FLOW_INSIGHTS.destinationName}`,
    // NodejsFunction names a function's role <function>-function.
    inventoryRoleArn: `arn:${partition}:iam::${centralAccountId}:role/${FLOW_INSIGHTS.inventoryFunctionName(region)}-function`,
  };
}
