import { App } from "cdktf";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, EXAMPLE_CONFIG_PATH, loadOrgConfig } from "./config/load";
import { rolloutManifest } from "./config/rollout-manifest";
import { composeStacks } from "./stacks";

// `npm run synth [-- --config org.yaml]`, or `cdktf synth` with FLOWTAP_CONFIG set.
const { values } = parseArgs({
  options: { config: { type: "string" }, out: { type: "string" } },
  allowPositionals: false,
});
const configFile = path.relative(process.cwd(), values.config ?? process.env.FLOWTAP_CONFIG ?? EXAMPLE_CONFIG_PATH);
const outdir = values.out ?? process.env.CDKTF_OUTDIR ?? "cdktf.out";

try {
  const config = loadOrgConfig(configFile);
  const app = new App({ outdir });
  const stacks = composeStacks(app, config, configFile);
  app.synth();
  mkdirSync(outdir, { recursive: true });
  writeFileSync(path.join(outdir, "rollout.json"), `${JSON.stringify(rolloutManifest(config, configFile), null, 2)}\n`);
  console.log(`flowtap: synthesized ${stacks.map((s) => s.node.id).join(", ")} from ${configFile} into ${outdir}/`);
} catch (err) {
  if (err instanceof ConfigError) {
    for (const problem of err.problems) console.error(problem);
    process.exit(2);
  }
  throw err;
}
