import { z } from "zod";

/** The features an account enables in `accounts[].features`; each is a member stack of that name. */
export const FEATURES = ["ec2-mirroring", "fargate-mirroring", "nat-flow-recorder", "flow-log-sg-enrichment", "flow-insights"] as const;
export type Feature = (typeof FEATURES)[number];
/** The features that traffic-mirror sources to a target, and their key under `features:`. */
export const MIRRORING_FEATURES = { "ec2-mirroring": "ec2Mirroring", "fargate-mirroring": "fargateMirroring" } as const;

const accountId = z.string().regex(/^\d{12}$/, "expected a 12-digit AWS account id in quotes, e.g. \"123456789012\"").meta({ title: "account id (12 digits, quoted)" });
const region = z
  .string()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, "expected an AWS region name such as us-east-1")
  .meta({ title: "region" });
const tagKey = z.string().min(1).max(128).meta({ title: "tag key" });
const ouId = z.string().regex(/^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$/, "expected an OU id such as ou-ab12-34cd56ef or a root id such as r-ab12").meta({ title: "OU or root id" });
const tagValue = z.string().max(256).meta({ title: "tag value" });
const vpcId = z.string().regex(/^vpc-[0-9a-f]{8,17}$/, "expected a VPC id such as vpc-0abc1234def567890").meta({ title: "VPC id" });
/** VPCs whose flow logs a feature creates, per region. */
const vpcIdsByRegion = z.record(region, z.array(vpcId).min(1));
const flowLogTrafficType = z.enum(["ALL", "ACCEPT", "REJECT"]).describe("Which traffic the flow logs record.");
const subnetId = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "expected a subnet id such as subnet-0abc1234def567890").meta({ title: "subnet id" });
const mirrorTargetId = z
  .string()
  .regex(/^tmt-[0-9a-f]{8,17}$/, "expected a traffic mirror target id such as tmt-0123456789abcdef0")
  .meta({ title: "traffic mirror target id" });
/** An EventBridge Scheduler-style rate or cron expression, as `aws_cloudwatch_event_rule.schedule_expression` takes. */
const scheduleExpression = z
  .string()
  .regex(
    /^(rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)|cron\(\S+( \S+){5}\))$/,
    'expected "rate(1 hour)", "rate(15 minutes)" or a six-field "cron(...)" expression',
  )
  .meta({ title: "rate(...) or cron(...) expression" });

/**
 * Settings both mirroring features share. Each may be given organization-wide under
 * `features.<feature>` and overridden per account under `accounts[].<feature>`.
 */
const mirroringFields = {
  targetIds: z.record(region, mirrorTargetId).describe("The traffic mirror target per region (targets are regional; a RAM-shared target keeps its id). Unset for a region where `features.mirrorTarget` has targets: those are used, per zone."),
  excludeTagKey: tagKey.describe("Instances carrying this tag (the sensors themselves, typically) are never mirrored."),
  excludeTagValue: tagValue.optional().describe("With `excludeTagKey`: only this exact value excludes. Unset: the key with any value excludes."),
  includeTagKey: tagKey.optional().describe("When set, only sources carrying this tag are mirrored."),
  includeTagValue: tagValue.optional().describe("With `includeTagKey`: only this exact value includes."),
  subnetIds: z.array(subnetId).describe("Only ENIs in these subnets are mirrored; empty means every subnet."),
  sessionNumber: z.number().int().min(1).max(32766).describe("The preferred session number (1-32766); the lowest free one is used when an ENI already has it."),
  virtualNetworkId: z.number().int().min(0).max(16777215).optional().describe("The VXLAN network identifier sessions carry; unset lets AWS choose one."),
  packetLength: z.number().int().min(1).max(8947).optional().describe("Bytes of each packet to mirror; unset mirrors whole packets."),
  reconcileSchedule: scheduleExpression.describe("How often the reconciler sweeps every running source."),
  logRetentionDays: z.union([
    z.literal(1), z.literal(3), z.literal(5), z.literal(7), z.literal(14), z.literal(30), z.literal(60),
    z.literal(90), z.literal(120), z.literal(150), z.literal(180), z.literal(365), z.literal(400),
    z.literal(545), z.literal(731), z.literal(1096), z.literal(1827), z.literal(2192), z.literal(2557),
    z.literal(2922), z.literal(3288), z.literal(3653),
  ], { error: "expected a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days" }).describe("Retention of the functions' log groups, in days."),
};

