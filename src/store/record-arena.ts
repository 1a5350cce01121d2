/**
 * Where the flow store keeps Flow records: their protobuf bytes, copied from the messages into
 * large slabs, so that a million stored flows are a few hundred buffers rather than ten million
 * objects for the garbage collector to mark (at 300,000 flows/s, object graphs per flow spent
 * more time in GC than in everything else).
 *
 * A record has a place (slab, offset) and a capacity; the store keeps those in its columns.
 * An update whose record fits in the old place is written there; otherwise the old place is
 * freed and a new one taken at the end of the current slab. Freed bytes are only counted: when
 * they outnumber the live ones, the store moves the records of the emptiest slabs (`sparse`) to
 * fresh ones, and a slab left with no record is released.
 */

/** Bytes per slab: large enough that slabs are few, small enough that releasing one matters. */
const SLAB_BYTES = 4 << 20;
/** A slab under this share of live bytes is emptied by a compaction. */
const SPARSE_SHARE = 0.5;

export class RecordArena {
  private slabs: Array<Buffer | undefined> = [];
  /** Live (taken, not freed) bytes per slab. */
  private live: number[] = [];
  private readonly freeSlabs: number[] = [];
  private current = -1;
  private fill = 0;
  private liveBytes = 0;
  private deadBytes = 0;
  /** The place `take` gave. */
  slab = 0;
  offset = 0;

  /** Bytes of the slabs held. */
  get heldBytes(): number {
    let n = 0;
    for (const s of this.slabs) n += s === undefined ? 0 : s.length;
    return n;
  }

  /**
   * Takes `size` bytes; their place is in `slab` and `offset`. `phase` (0-7): the place's address
   * modulo 8 is that, at the cost of up to 7 bytes of padding. Bytes copied from a
   * SharedArrayBuffer (the intake's rings) to a place of another phase are copied byte by byte
   * by V8, five to eight times slower than at the same phase.
   */
  take(size: number, phase = -1): void {
    // Up to 7 bytes more for the padding; a fresh slab's start is 8-aligned (its own allocation).
    if (this.current < 0 || this.fill + size + 7 > (this.slabs[this.current] as Buffer).length) this.openSlab(size + 7);
    const skip = phase < 0 ? 0 : (phase - (this.slabs[this.current] as Buffer).byteOffset - this.fill) & 7;
    this.fill += skip;
    this.deadBytes += skip;
    this.slab = this.current;
    this.offset = this.fill;
    this.fill += size;
    this.live[this.current] += size;
    this.liveBytes += size;
  }

  /** Gives back the `size` bytes at a place `take` gave. */
  release(slab: number, size: number): void {
    this.live[slab] -= size;
    this.liveBytes -= size;
    this.deadBytes += size;
    if (this.live[slab] === 0 && slab !== this.current) this.dropSlab(slab);
  }

  buffer(slab: number): Buffer {
    return this.slabs[slab] as Buffer;
  }

  /** Whether freed bytes outnumber live ones (and are worth a slab): time to compact. */
  wantsCompaction(): boolean {
    return this.deadBytes > SLAB_BYTES && this.deadBytes > this.liveBytes;
  }

  /** Whether a compaction should move the records of `slab`. */
  sparse(slab: number): boolean {
    const s = this.slabs[slab] as Buffer;
    return slab !== this.current && this.live[slab] < SPARSE_SHARE * s.length;
  }

  /** After a compaction moved records: only bytes still lost in kept slabs count as dead. */
  compacted(): void {
    let held = 0;
    for (let i = 0; i < this.slabs.length; i++) {
      const s = this.slabs[i];
      if (s === undefined) continue;
      held += i === this.current ? this.fill : s.length;
    }
    this.deadBytes = held - this.liveBytes;
  }

  clear(): void {
    this.slabs = [];
    this.live = [];
    this.freeSlabs.length = 0;
    this.current = -1;
    this.fill = 0;
    this.liveBytes = 0;
    this.deadBytes = 0;
  }

  private openSlab(size: number): void {
    const old = this.current;
    // The tail of the slab left behind is never used.
    if (old >= 0) this.deadBytes += (this.slabs[old] as Buffer).length - this.fill;
    const id = this.freeSlabs.pop() ?? this.slabs.length;
    // Zero-filled (calloc): pages are committed as records are written.
    this.slabs[id] = Buffer.alloc(Math.max(SLAB_BYTES, size));
    this.live[id] = 0;
    this.current = id;
    this.fill = 0;
    if (old >= 0 && this.live[old] === 0) this.dropSlab(old);
  }

  private dropSlab(slab: number): void {
    const s = this.slabs[slab] as Buffer;
    this.deadBytes -= s.length;
    this.slabs[slab] = undefined;
    this.freeSlabs.push(slab);
  }
}
