import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// asl-validator ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require("asl-validator") as (definition: unknown) => { isValid: boolean; errors: { message?: string; path?: string }[] };

/**
 * The AWS calls `terraform plan` makes on a fresh state, answered locally:
 * - STS: the provider assumes each workspace's role and asks who it is. AssumeRole and
 *   GetCallerIdentity answer in the Query API's XML, the account taken from the role ARN so that
 *   `allowed_account_ids` holds; credentials it did not issue (but the caller's base key) are
 *   refused as STS refuses them.
 * - Step Functions: the provider (5.x) checks a state machine's definition with
 *   ValidateStateMachineDefinition while planning; asl-validator answers it, in the JSON protocol.
 */
export interface FakeAws {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_STS` and `AWS_ENDPOINT_URL_SFN`. */
  readonly url: string;
  /** Every AssumeRole call, in order. */
  readonly assumedRoles: readonly AssumeRoleCall[];
  /** Every definition ValidateStateMachineDefinition was asked about, parsed. */
  readonly validatedDefinitions: readonly unknown[];
  close(): Promise<void>;
}

export interface AssumeRoleCall {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly externalId?: string;
}

export interface FakeAwsOptions {
  /** The access key id of the caller's own credentials. */
  readonly baseAccessKeyId: string;
  /** The account the base credentials belong to. @default "000000000000" */
  readonly baseAccountId?: string;
}

interface Identity {
  readonly account: string;
  readonly arn: string;
  readonly userId: string;
}

const NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";
const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

function xml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": randomUUID() });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}

function stsError(res: ServerResponse, status: number, code: string, message: string): void {
  xml(res, status, `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
}

/** The access key id of a SigV4 `Authorization` header. */
function accessKeyOf(req: IncomingMessage): string | undefined {
  return /Credential=([^/]+)\//.exec(req.headers.authorization ?? "")?.[1];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": randomUUID() });
  res.end(JSON.stringify(body));
}

/** ValidateStateMachineDefinition's answer: OK, or FAIL with a diagnostic per problem. */
function validateDefinition(definition: string): { result: "OK" | "FAIL"; diagnostics: { severity: string; code: string; message: string; location?: string }[]; truncated: boolean } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(definition);
  } catch (err) {
    return { result: "FAIL", diagnostics: [{ severity: "ERROR", code: "INVALID_JSON_DESCRIPTION", message: (err as Error).message }], truncated: false };
  }
  const { isValid, errors } = aslValidator(parsed);
  return {
    result: isValid ? "OK" : "FAIL",
    diagnostics: errors.map((e) => ({ severity: "ERROR", code: "SCHEMA_VALIDATION_FAILED", message: e.message ?? "invalid", location: e.path })),
    truncated: false,
  };
}

export async function startFakeAws(options: FakeAwsOptions): Promise<FakeAws> {
  const baseAccount = options.baseAccountId ?? "000000000000";
  const identities = new Map<string, Identity>([
    [options.baseAccessKeyId, { account: baseAccount, arn: `arn:aws:iam::${baseAccount}:user/pipeline`, userId: "AIDAEXAMPLEPIPELINE" }],
  ]);
  const assumedRoles: AssumeRoleCall[] = [];
  const validatedDefinitions: unknown[] = [];

  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const caller = identities.get(accessKeyOf(req) ?? "");
      const target = req.headers["x-amz-target"];
      if (typeof target === "string") {
        if (!caller) return json(res, 400, { __type: "UnrecognizedClientException", message: "The security token included in the request is invalid." });
        if (target !== "AWSStepFunctions.ValidateStateMachineDefinition") return json(res, 400, { __type: "UnknownOperationException", message: `${target} is not answered here` });
        const { definition } = JSON.parse(body) as { definition: string };
        validatedDefinitions.push(JSON.parse(definition));
        return json(res, 200, validateDefinition(definition));
      }
      const form = new URLSearchParams(body);
      if (!caller) return stsError(res, 403, "InvalidClientTokenId", "The security token included in the request is invalid.");
      switch (form.get("Action")) {
        case "GetCallerIdentity":
          return xml(
            res,
            200,
            `<GetCallerIdentityResponse xmlns="${NAMESPACE}"><GetCallerIdentityResult><Arn>${caller.arn}</Arn><UserId>${caller.userId}</UserId><Account>${caller.account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
          );
        case "AssumeRole": {
          const roleArn = form.get("RoleArn") ?? "";
          const sessionName = form.get("RoleSessionName") ?? "";
          const role = ROLE_ARN.exec(roleArn);
          if (!role) return stsError(res, 400, "ValidationError", `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint`);
          assumedRoles.push({ roleArn, sessionName, externalId: form.get("ExternalId") ?? undefined });
          const [, account, roleName] = role;
          const roleId = `AROA${randomBytes(8).toString("hex").toUpperCase()}`;
          const accessKeyId = `ASIA${randomBytes(8).toString("hex").toUpperCase()}`;
          const arn = `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`;
          identities.set(accessKeyId, { account, arn, userId: `${roleId}:${sessionName}` });
          const expiration = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
          return xml(
            res,
            200,
            `<AssumeRoleResponse xmlns="${NAMESPACE}"><AssumeRoleResult><AssumedRoleUser><AssumedRoleId>${roleId}:${sessionName}</AssumedRoleId><Arn>${arn}</Arn></AssumedRoleUser><Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${randomBytes(20).toString("base64")}</SecretAccessKey><SessionToken>${randomBytes(48).toString("base64")}</SessionToken><Expiration>${expiration}</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
          );
        }
        default:
          return stsError(res, 400, "InvalidAction", `Could not find operation ${form.get("Action")} for version 2011-06-15`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    assumedRoles,
    validatedDefinitions,
    close: () => new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
