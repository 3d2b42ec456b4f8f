import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";

/** A SQL string literal. */
export const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;

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

/** Converts enriched JSONL to Parquet with DuckDB (an empty input still gets the schema of no rows). */
export function copyJsonlToParquet(jsonlPath: string, parquetPath: string, rows: number): Promise<void> {
  const select =
    rows > 0 ? `SELECT * FROM read_json_auto(${sqlString(jsonlPath)}, format = 'newline_delimited', sample_size = -1)` : "SELECT NULL::VARCHAR AS InterfaceId WHERE false";
  return withDuckDb(async (connection) => {
    await connection.run(`COPY (${select}) TO ${sqlString(parquetPath)} (FORMAT parquet, COMPRESSION zstd)`);
  });
}
