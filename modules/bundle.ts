import { buildSync } from "esbuild";
import * as path from "node:path";

/** Where bundles are written before `TerraformAsset` copies them into each stack's directory. */
const BUILD_ROOT = path.join(__dirname, "..", ".build", "functions");

const built = new Map<string, string>();

/**
 * Bundles a handler and everything it imports (AWS SDK v3 included) into one minified
 * CommonJS file for Node 22, with its source map beside it. Returns the directory holding
 * `index.js`. Memoized per process: synthesizing many stacks bundles each handler once.
 * The output depends only on the sources, so an unchanged handler keeps its asset hash.
 */
export function bundleHandler(entry: string, name: string): string {
  const cached = built.get(entry);
  if (cached) return cached;
  const outdir = path.join(BUILD_ROOT, name);
  buildSync({
    entryPoints: [entry],
    outfile: path.join(outdir, "index.js"),
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: "none",
    logLevel: "error",
  });
  built.set(entry, outdir);
  return outdir;
}
