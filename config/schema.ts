import { z } from "zod";

/** Every feature flowtap can deploy, by the name used in `accounts[].features` and as the stack name. */
export const FEATURES = ["ec2-mirroring"] as const;
export type Feature = (typeof FEATURES)[number];

const accountId = z.string().regex(/^\d{12}$/, "expected a 12-digit AWS account id in quotes, e.g. \"123456789012\"");
const region = z
  .string()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, "expected an AWS region name such as us-east-1");
const tagKey = z.string().min(1).max(128);
const tagValue = z.string().max(256);
const vpcId = z.string().regex(/^vpc-[0-9a-f]{8,17}$/, "expected a VPC id such as vpc-0abc1234def567890");
const subnetId = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "expected a subnet id such as subnet-0abc1234def567890");
const mirrorTargetId = z
  .string()
  .regex(/^tmt-[0-9a-f]{8,17}$/, "expected a traffic mirror target id such as tmt-0123456789abcdef0");
/** An EventBridge Scheduler-style rate or cron expression, as `aws_cloudwatch_event_rule.schedule_expression` takes. */
const scheduleExpression = z
  .string()
  .regex(
    /^(rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)|cron\(\S+( \S+){5}\))$/,
    'expected "rate(1 hour)", "rate(15 minutes)" or a six-field "cron(...)" expression',
  );

/**
 * Settings of the `ec2-mirroring` feature. Each may be given organization-wide under
 * `features.ec2Mirroring` and overridden per account under `accounts[].ec2Mirroring`.
 */
const ec2MirroringFields = {
  /** The traffic mirror target per region (targets are regional; a RAM-shared target keeps its id). */
  targetIds: z.record(region, mirrorTargetId),
  /** Instances carrying this tag (the sensors themselves, typically) are never mirrored. */
  excludeTagKey: tagKey,
  /** With `excludeTagKey`: only this exact value excludes. Unset: the key with any value excludes. */
  excludeTagValue: tagValue.optional(),
  /** Skip EKS and Karpenter nodes (their pods' traffic is better mirrored at the pod network). */
  excludeEksNodes: z.boolean(),
  /** When set, only instances carrying this tag are mirrored. */
  includeTagKey: tagKey.optional(),
  /** With `includeTagKey`: only this exact value includes. */
  includeTagValue: tagValue.optional(),
  /** Only ENIs in these VPCs are mirrored; empty means every VPC. */
  vpcIds: z.array(vpcId),
  /** Only ENIs in these subnets are mirrored; empty means every subnet. */
  subnetIds: z.array(subnetId),
  /** The preferred session number (1-32766); the lowest free one is used when an ENI already has it. */
  sessionNumber: z.number().int().min(1).max(32766),
  /** The VXLAN network identifier sessions carry; unset lets AWS choose one. */
  virtualNetworkId: z.number().int().min(0).max(16777215).optional(),
  /** Bytes of each packet to mirror; unset mirrors whole packets. */
  packetLength: z.number().int().min(1).max(8947).optional(),
  /** How often the reconciler sweeps every running instance. */
  reconcileSchedule: scheduleExpression,
  /** Retention of the functions' log groups, in days. */
  logRetentionDays: z.union([
    z.literal(1), z.literal(3), z.literal(5), z.literal(7), z.literal(14), z.literal(30), z.literal(60),
    z.literal(90), z.literal(120), z.literal(150), z.literal(180), z.literal(365), z.literal(400),
    z.literal(545), z.literal(731), z.literal(1096), z.literal(1827), z.literal(2192), z.literal(2557),
    z.literal(2922), z.literal(3288), z.literal(3653),
  ], { error: "expected a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days" }),
};

export const ec2MirroringDefaults = {
  excludeTagKey: "flowtap:exclude",
  excludeEksNodes: true,
  vpcIds: [] as string[],
  subnetIds: [] as string[],
  sessionNumber: 1,
  reconcileSchedule: "rate(1 hour)",
  logRetentionDays: 30 as const,
};

const ec2MirroringSettings = z.object(ec2MirroringFields).partial().strict();
/** Every `ec2-mirroring` setting, as one workspace has them once defaults and overrides are applied. */
export type Ec2MirroringResolved = z.infer<z.ZodObject<typeof ec2MirroringFields>>;

