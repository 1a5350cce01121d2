// Sharding for the worker pool: which worker owns a packet. Every flow a
// packet touches, at every encapsulation level, is keyed on (or, for inner
// levels, chained through a parent UUID keyed on) the packet's first network
// layer addresses, or its Ethernet addresses when it has no network layer.
// A symmetric hash of those addresses therefore sends every packet of every
// flow to one worker, whatever the direction, so per-worker tables hold
// complete flows and the output does not depend on the number of workers.

import { decodePacket, setStopAtNetwork } from './decode';
import { L_ETHERNET } from './ids';
import { layerStart, layerType, linkLayer, networkLayer } from './packet';
import { netAddr, netAddrLen } from './flow/keys';
import { heapAlloc } from './alloc';
import { INPUT_CAPACITY } from './io';

/** FNV-1a over bytes, seeded. */
function fnv(p: usize, n: u32, h: u32): u32 {
  for (let i: u32 = 0; i < n; i++) h = (h ^ <u32>load<u8>(p + i)) * 16777619;
  return h;
}

/** Symmetric: the same value for (a, b) and (b, a). */
@inline function pairHash(a: usize, b: usize, n: u32): u32 {
  return fnv(a, n, 2166136261) + fnv(b, n, 2166136261);
}

/** Shard of the frame at [data, data+caplen). */
function shardOf(data: usize, caplen: u32, linkType: u32, shards: u32): u32 {
  if (shards <= 1) return 0;
  decodePacket(data, caplen, linkType);
  let h: u32 = 0;
  if (networkLayer >= 0) {
    const al = netAddrLen(networkLayer);
    h = pairHash(netAddr(networkLayer, false), netAddr(networkLayer, true), al);
  } else if (linkLayer >= 0 && layerType(<u32>linkLayer) == L_ETHERNET) {
    const s = layerStart(<u32>linkLayer);
    h = pairHash(s, s + 6, 6);
  }
  return (h >>> 8) % shards;
}

// One staging area per shard, each as large as a whole input batch, so that
// one batch always fits whatever its split.
const MAX_SHARDS: u32 = 64;
const staging = memory.data(<i32>(MAX_SHARDS * 4), 4);
const stagingBytes = memory.data(<i32>(MAX_SHARDS * 4), 4);
const stagingCount = memory.data(<i32>(MAX_SHARDS * 4), 4);

/**
 * Splits the `n` batch records at `base` (processBatch's layout) by shard:
 * record by record into each shard's staging area, in order. Returns the
 * records consumed; read each area with stagingAddr/Bytes/Packets.
 */
export function scatterBatch(base: usize, bytes: u32, n: u32, shards: u32): u32 {
  if (shards == 0 || shards > MAX_SHARDS) return 0;
  for (let i: u32 = 0; i < shards; i++) {
    if (load<u32>(staging + (i << 2)) == 0) {
      const a = heapAlloc(INPUT_CAPACITY);
      if (a == 0) return 0;
      store<u32>(staging + (i << 2), <u32>a);
    }
    store<u32>(stagingBytes + (i << 2), 0);
    store<u32>(stagingCount + (i << 2), 0);
  }
  let p = base;
  const end = base + bytes;
  let done: u32 = 0;
  setStopAtNetwork(true);
  while (done < n && p + 24 <= end) {
    const caplen = load<u32>(p, 8);
    const data = p + 24;
    if (data + caplen > end) break;
    const size = 24 + ((caplen + 7) & ~7);
    const k = shardOf(data, caplen, load<u32>(p, 16), shards) << 2;
    const used = load<u32>(stagingBytes + k);
    memory.copy(<usize>load<u32>(staging + k) + used, p, size);
    store<u32>(stagingBytes + k, used + size);
    store<u32>(stagingCount + k, load<u32>(stagingCount + k) + 1);
    p += size;
    done++;
  }
  setStopAtNetwork(false);
  return done;
}

export function stagingAddr(shard: u32): usize { return <usize>load<u32>(staging + (shard << 2)); }
export function stagingBytesOf(shard: u32): u32 { return load<u32>(stagingBytes + (shard << 2)); }
export function stagingPackets(shard: u32): u32 { return load<u32>(stagingCount + (shard << 2)); }
