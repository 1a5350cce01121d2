// ICMPv4 (RFC 792; gopacket layers/icmp4.go semantics).
//
//  0       8       16              32
//  +-------+-------+---------------+
//  | type  | code  |   checksum    |
//  |  identifier   |   sequence    |
//  +---------------+---------------+
// Bytes 4-7 are read as identifier/sequence for every type: Skydive keys
// ICMPv4 flows on the identifier whatever the type. Shorter than 8 bytes is
// an error raised before the layer exists.

import { L_ICMPV4, L_PAYLOAD } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';

export const ICMP4_TYPE: u32 = 0; // u8
export const ICMP4_CODE: u32 = 1; // u8
export const ICMP4_ID: u32 = 2;   // u16
export const ICMP4_SEQ: u32 = 4;  // u16

export function decodeICMPv4(s: usize, e: usize): i32 {
  if (e - s < 8) { markTruncated(); return -1; }
  const i = pushLayer(L_ICMPV4, s, 8, <u32>(e - s) - 8);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + ICMP4_TYPE, load<u8>(s));
  store<u8>(f + ICMP4_CODE, load<u8>(s + 1));
  store<u16>(f + ICMP4_ID, <u16>rd16(s + 4));
  store<u16>(f + ICMP4_SEQ, <u16>rd16(s + 6));
  return L_PAYLOAD;
}
