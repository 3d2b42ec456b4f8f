import { DataTerraformRemoteStateLocal, DataTerraformRemoteStateS3, LocalBackend, S3Backend, type TerraformRemoteState, type TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { OrgConfig } from "../config/schema";

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
      key: `${s3.keyPrefix}/${stackName}.tfstate`,
      workspaceKeyPrefix: s3.workspaceKeyPrefix,
      encrypt: true,
    });
    backend.addOverride("use_lockfile", s3.useLockfile);
  } else {
    new LocalBackend(stack, {
      path: `../../../terraform.${stackName}.tfstate`,
      workspaceDir: `../../../terraform.tfstate.d/${stackName}`,
    });
  }
}

/** Reads the outputs of a single-workspace (central) stack, from wherever `configureStateBackend` put its state. */
export function remoteStateOf(scope: Construct, id: string, config: OrgConfig, stackName: string): TerraformRemoteState {
  const s3 = config.backend?.s3;
  return s3
    ? new DataTerraformRemoteStateS3(scope, id, { bucket: s3.bucket, region: s3.region, key: `${s3.keyPrefix}/${stackName}.tfstate`, encrypt: true })
    : new DataTerraformRemoteStateLocal(scope, id, { path: `../../../terraform.${stackName}.tfstate` });
}
