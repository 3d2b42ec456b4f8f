import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { runEnrich, type EnrichOptions } from "../cli/enrich";
import { writeOrganizationSample } from "../samples/organization";
import { collect } from "./helpers/streams";

/**
 * What `flowtap enrich` writes for an organization-shaped input stays byte for byte what it was
 * decided to be: a change of output must be a decision, made here, not a side effect of making it
 * faster. The digests were first taken before the work of issue #28 on its speed; each side's
 * AvailabilityZoneId (#24) is the one change since, so without it the output is still those bytes.
 */
const DIGESTS = {
  /** Every record, one thread: the bytes in the order written. */
  records: "fed6375f845bd65df4a7406373ae99313c14afc1f424f07cfb6babf792cc836b",
  /** 60-second windows, one thread. */
  windows: "5c2cd02d410f083999b7295f44cfccc4f70cf08027b381298e2f431472412a84",
};
/** The same, taken before the zone ids: of the output without them. */
const DIGESTS_BEFORE_ZONE_IDS = {
  records: "d446ff7b891fb7784bec226b8555de82d196fe9804f3b95f764ca3703d1cb28e",
  windows: "fc4f4dfac0dbcde022289399e946a05817cdd377de04ea2d6c606cec71a100d4",
};
const withoutZoneIds = (text: string) => text.replace(/,"AvailabilityZoneId":"[^"]*"/g, "");

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const sortedLines = (text: string) => `${text.trimEnd().split("\n").sort().join("\n")}\n`;

describe("flowtap enrich on an organization-shaped input", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flowtap-enrich-output-"));
  const logs = writeOrganizationSample(dir, 2_000, 60_000);
  const inventoryDirs = [path.join(dir, "inventory")];

  const enrich = async (options: Partial<EnrichOptions>) => {
    const stdout = collect();
    const stderr = collect();
    const status = await runEnrich({ inventoryDirs, output: "jsonl", files: [logs], ...options }, { stdin: new PassThrough(), stdout: stdout.stream, stderr: stderr.stream });
    expect({ status, stderr: stderr.text().split("\n").filter((l) => !l.startsWith("flowtap enrich: ")) }).toEqual({ status: 0, stderr: [""] });
    return stdout.text();
  };

  it("writes every record as it did", async () => {
    const out = await enrich({ threads: 1 });
    expect(out.split("\n").length).toBeGreaterThan(25_000);
    expect(sha256(out)).toBe(DIGESTS.records);
    expect(sha256(withoutZoneIds(out))).toBe(DIGESTS_BEFORE_ZONE_IDS.records);
  });

  it("writes 60-second windows as it did", async () => {
    const out = await enrich({ threads: 1, windowSeconds: 60 });
    expect(sha256(out)).toBe(DIGESTS.windows);
    expect(sha256(withoutZoneIds(out))).toBe(DIGESTS_BEFORE_ZONE_IDS.windows);
  });

  it("writes the same records with two threads, in another order", async () => {
    const [one, two] = [await enrich({ threads: 1 }), await enrich({ threads: 2 })];
    expect(sha256(sortedLines(two))).toBe(sha256(sortedLines(one)));
  });

  it("generates the same input on every run", () => {
    expect(sha256(readFileSync(logs, "utf8"))).toBe(sha256(readFileSync(writeOrganizationSample(mkdtempSync(path.join(tmpdir(), "flowtap-enrich-again-")), 2_000, 60_000), "utf8")));
  });
});
