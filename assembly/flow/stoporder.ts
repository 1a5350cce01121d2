// The flows of the table in canonical output order (sortkey.ts), for a
// capture stop that empties the table a bounded group at a time. Sorting
// here keeps the keys in linear memory, 80 bytes a flow, where sorting in
// the host costs a string and an array entry a flow (about 250 bytes, and
// garbage the host collects late).
import { heapAlloc } from '../alloc';
import { flowSortKeyInto, SORT_KEY_MAX } from './sortkey';
import { tableFirst, tableNext, tableSize } from './table';

const KEY_WORDS: u32 = SORT_KEY_MAX / 8;

let capacity: u32 = 0;
let keys: usize = 0;   // capacity keys of SORT_KEY_MAX bytes, zero-padded
let order: usize = 0;  // capacity u32: key indexes, then flow addresses
let temp: usize = 0;   // capacity u32: the merge sort's other half
let flows: usize = 0;  // capacity u32: the flow of each key

/** Key i before key j, comparing their bytes as memcmp does. */
@inline function before(i: u32, j: u32): bool {
  const a = keys + <usize>i * SORT_KEY_MAX, b = keys + <usize>j * SORT_KEY_MAX;
  for (let w: u32 = 0; w < KEY_WORDS; w++) {
    const x = load<u64>(a + (w << 3)), y = load<u64>(b + (w << 3));
    if (x != y) return bswap<u64>(x) < bswap<u64>(y);
  }
  return false;
}

/**
 * Merges the sorted runs [lo, mid) and [mid, hi) of `src` into `dst`. A function of its own,
 * called once per pair of runs, so that the engine optimizes it soon: a loop that runs once
 * for long stays in the baseline code it started in (stopOrderBuild runs once per stop).
 */
function mergeRuns(src: usize, dst: usize, lo: u32, mid: u32, hi: u32): void {
  let i = lo, j = mid, o = lo;
  while (i < mid && j < hi) {
    const a = load<u32>(src + (<usize>i << 2)), b = load<u32>(src + (<usize>j << 2));
    if (before(b, a)) { store<u32>(dst + (<usize>o << 2), b); j++; } else { store<u32>(dst + (<usize>o << 2), a); i++; }
    o++;
  }
  while (i < mid) { store<u32>(dst + (<usize>o << 2), load<u32>(src + (<usize>i << 2))); i++; o++; }
  while (j < hi) { store<u32>(dst + (<usize>o << 2), load<u32>(src + (<usize>j << 2))); j++; o++; }
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
    order = heapAlloc(<usize>n << 2);
    temp = heapAlloc(<usize>n << 2);
    flows = heapAlloc(<usize>n << 2);
    if (keys == 0 || order == 0 || temp == 0 || flows == 0) { capacity = 0; return -1; }
    capacity = n;
  }
  let count: u32 = 0;
  for (let f = tableFirst(); f != 0 && count < n; f = tableNext(f)) {
    const k = keys + <usize>count * SORT_KEY_MAX;
    memory.fill(k, 0, SORT_KEY_MAX);
    flowSortKeyInto(f, k);
    store<u32>(flows + (<usize>count << 2), <u32>f);
    store<u32>(order + (<usize>count << 2), count);
    count++;
  }
  // Bottom-up merge sort of the key indexes.
  let src = order, dst = temp;
  for (let width: u32 = 1; width < count; width <<= 1) {
    for (let lo: u32 = 0; lo < count; lo += width << 1) mergeRuns(src, dst, lo, min(lo + width, count), min(lo + (width << 1), count));
    const t = src; src = dst; dst = t;
  }
  for (let i: u32 = 0; i < count; i++) {
    store<u32>(order + (<usize>i << 2), load<u32>(flows + (<usize>load<u32>(src + (<usize>i << 2)) << 2)));
  }
  return <i32>count;
}

/** Where stopOrderBuild wrote the flow addresses. */
export function stopOrderAddress(): usize { return order; }
