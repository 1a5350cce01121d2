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
import { plainIPv4, plainSrc, readPlainFrame } from './flow/plain';

/** FNV-1a over bytes, seeded. */
function fnv(p: usize, n: u32, h: u32): u32 {
  for (let i: u32 = 0; i < n; i++) h = (h ^ <u32>load<u8>(p + i)) * 16777619;
  return h;
}

/** Symmetric: the same value for (a, b) and (b, a). */
@inline function pairHash(a: usize, b: usize, n: u32): u32 {
  return fnv(a, n, 2166136261) + fnv(b, n, 2166136261);
}

/** Shard of the frame at [data, data+caplen). Decodes it down to its first network layer only. */
export function shardOf(data: usize, caplen: u32, linkType: u32, shards: u32): u32 {
  if (shards <= 1) return 0;
  // A plain frame (flow/plain.ts: most of a capture) decodes to that IP header as its first
  // network layer, so its addresses are read where readPlainFrame found them, without the
  // decoder: every worker looks at every packet, and this was most of that look.
  if (readPlainFrame(data, caplen, linkType)) {
    const al: u32 = plainIPv4 ? 4 : 16;
    return (pairHash(plainSrc, plainSrc + al, al) >>> 8) % shards;
  }
  setStopAtNetwork(true);
  decodePacket(data, caplen, linkType);
  setStopAtNetwork(false);
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
