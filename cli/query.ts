import Table from "cli-table3";
import { DUCKDB, duckDbFlowsView, NAMED_QUERIES } from "../functions/lib/flowlogs/queries";
import { duckDbRecordType } from "../functions/lib/flowlogs/schema";
import { recordOfJson, sqlList, withDuckDb } from "./duckdb";
import { fileKind, inputFiles, type FileKind } from "./input-paths";

export interface QueryOptions {
  readonly name?: string;
  readonly sql?: string;
  readonly list: boolean;
  readonly json: boolean;
  readonly parameters: Readonly<Record<string, string>>;
  /** Files of enriched records, and directories standing for every file beneath them. */
  readonly files: readonly string[];
}

/**
 * A view `flows` over enriched records in JSONL (plain or gzip'd) and Parquet files, with the same
 * columns whatever each file holds: Parquet by field name in any case (flowtap enrich writes the
 * record's names, the flow-insights Firehose the Glue table's lower-case ones), JSON by exact name.
 */
function flowsView(files: readonly string[]): string {
  const byKind = new Map<FileKind, string[]>();
  for (const file of files) {
    const kind = fileKind(file);
    const ofKind = byKind.get(kind);
    if (ofKind) ofKind.push(file);
    else byKind.set(kind, [file]);
  }
  const relations = [...byKind].map(([kind, ofKind]) => {
    const list = sqlList(ofKind);
    return kind === "parquet"
      ? `SELECT p::${duckDbRecordType()} AS record FROM read_parquet(${list}, union_by_name = true, hive_partitioning = false) p`
      : `SELECT ${recordOfJson("json")} AS record FROM read_json_objects(${list}, format = 'newline_delimited', compression = '${kind === "gzip" ? "gzip" : "uncompressed"}')`;
  });
  return duckDbFlowsView(relations.join(" UNION ALL "));
}

/** `flowtap query`: runs a named query (or `--sql`) with DuckDB over enriched records. */
export async function runQuery(options: QueryOptions, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  if (options.list) {
    for (const q of NAMED_QUERIES) {
      const params = Object.entries(q.parameters).map(([k, v]) => ` --param ${k}=… (${v})`).join("");
      io.stdout.write(`${q.name}${params}\n  ${q.description}\n`);
    }
    return 0;
  }
  const named = options.name ? NAMED_QUERIES.find((q) => q.name === options.name) : undefined;
  if (options.name && !named) {
    io.stderr.write(`flowtap query: no query named ${options.name}; flowtap query --list names them\n`);
    return 2;
  }
  const sql = named?.sql(DUCKDB) ?? options.sql;
  if (!sql) {
    io.stderr.write("flowtap query: name a query (see --list) or give --sql\n");
    return 2;
  }
  if (options.files.length === 0) {
    io.stderr.write("flowtap query: give the enriched files (JSONL or Parquet) to query\n");
    return 2;
  }
  const files = inputFiles(options.files);
  if (!files.ok) {
    io.stderr.write(`flowtap query: ${files.reason}\n`);
    return 2;
  }
  const missing = Object.keys(named?.parameters ?? {}).filter((p) => options.parameters[p] === undefined);
  if (missing.length > 0) {
    io.stderr.write(`flowtap query: ${named!.name} needs ${missing.map((p) => `--param ${p}=…`).join(", ")}\n`);
    return 2;
  }
  try {
    return await withDuckDb(async (connection) => {
      await connection.run(flowsView(files.files));
      const used = Object.fromEntries(Object.entries(options.parameters).filter(([k]) => sql.includes(`$${k}`)));
      const reader = await connection.runAndReadAll(sql, used);
      const rows = reader.getRowObjectsJson();
      if (options.json) {
        for (const row of rows) io.stdout.write(`${JSON.stringify(row)}\n`);
      } else {
        const columns = reader.columnNames();
        const table = new Table({ head: columns, style: { head: [], border: [] } });
        for (const row of rows) table.push(columns.map((c) => (row[c] === null ? "" : String(row[c]))));
        io.stdout.write(`${table.toString()}\n${rows.length} row(s)\n`);
      }
      return 0;
    });
  } catch (err) {
    io.stderr.write(`flowtap query: ${(err as Error).message}\n`);
    return 1;
  }
}
