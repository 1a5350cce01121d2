// Splitting one decoded packet into the sub-packets of its encapsulation
// levels (Skydive PacketSeqFromGoPacket, spec §2): a sub-packet ends at
// VXLAN, Geneve, MPLS, and GRE unless GRE is followed by MPLS, and each inner
// sub-packet's length is its outer one minus the outer headers.

import {
  L_DHCPV4, L_DNS, L_ETHERNET, L_GENEVE, L_GRE, L_ICMPV4, L_ICMPV6, L_ICMPV6_ECHO, L_IPV4, L_IPV6, L_MPLS, L_SCTP,
  L_TCP, L_UDP, L_VRRP, L_VXLAN,
} from '../ids';
import { fieldsOf, layerContents, layerPayload, layerType, nLayers } from '../packet';
import { ETH_LENGTH } from '../layers/ethernet';
import { IP4_LENGTH } from '../layers/ipv4';
import { IP6_LENGTH } from '../layers/ipv6';

export const MAX_SUBS: u32 = 64;
const subFrom = memory.data(<i32>MAX_SUBS);
const subTo = memory.data(<i32>MAX_SUBS);
const subLen = memory.data(<i32>(MAX_SUBS * 8), 8);
export let nSubs: u32 = 0;

@inline export function subStart(k: u32): u32 { return load<u8>(subFrom + k); }
@inline export function subEnd(k: u32): u32 { return load<u8>(subTo + k); }
@inline export function subLength(k: u32): i64 { return load<i64>(subLen + (k << 3)); }

/** Length Skydive derives for an Ethernet layer without capture metadata. */
export function ethernetLength(i: u32): i64 {
  const l = <i64>load<u16>(fieldsOf(i) + ETH_LENGTH);
  return l > 0 ? 14 + l : 14 + <i64>layerPayload(i);
}

function add(from: u32, to: u32, len: i64): void {
  if (nSubs >= MAX_SUBS) return;
  store<u8>(subFrom + nSubs, <u8>from);
  store<u8>(subTo + nSubs, <u8>to);
  store<i64>(subLen + (nSubs << 3), len);
  nSubs++;
}

// What splitPacket does with each layer type: K_* for the kinds the sub*
// variables below track, SPLIT_* for the layers that end a sub-packet, 0
// for the rest. One table load per layer instead of a chain of compares.
const K_ETH: u8 = 1, K_IPV4: u8 = 2, K_IPV6: u8 = 3, K_TCP: u8 = 4, K_UDP: u8 = 5, K_SCTP: u8 = 6;
const K_ICMPV4: u8 = 7, K_ICMPV6: u8 = 8, K_ICMPV6_ECHO: u8 = 9, K_DNS: u8 = 10, K_DHCPV4: u8 = 11, K_VRRP: u8 = 12;
const SPLIT: u8 = 13;     // VXLAN, Geneve, MPLS
const SPLIT_GRE: u8 = 14; // GRE, unless MPLS follows
const kinds = memory.data(256);
let kindsReady = false;

function initKinds(): void {
  store<u8>(kinds + L_ETHERNET, K_ETH);
  store<u8>(kinds + L_IPV4, K_IPV4);
  store<u8>(kinds + L_IPV6, K_IPV6);
  store<u8>(kinds + L_TCP, K_TCP);
  store<u8>(kinds + L_UDP, K_UDP);
  store<u8>(kinds + L_SCTP, K_SCTP);
  store<u8>(kinds + L_ICMPV4, K_ICMPV4);
  store<u8>(kinds + L_ICMPV6, K_ICMPV6);
  store<u8>(kinds + L_ICMPV6_ECHO, K_ICMPV6_ECHO);
  store<u8>(kinds + L_DNS, K_DNS);
  store<u8>(kinds + L_DHCPV4, K_DHCPV4);
  store<u8>(kinds + L_VRRP, K_VRRP);
  store<u8>(kinds + L_VXLAN, SPLIT);
  store<u8>(kinds + L_GENEVE, SPLIT);
  store<u8>(kinds + L_MPLS, SPLIT);
  store<u8>(kinds + L_GRE, SPLIT_GRE);
  kindsReady = true;
}

