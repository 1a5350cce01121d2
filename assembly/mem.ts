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

/** Lexicographic unsigned compare of two byte strings; a strict prefix is smaller (Go bytes.Compare). */
export function bytesCompare(a: usize, alen: u32, b: usize, blen: u32): i32 {
  const n = alen < blen ? alen : blen;
  for (let i: u32 = 0; i < n; i++) {
    const x = load<u8>(a + i), y = load<u8>(b + i);
    if (x != y) return x < y ? -1 : 1;
  }
  return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

export function bytesEqual(a: usize, b: usize, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}
