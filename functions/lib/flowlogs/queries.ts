/**
 * The named questions asked of enriched records, the same in `flowtap query` (DuckDB, over
 * JSONL or Parquet) and in the Athena workgroups: each renders its SQL for a dialect, over a
 * table or view `flows` with the enriched record's columns (schema.ts).
 */
export interface SqlDialect {
  /** A tag of a side, NULL when the side has no such tag. */
  tag(side: "Client" | "Server", key: string): string;
  /** A query parameter. */
  parameter(name: string): string;
}

export const DUCKDB: SqlDialect = {
  tag: (side, key) => `${side}.Tags['${key}']`,
  parameter: (name) => `$${name}`,
};

/** Athena (Trino): `map[key]` fails on a missing key, element_at answers NULL; parameters are positional. */
export const ATHENA: SqlDialect = {
  tag: (side, key) => `element_at(${side}.Tags, '${key}')`,
  parameter: () => "?",
};

/** The DuckDB view `flows` over a relation of enriched records (column `record`, of type duckDbRecordType()): one column per field. */
export function duckDbFlowsView(records: string): string {
  return `CREATE VIEW flows AS SELECT unnest(record) FROM (${records})`;
}

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
    sql: () => `SELECT ${who("Client")} AS client, Client.AvailabilityZone AS client_zone, ${who("Server")} AS server, Server.AvailabilityZone AS server_zone,
  sum(Uploaded + Downloaded) AS bytes
FROM flows WHERE CrossAz
GROUP BY 1, 2, 3, 4 ORDER BY bytes DESC LIMIT 50`,
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
