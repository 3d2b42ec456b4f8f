import { AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand, type QueryExecutionState } from "@aws-sdk/client-athena";
import { withRetry } from "../functions/lib/retry";

export interface AthenaQuery {
  readonly sql: string;
  /** The values of the query's `?`, in order, as SQL literals. */
  readonly parameters: readonly string[];
  readonly workgroup: string;
  readonly database: string;
}

export interface AthenaPolling {
  /** The first wait between two looks at the query's state, in ms; each later one is half as long again. @default 250 */
  readonly firstDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
}

/** A query's result: its columns, and its rows with Athena's text for each value (null for NULL). */
export interface AthenaResult {
  readonly queryExecutionId: string;
  readonly columns: string[];
  readonly rows: Record<string, string | null>[];
  readonly bytesScanned?: number;
}

const DONE: ReadonlySet<QueryExecutionState | undefined> = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

/**
 * Runs a query in an Athena workgroup and reads its whole result: StartQueryExecution, then
 * GetQueryExecution until the query is done (waits growing to `maxDelayMs`), then every page of
 * GetQueryResults. Throttling and transient errors are retried with backoff; a failed or
 * cancelled query throws with Athena's reason.
 */
export async function runAthenaQuery(client: AthenaClient, query: AthenaQuery, polling: AthenaPolling = {}): Promise<AthenaResult> {
  const started = await withRetry(() =>
    client.send(
      new StartQueryExecutionCommand({
        QueryString: query.sql,
        WorkGroup: query.workgroup,
        QueryExecutionContext: { Database: query.database },
        ExecutionParameters: query.parameters.length > 0 ? [...query.parameters] : undefined,
      }),
    ),
  );
  const id = started.QueryExecutionId;
  if (!id) throw new Error("Athena started no query (StartQueryExecution answered no QueryExecutionId)");

  let delay = polling.firstDelayMs ?? 250;
  const maxDelay = polling.maxDelayMs ?? 5000;
  for (;;) {
    const { QueryExecution: execution } = await withRetry(() => client.send(new GetQueryExecutionCommand({ QueryExecutionId: id })));
    const state = execution?.Status?.State;
    if (state === "SUCCEEDED") {
      const result = await readResults(client, id);
      return { ...result, bytesScanned: execution?.Statistics?.DataScannedInBytes };
    }
    if (DONE.has(state)) throw new Error(`Athena query ${id} ${state?.toLowerCase()}: ${execution?.Status?.StateChangeReason ?? "no reason given"}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(maxDelay, Math.round(delay * 1.5));
  }
}

/** Every page of a finished query's result; a SELECT's first row (on the first page) repeats the column names. */
async function readResults(client: AthenaClient, id: string): Promise<Omit<AthenaResult, "bytesScanned">> {
  let columns: string[] | undefined;
  const rows: Record<string, string | null>[] = [];
  let nextToken: string | undefined;
  let first = true;
  do {
    const page = await withRetry(() => client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: nextToken })));
    columns ??= (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? "");
    for (const [i, pageRow] of (page.ResultSet?.Rows ?? []).entries()) {
      const row = (pageRow.Data ?? []).map((d) => d.VarCharValue ?? null);
      if (first && i === 0 && row.every((value, c) => value === columns![c])) continue;
      rows.push(Object.fromEntries(columns.map((c, ci) => [c, row[ci] ?? null])));
    }
    first = false;
    nextToken = page.NextToken;
  } while (nextToken);
  return { queryExecutionId: id, columns: columns ?? [], rows };
}
