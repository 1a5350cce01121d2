// Creating and updating a flow from one sub-packet (spec §4): fields frozen
// from the first packet, counters with Skydive's length and direction rules,
// RTT, TCP flag times, and the extra layers (DNS, DHCPv4, VRRP).

import * as ids from '../ids';
import { copySmall } from '../mem';
import { fieldsOf, layerContents, layerStart, layerType } from '../packet';
import { blobAlloc, blobFree } from '../alloc';
import { ETH_DST_OFF, ETH_SRC_OFF, ethHasMACs } from '../layers/ethernet';
import { DOT1Q_VLAN } from '../layers/dot1q';
import { IP4_LENGTH, IP4_TTL } from '../layers/ipv4';
import { ICMP4_CODE, ICMP4_ID, ICMP4_TYPE } from '../layers/icmpv4';
import { TCP_DST, TCP_FIN, TCP_FLAGS, TCP_RST, TCP_SRC, TCP_SYN, TCP_ACKF } from '../layers/tcp';
import { UDP_DST, UDP_SRC } from '../layers/udp';
import { PORT_DST, PORT_SRC } from '../layers/fields';
import { VXLAN_VNI } from '../layers/vxlan';
import { GENEVE_VNI } from '../layers/geneve';
import { GRE_KEY } from '../layers/gre';
import { IP6_HOP_LIMIT, IP6_LENGTH } from '../layers/ipv6';
import { ICMP6_CODE, ICMP6_ECHO_ID, ICMP6_TYPE } from '../layers/icmpv6';
import { addrEqual, netAddr, netAddrLen } from './keys';
import {
  DHCP4_FILE_LEN, DHCP4_FILE_OFF, DHCP4_FLAGS, DHCP4_HARDWARE_LEN, DHCP4_HARDWARE_OPTS, DHCP4_SECS,
  DHCP4_SERVER_NAME_LEN, DHCP4_SERVER_NAME_OFF,
} from '../layers/dhcpv4';
import { VRRP_ADVER_INT, VRRP_PRIORITY, VRRP_VERSION, VRRP_VRID } from '../layers/vrrp';
import { icmpv4FlowType, icmpv6FlowType, ICMP_ECHO } from './icmptype';
import * as o from './options';
import {
  ethernetLength, subDHCPv4, subDNS, subEnd, subEth, subICMPv4, subICMPv6, subICMPv6Echo, subIPv4, subIPv6, subLength,
  subSCTP, subStart, subTCP, subUDP, subVRRP,
} from './subpacket';
import {
  FL_AB_BYTES, FL_AB_PACKETS, FL_APP, FL_BA_BYTES, FL_BA_PACKETS, FL_BITS, FL_EXTRA_KIND, FL_EXTRA_LEN,
  FL_EXTRA_PTR, FL_EXTRA_TS, FL_FINISH, FL_ICMP_CODE, FL_ICMP_ID, FL_ICMP_TYPE, FL_IP_FRAG_ERRORS,
  FL_IP_FRAGMENTS, FL_LAST, FL_LINK_ID, FL_MAC_A, FL_MAC_B, FL_NET_A, FL_NET_A_NIL, FL_NET_B, FL_NET_ID,
  FL_NET_PROTO, FL_PARENT, FL_PATH, FL_PATH_LEN, FL_PORT_A, FL_PORT_B, FL_RTT, FL_RTT_FIRST, FL_START,
  FL_SYN_TTL_AB, FL_SYN_TTL_BA, FL_TCP, FL_TRANSPORT, FLB_IP_METRIC, FLB_LEADING_SLASH, FLB_LINK, FLB_LINK_NIL, FLB_PARENT,
  FLB_TCP_METRIC, PATH_MAX, TRANSPORT_SCTP, TRANSPORT_TCP, TRANSPORT_UDP,
} from './layout';

export const FINISH_NOT_FINISHED: u8 = 0;
export const FINISH_TIMEOUT: u8 = 1;
export const FINISH_TCP_FIN: u8 = 2;
export const FINISH_TCP_RST: u8 = 3;

