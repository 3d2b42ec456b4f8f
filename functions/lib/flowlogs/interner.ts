/** FNV-1a over bytes: start from FNV_OFFSET, then `hash = Math.imul(hash ^ byte, FNV_PRIME)` per byte. */
export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 16777619;

/** The FNV-1a hash of `bytes[start..end)`, as ByteInterner.entryOfHashed takes it. */
export function fnv1a(bytes: Uint8Array, start: number, end: number): number {
  let hash = FNV_OFFSET;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], FNV_PRIME);
  return hash;
}

/** How many strings an interner holds by default before it starts again. */
export const INTERNED_VALUES = 1 << 17;

const MIN_SLOTS = 1024;

/** FNV-1a's low bits depend only on the bytes' low bits: its high bits are folded in before masking. */
export function spread(hash: number): number {
  return Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
}

/** Per entry in `meta`: its hash, its offset in the arena, its length. */
const STRIDE = 3;

/**
 * Turns byte ranges into strings, handing back the same string for the same bytes without
 * decoding them again. Flow logs repeat the same few thousand ENI ids and addresses millions of
 * times: decoding each occurrence, and hashing the new string for every map it is looked up in,
 * costs more than the rest of the enrichment. An interned string is decoded once, and callers
 * can key their own per-value data by its entry number instead of by the string.
 *
 * Open addressing over FNV-1a hashes of the bytes (which a scanner can compute while it looks for
 * the end of a token); a hit is confirmed byte for byte. Memory is bounded: when `capacity`
 * strings are held, the table starts again empty and entry numbers are reused.
 */
export class ByteInterner {
  /**
   * Per slot, the entry it holds, or -1. Kept at two to four slots per entry, so that
   * the table is as small as it can be: most lookups then hit the cache.
   */
  private slots = new Int32Array(MIN_SLOTS).fill(-1);
  private mask = MIN_SLOTS - 1;
  private readonly meta: Int32Array;
  private arena = new Uint8Array(1 << 16);
  private arenaUsed = 0;
  private readonly values: string[] = [];
  /** A small number callers may keep per entry, 0 until they set it (the scanner marks checked addresses). */
  readonly marks: Int8Array;
  /** Counts the times the table started again empty: entry numbers of an earlier generation mean nothing. */
  generation = 0;

  constructor(private readonly capacity = INTERNED_VALUES) {
    this.meta = new Int32Array(capacity * STRIDE);
    this.marks = new Int8Array(capacity);
  }

  /** The string of `bytes[start..end)`, decoded as UTF-8. */
  intern(bytes: Uint8Array, start: number, end: number): string {
    return this.values[this.entry(bytes, start, end)];
  }

  /** The string of an entry. */
  text(entry: number): string {
    return this.values[entry];
  }

  /** The entry of `bytes[start..end)`, added when new. */
  entry(bytes: Uint8Array, start: number, end: number): number {
    return this.entryOfHashed(fnv1a(bytes, start, end), bytes, start, end);
  }

  /** The entry of `bytes[start..end)`, whose FNV-1a hash the caller has computed. */
  entryOfHashed(hash: number, bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    const { arena, meta, slots, mask } = this;
    let slot = spread(hash) & mask;
    for (;;) {
      const entry = slots[slot];
      if (entry === -1) break;
      const m = entry * STRIDE;
      if (meta[m] === hash && meta[m + 2] === length) {
        const shift = meta[m + 1] - start;
        let i = start;
        while (i < end && arena[shift + i] === bytes[i]) i++;
        if (i === end) return entry;
      }
      slot = (slot + 1) & mask;
    }
    return this.add(slot, hash, bytes, start, end);
  }

  private add(slot: number, hash: number, bytes: Uint8Array, start: number, end: number): number {
    if (this.values.length === this.capacity) {
      this.clear();
      return this.entryOfHashed(hash, bytes, start, end);
    }
    const length = end - start;
    if (this.arenaUsed + length > this.arena.length) {
      const grown = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + length));
      grown.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = grown;
    }
    const entry = this.values.length;
    if ((entry + 1) * 2 > this.slots.length) {
      this.rehash(this.slots.length * 2);
      slot = this.freeSlot(hash);
    }
    this.slots[slot] = entry;
    this.meta[entry * STRIDE] = hash;
    this.meta[entry * STRIDE + 1] = this.arenaUsed;
    this.meta[entry * STRIDE + 2] = length;
    this.arena.set(bytes.subarray(start, end), this.arenaUsed);
    this.arenaUsed += length;
    this.values.push(Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString("utf8"));
    this.marks[entry] = 0;
    return entry;
  }

  private freeSlot(hash: number): number {
    let slot = spread(hash) & this.mask;
    while (this.slots[slot] !== -1) slot = (slot + 1) & this.mask;
    return slot;
  }

  private rehash(slotCount: number): void {
    this.slots = new Int32Array(slotCount).fill(-1);
    this.mask = slotCount - 1;
    for (let entry = 0; entry < this.values.length; entry++) this.slots[this.freeSlot(this.meta[entry * STRIDE])] = entry;
  }

  private clear(): void {
    this.generation++;
    this.slots = new Int32Array(MIN_SLOTS).fill(-1);
    this.mask = MIN_SLOTS - 1;
    this.values.length = 0;
    this.arenaUsed = 0;
  }
}

/**
 * Entries of an interner by a 32-bit key the caller derives exactly from the bytes (an IPv4
 * address's value, say): one probe, no hashing of bytes and no comparing them. Emptied when the
 * interner starts again, since its entry numbers are then reused.
 */
export class EntriesByKey {
  private keys = new Int32Array(MIN_SLOTS);
  /** Per slot, the entry of its key, or -1 when the slot is free. */
  private entries = new Int32Array(MIN_SLOTS).fill(-1);
  private mask = MIN_SLOTS - 1;
  private count = 0;
  private generation: number;

  constructor(private readonly interner: ByteInterner) {
    this.generation = interner.generation;
  }

  /** The entry stored for `key`, or -1. */
  get(key: number): number {
    if (this.generation !== this.interner.generation) this.reset();
    const { keys, entries, mask } = this;
    let slot = spread(key) & mask;
    for (;;) {
      const entry = entries[slot];
      if (entry === -1 || keys[slot] === key) return entry;
      slot = (slot + 1) & mask;
    }
  }

  /** Stores the entry of `key` (one the interner gave in its current generation). */
  set(key: number, entry: number): void {
    if (this.generation !== this.interner.generation) this.reset();
    if ((this.count + 1) * 2 > this.entries.length) this.grow();
    this.count++;
    this.place(key, entry);
  }

  private place(key: number, entry: number): void {
    let slot = spread(key) & this.mask;
    while (this.entries[slot] !== -1 && this.keys[slot] !== key) slot = (slot + 1) & this.mask;
    this.keys[slot] = key;
    this.entries[slot] = entry;
  }

  private grow(): void {
    const { keys, entries } = this;
    this.keys = new Int32Array(keys.length * 2);
    this.entries = new Int32Array(entries.length * 2).fill(-1);
    this.mask = this.entries.length - 1;
    for (let slot = 0; slot < entries.length; slot++) if (entries[slot] !== -1) this.place(keys[slot], entries[slot]);
  }

  private reset(): void {
    this.keys = new Int32Array(MIN_SLOTS);
    this.entries = new Int32Array(MIN_SLOTS).fill(-1);
    this.mask = MIN_SLOTS - 1;
    this.count = 0;
    this.generation = this.interner.generation;
  }
}
