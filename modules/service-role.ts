import { Fn, Token, type TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import {
  DataAwsIamPolicyDocument,
  type DataAwsIamPolicyDocumentStatement,
  type DataAwsIamPolicyDocumentStatementCondition,
} from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { awsContext } from "./aws-context";
import { declareRuntimeCalls, FOREIGN_ACCOUNT_ID, FOREIGN_ORGANIZATION_ID, type RoleCall } from "./runtime-calls";

export interface ServiceRoleProps extends Pick<TerraformMetaArguments, "provider"> {
  readonly roleName: string;
  /** The service principal that assumes the role, e.g. `firehose.amazonaws.com`. */
  readonly service: string;
  /**
   * Who the service may act for: conditions of the trust statement.
   * @default - `aws:SourceAccount` is this account
   */
  readonly trustConditions?: DataAwsIamPolicyDocumentStatementCondition[];
  /** The inline policy's name. */
  readonly policyName: string;
  /** What the role may do. */
  readonly statements: DataAwsIamPolicyDocumentStatement[];
  /**
   * The request context the service assumes the role with, as the trust conditions see it.
   * The permission tests check that it is admitted, and that the same request for another account
   * or organization is not.
   * @default - `aws:SourceAccount` is this account
   */
  readonly assumedWith?: Readonly<Record<string, string>>;
  /** The requests the service makes with the role, with run-time resources: the table the permission tests simulate. */
  readonly calls: readonly RoleCall[];
}

/** The same context, for a source in another account (`account` replaced) and organization. */
function foreignSource(context: Readonly<Record<string, string>>, account: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(context).map(([key, value]) => {
      if (key === "aws:SourceAccount") return [key, FOREIGN_ACCOUNT_ID];
      if (key === "aws:SourceOrgID") return [key, FOREIGN_ORGANIZATION_ID];
      // The ARN may be a Terraform value: Terraform replaces the account in it.
      if (key === "aws:SourceArn") return [key, Token.asString(Fn.replace(value, account, FOREIGN_ACCOUNT_ID))];
      return [key, value];
    }),
  );
}

/**
 * A role an AWS service assumes to act for this account (delivery, forwarding): trusted by that
 * service only, for this account only unless told otherwise, with one inline policy.
 */
export class ServiceRole extends Construct {
  /** The role's name. */
  public readonly roleName: string;
  /** The role's ARN, for the service's configuration. */
  public readonly roleArn: string;

  constructor(scope: Construct, id: string, props: ServiceRoleProps) {
    super(scope, id);
    const provider = props.provider;
    const { account } = awsContext(this, provider);
    const trust = new DataAwsIamPolicyDocument(this, "trust", {
      provider,
      statement: [
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: [props.service] }],
          condition: props.trustConditions ?? [{ test: "StringEquals", variable: "aws:SourceAccount", values: [account] }],
        },
      ],
    });
    const role = new IamRole(this, "role", { provider, name: props.roleName, assumeRolePolicy: trust.json });
    const permissions = new DataAwsIamPolicyDocument(this, "permissions", { provider, statement: props.statements });
    new IamRolePolicy(this, "policy", { provider, role: role.name, name: props.policyName, policy: permissions.json });
    const assumedWith = props.assumedWith ?? { "aws:SourceAccount": account };
    declareRuntimeCalls(this, [
      { principal: props.service, action: "sts:AssumeRole", resource: role.arn, context: assumedWith, reason: `${props.service} acts with the role` },
      { principal: props.service, action: "sts:AssumeRole", resource: role.arn, context: foreignSource(assumedWith, account), expect: "Denied", reason: `${props.service} acting for another account` },
      ...props.calls.map((call) => ({ ...call, principal: role.arn })),
    ]);
    this.roleName = role.name;
    this.roleArn = role.arn;
  }
}
