// IPv4 defragmentation as Skydive does it (spec §6): Skydive's IPDefragger
// (flow/ipdefrag.go) around gopacket v1.1.17's ip4defrag, run on the whole
// packet's FIRST IPv4 layer before the packet is split into flows.
//
// Two tables share one key, (source, destination, IP id), as both Go types
// key on the IPv4 NetworkFlow plus the id:
//  * the metric map (Skydive): an entry is made for EVERY IPv4 packet, a
//    dropped fragment bumps Fragments or FragmentErrors in it, and a packet
//    that passes (not a fragment, or the completing one) takes the entry and
//    deletes it. So a plain packet that reuses the key of an unfinished
//    datagram carries that datagram's counts (zeek/fragmented-4.pcap:
//    Fragments 4 on a TCP flow). The 30 s tick wipes the map.
//  * the fragment lists (gopacket): fragments in offset order, with the
//    "highest" and "current" byte counters that decide completion. They are
//    dropped on completion or at 8192 fragments, never by age.
// Here both live in one fixed-size record per key.
//
// gopacket computes on uint16 and this port keeps every wrap:
//  * its check "offset*8 + length > 65535" sums two uint16s, so it can never
//    fire: an oversized datagram is not an error, its counters wrap instead;
//  * fragment lengths are "total length - 20" whatever the header length;
//  * a fragment whose offset is below "highest" but above every stored one is
//    counted in "current" yet never stored;
//  * a fragment starting at a stored offset is a duplicate and is ignored
//    (not even counted), even if it is longer;
//  * building appends each fragment's captured payload and, after an
//    overlapping one, advances by its OFFSET rather than by what was added.
//
// Deliberate differences (Skydive has no bound here; a port must have one):
//  * at most `maxDatagrams` keys and `maxBytes` of stored fragments. A full
//    key table evicts the least recently used key (datagram and metric); a
//    full byte store evicts the least recently used OTHER datagram. A single
//    datagram larger than the store is flushed and its fragment counts as an
//    error. Evictions are counted (defragEvictions).
//  * where Go would panic (a fragment overlapping past its captured bytes)
//    or the rebuilt datagram exceeds REASM_CAP bytes, the build fails like
//    gopacket's other build errors (FragmentErrors++, list kept).
//  * Skydive decodes the rebuilt payload by calling the protocol's decoder
//    directly: an error adds no DecodeFailure layer and a panic would crash
//    the agent. Here both just stop the decode; the layers so far stay.

import { C_DEFRAG_ERRORS, C_DEFRAG_FRAGMENTS, C_DEFRAG_REASSEMBLED, C_TOO_MANY_LAYERS, C_TRUNCATED, count } from '../counters';
import { L_IPV4, L_NONE } from '../ids';
import {
  IP4_DF, IP4_DST, IP4_FLAGS, IP4_FRAGOFF, IP4_HAS_ADDR, IP4_ID, IP4_IHL, IP4_LENGTH, IP4_MF, IP4_PROTOCOL, IP4_SRC,
} from '../layers/ipv4';
import {
  fieldsOf, findLayer, layerContents, layerFlags, layerPayload, layerStart, layerType, MAX_LAYERS, networkLayer, nextEnd,
  nextStart, nLayers, truncated,
} from '../packet';
import { dispatch, ipProtocolDecoder, NO_DECODER } from '../registry';
import { heapAlloc } from '../alloc';
import { ipDefrag } from './options';

export const DEFRAG_PASS: i32 = 0;     // not a fragment (or defrag off): metric usually {0, 0}, see below
export const DEFRAG_DROP: i32 = 1;     // absorbed or rejected: no flow for this packet
export const DEFRAG_COMPLETE: i32 = 2; // layers of the reassembled datagram were appended

/**
 * Metric to attach to the packet's last sub-packet after defragPacket returned
 * PASS or COMPLETE. Usually {0, 0} for PASS, but not always: a non-fragment
 * packet takes whatever Skydive's map held for its (src, dst, id).
 */
export let defragMetricFragments: i64 = 0;
export let defragMetricErrors: i64 = 0;

// gopacket ip4defrag constants (RFC 791 page 25).
const MIN_FRAGMENT_SIZE: u32 = 8;
const MAX_FRAGMENT_OFFSET: u32 = 8183;
const MAX_FRAGMENT_LIST: u32 = 8192;

