import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { findOnPath } from "./rollout";

/** The hashicorp/aws provider in a filesystem mirror (`registry.terraform.io/hashicorp/aws/<version>/…`). */
export interface AwsProviderMirror {
  /** The mirror's root, the directory that holds `registry.terraform.io`. */
  readonly dir: string;
  /** The newest version the mirror holds. */
  readonly version: string;
}

/** Where terraform and the provider mirror were found, or what is missing and how to point at it. */
export type TerraformTools =
  | { readonly found: true; readonly terraform: string; readonly mirror: AwsProviderMirror }
  | { readonly found: false; readonly missing: string };

const AWS_PROVIDER = "registry.terraform.io/hashicorp/aws";

/**
 * Terraform's own implied mirror directories (`provider_installation` in the CLI docs), then
 * any directory directly under /opt, which is where a machine image puts one.
 */
function mirrorCandidates(env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME ?? homedir();
  const xdgData = (env.XDG_DATA_DIRS ?? "/usr/local/share:/usr/share").split(":").filter(Boolean);
  const opt = existsSync("/opt") ? readdirSync("/opt").map((name) => path.join("/opt", name)) : [];
  return [path.join(home, ".terraform.d", "plugins"), path.join(env.XDG_DATA_HOME ?? path.join(home, ".local", "share"), "terraform", "plugins"), ...xdgData.map((d) => path.join(d, "terraform", "plugins")), ...opt];
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The versions of hashicorp/aws a mirror directory holds, unpacked (`<version>/<os_arch>/`) or packed (`terraform-provider-aws_<version>_<os>_<arch>.zip`). */
export function awsProviderVersionsIn(dir: string): string[] {
  const providerDir = path.join(dir, AWS_PROVIDER);
  if (!existsSync(providerDir)) return [];
  const versions = new Set<string>();
  for (const entry of readdirSync(providerDir)) {
    const packed = /^terraform-provider-aws_(\d+\.\d+\.\d+)_\w+\.zip$/.exec(entry);
    if (packed) versions.add(packed[1]);
    else if (/^\d+\.\d+\.\d+$/.test(entry) && statSync(path.join(providerDir, entry)).isDirectory()) versions.add(entry);
  }
  return [...versions].sort(compareVersions);
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** terraform from `TERRAFORM` or PATH, and the provider mirror from `TF_PLUGIN_MIRROR` or the usual places. */
export function findTerraformTools(env: NodeJS.ProcessEnv = process.env): TerraformTools {
  const terraform = env.TERRAFORM ? (executable(env.TERRAFORM) ? env.TERRAFORM : undefined) : findOnPath("terraform", env);
  if (!terraform) {
    return { found: false, missing: env.TERRAFORM ? `TERRAFORM=${env.TERRAFORM} is not an executable file` : "no terraform on PATH (set TERRAFORM to the binary)" };
  }
  const candidates = env.TF_PLUGIN_MIRROR ? [env.TF_PLUGIN_MIRROR] : mirrorCandidates(env);
  for (const dir of candidates) {
    const versions = awsProviderVersionsIn(dir);
    if (versions.length > 0) return { found: true, terraform, mirror: { dir, version: versions.at(-1)! } };
  }
  return {
    found: false,
    missing: env.TF_PLUGIN_MIRROR
      ? `TF_PLUGIN_MIRROR=${env.TF_PLUGIN_MIRROR} holds no ${AWS_PROVIDER}/<version>`
      : `no filesystem mirror of ${AWS_PROVIDER} in ${candidates.join(", ")} (set TF_PLUGIN_MIRROR to the directory holding registry.terraform.io)`,
  };
}

/** One line saying what the Terraform checks of `npm test` run with, or loudly that they are skipped and how to point at what is missing. */
export function terraformToolsLine(tools: TerraformTools = findTerraformTools()): string {
  return tools.found
    ? `terraform checks: ${tools.terraform} with hashicorp/aws ${tools.mirror.version} from ${tools.mirror.dir}`
    : `SKIPPED: terraform validate and plan (${tools.missing}); set TERRAFORM to a terraform binary and TF_PLUGIN_MIRROR to a filesystem mirror of hashicorp/aws to run them`;
}

/**
 * A Terraform CLI configuration (for `TF_CLI_CONFIG_FILE`) that installs hashicorp/aws from the
 * mirror and nothing from a registry, with a shared plugin cache. Returns the file's path.
 */
export function writeMirrorCliConfig(file: string, mirror: AwsProviderMirror, pluginCacheDir: string): string {
  mkdirSync(pluginCacheDir, { recursive: true });
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    [
      "provider_installation {",
      `  filesystem_mirror {`,
      `    path    = ${JSON.stringify(mirror.dir)}`,
      `    include = [${JSON.stringify(AWS_PROVIDER)}]`,
      "  }",
      `  direct { exclude = [${JSON.stringify(AWS_PROVIDER)}] }`,
      "}",
      `plugin_cache_dir = ${JSON.stringify(pluginCacheDir)}`,
      // Without a lock file Terraform 1.4+ would install from the mirror on every init, and inits run
      // side by side race on the cache: these directories are temporary, their lock files never kept.
      "plugin_cache_may_break_dependency_lock_file = true",
      "",
    ].join("\n"),
  );
  return file;
}

/**
 * What changes when a stack written for provider 6.x is given to a 5.x mirror: each a
 * difference of the provider's schema that a flowtap stack meets, and why. Nothing else is rewritten.
 */
export const PROVIDER_5X_TRANSLATIONS: readonly { readonly name: string; readonly from: RegExp; readonly to: string }[] = [
  // 6.0 renamed the aws_region data source's `name` attribute to `region` (5.x has only `name`).
  { name: "data.aws_region.<name>.region is .name in 5.x", from: /(\bdata\.aws_region\.[\w-]+)\.region\b/g, to: "$1.name" },
];

/** What {@link repinAwsProvider} changed, for the line a user reads. */
export interface Repinning {
  readonly from: string;
  readonly to: string;
  /** Translation name → how many places it changed. */
  readonly translated: Readonly<Record<string, number>>;
}

/**
 * Re-pins `cdk.tf.json` in `stackDir` to the mirror's hashicorp/aws version: `required_providers`
 * gets `version`, and when that is a 5.x, the {@link PROVIDER_5X_TRANSLATIONS} are applied.
 */
export function repinAwsProvider(stackDir: string, version: string): Repinning {
  const file = path.join(stackDir, "cdk.tf.json");
  const document = JSON.parse(readFileSync(file, "utf8"));
  const aws = document.terraform?.required_providers?.aws;
  if (!aws) throw new Error(`${file}: no terraform.required_providers.aws to re-pin`);
  const from = String(aws.version);
  aws.version = version;
  const { text, translated } = translateForProvider(JSON.stringify(document, null, 2), version);
  writeFileSync(file, `${text}\n`);
  return { from, to: version, translated };
}

/** `text` (Terraform JSON, or expressions of it) for provider `version`: the {@link PROVIDER_5X_TRANSLATIONS} applied when that is a 5.x. */
export function translateForProvider(text: string, version: string): { text: string; translated: Record<string, number> } {
  const translated: Record<string, number> = {};
  if (Number(version.split(".")[0]) >= 6) return { text, translated };
  let result = text;
  for (const translation of PROVIDER_5X_TRANSLATIONS) {
    const count = result.match(translation.from)?.length ?? 0;
    if (count > 0) {
      result = result.replace(translation.from, translation.to);
      translated[translation.name] = count;
    }
  }
  return { text: result, translated };
}

export interface TerraformRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs terraform with `args` in `cwd`, non-interactively (`input`, if given, is its standard input), and collects its output. */
export function runTerraform(terraform: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, input?: string): Promise<TerraformRun> {
  return new Promise((resolve) => {
    const child = spawn(terraform, args, { cwd, env: { ...env, TF_IN_AUTOMATION: "1", TF_INPUT: "0" }, stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.end(input ?? "");
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (err) => resolve({ code: 127, stdout: "", stderr: err.message }));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") }));
  });
}

/** The diagnostics of `terraform … -json` output (validate's `diagnostics`), one line each: "Error: summary (address): detail". */
export function diagnosticLines(diagnostics: readonly { severity: string; summary: string; detail?: string; address?: string; range?: { filename: string; start: { line: number } } }[]): string[] {
  return diagnostics.map((d) => {
    const where = d.address ?? (d.range ? `${d.range.filename}:${d.range.start.line}` : undefined);
    return `${d.severity === "error" ? "Error" : "Warning"}: ${d.summary}${where ? ` (${where})` : ""}${d.detail ? `: ${d.detail.replace(/\s+/g, " ").trim()}` : ""}`;
  });
}
