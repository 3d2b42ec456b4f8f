import { DuckDBInstance } from "@duckdb/node-api";

const quote = (path: string) => `'${path.replace(/'/g, "''")}'`;

/** Converts enriched JSONL to Parquet with DuckDB (an empty input still gets the schema of no rows). */
export async function copyJsonlToParquet(jsonlPath: string, parquetPath: string, rows: number): Promise<void> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const select = rows > 0 ? `SELECT * FROM read_json_auto(${quote(jsonlPath)}, format = 'newline_delimited', sample_size = -1)` : "SELECT NULL::VARCHAR AS InterfaceId WHERE false";
    await connection.run(`COPY (${select}) TO ${quote(parquetPath)} (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
