import { closeSync, openSync, readdirSync, readSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { isGzip } from "../functions/lib/flowlogs/input";

export type InputFiles = { readonly ok: true; readonly files: readonly string[] } | { readonly ok: false; readonly reason: string };

/**
 * The files that command-line paths name: a file as given; a directory as every file beneath it,
 * in path order (so the tree `aws s3 sync` makes of a bucket's flow logs reads day by day), leaving
 * out hidden files and directories (`.DS_Store`, `.git`). Symbolic links are followed, each
 * directory read once. A path that does not exist, or a directory with no file beneath it, is
 * an error: nothing a user named is passed over in silence.
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
    files.push(...beneath.sort(byCodePoint));
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
