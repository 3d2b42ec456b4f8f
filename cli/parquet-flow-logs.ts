import { statSync } from "node:fs";
import { Readable } from "node:stream";
import { DuckDBInstance } from "@duckdb/node-api";
import { isFlowLogField, type FlowLogField } from "../functions/lib/flowlogs/fields";
import { sqlString } from "./duckdb";

/** A column's name as an SQL identifier. */
const identifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The field a Parquet column holds: VPC Flow Logs name them as the format does, `_` for `-` (`account_id`). */
function fieldOf(column: string): FlowLogField | undefined {
  const name = column.replace(/_/g, "-");
  return isFlowLogField(name) ? name : undefined;
}

/**
 * The records of a Parquet flow log file (what S3 delivery writes with `FileFormat=parquet`) as
 * the text S3 delivery writes otherwise: a header line naming the fields its columns hold, then one
 * line per row, `-` for a null, read by DuckDB a chunk of rows at a time. Columns that are no flow
 * log field are left out; a file with none fails the run, naming its columns. `read` is told the
 * share of the file's size each chunk of rows stands for (the progress bar counts file bytes).
 */
export function parquetFlowLogText(file: string, read?: (bytes: number) => void): Readable {
  return Readable.from(parquetLines(file, read), { objectMode: false });
}

async function* parquetLines(file: string, read?: (bytes: number) => void): AsyncGenerator<Buffer> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const source = `read_parquet(${sqlString(file)}, hive_partitioning = false)`;
    const described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjectsJson();
    const columns = described.flatMap((c) => {
      const field = fieldOf(String(c.column_name));
      return field ? [{ field, name: String(c.column_name) }] : [];
    });
    if (columns.length === 0) throw new Error(`${file}: Parquet with no VPC flow log column (its columns: ${described.map((c) => c.column_name).join(", ")})`);
    const text = columns.map(({ name }) => `coalesce(CAST(${identifier(name)} AS VARCHAR), '-')`);
    const rows = Number((await connection.runAndReadAll(`SELECT count(*) AS n FROM ${source}`)).getRowObjectsJson()[0].n);
    yield Buffer.from(`${columns.map((c) => c.field).join(" ")}\n`);

    const size = statSync(file).size;
    let rowsRead = 0;
    let bytesTold = 0;
    const result = await connection.stream(`SELECT concat_ws(' ', ${text.join(", ")}) FROM ${source}`);
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      const lines = chunk.getColumnValues(0) as string[];
      yield Buffer.from(`${lines.join("\n")}\n`);
      rowsRead += lines.length;
      const bytes = Math.round((size * rowsRead) / rows);
      read?.(bytes - bytesTold);
      bytesTold = bytes;
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
