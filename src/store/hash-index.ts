/**
 * An index from one field's value to the records holding it, for records numbered by the store
 * (small integer ids, reused after removal).
 *
 * Why not a Map of arrays: at a million flows an insert touched thirteen JavaScript Maps, and
 * their probes (two or three cache misses each) were 80% of the insert time. Here the table is
 * open addressing with linear probing in one Int32Array of [hash, head, tail, count, key...]
 * per slot, so a probe and an append read one cache line. The records holding a value form a
 * doubly linked list threaded through two Int32Arrays (next, prev) indexed by record id, so
 * adding or removing a record is O(1) and costs 8 bytes per record, with no allocation.
 *
 * Keys, without a JavaScript object per key (a string per slot was a string per flow for UUID
 * and the tracking IDs: a million objects more for the collector). Before each call the caller
 * sets the probe (`probeText` or `probeNumber`: the value it is about) and passes its hash
 * (`hashBytes`, `hashNumber`). A slot whose hash matches is then checked, as the index was made:
 * - 'text': the index keeps each value's bytes in a byte arena of its own (offset and length in
 *   the slot); for fields with a value shared by many flows (addresses, ports, captures), where
 *   checking against a stored record cost two cache misses per insert (its columns, its bytes).
 * - 'number': the value sits in the slot itself (ports).
 * - 'record': the index asks the store, through `same(id)`, whether the slot's head record holds
 *   the probe; for fields whose values are nearly all distinct (UUID, tracking IDs), matched
 *   only when a flow is updated, where the store reads that record anyway.
 *
 * Sizes: tables start small and double at half full (MIN_SLOTS up); record lists are sized by
 * the store's record capacity (`growRecords`). The store holds no per-flow JavaScript objects,
 * so growing an array no longer sets off a collection over a heap of flows.
 *
 * Lists keep the order records were added, oldest at the head: reading a value's records in
 * insertion order can stop early. `add` is for new records, which the store numbers in
 * insertion order, so lists stay in that order; `move` (a record whose value changed) appends
 * an old record and marks the index `unordered`, for readers that need the order to sort.
 */

import { grown } from './grow.js';

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

/** Whether record `id` holds the value of the index's probe (record-keyed indexes). */
export type SameKey = (id: number, index: HashIndex) => boolean;

export type KeyKind = 'text' | 'number' | 'record';

/** Int32s of a slot: hash, head id + 1 (0: a free slot), tail id, records, then the key. */
const HASH = 0;
const HEAD = 1;
const TAIL = 2;
const COUNT = 3;
/** Text: offset and length in `keyBytes`; number: the float64's two halves. */
const KEY0 = 4;
const KEY1 = 5;

/** Reads a float64 as two int32s and back. */
const f64 = new Float64Array(1);
const i32 = new Int32Array(f64.buffer);

export class HashIndex {
  private slots: number;
  private mask: number;
  private readonly stride: number;
  private table: Int32Array;
  private used = 0;
  /** Whether a list may be out of insertion order (see `move`). */
  unordered = false;
  private next: Int32Array<ArrayBuffer>;
  private prev: Int32Array<ArrayBuffer>;
  /** Text keys' bytes (text indexes); bytes of freed keys are reclaimed by `compactKeys`. */
  private keyBytes = new Uint8Array(0);
  private keyFill = 0;
  private keyDead = 0;
  /** The probe: text bytes [probeStart, probeStart + probeLen) of probeBuf, or probeNum. */
  probeBuf: Uint8Array = new Uint8Array(0);
  probeStart = 0;
  probeLen = 0;
  probeNum = 0;

  /** `same`: for 'record' indexes only. `slots`: initial table size (a power of two). */
  constructor(private readonly kind: KeyKind, recordCapacity: number, private readonly same?: SameKey, slots = MIN_SLOTS) {
    this.slots = Math.max(MIN_SLOTS, slots);
    this.mask = this.slots - 1;
    this.stride = kind === 'record' ? 4 : 6;
    this.table = new Int32Array(this.stride * this.slots);
    this.next = new Int32Array(recordCapacity);
    this.prev = new Int32Array(recordCapacity);
    if (kind === 'text') this.keyBytes = new Uint8Array(4096);
  }

