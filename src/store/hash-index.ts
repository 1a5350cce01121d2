/**
 * An index from one field's value to the records holding it, for records numbered by the store
 * (small integer ids, reused after removal).
 *
 * Why not a Map of arrays: at a million flows an insert touched thirteen JavaScript Maps, and
 * their probes (two or three cache misses each) were 80% of the insert time. Here the table is
 * open addressing with linear probing in one Int32Array of [hash, head, tail, count] per slot,
 * so a probe and an append read one cache line. The records holding a value form a doubly
 * linked list threaded through two Int32Arrays (next, prev) indexed by record id, so adding or
 * removing a record is O(1) and costs 8 bytes per record, with no allocation.
 *
 * The index holds no keys: the store keeps values in its own columns (text as bytes of the
 * records it holds), and a probe whose hash matches asks the store, through `same(id)`, whether
 * record `id` (the slot's head) holds the value being looked for. The caller hashes that value
 * with `hashBytes` or `hashNumber` and tells the store what it is before each call. A string
 * key per slot was a string per flow for UUID and the tracking IDs: a million objects more.
 *
 * Sizes: the store gives the record capacity and the initial table size up front (from its
 * maxFlows). Growing a big typed array means allocating a new one outside the JavaScript heap,
 * and at a million flows each such allocation set off a full garbage collection of a 2.5 GB
 * heap: sized once, the arrays are zero-filled (an empty slot is 0, heads are stored as id + 1)
 * so the kernel commits their pages only as they are used.
 *
 * Lists keep the order records were added, oldest at the head: reading a value's records in
 * insertion order can stop early. `add` is for new records, which the store numbers in
 * insertion order, so lists stay in that order; `move` (a record whose value changed) appends
 * an old record and marks the index `unordered`, for readers that need the order to sort.
 */
/** No record: the end of a list, or a value nobody holds. */
export const EMPTY = -1;
const MIN_SLOTS = 1024;

/** 32-bit hash of a number key: a multiplicative mix that spreads consecutive ports over the table. */
export function hashNumber(key: number): number {
  const h = Math.imul((key | 0) ^ ((key / 4294967296) | 0), 0x9e3779b1);
  return h ^ (h >>> 15);
}

/** 32-bit hash of a text key, its UTF-8 bytes [start, end) of `b`: FNV-1a. */
export function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 16777619);
  return h ^ (h >>> 13);
}

/** Whether record `id` holds the value the caller is looking for (see the file comment). */
export type SameKey = (id: number) => boolean;

/** Int32s per slot: hash, head id + 1 (0: a free slot), tail id, records. */
const STRIDE = 4;
const HASH = 0;
const HEAD = 1;
const TAIL = 2;
const COUNT = 3;

export class HashIndex {
  private slots: number;
  private mask: number;
  private table: Int32Array;
  private used = 0;
  /** Whether a list may be out of insertion order (see `move`). */
  unordered = false;
  private next: Int32Array;
  private prev: Int32Array;

  /** `slots`: initial table size (a power of two, at least twice the distinct values expected). */
  constructor(private readonly same: SameKey, recordCapacity: number, slots = MIN_SLOTS) {
    this.slots = Math.max(MIN_SLOTS, slots);
    this.mask = this.slots - 1;
    this.table = new Int32Array(STRIDE * this.slots);
    this.next = new Int32Array(recordCapacity);
    this.prev = new Int32Array(recordCapacity);
  }

  /** Distinct values held. */
  get distinct(): number {
    return this.used;
  }

  /** Makes room for record ids below `capacity`. */
  growRecords(capacity: number): void {
    if (capacity <= this.next.length) return;
    const next = new Int32Array(capacity);
    next.set(this.next);
    this.next = next;
    const prev = new Int32Array(capacity);
    prev.set(this.prev);
    this.prev = prev;
  }

