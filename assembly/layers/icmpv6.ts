// ICMPv6 (RFC 4443), its NDP messages (RFC 4861) and MLD (RFC 2710, 3810),
// with gopacket v1.1.17 semantics (layers/icmp6.go, icmp6msg.go, mldv1.go, mldv2.go).
//
//  0       8       16              32
//  +-------+-------+---------------+
//  | type  | code  |   checksum    |   ICMPv6: 4-byte header, the rest is payload
//  +-------+-------+---------------+
//  | message body (sub-layer) ...  |
//
// All sub-layers are gopacket DecodingLayers: a parse error (too short, bad
// NDP option, bad MLD record) leaves no layer of its own, then DecodeFailure.
// Sub-layer choice by type (on a non-empty payload): 128/129 ICMPv6Echo,
// 133 RouterSolicitation, 134 RouterAdvertisement, 135 NeighborSolicitation,
// 136 NeighborAdvertisement, 137 Redirect, 130 MLD query (MLDv2 when the
// ICMPv6 payload is longer than 20 bytes, else MLDv1), 131 MLDv1 report,
// 132 MLDv1 done, 143 MLDv2 report, anything else Payload.
// gopacket sets no Contents/Payload for ICMPv6Echo, RouterSolicitation and
// the MLD layers (empty), and Contents = the whole message for the other NDP
// layers; in every case decoding stops after the sub-layer.

import {
  L_ICMPV6, L_ICMPV6_ECHO, L_ICMPV6_NEIGHBOR_ADVERTISEMENT, L_ICMPV6_NEIGHBOR_SOLICITATION, L_ICMPV6_REDIRECT,
  L_ICMPV6_ROUTER_ADVERTISEMENT, L_ICMPV6_ROUTER_SOLICITATION, L_MLDV1_DONE, L_MLDV1_QUERY, L_MLDV1_REPORT,
  L_MLDV2_QUERY, L_MLDV2_REPORT, L_NONE, L_PAYLOAD,
} from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';

/** ICMPv6 fields. */
export const ICMP6_TYPE: u32 = 0;     // u8
export const ICMP6_CODE: u32 = 1;     // u8
export const ICMP6_CHECKSUM: u32 = 2; // u16

/** ICMPv6Echo fields. */
export const ICMP6_ECHO_ID: u32 = 0;  // u16: identifier (echo body bytes 0-1)
export const ICMP6_ECHO_SEQ: u32 = 2; // u16

/** NDP fields (RS, RA, NS, NA, Redirect). */
export const NDP_TARGET: u32 = 0;           // 16 bytes: NS/NA/Redirect target address
export const NDP_DESTINATION: u32 = 16;     // 16 bytes: Redirect destination address
export const NDP_FLAGS: u32 = 32;           // u8: NA flags (R S O) or RA flags (M O)
export const NDP_HOP_LIMIT: u32 = 33;       // u8: RA current hop limit
export const NDP_ROUTER_LIFETIME: u32 = 34; // u16: RA
export const NDP_REACHABLE_TIME: u32 = 36;  // u32: RA
export const NDP_RETRANS_TIMER: u32 = 40;   // u32: RA

/** MLD fields. */
export const MLD_MAX_RESPONSE: u32 = 0; // u16: maximum response delay/code (queries, v1 messages)
export const MLD_COUNT: u32 = 2;        // u16: MLDv2 query number of sources / MLDv2 report number of records
export const MLD_ADDRESS: u32 = 4;      // 16 bytes: multicast address (queries, v1 messages)

export function decodeICMPv6(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 4) { markTruncated(); return -1; }
  const i = pushLayer(L_ICMPV6, s, 4, len - 4);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  const type = load<u8>(s);
  store<u8>(f + ICMP6_TYPE, type);
  store<u8>(f + ICMP6_CODE, load<u8>(s + 1));
  store<u16>(f + ICMP6_CHECKSUM, <u16>rd16(s + 2));
  if (len == 4) return L_NONE;
  switch (type) {
    case 128: case 129: return L_ICMPV6_ECHO;
    case 133: return L_ICMPV6_ROUTER_SOLICITATION;
    case 134: return L_ICMPV6_ROUTER_ADVERTISEMENT;
    case 135: return L_ICMPV6_NEIGHBOR_SOLICITATION;
    case 136: return L_ICMPV6_NEIGHBOR_ADVERTISEMENT;
    case 137: return L_ICMPV6_REDIRECT;
    case 130: return len - 4 > 20 ? L_MLDV2_QUERY : L_MLDV1_QUERY;
    case 131: return L_MLDV1_REPORT;
    case 132: return L_MLDV1_DONE;
    case 143: return L_MLDV2_REPORT;
  }
  return L_PAYLOAD;
}

/** gopacket's NDP option list: units of 8 bytes, a zero length or a short option is an error. */
function ndpOptionsOK(p: usize, e: usize): bool {
  while (p < e) {
    const rem = <u32>(e - p);
    if (rem < 2) { markTruncated(); return false; }
    const l = <u32>load<u8>(p + 1) * 8;
    if (l == 0) { markTruncated(); return false; }
    if (rem < l) { markTruncated(); return false; }
    p += l;
  }
  return true;
}

