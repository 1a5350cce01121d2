// Flow keys, TrackingID and L3TrackingID of one sub-packet (spec §3): one
// pierrec XXH64 hasher, summed three times along the key bytes (hashSums).
// The byte sequence and the swap rule S make both directions of a
// conversation hash the same.

import * as ids from '../ids';
import { bytesCompare, copySmall, wr16 } from '../mem';
import { fieldsOf, layerFlags, layerStart, layerType, networkLayer, transportLayer } from '../packet';
import { firstSum, hashSums, secondSum } from '../hash/xxhash64';
import { ETH_DST_OFF, ETH_SRC_OFF } from '../layers/ethernet';
import { IP4_HAS_ADDR, IP4_SRC } from '../layers/ipv4';
import { ICMP4_CODE, ICMP4_ID, ICMP4_TYPE } from '../layers/icmpv4';
import { TCP_DST, TCP_SRC } from '../layers/tcp';
import { PORT_DST, PORT_SRC, PORTS_PARSED } from '../layers/fields';
import { VXLAN_VNI } from '../layers/vxlan';
import { GENEVE_VNI } from '../layers/geneve';
import { IP6_HAS_ADDR, IP6_SRC } from '../layers/ipv6';
import { ICMP6_CODE, ICMP6_ECHO_ID, ICMP6_TYPE } from '../layers/icmpv6';
import {
  scanSubPacket, subEnd, subEth, subICMPv4, subICMPv6, subICMPv6Echo, subIPv4, subIPv6, subSCTP, subTCP, subUDP,
} from './subpacket';
import { icmpv4FlowType, icmpv6FlowType, ICMP_ECHO } from './icmptype';
import { layerKeyModeL3 } from './options';

/** Results of computeKeys (keyL3 and keyL2 only when asked for). */
export let keyL2: u64 = 0;
export let keyL3: u64 = 0;
export let keyFlow: u64 = 0;

/** Layer indices chosen for sub-packet k (spec §2.3), -1 when absent. */
export let selLink: i32 = -1;
export let selNet: i32 = -1;
export let selTransport: i32 = -1;

/**
 * Picks the link, network and transport layers that key sub-packet k, after
 * scanning it (scanSubPacket: computeKeys, initFlow and updateFlow of the
 * same sub-packet read that scan).
 */
