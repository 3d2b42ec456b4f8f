import type { SecurityGroup } from "@aws-sdk/client-ec2";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { requiredSetting } from "../environment";
import { withRetry } from "../retry";
import { holderWhereLogged, type Holder, type LoggedAt } from "./inventory";
import { isPrivateAddress } from "./ip-ranges";

/**
 * The organization's inventory over time, in one DynamoDB table (keys `pk`, `sk`): which ENI held
 * which address from when to when, so that a flow is attributed to what held its addresses *at
 * the flow's time*, however late its record arrives.
 *
 * - `addr#<address>` / `<from>#<eni>`: one ownership: `from` and, once it ended, `to` (epoch ms),
 *   the holder as enrichment shows it, its VPC and account. Ended ownerships expire after the
 *   retention (`expiresAt`, the table's TTL attribute).
 * - `eni#<eni>` / `state`: an ENI as last seen: its holder, the addresses it holds with the time
 *   each ownership began, when it was seen, and a version for optimistic locking; once released,
 *   a tombstone holding nothing, kept for the retention.
 * - `account#<account>#<region>` / `eni#<eni>`: the ENIs an account has in a region, so that a full
 *   refresh finds the ENIs that went away unannounced.
 * - `sg#<group>` / `state`: a security group's rules, as DescribeSecurityGroups gives them.
 * - `config#accounts` / `list`: the member accounts of the table's region (written by Terraform).
 */
export interface OwnershipStoreOptions {
  readonly tableName: string;
  /** Days an ended ownership is kept. */
  readonly retentionDays: number;
}

/** A store's settings as a function's environment carries them: what the flow-insights module sets and the handlers read. */
export function ownershipStoreEnvironment(options: OwnershipStoreOptions): Record<string, string> {
  return { TABLE_NAME: options.tableName, RETENTION_DAYS: String(options.retentionDays) };
}

/** One ownership of an address, as resolve() finds it. */
export interface Ownership {
  readonly holder: Holder;
  readonly from: number;
  readonly to?: number;
}

interface EniState {
  readonly holder: Holder;
  /** Address to the start of its ownership (epoch ms). */
  readonly holdings: Record<string, number>;
  readonly seenAt: number;
  readonly version: number;
  readonly accountId: string;
  readonly region: string;
  readonly instanceId?: string;
}

/** The item listing the member accounts whose inventory the table keeps. */
export const MEMBER_ACCOUNTS_KEY = { pk: "config#accounts", sk: "list" } as const;

/** Sort keys order by time: milliseconds, zero-padded. */
const timeKey = (ms: number) => String(ms).padStart(15, "0");
const addressKey = (address: string) => `addr#${address}`;
const eniKey = (eniId: string) => `eni#${eniId}`;
const accountKey = (accountId: string, region: string) => `account#${accountId}#${region}`;
/** Optimistic-locking retries when two invocations change one ENI at once. */
const CONFLICT_RETRIES = 5;

function isConditionalCheckFailed(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { name?: string }).name === "ConditionalCheckFailedException";
}

export class OwnershipStore {
  private readonly doc: DynamoDBDocumentClient;