export const DEFAULT_MAX_DATAGRAMS: u32 = 1024;
export const DEFAULT_MAX_BYTES: u32 = 4 << 20;

// The rebuilt datagram. Layers appended by defragPacket point into it, so it
// stays valid until the next call. Go's build can exceed 65535 bytes (its
// overlap bug), hence the margin.
const REASM_CAP: u32 = 128 << 10;
const reasm = memory.data(<i32>REASM_CAP, 16);

// ---------------------------------------------------------------------------------------------
// Key records (pool of fixed-size records, hash chains and an LRU list, all by index + 1)

const REC: u32 = 64;
const R_SRC: u32 = 0;      // u32, source address bytes as stored
const R_DST: u32 = 4;      // u32
const R_ID: u32 = 8;       // u16
const R_FLAGS: u32 = 10;   // u8 RF_*
const R_HIGHEST: u32 = 12; // u16 gopacket fragmentList.Highest
const R_CURRENT: u32 = 14; // u16 gopacket fragmentList.Current
const R_COUNT: u32 = 16;   // u32 fragments in the list
const R_HEAD: u32 = 20;    // u32 first fragment (its first chunk), in offset order
const R_CHUNKS: u32 = 24;  // u32 chunks held by the list
const R_HNEXT: u32 = 28;   // u32 next record in the bucket (or in the free list)
const R_PREV: u32 = 32;    // u32 LRU neighbours
const R_NEXT: u32 = 36;
const R_FRAGS: u32 = 40;   // i64 Skydive IPMetric.Fragments
const R_ERRS: u32 = 48;    // i64 Skydive IPMetric.FragmentErrors
const R_TAIL: u32 = 56;    // u32 last fragment (gopacket's LastSeen is not kept: Skydive never ages lists)

const RF_USED: u8 = 1;
const RF_ADDR: u8 = 2;     // addresses were parsed (else gopacket's nil addresses)
const RF_METRIC: u8 = 4;   // Skydive metric entry present
const RF_LIST: u8 = 8;     // gopacket fragment list present
const RF_FINAL: u8 = 16;   // fragmentList.FinalReceived

let maxDatagrams: u32 = DEFAULT_MAX_DATAGRAMS;
let maxBytes: u32 = DEFAULT_MAX_BYTES;
let pool: usize = 0;
let poolAlloc: u32 = 0; // records allocated
let poolCap: u32 = 0;   // records in use by the current limit
let poolReady = false;
let buckets: usize = 0;
let bucketMask: u32 = 0;
let freeRec: u32 = 0;
let lruHead: u32 = 0; // least recently used
let lruTail: u32 = 0;
let recsUsed: u32 = 0;
let lists: u32 = 0;
let evictions: u64 = 0;

// ---------------------------------------------------------------------------------------------
// Byte store: fixed-size chunks. A fragment is a chain of chunks whose first
// one carries its header; a datagram is a chain of fragments.

const CHUNK: u32 = 256;
const C_NEXT: u32 = 0;     // u32 next chunk of the same fragment
const C_NEXTFRAG: u32 = 4; // u32 next fragment of the datagram (first chunk only)
const C_OFF: u32 = 8;      // u16 fragment offset field (8-byte units)
const C_LEN: u32 = 10;     // u16 IPv4 total length field
const C_PAYLEN: u32 = 12;  // u32 captured payload bytes
const FIRST_DATA: u32 = 16;
const MORE_DATA: u32 = 4;
const SLAB_CHUNKS: u32 = 64;

let freeChunk: usize = 0;
let chunksInUse: u32 = 0;

@inline function rp(i: u32): usize { return pool + <usize>((i - 1) * REC); }

function resetState(): void {
  // Fragments go back to the chunk free list; the record pool is kept and
  // rebuilt by ensurePool when it is large enough for the new limit.
  for (let i: u32 = 1; i <= poolCap; i++) {
    const r = rp(i);
    if ((load<u8>(r + R_FLAGS) & RF_LIST) != 0) freeList(r);
  }
  poolReady = false;
  poolCap = 0;
  freeRec = 0;
  lruHead = 0;
  lruTail = 0;
  recsUsed = 0;
  lists = 0;
}

