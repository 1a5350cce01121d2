// The flow table: fixed-size flow records in slabs, a chained hash index on
// the 64-bit flow key, and an LRU list (hashicorp simplelru semantics, as
// Skydive uses): a lookup promotes, inserting into a full table evicts the
// least recently used flow, and iteration goes from least to most recent.
// The LRU links live apart from the records, 8 bytes per slot beside each
// slab: promoting a flow rewrites its two neighbours' links, and those are
// then a few dense lines rather than two more flow records to fetch.

import { heapAlloc } from '../alloc';
import { C_FLOW_DROPPED, count } from '../counters';
import {
  FL_HASH_NEXT, FL_KEY, FL_SLOT, FLOW_SIZE,
} from './layout';

const SLAB_SHIFT: u32 = 10;
const SLAB_SLOTS: u32 = 1 << SLAB_SHIFT;
/** Hard ceiling on flow.max_entries: 4 Mi flows (about 2.3 GB of records). */
export const MAX_ENTRIES_LIMIT: u32 = 4 << 20;
const slabs = memory.data(<i32>((MAX_ENTRIES_LIMIT >> SLAB_SHIFT) * 4 + 4), 4);
const lruSlabs = memory.data(<i32>((MAX_ENTRIES_LIMIT >> SLAB_SHIFT) * 4 + 4), 4);

let maxEntries: u32 = 500000;
let buckets: usize = 0;
let bucketMask: u32 = 0;
let nextSlot: u32 = 1; // slot 0 is the null slot
let freeSlot: u32 = 0;
let lruHead: u32 = 0;  // least recently used
let lruTail: u32 = 0;  // most recently used
let size: u32 = 0;

/** Sets the capacity (Skydive flow.max_entries); call once before any packet. Returns false if memory is short. */
export function tableInit(entries: u32): bool {
  if (entries == 0 || entries > MAX_ENTRIES_LIMIT) return false;
  maxEntries = entries;
  let nb: u32 = 1024;
  while (nb < entries) nb <<= 1;
  buckets = heapAlloc(<usize>nb << 2);
  if (buckets == 0) return false;
  bucketMask = nb - 1;
  return true;
}

export function tableSize(): u32 { return size; }
export function tableCapacity(): u32 { return maxEntries; }

/** Address of the record in `slot` (slots are stable while the flow lives). */
@inline export function flowAt(slot: u32): usize {
  return <usize>load<u32>(slabs + ((slot >> SLAB_SHIFT) << 2)) + <usize>((slot & (SLAB_SLOTS - 1)) * FLOW_SIZE);
}

/** The LRU links of `slot`: u32 previous (less recent) and u32 next slot. */
@inline function lruAt(slot: u32): usize {
  return <usize>load<u32>(lruSlabs + ((slot >> SLAB_SHIFT) << 2)) + <usize>((slot & (SLAB_SLOTS - 1)) << 3);
}
@inline function lruPrev(slot: u32): u32 { return load<u32>(lruAt(slot)); }
@inline function lruNext(slot: u32): u32 { return load<u32>(lruAt(slot), 4); }
@inline function setLruPrev(slot: u32, v: u32): void { store<u32>(lruAt(slot), v); }
@inline function setLruNext(slot: u32, v: u32): void { store<u32>(lruAt(slot), v, 4); }

@inline function bucketOf(key: u64): usize {
  // Keys are already XXH64 outputs: their low bits are uniform.
  return buckets + (<usize>(<u32>key & bucketMask) << 2);
}

/** Finds the flow with `key` and promotes it; 0 if absent. */
export function tableGet(key: u64): usize {
  let slot = load<u32>(bucketOf(key));
  while (slot != 0) {
    const f = flowAt(slot);
    if (load<u64>(f + FL_KEY) == key) {
      lruMoveToTail(slot);
      return f;
    }
    slot = load<u32>(f + FL_HASH_NEXT);
  }
  return 0;
}

/**
 * Is `slot` that of a live flow? For a slot remembered from an earlier
 * lookup (plain.ts): it may since have been freed or reused.
 */
export function tableLiveSlot(slot: u32): bool {
  return slot != 0 && slot < nextSlot && load<u32>(flowAt(slot) + FL_SLOT) == slot;
}

