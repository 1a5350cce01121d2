// Memory for state that outlives a packet (flow slabs, reassembly pools,
// extra-layer blobs). A bump allocator over memory.grow plus size-class free
// lists for blobs; nothing is returned to the host, freed blocks are reused.
// The runtime is "stub" and nothing else allocates, so the heap is ours.

let top: usize = 0;

/** Smallest growth: 16 MiB. */
const GROW_MIN_PAGES: i32 = 256;

/**
 * Returns `bytes` of zeroed memory aligned to `align` (a power of two, at
 * least 8; 64 puts records on cache-line boundaries), or 0 when memory
 * cannot grow.
 */
export function heapAlloc(bytes: usize, align: usize = 8): usize {
  if (top == 0) top = (__heap_base + 7) & ~<usize>7;
  const p = (top + align - 1) & ~(align - 1);
  const end = (p + bytes + 7) & ~<usize>7;
  const have = <usize>memory.size() << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    // Grow in large steps: the host engine counts each grow as new external
    // memory and answers with a full garbage collection, so page-sized steps
    // (one flow slab at a time) cost a collection every few thousand flows.
    // Untouched pages are not resident, so the headroom costs no RSS.
    const step = max(pages, max(<i32>(have >> 18), GROW_MIN_PAGES));
    if (memory.grow(step) < 0 && memory.grow(pages) < 0) return 0;
  }
  // No fill: the bump pointer only rises, so [p, end) was never handed out, and a
  // WebAssembly memory starts and grows zeroed (the host gives each core a fresh
  // one). Zeroing it again wrote every flow slab and sort buffer twice.
  top = end;
  return p;
}


// Size classes 64 B .. 64 KiB for variable-size blobs (DNS messages, ...).
const MIN_SHIFT: u32 = 6;
const MAX_SHIFT: u32 = 16;
const freeLists = memory.data(<i32>((MAX_SHIFT - MIN_SHIFT + 1) * 4), 4);

function classOf(bytes: u32): u32 {
  let s = MIN_SHIFT;
  while ((<u32>1 << s) < bytes) s++;
  return s;
}

/** Allocates a blob of at least `bytes` (at most 64 KiB); 0 if too large or out of memory. */
export function blobAlloc(bytes: u32): usize {
  if (bytes > (<u32>1 << MAX_SHIFT)) return 0;
  const c = classOf(bytes);
  const head = freeLists + ((c - MIN_SHIFT) << 2);
  const p = <usize>load<u32>(head);
  if (p != 0) {
    store<u32>(head, load<u32>(p));
    return p;
  }
  return heapAlloc(<usize>1 << c);
}

/** Returns a blob of `bytes` (the size it was allocated with) to its free list. */
export function blobFree(p: usize, bytes: u32): void {
  if (p == 0) return;
  const c = classOf(bytes);
  const head = freeLists + ((c - MIN_SHIFT) << 2);
  store<u32>(p, load<u32>(head));
  store<u32>(head, <u32>p);
}
