import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { inventoryChangeOf, InventorySync, type MemberClients } from "../lib/flowlogs/inventory-sync";
import { requiredSetting } from "../lib/environment";
import { OwnershipStore } from "../lib/flowlogs/ownership";

// Created once per container. Retries are ours (withRetry), so the SDK makes one attempt.
const dynamo = new DynamoDBClient({ maxAttempts: 1 });
const logger = new Logger();
const metrics = new Metrics();

interface Settings {
  readonly sync: InventorySync;
  readonly store: OwnershipStore;
  readonly region: string;
}
let settings: Settings | undefined;

/** The member accounts' clients through their inventory role, made once per account and kept for the container's life. */
function settingsOf(environment: NodeJS.ProcessEnv): Settings {
  if (settings) return settings;
  const required = (name: string) => requiredSetting(environment, name);
  const region = required("AWS_REGION");
  const clients = new Map<string, MemberClients>();
  const clientsOf = (accountId: string, memberRegion: string): MemberClients => {
    const key = `${accountId}/${memberRegion}`;
    let member = clients.get(key);
    if (!member) {
      const credentials = fromTemporaryCredentials({
        params: {
          RoleArn: `arn:${required("PARTITION")}:iam::${accountId}:role/${required("MEMBER_ROLE_NAME")}`,
          RoleSessionName: "flowtap-flow-insights-inventory",
          ExternalId: required("EXTERNAL_ID"),
        },
      });
      member = {
        ec2: new EC2Client({ region: memberRegion, credentials, maxAttempts: 1 }),
        tagging: new ResourceGroupsTaggingAPIClient({ region: memberRegion, credentials, maxAttempts: 1 }),
      };
      clients.set(key, member);
    }
    return member;
  };
  const store = OwnershipStore.fromEnvironment(dynamo, environment);
  settings = { sync: new InventorySync(store, clientsOf), store, region };
  return settings;
}

/**
 * Keeps the flow-insights inventory: ENI calls, tag changes and instance state changes forwarded
 * from member accounts, and the scheduled full refresh. A failure is thrown, so that EventBridge
 * retries the event and, in the end, leaves it in the function's failure queue.
 */
export const handler = async (event: unknown): Promise<{ recorded: number } | undefined> => {
  const { change, ignored } = inventoryChangeOf(event);
  if (!change) {
    logger.warn("ignored event", { reason: ignored });
    metrics.addMetric("IgnoredEvents", MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    return undefined;
  }
  const { sync, store, region } = settingsOf(process.env);
  const accounts = await store.memberAccounts();
  if (change.kind !== "refresh" && !accounts.includes(change.accountId)) {
    logger.warn("ignored event from an account outside the rollout", { accountId: change.accountId });
    return undefined;
  }
  const recorded = await sync.apply(change, accounts, region);
  logger.info("inventory updated", { change: change.kind, recorded });
  metrics.addMetric(change.kind === "security-group" ? "SecurityGroupsRecorded" : "InterfacesRecorded", MetricUnit.Count, recorded);
  metrics.publishStoredMetrics();
  return { recorded };
};
