import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import pLimit from "p-limit";
import { findOnPath } from "./rollout";
import { awsProviderVersionsIn, diagnosticLines, repinAwsProvider, runTerraform, writeMirrorCliConfig, type AwsProviderMirror, type Repinning } from "./terraform-tools";

export interface ValidateOptions {
  /** The synthesized stacks: `cdktf.out/stacks`. */
  readonly stacksDir: string;
  readonly terraform: string;
  /**
   * Install hashicorp/aws from this filesystem mirror instead of the registry, each stack
   * re-pinned to the mirror's version. @default - terraform installs the pinned version as the user's CLI config says
   */
  readonly mirror?: AwsProviderMirror;
  /** Shared by every stack's init. @default - TF_PLUGIN_CACHE_DIR, else a directory beside the stacks */
  readonly pluginCacheDir?: string;
  /** Stacks validated at once. @default 2 */
  readonly parallel?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export interface StackValidation {
  readonly stack: string;
  readonly valid: boolean;
  /** Terraform's errors and warnings, one line each; init's output when init failed. */
  readonly diagnostics: readonly string[];
  readonly repinning?: Repinning;
}

/** `terraform validate` of a stack directory that `terraform init` has prepared. */
export async function validateInitialized(stack: string, dir: string, terraform: string, env: NodeJS.ProcessEnv): Promise<StackValidation> {
  const validate = await runTerraform(terraform, ["validate", "-json", "-no-color"], dir, env);
  let report: { valid?: boolean; diagnostics?: Parameters<typeof diagnosticLines>[0] };
  try {
    report = JSON.parse(validate.stdout) as typeof report;
  } catch {
    return { stack, valid: false, diagnostics: [`terraform validate failed: ${(validate.stderr || validate.stdout).trim()}`] };
  }
  return { stack, valid: validate.code === 0 && report.valid === true, diagnostics: diagnosticLines(report.diagnostics ?? []) };
}

/**
 * `terraform init -backend=false` and `terraform validate` of every stack, each in a copy of its
 * directory, so that neither the user's state configuration nor `.terraform` of the stack is touched.
 */
export async function validateStacks(options: ValidateOptions): Promise<StackValidation[]> {
  const stacks = readdirSync(options.stacksDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(options.stacksDir, e.name, "cdk.tf.json")))
    .map((e) => e.name)
    .sort();
  if (stacks.length === 0) throw new Error(`no synthesized stack in ${options.stacksDir}: run npm run synth first`);
  const work = mkdtempSync(path.join(tmpdir(), "flowtap-validate-"));
  const baseEnv = options.env ?? process.env;
  const pluginCacheDir = options.pluginCacheDir ?? baseEnv.TF_PLUGIN_CACHE_DIR ?? path.resolve(options.stacksDir, "..", ".terraform-plugin-cache");
  const env: NodeJS.ProcessEnv = options.mirror
    ? { ...baseEnv, TF_CLI_CONFIG_FILE: writeMirrorCliConfig(path.join(work, "mirror.tfrc"), options.mirror, pluginCacheDir) }
    : { ...baseEnv, TF_PLUGIN_CACHE_DIR: pluginCacheDir };
  try {
    const validateOne = async (stack: string): Promise<StackValidation> => {
      const dir = path.join(work, stack);
      cpSync(path.join(options.stacksDir, stack), dir, { recursive: true, filter: (src) => path.basename(src) !== ".terraform" });
      const repinning = options.mirror ? repinAwsProvider(dir, options.mirror.version) : undefined;
      const init = await runTerraform(options.terraform, ["init", "-backend=false", "-input=false", "-no-color"], dir, env);
      if (init.code !== 0) return { stack, valid: false, diagnostics: [`terraform init failed: ${(init.stderr || init.stdout).trim()}`], repinning };
      return { ...(await validateInitialized(stack, dir, options.terraform, env)), repinning };
    };
    // The plugin cache is not safe for concurrent first installs: the first stack fills it alone.
    const [first, ...rest] = stacks;
    const results = [await validateOne(first)];
    const limit = pLimit(options.parallel ?? 2);
    results.push(...(await Promise.all(rest.map((stack) => limit(() => validateOne(stack))))));
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** One line per stack, as `npm run validate` prints them. */
export function validationLines(results: readonly StackValidation[]): string[] {
  return results.flatMap((r) => {
    const pin = r.repinning ? ` (aws ${r.repinning.from} re-pinned to the mirror's ${r.repinning.to}${Object.keys(r.repinning.translated).length ? `; ${Object.entries(r.repinning.translated).map(([name, n]) => `${name}: ${n}`).join("; ")}` : ""})` : "";
    return [`${r.valid ? "valid  " : "INVALID"} ${r.stack}${pin}`, ...r.diagnostics.map((d) => `        ${d}`)];
  });
}

export interface ValidateCommandOptions {
  readonly stacksDir: string;
  /** A filesystem mirror directory (holding registry.terraform.io), from `--mirror` or TF_PLUGIN_MIRROR. */
  readonly mirrorDir?: string;
  readonly parallel: number;
}

/** `flowtap validate`: exit status 0 when every stack is valid, 1 otherwise. */
export async function runValidate(options: ValidateCommandOptions, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; env: NodeJS.ProcessEnv }): Promise<number> {
  const terraform = io.env.TERRAFORM ?? findOnPath("terraform", io.env);
  if (!terraform) {
    io.stderr.write("flowtap validate needs terraform (1.10 or later): put it on PATH or set TERRAFORM\n");
    return 1;
  }
  let mirror: AwsProviderMirror | undefined;
  if (options.mirrorDir) {
    const version = awsProviderVersionsIn(options.mirrorDir).at(-1);
    if (!version) {
      io.stderr.write(`flowtap validate: ${options.mirrorDir} holds no registry.terraform.io/hashicorp/aws/<version>\n`);
      return 1;
    }
    mirror = { dir: options.mirrorDir, version };
  }
  const results = await validateStacks({ stacksDir: options.stacksDir, terraform, mirror, parallel: options.parallel, env: io.env });
  for (const line of validationLines(results)) io.stdout.write(`${line}\n`);
  const invalid = results.filter((r) => !r.valid).length;
  io.stdout.write(`${results.length - invalid} of ${results.length} stacks valid\n`);
  return invalid > 0 ? 1 : 0;
}
