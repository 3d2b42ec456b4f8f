import { Testing, TerraformStack } from "cdktf";
import { AthenaWorkgroup } from "@cdktf/provider-aws/lib/athena-workgroup";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { RamResourceShare } from "@cdktf/provider-aws/lib/ram-resource-share";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { securityFindings } from "./helpers/security-checks";
import { synthAll } from "./helpers/synth";

describe("security checks over every synthesized stack", () => {
  const stacks = [...synthAll().values()];

  it("synthesizes at least one stack to check", () => {
    expect(stacks.length).toBeGreaterThan(0);
  });

  it.each(stacks.map((s) => [s.name, s] as const))("%s: IAM, encryption, retention and failure handling pass", async (_name, synthesized) => {
    expect(await securityFindings(synthesized.name, synthesized.tf)).toEqual([]);
  });
});

/** Whether an IAM resource pattern, where `*` stands for any run of characters, matches `key`. */
function globMatches(pattern: string, key: string): boolean {
  const [first, ...rest] = pattern.split("*");
  if (!key.startsWith(first)) return false;
  if (rest.length === 0) return key === first;
  let at = first.length;
  for (const [i, part] of rest.entries()) {
    const found = i === rest.length - 1 ? (key.endsWith(part) && key.length - part.length >= at ? key.length - part.length : -1) : key.indexOf(part, at);
    if (found < 0) return false;
    at = found + part.length;
  }
  return true;
}

describe("Firehose delivery roles", () => {
  // The synthesized document is open-ended.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const streams = [...synthAll().values()].flatMap((stack) => Object.entries(stack.tf.resource?.aws_kinesis_firehose_delivery_stream ?? {}).map(([id, stream]: [string, any]) => [`${stack.name} ${id}`, stack.tf, stream] as const));

  it("are found in the synthesized stacks", () => {
    expect(streams.length).toBeGreaterThan(0);
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  it.each(streams)("%s: its role may write where the stream writes records and where it writes the records that fail", (_name, tf: any, stream: any) => {
    const s3 = stream.extended_s3_configuration;
    const role = /^\$\{aws_iam_role\.([\w-]+)\.arn\}$/.exec(s3.role_arn)![1];
    const allowed = Object.values(tf.resource.aws_iam_role_policy as Record<string, { role: string; policy: string }>)
      .filter((p) => p.role === `\${aws_iam_role.${role}.name}`)
      .flatMap((p) => tf.data.aws_iam_policy_document[/^\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}$/.exec(p.policy)![1]].statement)
      .filter((st: { actions: string[] }) => st.actions.includes("s3:PutObject"))
      .flatMap((st: { resources: string[] }) => st.resources);
    // The part of a Firehose prefix before its first expression names objects the role must be able to put.
    const objectUnder = (prefix: string) => `${s3.bucket_arn}/${prefix.split("!{")[0]}part-0000`;
    const covers = (key: string) => allowed.some((pattern: string) => globMatches(pattern, key));
    expect({ prefix: s3.prefix, allowed: covers(objectUnder(s3.prefix)) }).toEqual({ prefix: s3.prefix, allowed: true });
    expect({ errorPrefix: s3.error_output_prefix, allowed: covers(objectUnder(s3.error_output_prefix)) }).toEqual({ errorPrefix: s3.error_output_prefix, allowed: true });
  });
});

describe("the security checks themselves", () => {
  it("catch each kind of violation in a deliberately careless stack", async () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "careless");
    new AwsProvider(stack, "aws", { region: "us-east-1" });
    new CloudwatchLogGroup(stack, "forever", { name: "forever" });
    new SqsQueue(stack, "plain", { name: "plain" });
    new S3Bucket(stack, "open", { bucket: "open-bucket" });
    new RamResourceShare(stack, "share", { name: "anyone" });
    new DynamodbTable(stack, "table", { name: "plain", hashKey: "id", attribute: [{ name: "id", type: "S" }], billingMode: "PAY_PER_REQUEST" });
    const trust = new DataAwsIamPolicyDocument(stack, "trust", {
      statement: [{ actions: ["sts:AssumeRole"], principals: [{ type: "AWS", identifiers: ["arn:aws:iam::999999999999:root"] }] }],
    });
    const role = new IamRole(stack, "role", { name: "careless", assumeRolePolicy: trust.json });
    const broad = new DataAwsIamPolicyDocument(stack, "broad", {
      statement: [{ actions: ["ec2:CreateTrafficMirrorSession", "ec2:DescribeInstances", "ec2:MirrorEverything"], resources: ["*"] }],
    });
    new IamRolePolicy(stack, "broad-policy", { role: role.name, policy: broad.json });
    new IamRolePolicy(stack, "raw-policy", { role: role.name, policy: JSON.stringify({ Version: "2012-10-17", Statement: [] }) });
    new LambdaFunction(stack, "fn", { functionName: "careless", role: role.arn, runtime: "nodejs22.x", handler: "index.handler", filename: "x.zip" });

    new AthenaWorkgroup(stack, "open-workgroup", { name: "open", configuration: { resultConfiguration: { outputLocation: "s3://somewhere/" } } });

    const findings = await securityFindings("careless", JSON.parse(Testing.synth(stack)));

    expect(findings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/raw-policy.*policy is not an aws_iam_policy_document/),
        expect.stringMatching(/grants ec2:MirrorEverything, which is not an IAM action/),
        expect.stringMatching(/grants ec2:CreateTrafficMirrorSession on "\*" though AWS lets it be scoped/),
        expect.stringMatching(/trust policy .* admits AWS principals .* without an ExternalId or organization condition/),
        expect.stringMatching(/log group .* keeps logs forever/),
        expect.stringMatching(/function .* has no dead-letter queue or on-failure destination/),
        expect.stringMatching(/queue .* is not encrypted at rest/),
        expect.stringMatching(/queue .* has no alarm on the messages it holds/),
        expect.stringMatching(/function .* has no alarm on its errors/),
        expect.stringMatching(/bucket .* has no server-side encryption configuration/),
        expect.stringMatching(/bucket .* does not block all public access/),
        expect.stringMatching(/bucket .* accepts requests without TLS/),
        expect.stringMatching(/RAM share .* admits principals outside the organization/),
        expect.stringMatching(/DynamoDB table .* is not encrypted with a KMS key/),
        expect.stringMatching(/DynamoDB table .* has no point-in-time recovery/),
        expect.stringMatching(/Athena workgroup .* does not encrypt query results/),
        expect.stringMatching(/Athena workgroup .* lets queries override its settings/),
      ]),
    );
    // DescribeInstances only ever takes "*": not a finding.
    expect(findings.join("\n")).not.toMatch(/ec2:DescribeInstances on/);
  });
});
