import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { runEnrich } from "../cli/enrich";
import { recordOfJson, sqlString, withDuckDb } from "../cli/duckdb";
import { runQuery, type QueryOptions } from "../cli/query";
import { athenaSql, NAMED_QUERIES } from "../functions/lib/flowlogs/queries";
import { duckDbRecordType } from "../functions/lib/flowlogs/schema";
import { collect } from "./helpers/streams";

const SAMPLES = path.join(__dirname, "..", "samples");
const dir = mkdtempSync(path.join(tmpdir(), "flowtap-query-"));
const jsonl = path.join(dir, "enriched.jsonl");
const parquet = path.join(dir, "enriched.parquet");
const windowed = path.join(dir, "windowed.parquet");
const windowedJsonl = path.join(dir, "windowed.jsonl");
/** The central bucket of flow-insights, synced: Parquet as Firehose writes it with the Glue table, in its partitions. */
const central = path.join(dir, "central");

async function query(options: Partial<QueryOptions>) {
  const out = collect();
  const err = collect();
  const status = await runQuery({ list: false, json: true, parameters: {}, files: [jsonl], ...options }, { stdout: out.stream, stderr: err.stream });
  const json = options.json ?? true;
  const rows = json && !options.list ? out.text().trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
  return { status, rows, err: err.text(), out: out.text() };
}

beforeAll(async () => {
  const common = { inventoryDirs: [path.join(SAMPLES, "inventory")], files: [path.join(SAMPLES, "flow-logs.log.gz")] };
  const io = { stdin: Readable.from([]), stdout: collect().stream, stderr: collect().stream };
  await runEnrich({ ...common, output: "jsonl", outFile: jsonl }, io);
  await runEnrich({ ...common, output: "parquet", outFile: parquet }, io);
  await runEnrich({ ...common, output: "parquet", outFile: windowed, windowSeconds: 300 }, io);
  await runEnrich({ ...common, output: "jsonl", outFile: windowedJsonl, windowSeconds: 300 }, io);
  await writeCentralBucket();
});

/**
 * The aggregates of windowedJsonl as the flow-insights Firehose delivers them: converted with the
 * Glue table, whose column names are lower case, split over two partitions, one object without an
 * extension; and a stray hidden file beside them.
 */
async function writeCentralBucket() {
  const partition = (date: string) => {
    const at = path.join(central, "flow-logs", "account_id=123456789010", "region=us-east-1", `date=${date}`);
    mkdirSync(at, { recursive: true });
    return at;
  };
  const tcp = path.join(partition("2024-11-21"), "flowtap-flow-insights-us-east-1-1-2024-11-21-10-05-00-4c1f0e3a-8d2b-4e61-9a57-0b7f3c2d1e90.parquet");
  const rest = path.join(partition("2024-11-22"), "flowtap-flow-insights-us-east-1-1-2024-11-22-10-05-00-7a2e9c41-5b3d-4f80-8e16-2c9d4b7a0f13");
  await withDuckDb(async (connection) => {
    const glueNamed = duckDbRecordType().toLowerCase();
    const records = `SELECT ${recordOfJson("json")}::${glueNamed} AS r FROM read_json_objects(${sqlString(windowedJsonl)}, format = 'newline_delimited')`;
    await connection.run(`COPY (SELECT unnest(r) FROM (${records}) WHERE r.protocol = 'tcp') TO ${sqlString(tcp)} (FORMAT parquet)`);
    await connection.run(`COPY (SELECT unnest(r) FROM (${records}) WHERE r.protocol <> 'tcp') TO ${sqlString(rest + ".tmp")} (FORMAT parquet)`);
    const columns = (await connection.runAndReadAll(`SELECT name FROM parquet_schema(${sqlString(tcp)})`)).getRowObjectsJson().map((c) => String(c.name));
    expect(columns).toEqual(expect.arrayContaining(["uploaded", "client", "availabilityzone", "tags", "window"]));
    expect(columns).not.toContain("Uploaded");
  });
  copyFileSync(rest + ".tmp", rest);
  writeFileSync(path.join(central, "flow-logs", ".DS_Store"), "not records");
}

