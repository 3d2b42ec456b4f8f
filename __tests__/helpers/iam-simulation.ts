import { createHash } from "node:crypto";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { TerraformStack } from "cdktf";
// cdktf's own token resolution (the one synth uses); it is not re-exported.
import { resolve } from "cdktf/lib/_tokens";
import { runtimeCallsOf, type RuntimeCall } from "../../modules/runtime-calls";

/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized Terraform JSON is open-ended */

/**
 * The permission simulation: every {@link RuntimeCall} a stack declares, evaluated by
 * `@cloud-copilot/iam-simulate` against the stack's policies as AWS will hold them.
 *
 * The policies are the synthesized `aws_iam_policy_document` statements, evaluated by the real
 * terraform (`terraform console -plan` in a planned workspace: locals, variables, data sources
 * and for-expressions as Terraform computes them). What only apply knows is filled in first, and
 * that is the one change made to what Terraform reads: each reference to a computed ARN, id or URL
 * of a managed resource is replaced by the value AWS gives it, built from the resource's own
 * configured name and its provider's partition, region and account ({@link RUNTIME_ATTRIBUTES}).
 * The documents' statements are then written as IAM JSON by {@link iamPolicyOf} (as the provider
 * renders them), and `aws_lambda_permission`s as the statements Lambda adds to a function's policy.
 */

/** An IAM policy document. */
export interface IamPolicy {
  readonly Version: "2012-10-17";
  readonly Statement: any[];
}

/** One stack's policies and calls, evaluated in one workspace. */
export interface EvaluatedStack {
  readonly stack: string;
  readonly workspace: string;
  readonly roles: readonly EvaluatedRole[];
  /** Resource policies by the ARN of the resource they protect (buckets by bucket ARN). */
  readonly resourcePolicies: ReadonlyMap<string, readonly NamedPolicy[]>;
  /** The account of each bucket, by name (an S3 ARN names none). */
  readonly bucketAccounts: ReadonlyMap<string, string>;
  readonly calls: readonly RuntimeCall[];
}

export interface NamedPolicy {
  /** Where it comes from: the Terraform address of the document or permission. */
  readonly name: string;
  readonly policy: IamPolicy;
}

export interface EvaluatedRole {
  readonly address: string;
  readonly arn: string;
  readonly account: string;
  readonly trust: NamedPolicy;
  readonly identity: readonly NamedPolicy[];
}

/** Whatever evaluates a value's templates in a workspace: `PlanningRoot.evaluate`. */
export type Evaluate = (stack: string, workspace: string, value: unknown) => Promise<unknown>;

type Context = { readonly partition: string; readonly region: string; readonly account: string };

/**
 * The value AWS gives a computed attribute, as a Terraform template over the resource's configured
 * attributes (`self`) and its provider's context (`ctx`). A reference to an attribute not here stays
 * as it is: if Terraform does not know it at plan, evaluation fails naming it.
 */
