/**
 * The named questions asked of enriched records, the same in `flowtap query` (DuckDB, over
 * JSONL or Parquet) and in the Athena workgroups: each renders its SQL for a dialect, over a
 * table or view `flows` (or, for the recent questions, `recent_flows`) with the enriched record's
 * columns (schema.ts).
 */
export interface SqlDialect {
  /** A tag of a side, NULL when the side has no such tag. */
  tag(side: "Client" | "Server", key: string): string;
  /** A query parameter. */
  parameter(name: string): string;
  /** Now, in seconds since the epoch. */
  now(): string;
  /** A condition keeping the recent store's partitions that can hold windows starting at `since` (seconds) or later; `true` where there are no partitions. */
  recentPartitions(since: string): string;
}

export const DUCKDB: SqlDialect = {
  tag: (side, key) => `${side}.Tags['${key}']`,
  parameter: (name) => `$${name}`,
  // Local files are a copy: "now" is the caller's to say (flowtap query --now).
  now: () => "$now",
  recentPartitions: () => "true",
};

/** Where the Athena dialect puts a parameter until athenaSql numbers them in the order they appear. */
const PARAMETER_MARK = /\{\{parameter:(\w+)\}\}/g;

/**
 * Athena (Trino): `map[key]` fails on a missing key, element_at answers NULL; parameters are positional.
 * The recent store's objects are under the hour Firehose received them (UTC), which is never before
 * their window starts.
 */
const ATHENA: SqlDialect = {
  tag: (side, key) => `element_at(${side}.Tags, '${key}')`,
  parameter: (name) => `{{parameter:${name}}}`,
  now: () => "to_unixtime(current_timestamp)",
  recentPartitions: (since) => `hour >= date_format(from_unixtime(${since}), '%Y-%m-%d-%H')`,
};

/**
 * A query in Athena's SQL, and the names of its positional parameters (`?`) in the order
 * `EXECUTE … USING` (or StartQueryExecution's ExecutionParameters) takes them: a parameter the
 * text uses twice is given twice.
 */
export function athenaSql(query: NamedQuery): { sql: string; parameters: string[] } {
  const parameters: string[] = [];
  const sql = query.sql(ATHENA).replace(PARAMETER_MARK, (_mark, name: string) => {
    parameters.push(name);
    return "?";
  });
  return { sql, parameters };
}

/** The DuckDB view (`flows`, or the recent store's `recent_flows`) over a relation of enriched records (column `record`, of type duckDbRecordType()): one column per field. */
export function duckDbFlowsView(records: string, name: "flows" | typeof RECENT_TABLE = "flows"): string {
  return `CREATE VIEW ${name} AS SELECT unnest(record) FROM (${records})`;
}

/** The recent store's table (Athena) or view (flowtap query --recent). */
export const RECENT_TABLE = "recent_flows";

export interface NamedQuery {
  readonly name: string;
  readonly description: string;
  /** Parameters the query needs, in the order Athena's positional parameters take them, with what each means. */
  readonly parameters: Readonly<Record<string, string>>;
  sql(dialect: SqlDialect): string;
}

const who = (side: "Client" | "Server") => `coalesce(${side}.Arn, ${side}.AwsService, ${side}.Addr)`;
/** When a record's traffic happened: its capture window's start, or its aggregation window's. (`Window` is a reserved word.) */
const started = `coalesce(Start, "Window".Start)`;

export const NAMED_QUERIES: readonly NamedQuery[] = [
  {
    name: "cross-az-bytes",
    description: "Bytes that crossed availability zones, by resource pair (each is billed as data transfer)",
    parameters: {},
    // CrossAz compares zone ids (a zone name means another zone in another account); the names are for reading.
    sql: () => `SELECT ${who("Client")} AS client, Client.AvailabilityZone AS client_zone, Client.AvailabilityZoneId AS client_zone_id,
  ${who("Server")} AS server, Server.AvailabilityZone AS server_zone, Server.AvailabilityZoneId AS server_zone_id,
  sum(Uploaded + Downloaded) AS bytes
FROM flows WHERE CrossAz
GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY bytes DESC LIMIT 50`,
  },
  {
    name: "app-connections",
    description: "Which internal applications (by their app tag) a given application connected to",
    parameters: { app: "the app tag value of the connecting application" },
    sql: (d) => `SELECT ${d.tag("Server", "app")} AS connected_to, Server.Port AS port, Protocol AS protocol, count(*) AS flows, sum(Uploaded + Downloaded) AS bytes
FROM flows WHERE ${d.tag("Client", "app")} = ${d.parameter("app")} AND ${d.tag("Server", "app")} IS NOT NULL
GROUP BY 1, 2, 3 ORDER BY bytes DESC`,
  },
  {
    name: "instances-bypassing-load-balancers",
    description: "EC2 instances talking to EC2 instances directly on a port a load balancer fronts",
    parameters: {},
    sql: () => `WITH fronted AS (
  SELECT DISTINCT Server.Arn AS target, Server.Port AS port FROM flows
  WHERE Client.Type = 'elasticloadbalancing:loadbalancer' AND Server.Type = 'ec2:instance'
)
SELECT f.Client.Arn AS client, f.Server.Arn AS target, f.Server.Port AS port, count(*) AS flows, sum(f.Uploaded + f.Downloaded) AS bytes
FROM flows f JOIN fronted ON f.Server.Arn = fronted.target AND f.Server.Port = fronted.port
WHERE f.Client.Type = 'ec2:instance'
GROUP BY 1, 2, 3 ORDER BY bytes DESC`,
  },
  {
    name: "lambda-to-rds-without-proxy",
    description: "Lambda functions connecting to RDS databases directly, not through RDS Proxy",
    parameters: {},
    sql: () => `SELECT Client.Arn AS lambda_function, Server.Addr AS database_address, Server.Port AS port, count(*) AS flows, sum(Uploaded + Downloaded) AS bytes
FROM flows WHERE Client.Type = 'lambda:function' AND Server.Type = 'rds:db'
GROUP BY 1, 2, 3 ORDER BY flows DESC`,
  },
  {
    name: "top-destinations",
    description: "Top destinations by bytes, and their growth from the first half of the data's time span to the second",
    parameters: {},
    sql: () => `WITH span AS (SELECT (min(${started}) + max(${started})) / 2 AS middle FROM flows),
totals AS (
  SELECT ${who("Server")} AS destination, Server.Type AS type,
    sum(CASE WHEN ${started} < span.middle THEN Uploaded + Downloaded ELSE 0 END) AS earlier_bytes,
    sum(CASE WHEN ${started} >= span.middle THEN Uploaded + Downloaded ELSE 0 END) AS later_bytes
  FROM flows CROSS JOIN span GROUP BY 1, 2
)
SELECT destination, type, earlier_bytes + later_bytes AS bytes, earlier_bytes, later_bytes,
  CASE WHEN earlier_bytes = 0 THEN NULL ELSE round(100.0 * (later_bytes - earlier_bytes) / earlier_bytes, 1) END AS growth_percent
FROM totals ORDER BY bytes DESC LIMIT 20`,
  },
];

