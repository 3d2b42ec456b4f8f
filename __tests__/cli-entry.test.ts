import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { sampleNetworkInterfaces, writeSampleInventory } from "./helpers/sample-inventory";

const ROOT = path.join(__dirname, "..");
const dir = mkdtempSync(path.join(tmpdir(), "flowtap-entry-"));

/** Runs `npx flowtap ARGS` as the README does, by its bin script, from the project root. */
async function flowtap(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(ROOT, "bin", "flowtap.cjs"), ...args], { cwd: ROOT, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("the flowtap command, by its bin script", () => {
  it("names every command in its help", async () => {
    const { code, stdout } = await flowtap("--help");
    expect(code).toBe(0);
    for (const command of ["backfill", "rollout", "enrich", "inventory", "query", "accounts"]) expect(stdout).toContain(command);
  });

  it("runs the README's sample: enrich, then a named query over what it wrote", async () => {
    const enriched = path.join(dir, "enriched.jsonl");
    const enrich = await flowtap("enrich", "--inventory", "samples/inventory", "--out", enriched, "samples/flow-logs.log.gz");
    expect(enrich).toMatchObject({ code: 0, stdout: "" });
    expect(enrich.stderr).toMatch(/^flowtap enrich: \d+ records read, \d+ enriched/m);

    const query = await flowtap("query", "--json", "lambda-to-rds-without-proxy", enriched);
    expect(query.code).toBe(0);
    const rows = query.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(rows.length).toBeGreaterThan(0);
  });

  it("takes --inventory more than once, merging them", async () => {
    // The sample's ENIs in two halves, each with every other file.
    const enis = sampleNetworkInterfaces();
    const halves = [0, 1].map((half) => writeSampleInventory(path.join(dir, `half-${half}`), enis.filter((_, i) => i % 2 === half)));
    const enrich = (...inventories: string[]) => flowtap("enrich", ...inventories.flatMap((d) => ["--inventory", d]), "--out", path.join(dir, "halves.jsonl"), "samples/flow-logs.log.gz");
    expect((await enrich(...halves)).stderr).toMatch(/^flowtap enrich: 400 records read, 400 enriched, .*, 0 with an unknown private address; /m);
    expect((await enrich(halves[0])).stderr).not.toMatch(/, 0 with an unknown private address; /);
  });

  it("reports a command's bad input as a failure with the reason", async () => {
    const rollout = await flowtap("rollout", "plan", "--manifest", path.join(dir, "missing.json"));
    expect(rollout.code).not.toBe(0);
    expect(rollout.stderr).toContain("missing.json");
  });

  it.each([
    ["query", "--list"],
    ["enrich", "--inventory", "samples/inventory", "samples/flow-logs.log.gz"],
  ])("ends quietly with status 141 when its reader goes away (flowtap %s … | head)", async (...args) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "flowtap.cjs"), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const [code] = await once(child, "exit");
    expect({ code, stderr }).toEqual({ code: 141, stderr: "" });
  });
});
