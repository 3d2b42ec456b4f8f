/**
 * Turns byte ranges into strings, handing back the same string for the same bytes without
 * decoding them again. Flow logs repeat the same few thousand ENI ids and addresses millions of
 * times: decoding each occurrence, and hashing the new string for every map it is looked up in,
 * costs more than the rest of the enrichment. An interned string is decoded once and V8 caches
 * its hash, so the maps downstream find it quickly.
 *
 * Open addressing over FNV-1a hashes of the bytes; a hit is confirmed byte for byte. Memory is
 * bounded: when `capacity` strings are held, the table starts again empty.
 */
export class ByteInterner {
  private readonly mask: number;
  /** Per slot, the entry it holds, or -1. */
  private readonly slots: Int32Array;
  private readonly hashes: Int32Array;
  private readonly offsets: Int32Array;
  private readonly lengths: Int32Array;
  private arena = new Uint8Array(1 << 16);
  private arenaUsed = 0;
  private readonly values: string[] = [];
  /** A small number callers may keep per entry, 0 until they set it (the scanner marks checked addresses). */
  readonly marks: Int8Array;

  constructor(private readonly capacity = 1 << 17) {
    const slotCount = 2 ** Math.ceil(Math.log2(capacity * 2));
    this.mask = slotCount - 1;
    this.slots = new Int32Array(slotCount).fill(-1);
    this.hashes = new Int32Array(capacity);
    this.offsets = new Int32Array(capacity);
    this.lengths = new Int32Array(capacity);
    this.marks = new Int8Array(capacity);
  }

  /** The string of `bytes[start..end)`, decoded as UTF-8. */
  intern(bytes: Buffer, start: number, end: number): string {
    return this.values[this.entry(bytes, start, end)];
  }

  /** The string of an entry. */
  text(entry: number): string {
    return this.values[entry];
  }

  /** The entry of `bytes[start..end)`, added when new. */
  entry(bytes: Buffer, start: number, end: number): number {
    let hash = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], 16777619);
    const length = end - start;
    const arena = this.arena;
    let slot = hash & this.mask;
    for (;;) {
      const entry = this.slots[slot];
      if (entry === -1) break;
      if (this.hashes[entry] === hash && this.lengths[entry] === length) {
        const offset = this.offsets[entry];
        let i = 0;
        while (i < length && arena[offset + i] === bytes[start + i]) i++;
        if (i === length) return entry;
      }
      slot = (slot + 1) & this.mask;
    }
    return this.add(slot, hash, bytes, start, end);
  }

  private add(slot: number, hash: number, bytes: Buffer, start: number, end: number): number {
    if (this.values.length === this.capacity) {
      this.clear();
      return this.entry(bytes, start, end);
    }
    const length = end - start;
    if (this.arenaUsed + length > this.arena.length) {
      const grown = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + length));
      grown.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = grown;
    }
    const entry = this.values.length;
    const value = bytes.toString("utf8", start, end);
    this.slots[slot] = entry;
    this.hashes[entry] = hash;
    this.offsets[entry] = this.arenaUsed;
    this.lengths[entry] = length;
    this.arena.set(bytes.subarray(start, end), this.arenaUsed);
    this.arenaUsed += length;
    this.values.push(value);
    this.marks[entry] = 0;
    return entry;
  }

  private clear(): void {
    this.slots.fill(-1);
    this.values.length = 0;
    this.arenaUsed = 0;
  }
}
