// Flow keys, TrackingID and L3TrackingID of one sub-packet (spec §3): one
// pierrec XXH64 hasher, summed three times along the key bytes (hashSums).
// The byte sequence and the swap rule S make both directions of a
// conversation hash the same.

import * as ids from '../ids';
import { copySmall } from '../mem';
import { fieldsOf, layerFlags, layerStart, layerType, networkLayer, transportLayer } from '../packet';
import { firstSum, hashSums, secondSum } from '../hash/xxhash64';
import { ETH_DST_OFF, ETH_SRC_OFF, ethHasMACs } from '../layers/ethernet';
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

/** Equality of two addresses of `len` bytes (0, 4 or 16), in line. */
@inline export function addrEqual(a: usize, b: usize, len: u32): bool {
  if (len == 4) return load<u32>(a) == load<u32>(b);
  return len == 0 || (load<u64>(a) == load<u64>(b) && load<u64>(a, 8) == load<u64>(b, 8));
}

// The transport "flow" as gopacket builds it, held as integers rather than
// bytes: src/dst endpoints of tfLen bytes each (their big-endian values) and
// an endpoint type. VXLAN/Geneve outer UDP flows are (VNI, destination port)
// instead (tfTunnel), 4 and 2 bytes.
let tfSrc: u32 = 0;
let tfDst: u32 = 0;
let tfLen: u32 = 0;
let tfType: u64 = 0;
let tfTunnel: bool = false;

@inline function buildTransportFlow(i: i32, k: u32): void {
  const t = layerType(<u32>i);
  const f = fieldsOf(<u32>i);
  tfTunnel = false;
  if (t == ids.L_UDP) {
    const last = layerType(subEnd(k) - 1);
    if (last == ids.L_VXLAN || last == ids.L_GENEVE) {
      tfSrc = load<u32>(fieldsOf(subEnd(k) - 1) + (last == ids.L_VXLAN ? VXLAN_VNI : GENEVE_VNI));
      tfDst = load<u16>(f + PORT_DST);
      tfTunnel = true;
      return;
    }
  }
  // TCP, UDP, SCTP and UDPLite keep their ports as u16 at the same offsets,
  // RUDP too but its ports are one byte on the wire; a header too short for
  // them leaves gopacket's endpoints empty.
  const parsed = (layerFlags(<u32>i) & PORTS_PARSED) != 0;
  tfSrc = load<u16>(f + (t == ids.L_TCP ? TCP_SRC : PORT_SRC));
  tfDst = load<u16>(f + (t == ids.L_TCP ? TCP_DST : PORT_DST));
  if (t == ids.L_RUDP) {
    tfSrc &= 0xff;
    tfDst &= 0xff;
    tfLen = parsed ? 1 : 0;
    tfType = 7;
    return;
  }
  tfLen = parsed ? 2 : 0;
  tfType = t == ids.L_TCP ? 4 : t == ids.L_UDP ? 5 : t == ids.L_SCTP ? 6 : 8;
}

/**
 * bytesCompare(src, dst) > 0 of the transport flow: same-length endpoints
 * compare as integers; a tunnel's 4-byte VNI against its 2-byte port compares
 * the VNI's first two bytes, and a tie goes to the longer VNI.
 */
@inline function transportSrcAfterDst(): bool {
  return tfTunnel ? (tfSrc >>> 16) >= tfDst : tfLen != 0 && tfSrc > tfDst;
}

/** The 6 bytes of a MAC address as a big-endian integer: integer order is bytes.Compare order. */
@inline function mac48(p: usize): u64 {
  return (<u64>bswap<u32>(load<u32>(p)) << 16) | <u64>bswap<u16>(load<u16>(p, 4));
}

