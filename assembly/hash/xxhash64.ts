// Streaming XXH64 with the semantics of pierrec/xxHash v0.1.5, the version
// Skydive pins. Writes are standard XXH64; `sum64` is not: when 32 or more
// bytes were written it multiplies the four lane accumulators by PRIME2 in
// place and never undoes it, so a later write or sum builds on changed lanes.
// Skydive computes three sums on one hasher per packet (L3 key, L2 key, flow
// key), so TrackingIDs of IPv6 flows and most UUIDs depend on this quirk.
// One hasher, in static memory: the flow code uses it strictly sequentially.

const P1: u64 = 11400714785074694791;
const P2: u64 = 14029467366897019727;
const P3: u64 = 1609587929392839161;
const P4: u64 = 9650029242287828579;
const P5: u64 = 2870177450012600261;

let v1: u64 = 0, v2: u64 = 0, v3: u64 = 0, v4: u64 = 0;
let seed: u64 = 0;
let total: u64 = 0;
let used: u32 = 0;
const buf = memory.data(32, 8);

@inline function round(acc: u64, input: u64): u64 {
  return rotl<u64>(acc + input * P2, 31) * P1;
}

export function hashReset(s: u64): void {
  seed = s;
  v1 = s + P1 + P2;
  v2 = s + P2;
  v3 = s;
  v4 = s - P1;
  total = 0;
  used = 0;
}

function block(p: usize): void {
  v1 = round(v1, load<u64>(p));
  v2 = round(v2, load<u64>(p, 8));
  v3 = round(v3, load<u64>(p, 16));
  v4 = round(v4, load<u64>(p, 24));
}

export function hashWrite(p: usize, n: u32): void {
  total += n;
  if (used + n < 32) {
    memory.copy(buf + used, p, n);
    used += n;
    return;
  }
  if (used > 0) {
    const fill = 32 - used;
    memory.copy(buf + used, p, fill);
    block(buf);
    p += fill;
    n -= fill;
    used = 0;
  }
  while (n >= 32) {
    block(p);
    p += 32;
    n -= 32;
  }
  if (n > 0) {
    memory.copy(buf, p, n);
    used = n;
  }
}

/** Big-endian helpers: Skydive writes integers in network order. */
const scratch = memory.data(8, 8);
export function hashWriteBE64(v: u64): void { store<u64>(scratch, bswap<u64>(v)); hashWrite(scratch, 8); }
export function hashWriteBE32(v: u32): void { store<u32>(scratch, bswap<u32>(v)); hashWrite(scratch, 4); }
export function hashWriteBE16(v: u32): void { store<u16>(scratch, bswap<u16>(<u16>v)); hashWrite(scratch, 2); }

export function hashSum64(): u64 {
  let h: u64;
  if (total >= 32) {
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
    // pierrec v0.1.5: the merge multiplies the lanes in place (the quirk).
    v1 *= P2; v2 *= P2; v3 *= P2; v4 *= P2;
    h = (h ^ (rotl<u64>(v1, 31) * P1)) * P1 + P4;
    h = (h ^ (rotl<u64>(v2, 31) * P1)) * P1 + P4;
    h = (h ^ (rotl<u64>(v3, 31) * P1)) * P1 + P4;
    h = (h ^ (rotl<u64>(v4, 31) * P1)) * P1 + P4;
    h += total;
  } else {
    h = seed + P5 + total;
  }
  let p = buf;
  let n = used;
  while (n >= 8) {
    h ^= rotl<u64>(load<u64>(p) * P2, 31) * P1;
    h = rotl<u64>(h, 27) * P1 + P4;
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    h ^= <u64>load<u32>(p) * P1;
    h = rotl<u64>(h, 23) * P2 + P3;
    p += 4;
    n -= 4;
  }
  while (n > 0) {
    h ^= <u64>load<u8>(p) * P5;
    h = rotl<u64>(h, 11) * P1;
    p++;
    n--;
  }
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

/** One-shot standard XXH64 (a fresh hasher with a single sum): the UUID hash. */
export function xxh64(p: usize, n: u32, s: u64): u64 {
  hashReset(s);
  hashWrite(p, n);
  return hashSum64();
}
