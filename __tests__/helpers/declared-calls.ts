import type { AwsStub } from "aws-sdk-client-mock";
import { declaredCalls } from "./iam-simulation";
import { resourceAt, synthAll } from "./synth";

/* eslint-disable @typescript-eslint/no-explicit-any -- SDK clients and commands of every service, and synthesized Terraform JSON */

/** The IAM service prefix of each SDK client the handlers use. */
const SERVICE_OF_CLIENT: Record<string, string> = {
  EC2Client: "ec2",
  ECSClient: "ecs",
  DynamoDBClient: "dynamodb",
  DynamoDBDocumentClient: "dynamodb",
  S3Client: "s3",
  FirehoseClient: "firehose",
  CloudWatchLogsClient: "logs",
  SFNClient: "states",
  ResourceGroupsTaggingAPIClient: "tag",
  STSClient: "sts",
  SNSClient: "sns",
  GlueClient: "glue",
  CloudWatchClient: "cloudwatch",
};

/** Commands whose IAM action has another name (the DynamoDB document client's shorthands). */
const ACTION_OF_COMMAND: Record<string, string> = {
  "dynamodb:Put": "dynamodb:PutItem",
  "dynamodb:Get": "dynamodb:GetItem",
  "dynamodb:Update": "dynamodb:UpdateItem",
  "dynamodb:Delete": "dynamodb:DeleteItem",
  "dynamodb:BatchWrite": "dynamodb:BatchWriteItem",
  "dynamodb:BatchGet": "dynamodb:BatchGetItem",
  "dynamodb:TransactWrite": "dynamodb:TransactWriteItems",
};

/** The IAM action a command sent through `client` needs. */
function actionOf(clientName: string, command: any): string {
  const service = SERVICE_OF_CLIENT[clientName];
  if (!service) throw new Error(`no IAM service known for ${clientName}: add it to SERVICE_OF_CLIENT`);
  const name = `${service}:${String(command.constructor.name).replace(/Command$/, "")}`;
  return ACTION_OF_COMMAND[name] ?? name;
}

/**
 * Records the IAM action of every command sent through `mocks` (by client class name), after each
 * test and before the next resets them. Register at the top of a handler's test file.
 */
export function recordSentActions(mocks: Record<string, AwsStub<any, any, any>>): Set<string> {
  const sent = new Set<string>();
  afterEach(() => {
    for (const [clientName, mock] of Object.entries(mocks)) for (const call of mock.calls()) sent.add(actionOf(clientName, call.args[0]));
  });
  return sent;
}

/**
 * The actions the permission tables declare as allowed under a role of the example organization:
 * the role of the function named `role`, or the role at construct path `rolePath` of `stack`.
 * What the code running as that role may send.
 */
export function declaredActionsOf(role: string | { readonly stack: string; readonly rolePath: string }): Set<string> {
  const allowedUnder = (synthesized: ReturnType<typeof synthAll> extends Map<string, infer S> ? S : never, principal: string) =>
    new Set(
      declaredCalls(synthesized.stack)
        .filter((call) => call.principal === principal && (call.expect ?? "Allowed") === "Allowed")
        .map((call) => call.action),
    );
  const stacks = synthAll();
  if (typeof role !== "string") {
    const synthesized = stacks.get(role.stack);
    if (!synthesized) throw new Error(`the example organization has no stack ${role.stack}`);
    resourceAt(synthesized, "aws_iam_role", role.rolePath);
    const id = Object.keys(synthesized.tf.resource.aws_iam_role).find((k) => k.startsWith(`${role.rolePath.replace(/\//g, "_")}_`));
    return allowedUnder(synthesized, `\${aws_iam_role.${id}.arn}`);
  }
  for (const synthesized of stacks.values()) {
    const fn = Object.values<any>(synthesized.tf.resource?.aws_lambda_function ?? {}).find((f) => f.function_name === role);
    if (fn) return allowedUnder(synthesized, fn.role);
  }
  throw new Error(`no stack of the example organization has a function named ${role}`);
}