const EXTRA_DHCPV4: u8 = 1;
const EXTRA_DNS: u8 = 2;
const EXTRA_VRRP: u8 = 3;

@inline function bits(f: usize): u32 { return load<u16>(f + FL_BITS); }

/** MAC equality, in line (bytesEqual is a call and a loop, on every packet). */
@inline export function macEqual(a: usize, b: usize): bool {
  return load<u32>(a) == load<u32>(b) && load<u16>(a, 4) == load<u16>(b, 4);
}
@inline function setBit(f: usize, b: u32): void { store<u16>(f + FL_BITS, <u16>(load<u16>(f + FL_BITS) | b)); }

// The flow functions below read the layers of the sub-packet being processed
// from its scan (subpacket.ts scanSubPacket, run by selectLayers).

/** First IPv4 of the sub-packet, else its first IPv6 (Skydive's Network layer). */
@inline function ipLayer(): i32 { return subIPv4 >= 0 ? subIPv4 : subIPv6; }

/** First TCP, else UDP, else SCTP of the sub-packet (Skydive's Transport layer). */
@inline function transportOf(): i32 { return subTCP >= 0 ? subTCP : subUDP >= 0 ? subUDP : subSCTP; }

function srcPort(i: i32): u32 {
  const t = layerType(<u32>i), f = fieldsOf(<u32>i);
  return t == ids.L_TCP ? load<u16>(f + TCP_SRC) : t == ids.L_UDP ? load<u16>(f + UDP_SRC) : load<u16>(f + PORT_SRC);
}
function dstPort(i: i32): u32 {
  const t = layerType(<u32>i), f = fieldsOf(<u32>i);
  return t == ids.L_TCP ? load<u16>(f + TCP_DST) : t == ids.L_UDP ? load<u16>(f + UDP_DST) : load<u16>(f + PORT_DST);
}

/** Does the network layer's source equal the flow's Network.A (Skydive compares IP text)? */
function srcIsA(f: usize, ip: i32): bool {
  const proto: u8 = layerType(<u32>ip) == ids.L_IPV4 ? 4 : 6;
  if (load<u8>(f + FL_NET_PROTO) != proto) return false;
  const len = netAddrLen(ip);
  if (len == 0) return load<u8>(f + FL_NET_A_NIL) != 0;
  if (load<u8>(f + FL_NET_A_NIL) != 0) return false;
  return addrEqual(f + FL_NET_A, netAddr(ip, false), len);
}

function vlanLinkID(from: u32, to: u32): i64 {
  let id: i64 = 0;
  for (let i = <i32>to - 1; i >= <i32>from; i--) {
    if (layerType(<u32>i) == ids.L_DOT1Q) id = (id << 12) | <i64>load<u16>(fieldsOf(<u32>i) + DOT1Q_VLAN);
  }
  return id;
}

function tunnelNetworkID(from: u32, to: u32): i64 {
  for (let i = <i32>to - 1; i >= <i32>from; i--) {
    const t = layerType(<u32>i);
    if (t == ids.L_VXLAN) return <i64>load<u32>(fieldsOf(<u32>i) + VXLAN_VNI);
    if (t == ids.L_GRE) return <i64>load<u32>(fieldsOf(<u32>i) + GRE_KEY);
    if (t == ids.L_GENEVE) return <i64>load<u32>(fieldsOf(<u32>i) + GENEVE_VNI);
  }
  return 0;
}

/** LayersPath as layer ids: Linux SLL skipped (leading "/" quirk), stop at Payload/DecodeFailure. */
function setLayersPath(f: usize, from: u32, to: u32): void {
  let n: u32 = 0;
  for (let i = from; i < to; i++) {
    const t = layerType(i);
    if (t == ids.L_LINUX_SLL || t == ids.L_LINUX_SLL2) continue;
    if (t == ids.L_PAYLOAD || t == ids.L_DECODE_FAILURE) break;
    if (n == 0 && i > from) setBit(f, FLB_LEADING_SLASH);
    if (n < PATH_MAX) store<u8>(f + FL_PATH + n++, t);
  }
  store<u8>(f + FL_PATH_LEN, <u8>n);
}

