// The flows of the table in canonical output order (sortkey.ts), for a
// capture stop that empties the table a bounded group at a time. Sorting
// here keeps the keys in linear memory, 124 bytes a flow with the sort's
// entries, where sorting in the host costs a string and an array entry a
// flow (about 250 bytes, and garbage the host collects late).
import { heapAlloc } from '../alloc';
import { flowSortKeyInto, SORT_KEY_MAX } from './sortkey';
import { tableFirst, tableNext, tableSize } from './table';

const KEY_WORDS: u32 = SORT_KEY_MAX / 8;

/**
 * A sort entry: the key's first 16 bytes as two big-endian u64 (they hold
 * Start and most of the UUID, so they decide almost every comparison), then
 * the key's index. Merging moves these entries, read in sequence, and looks
 * at the whole key (elsewhere in memory) only on a tie of both prefixes.
 */
const ENTRY: u32 = 24;
const PREFIX_WORDS: u32 = 2;

let capacity: u32 = 0;
let keys: usize = 0;   // capacity keys of SORT_KEY_MAX bytes, zero-padded
let entries: usize = 0; // capacity entries
let temp: usize = 0;   // capacity entries: the merge sort's other half
let order: usize = 0;  // capacity u32: the flow of each key, then the flows in order

/** Entry `a` before entry `b`: their keys compared as memcmp does. */
@inline function before(a: usize, b: usize): bool {
  const a0 = load<u64>(a), b0 = load<u64>(b);
  if (a0 != b0) return a0 < b0;
  const a1 = load<u64>(a, 8), b1 = load<u64>(b, 8);
  if (a1 != b1) return a1 < b1;
  const ka = keys + <usize>load<u32>(a, 16) * SORT_KEY_MAX, kb = keys + <usize>load<u32>(b, 16) * SORT_KEY_MAX;
  for (let w: u32 = PREFIX_WORDS; w < KEY_WORDS; w++) {
    const x = load<u64>(ka + (w << 3)), y = load<u64>(kb + (w << 3));
    if (x != y) return bswap<u64>(x) < bswap<u64>(y);
  }
  return false;
}

@inline function moveEntry(dst: usize, src: usize): void {
  store<u64>(dst, load<u64>(src));
  store<u64>(dst, load<u64>(src, 8), 8);
  store<u64>(dst, load<u64>(src, 16), 16);
}

/**
 * Merges the sorted runs [lo, mid) and [mid, hi) of entries at `src` into
 * `dst`. A function of its own, called once per pair of runs, so that the
 * engine optimizes it soon: a loop that runs once for long stays in the
 * baseline code it started in (stopOrderBuild runs once per stop).
 */
function mergeRuns(src: usize, dst: usize, lo: u32, mid: u32, hi: u32): void {
  let i = src + <usize>lo * ENTRY, j = src + <usize>mid * ENTRY, o = dst + <usize>lo * ENTRY;
  const iEnd = j, jEnd = src + <usize>hi * ENTRY;
  while (i < iEnd && j < jEnd) {
    // Equal keys take the left run's first: the sort is stable.
    if (before(j, i)) { moveEntry(o, j); j += ENTRY; } else { moveEntry(o, i); i += ENTRY; }
    o += ENTRY;
  }
  if (i < iEnd) memory.copy(o, i, iEnd - i);
  else if (j < jEnd) memory.copy(o, j, jEnd - j);
}

/**
 * Writes the addresses of every flow in the table, in canonical order, as
 * u32 at stopOrderAddress(); returns their count, or -1 when memory for the
 * keys cannot be had. Stable: flows with equal keys keep the table's order.
 */
export function stopOrderBuild(): i32 {
  const n = tableSize();
  if (n > capacity) {
    keys = heapAlloc(<usize>n * SORT_KEY_MAX);
    entries = heapAlloc(<usize>n * ENTRY);
    temp = heapAlloc(<usize>n * ENTRY);
    order = heapAlloc(<usize>n << 2);
    if (keys == 0 || entries == 0 || temp == 0 || order == 0) { capacity = 0; return -1; }
    capacity = n;
  }
  let count: u32 = 0;
  for (let f = tableFirst(); f != 0 && count < n; f = tableNext(f)) {
    const k = keys + <usize>count * SORT_KEY_MAX;
    memory.fill(k, 0, SORT_KEY_MAX);
    flowSortKeyInto(f, k);
    const e = entries + <usize>count * ENTRY;
    store<u64>(e, bswap<u64>(load<u64>(k)));
    store<u64>(e, bswap<u64>(load<u64>(k, 8)), 8);
    store<u64>(e, <u64>count, 16);
    store<u32>(order + (<usize>count << 2), <u32>f);
    count++;
  }
  // Bottom-up merge sort of the entries.
  let src = entries, dst = temp;
  for (let width: u32 = 1; width < count; width <<= 1) {
    for (let lo: u32 = 0; lo < count; lo += width << 1) mergeRuns(src, dst, lo, min(lo + width, count), min(lo + (width << 1), count));
    const t = src; src = dst; dst = t;
  }
  // The flows in sorted order, over the flows in table order (kept, by index, in the key area).
  for (let i: u32 = 0; i < count; i++) {
    store<u32>(keys + (<usize>i << 2), load<u32>(order + (<usize>load<u32>(src + <usize>i * ENTRY, 16) << 2)));
  }
  memory.copy(order, keys, <usize>count << 2);
  return <i32>count;
}

/** Where stopOrderBuild wrote the flow addresses. */
export function stopOrderAddress(): usize { return order; }
