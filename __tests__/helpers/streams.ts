import { PassThrough } from "node:stream";

/** A writable stream that keeps what is written to it, for a command's stdout or stderr. */
export function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer | string) => chunks.push(Buffer.from(c)));
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}