/** Promotes a flow found without tableGet, as tableGet does. */
export function tablePromote(f: usize): void {
  lruMoveToTail(load<u32>(f + FL_SLOT));
}

/** The slot of a live flow record. */
@inline export function tableSlotOf(f: usize): u32 { return load<u32>(f + FL_SLOT); }

function allocSlot(): u32 {
  if (freeSlot != 0) {
    const s = freeSlot;
    freeSlot = load<u32>(flowAt(s) + FL_HASH_NEXT);
    return s;
  }
  const s = nextSlot;
  if ((s & (SLAB_SLOTS - 1)) == 0 || s == 1) {
    const slab = heapAlloc(<usize>SLAB_SLOTS * FLOW_SIZE, 64); // records on cache lines (layout.ts)
    if (slab == 0) return 0;
    const links = heapAlloc(<usize>SLAB_SLOTS << 3);
    if (links == 0) return 0;
    store<u32>(slabs + ((s >> SLAB_SHIFT) << 2), <u32>slab);
    store<u32>(lruSlabs + ((s >> SLAB_SHIFT) << 2), <u32>links);
  }
  nextSlot++;
  return s;
}

/**
 * Inserts a zeroed flow for `key` at the most-recent end. When the table is
 * full the least recently used flow is handed to `evict` first, which must
 * take it out with tableRemove (it is counted as FlowDropped, as Skydive
 * does). Returns the record, or 0 if out of memory.
 */
export function tableInsert(key: u64, evict: (f: usize) => void): usize {
  if (size >= maxEntries && lruHead != 0) {
    count(C_FLOW_DROPPED);
    evict(flowAt(lruHead));
  }
  // Slots never used come from slabs heapAlloc zeroed: only a freed one needs clearing.
  const reused = freeSlot != 0;
  const slot = allocSlot();
  if (slot == 0) return 0;
  const f = flowAt(slot);
  if (reused) memory.fill(f, 0, FLOW_SIZE);
  store<u64>(f + FL_KEY, key);
  store<u32>(f + FL_SLOT, slot);
  const b = bucketOf(key);
  store<u32>(f + FL_HASH_NEXT, load<u32>(b));
  store<u32>(b, slot);
  setLruPrev(slot, lruTail);
  setLruNext(slot, 0);
  if (lruTail != 0) setLruNext(lruTail, slot);
  else lruHead = slot;
  lruTail = slot;
  size++;
  return f;
}

/** Unlinks a flow from the index and the LRU list and frees its slot. */
export function tableRemove(f: usize): void {
  const slot = load<u32>(f + FL_SLOT);
  // hash chain
  let p = bucketOf(load<u64>(f + FL_KEY));
  let cur = load<u32>(p);
  while (cur != 0 && cur != slot) {
    p = flowAt(cur) + FL_HASH_NEXT;
    cur = load<u32>(p);
  }
  if (cur == slot) store<u32>(p, load<u32>(f + FL_HASH_NEXT));
  // LRU list
  const prev = lruPrev(slot), next = lruNext(slot);
  if (prev != 0) setLruNext(prev, next); else lruHead = next;
  if (next != 0) setLruPrev(next, prev); else lruTail = prev;
  store<u32>(f + FL_HASH_NEXT, freeSlot);
  store<u32>(f + FL_SLOT, 0);
  freeSlot = slot;
  size--;
}

@inline function lruMoveToTail(slot: u32): void {
  if (slot == lruTail) return;
  const prev = lruPrev(slot), next = lruNext(slot);
  if (prev != 0) setLruNext(prev, next); else lruHead = next;
  setLruPrev(next, prev);
  setLruPrev(slot, lruTail);
  setLruNext(slot, 0);
  setLruNext(lruTail, slot);
  lruTail = slot;
}

/** First flow in LRU order (least recent), 0 if empty. */
export function tableFirst(): usize { return lruHead == 0 ? 0 : flowAt(lruHead); }
/** The flow after `f` in LRU order, 0 at the end. Read it before removing `f`. */
export function tableNext(f: usize): usize {
  const n = lruNext(load<u32>(f + FL_SLOT));
  return n == 0 ? 0 : flowAt(n);
}