/**
 * Sets the bounds (keys of datagrams in progress, bytes of stored fragments)
 * and drops all defragmentation state: call it before traffic. Memory is
 * taken lazily, on the first fragment.
 */
export function defragSetLimits(maxDgrams: u32, maxB: u32): void {
  resetState();
  maxDatagrams = maxDgrams < 1 ? 1 : (maxDgrams > (1 << 20) ? (1 << 20) : maxDgrams);
  maxBytes = maxB < CHUNK ? CHUNK : maxB;
}

function ensurePool(): bool {
  if (poolReady) return true;
  if (pool == 0 || poolAlloc < maxDatagrams) {
    let nb: u32 = 16;
    while (nb < maxDatagrams * 2) nb <<= 1;
    const p = heapAlloc(<usize>maxDatagrams * REC);
    const b = heapAlloc(<usize>nb << 2);
    if (p == 0 || b == 0) return false; // memory cannot grow (the bump heap keeps what it got)
    pool = p;
    poolAlloc = maxDatagrams;
    buckets = b;
    bucketMask = nb - 1;
  }
  memory.fill(pool, 0, <usize>poolAlloc * REC);
  memory.fill(buckets, 0, <usize>(bucketMask + 1) << 2);
  poolCap = maxDatagrams;
  freeRec = 0;
  for (let i = poolCap; i >= 1; i--) {
    store<u32>(rp(i) + R_HNEXT, freeRec);
    freeRec = i;
  }
  poolReady = true;
  return true;
}

@inline function hashKey(src: u32, dst: u32, id: u32, addr: u32): u32 {
  let h = src * 0x9e3779b1 ^ rotl<u32>(dst, 13) * 0x85ebca6b ^ (id | (addr << 16)) * 0xc2b2ae35;
  h ^= h >> 15;
  h *= 0x2c1b3c6d;
  h ^= h >> 12;
  return h;
}

function lookup(src: u32, dst: u32, id: u32, addr: u8): u32 {
  if (recsUsed == 0) return 0; // the common case: no fragment state at all
  let i = load<u32>(buckets + ((hashKey(src, dst, id, addr) & bucketMask) << 2));
  while (i != 0) {
    const r = rp(i);
    if (load<u32>(r + R_SRC) == src && load<u32>(r + R_DST) == dst && <u32>load<u16>(r + R_ID) == id &&
        (load<u8>(r + R_FLAGS) & RF_ADDR) == addr) return i;
    i = load<u32>(r + R_HNEXT);
  }
  return 0;
}

function lruUnlink(i: u32): void {
  const r = rp(i);
  const p = load<u32>(r + R_PREV), n = load<u32>(r + R_NEXT);
  if (p != 0) store<u32>(rp(p) + R_NEXT, n); else lruHead = n;
  if (n != 0) store<u32>(rp(n) + R_PREV, p); else lruTail = p;
  store<u32>(r + R_PREV, 0);
  store<u32>(r + R_NEXT, 0);
}

function lruAppend(i: u32): void {
  const r = rp(i);
  store<u32>(r + R_PREV, lruTail);
  store<u32>(r + R_NEXT, 0);
  if (lruTail != 0) store<u32>(rp(lruTail) + R_NEXT, i); else lruHead = i;
  lruTail = i;
}

function freeRecord(i: u32): void {
  const r = rp(i);
  if ((load<u8>(r + R_FLAGS) & RF_LIST) != 0) freeList(r);
  const b = buckets + ((hashKey(load<u32>(r + R_SRC), load<u32>(r + R_DST), <u32>load<u16>(r + R_ID),
    <u32>(load<u8>(r + R_FLAGS) & RF_ADDR)) & bucketMask) << 2);
  let j = load<u32>(b);
  if (j == i) store<u32>(b, load<u32>(r + R_HNEXT));
  else {
    while (j != 0) {
      const n = load<u32>(rp(j) + R_HNEXT);
      if (n == i) { store<u32>(rp(j) + R_HNEXT, load<u32>(r + R_HNEXT)); break; }
      j = n;
    }
  }
  lruUnlink(i);
  memory.fill(r, 0, REC);
  store<u32>(r + R_HNEXT, freeRec);
  freeRec = i;
  recsUsed--;
}

