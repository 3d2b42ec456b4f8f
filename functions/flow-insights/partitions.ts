import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { GetTableCommand, GlueClient, UpdateTableCommand, type Table, type TableInput } from "@aws-sdk/client-glue";
import type { S3Event } from "aws-lambda";
import { requiredSetting } from "../lib/environment";
import { PROJECTED_ACCOUNTS } from "../lib/flowlogs/schema";
import { awsErrorCode, withRetry } from "../lib/retry";

// Created once per container. Retries are ours (withRetry), so the SDK makes one attempt.
const glue = new GlueClient({ maxAttempts: 1 });
const logger = new Logger();
const metrics = new Metrics();

/** Reads and writes of the table before giving up, when others change it at the same time. */
const ATTEMPTS = 5;
/**
 * Accounts this container saw projected: most objects are of accounts the table has, and each
 * notification would otherwise cost a GetTable. Only this function changes the list after it is made.
 */
const projectedAccounts = new Set<string>();

/** Forgets the accounts seen projected, as a new container would (for tests). */
export function forgetProjectedAccounts(): void {
  projectedAccounts.clear();
}

/** The account ids under `dataPrefix` that the objects of an S3 event are in (`<prefix>account_id=<id>/…`). */
export function accountsOf(event: S3Event, dataPrefix: string): Set<string> {
  const accounts = new Set<string>();
  for (const record of event.Records ?? []) {
    // S3 event keys are URL-encoded, spaces as '+'.
    const key = decodeURIComponent((record.s3?.object?.key ?? "").replace(/\+/g, " "));
    const match = key.startsWith(dataPrefix) ? /^account_id=(\d{12}|unknown)\//.exec(key.slice(dataPrefix.length)) : null;
    if (match) accounts.add(match[1]);
  }
  return accounts;
}

/** A table as UpdateTable takes it: what GetTable answered, less what only Glue writes, with `parameters`. */
function tableInputOf(table: Table, parameters: Record<string, string>): TableInput {
  return {
    Name: table.Name,
    Description: table.Description,
    Owner: table.Owner,
    Retention: table.Retention,
    StorageDescriptor: table.StorageDescriptor,
    PartitionKeys: table.PartitionKeys,
    TableType: table.TableType,
    Parameters: parameters,
  };
}

/**
 * Adds the accounts whose first objects just landed to the table's partition projection, so that
 * a new member account's flows are in Athena's answers as soon as they are delivered, without a
 * new synth or apply of the central stack (which lists only the accounts of its time). The table
 * is written with the version it was read at: when something else changed it meanwhile, it is read
 * again. An event that names no new account writes nothing, and, once the container has seen its
 * accounts projected, reads nothing either.
 */
export const handler = async (event: S3Event): Promise<{ added: string[] }> => {
  const databaseName = requiredSetting(process.env, "DATABASE_NAME");
  const tableName = requiredSetting(process.env, "TABLE_NAME");
  const seen = accountsOf(event, requiredSetting(process.env, "DATA_PREFIX"));
  if ([...seen].every((account) => projectedAccounts.has(account))) return { added: [] };
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const { Table: table } = await withRetry(() => glue.send(new GetTableCommand({ DatabaseName: databaseName, Name: tableName })));
    if (!table) throw new Error(`GetTable answered no table for ${databaseName}.${tableName}`);
    const projected = (table.Parameters?.[PROJECTED_ACCOUNTS] ?? "").split(",").filter(Boolean);
    for (const account of projected) projectedAccounts.add(account);
    const added = [...seen].filter((account) => !projected.includes(account)).sort();
    if (added.length === 0) return { added };
    try {
      const parameters = { ...table.Parameters, [PROJECTED_ACCOUNTS]: [...projected, ...added].join(",") };
      await withRetry(() => glue.send(new UpdateTableCommand({ DatabaseName: databaseName, TableInput: tableInputOf(table, parameters), VersionId: table.VersionId })));
      for (const account of added) projectedAccounts.add(account);
      logger.info("accounts added to the table's partition projection", { table: `${databaseName}.${tableName}`, added });
      metrics.addMetric("AccountsAdded", MetricUnit.Count, added.length);
      metrics.publishStoredMetrics();
      return { added };
    } catch (err) {
      if (awsErrorCode(err) !== "ConcurrentModificationException") throw err;
      logger.warn("the table changed while it was being written; reading it again", { attempt });
    }
  }
  throw new Error(`${databaseName}.${tableName} changed under each of ${ATTEMPTS} attempts to add accounts to it`);
};
