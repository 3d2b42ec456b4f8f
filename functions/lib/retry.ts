import { isServerError, isThrottlingError, isTransientError } from "@smithy/service-error-classification";

export interface RetryOptions {
  /** Attempts in all, the first included. @default 8 */
  readonly maxAttempts?: number;
  /** The first backoff's upper bound in ms; each later one doubles, with full jitter. @default 200 */
  readonly baseDelayMs?: number;
  /** @default 20000 */
  readonly maxDelayMs?: number;
}

/** True for the errors AWS asks clients to retry: throttling (RequestLimitExceeded, ...), transient and 5xx. */
export function isRetryableAwsError(err: unknown): boolean {
  if (typeof err !== "object" || err === null || !("name" in err)) return false;
  const error = err as Parameters<typeof isThrottlingError>[0];
  return isThrottlingError(error) || isTransientError(error) || isServerError(error);
}

/**
 * Runs `call`, retrying AWS throttling and transient errors with capped exponential backoff
 * and full jitter. This is the only retry layer: SDK clients are created with maxAttempts 1
 * so that attempts do not multiply.
 */
export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 8;
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 20_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= maxAttempts || !isRetryableAwsError(err)) throw err;
      const delay = Math.random() * Math.min(cap, base * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** The AWS error code of an SDK v3 error (`name`), or undefined for anything else. */
export function awsErrorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "name" in err && typeof err.name === "string" ? err.name : undefined;
}