const ec2MirroringFields = {
  ...mirroringFields,
  excludeEksNodes: z.boolean().describe("Skip EKS and Karpenter nodes (their pods' traffic is better mirrored at the pod network)."),
  vpcIds: z.array(vpcId).describe("Only ENIs in these VPCs are mirrored; empty means every VPC."),
};

const ecsName = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, "expected a name of letters, digits, hyphens and underscores").meta({ title: "ECS name" });
const fargateMirroringFields = {
  ...mirroringFields,
  clusters: z.array(ecsName).describe("Only tasks in these clusters (names) are mirrored; empty means every cluster."),
  services: z.array(ecsName).describe("Only tasks of these services are mirrored; empty means every task."),
  taskDefinitionFamilies: z.array(ecsName).describe("Only tasks of these task definition families are mirrored; empty means every family."),
};

const sharedDefaults = {
  excludeTagKey: "flowtap:exclude",
  subnetIds: [] as string[],
  sessionNumber: 1,
  reconcileSchedule: "rate(1 hour)",
  logRetentionDays: 30 as const,
};
export const ec2MirroringDefaults = { ...sharedDefaults, excludeEksNodes: true, vpcIds: [] as string[] };
export const fargateMirroringDefaults = { ...sharedDefaults, clusters: [] as string[], services: [] as string[], taskDefinitionFamilies: [] as string[] };

const retentionDays = mirroringFields.logRetentionDays;

/**
 * Settings of `nat-flow-recorder`: record flow logs on a NAT gateway's ENIs while its traffic
 * alarm is in ALARM. Organization-wide under `features.natFlowRecorder`, per account under
 * `accounts[].natFlowRecorder`.
 */
const natFlowRecorderFields = {
  natGatewayIds: z
    .record(region, z.array(z.string().regex(/^nat-[0-9a-f]{8,17}$/, "expected a NAT gateway id such as nat-0123456789abcdef0").meta({ title: "NAT gateway id" })).min(1))
    .describe("The NAT gateways to watch, per region. A region without a list watches every NAT gateway it has, those created later too (natGatewayTagKey narrows it)."),
  natGatewayTagKey: z.string().min(1).max(128).describe("Where NAT gateways are found rather than listed: watch only those with this tag."),
  natGatewayTagValue: z.string().max(256).describe("With natGatewayTagKey: only those whose tag has this value."),
  periodSeconds: z.number().int().min(60).refine((n) => n % 60 === 0, "expected 60 or a multiple of 60 seconds").describe("The alarm's period, in seconds (60 or a multiple of it)."),
  evaluationPeriods: z.number().int().min(1).max(100).describe("How many of the latest periods the alarm looks at."),
  datapointsToAlarm: z.number().int().min(1).max(100).describe("How many of those periods must breach to raise the alarm (at most `evaluationPeriods`)."),
  thresholdBytes: z.number().positive().describe("Bytes through the NAT gateway (to and from destinations) per period that raise the alarm."),
  anomalyDetection: z.boolean().describe("Alarm on a CloudWatch anomaly-detection band instead of `thresholdBytes`."),
  anomalyBandWidth: z.number().positive().max(10).describe("The band's width, in standard deviations."),
  recordingMinutes: z.number().int().min(1).max(10080).describe("How long one recording lasts at most; it stops earlier when the alarm clears."),
  maxRecordings: z.number().int().min(0).describe("Recordings per NAT gateway before it records no more; 0 means unlimited."),
  logRetentionDays: retentionDays,
  logGroupClass: z
    .enum(["STANDARD", "INFREQUENT_ACCESS"])
    .describe("The recordings' log group class: Infrequent Access costs half per GB ingested and still answers Logs Insights, which the summary uses; Standard adds metric filters, subscriptions and Live Tail. A log group's class cannot be changed (see nat-flow-recorder.md)."),
  notificationEmail: z.string().email("expected an email address").optional().describe("Where the summary of each recording is mailed (an SNS email subscription to confirm)."),
};
const natFlowRecorderSettings = z.object(natFlowRecorderFields).partial().strict();
export const natFlowRecorderDefaults = {
  periodSeconds: 60,
  evaluationPeriods: 5,
  datapointsToAlarm: 3,
  anomalyDetection: false,
  anomalyBandWidth: 2,
  recordingMinutes: 60,
  maxRecordings: 0,
  logRetentionDays: 30 as const,
  logGroupClass: "INFREQUENT_ACCESS" as const,
};
/** Every `nat-flow-recorder` setting of one workspace. */
export type NatFlowRecorderResolved = z.infer<z.ZodObject<typeof natFlowRecorderFields>>;

