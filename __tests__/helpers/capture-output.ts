/**
 * Captures what Powertools writes (JSON log lines, warnings and errors going to stderr, and
 * embedded-metric-format documents to stdout) while a test runs, parsed one object per line.
 */
export function captureOutput(): { lines: () => Record<string, unknown>[]; restore: () => void } {
  const written: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  };
  const spies = [jest.spyOn(process.stdout, "write").mockImplementation(capture), jest.spyOn(process.stderr, "write").mockImplementation(capture)];
  return {
    lines: () =>
      written
        .join("")
        .split("\n")
        .filter((line) => line.trim().startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

/** The values of an embedded-metric-format metric across the captured documents. */
export function metricValues(lines: Record<string, unknown>[], name: string): number[] {
  return lines.filter((l) => "_aws" in l && name in l).map((l) => Number(l[name]));
}
