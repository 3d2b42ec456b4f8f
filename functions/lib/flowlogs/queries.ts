/**
 * The named questions `flowtap query` answers over enriched records (JSONL or Parquet), in
 * DuckDB SQL over a view `flows` with the enriched record's columns. Parameters are `$name`.
 */

const side = (name: "Client" | "Server") => `{
    'Addr': json_extract_string(j, '$.${name}.Addr'), 'Port': TRY_CAST(json_extract(j, '$.${name}.Port') AS INTEGER),
    'Type': json_extract_string(j, '$.${name}.Type'), 'Arn': json_extract_string(j, '$.${name}.Arn'),
    'AwsService': json_extract_string(j, '$.${name}.AwsService'), 'AvailabilityZone': json_extract_string(j, '$.${name}.AvailabilityZone'),
    'VpcId': json_extract_string(j, '$.${name}.VpcId'), 'AccountId': json_extract_string(j, '$.${name}.AccountId'), 'Tags': json_extract(j, '$.${name}.Tags')
  } AS ${name}`;

/**
 * The columns of \`flows\`, from each record as JSON (\`j\`), typed the same whatever fields the data
 * happens to have: a record that cannot know a field has NULL there.
 */
export const FLOWS_COLUMNS = `json_extract_string(j, '$.InterfaceId') AS InterfaceId, json_extract_string(j, '$.AccountId') AS AccountId,
  json_extract_string(j, '$.Protocol') AS Protocol, TRY_CAST(json_extract(j, '$.Start') AS BIGINT) AS Start, TRY_CAST(json_extract(j, '$.End') AS BIGINT) AS "End",
  json_extract_string(j, '$.Action') AS Action, coalesce(TRY_CAST(json_extract(j, '$.Uploaded') AS BIGINT), 0) AS Uploaded,
  coalesce(TRY_CAST(json_extract(j, '$.Downloaded') AS BIGINT), 0) AS Downloaded, coalesce(TRY_CAST(json_extract(j, '$.Packets') AS BIGINT), 0) AS Packets,
  coalesce(TRY_CAST(json_extract(j, '$.CrossAz') AS BOOLEAN), false) AS CrossAz, ${side("Client")}, ${side("Server")}`;
export interface NamedQuery {
  readonly name: string;
  readonly description: string;
  /** Parameters the query needs, with what each means. */
  readonly parameters: Readonly<Record<string, string>>;
  readonly sql: string;
}

/** A tag of a side (`flows` keeps Tags as JSON, whatever keys the data has). */
const tag = (side: "Client" | "Server", key: string) => `json_extract_string(${side}.Tags, '$.${key}')`;
const who = (side: "Client" | "Server") => `coalesce(${side}.Arn, ${side}.AwsService, ${side}.Addr)`;

export const NAMED_QUERIES: readonly NamedQuery[] = [
  {
    name: "cross-az-bytes",
    description: "Bytes that crossed availability zones, by resource pair (each is billed as data transfer)",
    parameters: {},
    sql: `SELECT ${who("Client")} AS client, Client.AvailabilityZone AS client_zone, ${who("Server")} AS server, Server.AvailabilityZone AS server_zone,
  sum(Uploaded + Downloaded) AS bytes
FROM flows WHERE CrossAz
GROUP BY ALL ORDER BY bytes DESC LIMIT 50`,
  },
  {
    name: "app-connections",
    description: "Which internal applications (by their app tag) a given application connected to",
    parameters: { app: "the app tag value of the connecting application" },
    sql: `SELECT ${tag("Server", "app")} AS connected_to, Server.Port AS port, Protocol AS protocol, count(*) AS flows, sum(Uploaded + Downloaded) AS bytes
FROM flows WHERE ${tag("Client", "app")} = $app AND ${tag("Server", "app")} IS NOT NULL
GROUP BY ALL ORDER BY bytes DESC`,
  },
  {
    name: "instances-bypassing-load-balancers",
    description: "EC2 instances talking to EC2 instances directly on a port a load balancer fronts",
    parameters: {},
    sql: `WITH fronted AS (
  SELECT DISTINCT Server.Arn AS target, Server.Port AS port FROM flows
  WHERE Client.Type = 'elasticloadbalancing:loadbalancer' AND Server.Type = 'ec2:instance'
)
SELECT f.Client.Arn AS client, f.Server.Arn AS target, f.Server.Port AS port, count(*) AS flows, sum(f.Uploaded + f.Downloaded) AS bytes
FROM flows f JOIN fronted ON f.Server.Arn = fronted.target AND f.Server.Port = fronted.port
WHERE f.Client.Type = 'ec2:instance'
GROUP BY ALL ORDER BY bytes DESC`,
  },
  {
    name: "lambda-to-rds-without-proxy",
    description: "Lambda functions connecting to RDS databases directly, not through RDS Proxy",
    parameters: {},
    sql: `SELECT Client.Arn AS function, Server.Addr AS database_address, Server.Port AS port, count(*) AS flows, sum(Uploaded + Downloaded) AS bytes
FROM flows WHERE Client.Type = 'lambda:function' AND Server.Type = 'rds:db'
GROUP BY ALL ORDER BY flows DESC`,
  },
  {
    name: "top-destinations",
    description: "Top destinations by bytes, and their growth from the first half of the data's time span to the second",
    parameters: {},
    sql: `WITH span AS (SELECT (min(Start) + max(Start)) / 2 AS middle FROM flows),
totals AS (
  SELECT ${who("Server")} AS destination, Server.Type AS type,
    sum(CASE WHEN Start < span.middle THEN Uploaded + Downloaded ELSE 0 END) AS earlier_bytes,
    sum(CASE WHEN Start >= span.middle THEN Uploaded + Downloaded ELSE 0 END) AS later_bytes
  FROM flows, span GROUP BY ALL
)
SELECT destination, type, earlier_bytes + later_bytes AS bytes, earlier_bytes, later_bytes,
  CASE WHEN earlier_bytes = 0 THEN NULL ELSE round(100.0 * (later_bytes - earlier_bytes) / earlier_bytes, 1) END AS growth_percent
FROM totals ORDER BY bytes DESC LIMIT 20`,
  },
];