  /** Distinct values held. */
  get distinct(): number {
    return this.used;
  }

  /** The probe is text: the bytes [start, start + len) of `buf` (not copied: valid for one call). */
  probeText(buf: Uint8Array, start: number, len: number): void {
    this.probeBuf = buf;
    this.probeStart = start;
    this.probeLen = len;
  }

  probeNumber(v: number): void {
    this.probeNum = v;
  }

  /** Makes room for record ids below `capacity`. */
  growRecords(capacity: number): void {
    if (capacity <= this.next.length) return;
    this.next = grown(this.next, capacity);
    this.prev = grown(this.prev, capacity);
  }

  /** Adds a record just inserted in the store; it holds the probe, which hashes to `h`. */
  add(h: number, id: number): void {
    const p = this.find(h);
    const t = this.table;
    if (p >= 0) {
      const at = this.stride * p;
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

  /** Adds an older record whose value changed to the probe (hashing to `h`). */
  move(h: number, id: number): void {
    this.unordered = true;
    this.add(h, id);
  }

  /** Removes `id`, which was added with the probe's value (hashing to `h`). */
  remove(h: number, id: number): void {
    const p = this.find(h);
    if (p < 0) return;
    const t = this.table;
    const at = this.stride * p;
    const n = this.next[id];
    const pr = this.prev[id];
    // The head's prev is EMPTY; a list of one ends with the slot freed below.
    if (pr === EMPTY) t[at + HEAD] = n + 1;
    else this.next[pr] = n;
    if (n === EMPTY) t[at + TAIL] = pr;
    else this.prev[n] = pr;
    if (--t[at + COUNT] === 0) this.deleteSlot(p);
  }

  /** The first record holding the probe's value (EMPTY if none); follow with `after`. */
  first(h: number): number {
    const p = this.find(h);
    return p < 0 ? EMPTY : this.table[this.stride * p + HEAD] - 1;
  }

  /**
   * Reads the home slot of `h`: what a probe for `h` reads first. For a caller about to probe
   * many values: a loop of nothing but these loads lets the processor wait for their cache
   * misses together, where probes one by one wait for each in turn. Returns a number to keep
   * the loads from being optimised away.
   */
  touchSlot(h: number): number {
    return this.table[this.stride * (h & this.mask) + HEAD];
  }

  /** After touchSlot: reads what an add under `h` reads next (its tail's list entry, its key bytes). */
  touchList(h: number): number {
    const at = this.stride * (h & this.mask);
    const t = this.table;
    if (t[at + HEAD] === 0) return 0;
    return this.next[t[at + TAIL]] + (this.kind === 'text' ? this.keyBytes[t[at + KEY0]] : 0);
  }

  /** The record after `id` in its list, or EMPTY. */
  after(id: number): number {
    return this.next[id];
  }

  count(h: number): number {
    const p = this.find(h);
    return p < 0 ? 0 : this.table[this.stride * p + COUNT];
  }

  clear(): void {
    this.table.fill(0);
    this.used = 0;
    this.unordered = false;
    this.keyFill = 0;
    this.keyDead = 0;
  }

  /** The slot holding the probe's value, or -(free slot + 1) where it would go. */
  private find(h: number): number {
    const t = this.table;
    const s = this.stride;
    for (let p = h & this.mask; ; p = (p + 1) & this.mask) {
      const at = s * p;
      const head = t[at + HEAD];
      if (head === 0) return -p - 1;
      if (t[at + HASH] === h && this.holdsProbe(at, head - 1)) return p;
    }
  }

  private holdsProbe(at: number, head: number): boolean {
    const t = this.table;
    if (this.kind === 'number') {
      i32[0] = t[at + KEY0];
      i32[1] = t[at + KEY1];
      return f64[0] === this.probeNum;
    }
    if (this.kind === 'record') return (this.same as SameKey)(head, this);
    const n = this.probeLen;
    if (t[at + KEY1] !== n) return false;
    const k = this.keyBytes;
    const from = t[at + KEY0];
    const b = this.probeBuf;
    const ps = this.probeStart;
    for (let i = 0; i < n; i++) if (k[from + i] !== b[ps + i]) return false;
    return true;
  }

  private freeSlot(h: number): number {
    let p = h & this.mask;
    while (this.table[this.stride * p + HEAD] !== 0) p = (p + 1) & this.mask;
    return p;
  }

  private insertSlot(h: number, id: number, p: number): void {
    // The key first: storing it may compact the key bytes, which rewrites every used slot's
    // offset, and this slot is not used yet.
    const keyAt = this.kind === 'text' ? this.storeKey() : 0;
    const t = this.table;
    const at = this.stride * p;
    t[at + HASH] = h;
    t[at + HEAD] = id + 1;
    t[at + TAIL] = id;
    t[at + COUNT] = 1;
    if (this.kind === 'number') {
      f64[0] = this.probeNum;
      t[at + KEY0] = i32[0];
      t[at + KEY1] = i32[1];
    } else if (this.kind === 'text') {
      t[at + KEY0] = keyAt;
      t[at + KEY1] = this.probeLen;
    }
    this.next[id] = EMPTY;
    this.prev[id] = EMPTY;
    this.used++;
  }

  /** Copies the probe's bytes into the key arena; returns their offset. */
  private storeKey(): number {
    const n = this.probeLen;
    if (this.keyFill + n > this.keyBytes.length) {
      // Half dead: reclaim rather than grow.
      if (this.keyDead > this.keyFill / 2) this.compactKeys();
      if (this.keyFill + n > this.keyBytes.length) {
        const bigger = new Uint8Array(Math.max(2 * this.keyBytes.length, this.keyFill + n));
        bigger.set(this.keyBytes.subarray(0, this.keyFill));
        this.keyBytes = bigger;
      }
    }
    const at = this.keyFill;
    const b = this.probeBuf;
    const ps = this.probeStart;
    const k = this.keyBytes;
    for (let i = 0; i < n; i++) k[at + i] = b[ps + i];
    this.keyFill += n;
    return at;
  }

  /** Rewrites the key arena with the keys of the used slots only. */
  private compactKeys(): void {
    const t = this.table;
    const s = this.stride;
    const old = this.keyBytes;
    const fresh = new Uint8Array(old.length);
    let fill = 0;
    for (let p = 0; p < this.slots; p++) {
      const at = s * p;
      if (t[at + HEAD] === 0) continue;
      const from = t[at + KEY0];
      const n = t[at + KEY1];
      fresh.set(old.subarray(from, from + n), fill);
      t[at + KEY0] = fill;
      fill += n;
    }
    this.keyBytes = fresh;
    this.keyFill = fill;
    this.keyDead = 0;
  }

  /** Frees slot p, moving later slots of its probe run back so no lookup stops short. */
  private deleteSlot(p: number): void {
    const t = this.table;
    const s = this.stride;
    if (this.kind === 'text') this.keyDead += t[s * p + KEY1];
    t[s * p + HEAD] = 0;
    this.used--;
    let hole = p;
    for (let q = (p + 1) & this.mask; t[s * q + HEAD] !== 0; q = (q + 1) & this.mask) {
      const home = t[s * q + HASH] & this.mask;
      // q may move to the hole unless its home lies cyclically in (hole, q].
      const stays = hole <= q ? home > hole && home <= q : home > hole || home <= q;
      if (stays) continue;
      t.copyWithin(s * hole, s * q, s * q + s);
      t[s * q + HEAD] = 0;
      hole = q;
    }
  }

  private resize(slots: number): void {
    const old = this.table;
    const oldSlots = this.slots;
    const s = this.stride;
    this.slots = slots;
    this.mask = slots - 1;
    const t = (this.table = new Int32Array(s * slots));
    for (let p = 0; p < oldSlots; p++) {
      const from = s * p;
      if (old[from + HEAD] === 0) continue;
      const to = s * this.freeSlot(old[from + HASH]);
      for (let i = 0; i < s; i++) t[to + i] = old[from + i];
    }
  }
}
