// BFD control packet (RFC 5880; gopacket layers/bfd.go semantics, v1.1.17).
//
//  0     3         8   10          16              24              32
//  +-----+---------+---+-+-+-+-+-+-+---------------+---------------+
//  |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//  |                       My Discriminator                        |
//  |                      Your Discriminator                       |
//  |                    Desired Min TX Interval                    |
//  |                   Required Min RX Interval                    |
//  |                 Required Min Echo RX Interval                 |
//  +---------------------------------------------------------------+  24 bytes
//  | Auth Type | Auth Len | Auth Key ID | (seq + digest | password) |  if A
// gopacket errors, before adding the layer, when the data is shorter than 24
// bytes (truncated) or when the length byte differs from the data length
// (the UDP payload, already cut to the UDP length). With the A bit and more
// than 2 bytes after the fixed part it reads type, length, key id, and for
// the MD5/SHA1 types (2..5) a sequence number at +4..+8 of the auth part:
// fewer than 8 auth bytes there is a slice panic, i.e. a decode error.
// Contents is the whole data, no payload, no next layer.

import { L_BFD, L_NONE } from '../ids';
import { rd32 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';

export const BFD_VERS_DIAG: u32 = 0;  // u8: byte 0 as sent
export const BFD_FLAGS: u32 = 1;      // u8: byte 1 as sent (state + flags)
export const BFD_DETECT_MULT: u32 = 2; // u8
export const BFD_MY_DISC: u32 = 4;    // u32
export const BFD_YOUR_DISC: u32 = 8;  // u32

export function decodeBFD(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 24) { markTruncated(); return -1; }
  if (<u32>load<u8>(s + 3) != len) return -1;
  const flags = <u32>load<u8>(s + 1);
  if ((flags & 0x04) != 0 && len - 24 > 2) {
    const authType = <u32>load<u8>(s + 24);
    // Keyed / meticulous keyed MD5 and SHA1 read a 4-byte sequence number
    // at auth[4..8] and slice auth[8:]: both need 8 auth bytes.
    if (authType >= 2 && authType <= 5 && len - 24 < 8) return -1;
  }
  const i = pushLayer(L_BFD, s, len, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + BFD_VERS_DIAG, load<u8>(s));
  store<u8>(f + BFD_FLAGS, <u8>flags);
  store<u8>(f + BFD_DETECT_MULT, load<u8>(s + 2));
  store<u32>(f + BFD_MY_DISC, rd32(s + 4));
  store<u32>(f + BFD_YOUR_DISC, rd32(s + 8));
  return L_NONE;
}