export function selectLayers(k: u32): void {
  scanSubPacket(k);
  selLink = subEth;
  if (k == 0) {
    // The outermost sub-packet uses gopacket's first network/transport layer
    // of the whole packet, possibly an inner one (spec §2.3 quirk).
    selNet = networkLayer;
    selTransport = transportLayer;
  } else {
    selNet = subIPv4 >= 0 ? subIPv4 : subIPv6;
    selTransport = subUDP >= 0 ? subUDP : subTCP >= 0 ? subTCP : subSCTP;
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

@inline function buildTransportFlow(i: i32, k: u32): void {
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

/** The 6 bytes of a MAC address as a big-endian integer: integer order is bytes.Compare order. */
@inline function mac48(p: usize): u64 {
  return (<u64>bswap<u32>(load<u32>(p)) << 16) | <u64>bswap<u16>(load<u16>(p, 4));
}

/** bytesCompare of two addresses of `n` bytes (0, 4 or 16), IPv4 as one big-endian word. */
@inline function compareAddr(a: usize, b: usize, n: u32): i32 {
  if (n == 4) {
    const x = bswap<u32>(load<u32>(a)), y = bswap<u32>(load<u32>(b));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return bytesCompare(a, n, b, n);
}

/** Hex digits of a u64 without zero padding (Go strconv.FormatUint(x, 16)). */
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

// The bytes Skydive writes to its hasher for one sub-packet, gathered here and
// hashed at once (hashSums): at most 66 before the L3 sum (two IPv6
// addresses, the transport flow, the ICMP flow and their endpoint types), 20
// before the L2 sum, 16 of parent UUID before the flow key sum.
// Each put returns the new length.
const seg = memory.data(128, 8);
@inline function put(at: u32, p: usize, n: u32): u32 { copySmall(seg + at, p, n); return at + n; }
@inline function putBE64(at: u32, v: u64): u32 { store<u64>(seg + at, bswap<u64>(v)); return at + 8; }
@inline function putBE32(at: u32, v: u32): u32 { store<u32>(seg + at, bswap<u32>(v)); return at + 4; }

/**
 * Computes keyFlow for sub-packet k (selectLayers first), and keyL3 and keyL2
 * too when `all` (only a new flow needs them). `parent` is the parent flow's
 * UUID (`hasParent` false for the outermost). The keys are successive sums
 * of one hasher fed the L3 bytes, then the L2 bytes (L2 key mode), then the
 * parent UUID in hex, and a sum changes the hasher (pierrec's quirk).
 */
export function computeKeys(k: u32, parent: u64, hasParent: bool, all: bool): void {
  const L = selLink, N = selNet, T = selTransport;
  const useLink = (!layerKeyModeL3 && L >= 0) || N < 0;

  let swap = false;
  let decided = false;
  if (useLink && L >= 0) {
    const s = layerStart(<u32>L);
    const a = mac48(s + ETH_SRC_OFF), b = mac48(s + ETH_DST_OFF);
    if (a != b || N < 0) { swap = a > b; decided = true; }
  }
  if (!decided && N >= 0) {
    const al = netAddrLen(N);
    const c = compareAddr(netAddr(N, false), netAddr(N, true), al);
    if (c != 0) swap = c > 0;
    else if (T >= 0) {
      buildTransportFlow(T, k);
      swap = bytesCompare(tfSrc, tfSrcLen, tfDst, tfDstLen) > 0;
    }
  }

  let n: u32 = 0;
  if (N >= 0) {
    const al = netAddrLen(N);
    const a = netAddr(N, false), b = netAddr(N, true);
    if (swap) { n = put(n, b, al); n = put(n, a, al); } else { n = put(n, a, al); n = put(n, b, al); }
    n = putBE64(n, netEndpointType(N));
  }
  if (T >= 0) {
    buildTransportFlow(T, k);
    if (tfTunnel) {
      n = put(n, tfSrc, 4);
      n = put(n, tfDst, 2);
      n = putBE64(n, 0);
    } else {
      if (swap) { n = put(n, tfDst, tfDstLen); n = put(n, tfSrc, tfSrcLen); }
      else { n = put(n, tfSrc, tfSrcLen); n = put(n, tfDst, tfDstLen); }
      n = putBE64(n, tfType);
    }
  }
  // ICMP "application flow": ICMPv4, else ICMPv6 echo, else ICMPv6.
  if (subICMPv4 >= 0) {
    const f = fieldsOf(<u32>subICMPv4);
    const v = (icmpv4FlowType(load<u8>(f + ICMP4_TYPE)) << 24) | (<u32>load<u8>(f + ICMP4_CODE) << 16) | <u32>load<u16>(f + ICMP4_ID);
    n = putBE32(n, v);
    n = putBE64(n, 0);
  } else if (subICMPv6Echo >= 0) {
    n = putBE32(n, (ICMP_ECHO << 24) | <u32>load<u16>(fieldsOf(<u32>subICMPv6Echo) + ICMP6_ECHO_ID));
    n = putBE64(n, 0);
  } else if (subICMPv6 >= 0) {
    const f = fieldsOf(<u32>subICMPv6);
    n = putBE32(n, (icmpv6FlowType(load<u8>(f + ICMP6_TYPE)) << 24) | (<u32>load<u8>(f + ICMP6_CODE) << 16));
    n = putBE64(n, 0);
  }
  const l3End = n;
  const link = useLink && L >= 0;
  if (link) {
    const s = layerStart(<u32>L);
    if (swap) { n = put(n, s + ETH_DST_OFF, 6); n = put(n, s + ETH_SRC_OFF, 6); }
    else { n = put(n, s + ETH_SRC_OFF, 6); n = put(n, s + ETH_DST_OFF, 6); }
    n = putBE64(n, 3);
  }
  const l2End = n;
  if (hasParent) n += hexInto(parent, seg + n);
  keyFlow = hashSums(seg, l3End, link, l2End, n, all);
  if (all) {
    keyL3 = firstSum;
    keyL2 = link ? secondSum : firstSum;
  }
}