/**
 * Splits the current layer table. `outer` >= 0 forces the outer length
 * (sFlow). Scans sub-packet 0 on the way (scanSubPacket).
 */
export function splitPacket(wireLen: u32, outer: i64): void {
  if (!kindsReady) initKinds();
  nSubs = 0;
  resetScan();
  scanned = 0;
  const n = nLayers;
  if (n == 0) return;
  if (outer < 0) {
    outer = 0;
    const top = layerType(0);
    if (top == L_ETHERNET) outer = wireLen > 0 ? <i64>wireLen : ethernetLength(0);
    else if (top == L_IPV4) outer = <i64>load<u16>(fieldsOf(0) + IP4_LENGTH);
    else if (top == L_IPV6) outer = <i64>load<u16>(fieldsOf(0) + IP6_LENGTH);
  }
  let from: u32 = 0;
  let topLen = outer;
  let length = outer;
  for (let i: u32 = 0; i < n; i++) {
    length -= <i64>layerContents(i);
    const kind = load<u8>(kinds + layerType(i));
    if (kind == 0) continue;
    if (kind < SPLIT) {
      if (nSubs == 0) note(kind, <i32>i);
      continue;
    }
    // GRE followed by MPLS splits at the MPLS instead (Ethernet/IPv4/GRE/MPLS).
    if (kind == SPLIT_GRE && i + 2 < n && layerType(i + 1) == L_MPLS) continue;
    add(from, i + 1, topLen);
    from = i + 1;
    topLen = length;
  }
  add(from, n, topLen);
}

// The first layer of each kind that keys and flow updates look for in one
// sub-packet (-1 when absent), found in a single pass by scanSubPacket rather
// than by one scan of the sub-packet per lookup.
export let subEth: i32 = -1;
export let subIPv4: i32 = -1;
export let subIPv6: i32 = -1;
export let subTCP: i32 = -1;
export let subUDP: i32 = -1;
export let subSCTP: i32 = -1;
export let subICMPv4: i32 = -1;
export let subICMPv6: i32 = -1;
export let subICMPv6Echo: i32 = -1;
export let subDNS: i32 = -1;
export let subDHCPv4: i32 = -1;
export let subVRRP: i32 = -1;

// The sub-packet the variables above describe (-1: none).
let scanned: i32 = -1;

@inline function resetScan(): void {
  subEth = subIPv4 = subIPv6 = subTCP = subUDP = subSCTP = -1;
  subICMPv4 = subICMPv6 = subICMPv6Echo = subDNS = subDHCPv4 = subVRRP = -1;
}

/** Records layer `at` of kind `kind` (K_*) if it is the first of its kind. */
@inline function note(kind: u8, at: i32): void {
  switch (kind) {
    case K_ETH: if (subEth < 0) subEth = at; break;
    case K_IPV4: if (subIPv4 < 0) subIPv4 = at; break;
    case K_IPV6: if (subIPv6 < 0) subIPv6 = at; break;
    case K_TCP: if (subTCP < 0) subTCP = at; break;
    case K_UDP: if (subUDP < 0) subUDP = at; break;
    case K_SCTP: if (subSCTP < 0) subSCTP = at; break;
    case K_ICMPV4: if (subICMPv4 < 0) subICMPv4 = at; break;
    case K_ICMPV6: if (subICMPv6 < 0) subICMPv6 = at; break;
    case K_ICMPV6_ECHO: if (subICMPv6Echo < 0) subICMPv6Echo = at; break;
    case K_DNS: if (subDNS < 0) subDNS = at; break;
    case K_DHCPV4: if (subDHCPv4 < 0) subDHCPv4 = at; break;
    case K_VRRP: if (subVRRP < 0) subVRRP = at; break;
  }
}

/** Finds the first layer of each kind above in sub-packet k (splitPacket did sub-packet 0). */
export function scanSubPacket(k: u32): void {
  if (<i32>k == scanned) return;
  scanned = <i32>k;
  resetScan();
  const to = subEnd(k);
  for (let i = subStart(k); i < to; i++) {
    const kind = load<u8>(kinds + layerType(i));
    if (kind != 0 && kind < SPLIT) note(kind, <i32>i);
  }
}