/**
 * Fills a new flow from sub-packet k (Skydive initFromPacket), after
 * selectLayers(k), before its UUIDs are set and before the first update. `ipMetric` says whether the
 * defragmenter metric belongs to this sub-packet.
 */
export function initFlow(f: usize, k: u32, tsMs: i64, parent: u64, hasParent: bool,
                         ipMetric: bool, fragments: i64, fragErrors: i64): void {
  const from = subStart(k), to = subEnd(k);
  store<i64>(f + FL_START, tsMs);
  store<i64>(f + FL_LAST, tsMs);
  if (hasParent) { store<u64>(f + FL_PARENT, parent); setBit(f, FLB_PARENT); }

  const eth = subEth;
  if (eth >= 0) {
    if (ethHasMACs(<u32>eth)) {
      const s = layerStart(<u32>eth);
      copySmall(f + FL_MAC_A, s + ETH_SRC_OFF, 6);
      copySmall(f + FL_MAC_B, s + ETH_DST_OFF, 6);
    } else {
      // The short Ethernet Skydive keeps after ERSPAN-II or MPLS: nil MACs,
      // so a Link with empty A and B (FL_MAC_A/B stay zero).
      setBit(f, FLB_LINK_NIL);
    }
    store<i64>(f + FL_LINK_ID, vlanLinkID(from, to));
    setBit(f, FLB_LINK);
  }
  setLayersPath(f, from, to);

  const ip = ipLayer();
  if (ip < 0) return; // no network layer, then no transport either
  const v4 = layerType(<u32>ip) == ids.L_IPV4;
  store<u8>(f + FL_NET_PROTO, v4 ? 4 : 6);
  const al = netAddrLen(ip);
  if (al == 0) store<u8>(f + FL_NET_A_NIL, 1);
  else {
    copySmall(f + FL_NET_A, netAddr(ip, false), al);
    copySmall(f + FL_NET_B, netAddr(ip, true), al);
  }
  store<i64>(f + FL_NET_ID, tunnelNetworkID(from, to));
  if (v4 && ipMetric) {
    setBit(f, FLB_IP_METRIC);
    store<i64>(f + FL_IP_FRAGMENTS, fragments);
    store<i64>(f + FL_IP_FRAG_ERRORS, fragErrors);
  }
  // ICMP goes with the network family of the flow.
  if (v4) {
    const ic = subICMPv4;
    if (ic >= 0) {
      const fi = fieldsOf(<u32>ic);
      store<u8>(f + FL_ICMP_TYPE, <u8>(icmpv4FlowType(load<u8>(fi + ICMP4_TYPE)) + 1));
      store<u32>(f + FL_ICMP_CODE, load<u8>(fi + ICMP4_CODE));
      store<u32>(f + FL_ICMP_ID, load<u16>(fi + ICMP4_ID));
    }
  } else {
    const ic = subICMPv6;
    if (ic >= 0) {
      const fi = fieldsOf(<u32>ic);
      const ft = icmpv6FlowType(load<u8>(fi + ICMP6_TYPE));
      store<u8>(f + FL_ICMP_TYPE, <u8>(ft + 1));
      store<u32>(f + FL_ICMP_CODE, load<u8>(fi + ICMP6_CODE));
      const echo = subICMPv6Echo;
      if (ft == ICMP_ECHO && echo >= 0) store<u32>(f + FL_ICMP_ID, load<u16>(fieldsOf(<u32>echo) + ICMP6_ECHO_ID));
    }
  }
  const t = transportOf();
  if (t >= 0) {
    const tt = layerType(<u32>t);
    const sp = srcPort(t), dp = dstPort(t);
    store<u16>(f + FL_PORT_A, <u16>sp);
    store<u16>(f + FL_PORT_B, <u16>dp);
    if (tt == ids.L_TCP) {
      store<u8>(f + FL_TRANSPORT, TRANSPORT_TCP);
      let app = o.tcpApp(sp);
      if (app == 0) app = o.tcpApp(dp);
      store<u8>(f + FL_APP, <u8>app);
      if (o.extraTCPMetric) setBit(f, FLB_TCP_METRIC);
      const fl = <u32>load<u16>(fieldsOf(<u32>t) + TCP_FLAGS);
      if (fl & TCP_FIN) store<u8>(f + FL_FINISH, FINISH_TCP_FIN);
      else if (fl & TCP_RST) store<u8>(f + FL_FINISH, FINISH_TCP_RST);
    } else if (tt == ids.L_UDP) {
      store<u8>(f + FL_TRANSPORT, TRANSPORT_UDP);
      let app = o.udpApp(sp);
      if (app == 0) app = o.udpApp(dp);
      store<u8>(f + FL_APP, <u8>app);
    } else {
      store<u8>(f + FL_TRANSPORT, TRANSPORT_SCTP);
    }
  }
}