describe("flowtap query", () => {
  it("lists every named query with its parameters", async () => {
    const { out } = await query({ list: true, json: false });
    for (const q of NAMED_QUERIES) expect(out).toContain(q.name);
    expect(out).toContain("--param app=…");
  });

  it("finds the bytes that crossed availability zones, by resource pair", async () => {
    const { status, rows } = await query({ name: "cross-az-bytes" });
    expect(status).toBe(0);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.client_zone).not.toBe(row.server_zone);
  });

  it("finds which applications an application connected to, by app tag", async () => {
    const { rows } = await query({ name: "app-connections", parameters: { app: "DataProcessor" } });
    expect(rows.map((r) => r.connected_to)).toEqual(expect.arrayContaining(["Storefront"]));
  });

  it("finds instances calling instances directly on a port a load balancer fronts", async () => {
    const { rows } = await query({ name: "instances-bypassing-load-balancers" });
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.client).toMatch(/:instance\//);
      expect(row.port).toBe(8080);
    }
  });

  it("finds Lambda functions connecting to RDS without RDS Proxy", async () => {
    const { rows } = await query({ name: "lambda-to-rds-without-proxy" });
    expect(rows).toEqual([expect.objectContaining({ lambda_function: "arn:aws:lambda:us-east-1:123456789010:function:orders-api", database_address: "10.1.0.7", port: 5432 })]);
  });

  it("ranks top destinations with their growth between the two halves of the data", async () => {
    const { rows } = await query({ name: "top-destinations" });
    expect(rows.length).toBe(20);
    expect(Number(rows[0].bytes)).toBeGreaterThanOrEqual(Number(rows[1].bytes));
    expect(Number(rows[0].bytes)).toBe(Number(rows[0].earlier_bytes) + Number(rows[0].later_bytes));
  });

  it("answers the same over Parquet as over JSONL", async () => {
    const fromJsonl = await query({ name: "lambda-to-rds-without-proxy" });
    const fromParquet = await query({ name: "lambda-to-rds-without-proxy", files: [parquet] });
    expect(fromParquet.rows).toEqual(fromJsonl.rows);
  });

  it("counts the same bytes per destination over 5-minute aggregates as over single flows (windows stand in for Start)", async () => {
    const byDestination = (rows: Record<string, string>[]) => Object.fromEntries(rows.map((r) => [r.destination, Number(r.bytes)]));
    const flows = await query({ name: "top-destinations" });
    const aggregates = await query({ name: "top-destinations", files: [windowed] });
    expect(byDestination(aggregates.rows)).toEqual(byDestination(flows.rows));
    expect(aggregates.rows.some((r) => Number(r.later_bytes) > 0)).toBe(true);
  });

  it("reads the flow-insights pipeline's Parquet, synced from the central bucket, as the same records", async () => {
    const everything = `SELECT coalesce(Client.Arn, Client.Addr) AS client, coalesce(Server.Arn, Server.AwsService, Server.Addr) AS server, Server.Port AS port, Protocol, Action,
        "Window".Start AS window_start, "Window".Seconds AS seconds, Client.Tags['app'] AS client_app, Server.SecurityGroupIds AS groups, Client.AvailabilityZone AS zone, CrossAz,
        sum(Uploaded) AS uploaded, sum(Downloaded) AS downloaded, sum(Packets) AS packets, sum(Flows) AS flows
      FROM flows GROUP BY ALL ORDER BY ALL`;
    const fromPipeline = await query({ sql: everything, files: [central] });
    expect(fromPipeline.status).toBe(0);
    expect(fromPipeline.rows.length).toBeGreaterThan(20);
    expect(fromPipeline.rows).toEqual((await query({ sql: everything, files: [windowedJsonl] })).rows);
    const connected = (files: string[]) => query({ name: "app-connections", parameters: { app: "DataProcessor" }, files }).then((r) => r.rows);
    expect(await connected([central])).toEqual(await connected([windowedJsonl]));
  });

  it("reads flow-log-sg-enrichment's gzip'd JSON lines by their first bytes, whatever the object's name", async () => {
    const partition = path.join(dir, "sg-bucket", "flow-logs", "account_id=123456789010", "date=2024-11-21");
    mkdirSync(partition, { recursive: true });
    writeFileSync(path.join(partition, "flowtap-flow-log-sg-enrichment-1-2024-11-21-10-00-00-5d1c"), gzipSync(readFileSync(jsonl)));
    const everything = "SELECT Client.Arn, Server.Addr, Server.Port, Uploaded, Downloaded, Client.Tags['app'] AS app FROM flows ORDER BY ALL";
    const fromBucket = await query({ sql: everything, files: [path.join(dir, "sg-bucket")] });
    expect(fromBucket.rows.length).toBeGreaterThan(100);
    expect(fromBucket.rows).toEqual((await query({ sql: everything, files: [jsonl] })).rows);
  });

  it("names a path it cannot read", async () => {
    const missing = path.join(dir, "missing");
    expect(await query({ name: "cross-az-bytes", files: [missing] })).toMatchObject({ status: 2, err: `flowtap query: ${missing}: no such file or directory\n` });
  });

  it("runs your own SQL over the flows view", async () => {
    const { rows } = await query({ sql: "SELECT count(*) AS n FROM flows WHERE Server.Type = 'aws:service'" });
    expect(Number(rows[0].n)).toBeGreaterThan(0);
  });

  it("says what is missing instead of failing obscurely", async () => {
    expect(await query({ name: "app-connections" })).toMatchObject({ status: 2, err: "flowtap query: app-connections needs --param app=…\n" });
    expect(await query({ name: "nope" })).toMatchObject({ status: 2 });
    expect((await query({ sql: "SELECT nonsense FROM flows" })).status).toBe(1);
  });
});

describe("the named queries in Athena's dialect", () => {
  it.each(NAMED_QUERIES.map((q) => [q.name, q] as const))("%s uses only what Athena (Trino) understands", (_name, q) => {
    const sql = athenaSql(q).sql;
    expect(sql).not.toMatch(/GROUP BY ALL/i);
    expect(sql).not.toMatch(/\$[a-z]/);
    expect(sql).not.toMatch(/Tags\[/);
    expect((sql.match(/\?/g) ?? []).length).toBe(Object.keys(q.parameters).length);
  });
});
