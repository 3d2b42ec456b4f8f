import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { duckDbRecordType } from "../functions/lib/flowlogs/schema";

/** A SQL string literal. */
export const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** A SQL list of string literals (`['a', 'b']`), as DuckDB's file readers take several files. */
export const sqlList = (texts: readonly string[]) => `[${texts.map(sqlString).join(", ")}]`;

/** An enriched record's JSON (the SQL expression `json`) read into duckDbRecordType(): by exact field name, absent fields null. */
export const recordOfJson = (json: string) => `json_transform(${json}, ${sqlString(JSON.stringify(duckDbRecordType()))})`;

/** Runs `work` on a connection to a fresh in-memory DuckDB, closed afterwards whatever happens. */
export async function withDuckDb<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    return await work(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Converts enriched JSONL to Parquet with the enriched record's columns and types (schema.ts, as
 * the Glue tables have them), whatever the records hold: absent fields are null columns, tags a map.
 */
export function copyJsonlToParquet(jsonlPath: string, parquetPath: string): Promise<void> {
  const records = `SELECT ${recordOfJson("json")} AS record FROM read_json_objects(${sqlString(jsonlPath)}, format = 'newline_delimited')`;
  return withDuckDb(async (connection) => {
    await connection.run(`COPY (SELECT unnest(record) FROM (${records})) TO ${sqlString(parquetPath)} (FORMAT parquet, COMPRESSION zstd)`);
  });
}
