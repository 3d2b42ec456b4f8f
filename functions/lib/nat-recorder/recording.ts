/** Alarms watched by the recorder are named `<ALARM_NAME_PREFIX><nat gateway id>`, so events name their NAT gateway. */
export const ALARM_NAME_PREFIX = "flowtap-nat-traffic/";

/**
 * The flow log format of a recording: the fields that explain NAT traffic (which way, which
 * path, who to whom, which AWS service), as the vpc-flowlogs-recorder tool recorded them.
 */
export const RECORDING_LOG_FORMAT = [
  "interface-id",
  "action",
  "flow-direction",
  "traffic-path",
  "srcaddr",
  "srcport",
  "dstaddr",
  "dstport",
  "protocol",
  "bytes",
  "type",
  "pkt-srcaddr",
  "pkt-dstaddr",
  "pkt-src-aws-service",
  "pkt-dst-aws-service",
]
  .map((field) => `\${${field}}`)
  .join(" ");

/** The Logs Insights query of a recording's top talkers; also saved as a query definition in the console. */
export const TOP_TALKERS_QUERY = [
  'parse @message "* * * * * * * * * * * * * * *" as interfaceId, action, flowDirection, trafficPath, srcAddr, srcPort, dstAddr, dstPort, protocol, bytes, type, pktSrcAddr, pktDstAddr, pktSrcAwsService, pktDstAwsService',
  "| stats sum(bytes) as totalBytes, count(*) as flows by pktSrcAddr, pktDstAddr, pktDstAwsService, trafficPath",
  "| sort totalBytes desc",
  "| limit 20",
].join("\n");

/** The NAT gateway an alarm watches, from the alarm's name; undefined for any other alarm. */
export function natGatewayOfAlarm(alarmName: string): string | undefined {
  if (!alarmName.startsWith(ALARM_NAME_PREFIX)) return undefined;
  const id = alarmName.slice(ALARM_NAME_PREFIX.length);
  return /^nat-[0-9a-f]{8,17}$/.test(id) ? id : undefined;
}

/** One row of the top-talkers query, as the summary reports it. */
export interface TopTalker {
  readonly source: string;
  readonly destination: string;
  readonly destinationService: string;
  readonly trafficPath: string;
  readonly bytes: number;
  readonly flows: number;
}

/** Rows of GetQueryResults (`[{field, value}]` each) as top talkers. */
export function topTalkers(results: readonly (readonly { field?: string; value?: string }[])[]): TopTalker[] {
  return results.map((row) => {
    const get = (name: string) => row.find((c) => c.field === name)?.value ?? "-";
    return {
      source: get("pktSrcAddr"),
      destination: get("pktDstAddr"),
      destinationService: get("pktDstAwsService"),
      trafficPath: get("trafficPath"),
      bytes: Number(get("totalBytes")) || 0,
      flows: Number(get("flows")) || 0,
    };
  });
}

const TRAFFIC_PATHS: Readonly<Record<string, string>> = {
  "1": "through another resource in the VPC",
  "2": "through an internet gateway or gateway endpoint",
  "3": "through a virtual private gateway",
  "4": "through an intra-region VPC peering connection",
  "5": "through an inter-region VPC peering connection",
  "6": "through a local gateway",
  "7": "through a gateway VPC endpoint (Nitro)",
  "8": "through an internet gateway (Nitro)",
};

function humanBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** The notification of a recording: what happened and, when the query ran, what caused it. */
export function recordingSummary(input: {
  readonly natGatewayId: string;
  readonly alarmName: string;
  readonly startTime: string;
  readonly endTime: string;
  readonly logGroupName: string;
  readonly talkers?: readonly TopTalker[];
  readonly queryError?: string;
}): { subject: string; message: string } {
  const lines = [
    `flowtap recorded VPC flow logs on NAT gateway ${input.natGatewayId} from ${input.startTime} to ${input.endTime}, while alarm ${input.alarmName} was in ALARM.`,
    `The records are in log group ${input.logGroupName}.`,
    "",
  ];
  if (input.talkers && input.talkers.length > 0) {
    lines.push("Top talkers by bytes:");
    for (const t of input.talkers) {
      const service = t.destinationService !== "-" ? ` (${t.destinationService})` : "";
      const pathText = TRAFFIC_PATHS[t.trafficPath] ?? (t.trafficPath !== "-" ? `traffic path ${t.trafficPath}` : "");
      lines.push(`  ${humanBytes(t.bytes).padStart(10)}  ${t.source} -> ${t.destination}${service}${pathText ? `, ${pathText}` : ""}, ${t.flows} flow records`);
    }
  } else if (input.queryError) {
    lines.push(`The top-talkers query did not run (${input.queryError}); run the saved query "flowtap/nat-top-talkers" in CloudWatch Logs Insights over that window.`);
  } else {
    lines.push("No flow was recorded in that window.");
  }
  // SNS subjects are at most 100 characters.
  return { subject: `flowtap: NAT gateway ${input.natGatewayId} traffic recorded`.slice(0, 100), message: lines.join("\n") };
}
