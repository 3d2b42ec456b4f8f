import { App } from "cdktf";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, EXAMPLE_CONFIG_PATH, loadOrgConfig } from "./config/load";
import { rolloutManifest, type RolloutManifest } from "./config/rollout-manifest";
import { rolloutReview, withStackFacts } from "./config/rollout-review";
import { composeStacks } from "./stacks";

// `npm run synth [-- --config org.yaml] [--previous old/rollout.json]`, or `cdktf synth` with FLOWTAP_CONFIG set.
const { values } = parseArgs({
  options: { config: { type: "string" }, out: { type: "string" }, previous: { type: "string" } },
  allowPositionals: false,
});
const configFile = path.relative(process.cwd(), values.config ?? process.env.FLOWTAP_CONFIG ?? EXAMPLE_CONFIG_PATH);
const outdir = values.out ?? process.env.CDKTF_OUTDIR ?? "cdktf.out";

function readPrevious(file: string | undefined): RolloutManifest | undefined {
  if (!file) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as RolloutManifest;
  } catch (err) {
    throw new ConfigError([`${file}: cannot read the previous rollout manifest: ${(err as Error).message}`]);
  }
}

try {
  const config = loadOrgConfig(configFile);
  const previous = readPrevious(values.previous);
  const app = new App({ outdir });
  const stacks = composeStacks(app, config, configFile);
  app.synth();
  const manifest = withStackFacts(rolloutManifest(config, configFile), (name) =>
    JSON.parse(readFileSync(path.join(outdir, "stacks", name, "cdk.tf.json"), "utf8")),
  );
  mkdirSync(outdir, { recursive: true });
  writeFileSync(path.join(outdir, "rollout.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(path.join(outdir, "ROLLOUT.md"), rolloutReview(manifest, previous));
  console.log(`flowtap: synthesized ${stacks.map((s) => s.node.id).join(", ")} from ${configFile} into ${outdir}/ (rollout.json, ROLLOUT.md)`);
} catch (err) {
  if (err instanceof ConfigError) {
    for (const problem of err.problems) console.error(problem);
    process.exit(2);
  }
  throw err;
}
