import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { inputFiles } from "../cli/input-paths";

function tree(files: readonly string[]): string {
  const root = mkdtempSync(path.join(tmpdir(), "flowtap-paths-"));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), file);
  }
  return root;
}

describe("the files command-line paths name", () => {
  it("takes every file beneath a directory in path order, leaving hidden ones out, and files as given", () => {
    const root = tree(["2024/11/22/b.log.gz", "2024/11/21/z.log.gz", "2024/11/21/a.log.gz", "2024/.git/HEAD", ".DS_Store", "2024/11/.hidden.log"]);
    const given = path.join(root, ".DS_Store");
    expect(inputFiles([root, given])).toEqual({
      ok: true,
      files: ["2024/11/21/a.log.gz", "2024/11/21/z.log.gz", "2024/11/22/b.log.gz"].map((f) => path.join(root, f)).concat(given),
    });
  });

  it("reads the files S3 delivery writes in the order of the time in their names, across flow logs, accounts and regions", () => {
    const name = (account: string, region: string, flowLog: string, time: string) => `AWSLogs/${account}/vpcflowlogs/${region}/2024/11/21/${account}_vpcflowlogs_${region}_${flowLog}_20241121T${time}Z_3b6e4a1c.log.gz`;
    const files = [
      name("111111111111", "us-east-1", "fl-0a1b2c3d", "0005"),
      name("111111111111", "us-east-1", "fl-0a1b2c3d", "0000"),
      name("111111111111", "us-east-1", "fl-9f8e7d6c", "0000"),
      name("222222222222", "eu-west-1", "fl-1234abcd", "0000"),
      name("222222222222", "eu-west-1", "fl-1234abcd", "0010").replace(".log.gz", ".log.parquet"),
      name("222222222222", "eu-west-1", "fl-1234abcd", "0005"),
    ];
    const root = tree(files);
    expect(inputFiles([root])).toEqual({ ok: true, files: [files[1], files[2], files[3], files[0], files[5], files[4]].map((f) => path.join(root, f)) });
    // One file named otherwise: path order for all.
    writeFileSync(path.join(root, "AWSLogs", "notes.txt"), "");
    expect(inputFiles([root])).toEqual({ ok: true, files: [files[1], files[0], files[2], files[3], files[5], files[4], "AWSLogs/notes.txt"].map((f) => path.join(root, f)) });
  });

  it("follows symbolic links, reading each directory once", () => {
    const root = tree(["logs/a.log"]);
    symlinkSync(path.join(root, "logs"), path.join(root, "logs", "loop"));
    const elsewhere = tree(["b.log"]);
    symlinkSync(elsewhere, path.join(root, "logs", "more"));
    expect(inputFiles([root])).toEqual({ ok: true, files: [path.join(root, "logs", "a.log"), path.join(root, "logs", "more", "b.log")] });
  });

  it("refuses a path that does not exist, a directory with no files, and a dangling link", () => {
    const root = tree([".only-hidden"]);
    expect(inputFiles([path.join(root, "nope.log")])).toEqual({ ok: false, reason: `${path.join(root, "nope.log")}: no such file or directory` });
    expect(inputFiles([root])).toEqual({ ok: false, reason: `${root}: a directory with no files beneath it` });
    symlinkSync(path.join(root, "gone"), path.join(root, "dangling"));
    expect(inputFiles([root])).toMatchObject({ ok: false, reason: expect.stringMatching(new RegExp(`^${root}: ENOENT`)) });
  });
});
