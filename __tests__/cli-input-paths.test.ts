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
