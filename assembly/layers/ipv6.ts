// IPv6 and its extension headers (RFC 8200; gopacket v1.1.17 layers/ip6.go).
//
//  0       4               12      16              24              32
//  +-------+---------------+-------+---------------+---------------+
//  |Version| Traffic Class |           Flow Label                  |
//  |        Payload Length         |  Next Header  |   Hop Limit   |
//  |                 Source Address (16 bytes)                     |
//  |               Destination Address (16 bytes)                  |
//  +---------------------------------------------------------------+
//  Extension header (hop-by-hop, routing, destination):
//  | Next Header | Hdr Ext Len (8-byte units, +8) | data ...       |
//  Fragment header (8 bytes):
//  | Next Header | Reserved | Offset(13) |Res|M| Identification(32)|
//
// gopacket quirks reproduced here:
// * Shorter than 40 bytes: an IPv6 layer without any field (Skydive prints
//   "<nil>" addresses), then an error. Otherwise every header field is set
//   before any later error.
// * A hop-by-hop header right after the IPv6 header is decoded inside the
//   IPv6 decoder and becomes a second layer, IPv6HopByHop. The next decoder
//   then runs on the hop-by-hop layer's payload: everything after that
//   header, NOT cut to the payload length (trailer bytes included). The
//   IPv6 layer's own payload is the bytes after the hop-by-hop header cut to
//   Length (gopacket compares Length with what follows the hop-by-hop header,
//   so such packets are usually marked truncated). The layer record keeps
//   gopacket's payload LENGTH; its bytes then start after the hop-by-hop
//   header, not at start + 40 (nothing downstream reads them).
// * Payload length 0 is an error unless a hop-by-hop header carries a valid
//   jumbo option (type 0xC2, 4 data bytes, value > 65535); a jumbo option
//   with a non-zero payload length is an error too.
// * Option walks (hop-by-hop, destination) read each option from the rest
//   of the data, not from the header: an option may overrun the header
//   length without error as long as the data holds it.
// * IPv6Routing: only type 0 with (length - 8) a multiple of 16 decodes;
//   any other routing type is an error (no layer).
// * IPv6Fragment never decodes its next header: the rest is one Fragment.
// * IPv6HopByHop / IPv6Destination met as standalone headers add their layer
//   even when they fail (empty when the base header itself is bad).

import { L_FRAGMENT, L_IPV6, L_IPV6_DESTINATION, L_IPV6_FRAGMENT, L_IPV6_HOPBYHOP, L_IPV6_ROUTING, L_NONE } from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, markTruncated, pushLayer, setFlags, setNetworkLayer, setNext, setPayload } from '../packet';
import { ipProtocolDecoder, NO_DECODER } from '../registry';

/** IPv6 field offsets (from fieldsOf). */
export const IP6_SRC: u32 = 0;            // 16 bytes
export const IP6_DST: u32 = 16;           // 16 bytes
export const IP6_LENGTH: u32 = 32;        // u16: payload length field as sent (0 for jumbograms)
export const IP6_NEXT_HEADER: u32 = 34;   // u8: next header of the fixed header
export const IP6_HOP_LIMIT: u32 = 35;     // u8
export const IP6_TRAFFIC_CLASS: u32 = 36; // u8
export const IP6_FLOW_LABEL: u32 = 40;    // u32: 20-bit flow label
/** Layer flag: the 40-byte header was parsed (else gopacket's nil addresses). */
export const IP6_HAS_ADDR: u8 = 1;

/** Extension header fields (IPv6HopByHop, IPv6Routing, IPv6Destination). */
export const IP6X_NEXT_HEADER: u32 = 0;   // u8
export const IP6X_HDR_LEN: u32 = 1;       // u8: Hdr Ext Len field (size = value * 8 + 8)
export const IP6X_ROUTING_TYPE: u32 = 2;  // u8, IPv6Routing only
export const IP6X_SEGMENTS_LEFT: u32 = 3; // u8, IPv6Routing only
export const IP6X_JUMBO: u32 = 4;         // u32: jumbo payload length, IPv6HopByHop only (0 if none)

