// PPP (RFC 1661) and PPPoE (RFC 2516) (gopacket v1.1.17 layers/ppp.go, pppoe.go).
//
// PPP, as gopacket reads it:
//  +------+------+------------------+---------
//  | 0xFF | 0x03 | protocol (8/16)  | payload
//  +------+------+------------------+---------
//   optional HDLC address/control
// - An FF 03 prefix is skipped and is in neither Contents nor Payload: the
//   layer starts after it.
// - Protocol field compression: an odd first byte is a 1-byte protocol,
//   otherwise 2 bytes whose second byte must be odd ("PPP has invalid type").
// - Reads past the data panic; errors and panics come before the layer.
// - The layer is a link layer (SetLinkLayer). Next: 0x0021 IPv4,
//   0x0057 IPv6, 0x0281/0x0283 MPLS; any other protocol is an error.
//
// PPPoE:
//  0    4    8        16                32               48
//  +----+----+--------+----------------+----------------+--------
//  |ver |type| code   | session id     | length         | payload
//  +----+----+--------+----------------+----------------+--------
// - The payload is data[6 : 6+length] with 6+length computed in 16 bits: an
//   end below 6 or past the data panics (no layer); bytes after it are dropped.
// - Next by code: 0x00 (session data) → PPP; every discovery code (PADI,
//   PADO, PADR, PADS, PADT) has an error decoder in gopacket, so a discovery
//   packet with a payload ends in a DecodeFailure.

import { L_IPV4, L_IPV6, L_MPLS, L_NONE, L_PPP, L_PPPOE } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, pushLayer, setLinkLayer } from '../packet';

/** PPP fields (from fieldsOf). */
export const PPP_TYPE: u32 = 0;        // u16: PPP protocol
export const PPP_HAS_HDLC: u32 = 2;    // u8: 1 when the FF 03 prefix was present
/** PPPoE fields. */
export const PPPOE_VERSION: u32 = 0;   // u8: 4-bit version
export const PPPOE_TYPE: u32 = 1;      // u8: 4-bit type
export const PPPOE_CODE: u32 = 2;      // u8
export const PPPOE_SESSION: u32 = 4;   // u16
export const PPPOE_LENGTH: u32 = 6;    // u16

export function decodePPP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 1) return -1;
  let off: u32 = 0;
  if (load<u8>(s) == 0xff) {
    if (len < 2) return -1;
    if (load<u8>(s + 1) == 0x03) off = 2;
  }
  if (len < off + 1) return -1;
  let type: u32;
  let hlen: u32;
  const b0 = <u32>load<u8>(s + off);
  if ((b0 & 1) == 0) {
    if (len < off + 2) return -1;
    const b1 = <u32>load<u8>(s + off + 1);
    if ((b1 & 1) == 0) return -1;
    type = (b0 << 8) | b1;
    hlen = 2;
  } else {
    type = b0;
    hlen = 1;
  }
  const i = pushLayer(L_PPP, s + off, hlen, len - off - hlen);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u16>(f + PPP_TYPE, <u16>type);
  store<u8>(f + PPP_HAS_HDLC, off != 0 ? 1 : 0);
  setLinkLayer(i);
  if (type == 0x0021) return L_IPV4;
  if (type == 0x0057) return L_IPV6;
  if (type == 0x0281 || type == 0x0283) return L_MPLS;
  return len > off + hlen ? -1 : L_NONE;
}

export function decodePPPoE(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 6) return -1;
  const length = rd16(s + 4);
  const end: u32 = (6 + length) & 0xffff; // Go uint16 arithmetic
  if (end < 6 || end > len) return -1;
  const i = pushLayer(L_PPPOE, s, 6, end - 6);
  if (i < 0) return -1;
  const b0 = <u32>load<u8>(s);
  const code = <u32>load<u8>(s + 1);
  const f = fieldsOf(<u32>i);
  store<u8>(f + PPPOE_VERSION, <u8>(b0 >> 4));
  store<u8>(f + PPPOE_TYPE, <u8>(b0 & 0x0f));
  store<u8>(f + PPPOE_CODE, <u8>code);
  store<u16>(f + PPPOE_SESSION, <u16>rd16(s + 2));
  store<u16>(f + PPPOE_LENGTH, <u16>length);
  if (code == 0) return L_PPP;
  return end > 6 ? -1 : L_NONE;
}
