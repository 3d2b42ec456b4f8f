import { Fn, TerraformIterator, Token, type TerraformMetaArguments } from "cdktf";
import type { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { EXAMPLE_IDS, type RoleCall } from "./runtime-calls";

export interface MirroringPermissionsProps {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  /** The filter sessions use. */
  readonly mirrorFilterId: string;
  /** The targets sessions may use, as JSON `{"<zone id>|default": "tmt-..."}` (a Terraform value allowed). */
  readonly mirrorTargets: string;
  /** Also allow removing sessions flowtap created (the reconcilers). */
  readonly removeSessions: boolean;
}

/**
 * The EC2 permissions of a function that mirrors sources: describe what it must, create sessions
 * only from this account's ENIs with the stack's filter to the configured targets (in any account,
 * as a RAM-shared target lives in the sensor account), only tagged `ManagedBy=flowtap`, and,
 * for reconcilers, delete only sessions so tagged.
 */
export function mirroringPolicyStatements(props: MirroringPermissionsProps): DataAwsIamPolicyDocumentStatement[] {
  const { partition, region, account } = props;
  const ec2Arn = (resource: string) => `arn:${partition}:ec2:${region}:${account}:${resource}`;
  // A for-expression over the targets' ids, so the ARNs follow whatever the workspace resolves.
  const targetIds = TerraformIterator.fromList(Fn.values(Fn.jsondecode(props.mirrorTargets)));
  const targetArns = Token.asList(
    targetIds.forExpressionForList(`"arn:\${${partition}}:ec2:\${${region}}:*:traffic-mirror-target/\${val}"`),
  );
  return [
    {
      sid: "Describe",
      actions: [
        "ec2:DescribeTrafficMirrorSessions",
        "ec2:DescribeTrafficMirrorTargets",
        "ec2:DescribeAvailabilityZones",
      ],
      resources: ["*"],
    },
    {
      sid: "MirrorSourcesWithTheFilter",
      actions: ["ec2:CreateTrafficMirrorSession"],
      resources: [ec2Arn("network-interface/*"), ec2Arn(`traffic-mirror-filter/${props.mirrorFilterId}`)],
    },
    { sid: "MirrorToTheTargets", actions: ["ec2:CreateTrafficMirrorSession"], resources: targetArns },
    {
      sid: "CreateTaggedSessions",
      actions: ["ec2:CreateTrafficMirrorSession"],
      resources: [ec2Arn("traffic-mirror-session/*")],
      condition: [{ test: "StringEquals", variable: "aws:RequestTag/ManagedBy", values: ["flowtap"] }],
    },
    {
      sid: "TagSessionsOnCreate",
      actions: ["ec2:CreateTags"],
      resources: [ec2Arn("traffic-mirror-session/*")],
      condition: [{ test: "StringEquals", variable: "ec2:CreateAction", values: ["CreateTrafficMirrorSession"] }],
    },
    ...(props.removeSessions
      ? [
          {
            sid: "RemoveOwnSessions",
            actions: ["ec2:DeleteTrafficMirrorSession"],
            resources: [ec2Arn("traffic-mirror-session/*")],
            condition: [{ test: "StringEquals", variable: "aws:ResourceTag/ManagedBy", values: ["flowtap"] }],
          },
        ]
      : []),
  ];
}

/** The requests {@link mirroringPolicyStatements} is for, and those it must refuse. */
export function mirroringCalls(props: MirroringPermissionsProps): RoleCall[] {
  const { partition, region, account } = props;
  const ec2Arn = (resource: string) => `arn:${partition}:ec2:${region}:${account}:${resource}`;
  // The first of the workspace's targets; a RAM-shared target is authorized as one of the account's own.
  const target = Token.asString(Fn.element(Fn.values(Fn.jsondecode(props.mirrorTargets)), 0));
  const tagged = { "aws:RequestTag/ManagedBy": "flowtap", "aws:TagKeys": ["ManagedBy"] };
  const create = "ec2:CreateTrafficMirrorSession";
  return [
    ...["ec2:DescribeTrafficMirrorSessions", "ec2:DescribeTrafficMirrorTargets", "ec2:DescribeAvailabilityZones"].map((action) => ({
      action,
      resource: "*",
      reason: "a source's sessions, the targets and the zone ids of the region",
    })),
    { action: create, resource: ec2Arn(`network-interface/${EXAMPLE_IDS.networkInterface}`), context: tagged, reason: "a session mirrors an ENI of this account" },
    { action: create, resource: ec2Arn(`traffic-mirror-filter/${props.mirrorFilterId}`), context: tagged, reason: "with the stack's filter" },
    { action: create, resource: ec2Arn(`traffic-mirror-target/${target}`), context: tagged, reason: "to a target of the workspace" },
    { action: create, resource: ec2Arn("traffic-mirror-session/*"), context: tagged, reason: "the new session, tagged ManagedBy=flowtap" },
    { action: create, resource: ec2Arn("traffic-mirror-session/*"), expect: "Denied", reason: "a session not tagged ManagedBy=flowtap" },
    { action: create, resource: ec2Arn("traffic-mirror-filter/tmf-0fedcba9876543210"), context: tagged, expect: "Denied", reason: "another filter" },
    { action: create, resource: ec2Arn("traffic-mirror-target/tmt-0fedcba9876543210"), context: tagged, expect: "Denied", reason: "a target the workspace was not given" },
    { action: "ec2:CreateTags", resource: ec2Arn("traffic-mirror-session/*"), context: { "ec2:CreateAction": "CreateTrafficMirrorSession", ...tagged }, reason: "the session's tags, as it is created" },
    { action: "ec2:CreateTags", resource: ec2Arn(`traffic-mirror-session/${EXAMPLE_IDS.trafficMirrorSession}`), context: tagged, expect: "Denied", reason: "retagging a session that exists" },
    ...(props.removeSessions
      ? [
          {
            action: "ec2:DeleteTrafficMirrorSession",
            resource: ec2Arn(`traffic-mirror-session/${EXAMPLE_IDS.trafficMirrorSession}`),
            context: { "aws:ResourceTag/ManagedBy": "flowtap" },
            reason: "the reconciler removes a session flowtap made that is no longer wanted",
          },
          {
            action: "ec2:DeleteTrafficMirrorSession",
            resource: ec2Arn(`traffic-mirror-session/${EXAMPLE_IDS.trafficMirrorSession}`),
            context: { "aws:ResourceTag/ManagedBy": "someone-else" },
            expect: "Denied" as const,
            reason: "a session flowtap did not make",
          },
        ]
      : []),
  ];
}

/** The inputs both mirroring modules take, and pass to their functions. */
export interface MirroringFunctionSettings extends Pick<TerraformMetaArguments, "provider"> {
  /**
   * The traffic mirror targets, as JSON mapping availability zone ids (use1-az1) and "default"
   * to target ids: `{"default":"tmt-0123456789abcdef0"}`. A source is mirrored to its zone's
   * target, else the default. Targets may be shared from another account through AWS RAM.
   */
  readonly mirrorTargets: string;
  /** The topic its alarms notify (an `AlarmTopic` of the same region). */
  readonly alarmTopicArn: string;
  /** The traffic mirror filter (tmf-...) sessions use. */
  readonly mirrorFilterId: string;
  /** Sources with this tag are never mirrored (the sensors themselves, typically). */
  readonly excludeTagKey: string;
  /** @default - any value of `excludeTagKey` excludes */
  readonly excludeTagValue?: string;
  /** @default - every source not excluded is mirrored */
  readonly includeTagKey?: string;
  /** @default - any value of `includeTagKey` includes */
  readonly includeTagValue?: string;
  /** @default - every subnet */
  readonly subnetIds?: string[];
  /** The preferred session number; the lowest free one is used when an ENI has it taken. @default 1 */
  readonly sessionNumber?: number;
  /** @default - AWS assigns a VXLAN network id */
  readonly virtualNetworkId?: number;
  /** Bytes of each packet to mirror. @default - whole packets */
  readonly packetLength?: number;
  /** How often the reconciler sweeps every running source. @default "rate(1 hour)" */
  readonly reconcileSchedule?: string;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /** Function name prefix. @default - "flowtap-<feature>" */
  readonly namePrefix?: string;
}

/** The functions' environment: the names `functions/lib/mirroring/settings.ts` reads. Unset is "". */
export function mirroringEnvironment(props: MirroringFunctionSettings, serviceName: string): Record<string, string> {
  return {
    MIRROR_TARGETS: props.mirrorTargets,
    MIRROR_FILTER_ID: props.mirrorFilterId,
    EXCLUDE_TAG_KEY: props.excludeTagKey,
    EXCLUDE_TAG_VALUE: props.excludeTagValue ?? "",
    INCLUDE_TAG_KEY: props.includeTagKey ?? "",
    INCLUDE_TAG_VALUE: props.includeTagValue ?? "",
    SUBNET_IDS: Fn.join(",", props.subnetIds ?? []),
    SESSION_NUMBER: Token.asString(props.sessionNumber ?? 1),
    VIRTUAL_NETWORK_ID: props.virtualNetworkId === undefined ? "" : Token.asString(props.virtualNetworkId),
    PACKET_LENGTH: props.packetLength === undefined ? "" : Token.asString(props.packetLength),
    POWERTOOLS_SERVICE_NAME: serviceName,
    POWERTOOLS_METRICS_NAMESPACE: "flowtap",
  };
}

/** Validates the settings that are known at synth time, with a message that says what to change. */
export function validateMirroringSettings(construct: string, props: MirroringFunctionSettings): void {
  validateMirrorTargets(construct, props.mirrorTargets);
  const check = (value: string | number | undefined, ok: (v: string) => boolean, what: string) => {
    if (value === undefined || Token.isUnresolved(value)) return;
    if (!ok(String(value))) throw new Error(`${construct}: ${what} (got "${value}")`);
  };
  check(props.sessionNumber, (v) => Number(v) >= 1 && Number(v) <= 32766, "sessionNumber must be 1-32766");
  check(props.packetLength, (v) => Number(v) >= 1 && Number(v) <= 8947, "packetLength must be 1-8947 bytes");
  check(props.virtualNetworkId, (v) => Number(v) >= 0 && Number(v) <= 16777215, "virtualNetworkId must be 0-16777215");
  check(props.excludeTagKey, (v) => v.length > 0, "excludeTagKey must not be empty");
}

/** Validates static mirror targets JSON (a Terraform value is checked by the functions at run time). */
function validateMirrorTargets(construct: string, mirrorTargets: string): void {
  if (Token.isUnresolved(mirrorTargets)) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(mirrorTargets);
  } catch {
    throw new Error(`${construct}: mirrorTargets must be JSON such as {"default":"tmt-0123456789abcdef0"} (got ${mirrorTargets})`);
  }
  const entries = typeof parsed === "object" && parsed !== null ? Object.entries(parsed) : [];
  if (entries.length === 0 || entries.some(([zone, id]) => !(zone === "default" || /-az\d+$/.test(zone)) || !/^tmt-[0-9a-f]{8,17}$/.test(String(id)))) {
    throw new Error(`${construct}: mirrorTargets must map zone ids (use1-az1) or "default" to target ids (tmt-...) (got ${mirrorTargets})`);
  }
}
