import type { TerraformMetaArguments } from "cdktf";
import { Construct } from "constructs";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration, type S3BucketLifecycleConfigurationRule } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA as S3BucketServerSideEncryptionConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";

/** What happens to the objects under one prefix as they age. */
export interface SecureBucketLifecycleRule {
  /** The rule's name. */
  readonly id: string;
  /** The objects it applies to. */
  readonly prefix: string;
  /** Days before objects move to S3 Intelligent-Tiering (0: at once). @default - they stay in Standard */
  readonly intelligentTieringDays?: number;
  /** Days before objects are deleted. @default - never */
  readonly expirationDays?: number;
}

export interface SecureBucketProps extends Pick<TerraformMetaArguments, "provider"> {
  readonly bucketName: string;
  /** @default - objects are kept in Standard, forever */
  readonly lifecycleRules?: readonly SecureBucketLifecycleRule[];
}

/**
 * An S3 bucket as flowtap keeps data: objects owned by the bucket owner (no ACLs), all public
 * access blocked, encrypted with KMS (the AWS-managed key, with a bucket key to keep KMS calls
 * down), requests without TLS denied, unfinished multipart uploads cleaned up after a week.
 */
export class SecureBucket extends Construct {
  public readonly bucketName: string;
  public readonly bucketArn: string;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    const provider = props.provider;
    const bucket = new S3Bucket(this, "bucket", { provider, bucket: props.bucketName });
    new S3BucketOwnershipControls(this, "ownership", { provider, bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
    new S3BucketPublicAccessBlock(this, "public-access", {
      provider,
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketServerSideEncryptionConfiguration(this, "encryption", {
      provider,
      bucket: bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
    });
    const tlsOnly = new DataAwsIamPolicyDocument(this, "tls-only", {
      provider,
      statement: [
        {
          sid: "DenyRequestsWithoutTls",
          effect: "Deny",
          principals: [{ type: "*", identifiers: ["*"] }],
          actions: ["s3:*"],
          resources: [bucket.arn, `${bucket.arn}/*`],
          condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
        },
      ],
    });
    new S3BucketPolicy(this, "policy", { provider, bucket: bucket.id, policy: tlsOnly.json });
    const rules: S3BucketLifecycleConfigurationRule[] = [
      { id: "abort-incomplete-uploads", status: "Enabled", filter: [{ prefix: "" }], abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }] },
      ...(props.lifecycleRules ?? []).map(
        (r): S3BucketLifecycleConfigurationRule => ({
          id: r.id,
          status: "Enabled",
          filter: [{ prefix: r.prefix }],
          ...(r.intelligentTieringDays !== undefined ? { transition: [{ days: r.intelligentTieringDays, storageClass: "INTELLIGENT_TIERING" }] } : {}),
          ...(r.expirationDays !== undefined ? { expiration: [{ days: r.expirationDays }] } : {}),
        }),
      ),
    ];
    new S3BucketLifecycleConfiguration(this, "lifecycle", { provider, bucket: bucket.id, rule: rules });
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
  }
}
