import type { AthenaClient } from "@aws-sdk/client-athena";
import Table from "cli-table3";
import { athenaSql, DUCKDB, duckDbFlowsView, NAMED_QUERIES, RECENT_QUERIES, RECENT_TABLE } from "../functions/lib/flowlogs/queries";
import { duckDbRecordType } from "../functions/lib/flowlogs/schema";
import { runAthenaQuery } from "./athena";
import { recordOfJson, sqlList, sqlString, withDuckDb } from "./duckdb";
import { fileKind, inputFiles, type FileKind } from "./input-paths";

export interface QueryOptions {
  readonly name?: string;
  readonly sql?: string;
  readonly list: boolean;
  readonly json: boolean;
  readonly parameters: Readonly<Record<string, string>>;
  /** Files of enriched records, and directories standing for every file beneath them. */
  readonly files: readonly string[];
  /** Ask the recent store's questions, of `recent_flows` (files synced from the recent store's prefix, or Athena's table). @default false */
  readonly recent?: boolean;
  /** Over files: when "now" is, in seconds since the epoch, for the recent questions' last minutes. @default - the clock's now */
  readonly now?: number;
  /** Run in Athena, in this workgroup and database, instead of over files. @default - over files, with DuckDB */
  readonly athena?: { readonly client: AthenaClient; readonly workgroup: string; readonly database: string };
}

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

/**
 * A view `flows` over enriched records in JSONL (plain or gzip'd) and Parquet files, with the same
 * columns whatever each file holds: Parquet by field name in any case (flowtap enrich writes the
 * record's names, the flow-insights Firehose the Glue table's lower-case ones), JSON by exact name.
 */
function flowsView(files: readonly string[], name: "flows" | typeof RECENT_TABLE): string {
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
  return duckDbFlowsView(relations.join(" UNION ALL "), name);
}

/** Rows, as a table or as one JSON object a line. */
function writeRows(io: Io, json: boolean, columns: readonly string[], rows: readonly Record<string, unknown>[]) {
  if (json) {
    for (const row of rows) io.stdout.write(`${JSON.stringify(row)}\n`);
    return;
  }
  const table = new Table({ head: [...columns], style: { head: [], border: [] } });
  for (const row of rows) table.push(columns.map((c) => (row[c] === null || row[c] === undefined ? "" : String(row[c]))));
  io.stdout.write(`${table.toString()}\n${rows.length} row(s)\n`);
}

/**
 * `flowtap query`: runs a named query (or `--sql`) over enriched records, with DuckDB over files
 * or in Athena; `--recent` asks the recent store's questions.
 */
export async function runQuery(options: QueryOptions, io: Io): Promise<number> {
  const catalog = options.recent ? RECENT_QUERIES : NAMED_QUERIES;
  const command = options.recent ? "flowtap query --recent" : "flowtap query";
  if (options.list) {
    for (const q of catalog) {
      const params = Object.entries(q.parameters).map(([k, v]) => ` --param ${k}=… (${v})`).join("");
      io.stdout.write(`${q.name}${params}\n  ${q.description}\n`);
    }
    return 0;
  }
  const named = options.name ? catalog.find((q) => q.name === options.name) : undefined;
  if (options.name && !named) {
    io.stderr.write(`flowtap query: no query named ${options.name}; ${command} --list names them\n`);
    return 2;
  }
  if (!named && !options.sql) {
    io.stderr.write("flowtap query: name a query (see --list) or give --sql\n");
    return 2;
  }
  const missing = Object.keys(named?.parameters ?? {}).filter((p) => options.parameters[p] === undefined);
  if (missing.length > 0) {
    io.stderr.write(`flowtap query: ${named!.name} needs ${missing.map((p) => `--param ${p}=…`).join(", ")}\n`);
    return 2;
  }
  if (options.athena) {
    if (options.files.length > 0) {
      io.stderr.write("flowtap query: --athena queries the workgroup's tables; give no files with it\n");
      return 2;
    }
    const athena = named ? athenaSql(named) : { sql: options.sql!, parameters: [] };
    try {
      const result = await runAthenaQuery(options.athena.client, {
        sql: athena.sql,
        parameters: athena.parameters.map((p) => sqlString(options.parameters[p])),
        workgroup: options.athena.workgroup,
        database: options.athena.database,
      });
      writeRows(io, options.json, result.columns, result.rows);
      io.stderr.write(`Athena query ${result.queryExecutionId}${result.bytesScanned === undefined ? "" : `, ${result.bytesScanned} bytes scanned`}\n`);
      return 0;
    } catch (err) {
      io.stderr.write(`flowtap query: ${(err as Error).message}\n`);
      return 1;
    }
  }
  if (options.files.length === 0) {
    io.stderr.write("flowtap query: give the enriched files (JSONL or Parquet) to query, or --athena\n");
    return 2;
  }
  const files = inputFiles(options.files);
  if (!files.ok) {
    io.stderr.write(`flowtap query: ${files.reason}\n`);
    return 2;
  }
  const sql = named?.sql(DUCKDB) ?? options.sql!;
  try {
    return await withDuckDb(async (connection) => {
      await connection.run(flowsView(files.files, options.recent ? RECENT_TABLE : "flows"));
      const given = { ...options.parameters, now: options.now ?? Math.floor(Date.now() / 1000) };
      const used = Object.fromEntries(Object.entries(given).filter(([k]) => sql.includes(`$${k}`)));
      const reader = await connection.runAndReadAll(sql, used);
      writeRows(io, options.json, reader.columnNames(), reader.getRowObjectsJson());
      return 0;
    });
  } catch (err) {
    io.stderr.write(`flowtap query: ${(err as Error).message}\n`);
    return 1;
  }
}
