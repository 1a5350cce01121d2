// Unchecked big-endian loads and stores. Every caller proves `p + width <= end`
// first: wasm memory reads never trap inside linear memory, so a missing check
// would silently read a neighbour instead of failing.

@inline export function rd8(p: usize): u32 { return <u32>load<u8>(p); }
@inline export function rd16(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p)); }
@inline export function rd32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }
@inline export function rd64(p: usize): u64 { return bswap<u64>(load<u64>(p)); }
@inline export function wr16(p: usize, v: u32): void { store<u16>(p, bswap<u16>(<u16>v)); }
@inline export function wr32(p: usize, v: u32): void { store<u32>(p, bswap<u32>(v)); }
@inline export function wr64(p: usize, v: u64): void { store<u64>(p, bswap<u64>(v)); }

/**
 * Lexicographic unsigned compare of two byte strings; a strict prefix is smaller (Go bytes.Compare).
 * A word at a time: on big-endian words, unsigned order is byte order.
 */
export function bytesCompare(a: usize, alen: u32, b: usize, blen: u32): i32 {
  const n = alen < blen ? alen : blen;
  let i: u32 = 0;
  for (; i + 8 <= n; i += 8) {
    const x = load<u64>(a + i), y = load<u64>(b + i);
    if (x != y) return bswap<u64>(x) < bswap<u64>(y) ? -1 : 1;
  }
  if (i + 4 <= n) {
    const x = load<u32>(a + i), y = load<u32>(b + i);
    if (x != y) return bswap<u32>(x) < bswap<u32>(y) ? -1 : 1;
    i += 4;
  }
  for (; i < n; i++) {
    const x = load<u8>(a + i), y = load<u8>(b + i);
    if (x != y) return x < y ? -1 : 1;
  }
  return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

/** Byte equality of [a, a+n) and [b, b+n), reading nothing outside them. */
export function bytesEqual(a: usize, b: usize, n: u32): bool {
  let i: u32 = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  if (i + 4 <= n) {
    if (load<u32>(a + i) != load<u32>(b + i)) return false;
    i += 4;
  }
  for (; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

/**
 * Copies n <= 16 bytes with overlapping word loads and stores, reading
 * nothing outside [src, src+n): for the few bytes of a key or an address,
 * where memory.copy would be a call into the engine.
 */
@inline export function copySmall(dst: usize, src: usize, n: u32): void {
  if (n >= 8) {
    store<u64>(dst, load<u64>(src));
    store<u64>(dst + n - 8, load<u64>(src + n - 8));
  } else if (n >= 4) {
    store<u32>(dst, load<u32>(src));
    store<u32>(dst + n - 4, load<u32>(src + n - 4));
  } else if (n > 0) {
    store<u8>(dst, load<u8>(src));
    store<u8>(dst + (n >> 1), load<u8>(src + (n >> 1)));
    store<u8>(dst + n - 1, load<u8>(src + n - 1));
  }
}

/** Copies n bytes a word at a time (non-overlapping ranges): memory.copy for short runs. */
export function copyBytes(dst: usize, src: usize, n: u32): void {
  while (n >= 8) {
    store<u64>(dst, load<u64>(src));
    dst += 8;
    src += 8;
    n -= 8;
  }
  copySmall(dst, src, n);
}