/**
 * Extra layers (DHCPv4, DNS, VRRP in that order, first match). DNS keeps the
 * raw message (parsed again by dnsExtract when the flow is emitted: messages
 * are replaced on every packet and emitted rarely); DHCPv4 and VRRP keep the
 * few fields Skydive reports, in the blob layouts below.
 */
export function initExtraLayer(f: usize, k: u32, tsNs: i64): void {
  if (o.extraLayers == 0) return;
  if ((o.extraLayers & o.EXTRA_DHCPV4) != 0) {
    const i = subDHCPv4;
    if (i >= 0) { keepDHCPv4(f, i, tsNs); return; }
  }
  if ((o.extraLayers & o.EXTRA_DNS) != 0) {
    const i = subDNS;
    if (i >= 0) { keepBlob(f, EXTRA_DNS, layerStart(<u32>i), layerContents(<u32>i), tsNs); return; }
  }
  if ((o.extraLayers & o.EXTRA_VRRP) != 0) {
    const i = subVRRP;
    if (i >= 0) keepVRRP(f, i, tsNs);
  }
}

/** Copies `len` bytes at `src` as the flow's extra-layer blob (replacing any previous one). */
function keepBlob(f: usize, kind: u8, src: usize, len: u32, tsNs: i64): usize {
  const old = <usize>load<u32>(f + FL_EXTRA_PTR);
  if (old != 0) blobFree(old, load<u32>(f + FL_EXTRA_LEN));
  const p = blobAlloc(len);
  store<u32>(f + FL_EXTRA_PTR, <u32>p);
  store<u32>(f + FL_EXTRA_LEN, p == 0 ? 0 : len);
  if (p != 0 && src != 0) memory.copy(p, src, len);
  store<u8>(f + FL_EXTRA_KIND, kind);
  store<i64>(f + FL_EXTRA_TS, tsNs);
  return p;
}

// DHCPv4 blob: u16 Flags, u16 Secs, u8 HardwareLen, u8 HardwareOpts, 2 pad,
// ServerName[64], File[128] (raw bytes, as gopacket keeps them).
export const DHCP4_BLOB_SIZE: u32 = 200;
function keepDHCPv4(f: usize, i: i32, tsNs: i64): void {
  const p = keepBlob(f, EXTRA_DHCPV4, 0, DHCP4_BLOB_SIZE, tsNs);
  if (p == 0) return;
  const fi = fieldsOf(<u32>i), s = layerStart(<u32>i);
  store<u16>(p, load<u16>(fi + DHCP4_FLAGS));
  store<u16>(p, load<u16>(fi + DHCP4_SECS), 2);
  store<u8>(p, load<u8>(fi + DHCP4_HARDWARE_LEN), 4);
  store<u8>(p, load<u8>(fi + DHCP4_HARDWARE_OPTS), 5);
  store<u16>(p, 0, 6);
  memory.copy(p + 8, s + DHCP4_SERVER_NAME_OFF, DHCP4_SERVER_NAME_LEN);
  memory.copy(p + 8 + DHCP4_SERVER_NAME_LEN, s + DHCP4_FILE_OFF, DHCP4_FILE_LEN);
}

