import { AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand } from "@aws-sdk/client-athena";
import { mockClient } from "aws-sdk-client-mock";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { runEnrich } from "../cli/enrich";
import { runQuery, type QueryOptions } from "../cli/query";
import { athenaSql, NAMED_QUERIES, RECENT_QUERIES } from "../functions/lib/flowlogs/queries";
import type { AggregatedRecord } from "../functions/lib/flowlogs/aggregate";
import { collect } from "./helpers/streams";

const SAMPLES = path.join(__dirname, "..", "samples");
const dir = mkdtempSync(path.join(tmpdir(), "flowtap-recent-"));
/** The recent store's records: the sample flow logs aggregated over 60-second windows, as the recent enrichment writes them. */
const store = path.join(dir, "recent.jsonl");
let records: AggregatedRecord[] = [];
/** The end of the sample's last window: "now" for the questions. */
let now = 0;
const MINUTES = 3;
const since = () => now - MINUTES * 60;

async function query(options: Partial<QueryOptions>) {
  const out = collect();
  const err = collect();
  const status = await runQuery({ list: false, json: true, parameters: {}, files: [store], ...options }, { stdout: out.stream, stderr: err.stream });
  const rows = options.json === false ? [] : out.text().trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status, rows, err: err.text(), out: out.text() };
}

beforeAll(async () => {
  const io = { stdin: Readable.from([]), stdout: collect().stream, stderr: collect().stream };
  await runEnrich({ inventoryDirs: [path.join(SAMPLES, "inventory")], files: [path.join(SAMPLES, "flow-logs.log.gz")], output: "jsonl", outFile: store, windowSeconds: 60 }, io);
  records = readFileSync(store, "utf8").trim().split("\n").map((l) => JSON.parse(l) as AggregatedRecord);
  now = Math.max(...records.map((r) => r.Window.End));
});

type Side = NonNullable<AggregatedRecord["Client"]>;
const who = (side: Side) => side.Arn ?? side.AwsService ?? side.Addr;
const startOf = (r: AggregatedRecord) => r.Start ?? r.Window.Start;
const byJson = (rows: readonly unknown[]) => rows.map((r) => JSON.stringify(r)).sort();

describe("the named questions, asked of the recent store's last minutes", () => {
  it("the fixture spans more windows than the last minutes hold", () => {
    const windows = new Set(records.map(startOf));
    const recent = [...windows].filter((w) => w >= since());
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.length).toBeLessThan(windows.size);
  });

  it.each(NAMED_QUERIES.map((q) => [q.name, q] as const))("%s answers as the named query does over just those minutes' records", async (name, q) => {
    const recentFile = path.join(dir, `last-minutes-${name}.jsonl`);
    writeFileSync(recentFile, records.filter((r) => startOf(r) >= since()).map((r) => JSON.stringify(r)).join("\n") + "\n");
    const parameters = Object.fromEntries(Object.keys(q.parameters).map((p) => [p, "DataProcessor"]));
    const recent = await query({ recent: true, name, parameters: { ...parameters, minutes: String(MINUTES) }, now });
    const expected = await query({ name, parameters, files: [recentFile] });
    expect(recent.status).toBe(0);
    expect(recent.err).toBe("");
    expect(byJson(recent.rows)).toEqual(byJson(expected.rows));
    const everything = await query({ name, parameters });
    if (everything.rows.length > 0 && name !== "top-destinations") expect(byJson(recent.rows)).not.toEqual(byJson(everything.rows));
  });
});

