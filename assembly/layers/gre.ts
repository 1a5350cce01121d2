// GRE (RFC 2784, RFC 2890 key/sequence, RFC 1701 routing, RFC 2637 PPTP ack;
// gopacket v1.1.17 layers/gre.go).
//
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-----+-+---------+-----+-------------------------------+
//  |C|R|K|S|s|Recur|A|  Flags  | Ver |         Protocol Type         |
//  +-+-+-+-+-+-----+-+---------+-----+-------------------------------+
//  |   Checksum (if C or R)        |      Offset (if C or R)        |
//  |                          Key (if K)                             |
//  |                    Sequence number (if S)                       |
//  |   Routing (if R): SREs {family 16, offset 8, length 8, info}    |
//  |                Acknowledgment number (if A)                     |
//  +-----------------------------------------------------------------+
// gopacket facts reproduced here:
// - The fields are read in that order; reading past the data panics, so a
//   short header is a DecodeFailure with no GRE layer (decodingLayerDecoder).
// - Routing: SREs are read until one has address family 0 and length 0
//   (that terminator is part of the header).
// - The A bit (PPTP, byte 1 bit 7) adds a 4-byte acknowledgment after the
//   routing (checked on ndpi/gre.pcapng: PPP is found after key, seq, ack).
// - The version is not checked. Next: the protocol through the EtherType table
//   (0x88BE is Skydive's ERSPAN-II, 0x6558 Ethernet, 0x880B PPP, 0 LLC); an
//   unknown protocol is LayerTypeZero: decoding stops quietly.
// ERSPAN type III (0x22EB) goes to decodeERSPAN3 (Skydive stops and crashes
// there). Option, off by default: `setERSPANTypeI(true)` decodes ERSPAN type I
// (0x88BE without the S bit: no ERSPAN header) as Ethernet directly.

import { D_ERSPAN3, L_ETHERNET, L_GRE, L_NONE } from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, pushLayer } from '../packet';
import { etherTypeDecoder, NO_DECODER } from '../registry';
import { erspanTypeI } from './erspan';

/** Field offsets (from fieldsOf). */
export const GRE_PROTOCOL: u32 = 0;  // u16: protocol type (EtherType)
export const GRE_FLAGS: u32 = 2;     // u8: GRE_C | GRE_R | GRE_K | GRE_S | GRE_SSR | GRE_A
export const GRE_VERSION: u32 = 3;   // u8: 3-bit version (0 GRE, 1 PPTP)
export const GRE_KEY: u32 = 4;       // u32: key, 0 without the K bit
export const GRE_SEQ: u32 = 8;       // u32: sequence number, 0 without the S bit
export const GRE_ACK: u32 = 12;      // u32: acknowledgment number, 0 without the A bit
export const GRE_CHECKSUM: u32 = 16; // u16: checksum, 0 without C or R
export const GRE_OFFSET: u32 = 18;   // u16: routing offset, 0 without C or R
export const GRE_RECURSION: u32 = 20; // u8: 3-bit recursion control
/** GRE_FLAGS bits. */
export const GRE_C: u8 = 0x80;
export const GRE_R: u8 = 0x40;
export const GRE_K: u8 = 0x20;
export const GRE_S: u8 = 0x10;
export const GRE_SSR: u8 = 0x08;
export const GRE_A: u8 = 0x01;

export function decodeGRE(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 4) return -1;
  const b0 = <u32>load<u8>(s), b1 = <u32>load<u8>(s + 1);
  const proto = rd16(s + 2);
  const c = (b0 & 0x80) != 0, r = (b0 & 0x40) != 0, k = (b0 & 0x20) != 0;
  const sq = (b0 & 0x10) != 0, a = (b1 & 0x80) != 0;
  let off: u32 = 4;
  let checksum: u32 = 0, offset: u32 = 0, key: u32 = 0, seq: u32 = 0, ack: u32 = 0;
  if (c || r) {
    if (len < off + 4) return -1;
    checksum = rd16(s + off);
    offset = rd16(s + off + 2);
    off += 4;
  }
  if (k) {
    if (len < off + 4) return -1;
    key = rd32(s + off);
    off += 4;
  }
  if (sq) {
    if (len < off + 4) return -1;
    seq = rd32(s + off);
    off += 4;
  }
  if (r) {
    while (true) {
      if (len < off + 4) return -1;
      const family = rd16(s + off);
      const sreLen = <u32>load<u8>(s + off + 3);
      if (len < off + 4 + sreLen) return -1;
      off += 4 + sreLen;
      if (family == 0 && sreLen == 0) break;
    }
  }
  if (a) {
    if (len < off + 4) return -1;
    ack = rd32(s + off);
    off += 4;
  }
  const i = pushLayer(L_GRE, s, off, len - off);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u16>(f + GRE_PROTOCOL, <u16>proto);
  store<u8>(f + GRE_FLAGS, <u8>((b0 & 0xf8) | (a ? GRE_A : 0)));
  store<u8>(f + GRE_VERSION, <u8>(b1 & 7));
  store<u32>(f + GRE_KEY, key);
  store<u32>(f + GRE_SEQ, seq);
  store<u32>(f + GRE_ACK, ack);
  store<u16>(f + GRE_CHECKSUM, <u16>checksum);
  store<u16>(f + GRE_OFFSET, <u16>offset);
  store<u8>(f + GRE_RECURSION, <u8>(b0 & 7));
  // ERSPAN type III: Skydive stops after GRE and then crashes on the empty
  // inner packet; decoding the mirrored frame is our answer (docs/compat.md).
  if (proto == 0x22eb) return D_ERSPAN3;
  // ERSPAN type I (no sequence number, no ERSPAN header): Skydive reads it as
  // type II and skips 8 bytes of the mirrored frame; decoding it right is opt-in.
  if (erspanTypeI && proto == 0x88be && !sq) return L_ETHERNET;
  const next = etherTypeDecoder(proto);
  return next == NO_DECODER ? L_NONE : <i32>next;
}
