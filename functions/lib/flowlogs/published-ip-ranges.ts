import { z } from "zod";
import type { IpRangesDocument } from "./ip-ranges";

/** Where AWS publishes its ranges. */
export const IP_RANGES_URL = "https://ip-ranges.amazonaws.com/ip-ranges.json";

const ipRangesSchema = z.object({
  syncToken: z.string(),
  createDate: z.string(),
  prefixes: z.array(z.object({ ip_prefix: z.string(), region: z.string(), service: z.string() })),
  ipv6_prefixes: z.array(z.object({ ipv6_prefix: z.string(), region: z.string(), service: z.string() })),
});
export type PublishedIpRangesDocument = z.infer<typeof ipRangesSchema> & IpRangesDocument;

/** ip-ranges.json's text, parsed and checked to have AWS's shape; throws, naming what is wrong, when it has not. */
export function parseIpRanges(text: string): PublishedIpRangesDocument {
  const parsed = ipRangesSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`not AWS's ip-ranges.json: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export interface PublishedIpRangesOptions {
  /** How long a copy is used before AWS is asked whether it changed. @default 3600000 - an hour */
  readonly refreshMs?: number;
  /** After a failed fetch, how long before the next try (the last copy, if any, is used meanwhile). @default 60000 */
  readonly retryMs?: number;
  /** How long a fetch may take. @default 10000 */
  readonly timeoutMs?: number;
  /** Told why a fetch failed. */
  readonly onFailure?: (reason: string) => void;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** The clock, in milliseconds. @default Date.now */
  readonly now?: () => number;
}

/**
 * AWS's ip-ranges.json as a long-lived process keeps it: fetched on first use, asked again every
 * `refreshMs` with the ETag it came with (an unchanged file answers 304 and is not read again),
 * and, when AWS cannot be reached or answers something else, the last good copy kept and the next
 * try made after `retryMs`. Callers waiting at once share one fetch.
 */
export class PublishedIpRanges {
  private document?: PublishedIpRangesDocument;
  private etag?: string;
  private nextFetchAt = 0;
  private inFlight?: Promise<void>;

  constructor(private readonly options: PublishedIpRangesOptions = {}) {}

  /** The copy to use now: undefined only until a first fetch has succeeded. */
  async current(): Promise<PublishedIpRangesDocument | undefined> {
    const now = (this.options.now ?? Date.now)();
    if (now >= this.nextFetchAt) {
      this.inFlight ??= this.refresh(now).finally(() => (this.inFlight = undefined));
      await this.inFlight;
    }
    return this.document;
  }

  private async refresh(now: number): Promise<void> {
    const fetchIt = this.options.fetch ?? globalThis.fetch;
    try {
      const response = await fetchIt(IP_RANGES_URL, {
        headers: this.etag && this.document ? { "If-None-Match": this.etag } : {},
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      if (response.status !== 304) {
        if (!response.ok) throw new Error(`${IP_RANGES_URL} answered ${response.status}`);
        this.document = parseIpRanges(await response.text());
        this.etag = response.headers.get("etag") ?? undefined;
      }
      this.nextFetchAt = now + (this.options.refreshMs ?? 3_600_000);
    } catch (err) {
      this.options.onFailure?.((err as Error).message);
      this.nextFetchAt = now + (this.options.retryMs ?? 60_000);
    }
  }
}
