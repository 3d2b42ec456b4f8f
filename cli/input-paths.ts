import { closeSync, openSync, readdirSync, readSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { isGzip } from "../functions/lib/flowlogs/input";

export type InputFiles = { readonly ok: true; readonly files: readonly string[] } | { readonly ok: false; readonly reason: string };

/**
 * The files that command-line paths name: a file as given; a directory as every file beneath it,
 * leaving out hidden files and directories (`.DS_Store`, `.git`), in path order (so the tree
 * `aws s3 sync` makes of a bucket's flow logs reads day by day), or, when every one is named as S3
 * delivery names flow log files, in the order of the time in their names (so the files of a
 * bucket's many flow logs, accounts and regions read as one stream in time, and merge and
 * aggregate as one). Symbolic links are followed, each directory read once. A path that does not
 * exist, or a directory with no file beneath it, is an error: nothing a user named is passed over
 * in silence.
 */
export function inputFiles(paths: readonly string[]): InputFiles {
  const files: string[] = [];
  for (const given of paths) {
    let stats;
    try {
      stats = statSync(given);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { ok: false, reason: `${given}: ${code === "ENOENT" ? "no such file or directory" : (err as Error).message}` };
    }
    if (!stats.isDirectory()) {
      files.push(given);
      continue;
    }
    const beneath: string[] = [];
    try {
      collectFiles(given, beneath, new Set());
    } catch (err) {
      return { ok: false, reason: `${given}: ${(err as Error).message}` };
    }
    if (beneath.length === 0) return { ok: false, reason: `${given}: a directory with no files beneath it` };
    files.push(...inTimeOrder(beneath.sort(byCodePoint)));
  }
  return { ok: true, files };
}

function collectFiles(dir: string, into: string[], visited: Set<string>): void {
  const real = realpathSync(dir);
  if (visited.has(real)) return;
  visited.add(real);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const full = path.join(dir, entry.name);
    const isDirectory = entry.isSymbolicLink() ? statSync(full).isDirectory() : entry.isDirectory();
    if (isDirectory) collectFiles(full, into, visited);
    else into.push(full);
  }
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The time in the name S3 delivery gives a flow log file: `<account>_vpcflowlogs_<region>_<flow log id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz`. */
const S3_FLOW_LOG_FILE = /_vpcflowlogs_[^_]+_fl-[0-9a-f]+_(\d{8}T\d{4})Z_[0-9a-f]+\.log(?:\.gz|\.parquet)?$/;

/** `files` (in path order) in the order of the time in their names when every one is an S3 flow log file's; else as they are. */
function inTimeOrder(files: string[]): string[] {
  const times = files.map((file) => S3_FLOW_LOG_FILE.exec(path.basename(file))?.[1]);
  if (times.some((time) => time === undefined)) return files;
  // Stable: files of the same time keep their path order.
  return files.map((file, i) => ({ file, time: times[i]! })).sort((a, b) => byCodePoint(a.time, b.time)).map(({ file }) => file);
}

/** `length` bytes of a file from `position` (fewer where it ends): what it holds, whatever its name. */
export function fileBytes(file: string, position: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  const fd = openSync(file, "r");
  try {
    return bytes.subarray(0, readSync(fd, bytes, 0, length, position));
  } finally {
    closeSync(fd);
  }
}

/** What a file holds, told by its first bytes (S3 and Firehose name objects as they like): Parquet, gzip, or anything else, read as it is. */
export type FileKind = "parquet" | "gzip" | "plain";

/** Bytes that tell a file's kind: Parquet's magic number is four. */
export const KIND_BYTES = 4;

/** The kind of what begins with `head` (its first KIND_BYTES bytes, or all of it when shorter). */
export function kindOf(head: Buffer): FileKind {
  if (head.length === KIND_BYTES && head.toString("latin1") === "PAR1") return "parquet";
  return isGzip(head) ? "gzip" : "plain";
}

export function fileKind(file: string): FileKind {
  return kindOf(fileBytes(file, 0, KIND_BYTES));
}