describe("the recent store's own questions, against answers worked out from the records", () => {
  it("top-talkers: each end's bytes sent and received, each flow counting for both its ends", async () => {
    const totals = new Map<string, { talker: string; type: string; bytes: number; sent: number; received: number }>();
    const add = (side: Side, sent: number, received: number) => {
      const key = `${who(side)} ${side.Type}`;
      const total = totals.get(key) ?? { talker: who(side), type: side.Type, bytes: 0, sent: 0, received: 0 };
      totals.set(key, { ...total, bytes: total.bytes + sent + received, sent: total.sent + sent, received: total.received + received });
    };
    for (const r of records.filter((r) => startOf(r) >= since())) {
      add(r.Client!, r.Uploaded, r.Downloaded);
      add(r.Server!, r.Downloaded, r.Uploaded);
    }
    const expected = [...totals.values()].sort((a, b) => b.bytes - a.bytes || (a.talker < b.talker ? -1 : 1)).slice(0, 20);
    const { status, rows } = await query({ recent: true, name: "top-talkers", parameters: { minutes: String(MINUTES) }, now });
    expect(status).toBe(0);
    expect(rows.map((r) => ({ ...r, bytes: Number(r.bytes), sent: Number(r.sent), received: Number(r.received) }))).toEqual(expected);
  });

  it("new-destinations: what an app reached in the last minutes that no earlier record of the store has", async () => {
    const app = "Storefront";
    const firstSeen = new Map<string, { destination: string; type: string; port: number | null; first_seen: number; bytes: number }>();
    for (const r of records.filter((r) => r.Client?.Tags?.app === app)) {
      const key = `${who(r.Server!)} ${r.Server!.Type} ${r.Server!.Port}`;
      const seen = firstSeen.get(key) ?? { destination: who(r.Server!), type: r.Server!.Type, port: r.Server!.Port ?? null, first_seen: startOf(r), bytes: 0 };
      firstSeen.set(key, { ...seen, first_seen: Math.min(seen.first_seen, startOf(r)), bytes: seen.bytes + r.Uploaded + r.Downloaded });
    }
    const expected = [...firstSeen.values()]
      .filter((d) => d.first_seen >= since())
      .sort((a, b) => a.first_seen - b.first_seen || (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : (a.port ?? 0) - (b.port ?? 0)));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(firstSeen.size);
    const { status, rows } = await query({ recent: true, name: "new-destinations", parameters: { app, minutes: String(MINUTES) }, now });
    expect(status).toBe(0);
    expect(rows.map((r) => ({ ...r, first_seen: Number(r.first_seen), bytes: Number(r.bytes) }))).toEqual(expected);
  });

  it("rejected-by-security-group: rejected flows by each group of the end they were sent to", async () => {
    // The sample rejects little, and only in its first minutes: every seventh aggregate is made a rejection too.
    const withRejections = records.map((r, i) => (i % 7 === 0 ? { ...r, Action: "REJECT" } : r));
    const file = path.join(dir, "with-rejections.jsonl");
    writeFileSync(file, withRejections.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const byGroup = new Map<string, { flows: number; packets: number; clients: Set<string>; ports: Set<number> }>();
    const rejected = withRejections.filter((r) => r.Action === "REJECT");
    for (const r of rejected.filter((r) => startOf(r) >= since())) {
      for (const group of r.Server?.SecurityGroupIds ?? []) {
        const g = byGroup.get(group) ?? { flows: 0, packets: 0, clients: new Set(), ports: new Set() };
        g.flows += r.Flows;
        g.packets += r.Packets;
        g.clients.add(who(r.Client!));
        if (r.Server!.Port !== undefined) g.ports.add(r.Server!.Port);
        byGroup.set(group, g);
      }
    }
    const expected = [...byGroup]
      .map(([group_id, g]) => ({ group_id, flows: g.flows, packets: g.packets, clients: g.clients.size, ports: g.ports.size }))
      .sort((a, b) => b.flows - a.flows || (a.group_id < b.group_id ? -1 : 1));
    expect(expected.length).toBeGreaterThan(1);
    expect(expected.reduce((sum, g) => sum + g.flows, 0)).toBeLessThan(rejected.reduce((sum, r) => sum + r.Flows * (r.Server?.SecurityGroupIds?.length ?? 0), 0));
    const { status, rows } = await query({ recent: true, name: "rejected-by-security-group", parameters: { minutes: String(MINUTES) }, now, files: [file] });
    expect(status).toBe(0);
    expect(rows.map((r) => ({ ...r, flows: Number(r.flows), packets: Number(r.packets), clients: Number(r.clients), ports: Number(r.ports) }))).toEqual(expected);
  });

  it("lists them, and says what a question needs", async () => {
    const listed = await query({ recent: true, list: true, json: false });
    for (const q of RECENT_QUERIES) expect(listed.out).toMatch(new RegExp(`^${q.name} .*--param minutes=…`, "m"));
    expect(await query({ recent: true, name: "top-talkers" })).toMatchObject({ status: 2, err: "flowtap query: top-talkers needs --param minutes=…\n" });
    expect(await query({ recent: true, name: "nope" })).toMatchObject({ status: 2, err: "flowtap query: no query named nope; flowtap query --recent --list names them\n" });
  });
});

describe("the recent questions in Athena's dialect", () => {
  it.each(RECENT_QUERIES.map((q) => [q.name, q] as const))("%s reads recent_flows within its hours, and names each positional parameter", (_name, q) => {
    const { sql, parameters } = athenaSql(q);
    expect(sql).not.toMatch(/GROUP BY ALL|\$[a-z]|Tags\[|\{\{/i);
    expect(sql).toContain("FROM recent_flows");
    expect((sql.match(/\?/g) ?? []).length).toBe(parameters.length);
    expect(new Set(parameters)).toEqual(new Set(Object.keys(q.parameters)));
    // Reading the whole store is new-destinations' alone: the rest keep to the last minutes' hours.
    if (q.name !== "new-destinations") expect(sql).toContain("hour >= date_format(from_unixtime(to_unixtime(current_timestamp) - CAST(? AS BIGINT) * 60), '%Y-%m-%d-%H')");
  });
});

describe("flowtap query --athena", () => {
  const athena = mockClient(AthenaClient);
  const target = { client: new AthenaClient({ region: "us-east-1" }), workgroup: "flowtap-flow-insights", database: "flowtap_flow_insights" };
  const column = (name: string) => ({ Name: name, Type: "varchar" });
  const row = (...values: (string | undefined)[]) => ({ Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })) });
  beforeEach(() => athena.reset());

  it("starts the saved text with its parameters as literals, waits for it, and reads every page of the result", async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: "q-1" });
    athena
      .on(GetQueryExecutionCommand)
      .rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $metadata: {} }))
      .resolvesOnce({ QueryExecution: { Status: { State: "QUEUED" } } })
      .resolvesOnce({ QueryExecution: { Status: { State: "RUNNING" } } })
      .resolves({ QueryExecution: { Status: { State: "SUCCEEDED" }, Statistics: { DataScannedInBytes: 4096 } } });
    const metadata = { ResultSetMetadata: { ColumnInfo: [column("talker"), column("bytes")] } };
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: "q-1", NextToken: undefined })
      .resolves({ ResultSet: { ...metadata, Rows: [row("talker", "bytes"), row("arn:aws:ec2:us-east-1:123456789010:instance/i-1", "900")] }, NextToken: "page-2" })
      .on(GetQueryResultsCommand, { QueryExecutionId: "q-1", NextToken: "page-2" })
      .resolves({ ResultSet: { ...metadata, Rows: [row("203.0.113.9", undefined)] } });

    const result = await query({ recent: true, name: "top-talkers", parameters: { minutes: "15" }, files: [], athena: target });
    expect(result).toMatchObject({ status: 0, err: "Athena query q-1, 4096 bytes scanned\n" });
    expect(result.rows).toEqual([
      { talker: "arn:aws:ec2:us-east-1:123456789010:instance/i-1", bytes: "900" },
      { talker: "203.0.113.9", bytes: null },
    ]);
    const start = athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input;
    const recentTopTalkers = athenaSql(RECENT_QUERIES.find((q) => q.name === "top-talkers")!);
    expect(start).toEqual({ QueryString: recentTopTalkers.sql, WorkGroup: "flowtap-flow-insights", QueryExecutionContext: { Database: "flowtap_flow_insights" }, ExecutionParameters: ["'15'", "'15'"] });
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(2);
  });

  it("quotes a parameter as a SQL string, so that a value cannot change the query", async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: "q-2" });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: "SUCCEEDED" } } });
    athena.on(GetQueryResultsCommand).resolves({ ResultSet: { ResultSetMetadata: { ColumnInfo: [column("destination")] }, Rows: [row("destination")] } });
    const result = await query({ recent: true, name: "new-destinations", parameters: { app: "it's", minutes: "60" }, files: [], athena: target });
    expect(result).toMatchObject({ status: 0, rows: [] });
    expect(athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input.ExecutionParameters).toEqual(["'it''s'", "'60'"]);
  });

  it("says why Athena failed the query, and takes no files", async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: "q-3" });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: "FAILED", StateChangeReason: "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.flowtap_flow_insights.recent_flows' does not exist" } } });
    const failed = await query({ recent: true, name: "top-talkers", parameters: { minutes: "5" }, files: [], athena: target });
    expect(failed).toMatchObject({ status: 1, err: expect.stringContaining("Athena query q-3 failed: TABLE_NOT_FOUND") });
    expect(await query({ recent: true, name: "top-talkers", parameters: { minutes: "5" }, athena: target })).toMatchObject({
      status: 2,
      err: "flowtap query: --athena queries the workgroup's tables; give no files with it\n",
    });
  });
});