/**
 * Settings of `flow-log-sg-enrichment`: VPC flow logs to Firehose, enriched with security groups
 * on the way to S3. Organization-wide under `features.flowLogSgEnrichment`, per account under
 * `accounts[].flowLogSgEnrichment`.
 */
const flowLogSgEnrichmentFields = {
  vpcIds: vpcIdsByRegion.describe("The VPCs whose flow logs are enriched, per region."),
  trafficType: flowLogTrafficType,
  intelligentTieringDays: z.number().int().min(0).describe("Days after which enriched objects move to S3 Intelligent-Tiering; 0 stores them there from the start."),
  expirationDays: z.number().int().min(1).describe("Days after which enriched objects (and failed records) are deleted."),
  bufferingSeconds: z.number().int().min(60).max(900).describe("Seconds Firehose buffers before writing to S3 (60-900); larger means fewer, bigger objects."),
  lookupTtlSeconds: z.number().int().min(0).max(86400).describe("How long the function trusts an ENI or security group lookup, in seconds."),
  queryScanLimitGiB: z.number().positive().min(0.01).describe("GiB one Athena query may scan before the workgroup cancels it (Athena's minimum is 10 MiB)."),
  logRetentionDays: retentionDays,
};
const flowLogSgEnrichmentSettings = z.object(flowLogSgEnrichmentFields).partial().strict();
export const flowLogSgEnrichmentDefaults = {
  trafficType: "ALL" as const,
  intelligentTieringDays: 0,
  expirationDays: 400,
  bufferingSeconds: 300,
  lookupTtlSeconds: 300,
  queryScanLimitGiB: 100,
  logRetentionDays: 30 as const,
};
/** Every `flow-log-sg-enrichment` setting of one workspace. */
export type FlowLogSgEnrichmentResolved = z.infer<z.ZodObject<typeof flowLogSgEnrichmentFields>>;

/**
 * Settings of `flow-insights` a member account may have its own of: organization-wide under
 * `features.flowInsights`, per account under `accounts[].flowInsights`.
 */
const flowInsightsMemberFields = {
  vpcIds: vpcIdsByRegion.describe("The VPCs whose flow logs go to the central pipeline, per region."),
  trafficType: flowLogTrafficType,
  flowLogRetentionDays: retentionDays.describe("Days the member account's flow log group keeps records (the central pipeline is the store)."),
};
/** Settings of `flow-insights` that only the central pipeline has: under `features.flowInsights`. */
const flowInsightsCentralFields = {
  inventoryExternalId: z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, "expected 2-1224 characters of [A-Za-z0-9+=,.@:/_-]").meta({ title: "ExternalId (2-1224 characters)" }).describe("The ExternalId the central inventory function gives when it assumes member accounts' inventory roles."),
  windowSeconds: z.number().int().min(60).max(900).describe("The tumbling window the enrichment function aggregates over, in seconds (Lambda allows up to 900)."),
  inventoryRefreshSchedule: scheduleExpression.describe("How often every member account's ENIs are described in full."),
  inventoryRetentionDays: z.number().int().min(1).describe("Days an ended ownership stays in the inventory (late records older than this resolve to nothing)."),
  intelligentTieringDays: flowLogSgEnrichmentFields.intelligentTieringDays,
  expirationDays: flowLogSgEnrichmentFields.expirationDays,
  queryScanLimitGiB: flowLogSgEnrichmentFields.queryScanLimitGiB,
  inventoryReservedConcurrency: z.number().int().min(1).max(1000).describe("Instances of a region's inventory function that may run at once (it is fed by every member's events); its throttles alarm."),
  logRetentionDays: retentionDays,
  recentEnabled: z.boolean().describe("Also keep the last days' aggregates in a store queryable within about two minutes of their arrival (the recent_flows table and its flowtap-recent-* queries); see flow-insights.md#recent-flows."),
  recentWindowSeconds: z.number().int().min(10).max(60).describe("The tumbling window the recent store's enrichment aggregates over, in seconds: with Firehose's 60-second buffer, it sets how fresh the recent store is."),
  recentRetentionDays: z.number().int().min(1).max(30).describe("Days the recent store keeps aggregates (the flows table keeps them for expirationDays)."),
};
const flowInsightsMemberSettings = z.object(flowInsightsMemberFields).partial().strict();
const flowInsightsSettings = z.object({ ...flowInsightsMemberFields, ...flowInsightsCentralFields }).partial().strict();
export const flowInsightsDefaults = {
  trafficType: "ALL" as const,
  flowLogRetentionDays: 1 as const,
  windowSeconds: 300,
  inventoryRefreshSchedule: "rate(6 hours)",
  inventoryRetentionDays: 400,
  intelligentTieringDays: 0,
  expirationDays: 400,
  queryScanLimitGiB: 100,
  inventoryReservedConcurrency: 10,
  logRetentionDays: 30 as const,
  recentEnabled: false,
  recentWindowSeconds: 30,
  recentRetentionDays: 2,
};
export type FlowInsightsMemberResolved = z.infer<z.ZodObject<typeof flowInsightsMemberFields>>;
export type FlowInsightsSettings = z.infer<typeof flowInsightsSettings>;

