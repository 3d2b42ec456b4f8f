/**
 * Every field a VPC flow log record may carry (versions 2 to 8, as AWS documents them), and how
 * its text is read. `-` always means the field has no value in that record.
 */
export type FieldKind = "int" | "ip" | "text";

export const FLOW_LOG_FIELDS = {
  version: "int",
  "account-id": "text",
  "interface-id": "text",
  srcaddr: "ip",
  dstaddr: "ip",
  srcport: "int",
  dstport: "int",
  protocol: "int",
  packets: "int",
  bytes: "int",
  start: "int",
  end: "int",
  action: "text",
  "log-status": "text",
  // v3
  "vpc-id": "text",
  "subnet-id": "text",
  "instance-id": "text",
  "tcp-flags": "int",
  type: "text",
  "pkt-srcaddr": "ip",
  "pkt-dstaddr": "ip",
  // v4
  region: "text",
  "az-id": "text",
  "sublocation-type": "text",
  "sublocation-id": "text",
  // v5
  "pkt-src-aws-service": "text",
  "pkt-dst-aws-service": "text",
  "flow-direction": "text",
  "traffic-path": "int",
  // v7
  "ecs-cluster-arn": "text",
  "ecs-cluster-name": "text",
  "ecs-container-instance-arn": "text",
  "ecs-container-instance-id": "text",
  "ecs-container-id": "text",
  "ecs-second-container-id": "text",
  "ecs-service-name": "text",
  "ecs-task-definition-arn": "text",
  "ecs-task-arn": "text",
  "ecs-task-id": "text",
  // v8
  "reject-reason": "text",
  // Transit gateway and encryption fields, where present
  "resource-id": "text",
  "encryption-status": "int",
} as const satisfies Record<string, FieldKind>;

export type FlowLogField = keyof typeof FLOW_LOG_FIELDS;

/** The default (version 2) format, which AWS uses when CreateFlowLogs is given none. */
export const DEFAULT_FORMAT: readonly FlowLogField[] = [
  "version",
  "account-id",
  "interface-id",
  "srcaddr",
  "dstaddr",
  "srcport",
  "dstport",
  "protocol",
  "packets",
  "bytes",
  "start",
  "end",
  "action",
  "log-status",
];

/** Fields whose values are closed vocabularies: anything else is a malformed record. */
export const FIELD_VALUES: Partial<Record<FlowLogField, ReadonlySet<string>>> = {
  action: new Set(["ACCEPT", "REJECT"]),
  "log-status": new Set(["OK", "NODATA", "SKIPDATA"]),
  type: new Set(["IPv4", "IPv6", "EFA"]),
  "flow-direction": new Set(["ingress", "egress"]),
  "sublocation-type": new Set(["wavelength", "outpost", "localzone"]),
};

export function isFlowLogField(name: string): name is FlowLogField {
  return Object.prototype.hasOwnProperty.call(FLOW_LOG_FIELDS, name);
}

/** Every field, in a fixed order: a field's ordinal indexes the slots a scanned record fills. */
export const FIELD_NAMES = Object.keys(FLOW_LOG_FIELDS) as FlowLogField[];

/** A field's ordinal in FIELD_NAMES. */
export const FIELD = Object.fromEntries(FIELD_NAMES.map((name, i) => [name, i])) as { readonly [F in FlowLogField]: number };