/** IPv6Fragment fields. */
export const IP6F_NEXT_HEADER: u32 = 0;   // u8
export const IP6F_MORE: u32 = 1;          // u8: M flag (0/1)
export const IP6F_OFFSET: u32 = 2;        // u16: fragment offset in 8-byte units
export const IP6F_ID: u32 = 4;            // u32: identification

// Result of the last option walk: the first jumbo option met.
let jumboSeen = false;
let jumboDataLen: u32 = 0;
let jumboValue: u32 = 0;

/**
 * gopacket's TLV walk over an extension header at [s, e) whose size is al:
 * options start at 2 and are read while their offset is below al, each from
 * the whole rest of the data. Returns false on gopacket's errors.
 */
function walkOptions(s: usize, e: usize, al: u32): bool {
  const len = <u32>(e - s);
  let off: u32 = 2;
  jumboSeen = false;
  jumboDataLen = 0;
  jumboValue = 0;
  while (off < al) {
    const rem = len - off; // off < al <= len
    if (rem < 2) { markTruncated(); return false; } // checked before the Pad1 test
    const t = <u32>load<u8>(s + off);
    if (t == 0) { off += 1; continue; }
    const ol = <u32>load<u8>(s + off + 1);
    if (rem < ol + 2) { markTruncated(); return false; }
    if (t == 0xc2 && !jumboSeen) {
      jumboSeen = true;
      jumboDataLen = ol;
      if (ol == 4) jumboValue = rd32(s + off + 2);
    }
    off += ol + 2;
  }
  return true;
}

/** Next decoder for protocol p over the current next range [s, e): empty data stops quietly. */
function nextFor(p: u32, s: usize, e: usize): i32 {
  if (s >= e) return L_NONE;
  const next = ipProtocolDecoder(p);
  return next == NO_DECODER ? -1 : <i32>next;
}

function ipv6(s: usize, e: usize, hbhLayer: bool): i32 {
  const dlen = <u32>(e - s);
  if (dlen < 40) {
    markTruncated();
    const j = pushLayer(L_IPV6, s, 0, 0);
    if (j >= 0) setNetworkLayer(j);
    return -1;
  }
  const i = pushLayer(L_IPV6, s, 40, dlen - 40);
  if (i < 0) return -1;
  setNetworkLayer(i);
  const f = fieldsOf(<u32>i);
  const w0 = rd32(s);
  const length = rd16(s + 4);
  const nh = <u32>load<u8>(s + 6);
  // Word copies: memory.copy is a call into the engine, for 32 bytes.
  store<u64>(f + IP6_SRC, load<u64>(s, 8));
  store<u64>(f + IP6_SRC, load<u64>(s, 16), 8);
  store<u64>(f + IP6_SRC, load<u64>(s, 24), 16);
  store<u64>(f + IP6_SRC, load<u64>(s, 32), 24);
  store<u16>(f + IP6_LENGTH, <u16>length);
  store<u8>(f + IP6_NEXT_HEADER, <u8>nh);
  store<u8>(f + IP6_HOP_LIMIT, load<u8>(s + 7));
  store<u8>(f + IP6_TRAFFIC_CLASS, <u8>(w0 >> 20));
  store<u32>(f + IP6_FLOW_LABEL, w0 & 0xfffff);
  setFlags(i, IP6_HAS_ADDR);

  const hs = s + 40;
  const rest = dlen - 40;
  let proto = nh;
  let ps = hs;       // start of the IPv6 layer's payload
  let pl: u32 = 0;   // its length
  let ns: usize = 0; // range of the next decoder
  let ne: usize = 0;
  if (nh == 0) {
    // Hop-by-hop options, decoded as part of IPv6.
    if (rest < 2) { markTruncated(); return -1; }
    const al = <u32>load<u8>(hs + 1) * 8 + 8;
    if (rest < al) return -1;
    if (!walkOptions(hs, e, al)) return -1;
    proto = <u32>load<u8>(hs);
    if (hbhLayer) {
      const h = pushLayer(L_IPV6_HOPBYHOP, hs, al, rest - al);
      if (h < 0) return -1;
      const hf = fieldsOf(<u32>h);
      store<u8>(hf + IP6X_NEXT_HEADER, <u8>proto);
      store<u8>(hf + IP6X_HDR_LEN, load<u8>(hs + 1));
      if (jumboSeen && jumboDataLen == 4) store<u32>(hf + IP6X_JUMBO, jumboValue);
    }
    if (jumboSeen) {
      if (jumboDataLen != 4) return -1;
      if (jumboValue <= 65535) return -1;
      if (length != 0) return -1;
      // Jumbogram: the IPv6 payload is cut from byte 40, hop-by-hop included.
      pl = jumboValue;
      if (pl > rest) { markTruncated(); pl = rest; }
    } else {
      if (length == 0) return -1;
      ps = hs + al;
      pl = length;
      if (pl > rest - al) { markTruncated(); pl = rest - al; }
    }
    if (hbhLayer) { ns = hs + al; ne = e; } else { ns = ps; ne = ps + pl; }
  } else {
    if (length == 0) return -1;
    pl = length;
    if (pl > rest) { markTruncated(); pl = rest; }
    ns = ps;
    ne = ps + pl;
  }
  setPayload(i, pl);
  setNext(ns, ne);
  return nextFor(proto, ns, ne);
}

