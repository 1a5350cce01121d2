// Flow keys, TrackingID and L3TrackingID of one sub-packet (spec §3): one
// streaming pierrec XXH64 hasher, summed three times. The byte sequence and
// the swap rule S make both directions of a conversation hash the same.

import * as ids from '../ids';
import { bytesCompare, wr16 } from '../mem';
import { fieldsOf, layerFlags, layerStart, layerType, networkLayer, transportLayer } from '../packet';
import { hashReset, hashSum64, hashWrite, hashWriteBE32, hashWriteBE64 } from '../hash/xxhash64';
import { ETH_DST_OFF, ETH_SRC_OFF } from '../layers/ethernet';
import { IP4_HAS_ADDR, IP4_SRC } from '../layers/ipv4';
import { ICMP4_CODE, ICMP4_ID, ICMP4_TYPE } from '../layers/icmpv4';
import { TCP_DST, TCP_SRC } from '../layers/tcp';
import { PORT_DST, PORT_SRC, PORTS_PARSED } from '../layers/fields';
import { VXLAN_VNI } from '../layers/vxlan';
import { GENEVE_VNI } from '../layers/geneve';
import { IP6_HAS_ADDR, IP6_SRC } from '../layers/ipv6';
import { ICMP6_CODE, ICMP6_ECHO_ID, ICMP6_TYPE } from '../layers/icmpv6';
import { subEnd, subStart } from './subpacket';
import { icmpv4FlowType, icmpv6FlowType, ICMP_ECHO } from './icmptype';
import { layerKeyModeL3 } from './options';

/** Results of computeKeys. */
export let keyL2: u64 = 0;
export let keyL3: u64 = 0;
export let keyFlow: u64 = 0;

/** Layer indices chosen for sub-packet k (spec §2.3), -1 when absent. */
export let selLink: i32 = -1;
export let selNet: i32 = -1;
export let selTransport: i32 = -1;

export function findIn(type: u8, from: u32, to: u32): i32 {
  for (let i = from; i < to; i++) if (layerType(i) == type) return <i32>i;
  return -1;
}

/** Picks the link, network and transport layers that key sub-packet k. */
export function selectLayers(k: u32): void {
  const from = subStart(k), to = subEnd(k);
  selLink = findIn(ids.L_ETHERNET, from, to);
  if (k == 0) {
    // The outermost sub-packet uses gopacket's first network/transport layer
    // of the whole packet, possibly an inner one (spec §2.3 quirk).
    selNet = networkLayer;
    selTransport = transportLayer;
  } else {
    selNet = findIn(ids.L_IPV4, from, to);
    if (selNet < 0) selNet = findIn(ids.L_IPV6, from, to);
    selTransport = findIn(ids.L_UDP, from, to);
    if (selTransport < 0) selTransport = findIn(ids.L_TCP, from, to);
    if (selTransport < 0) selTransport = findIn(ids.L_SCTP, from, to);
  }
}

/** Address bytes of a network layer (4/16, or 0 when gopacket left them nil). */
export function netAddr(i: i32, dst: bool): usize {
  const f = fieldsOf(<u32>i);
  if (layerType(<u32>i) == ids.L_IPV4) return f + IP4_SRC + (dst ? 4 : 0);
  return f + IP6_SRC + (dst ? 16 : 0);
}
export function netAddrLen(i: i32): u32 {
  const t = layerType(<u32>i);
  if (t == ids.L_IPV4) return (layerFlags(<u32>i) & IP4_HAS_ADDR) != 0 ? 4 : 0;
  return (layerFlags(<u32>i) & IP6_HAS_ADDR) != 0 ? 16 : 0;
}
function netEndpointType(i: i32): u64 { return layerType(<u32>i) == ids.L_IPV4 ? 1 : 2; }

// A transport "flow" as gopacket builds it: raw src/dst bytes plus an
// endpoint type. VXLAN/Geneve outer UDP flows use (VNI, destination port).
const tfSrc = memory.data(4, 4);
const tfDst = memory.data(4, 4);
let tfSrcLen: u32 = 0;
let tfDstLen: u32 = 0;
let tfType: u64 = 0;
let tfTunnel: bool = false;

function buildTransportFlow(i: i32, k: u32): void {
  const t = layerType(<u32>i);
  const f = fieldsOf(<u32>i);
  tfTunnel = false;
  if (t == ids.L_UDP) {
    const last = layerType(subEnd(k) - 1);
    if (last == ids.L_VXLAN || last == ids.L_GENEVE) {
      const vni = load<u32>(fieldsOf(subEnd(k) - 1) + (last == ids.L_VXLAN ? VXLAN_VNI : GENEVE_VNI));
      store<u32>(tfSrc, bswap<u32>(vni));
      tfSrcLen = 4;
      wr16(tfDst, load<u16>(f + PORT_DST));
      tfDstLen = 2;
      tfType = 0;
      tfTunnel = true;
      return;
    }
  }
  if (t == ids.L_RUDP) {
    store<u8>(tfSrc, <u8>load<u16>(f + PORT_SRC));
    store<u8>(tfDst, <u8>load<u16>(f + PORT_DST));
    tfSrcLen = tfDstLen = (layerFlags(<u32>i) & PORTS_PARSED) != 0 ? 1 : 0;
    tfType = 7;
    return;
  }
  // TCP, UDP, SCTP and UDPLite keep their ports as u16 at the same offsets;
  // a header too short for them leaves gopacket's endpoints empty.
  wr16(tfSrc, load<u16>(f + (t == ids.L_TCP ? TCP_SRC : PORT_SRC)));
  wr16(tfDst, load<u16>(f + (t == ids.L_TCP ? TCP_DST : PORT_DST)));
  tfSrcLen = tfDstLen = (layerFlags(<u32>i) & PORTS_PARSED) != 0 ? 2 : 0;
  tfType = t == ids.L_TCP ? 4 : t == ids.L_UDP ? 5 : t == ids.L_SCTP ? 6 : 8;
}