// VRRP blob: u8 Version, u8 VirtualRtrID, u8 Priority, u8 AdverInt.
function keepVRRP(f: usize, i: i32, tsNs: i64): void {
  const p = keepBlob(f, EXTRA_VRRP, 0, 4, tsNs);
  if (p == 0) return;
  const fi = fieldsOf(<u32>i);
  store<u8>(p, load<u8>(fi + VRRP_VERSION));
  store<u8>(p, load<u8>(fi + VRRP_VRID), 1);
  store<u8>(p, load<u8>(fi + VRRP_PRIORITY), 2);
  store<u8>(p, load<u8>(fi + VRRP_ADVER_INT), 3);
}

/** Releases what a flow owns outside its record (before its slot is reused). */
export function releaseFlowExtras(f: usize): void {
  const p = <usize>load<u32>(f + FL_EXTRA_PTR);
  if (p != 0) blobFree(p, load<u32>(f + FL_EXTRA_LEN));
  store<u32>(f + FL_EXTRA_PTR, 0);
  store<u32>(f + FL_EXTRA_LEN, 0);
}

/** Skydive's isABPacket for the network level (spec §4.3), including the same-IP inversion. */
function isABByNetwork(f: usize, ip: i32): bool {
  if (load<u8>(f + FL_NET_PROTO) == 0) return false;
  const ab = srcIsA(f, ip);
  const al = netAddrLen(ip);
  if (addrEqual(netAddr(ip, false), netAddr(ip, true), al)) {
    const tproto = load<u8>(f + FL_TRANSPORT);
    if (tproto != 0) {
      const t = transportOf();
      if (t >= 0) return <u32>load<u16>(f + FL_PORT_A) > srcPort(t);
    } else if (load<u8>(f + FL_ICMP_TYPE) != 0) {
      const v4 = layerType(<u32>ip) == ids.L_IPV4;
      const ic = v4 ? subICMPv4 : subICMPv6;
      if (ic >= 0) {
        const ty = load<u8>(fieldsOf(<u32>ic));
        const ft = v4 ? icmpv4FlowType(ty) : icmpv6FlowType(ty);
        return <u32>load<u8>(f + FL_ICMP_TYPE) - 1 > ft;
      }
    }
  }
  return ab;
}

function ipLength(ip: i32): i64 {
  const fi = fieldsOf(<u32>ip);
  return layerType(<u32>ip) == ids.L_IPV4 ? <i64>load<u16>(fi + IP4_LENGTH) : <i64>load<u16>(fi + IP6_LENGTH);
}

@inline function countDir(f: usize, ab: bool, length: i64): void {
  const p = ab ? FL_AB_PACKETS : FL_BA_PACKETS;
  const b = ab ? FL_AB_BYTES : FL_BA_BYTES;
  store<i64>(f + p, load<i64>(f + p) + 1);
  store<i64>(f + b, load<i64>(f + b) + length);
}

/**
 * updateFlow for a plain frame (plain.ts) that is not a TCP SYN, FIN or RST,
 * of a flow with a Link, in L2 key mode, MACs differing (`srcMac` is the
 * frame's source): only Last and the counters change, as no RTT, flag time
 * or DNS rule applies. `length` is the sub-packet length, already resolved.
 */
@inline export function updatePlainFlow(f: usize, tsMs: i64, length: i64, srcMac: usize): void {
  store<i64>(f + FL_LAST, tsMs);
  countDir(f, macEqual(f + FL_MAC_A, srcMac), length);
}