/** Finds or makes the record of a key; a full table evicts its least recently used key. */
function obtain(src: u32, dst: u32, id: u32, addr: u8): u32 {
  if (!ensurePool()) return 0;
  const i = lookup(src, dst, id, addr);
  if (i != 0) return i;
  if (freeRec == 0) {
    evictions++;
    freeRecord(lruHead);
  }
  const j = freeRec;
  const r = rp(j);
  freeRec = load<u32>(r + R_HNEXT);
  memory.fill(r, 0, REC);
  store<u32>(r + R_SRC, src);
  store<u32>(r + R_DST, dst);
  store<u16>(r + R_ID, <u16>id);
  store<u8>(r + R_FLAGS, RF_USED | addr);
  const b = buckets + ((hashKey(src, dst, id, addr) & bucketMask) << 2);
  store<u32>(r + R_HNEXT, load<u32>(b));
  store<u32>(b, j);
  lruAppend(j);
  recsUsed++;
  return j;
}

@inline function setFlag(r: usize, f: u8): void { store<u8>(r + R_FLAGS, load<u8>(r + R_FLAGS) | f); }
@inline function clearFlag(r: usize, f: u8): void { store<u8>(r + R_FLAGS, load<u8>(r + R_FLAGS) & ~f); }

// ---------------------------------------------------------------------------------------------
// Chunks

function chunksFor(bytes: u32): u32 {
  if (bytes <= CHUNK - FIRST_DATA) return 1;
  const more = CHUNK - MORE_DATA;
  return 1 + (bytes - (CHUNK - FIRST_DATA) + more - 1) / more;
}

function takeChunk(): usize {
  if (freeChunk == 0) {
    const slab = heapAlloc(<usize>SLAB_CHUNKS * CHUNK);
    if (slab == 0) return 0;
    for (let k: u32 = 0; k < SLAB_CHUNKS; k++) {
      const c = slab + <usize>(k * CHUNK);
      store<u32>(c + C_NEXT, <u32>freeChunk);
      freeChunk = c;
    }
  }
  const c = freeChunk;
  freeChunk = <usize>load<u32>(c + C_NEXT);
  chunksInUse++;
  return c;
}

function freeChunks(c: usize): void {
  while (c != 0) {
    const n = <usize>load<u32>(c + C_NEXT);
    store<u32>(c + C_NEXT, <u32>freeChunk);
    freeChunk = c;
    chunksInUse--;
    c = n;
  }
}

/** Drops the fragment list of record r (gopacket flush), keeping its metric. */
function freeList(r: usize): void {
  let f = <usize>load<u32>(r + R_HEAD);
  while (f != 0) {
    const n = <usize>load<u32>(f + C_NEXTFRAG);
    freeChunks(f);
    f = n;
  }
  store<u32>(r + R_HEAD, 0);
  store<u32>(r + R_TAIL, 0);
  store<u32>(r + R_COUNT, 0);
  store<u32>(r + R_CHUNKS, 0);
  store<u16>(r + R_HIGHEST, 0);
  store<u16>(r + R_CURRENT, 0);
  clearFlag(r, RF_LIST | RF_FINAL);
  lists--;
}

/** Makes room for `n` chunks by evicting the least recently used datagrams other than `keep`. */
function reserveChunks(n: u32, keep: u32): bool {
  const limit = maxBytes / CHUNK;
  while (chunksInUse + n > limit) {
    let i = lruHead;
    while (i != 0 && (i == keep || (load<u8>(rp(i) + R_FLAGS) & RF_LIST) == 0)) i = load<u32>(rp(i) + R_NEXT);
    if (i == 0) return false;
    evictions++;
    freeList(rp(i));
    if ((load<u8>(rp(i) + R_FLAGS) & RF_METRIC) == 0) freeRecord(i);
  }
  return true;
}

