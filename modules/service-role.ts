import type { TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import {
  DataAwsIamPolicyDocument,
  type DataAwsIamPolicyDocumentStatement,
  type DataAwsIamPolicyDocumentStatementCondition,
} from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { awsContext } from "./aws-context";

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
    this.roleName = role.name;
    this.roleArn = role.arn;
  }
}
