/**
 * The enriched record's columns, typed: the one description the Glue table, the DuckDB view of
 * `flowtap query` and the writers all follow (EnrichedRecord is the same shape in TypeScript).
 */
export type ColumnType = "int" | "bigint" | "string" | "boolean" | "string-array" | "string-map" | { readonly struct: readonly Column[] };

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly comment: string;
}

export const SIDE_COLUMNS: readonly Column[] = [
  { name: "Addr", type: "string", comment: "The address (pkt-srcaddr/pkt-dstaddr when the record has them)" },
  { name: "Port", type: "int", comment: "The port; absent for ICMP and records without ports, and the client's in aggregated records" },
  { name: "Type", type: "string", comment: "What held the address: ec2:instance, lambda:function, rds:db, …, aws:service, internet, unknown" },
  { name: "Arn", type: "string", comment: "The owning resource's ARN, when the ENI names it" },
  { name: "InterfaceId", type: "string", comment: "The ENI holding the address" },
  { name: "SubnetId", type: "string", comment: "The ENI's subnet" },
  { name: "VpcId", type: "string", comment: "The ENI's VPC" },
  { name: "AccountId", type: "string", comment: "The ENI's account" },
  { name: "SecurityGroupIds", type: "string-array", comment: "The ENI's security groups" },
  { name: "AvailabilityZone", type: "string", comment: "The ENI's availability zone" },
  { name: "AvailabilityZoneId", type: "string", comment: "The ENI's availability zone id: the same physical zone in every account" },
  { name: "Region", type: "string", comment: "The ENI's region, or the AWS service's" },
  { name: "AwsService", type: "string", comment: "For a public AWS address: the service from ip-ranges.json (AMAZON when only that matches)" },
  { name: "Rfc1918", type: "boolean", comment: "A private address: RFC 1918, or IPv6 unique local" },
  { name: "Tags", type: "string-map", comment: "The owning resource's tags" },
  { name: "SecurityGroupRules", type: "string-array", comment: "On the side the traffic reached: the rules that admit the flow (empty: none does)" },
];

/** The Glue table parameter partition projection reads the account ids from: the FlowsQuery table writes it, the partitions function adds to it. */
export const PROJECTED_ACCOUNTS = "projection.account_id.values";

export const ENRICHED_COLUMNS: readonly Column[] = [
  { name: "Version", type: "int", comment: "The flow log version" },
  { name: "AccountId", type: "string", comment: "The account of the ENI that logged the record" },
  { name: "InterfaceId", type: "string", comment: "The ENI that logged the record" },
  { name: "Protocol", type: "string", comment: "tcp, udp, icmp, icmpv6, or the IANA number" },
  { name: "Start", type: "bigint", comment: "The capture window's start, seconds since the epoch" },
  { name: "End", type: "bigint", comment: "The capture window's end, seconds since the epoch" },
  { name: "Action", type: "string", comment: "ACCEPT or REJECT" },
  { name: "LogStatus", type: "string", comment: "OK, NODATA or SKIPDATA" },
  { name: "Uploaded", type: "bigint", comment: "Bytes from client to server" },
  { name: "Downloaded", type: "bigint", comment: "Bytes from server to client" },
  { name: "Packets", type: "bigint", comment: "Packets, both directions" },
  { name: "Client", type: { struct: SIDE_COLUMNS }, comment: "The side that opened the connection" },
  { name: "Server", type: { struct: SIDE_COLUMNS }, comment: "The side that was connected to" },
  { name: "CrossAz", type: "boolean", comment: "The sides in different availability zones: by zone id, or by zone name within one account; absent when not known" },
  // Aggregated records (flowtap enrich --window) say their window instead of Start, End and InterfaceId.
  {
    name: "Window",
    type: {
      struct: [
        { name: "Start", type: "bigint", comment: "The window's start, seconds since the epoch" },
        { name: "End", type: "bigint", comment: "The window's end" },
        { name: "Seconds", type: "int", comment: "The window's length" },
      ],
    },
    comment: "For an aggregated record: the window it sums",
  },
  { name: "Flows", type: "bigint", comment: "For an aggregated record: how many flows it sums" },
];

/** A column type as Hive and Glue write it (`struct<addr:string,…>`). */
export function hiveType(type: ColumnType): string {
  if (typeof type === "object") return `struct<${type.struct.map((c) => `${c.name.toLowerCase()}:${hiveType(c.type)}`).join(",")}>`;
  switch (type) {
    case "string-array":
      return "array<string>";
    case "string-map":
      return "map<string,string>";
    default:
      return type;
  }
}

const DUCKDB_TYPES: Readonly<Record<Exclude<ColumnType, object>, string>> = {
  int: "INTEGER",
  bigint: "BIGINT",
  string: "VARCHAR",
  boolean: "BOOLEAN",
  "string-array": "VARCHAR[]",
  "string-map": "MAP(VARCHAR, VARCHAR)",
};

/** A column type as DuckDB writes it (`STRUCT("Addr" VARCHAR, …)`). */
function duckDbType(type: ColumnType): string {
  if (typeof type === "object") return `STRUCT(${type.struct.map((c) => `"${c.name}" ${duckDbType(c.type)}`).join(", ")})`;
  return DUCKDB_TYPES[type];
}

/**
 * The enriched record as one DuckDB STRUCT type. DuckDB casts a struct to it by field name, in
 * any case (so the Glue table's lower-case Parquet columns read as the record's), leaving absent
 * fields NULL; json_transform reads a record's JSON into it the same way, but by exact name.
 */
export function duckDbRecordType(): string {
  return duckDbType({ struct: ENRICHED_COLUMNS });
}
