interface Entry<T> {
  readonly value: T;
  readonly expires: number;
}

/**
 * A cache whose entries expire after a TTL, kept for a container's life. Bounded: a flood of
 * distinct keys (addresses, say) empties it rather than growing it without end.
 */
export class ExpiringMap<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  /** The entry of `key` if it has not expired by `now` (an entry, so that a cached `undefined` is told from a miss). */
  get(key: string, now: number): Entry<T> | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expires <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, value: T, now: number): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, expires: now + this.ttlMs });
  }

  /** The value of `key`, loaded and kept when it is missing or expired. */
  async getOrLoad(key: string, load: () => Promise<T>, now = Date.now()): Promise<T> {
    const hit = this.get(key, now);
    if (hit) return hit.value;
    const value = await load();
    this.set(key, value, now);
    return value;
  }
}
