/**
 * An index from one field's value to the records holding it, for records numbered by the store
 * (small integer ids, reused after removal).
 *
 * Why not a Map of arrays: at a million flows an insert touched thirteen JavaScript Maps, and
 * their probes (two or three cache misses each) were 80% of the insert time. Here the table is
 * open addressing with linear probing in one Int32Array of [hash, head] pairs, so a probe is
 * mostly one cache line; the records holding a value form a doubly linked list threaded through
 * two Int32Arrays (next, prev) indexed by record id, so adding or removing a record is O(1) and
 * costs 8 bytes per record, with no allocation.
 *
 * The table stores no keys: a slot's key is read from its head record (`keyOf(head)`) when the
 * hashes match, so the store removes a record while it still holds the value it was added with.
 *
 * Sizes: the store gives the record capacity and the initial table size up front (from its
 * maxFlows). Growing a big typed array means allocating a new one outside the JavaScript heap,
 * and at a million flows each such allocation set off a full garbage collection of a 2.5 GB
 * heap: sized once, the arrays are zero-filled (an empty slot is 0, heads are stored as id + 1)
 * so the kernel commits their pages only as they are used.
 *
 * Lists keep the order records were added, oldest at the head (`prev` of the head points at
 * the tail, so appending is O(1)): reading a value's records in insertion order can stop early.
 * `add` is for new records, which the store numbers in insertion order, so lists stay in that
 * order; `move` (a record whose value changed) appends an old record and marks the index
 * `unordered`, for readers that need the order to sort.
 */
import type { IndexKey } from './types.js';

/** No record: the end of a list, or a value nobody holds. */
export const EMPTY = -1;
const MIN_SLOTS = 1024;

/** 32-bit hash of a key: FNV-1a over UTF-16 units for text, a multiplicative mix for numbers. */
export function hashKey(key: IndexKey): number {
  if (typeof key === 'number') {
    // Ports and other small integers; the mix spreads consecutive values over the table.
    const h = Math.imul((key | 0) ^ ((key / 4294967296) | 0), 0x9e3779b1);
    return h ^ (h >>> 15);
  }
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return h ^ (h >>> 13);
}

export class HashIndex {
  private slots: number;
  private mask: number;
  /** [hash, head id + 1] per slot; 0 in the head marks a free slot. */
  private table: Int32Array;
  /** Records per slot. */
  private counts: Int32Array;
  private used = 0;
  /** Whether a list may be out of insertion order (see `move`). */
  unordered = false;
  private next: Int32Array;
  private prev: Int32Array;

  /**
   * `keyOf(id)`: the value record `id` holds for this field. `slots`: initial table size
   * (a power of two, at least twice the distinct values expected).
   */
  constructor(private readonly keyOf: (id: number) => IndexKey | undefined, recordCapacity: number, slots = MIN_SLOTS) {
    this.slots = Math.max(MIN_SLOTS, slots);
    this.mask = this.slots - 1;
    this.table = new Int32Array(2 * this.slots);
    this.counts = new Int32Array(this.slots);
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

  /** Adds a record just inserted in the store. */
  add(key: IndexKey, id: number): void {
    const h = hashKey(key);
    const p = this.find(key, h);
    if (p >= 0) {
      const head = this.table[2 * p + 1] - 1;
      const tail = this.prev[head];
      this.next[tail] = id;
      this.prev[id] = tail;
      this.next[id] = EMPTY;
      this.prev[head] = id;
      this.counts[p]++;
      return;
    }
    if (2 * (this.used + 1) > this.slots) {
      this.resize(this.slots * 2);
      this.insertSlot(h, id);
    } else {
      this.insertSlot(h, id, -p - 1);
    }
  }

  /** Adds an older record that now holds `key` (its value changed). */
  move(key: IndexKey, id: number): void {
    this.unordered = true;
    this.add(key, id);
  }

  /** Removes `id`, which was added under `key`. */
  remove(key: IndexKey, id: number): void {
    const p = this.find(key, hashKey(key));
    if (p < 0) return;
    const head = this.table[2 * p + 1] - 1;
    const n = this.next[id];
    const pr = this.prev[id];
    if (id === head) {
      if (n !== EMPTY) {
        this.table[2 * p + 1] = n + 1;
        this.prev[n] = pr; // the tail
      }
    } else {
      this.next[pr] = n;
      if (n === EMPTY) this.prev[head] = pr;
      else this.prev[n] = pr;
    }
    if (--this.counts[p] === 0) this.deleteSlot(p);
  }

  /** The first record holding `key` (EMPTY if none); follow with `after`. */
  first(key: IndexKey): number {
    const p = this.find(key, hashKey(key));
    return p < 0 ? EMPTY : this.table[2 * p + 1] - 1;
  }

  /** The record after `id` in its list, or EMPTY. */
  after(id: number): number {
    return this.next[id];
  }

  count(key: IndexKey): number {
    const p = this.find(key, hashKey(key));
    return p < 0 ? 0 : this.counts[p];
  }

  clear(): void {
    this.table.fill(0);
    this.counts.fill(0);
    this.used = 0;
    this.unordered = false;
  }

  /** The slot holding `key`, or -(free slot + 1) where it would go. */
  private find(key: IndexKey, h: number): number {
    const t = this.table;
    for (let p = h & this.mask; ; p = (p + 1) & this.mask) {
      const head = t[2 * p + 1];
      if (head === 0) return -p - 1;
      if (t[2 * p] === h && this.keyOf(head - 1) === key) return p;
    }
  }

  private insertSlot(h: number, id: number, at = -1): void {
    let p = at;
    if (p < 0) {
      p = h & this.mask;
      while (this.table[2 * p + 1] !== 0) p = (p + 1) & this.mask;
    }
    this.table[2 * p] = h;
    this.table[2 * p + 1] = id + 1;
    this.counts[p] = 1;
    this.next[id] = EMPTY;
    this.prev[id] = id; // a list of one: the head is its own tail
    this.used++;
  }

  /** Frees slot p, moving later slots of its probe run back so no lookup stops short. */
  private deleteSlot(p: number): void {
    const t = this.table;
    t[2 * p + 1] = 0;
    this.counts[p] = 0;
    this.used--;
    let hole = p;
    for (let q = (p + 1) & this.mask; t[2 * q + 1] !== 0; q = (q + 1) & this.mask) {
      const home = t[2 * q] & this.mask;
      // q may move to the hole unless its home lies cyclically in (hole, q].
      const stays = hole <= q ? home > hole && home <= q : home > hole || home <= q;
      if (stays) continue;
      t[2 * hole] = t[2 * q];
      t[2 * hole + 1] = t[2 * q + 1];
      this.counts[hole] = this.counts[q];
      t[2 * q + 1] = 0;
      this.counts[q] = 0;
      hole = q;
    }
  }

  private resize(slots: number): void {
    const old = this.table;
    const oldCounts = this.counts;
    this.slots = slots;
    this.mask = slots - 1;
    this.table = new Int32Array(2 * slots);
    this.counts = new Int32Array(slots);
    for (let p = 0; p < oldCounts.length; p++) {
      if (old[2 * p + 1] === 0) continue;
      let q = old[2 * p] & this.mask;
      while (this.table[2 * q + 1] !== 0) q = (q + 1) & this.mask;
      this.table[2 * q] = old[2 * p];
      this.table[2 * q + 1] = old[2 * p + 1];
      this.counts[q] = oldCounts[p];
    }
  }
}