  /** Adds a record just inserted in the store; its value hashes to `h`. */
  add(h: number, id: number): void {
    const p = this.find(h);
    const t = this.table;
    if (p >= 0) {
      const at = STRIDE * p;
      const tail = t[at + TAIL];
      this.next[tail] = id;
      this.prev[id] = tail;
      this.next[id] = EMPTY;
      t[at + TAIL] = id;
      t[at + COUNT]++;
      return;
    }
    if (2 * (this.used + 1) > this.slots) {
      this.resize(this.slots * 2);
      this.insertSlot(h, id, this.freeSlot(h));
    } else {
      this.insertSlot(h, id, -p - 1);
    }
  }

  /** Adds an older record whose value (hashing to `h`) changed. */
  move(h: number, id: number): void {
    this.unordered = true;
    this.add(h, id);
  }

  /** Removes `id`, which was added with a value hashing to `h`. */
  remove(h: number, id: number): void {
    const p = this.find(h);
    if (p < 0) return;
    const t = this.table;
    const at = STRIDE * p;
    const n = this.next[id];
    const pr = this.prev[id];
    // The head's prev is EMPTY; a list of one ends with the slot freed below.
    if (pr === EMPTY) t[at + HEAD] = n + 1;
    else this.next[pr] = n;
    if (n === EMPTY) t[at + TAIL] = pr;
    else this.prev[n] = pr;
    if (--t[at + COUNT] === 0) this.deleteSlot(p);
  }

  /** The first record holding the value (EMPTY if none); follow with `after`. */
  first(h: number): number {
    const p = this.find(h);
    return p < 0 ? EMPTY : this.table[STRIDE * p + HEAD] - 1;
  }

  /** The record after `id` in its list, or EMPTY. */
  after(id: number): number {
    return this.next[id];
  }

  count(h: number): number {
    const p = this.find(h);
    return p < 0 ? 0 : this.table[STRIDE * p + COUNT];
  }

  clear(): void {
    this.table.fill(0);
    this.used = 0;
    this.unordered = false;
  }

  /** The slot holding the value, or -(free slot + 1) where it would go. */
  private find(h: number): number {
    const t = this.table;
    for (let p = h & this.mask; ; p = (p + 1) & this.mask) {
      const at = STRIDE * p;
      const head = t[at + HEAD];
      if (head === 0) return -p - 1;
      if (t[at + HASH] === h && this.same(head - 1)) return p;
    }
  }

  private freeSlot(h: number): number {
    let p = h & this.mask;
    while (this.table[STRIDE * p + HEAD] !== 0) p = (p + 1) & this.mask;
    return p;
  }

  private insertSlot(h: number, id: number, p: number): void {
    const at = STRIDE * p;
    this.table[at + HASH] = h;
    this.table[at + HEAD] = id + 1;
    this.table[at + TAIL] = id;
    this.table[at + COUNT] = 1;
    this.next[id] = EMPTY;
    this.prev[id] = EMPTY;
    this.used++;
  }

  /** Frees slot p, moving later slots of its probe run back so no lookup stops short. */
  private deleteSlot(p: number): void {
    const t = this.table;
    t[STRIDE * p + HEAD] = 0;
    this.used--;
    let hole = p;
    for (let q = (p + 1) & this.mask; t[STRIDE * q + HEAD] !== 0; q = (q + 1) & this.mask) {
      const home = t[STRIDE * q + HASH] & this.mask;
      // q may move to the hole unless its home lies cyclically in (hole, q].
      const stays = hole <= q ? home > hole && home <= q : home > hole || home <= q;
      if (stays) continue;
      t.copyWithin(STRIDE * hole, STRIDE * q, STRIDE * q + STRIDE);
      t[STRIDE * q + HEAD] = 0;
      hole = q;
    }
  }

  private resize(slots: number): void {
    const old = this.table;
    const oldSlots = this.slots;
    this.slots = slots;
    this.mask = slots - 1;
    this.table = new Int32Array(STRIDE * slots);
    for (let p = 0; p < oldSlots; p++) {
      if (old[STRIDE * p + HEAD] === 0) continue;
      const q = this.freeSlot(old[STRIDE * p + HASH]);
      this.table.set(old.subarray(STRIDE * p, STRIDE * p + STRIDE), STRIDE * q);
    }
  }
}