/** bytesCompare of two addresses of `n` bytes (0, 4 or 16), as big-endian words. */
@inline function compareAddr(a: usize, b: usize, n: u32): i32 {
  if (n == 4) {
    const x = bswap<u32>(load<u32>(a)), y = bswap<u32>(load<u32>(b));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (n == 16) {
    let x = bswap<u64>(load<u64>(a)), y = bswap<u64>(load<u64>(b));
    if (x == y) { x = bswap<u64>(load<u64>(a, 8)); y = bswap<u64>(load<u64>(b, 8)); }
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return 0;
}

/** The 8 nibbles of x as lowercase hex digits, most significant first, in memory order. */
@inline function hex8(x: u32): u64 {
  // Spread the nibbles to one per byte, most significant in the lowest byte.
  let t = <u64>(x >>> 16) | (<u64>(x & 0xffff) << 32);
  t = ((t >> 8) & 0x000000ff000000ff) | ((t & 0x000000ff000000ff) << 16);
  t = ((t >> 4) & 0x000f000f000f000f) | ((t & 0x000f000f000f000f) << 8);
  // '0' + d, plus 39 more ('a' - '0' - 10) where d >= 10.
  const letters = ((t + 0x0606060606060606) >> 4) & 0x0101010101010101;
  return t + 0x3030303030303030 + letters * 39;
}

// The bytes Skydive writes to its hasher for one sub-packet, gathered here and
// hashed at once (hashSums): at most 66 before the L3 sum (two IPv6
// addresses, the transport flow, the ICMP flow and their endpoint types), 20
// before the L2 sum, 16 of parent UUID before the flow key sum. Fields are
// stored whole, a word at a time, and may write zeros past the end.
const seg = memory.data(128, 8);
const hexBuf = memory.data(16, 8);

/** BE64(v) of an endpoint type (v < 256) as stored in memory. */
@inline function endpointType(v: u64): u64 { return v << 56; }

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
  const link = useLink && L >= 0;
  // A short Ethernet (ethernet.ts ethHasMACs) has gopacket's nil MACs: they
  // compare equal and hash as nothing.
  const macs = link && ethHasMACs(<u32>L);
  let al: u32 = 0, a: usize = 0;
  if (N >= 0) { al = netAddrLen(N); a = netAddr(N, false); }
  if (T >= 0) buildTransportFlow(T, k);

  let swap = false;
  let decided = false;
  if (link) {
    let x: u64 = 0, y: u64 = 0;
    if (macs) {
      const s = layerStart(<u32>L);
      x = mac48(s + ETH_SRC_OFF);
      y = mac48(s + ETH_DST_OFF);
    }
    if (x != y || N < 0) { swap = x > y; decided = true; }
  }
  if (!decided && N >= 0) {
    const c = compareAddr(a, a + al, al);
    if (c != 0) swap = c > 0;
    else if (T >= 0) swap = transportSrcAfterDst();
  }

  let n: u32 = 0;
  if (N >= 0) {
    if (al == 4) {
      const x = load<u32>(a), y = load<u32>(a, 4);
      store<u32>(seg, swap ? y : x);
      store<u32>(seg, swap ? x : y, 4);
      n = 8;
    } else if (al == 16) {
      const first = swap ? a + 16 : a, second = swap ? a : a + 16;
      store<u64>(seg, load<u64>(first));
      store<u64>(seg, load<u64>(first, 8), 8);
      store<u64>(seg, load<u64>(second), 16);
      store<u64>(seg, load<u64>(second, 8), 24);
      n = 32;
    }
    store<u64>(seg + n, endpointType(layerType(<u32>N) == ids.L_IPV4 ? 1 : 2));
    n += 8;
  }
  if (T >= 0) {
    if (tfTunnel) {
      store<u32>(seg + n, bswap<u32>(tfSrc));
      store<u16>(seg + n, bswap<u16>(<u16>tfDst), 4);
      store<u64>(seg + n, 0, 6);
      n += 14;
    } else {
      const first = swap ? tfDst : tfSrc, second = swap ? tfSrc : tfDst;
      if (tfLen == 2) {
        store<u32>(seg + n, <u32>bswap<u16>(<u16>first) | (<u32>bswap<u16>(<u16>second) << 16));
      } else {
        store<u16>(seg + n, <u16>(first | (second << 8)));
      }
      n += tfLen << 1;
      store<u64>(seg + n, endpointType(tfType));
      n += 8;
    }
  }
  // ICMP "application flow": ICMPv4, else ICMPv6 echo, else ICMPv6.
  let icmp: u32 = 0;
  let hasICMP = true;
  if (subICMPv4 >= 0) {
    const f = fieldsOf(<u32>subICMPv4);
    icmp = (icmpv4FlowType(load<u8>(f + ICMP4_TYPE)) << 24) | (<u32>load<u8>(f + ICMP4_CODE) << 16) | <u32>load<u16>(f + ICMP4_ID);
  } else if (subICMPv6Echo >= 0) {
    icmp = (ICMP_ECHO << 24) | <u32>load<u16>(fieldsOf(<u32>subICMPv6Echo) + ICMP6_ECHO_ID);
  } else if (subICMPv6 >= 0) {
    const f = fieldsOf(<u32>subICMPv6);
    icmp = (icmpv6FlowType(load<u8>(f + ICMP6_TYPE)) << 24) | (<u32>load<u8>(f + ICMP6_CODE) << 16);
  } else {
    hasICMP = false;
  }
  if (hasICMP) {
    store<u32>(seg + n, bswap<u32>(icmp));
    store<u64>(seg + n, 0, 4);
    n += 12;
  }
  const l3End = n;
  if (macs) {
    const s = layerStart(<u32>L);
    const first = s + (swap ? ETH_DST_OFF : ETH_SRC_OFF), second = s + (swap ? ETH_SRC_OFF : ETH_DST_OFF);
    store<u32>(seg + n, load<u32>(first));
    store<u16>(seg + n, load<u16>(first, 4), 4);
    store<u32>(seg + n, load<u32>(second), 6);
    store<u16>(seg + n, load<u16>(second, 4), 10);
    store<u64>(seg + n, endpointType(3), 12);
    n += 20;
  } else if (link) {
    store<u64>(seg + n, endpointType(3));
    n += 8;
  }
  const l2End = n;
  if (hasParent) {
    // Go's FormatUint(parent, 16): the 16 digits less the leading zeros (one digit at least).
    store<u64>(hexBuf, hex8(<u32>(parent >> 32)));
    store<u64>(hexBuf, hex8(<u32>parent), 8);
    const digits = parent == 0 ? 1 : 16 - (<u32>clz<u64>(parent) >> 2);
    copySmall(seg + n, hexBuf + 16 - digits, digits);
    n += digits;
  }
  keyFlow = hashSums(seg, l3End, link, l2End, n, all);
  if (all) {
    keyL3 = firstSum;
    keyL2 = link ? secondSum : firstSum;
  }
}