/** Copies `len` payload bytes at `src` into a new chunk chain; returns its first chunk or 0. */
function storeFragment(off: u32, length: u32, src: usize, len: u32): usize {
  const first = takeChunk();
  if (first == 0) return 0;
  store<u32>(first + C_NEXT, 0);
  store<u32>(first + C_NEXTFRAG, 0);
  store<u16>(first + C_OFF, <u16>off);
  store<u16>(first + C_LEN, <u16>length);
  store<u32>(first + C_PAYLEN, len);
  let c = first;
  let room = CHUNK - FIRST_DATA;
  let at = first + FIRST_DATA;
  let done: u32 = 0;
  while (true) {
    const k = len - done < room ? len - done : room;
    memory.copy(at, src + done, k);
    done += k;
    if (done >= len) break;
    const nc = takeChunk();
    if (nc == 0) { freeChunks(first); return 0; }
    store<u32>(nc + C_NEXT, 0);
    store<u32>(c + C_NEXT, <u32>nc);
    c = nc;
    room = CHUNK - MORE_DATA;
    at = nc + MORE_DATA;
  }
  return first;
}

/** Copies the payload of fragment f from byte `skip` on to dst; returns the bytes copied. */
function copyPayload(f: usize, skip: u32, dst: usize): u32 {
  const len = load<u32>(f + C_PAYLEN);
  let c = f;
  let at = f + FIRST_DATA;
  let room = CHUNK - FIRST_DATA;
  let pos: u32 = 0;  // payload offset of `at`
  let out: u32 = 0;
  while (c != 0 && pos < len) {
    const k = len - pos < room ? len - pos : room;
    if (skip < pos + k) {
      const from = skip > pos ? skip - pos : 0;
      memory.copy(dst + out, at + from, k - from);
      out += k - from;
    }
    pos += k;
    c = <usize>load<u32>(c + C_NEXT);
    at = c + MORE_DATA;
    room = CHUNK - MORE_DATA;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// gopacket fragmentList.insert / build

const INS_ABSORBED: i32 = 0; // stored or ignored, datagram not complete
const INS_COMPLETE: i32 = 1; // the datagram was rebuilt into `reasm`
const INS_ERROR: i32 = 2;    // build failure (or no room, see reserveChunks)

let reasmLen: u32 = 0;

function insert(i: u32, fo: u32, length: u32, mf: bool, pay: usize, payLen: u32): i32 {
  const r = rp(i);
  if ((load<u8>(r + R_FLAGS) & RF_LIST) == 0) { setFlag(r, RF_LIST); lists++; }
  const highest = <u32>load<u16>(r + R_HIGHEST);
  const offBytes = fo * 8; // fo <= 8183, so this fits uint16 as in Go
  // Where the fragment goes: after `prev` (0 = at the head), or nowhere.
  let place = false;
  let prev: usize = 0;
  if (offBytes >= highest) {
    place = true;
    prev = <usize>load<u32>(r + R_TAIL);
  } else {
    let f = <usize>load<u32>(r + R_HEAD);
    while (f != 0) {
      const o = <u32>load<u16>(f + C_OFF);
      if (fo == o) return INS_ABSORBED; // duplicate start: ignored, counters untouched
      if (fo < o) { place = true; break; }
      prev = f;
      f = <usize>load<u32>(f + C_NEXTFRAG);
    }
    // Past every stored offset but below "highest": gopacket counts it below
    // without storing it.
  }
  if (place) {
    const need = chunksFor(payLen);
    let stored: usize = 0;
    if (reserveChunks(need, i)) stored = storeFragment(fo, length, pay, payLen);
    if (stored == 0) {
      // This datagram alone does not fit the store (or memory is exhausted).
      evictions++;
      freeList(r);
      return INS_ERROR;
    }
    if (prev == 0) {
      store<u32>(stored + C_NEXTFRAG, load<u32>(r + R_HEAD));
      store<u32>(r + R_HEAD, <u32>stored);
    } else {
      store<u32>(stored + C_NEXTFRAG, load<u32>(prev + C_NEXTFRAG));
      store<u32>(prev + C_NEXTFRAG, <u32>stored);
    }
    if (load<u32>(stored + C_NEXTFRAG) == 0) store<u32>(r + R_TAIL, <u32>stored);
    store<u32>(r + R_COUNT, load<u32>(r + R_COUNT) + 1);
    store<u32>(r + R_CHUNKS, load<u32>(r + R_CHUNKS) + need);
  }
  const fragLength = (length - 20) & 0xffff;
  const end = (offBytes + fragLength) & 0xffff;
  if (highest < end) store<u16>(r + R_HIGHEST, <u16>end);
  store<u16>(r + R_CURRENT, <u16>(<u32>load<u16>(r + R_CURRENT) + fragLength));
  if (!mf) setFlag(r, RF_FINAL);
  if ((load<u8>(r + R_FLAGS) & RF_FINAL) != 0 && load<u16>(r + R_HIGHEST) == load<u16>(r + R_CURRENT)) {
    return build(r) ? INS_COMPLETE : INS_ERROR;
  }
  return INS_ABSORBED;
}

function build(r: usize): bool {
  let cur: u32 = 0; // gopacket currentOffset (uint16)
  let out: u32 = 0;
  let f = <usize>load<u32>(r + R_HEAD);
  while (f != 0) {
    const o = <u32>load<u16>(f + C_OFF) * 8;
    const len = <u32>load<u16>(f + C_LEN);
    const pl = load<u32>(f + C_PAYLEN);
    let skip: u32 = 0;
    if (o == cur) {
      cur = (cur + len - 20) & 0xffff;
    } else if (o < cur) {
      // Overlap: keep what lies past currentOffset.
      skip = cur - o;
      if (skip > ((len - 20) & 0xffff)) return false; // "invalid fragment"
      if (skip > pl) return false;                     // Go panics slicing the payload here
      cur = (cur + o) & 0xffff;                        // sic: gopacket adds the offset
    } else {
      return false; // "hole found"
    }
    if (out + (pl - skip) > REASM_CAP) return false;
    out += copyPayload(f, skip, reasm + out);
    f = <usize>load<u32>(f + C_NEXTFRAG);
  }
  reasmLen = out;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Skydive IPDefragger.Defrag

/** Takes (and deletes) the metric entry of a key, as Skydive does for a packet that passes. */
function takeMetric(i: u32): void {
  if (i == 0) return;
  const r = rp(i);
  if ((load<u8>(r + R_FLAGS) & RF_METRIC) != 0) {
    defragMetricFragments = load<i64>(r + R_FRAGS);
    defragMetricErrors = load<i64>(r + R_ERRS);
    store<i64>(r + R_FRAGS, 0);
    store<i64>(r + R_ERRS, 0);
    clearFlag(r, RF_METRIC);
  }
  if ((load<u8>(r + R_FLAGS) & RF_LIST) == 0) freeRecord(i);
}

function metricOf(i: u32): usize {
  const r = rp(i);
  setFlag(r, RF_METRIC);
  return r;
}

function reject(i: u32): i32 {
  if (i != 0) { const r = metricOf(i); store<i64>(r + R_ERRS, load<i64>(r + R_ERRS) + 1); }
  count(C_DEFRAG_ERRORS);
  return DEFRAG_DROP;
}

/** No fragment state at all: defragPacket then leaves a non-fragment packet as it is. */
@inline export function defragIdle(): bool { return recsUsed == 0; }

/**
 * Runs on the current packet (the layer table filled by decodePacket).
 * `tsNs` is the capture time; gopacket stores it as LastSeen, which Skydive
 * never reads, so nothing here depends on it.
 */
export function defragPacket(tsNs: i64): i32 {
  defragMetricFragments = 0;
  defragMetricErrors = 0;
  if (!ipDefrag) return DEFRAG_PASS;
  // The first IPv4 layer is usually the first network layer.
  const ip = networkLayer >= 0 && layerType(<u32>networkLayer) == L_IPV4 ? networkLayer : findLayer(L_IPV4, 0, nLayers);
  if (ip < 0) return DEFRAG_PASS; // Skydive: no metric at all (nil)
  const f = fieldsOf(<u32>ip);
  const addr: u8 = (layerFlags(<u32>ip) & IP4_HAS_ADDR) != 0 ? RF_ADDR : 0;
  const src = load<u32>(f + IP4_SRC), dst = load<u32>(f + IP4_DST);
  const id = <u32>load<u16>(f + IP4_ID);
  const flags = <u32>load<u8>(f + IP4_FLAGS);
  const fo = <u32>load<u16>(f + IP4_FRAGOFF);

  // Not a fragment: DF set, or neither MF nor an offset. A layer whose header
  // was never parsed has all of these at zero and passes too.
  if ((flags & IP4_DF) != 0 || ((flags & IP4_MF) == 0 && fo == 0)) {
    if (recsUsed != 0) takeMetric(lookup(src, dst, id, addr));
    return DEFRAG_PASS;
  }

  const i = obtain(src, dst, id, addr);
  if (i != 0) metricOf(i);
  // gopacket securityChecks (uint16 arithmetic).
  const length = <u32>load<u16>(f + IP4_LENGTH);
  const ihl = <u32>load<u8>(f + IP4_IHL);
  if (((length - ihl * 4) & 0xffff) < MIN_FRAGMENT_SIZE) return reject(i);
  if (fo > MAX_FRAGMENT_OFFSET) return reject(i);
  // "fragOffset + Length > 65535" adds two uint16s and cannot be true in Go.
  if (i == 0) return reject(0); // no memory for any record

  const pay = layerStart(<u32>ip) + <usize>layerContents(<u32>ip);
  const res = insert(i, fo, length, (flags & IP4_MF) != 0, pay, layerPayload(<u32>ip));
  const r = rp(i);
  if (res != INS_COMPLETE && (load<u8>(r + R_FLAGS) & RF_LIST) != 0 && load<u32>(r + R_COUNT) + 1 > MAX_FRAGMENT_LIST) {
    freeList(r);
    return reject(i);
  }
  if (res == INS_ERROR) return reject(i);
  if (res == INS_ABSORBED) {
    store<i64>(r + R_FRAGS, load<i64>(r + R_FRAGS) + 1);
    lruUnlink(i);
    lruAppend(i);
    count(C_DEFRAG_FRAGMENTS);
    return DEFRAG_DROP;
  }
  // Complete: the list is flushed, the metric entry taken and deleted.
  freeList(r);
  const proto = <u32>load<u8>(f + IP4_PROTOCOL);
  takeMetric(i);
  count(C_DEFRAG_REASSEMBLED);
  const dec = ipProtocolDecoder(proto);
  // gopacket's LayerTypeZero (unknown protocol) decodes nothing.
  if (dec != NO_DECODER) decodeReassembled(dec, reasm, reasm + reasmLen);
  return DEFRAG_COMPLETE;
}

/**
 * Skydive calls `new.NextLayerType().Decode(payload, packet)` itself: the
 * layers go on the same packet, but an error is dropped on the floor (no
 * DecodeFailure layer) since only gopacket's top-level decode adds one.
 */
function decodeReassembled(id: u8, s: usize, e: usize): void {
  const wasTruncated = truncated;
  let steps: u32 = 0;
  let first = true;
  while (true) {
    if (!first && s >= e) break;
    first = false;
    if (nLayers >= MAX_LAYERS - 1 || ++steps > MAX_LAYERS * 2) { count(C_TOO_MANY_LAYERS); break; }
    const next = dispatch(id, s, e);
    if (next < 0 || next == L_NONE) break;
    id = <u8>next;
    s = nextStart;
    e = nextEnd;
  }
  if (truncated && !wasTruncated) count(C_TRUNCATED);
}

/**
 * Skydive's 30-second tick: FlushOlderThan compares with a timestamp it never
 * sets, so the whole metric map goes. gopacket's lists are not aged (the caps
 * bound them instead).
 */
export function defragFlushOlderThan(tNs: i64): void {
  for (let i: u32 = 1; i <= poolCap; i++) {
    const r = rp(i);
    const fl = load<u8>(r + R_FLAGS);
    if ((fl & RF_USED) == 0) continue;
    store<i64>(r + R_FRAGS, 0);
    store<i64>(r + R_ERRS, 0);
    clearFlag(r, RF_METRIC);
    if ((fl & RF_LIST) == 0) freeRecord(i);
  }
}

// Gauges for tests and /metrics.
export function defragDatagrams(): u32 { return lists; }
export function defragKeys(): u32 { return recsUsed; }
export function defragBytesHeld(): u32 { return chunksInUse * CHUNK; }
export function defragEvictions(): u64 { return evictions; }
export function defragMaxDatagrams(): u32 { return maxDatagrams; }
export function defragMaxBytes(): u32 { return maxBytes; }
/** Start and length of the last rebuilt datagram (for tests). */
export function defragReassembledData(): usize { return reasm; }
export function defragReassembledLength(): u32 { return reasmLen; }
