import { TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";

/**
 * A request AWS will see when the stack runs: an SDK call a handler makes under its role, or a
 * write a service makes for the stack (Firehose to its bucket, EventBridge to a dead-letter
 * queue, flow logs to their log group). Built from the same values the resources are, so the
 * table cannot drift from the code; the permission tests simulate every row against the
 * synthesized identity and resource policies.
 */
export interface RuntimeCall {
  /**
   * Who makes the request: a role's ARN (a session of that role, under its identity policies),
   * a service principal (`events.amazonaws.com`: only resource policies apply), or an account id
   * (that account's deployment role, an administrator there: only resource policies decide).
   */
  readonly principal: string;
  /** The IAM action, e.g. `s3:PutObject`. */
  readonly action: string;
  /** The resource's ARN as it will be at run time, or `*` for actions AWS cannot scope. */
  readonly resource: string;
  /**
   * Request context that matters to the decision (`aws:SourceArn`, `aws:SourceAccount`,
   * `aws:RequestTag/…`). The principal's and resource's own keys (`aws:PrincipalArn`,
   * `aws:PrincipalAccount`, `aws:PrincipalOrgID`, `aws:ResourceAccount`, `aws:ResourceOrgID`) and
   * `aws:SecureTransport` are added by the simulation unless given here.
   * @default - none beyond those
   */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
  /** Why the request is made (or, for a Denied row, why it must fail). */
  readonly reason: string;
  /** @default "Allowed" */
  readonly expect?: "Allowed" | "Denied";
}

/** A request made under a role, whose principal the construct that makes the role fills in. */
export type RoleCall = Omit<RuntimeCall, "principal">;

const callsByStack = new WeakMap<TerraformStack, RuntimeCall[]>();

/** Declares requests made when `scope`'s stack runs; they belong to the stack `scope` is in. */
export function declareRuntimeCalls(scope: IConstruct, calls: readonly RuntimeCall[]): void {
  const stack = TerraformStack.of(scope);
  const declared = callsByStack.get(stack) ?? [];
  declared.push(...calls);
  callsByStack.set(stack, declared);
}

/** Every request declared in `stack`, values still as cdktf tokens (resolve them in the stack). */
export function runtimeCallsOf(stack: TerraformStack): readonly RuntimeCall[] {
  return callsByStack.get(stack) ?? [];
}

/** An account outside the organization, for the rows that must be denied. */
export const FOREIGN_ACCOUNT_ID = "210987654321";
/** An organization that is not flowtap's, for the rows that must be denied. */
export const FOREIGN_ORGANIZATION_ID = "o-f0re1gn0rg1";

/** Ids of the resources a run meets but the stack does not make, as AWS shapes them. */
export const EXAMPLE_IDS = {
  networkInterface: "eni-0123456789abcdef0",
  trafficMirrorSession: "tms-0123456789abcdef0",
  flowLog: "fl-0123456789abcdef0",
  natGateway: "nat-0123456789abcdef0",
  ecsTask: "0123456789abcdef0123456789abcdef",
  ecsContainerInstance: "fedcba9876543210fedcba9876543210",
  /** A Lambda log stream: date, version, instance. */
  lambdaLogStream: "2026/12/07/[$LATEST]0123456789abcdef0123456789abcdef",
  /** A flow log's log stream: one per ENI and traffic type. */
  flowLogStream: "eni-0123456789abcdef0-all",
} as const;

/** Where a Firehose stream with an S3 destination writes, for {@link firehoseDeliveryCalls}. */
export interface FirehoseDeliveryTargets {
  readonly bucketArn: string;
  /** One object key under each prefix the stream writes (records, failed records). */
  readonly objectKeys: readonly string[];
  /** A key under no prefix of the stream: it must be denied. */
  readonly foreignKey: string;
  /** The log stream Firehose records delivery errors in. */
  readonly logStreamArn: string;
}

/** The requests Firehose makes with its role to deliver to S3 (AWS's documented set), and one it must not. */
export function firehoseDeliveryCalls(targets: FirehoseDeliveryTargets): RoleCall[] {
  const { bucketArn } = targets;
  return [
    ...["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"].map((action) => ({ action, resource: bucketArn, reason: "Firehose checks the bucket and its uploads" })),
    ...targets.objectKeys.flatMap((key) =>
      ["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"].map((action) => ({ action, resource: `${bucketArn}/${key}`, reason: "Firehose writes an object (in parts when large)" })),
    ),
    { action: "s3:PutObject", resource: `${bucketArn}/${targets.foreignKey}`, expect: "Denied", reason: "a key outside the stream's prefixes" },
    { action: "logs:PutLogEvents", resource: targets.logStreamArn, reason: "Firehose records why a delivery failed" },
  ];
}