const ec2MirroringSettings = z.object(ec2MirroringFields).partial().strict();
const fargateMirroringSettings = z.object(fargateMirroringFields).partial().strict();
/** Every `ec2-mirroring` setting, as one workspace has them once defaults and overrides are applied. */
export type Ec2MirroringResolved = z.infer<z.ZodObject<typeof ec2MirroringFields>>;
/** Every `fargate-mirroring` setting, as one workspace has them once defaults and overrides are applied. */
export type FargateMirroringResolved = z.infer<z.ZodObject<typeof fargateMirroringFields>>;

/** One traffic mirror target of the sensors: exactly one of an NLB, a Gateway LB endpoint or an ENI. */
const mirrorTargetSpec = z
  .object({
    region: region.describe("The region of the target."),
    zoneId: z.string().regex(/^[a-z]{2,}[0-9]?-az[0-9]+$/, "expected an availability zone id such as use1-az1").meta({ title: "zone id" }).optional().describe("The availability zone id (use1-az1, not us-east-1a: names differ between accounts) whose sources this target serves. Unset: the region's default, for zones without their own."),
    networkLoadBalancerArn: z.string().regex(/^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer\/net\/.+/, "expected a Network Load Balancer ARN").meta({ title: "NLB ARN" }).optional().describe("An NLB with a UDP 4789 listener forwarding to the sensors."),
    gatewayLoadBalancerEndpointId: z.string().regex(/^vpce-[0-9a-f]{8,17}$/, "expected a VPC endpoint id such as vpce-0123456789abcdef0").meta({ title: "VPC endpoint id" }).optional().describe("A Gateway Load Balancer endpoint in front of the sensors."),
    networkInterfaceId: z.string().regex(/^eni-[0-9a-f]{8,17}$/, "expected an ENI id such as eni-0123456789abcdef0").meta({ title: "ENI id" }).optional().describe("A sensor's own ENI."),
    description: z.string().max(255).optional().describe("The target's description in EC2."),
  })
  .strict()
  .refine(
    (t) => [t.networkLoadBalancerArn, t.gatewayLoadBalancerEndpointId, t.networkInterfaceId].filter(Boolean).length === 1,
    "give exactly one of networkLoadBalancerArn, gatewayLoadBalancerEndpointId and networkInterfaceId",
  );

const mirrorTarget = z
  .object({
    targets: z.array(mirrorTargetSpec).min(1, "expected at least one target").describe("The sensors' traffic mirror targets; at most one per region and zone."),
    shareWithOrganization: z.boolean().default(false).describe("Share the targets with the whole organization."),
    shareWithOus: z.array(z.string().regex(/^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$/, "expected an OU id such as ou-ab12-34cd56ef").meta({ title: "OU id" })).default([]).describe("Share with these organizational units."),
    shareWithAccounts: z.array(accountId).default([]).describe("Share with these accounts."),
  })
  .strict();