const RUNTIME_ATTRIBUTES: Record<string, (self: (attribute: string) => string, ctx: Context, address: string) => string> = {
  "aws_sqs_queue.arn": (self, c) => `arn:${c.partition}:sqs:${c.region}:${c.account}:${self("name")}`,
  "aws_sqs_queue.url": (self, c) => `https://sqs.${c.region}.amazonaws.com/${c.account}/${self("name")}`,
  "aws_sqs_queue.id": (self, c) => `https://sqs.${c.region}.amazonaws.com/${c.account}/${self("name")}`,
  "aws_cloudwatch_log_group.arn": (self, c) => `arn:${c.partition}:logs:${c.region}:${c.account}:log-group:${self("name")}`,
  "aws_s3_bucket.arn": (self, c) => `arn:${c.partition}:s3:::${self("bucket")}`,
  "aws_s3_bucket.id": (self) => self("bucket"),
  "aws_dynamodb_table.arn": (self, c) => `arn:${c.partition}:dynamodb:${c.region}:${c.account}:table/${self("name")}`,
  "aws_kinesis_stream.arn": (self, c) => `arn:${c.partition}:kinesis:${c.region}:${c.account}:stream/${self("name")}`,
  "aws_kinesis_firehose_delivery_stream.arn": (self, c) => `arn:${c.partition}:firehose:${c.region}:${c.account}:deliverystream/${self("name")}`,
  "aws_lambda_function.arn": (self, c) => `arn:${c.partition}:lambda:${c.region}:${c.account}:function:${self("function_name")}`,
  "aws_sfn_state_machine.arn": (self, c) => `arn:${c.partition}:states:${c.region}:${c.account}:stateMachine:${self("name")}`,
  "aws_sfn_state_machine.id": (self, c) => `arn:${c.partition}:states:${c.region}:${c.account}:stateMachine:${self("name")}`,
  "aws_sns_topic.arn": (self, c) => `arn:${c.partition}:sns:${c.region}:${c.account}:${self("name")}`,
  "aws_sns_topic.id": (self, c) => `arn:${c.partition}:sns:${c.region}:${c.account}:${self("name")}`,
  // A rule on a bus other than the default names the bus.
  "aws_cloudwatch_event_rule.arn": (self, c) =>
    `arn:${c.partition}:events:${c.region}:${c.account}:rule/\${${unwrap(self("event_bus_name"))} == "default" ? "" : "\${${unwrap(self("event_bus_name"))}}/"}${self("name")}`,
  "aws_cloudwatch_event_bus.arn": (self, c) => `arn:${c.partition}:events:${c.region}:${c.account}:event-bus/${self("name")}`,
  "aws_cloudwatch_log_destination.arn": (self, c) => `arn:${c.partition}:logs:${c.region}:${c.account}:destination:${self("name")}`,
  "aws_iam_role.arn": (self, c) => `arn:${c.partition}:iam::${c.account}:role/${self("name")}`,
  "aws_glue_catalog_database.arn": (self, c) => `arn:${c.partition}:glue:${c.region}:${c.account}:database/${self("name")}`,
  "aws_glue_catalog_table.arn": (self, c) => `arn:${c.partition}:glue:${c.region}:${c.account}:table/${self("database_name")}/${self("name")}`,
  "aws_athena_workgroup.arn": (self, c) => `arn:${c.partition}:athena:${c.region}:${c.account}:workgroup/${self("name")}`,
  "aws_kms_key.arn": (_self, c, address) => `arn:${c.partition}:kms:${c.region}:${c.account}:key/${exampleUuid(address)}`,
  "aws_kms_key.key_id": (_self, _c, address) => exampleUuid(address),
  "aws_kms_key.id": (_self, _c, address) => exampleUuid(address),
  "aws_ec2_traffic_mirror_filter.id": (_self, _c, address) => `tmf-${hexOf(address).slice(0, 17)}`,
};