const account = z
  .object({
    id: accountId,
    name: z.string().min(1).max(50),
    /** The account's organizational unit: an OU id (ou-...) or the root (r-...). */
    ou: z.string().regex(/^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$/, "expected an OU id such as ou-ab12-34cd56ef or a root id such as r-ab12").optional(),
    regions: z.array(region).min(1, "expected at least one region"),
    features: z.array(z.enum(FEATURES, { error: `expected one of: ${FEATURES.join(", ")}` })),
    ec2Mirroring: ec2MirroringSettings.optional(),
  })
  .strict();

const s3Backend = z
  .object({
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "expected an S3 bucket name"),
    region,
    /** Prefix of each stack's state key: `<keyPrefix>/<stack>.tfstate`. */
    keyPrefix: z.string().min(1).default("flowtap"),
    /** Prefix of the per-workspace state keys. */
    workspaceKeyPrefix: z.string().min(1).default("flowtap-workspaces"),
    /** S3 native state locking (Terraform 1.10+). */
    useLockfile: z.boolean().default(true),
  })
  .strict();

export const orgConfigSchema = z
  .object({
    organization: z
      .object({
        id: z.string().regex(/^o-[a-z0-9]{10,32}$/, "expected an AWS Organizations id such as o-a1b2c3d4e5"),
        name: z.string().min(1),
      })
      .strict(),
    central: z.object({ accountId, region }).strict(),
    rollout: z
      .object({
        /** The role assumed in each member account. */
        assumeRoleName: z.string().regex(/^[\w+=,.@/-]{1,64}$/, "expected an IAM role name").default("OrganizationAccountAccessRole"),
        externalId: z.string().min(2).max(1224).optional(),
        sessionName: z.string().regex(/^[\w+=,.@-]{2,64}$/, "expected 2-64 characters of [A-Za-z0-9+=,.@_-]").default("flowtap"),
      })
      .strict()
      .default({ assumeRoleName: "OrganizationAccountAccessRole", sessionName: "flowtap" }),
    backend: z.object({ s3: s3Backend }).strict().optional(),
    tags: z.record(tagKey, tagValue).default({}),
    features: z
      .object({ ec2Mirroring: ec2MirroringSettings.optional() })
      .strict()
      .default({}),
    accounts: z.array(account).min(1, "expected at least one member account"),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.accounts.forEach((acct, index) => {
      const first = seen.get(acct.id);
      if (first !== undefined) {
        ctx.addIssue({ code: "custom", path: ["accounts", index, "id"], message: `account ${acct.id} is listed twice (first at accounts[${first}]); merge the two entries` });
      } else {
        seen.set(acct.id, index);
      }
      acct.regions.forEach((r, ri) => {
        if (acct.regions.indexOf(r) !== ri) {
          ctx.addIssue({ code: "custom", path: ["accounts", index, "regions", ri], message: `region ${r} is listed twice` });
        }
      });
      if (acct.features.includes("ec2-mirroring")) {
        const merged = { ...config.features.ec2Mirroring, ...acct.ec2Mirroring };
        const targets = { ...config.features.ec2Mirroring?.targetIds, ...acct.ec2Mirroring?.targetIds };
        for (const r of acct.regions) {
          if (!targets[r]) {
            ctx.addIssue({
              code: "custom",
              path: ["accounts", index, "regions", acct.regions.indexOf(r)],
              message: `ec2-mirroring is enabled here but no mirror target is set for ${r}: add features.ec2Mirroring.targetIds.${r} (or accounts[${index}].ec2Mirroring.targetIds.${r})`,
            });
          }
        }
        if (merged.includeTagValue !== undefined && merged.includeTagKey === undefined) {
          ctx.addIssue({ code: "custom", path: ["accounts", index, "ec2Mirroring"], message: "includeTagValue is set without includeTagKey" });
        }
      }
    });
  });

export type OrgConfig = z.infer<typeof orgConfigSchema>;
export type Ec2MirroringSettings = z.infer<typeof ec2MirroringSettings>;