export type MirrorTargetConfig = z.infer<typeof mirrorTarget>;

const account = z
  .object({
    id: accountId.describe("The member account."),
    name: z.string().min(1).max(50).describe("A name for people: rollout.json, ROLLOUT.md and the rollout's logs show it."),
    ou: ouId.optional().describe("The account's organizational unit: an OU id (ou-...) or the root (r-...)."),
    regions: z.array(region).default([]).describe("Where the account's features are deployed; may be empty for an account with no features."),
    features: z.array(z.enum(FEATURES, { error: `expected one of: ${FEATURES.join(", ")}` })).describe("The member stacks deployed to each of the account's regions."),
    ec2Mirroring: ec2MirroringSettings.optional().describe("This account's own `ec2Mirroring` settings, over `features.ec2Mirroring`."),
    fargateMirroring: fargateMirroringSettings.optional().describe("This account's own `fargateMirroring` settings, over `features.fargateMirroring`."),
    natFlowRecorder: natFlowRecorderSettings.optional().describe("This account's own `natFlowRecorder` settings, over `features.natFlowRecorder`."),
    flowLogSgEnrichment: flowLogSgEnrichmentSettings.optional().describe("This account's own `flowLogSgEnrichment` settings, over `features.flowLogSgEnrichment`."),
    flowInsights: flowInsightsMemberSettings.optional().describe("This account's own `flowInsights` settings, over `features.flowInsights`."),
  })
  .strict();

const s3Backend = z
  .object({
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "expected an S3 bucket name").meta({ title: "bucket name" }).describe("The bucket holding every stack's state (versioning on, as Terraform recommends)."),
    region: region.describe("The bucket's region."),
    keyPrefix: z.string().min(1).default("flowtap").describe("Prefix of each stack's state key: `<keyPrefix>/<stack>.tfstate`."),
    workspaceKeyPrefix: z.string().min(1).default("flowtap-workspaces").describe("Prefix of the per-workspace state keys."),
    useLockfile: z.boolean().default(true).describe("S3 native state locking (Terraform 1.10+)."),
  })
  .strict();

const orgConfigBase = z
  .object({
    organization: z
      .object({
        id: z.string().regex(/^o-[a-z0-9]{10,32}$/, "expected an AWS Organizations id such as o-a1b2c3d4e5").meta({ title: "organization id" }).describe("The organization (o-...): trust and resource policies admit its principals only."),
        name: z.string().min(1).describe("A name for people, shown in ROLLOUT.md."),
        managementAccountId: accountId.optional().describe("The management account: organization and OU ARNs (RAM principals) contain it."),
        organizationalUnits: z
          .array(
            z
              .object({
                id: ouId.describe("The OU's id."),
                name: z.string().min(1).describe("The OU's name."),
                path: z.string().optional().describe("The OU's path from the root, e.g. `Root/Workloads/Prod`."),
              })
              .strict(),
          )
          .optional().describe("The organizational units accounts may name, as `flowtap accounts --from-organizations` lists them. When given, an account's `ou` (and a share's OU) must be one of them."),
      })
      .strict()
      .describe("The AWS Organization the accounts belong to."),
    central: z
      .object({
        accountId: accountId.describe("The central (security) account: mirror targets, the flow-insights pipeline."),
        region: region.describe("The central account's home region: the flow-insights bucket, Glue tables and Athena workgroup."),
      })
      .strict()
      .describe("The central account."),
    rollout: z
      .object({
        assumeRoleName: z.string().regex(/^[\w+=,.@/-]{1,64}$/, "expected an IAM role name").meta({ title: "IAM role name" }).default("OrganizationAccountAccessRole").describe("The role assumed in each member account."),
        externalId: z.string().min(2).max(1224).optional().describe("The ExternalId given when assuming that role, if its trust requires one."),
        sessionName: z
          .string()
          .regex(/^[\w+=,.@-]{2,64}$/, "expected 2-64 characters of [A-Za-z0-9+=,.@_-]")
          .meta({ title: "session name (2-64 characters)" })
          .default("flowtap")
          .describe("The role session's name, as CloudTrail shows it."),
      })
      .strict()
      .default({ assumeRoleName: "OrganizationAccountAccessRole", sessionName: "flowtap" })
      .describe("How Terraform reaches each member account."),
    backend: z
      .object({ s3: s3Backend.describe("An S3 backend: one state key per stack, member workspaces under `workspaceKeyPrefix`, encrypted.") })
      .strict()
      .optional()
      .describe("Where Terraform keeps state. Unset: local state files beside the project."),
    tags: z.record(tagKey, tagValue).default({}).describe("Tags on every resource, beside `ManagedBy=flowtap` and the feature's."),
    alarmEmail: z.string().email("expected an email address").optional().describe("Where every feature's alarms are mailed (an SNS email subscription per topic, to confirm)."),
    features: z
      .object({
        ec2Mirroring: ec2MirroringSettings.optional().describe("Organization-wide `ec2Mirroring` settings."),
        fargateMirroring: fargateMirroringSettings.optional().describe("Organization-wide `fargateMirroring` settings."),
        natFlowRecorder: natFlowRecorderSettings.optional().describe("Organization-wide `natFlowRecorder` settings."),
        flowLogSgEnrichment: flowLogSgEnrichmentSettings.optional().describe("Organization-wide `flowLogSgEnrichment` settings."),
        flowInsights: flowInsightsSettings.optional().describe("Organization-wide `flowInsights` settings."),
        mirrorTarget: mirrorTarget.optional().describe("The sensors' traffic mirror targets, deployed by the central `mirror-target` stack."),
      })
      .strict()
      .default({})
      .describe("Organization-wide settings of each feature."),
    accounts: z.array(account).min(1, "expected at least one member account").describe("The member accounts and what runs in each."),
  })
  .strict();