/** Skydive's Update for one packet of sub-packet k (spec §4.2), after selectLayers(k). */
@inline export function updateFlow(f: usize, k: u32, tsNs: i64, tsMs: i64): void {
  store<i64>(f + FL_LAST, tsMs);
  const eth = subEth;
  const ip = ipLayer();

  // Counters (§4.3)
  if (!o.layerKeyModeL3) {
    if (eth >= 0 && (bits(f) & FLB_LINK) != 0) {
      let length = subLength(k);
      if (length == 0) length = ethernetLength(<u32>eth);
      const s = layerStart(<u32>eth);
      let ab: bool;
      // Equal MACs say nothing: Skydive decides with the network test, which
      // answers BA when there is no network layer. A short Ethernet's nil
      // MACs are equal (and its bytes are not read: they may lie past the
      // end of the packet).
      if (!ethHasMACs(<u32>eth) || macEqual(s + ETH_SRC_OFF, s + ETH_DST_OFF)) ab = ip >= 0 && isABByNetwork(f, ip);
      else ab = (bits(f) & FLB_LINK_NIL) == 0 && macEqual(f + FL_MAC_A, s + ETH_SRC_OFF);
      countDir(f, ab, length);
    } else if (ip >= 0) {
      countDir(f, isABByNetwork(f, ip), ipLength(ip));
    }
  } else if (ip >= 0) {
    let length = subLength(k);
    if (length == 0 && eth >= 0) length = ethernetLength(<u32>eth);
    if (length == 0) length = ipLength(ip);
    countDir(f, isABByNetwork(f, ip), length);
  }

  // RTT (§4.5): ICMPv4, else ICMPv6, else TCP.
  const ic4 = subICMPv4;
  const ic6 = ic4 >= 0 ? -1 : subICMPv6;
  const tcp = subTCP;
  const first = load<i64>(f + FL_RTT_FIRST);
  if (ic4 >= 0 || ic6 >= 0) {
    const ty = <u32>load<u8>(fieldsOf(<u32>(ic4 >= 0 ? ic4 : ic6)));
    const req: u32 = ic4 >= 0 ? 8 : 128, rep: u32 = ic4 >= 0 ? 0 : 129;
    if (ty == req && first == 0) store<i64>(f + FL_RTT_FIRST, tsNs);
    else if (ty == rep && first != 0) { store<i64>(f + FL_RTT, tsNs - first); store<i64>(f + FL_RTT_FIRST, 0); }
  } else if (tcp >= 0) {
    const fl = <u32>load<u16>(fieldsOf(<u32>tcp) + TCP_FLAGS);
    if ((fl & TCP_SYN) != 0 && first == 0) store<i64>(f + FL_RTT_FIRST, tsNs);
    else if (first != 0 && (((fl & TCP_SYN) != 0 && (fl & TCP_ACKF) != 0) || (fl & TCP_RST) != 0)) {
      store<i64>(f + FL_RTT, tsNs - first);
      store<i64>(f + FL_RTT_FIRST, 0);
    }
  }

  // TCP flag times (§4.6), only for flows created with a TCPMetric.
  if ((bits(f) & FLB_TCP_METRIC) != 0 && load<u8>(f + FL_TRANSPORT) == TRANSPORT_TCP && tcp >= 0 && ip >= 0) {
    const fl = <u32>load<u16>(fieldsOf(<u32>tcp) + TCP_FLAGS);
    if ((fl & (TCP_SYN | TCP_FIN | TCP_RST)) != 0) {
      const netIsV4 = load<u8>(f + FL_NET_PROTO) == 4;
      const src = netIsV4 ? subIPv4 : subIPv6;
      if (src >= 0) {
        const ab = srcIsA(f, src);
        const ttl = netIsV4 ? <u32>load<u8>(fieldsOf(<u32>src) + IP4_TTL) : <u32>load<u8>(fieldsOf(<u32>src) + IP6_HOP_LIMIT);
        if ((fl & TCP_SYN) != 0) {
          if (ab && load<i64>(f + FL_TCP) == 0) { store<i64>(f + FL_TCP, tsMs); store<u32>(f + FL_SYN_TTL_AB, ttl); }
          else if (load<i64>(f + FL_TCP + 8) == 0) { store<i64>(f + FL_TCP + 8, tsMs); store<u32>(f + FL_SYN_TTL_BA, ttl); }
        } else if ((fl & TCP_FIN) != 0) {
          store<i64>(f + FL_TCP + (ab ? 16 : 24), tsMs);
        } else {
          store<i64>(f + FL_TCP + (ab ? 32 : 40), tsMs);
        }
      }
    }
  }

  // The last DNS message wins (§4.2.5).
  const kind = load<u8>(f + FL_EXTRA_KIND);
  if ((o.extraLayers & o.EXTRA_DNS) != 0 && (kind == 0 || kind == EXTRA_DNS)) {
    const d = subDNS;
    if (d >= 0) keepBlob(f, EXTRA_DNS, layerStart(<u32>d), layerContents(<u32>d), tsNs);
  }
}
