import { statSync } from "node:fs";
import { Readable } from "node:stream";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { isFlowLogField, type FlowLogField } from "../functions/lib/flowlogs/fields";
import type { ReaderPartition } from "../functions/lib/flowlogs/input";
import { sqlString } from "./duckdb";

/** A column's name as an SQL identifier. */
const identifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The field a Parquet column holds: VPC Flow Logs name them as the format does, `_` for `-` (`account_id`). */
function fieldOf(column: string): FlowLogField | undefined {
  const name = column.replace(/_/g, "-");
  return isFlowLogField(name) ? name : undefined;
}

/**
 * The SQL condition that a row belongs to `partition`: a hash of its ENI and its two ends in
 * either order (an end is its `pkt-` address when it has one), so that both directions of a flow
 * fall in one partition, as FlowLogReader's partitions of text keep them.
 */
function partitionCondition(columns: readonly { field: FlowLogField; name: string }[], partition: ReaderPartition): string {
  const column = (...fields: FlowLogField[]) => {
    const names = fields.flatMap((f) => columns.filter((c) => c.field === f).map((c) => identifier(c.name)));
    return names.length === 0 ? "NULL" : names.length === 1 ? names[0] : `coalesce(${names.join(", ")})`;
  };
  const source = column("pkt-srcaddr", "srcaddr");
  const destination = column("pkt-dstaddr", "dstaddr");
  return `hash(${column("interface-id")}, least(${source}, ${destination}), greatest(${source}, ${destination})) % ${partition.count} = ${partition.index}`;
}

/**
 * The DuckDB instance of this thread for every Parquet file it reads, made on first use and kept
 * for the thread's life: making one takes about 10 ms, more than reading a small file does.
 */
let threadInstance: Promise<DuckDBInstance> | undefined;

/** A connection to this thread's DuckDB instance. */
async function threadConnection(): Promise<DuckDBConnection> {
  return (await (threadInstance ??= DuckDBInstance.create(":memory:"))).connect();
}

/** The rows of Parquet `files` in all, from their footers. */
export async function parquetRows(files: readonly string[]): Promise<number> {
  const connection = await threadConnection();
  try {
    const result = await connection.runAndReadAll(`SELECT sum(num_rows) AS n FROM parquet_file_metadata([${files.map(sqlString).join(", ")}])`);
    return Number(result.getRowObjectsJson()[0].n);
  } finally {
    connection.closeSync();
  }
}

/**
 * The records of a Parquet flow log file (what S3 delivery writes with `FileFormat=parquet`) as
 * the text S3 delivery writes otherwise: a header line naming the fields its columns hold, then one
 * line per row, `-` for a null, read by DuckDB a chunk of rows at a time. Columns that are no flow
 * log field are left out; a file with none fails the run, naming its columns. `read` is told the
 * share of the file's size each chunk of rows stands for (the progress bar counts file bytes).
 *
 * With a partition, only its rows are turned into text (by far the greater cost), each still on its
 * own line number: the other rows' lines are left blank.
 */
export function parquetFlowLogText(file: string, read?: (bytes: number) => void, partition?: ReaderPartition): Readable {
  return Readable.from(parquetLines(file, read, partition), { objectMode: false });
}

async function* parquetLines(file: string, read?: (bytes: number) => void, partition?: ReaderPartition): AsyncGenerator<Buffer> {
  const connection = await threadConnection();
  try {
    const source = `read_parquet(${sqlString(file)}, hive_partitioning = false, file_row_number = true)`;
    const described = (await connection.runAndReadAll(`DESCRIBE SELECT * EXCLUDE (file_row_number) FROM ${source}`)).getRowObjectsJson();
    const columns = described.flatMap((c) => {
      const field = fieldOf(String(c.column_name));
      return field ? [{ field, name: String(c.column_name) }] : [];
    });
    if (columns.length === 0) throw new Error(`${file}: Parquet with no VPC flow log column (its columns: ${described.map((c) => c.column_name).join(", ")})`);
    const text = columns.map(({ name }) => `coalesce(CAST(${identifier(name)} AS VARCHAR), '-')`);
    const rows = await parquetRows([file]);
    yield Buffer.from(`${columns.map((c) => c.field).join(" ")}\n`);

    const size = statSync(file).size;
    // The row the next line stands for, and the bytes of the file told as read.
    let nextRow = 0;
    let bytesTold = 0;
    const where = partition ? `WHERE ${partitionCondition(columns, partition)}` : "";
    const result = await connection.stream(`SELECT CAST(file_row_number AS DOUBLE), concat_ws(' ', ${text.join(", ")}) FROM ${source} ${where}`);
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      const rowNumbers = chunk.getColumnValues(0) as number[];
      const lines = chunk.getColumnValues(1) as string[];
      let chunkText = "";
      for (let i = 0; i < lines.length; i++) {
        const row = rowNumbers[i];
        if (row > nextRow) chunkText += "\n".repeat(row - nextRow);
        chunkText += `${lines[i]}\n`;
        nextRow = row + 1;
      }
      yield Buffer.from(chunkText);
      const bytes = Math.round((size * nextRow) / rows);
      read?.(bytes - bytesTold);
      bytesTold = bytes;
    }
    if (bytesTold < size) read?.(size - bytesTold);
  } finally {
    connection.closeSync();
  }
}