/** gopacket's decodeIPv6 (EtherType 0x86DD, IP protocol 41, link type 229). */
export function decodeIPv6(s: usize, e: usize): i32 {
  return ipv6(s, e, true);
}

/**
 * IPv6 as Skydive's raw-IP and MPLS-payload decoders run it (IPv6.DecodeFromBytes
 * then NextDecoder(NextLayerType)): no IPv6HopByHop layer is added, and the
 * next decoder gets the IPv6 layer's own payload (cut to Length).
 */
export function decodeIPv6Raw(s: usize, e: usize): i32 {
  return ipv6(s, e, false);
}

/** Standalone hop-by-hop or destination options header (the layer exists even on error). */
function optionsHeader(type: u8, s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 2) {
    markTruncated();
    pushLayer(type, s, 0, 0);
    return -1;
  }
  const al = <u32>load<u8>(s + 1) * 8 + 8;
  if (len < al) {
    pushLayer(type, s, 0, 0);
    return -1;
  }
  const i = pushLayer(type, s, al, len - al);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + IP6X_NEXT_HEADER, load<u8>(s));
  store<u8>(f + IP6X_HDR_LEN, load<u8>(s + 1));
  if (!walkOptions(s, e, al)) return -1;
  return nextFor(<u32>load<u8>(s), s + al, e);
}

export function decodeIPv6HopByHop(s: usize, e: usize): i32 {
  return optionsHeader(L_IPV6_HOPBYHOP, s, e);
}

export function decodeIPv6Destination(s: usize, e: usize): i32 {
  return optionsHeader(L_IPV6_DESTINATION, s, e);
}

export function decodeIPv6Routing(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 2) { markTruncated(); return -1; }
  const al = <u32>load<u8>(s + 1) * 8 + 8;
  if (len < al) return -1;
  const rtype = load<u8>(s + 2);
  if (rtype != 0) return -1;           // gopacket knows only type 0 (source routing)
  if ((al - 8) % 16 != 0) return -1;
  const i = pushLayer(L_IPV6_ROUTING, s, al, len - al);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + IP6X_NEXT_HEADER, load<u8>(s));
  store<u8>(f + IP6X_HDR_LEN, load<u8>(s + 1));
  store<u8>(f + IP6X_ROUTING_TYPE, rtype);
  store<u8>(f + IP6X_SEGMENTS_LEFT, load<u8>(s + 3));
  return nextFor(<u32>load<u8>(s), s + al, e);
}

export function decodeIPv6Fragment(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 8) { markTruncated(); return -1; }
  const i = pushLayer(L_IPV6_FRAGMENT, s, 8, len - 8);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  const off = rd16(s + 2);
  store<u8>(f + IP6F_NEXT_HEADER, load<u8>(s));
  store<u8>(f + IP6F_MORE, <u8>(off & 1));
  store<u16>(f + IP6F_OFFSET, <u16>(off >> 3));
  store<u32>(f + IP6F_ID, rd32(s + 4));
  // gopacket hands the rest to DecodeFragment whatever the offset and M flag.
  return len > 8 ? <i32>L_FRAGMENT : <i32>L_NONE;
}