export const orgConfigSchema = orgConfigBase
  .superRefine((config, ctx) => {
    checkMirrorTarget(config, ctx);
    if (config.accounts.some((a) => a.features.includes("flow-insights")) && !config.features.flowInsights?.inventoryExternalId) {
      ctx.addIssue({ code: "custom", path: ["features", "flowInsights"], message: "flow-insights needs features.flowInsights.inventoryExternalId: the central inventory function gives it when it assumes member accounts' roles" });
    }
    const knownOus = config.organization.organizationalUnits ? new Set(config.organization.organizationalUnits.map((ou) => ou.id)) : undefined;
    const unknownOu = (ou: string) => knownOus !== undefined && !knownOus.has(ou) && !ou.startsWith("r-");
    config.features.mirrorTarget?.shareWithOus.forEach((ou, i) => {
      if (unknownOu(ou)) ctx.addIssue({ code: "custom", path: ["features", "mirrorTarget", "shareWithOus", i], message: `${ou} is not in organization.organizationalUnits` });
    });
    const seen = new Map<string, number>();
    config.accounts.forEach((acct, index) => {
      const first = seen.get(acct.id);
      if (first !== undefined) {
        ctx.addIssue({ code: "custom", path: ["accounts", index, "id"], message: `account ${acct.id} is listed twice (first at accounts[${first}]); merge the two entries` });
      } else {
        seen.set(acct.id, index);
      }
      if (acct.ou !== undefined && unknownOu(acct.ou)) {
        ctx.addIssue({ code: "custom", path: ["accounts", index, "ou"], message: `${acct.ou} is not in organization.organizationalUnits; add it there, or fix the id (flowtap accounts --from-organizations lists them)` });
      }
      if (acct.features.length > 0 && acct.regions.length === 0) {
        ctx.addIssue({ code: "custom", path: ["accounts", index, "features"], message: `${acct.features.join(", ")} enabled but the account has no region to deploy to: add regions, or remove the features` });
      }
      if (acct.features.includes("nat-flow-recorder")) {
        const merged = { ...natFlowRecorderDefaults, ...config.features.natFlowRecorder, ...acct.natFlowRecorder };
        if (merged.natGatewayTagValue !== undefined && merged.natGatewayTagKey === undefined) {
          ctx.addIssue({ code: "custom", path: ["accounts", index, "natFlowRecorder"], message: "nat-flow-recorder: natGatewayTagValue needs natGatewayTagKey" });
        }
        if (!merged.anomalyDetection && merged.thresholdBytes === undefined) {
          ctx.addIssue({ code: "custom", path: ["accounts", index, "features"], message: "nat-flow-recorder needs thresholdBytes, or anomalyDetection: true" });
        }
        if (merged.datapointsToAlarm > merged.evaluationPeriods) {
          ctx.addIssue({ code: "custom", path: ["accounts", index, "natFlowRecorder"], message: `datapointsToAlarm (${merged.datapointsToAlarm}) cannot exceed evaluationPeriods (${merged.evaluationPeriods})` });
        }
      }
      for (const [feature, key] of [["flow-log-sg-enrichment", "flowLogSgEnrichment"], ["flow-insights", "flowInsights"]] as const) {
        if (!acct.features.includes(feature)) continue;
        const vpcs = { ...config.features[key]?.vpcIds, ...acct[key]?.vpcIds };
        acct.regions.forEach((r, ri) => {
          if (!vpcs[r]) {
            ctx.addIssue({ code: "custom", path: ["accounts", index, "regions", ri], message: `${feature} is enabled here but no VPC is listed for ${r}: add accounts[${index}].${key}.vpcIds.${r}` });
          }
        });
      }
      acct.regions.forEach((r, ri) => {
        if (acct.regions.indexOf(r) !== ri) {
          ctx.addIssue({ code: "custom", path: ["accounts", index, "regions", ri], message: `region ${r} is listed twice` });
        }
      });
      for (const [feature, key] of Object.entries(MIRRORING_FEATURES) as [Feature, "ec2Mirroring" | "fargateMirroring"][]) {
        if (!acct.features.includes(feature)) continue;
        const merged: { includeTagKey?: string; includeTagValue?: string } = { ...config.features[key], ...acct[key] };
        const targets = { ...config.features[key]?.targetIds, ...acct[key]?.targetIds };
        for (const r of acct.regions) {
          if (!targets[r] && !config.features.mirrorTarget?.targets.some((t) => t.region === r)) {
            ctx.addIssue({
              code: "custom",
              path: ["accounts", index, "regions", acct.regions.indexOf(r)],
              message: `${feature} is enabled here but no mirror target is set for ${r}: add features.${key}.targetIds.${r} (or accounts[${index}].${key}.targetIds.${r}), or a target in ${r} under features.mirrorTarget.targets`,
            });
          }
        }
        if (merged.includeTagValue !== undefined && merged.includeTagKey === undefined) {
          ctx.addIssue({ code: "custom", path: ["accounts", index, key], message: "includeTagValue is set without includeTagKey" });
        }
      }
    });
  });