/** The start of the last `minutes` (a parameter), in seconds since the epoch. */
const since = (d: SqlDialect) => `${d.now()} - CAST(${d.parameter("minutes")} AS BIGINT) * 60`;
const MINUTES = { minutes: "how many minutes back from now" };

/** `sql`, a question over `flows`, asked of the recent store's last `minutes`: `flows` is those of its records. */
function overTheLastMinutes(d: SqlDialect, sql: string): string {
  const recent = `flows AS (SELECT * FROM ${RECENT_TABLE} WHERE ${started} >= ${since(d)} AND ${d.recentPartitions(since(d))})`;
  return sql.startsWith("WITH ") ? `WITH ${recent},\n${sql.slice("WITH ".length)}` : `WITH ${recent}\n${sql}`;
}

/**
 * The questions of someone answering an incident, asked of the recent store (`recent_flows`):
 * each named question over the last `minutes`, and three of their own. `flowtap query --recent`
 * runs them; the central stack saves them in the Athena workgroup as `flowtap-recent-*`.
 */
export const RECENT_QUERIES: readonly NamedQuery[] = [
  ...NAMED_QUERIES.map(
    (q): NamedQuery => ({
      name: q.name,
      description: `${q.description}, in the last minutes`,
      parameters: { ...MINUTES, ...q.parameters },
      sql: (d) => overTheLastMinutes(d, q.sql(d)),
    }),
  ),
  {
    name: "top-talkers",
    description: "The ends that sent and received the most bytes in the last minutes (each flow counts for both its ends)",
    parameters: MINUTES,
    sql: (d) =>
      overTheLastMinutes(
        d,
        `WITH ends AS (
  SELECT ${who("Client")} AS talker, Client.Type AS type, Uploaded AS sent, Downloaded AS received FROM flows
  UNION ALL
  SELECT ${who("Server")} AS talker, Server.Type AS type, Downloaded AS sent, Uploaded AS received FROM flows
)
SELECT talker, type, sum(sent + received) AS bytes, sum(sent) AS sent, sum(received) AS received
FROM ends GROUP BY 1, 2 ORDER BY bytes DESC, talker LIMIT 20`,
      ),
  },
  {
    name: "new-destinations",
    description: "Destinations (and ports) an application, by its app tag, reached in the last minutes and never before in the recent store",
    parameters: { app: "the app tag value of the connecting application", ...MINUTES },
    // The whole store is read: a destination is new only if no earlier record has it.
    sql: (d) => `WITH reached AS (
  SELECT ${who("Server")} AS destination, Server.Type AS type, Server.Port AS port, ${started} AS seen_at, Uploaded + Downloaded AS bytes
  FROM ${RECENT_TABLE} WHERE ${d.tag("Client", "app")} = ${d.parameter("app")}
)
SELECT destination, type, port, min(seen_at) AS first_seen, sum(bytes) AS bytes
FROM reached GROUP BY 1, 2, 3 HAVING min(seen_at) >= ${since(d)}
ORDER BY first_seen, destination, port`,
  },
  {
    name: "rejected-by-security-group",
    description: "Rejected flows of the last minutes, by security group of the end they were sent to",
    parameters: MINUTES,
    sql: (d) =>
      overTheLastMinutes(
        d,
        `SELECT group_id, sum(coalesce(Flows, 1)) AS flows, sum(Packets) AS packets, count(DISTINCT ${who("Client")}) AS clients, count(DISTINCT Server.Port) AS ports
FROM flows CROSS JOIN UNNEST(Server.SecurityGroupIds) AS g(group_id)
WHERE Action = 'REJECT'
GROUP BY 1 ORDER BY flows DESC, group_id`,
      ),
  },
];
