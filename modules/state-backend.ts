import { DataTerraformRemoteStateLocal, DataTerraformRemoteStateS3, LocalBackend, S3Backend, type TerraformStack } from "cdktf";
import { DataAwsS3Objects } from "@cdktf/provider-aws/lib/data-aws-s3-objects";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { Construct } from "constructs";
import type { OrgConfig } from "../config/schema";

/** A stack's state key in the S3 backend (its default workspace's; others are under `workspaceKeyPrefix`). */
const s3StateKey = (s3: NonNullable<NonNullable<OrgConfig["backend"]>["s3"]>, stackName: string) => `${s3.keyPrefix}/${stackName}.tfstate`;

/** A stack's local state file (its default workspace's), relative to the stack's directory. */
const localStatePath = (stackName: string) => `../../../terraform.${stackName}.tfstate`;

/**
 * Where a stack keeps its state: in the config's S3 bucket under `<keyPrefix>/<stack>.tfstate`
 * (member workspaces under `<workspaceKeyPrefix>/<workspace>/`), encrypted and locked; or, with no
 * backend in the config, beside the project (not inside cdktf.out/, which synth rewrites), by
 * paths relative to the stack directory so they hold on any machine.
 */
export function configureStateBackend(stack: TerraformStack, config: OrgConfig, stackName: string): void {
  const s3 = config.backend?.s3;
  if (s3) {
    const backend = new S3Backend(stack, {
      bucket: s3.bucket,
      region: s3.region,
      key: s3StateKey(s3, stackName),
      workspaceKeyPrefix: s3.workspaceKeyPrefix,
      encrypt: true,
    });
    backend.addOverride("use_lockfile", s3.useLockfile);
  } else {
    new LocalBackend(stack, {
      path: localStatePath(stackName),
      workspaceDir: `../../../terraform.tfstate.d/${stackName}`,
    });
  }
}

/**
 * The outputs of a single-workspace (central) stack, read from wherever `configureStateBackend`
 * put its state, as a Terraform expression to use inside `try()`: it is null-valued (an empty
 * tuple indexed) until that stack has been applied. `terraform_remote_state` fails the plan on a
 * state that does not exist yet, and its `defaults` do not help there (hashicorp/terraform#22211),
 * so the read is counted on the state being there: `fileexists` for local state, and for S3 a
 * listing of the state key with the pipeline's own credentials (the reader provider), which the S3
 * backend needs on the bucket anyway.
 */
export function centralStackOutputs(scope: Construct, id: string, config: OrgConfig, stackName: string): string {
  const s3 = config.backend?.s3;
  if (s3) {
    const key = s3StateKey(s3, stackName);
    const reader = new AwsProvider(scope, `${id}-reader`, { alias: `${id.replace(/-/g, "_")}_reader`, region: s3.region });
    const listing = new DataAwsS3Objects(scope, `${id}-key`, { provider: reader, bucket: s3.bucket, prefix: key, maxKeys: 1 });
    const state = new DataTerraformRemoteStateS3(scope, id, { bucket: s3.bucket, region: s3.region, key, encrypt: true });
    state.addOverride("count", `\${contains(${listing.fqn}.keys, "${key}") ? 1 : 0}`);
  } else {
    const file = localStatePath(stackName);
    const state = new DataTerraformRemoteStateLocal(scope, id, { path: file });
    state.addOverride("count", `\${fileexists("${file}") ? 1 : 0}`);
  }
  return `data.terraform_remote_state.${id}[0].outputs`;
}