const hexOf = (text: string) => createHash("sha256").update(text).digest("hex");
const exampleUuid = (address: string) => {
  const h = hexOf(address);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
/** `${expr}` → `expr`. */
const unwrap = (template: string) => /^\$\{(.*)\}$/s.exec(template)?.[1] ?? JSON.stringify(template);

/** A reference to a managed resource's attribute inside a template: `aws_sqs_queue.name.arn`. */
const RESOURCE_REFERENCE = /(?<![\w.-])(aws_[a-z0-9_]+)\.([\w-]+)\.([a-z_]+)\b/g;

/** The provider key of a resource or data source: `aws` or `aws.<alias>`. */
const providerOf = (block: any): string => block?.provider ?? "aws";

/** The context data sources of each provider (flowtap's `awsContext`), as templates. */
function contextTemplates(doc: any, regionAttribute: string): Map<string, Context> {
  const byProvider = new Map<string, Partial<Record<keyof Context, string>>>();
  const add = (type: string, key: keyof Context, attribute: string) => {
    for (const [id, block] of Object.entries<any>(doc.data?.[type] ?? {})) {
      const entry = byProvider.get(providerOf(block)) ?? {};
      entry[key] = `\${data.${type}.${id}.${attribute}}`;
      byProvider.set(providerOf(block), entry);
    }
  };
  add("aws_partition", "partition", "partition");
  add("aws_region", "region", regionAttribute);
  add("aws_caller_identity", "account", "account_id");
  const contexts = new Map<string, Context>();
  for (const [provider, entry] of byProvider) {
    if (entry.partition && entry.region && entry.account) contexts.set(provider, entry as Context);
  }
  return contexts;
}

/** Replaces every reference to a computed attribute AWS assigns with the value it will have, in every string of `value`. */
function withRuntimeValues(stack: string, doc: any, value: unknown, contexts: Map<string, Context>): unknown {
  const substitute = (text: string): string =>
    text.replace(RESOURCE_REFERENCE, (whole, type: string, id: string, attribute: string) => {
      const runtime = RUNTIME_ATTRIBUTES[`${type}.${attribute}`];
      const block = doc.resource?.[type]?.[id];
      if (!runtime || !block) return whole;
      const ctx = contexts.get(providerOf(block));
      if (!ctx) throw new Error(`${type}.${id}: its provider ${providerOf(block)} has no partition, region and account data sources to build its ${attribute} from`);
      // A nested template is an expression, so it can stand wherever the reference did (ARNs hold no quotes).
      return `"${substitute(runtime((a) => `\${${type}.${id}.${a}}`, ctx, `${stack}/${type}.${id}`))}"`;
    });
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return substitute(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "//").map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

/** The id a `${type.id.attr}` reference names, if `text` is exactly one. */
function referenced(text: unknown, type: string): string | undefined {
  return typeof text === "string" ? new RegExp(`^\\$\\{${type}\\.([\\w-]+)\\.[\\w]+\\}$`).exec(text)?.[1] : undefined;
}

/** A policy document's statements, as the provider renders them into IAM JSON. */
export function iamPolicyOf(statements: readonly any[]): IamPolicy {
  const list = (v: any) => (v === undefined || v === null ? undefined : Array.isArray(v) ? v : [v]);
  const principals = (ps: any[] | undefined) => {
    if (!ps?.length) return undefined;
    if (ps.some((p) => p.type === "*")) return "*";
    const out: Record<string, string[]> = {};
    for (const p of ps) out[p.type] = [...(out[p.type] ?? []), ...p.identifiers];
    return out;
  };
  return {
    Version: "2012-10-17",
    Statement: statements.map((s) => {
      const condition: Record<string, Record<string, string[]>> = {};
      for (const c of s.condition ?? []) condition[c.test] = { ...condition[c.test], [c.variable]: c.values };
      const rendered: Record<string, unknown> = {
        Sid: s.sid || undefined,
        Effect: s.effect ?? "Allow",
        Action: list(s.actions),
        NotAction: list(s.not_actions),
        Resource: list(s.resources),
        NotResource: list(s.not_resources),
        Principal: principals(s.principals),
        NotPrincipal: principals(s.not_principals),
        Condition: Object.keys(condition).length ? condition : undefined,
      };
      return Object.fromEntries(Object.entries(rendered).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
    }),
  };
}

/** The calls `stack` declares, their tokens resolved to the Terraform expressions synth writes. */
export function declaredCalls(stack: TerraformStack): RuntimeCall[] {
  return resolve(stack, [...runtimeCallsOf(stack)]) as RuntimeCall[];
}

/**
 * Evaluates a synthesized stack's roles, policies, resource policies and declared calls in one
 * planned workspace. `regionAttribute` is the aws_region attribute of the provider in use
 * (`region` in 6.x, `name` in 5.x).
 */
export async function evaluateStack(stack: string, workspace: string, doc: any, calls: readonly RuntimeCall[], evaluate: Evaluate, regionAttribute: string): Promise<EvaluatedStack> {
  const contexts = contextTemplates(doc, regionAttribute);
  const documents: Record<string, any> = doc.data?.aws_iam_policy_document ?? {};
  const resources = (type: string): [string, any][] => Object.entries(doc.resource?.[type] ?? {});
  const documentOf = (text: unknown, where: string): string => {
    const id = typeof text === "string" ? /^\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}$/.exec(text)?.[1] : undefined;
    if (!id || !documents[id]) throw new Error(`${stack}: ${where} is not a policy document's json`);
    return id;
  };
  const contextOf = (block: any) => {
    const ctx = contexts.get(providerOf(block));
    if (!ctx) throw new Error(`${stack}: provider ${providerOf(block)} has no partition, region and account data sources`);
    return ctx;
  };

  const roleIds = resources("aws_iam_role").map(([id]) => id);
  const policiesOfRole = new Map<string, string[]>(roleIds.map((id) => [id, []]));
  for (const [id, attached] of resources("aws_iam_role_policy")) {
    const role = referenced(attached.role, "aws_iam_role");
    if (!role || !policiesOfRole.has(role)) throw new Error(`${stack}: aws_iam_role_policy.${id} is attached to no role of the stack`);
    policiesOfRole.get(role)!.push(documentOf(attached.policy, `aws_iam_role_policy.${id}.policy`));
  }
  if (resources("aws_iam_role_policy_attachment").length || resources("aws_iam_policy").length) {
    throw new Error(`${stack}: managed policies are not simulated yet; teach evaluateStack to read them`);
  }

  // What protects each resource, and the ARN (or name, with its provider's context) of what it protects.
  const guarded: { name: string; target: string; document?: string; permission?: any }[] = [];
  for (const [id, p] of resources("aws_s3_bucket_policy")) guarded.push({ name: `aws_s3_bucket_policy.${id}`, target: `arn:${contextOf(p).partition}:s3:::${p.bucket}`, document: documentOf(p.policy, `aws_s3_bucket_policy.${id}`) });
  for (const [id, p] of resources("aws_sqs_queue_policy")) {
    const queue = referenced(p.queue_url, "aws_sqs_queue");
    if (!queue) throw new Error(`${stack}: aws_sqs_queue_policy.${id} names its queue other than by reference`);
    guarded.push({ name: `aws_sqs_queue_policy.${id}`, target: `\${aws_sqs_queue.${queue}.arn}`, document: documentOf(p.policy, `aws_sqs_queue_policy.${id}`) });
  }
  for (const [id, p] of resources("aws_sns_topic_policy")) guarded.push({ name: `aws_sns_topic_policy.${id}`, target: p.arn, document: documentOf(p.policy, `aws_sns_topic_policy.${id}`) });
  for (const [id, p] of resources("aws_cloudwatch_event_bus_policy")) {
    const c = contextOf(p);
    guarded.push({ name: `aws_cloudwatch_event_bus_policy.${id}`, target: `arn:${c.partition}:events:${c.region}:${c.account}:event-bus/${p.event_bus_name}`, document: documentOf(p.policy, `aws_cloudwatch_event_bus_policy.${id}`) });
  }
  for (const [id, p] of resources("aws_cloudwatch_log_destination_policy")) {
    const c = contextOf(p);
    guarded.push({ name: `aws_cloudwatch_log_destination_policy.${id}`, target: `arn:${c.partition}:logs:${c.region}:${c.account}:destination:${p.destination_name}`, document: documentOf(p.access_policy, `aws_cloudwatch_log_destination_policy.${id}`) });
  }
  for (const [id, p] of resources("aws_kms_key")) if (p.policy) guarded.push({ name: `aws_kms_key.${id}`, target: `\${aws_kms_key.${id}.arn}`, document: documentOf(p.policy, `aws_kms_key.${id}.policy`) });
  for (const [id, p] of resources("aws_lambda_permission")) {
    const c = contextOf(p);
    // Lambda's own form of the statement it adds to the function's policy.
    guarded.push({
      name: `aws_lambda_permission.${id}`,
      target: `arn:${c.partition}:lambda:${c.region}:${c.account}:function:${p.function_name}`,
      permission: { principal: p.principal, action: p.action, source_arn: p.source_arn ?? null, source_account: p.source_account ?? null },
    });
  }
  const buckets = resources("aws_s3_bucket").map(([id, b]) => ({ bucket: `\${aws_s3_bucket.${id}.bucket}`, account: contextOf(b).account }));

  const evaluated: any = await evaluate(
    stack,
    workspace,
    withRuntimeValues(
      stack,
      doc,
      {
        documents: Object.fromEntries(Object.entries(documents).map(([id, d]) => [id, d.statement ?? []])),
        roles: Object.fromEntries(roleIds.map((id) => [id, { arn: `\${aws_iam_role.${id}.arn}`, account: contextOf(doc.resource.aws_iam_role[id]).account }])),
        guarded: guarded.map((g) => ({ ...g, document: g.document ?? null, permission: g.permission ?? null })),
        buckets,
        calls: calls.map((call) => ({ ...call, context: call.context ?? {}, expect: call.expect ?? "Allowed" })),
      },
      contexts,
    ),
  );

  const named = (id: string): NamedPolicy => ({ name: `data.aws_iam_policy_document.${id}`, policy: iamPolicyOf(evaluated.documents[id]) });
  const roles: EvaluatedRole[] = roleIds.map((id) => ({
    address: `aws_iam_role.${id}`,
    arn: evaluated.roles[id].arn,
    account: evaluated.roles[id].account,
    trust: named(documentOf(doc.resource.aws_iam_role[id].assume_role_policy, `aws_iam_role.${id}.assume_role_policy`)),
    identity: policiesOfRole.get(id)!.map(named),
  }));
  const resourcePolicies = new Map<string, NamedPolicy[]>();
  for (const role of roles) resourcePolicies.set(role.arn, [role.trust]);
  for (const g of evaluated.guarded as any[]) {
    const policy: IamPolicy = g.document
      ? named(g.document).policy
      : iamPolicyOf([
          {
            actions: [g.permission.action],
            resources: [g.target],
            principals: [{ type: "Service", identifiers: [g.permission.principal] }],
            condition: [
              ...(g.permission.source_arn ? [{ test: "ArnLike", variable: "AWS:SourceArn", values: [g.permission.source_arn] }] : []),
              ...(g.permission.source_account ? [{ test: "StringEquals", variable: "AWS:SourceAccount", values: [g.permission.source_account] }] : []),
            ],
          },
        ]);
    resourcePolicies.set(g.target, [...(resourcePolicies.get(g.target) ?? []), { name: g.name, policy }]);
  }
  return {
    stack,
    workspace,
    roles,
    resourcePolicies,
    bucketAccounts: new Map((evaluated.buckets as { bucket: string; account: string }[]).map((b) => [b.bucket, b.account])),
    calls: evaluated.calls,
  };
}

/** Everything the simulation knows: the evaluated stacks of one organization. */
export class PermissionIndex {
  private readonly roles = new Map<string, EvaluatedRole>();
  private readonly resourcePolicies = new Map<string, NamedPolicy[]>();
  private readonly bucketAccounts = new Map<string, string>();

  constructor(
    readonly stacks: readonly EvaluatedStack[],
    private readonly organizationId: string,
    private readonly organizationAccounts: ReadonlySet<string>,
  ) {
    for (const s of stacks) {
      for (const role of s.roles) this.roles.set(role.arn, role);
      for (const [arn, policies] of s.resourcePolicies) this.resourcePolicies.set(arn, [...(this.resourcePolicies.get(arn) ?? []), ...policies]);
      for (const [bucket, account] of s.bucketAccounts) this.bucketAccounts.set(bucket, account);
    }
  }

  role(arn: string): EvaluatedRole | undefined {
    return this.roles.get(arn);
  }

  /** The account a resource ARN is in: the bucket's owner for S3. */
  accountOf(resource: string, principalAccount: string): string {
    if (resource === "*") return principalAccount;
    const s3 = /^arn:[\w-]+:s3:::([^/]+)/.exec(resource);
    if (s3) {
      const account = this.bucketAccounts.get(s3[1]);
      if (!account) throw new Error(`no stack makes the bucket of ${resource}`);
      return account;
    }
    const account = resource.split(":")[4];
    if (!/^\d{12}$/.test(account ?? "")) throw new Error(`${resource} names no account`);
    return account;
  }

  /** The ARN whose resource policies protect `resource`: a bucket's for its objects, a function's for a qualified ARN. */
  resourcePolicyKey(resource: string): string {
    const s3 = /^(arn:[\w-]+:s3:::[^/]+)/.exec(resource);
    const lambda = /^(arn:[\w-]+:lambda:[\w-]+:\d{12}:function:[\w-]+)/.exec(resource);
    return s3?.[1] ?? lambda?.[1] ?? resource;
  }

  resourcePoliciesOf(resource: string): NamedPolicy[] {
    return this.resourcePolicies.get(this.resourcePolicyKey(resource)) ?? [];
  }

  /** Every resource that has resource policies, with them. */
  guardedResources(): [string, NamedPolicy[]][] {
    return [...this.resourcePolicies];
  }

  /** Simulates one call, with identity policies replaced by `identity` when given (for the mutation checks). */
  async simulate(call: RuntimeCall, override?: { role?: string; identity?: readonly NamedPolicy[]; resource?: readonly NamedPolicy[] }): Promise<SimulatedCall> {
    const role = this.roles.get(call.principal);
    const service = call.principal.endsWith(".amazonaws.com");
    const deployer = /^\d{12}$/.test(call.principal);
    if (!role && !service && !deployer) throw new Error(`${call.principal} is no role of the evaluated stacks, service principal or account`);
    const principalAccount = role?.account ?? (deployer ? call.principal : undefined);
    const resourceAccount = this.accountOf(call.resource, principalAccount ?? "000000000000");
    const principal = role ? `arn:aws:sts::${role.account}:assumed-role/${role.arn.split("/").pop()}/flowtap` : deployer ? `arn:aws:iam::${call.principal}:role/flowtap-deployment` : call.principal;
    const orgOf = (account: string) => (this.organizationAccounts.has(account) ? this.organizationId : undefined);
    const context: Record<string, string | string[]> = {
      "aws:SecureTransport": "true",
      "aws:ResourceAccount": resourceAccount,
      ...(orgOf(resourceAccount) ? { "aws:ResourceOrgID": orgOf(resourceAccount)! } : {}),
      ...(principalAccount
        ? { "aws:PrincipalArn": role?.arn ?? principal, "aws:PrincipalAccount": principalAccount, ...(orgOf(principalAccount) ? { "aws:PrincipalOrgID": orgOf(principalAccount)! } : {}) }
        : {}),
      ...(call.context as Record<string, string | string[]>),
    };
    const identity = override?.role === call.principal && override.identity ? override.identity : role?.identity ?? (deployer ? [{ name: "deployment role (administrator)", policy: ADMINISTRATOR }] : []);
    const resourcePolicies = override?.resource ?? this.resourcePoliciesOf(call.resource);
    const response = await runSimulation(
      {
        request: { principal, action: call.action, resource: { resource: call.resource, accountId: resourceAccount }, contextVariables: context },
        identityPolicies: identity.map((p) => ({ name: p.name, policy: p.policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        // One resource policy: a resource with several (a function's permissions) has them as one.
        resourcePolicy: resourcePolicies.length ? { Version: "2012-10-17", Statement: resourcePolicies.flatMap((p) => p.policy.Statement) } : undefined,
      },
      {},
    );
    if (response.resultType === "error") throw new Error(`${describeCall(call)}: iam-simulate refused the request: ${JSON.stringify(response.errors)}`);
    return { call, result: response.overallResult === "Allowed" ? "Allowed" : "Denied", detail: response.overallResult };
  }
}

const ADMINISTRATOR: IamPolicy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };

export interface SimulatedCall {
  readonly call: RuntimeCall;
  readonly result: "Allowed" | "Denied";
  /** iam-simulate's own verdict: Allowed, ExplicitlyDenied or ImplicitlyDenied. */
  readonly detail: string;
}

/** One line naming a call, for a failing test. */
export function describeCall(call: RuntimeCall): string {
  const context = Object.keys(call.context ?? {}).length ? ` ${JSON.stringify(call.context)}` : "";
  return `${call.principal} ${call.action} ${call.resource}${context} (${call.reason})`;
}