function echo(s: usize, e: usize): i32 {
  if (e - s < 4) { markTruncated(); return -1; }
  const i = pushLayer(L_ICMPV6_ECHO, s, 0, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u16>(f + ICMP6_ECHO_ID, <u16>rd16(s));
  store<u16>(f + ICMP6_ECHO_SEQ, <u16>rd16(s + 2));
  return L_NONE;
}

function routerSolicitation(s: usize, e: usize): i32 {
  if (e - s < 4) { markTruncated(); return -1; }
  if (!ndpOptionsOK(s + 4, e)) return -1;
  if (pushLayer(L_ICMPV6_ROUTER_SOLICITATION, s, 0, 0) < 0) return -1;
  return L_NONE;
}

function routerAdvertisement(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 12) { markTruncated(); return -1; }
  if (!ndpOptionsOK(s + 12, e)) return -1;
  const i = pushLayer(L_ICMPV6_ROUTER_ADVERTISEMENT, s, len, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + NDP_HOP_LIMIT, load<u8>(s));
  store<u8>(f + NDP_FLAGS, load<u8>(s + 1));
  store<u16>(f + NDP_ROUTER_LIFETIME, <u16>rd16(s + 2));
  store<u32>(f + NDP_REACHABLE_TIME, rd32(s + 4));
  store<u32>(f + NDP_RETRANS_TIMER, rd32(s + 8));
  return L_NONE;
}

function neighbor(type: u8, s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 20) { markTruncated(); return -1; }
  if (!ndpOptionsOK(s + 20, e)) return -1;
  const i = pushLayer(type, s, len, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  memory.copy(f + NDP_TARGET, s + 4, 16);
  if (type == L_ICMPV6_NEIGHBOR_ADVERTISEMENT) store<u8>(f + NDP_FLAGS, load<u8>(s));
  return L_NONE;
}

function redirect(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 36) { markTruncated(); return -1; }
  if (!ndpOptionsOK(s + 36, e)) return -1;
  const i = pushLayer(L_ICMPV6_REDIRECT, s, len, 0);
  if (i < 0) return -1;
  memory.copy(fieldsOf(<u32>i) + NDP_TARGET, s + 4, 32);
  return L_NONE;
}

/** MLDv1 query, report and done: 20 bytes (max delay, reserved, address); the layer ends decoding. */
function mldv1(type: u8, s: usize, e: usize): i32 {
  if (e - s < 20) { markTruncated(); return -1; }
  const i = pushLayer(type, s, 0, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u16>(f + MLD_MAX_RESPONSE, <u16>rd16(s));
  memory.copy(f + MLD_ADDRESS, s + 4, 16);
  return L_NONE;
}

function mldv2Query(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 24) { markTruncated(); return -1; }
  const n = rd16(s + 22);
  if (<u32>24 + n * 16 > len) { markTruncated(); return -1; }
  const i = pushLayer(L_MLDV2_QUERY, s, 0, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u16>(f + MLD_MAX_RESPONSE, <u16>rd16(s));
  store<u16>(f + MLD_COUNT, <u16>n);
  memory.copy(f + MLD_ADDRESS, s + 4, 16);
  return L_NONE;
}

function mldv2Report(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 4) { markTruncated(); return -1; }
  const m = rd16(s + 2);
  let begin: u32 = 4;
  for (let k: u32 = 0; k < m; k++) {
    const rem = len - begin;
    if (rem < 20) { markTruncated(); return -1; }
    const aux = <u32>load<u8>(s + begin + 1);
    const n = rd16(s + begin + 2);
    const noAux = <u32>20 + n * 16;
    if (rem < noAux) { markTruncated(); return -1; }
    const total = noAux + aux * 4;
    if (rem < total) return -1; // gopacket does not mark this one truncated
    begin += total;
  }
  const i = pushLayer(L_MLDV2_REPORT, s, 0, 0);
  if (i < 0) return -1;
  store<u16>(fieldsOf(<u32>i) + MLD_COUNT, <u16>m);
  return L_NONE;
}

/** Runs the ICMPv6 sub-layer `id` chosen by decodeICMPv6 over the ICMPv6 payload [s, e). */
export function decodeICMPv6Sub(id: u8, s: usize, e: usize): i32 {
  switch (id) {
    case L_ICMPV6_ECHO: return echo(s, e);
    case L_ICMPV6_ROUTER_SOLICITATION: return routerSolicitation(s, e);
    case L_ICMPV6_ROUTER_ADVERTISEMENT: return routerAdvertisement(s, e);
    case L_ICMPV6_NEIGHBOR_SOLICITATION: return neighbor(L_ICMPV6_NEIGHBOR_SOLICITATION, s, e);
    case L_ICMPV6_NEIGHBOR_ADVERTISEMENT: return neighbor(L_ICMPV6_NEIGHBOR_ADVERTISEMENT, s, e);
    case L_ICMPV6_REDIRECT: return redirect(s, e);
    case L_MLDV1_QUERY: return mldv1(L_MLDV1_QUERY, s, e);
    case L_MLDV1_REPORT: return mldv1(L_MLDV1_REPORT, s, e);
    case L_MLDV1_DONE: return mldv1(L_MLDV1_DONE, s, e);
    case L_MLDV2_QUERY: return mldv2Query(s, e);
    case L_MLDV2_REPORT: return mldv2Report(s, e);
  }
  return -1;
}
