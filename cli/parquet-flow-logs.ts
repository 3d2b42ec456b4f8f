import { statSync } from "node:fs";
import { Readable } from "node:stream";
import { DuckDBInstance, type DuckDBConnection, type DuckDBResult } from "@duckdb/node-api";
import { isFlowLogField, type FlowLogField } from "../functions/lib/flowlogs/fields";
import type { ReaderPartition } from "../functions/lib/flowlogs/input";
import { sqlList } from "./duckdb";

/** A column's name as an SQL identifier. */
const identifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The field a Parquet column holds: VPC Flow Logs name them as the format does, `_` for `-` (`account_id`). */
function fieldOf(column: string): FlowLogField | undefined {
  const name = column.replace(/_/g, "-");
  return isFlowLogField(name) ? name : undefined;
}

/**
 * The SQL condition that a row belongs to `partition`: a hash of its ENI and its two ends (address
 * and port) in either order (an end's address is its `pkt-` address when it has one), so that both
 * directions of a flow fall in one partition, as FlowLogReader's partitions of text keep them.
 */
function partitionCondition(columns: readonly FlowLogColumn[], partition: ReaderPartition): string {
  const column = (...fields: FlowLogField[]) => {
    const names = fields.flatMap((f) => columns.filter((c) => c.field === f).map((c) => identifier(c.name)));
    return names.length === 0 ? "NULL" : names.length === 1 ? names[0] : `coalesce(${names.join(", ")})`;
  };
  // The ends' hashes are combined by xor, which is the same in either order.
  const ends = `xor(hash(${column("pkt-srcaddr", "srcaddr")}, ${column("srcport")}), hash(${column("pkt-dstaddr", "dstaddr")}, ${column("dstport")}))`;
  return `hash(${column("interface-id")}, ${ends}) % ${partition.count} = ${partition.index}`;
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

/** The rows of each of Parquet `files`, from their footers. */
async function rowsPerFile(connection: DuckDBConnection, files: readonly string[]): Promise<number[]> {
  const result = await connection.runAndReadAll(`SELECT file_name, num_rows FROM parquet_file_metadata(${sqlList(files)})`);
  const rows = new Map(result.getRowObjectsJson().map((r) => [String(r.file_name), Number(r.num_rows)]));
  return files.map((file) => rows.get(file)!);
}

/** The rows of Parquet `files` in all. */
export async function parquetRows(files: readonly string[]): Promise<number> {
  const connection = await threadConnection();
  try {
    return (await rowsPerFile(connection, files)).reduce((sum, rows) => sum + rows, 0);
  } finally {
    connection.closeSync();
  }
}

/** Files one query reads at most: its SQL names each. */
const FILES_PER_QUERY = 1000;

/** A flow log column of a Parquet file: the field it holds and its name there. */
interface FlowLogColumn {
  readonly field: FlowLogField;
  readonly name: string;
}

const samePartition = (a: ReaderPartition | undefined, b: ReaderPartition | undefined) => a?.index === b?.index && a?.count === b?.count;

/** What DuckDB hands back a chunk at a time: the file (its place in the query's list), row number and text of each row. */
interface RowChunk {
  readonly files: readonly number[];
  readonly rows: readonly number[];
  readonly lines: readonly string[];
}

/**
 * Files read by one DuckDB query (a query a file cost 6-10 ms, more than reading a small file
 * does): its rows stream out file by file, in the order given.
 */
class ParquetQuery {
  /** Rows per file. */
  private rowCounts: number[] = [];
  private header = Buffer.alloc(0);
  private connection?: DuckDBConnection;
  private result?: DuckDBResult;
  private chunk?: RowChunk;
  /** The next row of `chunk` to hand out. */
  private position = 0;
  /** The file whose rows are handed out now. */
  private current = -1;
  private started?: Promise<void>;
  private partition?: ReaderPartition;

  constructor(readonly files: readonly string[]) {}

  /**
   * The lines of the `index`th of these files: the header line naming the fields of the columns
   * (those of every file read with it; a column a file lacks is `-` in its lines), then a line per
   * row, in place. Files are read in order, each to its end, all with the same partition.
   */
  async *lines(index: number, read: ((bytes: number) => void) | undefined, partition: ReaderPartition | undefined): AsyncGenerator<Buffer> {
    const file = this.files[index];
    if (index !== this.current + 1) throw new Error(`${file}: Parquet files read together are read in order: file ${index} was opened when file ${this.current + 1} was next`);
    if (this.started && !samePartition(this.partition, partition)) throw new Error(`${file}: Parquet files read together are read with one partition`);
    this.current = index;
    this.partition = partition;
    // The connection stays open for the next file unless this one was the last, failed or was left unfinished.
    let keepOpen = false;
    try {
      await (this.started ??= this.start(partition));
      yield this.header;
      const size = statSync(file).size;
      const rows = this.rowCounts[index];
      // The row the next line stands for, and the bytes of the file told as read.
      let nextRow = 0;
      let bytesTold = 0;
      for (let chunk = await this.nextChunk(); chunk && chunk.files[this.position] === index; chunk = await this.nextChunk()) {
        let text = "";
        let i = this.position;
        for (; i < chunk.files.length && chunk.files[i] === index; i++) {
          const row = chunk.rows[i];
          if (row > nextRow) text += "\n".repeat(row - nextRow);
          text += `${chunk.lines[i]}\n`;
          nextRow = row + 1;
        }
        this.position = i;
        yield Buffer.from(text);
        const bytes = Math.round((size * nextRow) / rows);
        read?.(bytes - bytesTold);
        bytesTold = bytes;
      }
      if (bytesTold < size) read?.(size - bytesTold);
      // What is left must be later files' rows: any other would be passed over.
      const next = this.chunk?.files[this.position];
      if (next !== undefined && next <= index) throw new Error(`${this.files[next]}: DuckDB returned rows of Parquet files out of their order`);
      keepOpen = index < this.files.length - 1;
    } finally {
      if (!keepOpen) this.close();
    }
  }

  /** The chunk holding the next row, fetched when the last one is spent; undefined when no row is left. */
  private async nextChunk(): Promise<RowChunk | undefined> {
    if (this.chunk && this.position < this.chunk.files.length) return this.chunk;
    const fetched = await this.result!.fetchChunk();
    if (!fetched || fetched.rowCount === 0) return (this.chunk = undefined);
    this.chunk = { files: fetched.getColumnValues(0) as number[], rows: fetched.getColumnValues(1) as number[], lines: fetched.getColumnValues(2) as string[] };
    this.position = 0;
    return this.chunk;
  }

  private async start(partition: ReaderPartition | undefined): Promise<void> {
    this.connection = await threadConnection();
    const list = sqlList(this.files);
    this.rowCounts = await rowsPerFile(this.connection, this.files);
    // Leaf columns only: a file's schema begins with its root.
    const schema = await this.connection.runAndReadAll(`SELECT file_name AS file, list(name ORDER BY column_id) AS names FROM parquet_schema(${list}) WHERE num_children IS NULL GROUP BY file_name`);
    const namesOf = new Map(schema.getRowObjectsJson().map(({ file, names }) => [String(file), (names as unknown[]).map(String)]));
    const columns: FlowLogColumn[] = [];
    for (const file of this.files) {
      const names = namesOf.get(file) ?? [];
      const own = names.flatMap((name) => {
        const field = fieldOf(name);
        return field ? [{ field, name }] : [];
      });
      if (own.length === 0) throw new Error(`${file}: Parquet with no VPC flow log column (its columns: ${names.join(", ")})`);
      for (const column of own) if (!columns.some((c) => c.name === column.name)) columns.push(column);
    }
    this.header = Buffer.from(`${columns.map((c) => c.field).join(" ")}\n`);
    const text = columns.map(({ name }) => `coalesce(CAST(${identifier(name)} AS VARCHAR), '-')`);
    const where = partition ? `WHERE ${partitionCondition(columns, partition)}` : "";
    // In the order of the files and of their rows: DuckDB keeps the order of what it reads (preserve_insertion_order).
    this.result = await this.connection.stream(
      `SELECT CAST(file_index AS INTEGER), CAST(file_row_number AS DOUBLE), concat_ws(' ', ${text.join(", ")})
       FROM read_parquet(${list}, hive_partitioning = false, union_by_name = true, file_row_number = true) ${where}`,
    );
  }

  private close(): void {
    this.connection?.closeSync();
    this.connection = undefined;
  }
}

/**
 * Parquet flow log files (what S3 delivery writes with `FileFormat=parquet`) as the text S3
 * delivery writes otherwise: a header line naming the fields the columns hold, then one line per
 * row, `-` for a null, read by DuckDB a chunk of rows at a time, many files to a query. Columns
 * that are no flow log field are left out; a file with none fails the run, naming its columns.
 *
 * With a partition, only its rows are turned into text (by far the greater cost), each still on its
 * own line number: the other rows' lines are left blank.
 */
export class ParquetFlowLogFiles {
  /** Per file, the query that reads it and its place among that query's files. */
  private readonly readers: { query: ParquetQuery; index: number }[] = [];

  /** `files` are read in this order, all with the same partition. */
  constructor(files: readonly string[]) {
    const groups: string[][] = [];
    for (const file of files) {
      const group = groups.at(-1);
      if (group && group.length < FILES_PER_QUERY) group.push(file);
      else groups.push([file]);
    }
    for (const group of groups) {
      const query = new ParquetQuery(group);
      group.forEach((_, index) => this.readers.push({ query, index }));
    }
  }

  /**
   * The text of the `index`th file. `read` is told the share of the file's size each chunk of
   * rows stands for (the progress bar counts file bytes).
   */
  text(index: number, read?: (bytes: number) => void, partition?: ReaderPartition): Readable {
    const { query, index: inQuery } = this.readers[index];
    return Readable.from(query.lines(inQuery, read, partition), { objectMode: false });
  }
}