export type OrgConfig = z.infer<typeof orgConfigSchema>;

/** Checks of `features.mirrorTarget` that need the rest of the document. */
function checkMirrorTarget(config: z.infer<typeof orgConfigBase>, ctx: z.RefinementCtx): void {
  const spec = config.features.mirrorTarget;
  if (!spec) return;
  const seen = new Map<string, number>();
  spec.targets.forEach((t, i) => {
    const key = `${t.region}/${t.zoneId ?? "default"}`;
    const first = seen.get(key);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["features", "mirrorTarget", "targets", i],
        message: t.zoneId
          ? `a second target for zone ${t.zoneId} (first at targets[${first}]); one target per availability zone`
          : `a second default target for ${t.region} (first at targets[${first}]); give one of them a zoneId`,
      });
    } else {
      seen.set(key, i);
    }
  });
  const ways = [spec.shareWithOrganization, spec.shareWithOus.length > 0, spec.shareWithAccounts.length > 0].filter(Boolean).length;
  if (ways !== 1) {
    ctx.addIssue({ code: "custom", path: ["features", "mirrorTarget"], message: "share the targets one way: shareWithOrganization: true, shareWithOus: [...] or shareWithAccounts: [...]" });
  }
  if ((spec.shareWithOrganization || spec.shareWithOus.length > 0) && !config.organization.managementAccountId) {
    ctx.addIssue({ code: "custom", path: ["organization"], message: "sharing with the organization or OUs needs organization.managementAccountId (organization and OU ARNs contain it)" });
  }
}
export type Ec2MirroringSettings = z.infer<typeof ec2MirroringSettings>;
