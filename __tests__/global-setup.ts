import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/**
 * Puts every temporary file of the run under one directory, which global-teardown.ts removes:
 * cdktf's Testing makes an output directory per app and synthesis, and never removes them.
 * Test workers start after this and inherit TMPDIR.
 */
export default function globalSetup(): void {
  const dir = mkdtempSync(path.join(tmpdir(), "flowtap-test-"));
  process.env.FLOWTAP_TEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
}