/** Hex digits of a u64 without zero padding (Go strconv.FormatUint(x, 16)). */
const hexBuf = memory.data(16);
export function hexInto(v: u64, dst: usize): u32 {
  let n: u32 = 0;
  let x = v;
  do { n++; x >>= 4; } while (x != 0);
  x = v;
  for (let i = <i32>n - 1; i >= 0; i--) {
    const d = <u32>(x & 15);
    store<u8>(dst + <usize>i, <u8>(d < 10 ? 48 + d : 87 + d));
    x >>= 4;
  }
  return n;
}

/**
 * Computes keyL3, keyL2 and keyFlow for sub-packet k (selectLayers first).
 * `parent` is the parent flow's UUID (`hasParent` false for the outermost).
 */
export function computeKeys(k: u32, parent: u64, hasParent: bool): void {
  const from = subStart(k), to = subEnd(k);
  const L = selLink, N = selNet, T = selTransport;
  const useLink = (!layerKeyModeL3 && L >= 0) || N < 0;

  let swap = false;
  let decided = false;
  if (useLink && L >= 0) {
    const s = layerStart(<u32>L);
    const c = bytesCompare(s + ETH_SRC_OFF, 6, s + ETH_DST_OFF, 6);
    if (c != 0 || N < 0) { swap = c > 0; decided = true; }
  }
  if (!decided && N >= 0) {
    const al = netAddrLen(N);
    const c = bytesCompare(netAddr(N, false), al, netAddr(N, true), al);
    if (c != 0) swap = c > 0;
    else if (T >= 0) {
      buildTransportFlow(T, k);
      swap = bytesCompare(tfSrc, tfSrcLen, tfDst, tfDstLen) > 0;
    }
  }

  hashReset(0);
  if (N >= 0) {
    const al = netAddrLen(N);
    const a = netAddr(N, false), b = netAddr(N, true);
    if (swap) { hashWrite(b, al); hashWrite(a, al); } else { hashWrite(a, al); hashWrite(b, al); }
    hashWriteBE64(netEndpointType(N));
  }
  if (T >= 0) {
    buildTransportFlow(T, k);
    if (tfTunnel) {
      hashWrite(tfSrc, 4);
      hashWrite(tfDst, 2);
      hashWriteBE64(0);
    } else {
      if (swap) { hashWrite(tfDst, tfDstLen); hashWrite(tfSrc, tfSrcLen); }
      else { hashWrite(tfSrc, tfSrcLen); hashWrite(tfDst, tfDstLen); }
      hashWriteBE64(tfType);
    }
  }
  // ICMP "application flow": ICMPv4, else ICMPv6 echo, else ICMPv6.
  let icmp = findIn(ids.L_ICMPV4, from, to);
  if (icmp >= 0) {
    const f = fieldsOf(<u32>icmp);
    const v = (icmpv4FlowType(load<u8>(f + ICMP4_TYPE)) << 24) | (<u32>load<u8>(f + ICMP4_CODE) << 16) | <u32>load<u16>(f + ICMP4_ID);
    hashWriteBE32(v);
    hashWriteBE64(0);
  } else if ((icmp = findIn(ids.L_ICMPV6_ECHO, from, to)) >= 0) {
    hashWriteBE32((ICMP_ECHO << 24) | <u32>load<u16>(fieldsOf(<u32>icmp) + ICMP6_ECHO_ID));
    hashWriteBE64(0);
  } else if ((icmp = findIn(ids.L_ICMPV6, from, to)) >= 0) {
    const f = fieldsOf(<u32>icmp);
    hashWriteBE32((icmpv6FlowType(load<u8>(f + ICMP6_TYPE)) << 24) | (<u32>load<u8>(f + ICMP6_CODE) << 16));
    hashWriteBE64(0);
  }
  keyL3 = hashSum64();
  if (useLink && L >= 0) {
    const s = layerStart(<u32>L);
    if (swap) { hashWrite(s + ETH_DST_OFF, 6); hashWrite(s + ETH_SRC_OFF, 6); }
    else { hashWrite(s + ETH_SRC_OFF, 6); hashWrite(s + ETH_DST_OFF, 6); }
    hashWriteBE64(3);
    keyL2 = hashSum64();
  } else {
    keyL2 = keyL3;
  }
  if (hasParent) hashWrite(hexBuf, hexInto(parent, hexBuf));
  keyFlow = hashSum64();
}