  /** A store over `client`: optional holder fields are left out of items rather than written as NULL. */
  constructor(
    client: DynamoDBClient,
    private readonly options: OwnershipStoreOptions,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** The store a function's environment names (see ownershipStoreEnvironment). */
  static fromEnvironment(client: DynamoDBClient, environment: NodeJS.ProcessEnv): OwnershipStore {
    return new OwnershipStore(client, { tableName: requiredSetting(environment, "TABLE_NAME"), retentionDays: Number(requiredSetting(environment, "RETENTION_DAYS")) });
  }

  private expiresAt(endedAt: number): number {
    return Math.floor(endedAt / 1000) + this.options.retentionDays * 86_400;
  }

  private async state(eniId: string): Promise<EniState | undefined> {
    const item = await withRetry(() => this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: eniKey(eniId), sk: "state" }, ConsistentRead: true })));
    return item.Item as EniState | undefined;
  }

  /**
   * Records an ENI as seen at `at`: addresses it newly holds begin an ownership, addresses it no
   * longer holds end theirs, and what it says of its resource (tags, groups) is updated. A sighting
   * older than the last one changes nothing (events arrive out of order).
   */
  async observe(holder: Holder, addresses: readonly string[], context: { accountId: string; region: string; instanceId?: string }, at: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const previous = await this.state(holder.interfaceId);
      if (previous && previous.seenAt > at) return;
      const holdings: Record<string, number> = {};
      for (const address of addresses) holdings[address] = previous?.holdings[address] ?? at;
      const ended = Object.entries(previous?.holdings ?? {}).filter(([address]) => !(address in holdings));
      try {
        await this.writeState({ holder, holdings, seenAt: at, version: (previous?.version ?? 0) + 1, ...context }, previous?.version);
      } catch (err) {
        if (isConditionalCheckFailed(err) && attempt < CONFLICT_RETRIES) continue;
        throw err;
      }
      for (const [address, from] of ended) await this.endOwnership(address, from, holder.interfaceId, at);
      for (const [address, from] of Object.entries(holdings)) await this.putOwnership(address, from, holder);
      await withRetry(() =>
        this.doc.send(new PutCommand({ TableName: this.options.tableName, Item: { pk: accountKey(context.accountId, context.region), sk: eniKey(holder.interfaceId), instanceId: context.instanceId } })),
      );
      return;
    }
  }

  /** Records an ENI as gone at `at`: every ownership it had ends. Unknown ENIs are no-ops (a redelivered event). */
  async release(eniId: string, at: number): Promise<void> {
    const previous = await this.state(eniId);
    if (!previous || previous.seenAt > at) return;
    for (const [address, from] of Object.entries(previous.holdings)) await this.endOwnership(address, from, eniId, at);
    // A tombstone, not a deletion: a sighting from before the release that arrives after it must not bring the ENI back.
    await withRetry(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { pk: eniKey(eniId), sk: "state", ...previous, holdings: {}, seenAt: at, version: previous.version + 1, expiresAt: this.expiresAt(at) },
        }),
      ),
    );
    await withRetry(() => this.doc.send(new DeleteCommand({ TableName: this.options.tableName, Key: { pk: accountKey(previous.accountId, previous.region), sk: eniKey(eniId) } })));
  }

  /** The ENIs the store believes an account has in a region, with the instance each is attached to. */
  async enisOf(accountId: string, region: string): Promise<{ eniId: string; instanceId?: string }[]> {
    const enis: { eniId: string; instanceId?: string }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await withRetry(() =>
        this.doc.send(new QueryCommand({ TableName: this.options.tableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": accountKey(accountId, region) }, ExclusiveStartKey: start })),
      );
      for (const item of page.Items ?? []) enis.push({ eniId: String(item.sk).slice("eni#".length), instanceId: item.instanceId as string | undefined });
      start = page.LastEvaluatedKey;
    } while (start);
    return enis;
  }

  /** The member accounts whose inventory this table keeps. */
  async memberAccounts(): Promise<string[]> {
    const item = await withRetry(() => this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: MEMBER_ACCOUNTS_KEY })));
    const accounts = item.Item?.accounts as Set<string> | string[] | undefined;
    return accounts ? [...accounts].sort() : [];
  }

  /** Keeps a security group's rules, for the rules enrichment shows. */
  async putSecurityGroup(group: SecurityGroup): Promise<void> {
    if (!group.GroupId) return;
    await withRetry(() => this.doc.send(new PutCommand({ TableName: this.options.tableName, Item: { pk: `sg#${group.GroupId}`, sk: "state", group } })));
  }

  async securityGroup(groupId: string): Promise<SecurityGroup | undefined> {
    const item = await withRetry(() => this.doc.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: `sg#${groupId}`, sk: "state" } })));
    return item.Item?.group as SecurityGroup | undefined;
  }

  /** Every ownership an address has had that began by `at`, latest first. */
  async ownerships(address: string, at: number): Promise<Ownership[]> {
    const ownerships: Ownership[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await withRetry(() =>
        this.doc.send(
          new QueryCommand({
            TableName: this.options.tableName,
            KeyConditionExpression: "pk = :pk AND sk <= :at",
            ExpressionAttributeValues: { ":pk": addressKey(address), ":at": `${timeKey(at)}#~` },
            ScanIndexForward: false,
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) ownerships.push({ holder: item.holder as Holder, from: item.from as number, ...(item.to !== undefined ? { to: item.to as number } : {}) });
      start = page.LastEvaluatedKey;
    } while (start);
    return ownerships;
  }

  private async writeState(state: EniState, expectedVersion: number | undefined): Promise<void> {
    await withRetry(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { pk: eniKey(state.holder.interfaceId), sk: "state", ...state },
          ...(expectedVersion === undefined
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : { ConditionExpression: "version = :version", ExpressionAttributeValues: { ":version": expectedVersion } }),
        }),
      ),
    );
  }

  private async putOwnership(address: string, from: number, holder: Holder): Promise<void> {
    await withRetry(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: addressKey(address), sk: `${timeKey(from)}#${holder.interfaceId}` },
          // The holder's description is refreshed; an ownership that ended stays ended.
          UpdateExpression: "SET #from = :from, holder = :holder, vpcId = :vpc, accountId = :account",
          ExpressionAttributeNames: { "#from": "from" },
          ExpressionAttributeValues: { ":from": from, ":holder": holder, ":vpc": holder.vpcId ?? "", ":account": holder.accountId ?? "" },
        }),
      ),
    );
  }

  private async endOwnership(address: string, from: number, eniId: string, at: number): Promise<void> {
    await withRetry(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: addressKey(address), sk: `${timeKey(from)}#${eniId}` },
          UpdateExpression: "SET #to = :to, expiresAt = :expires",
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(#to)",
          ExpressionAttributeNames: { "#to": "to" },
          ExpressionAttributeValues: { ":to": at, ":expires": this.expiresAt(at) },
        }),
      ),
    ).catch((err: unknown) => {
      // Already ended (a redelivered event), or never recorded: nothing to end.
      if (!isConditionalCheckFailed(err)) throw err;
    });
  }
}

/**
 * The holder of `address` at a time, among its ownerships: of those that began by then and had
 * not ended, the one where the flow was logged (holderWhereLogged: the rule the CLI and the
 * Firehose function resolve by). One ENI holds an address at a time (a private one, one ENI in
 * each VPC): where another's claim began while an earlier one had not been seen to end (the
 * address was reassigned), the later one holds it.
 */
export function holderAt(address: string, ownerships: readonly Ownership[], at: number, logged: LoggedAt): Holder | undefined {
  const live = ownerships.filter((o) => o.from <= at && (o.to === undefined || o.to > at));
  if (live.length <= 1) return live[0]?.holder;
  const scoped = isPrivateAddress(address);
  const latest = new Map<string | undefined, Ownership>();
  for (const o of live) {
    const scope = scoped ? (o.holder.vpcId ?? o.holder.interfaceId) : undefined;
    const held = latest.get(scope);
    if (!held || o.from > held.from) latest.set(scope, o);
  }
  return holderWhereLogged([...latest.values()].map((o) => o.holder), logged);
}
