// Streaming XXH64 with the semantics of pierrec/xxHash v0.1.5, the version
// Skydive pins. Writes are standard XXH64; `sum64` is not: when 32 or more
// bytes were written it multiplies the four lane accumulators by PRIME2 in
// place and never undoes it, so a later write or sum builds on changed lanes.
// Skydive computes three sums on one hasher per packet (L3 key, L2 key, flow
// key), so TrackingIDs of IPv6 flows and most UUIDs depend on this quirk.
// One hasher, in static memory: the flow code uses it strictly sequentially.

import { copyBytes } from '../mem';

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

// Writes are a few dozen bytes at most on the packet path (keys.ts gathers
// each key's bytes and writes them at once): copyBytes rather than
// memory.copy, which is a call into the engine.
export function hashWrite(p: usize, n: u32): void {
  total += n;
  if (used + n < 32) {
    copyBytes(buf + used, p, n);
    used += n;
    return;
  }
  if (used > 0) {
    const fill = 32 - used;
    copyBytes(buf + used, p, fill);
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
    copyBytes(buf, p, n);
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
    h = mergeLanes(h, v1, v2, v3, v4) + total;
  } else {
    h = seed + P5 + total;
  }
  return finish(h, buf, used);
}

/** The merge of the (already multiplied) lanes into h. */
@inline function mergeLanes(h: u64, a: u64, b: u64, c: u64, d: u64): u64 {
  h = (h ^ (rotl<u64>(a, 31) * P1)) * P1 + P4;
  h = (h ^ (rotl<u64>(b, 31) * P1)) * P1 + P4;
  h = (h ^ (rotl<u64>(c, 31) * P1)) * P1 + P4;
  return (h ^ (rotl<u64>(d, 31) * P1)) * P1 + P4;
}

/** The pending bytes [p, p+n) (n < 32) and the avalanche. */
@inline function finish(h: u64, p: usize, n: u32): u64 {
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

/** Results of hashSums besides the last sum. */
export let firstSum: u64 = 0;
export let secondSum: u64 = 0;

/**
 * Skydive's flow keys in one call: the same as hashReset(0), hashWrite of
 * [p, p+e1), a sum (firstSum), then, when `second`, hashWrite of [p+e1,
 * p+e2) and a sum (secondSum), then hashWrite of the rest up to e3 and the
 * returned sum; with the state in locals instead of the streaming hasher's
 * globals. Blocks fall on multiples of 32 bytes of the whole input however
 * it is cut into writes, so only the sums need care: each one multiplies
 * the lanes (the quirk) once 32 bytes were written. firstSum and secondSum
 * are computed only when `values` (else only their effect on the lanes).
 */
@inline export function hashSums(p: usize, e1: u32, second: bool, e2: u32, e3: u32, values: bool): u64 {
  let a: u64 = P1 + P2, b: u64 = P2, c: u64 = 0, d: u64 = 0 - P1;
  let at: u32 = 0; // bytes consumed by blocks
  for (let stop: u32 = 0; stop < 3; stop++) {
    if (stop == 1 && !second) continue;
    const end = stop == 0 ? e1 : stop == 1 ? e2 : e3;
    while (at + 32 <= end) {
      a = round(a, load<u64>(p + at));
      b = round(b, load<u64>(p + at, 8));
      c = round(c, load<u64>(p + at, 16));
      d = round(d, load<u64>(p + at, 24));
      at += 32;
    }
    let h: u64 = P5 + <u64>end; // seed 0
    if (end >= 32) {
      h = rotl<u64>(a, 1) + rotl<u64>(b, 7) + rotl<u64>(c, 12) + rotl<u64>(d, 18);
      a *= P2; b *= P2; c *= P2; d *= P2;
      if (stop < 2 && !values) continue;
      h = mergeLanes(h, a, b, c, d) + <u64>end;
    } else if (stop < 2 && !values) {
      continue;
    }
    h = finish(h, p + at, end - at);
    if (stop == 0) firstSum = h;
    else if (stop == 1) secondSum = h;
    else return h;
  }
  return 0; // not reached: the third stop returns
}

/** One-shot standard XXH64 (a fresh hasher with a single sum): the UUID hash. */
export function xxh64(p: usize, n: u32, s: u64): u64 {
  hashReset(s);
  hashWrite(p, n);
  return hashSum64();
}
