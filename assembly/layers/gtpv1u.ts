// GTPv1-U (3GPP TS 29.281; gopacket layers/gtp.go semantics, v1.1.17).
//
//  0     3 4 5 6 7 8              16                              32
//  +-----+-+-+-+-+-+---------------+-------------------------------+
//  | Ver |P|R|E|S|N| Message Type  |        Message Length         |
//  +-----+-+-+-+-+-+---------------+-------------------------------+
//  |                 Tunnel Endpoint Identifier                    |
//  +-------------------------------+---------------+---------------+
//  |   Sequence Number (if E|S|N)  |  N-PDU (E|S|N)| Next Ext Type |
//  +-------------------------------+---------------+---------------+
//  | Ext Len (4-byte units) | content ...          | Next Ext Type |  ...
// gopacket quirks reproduced (all errors come before the layer exists):
// * fewer than 8 bytes; 8 + Message Length (computed in uint16, so it wraps)
//   above the data length (also taken as uint16) is an error, but the payload
//   is NOT cut to the message length: it runs to the end of the data;
// * any of E/S/N makes the header 12 bytes (error if the data is shorter);
// * with E, extension headers are walked while the byte before the current
//   index is non-zero: a zero length is an error, an end past the data too,
//   and reading the length byte at the end of the data is a slice panic;
// * Contents = header (8, 12, or up to the last extension), Payload = rest.
// Next layer: nothing on an empty payload, else by the first nibble of the
// payload: 4 IPv4, 6 IPv6, anything else PPP.

import { L_GTPV1U, L_IPV4, L_IPV6, L_NONE, L_PPP } from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, pushLayer } from '../packet';

export const GTP_FLAGS: u32 = 0;    // u8: first byte as sent
export const GTP_MSG_TYPE: u32 = 1; // u8
export const GTP_MSG_LEN: u32 = 2;  // u16
export const GTP_TEID: u32 = 4;     // u32
export const GTP_SEQ: u32 = 8;      // u16 (0 unless S)
export const GTP_NPDU: u32 = 10;    // u8 (0 unless N)
export const GTP_N_EXT: u32 = 11;   // u8: number of extension headers walked

export function decodeGTPv1U(s: usize, e: usize): i32 {
  const dLen = <u32>(e - s);
  if (dLen < 8) return -1;
  const b0 = <u32>load<u8>(s);
  const msgLen = rd16(s + 2);
  const d16 = dLen & 0xffff;
  if (d16 < ((msgLen + 8) & 0xffff)) return -1;
  let c: u32 = 8;
  let nExt: u32 = 0;
  if ((b0 & 0x07) != 0) {
    if (dLen < 12) return -1;
    c = 12;
    if ((b0 & 0x04) != 0) {
      while (true) {
        if (c >= dLen) return -1; // data[cIndex] out of range: panic
        const extLen = <u32>load<u8>(s + c);
        if (extLen == 0) return -1;
        const l = c + extLen * 4;
        if (l > 0xffff) return -1; // uint16 wrap: the content slice panics
        if (d16 < l) return -1;
        c = l;
        nExt++;
        if (load<u8>(s + c - 1) == 0) break;
      }
    }
  }
  const i = pushLayer(L_GTPV1U, s, c, dLen - c);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + GTP_FLAGS, <u8>b0);
  store<u8>(f + GTP_MSG_TYPE, load<u8>(s + 1));
  store<u16>(f + GTP_MSG_LEN, <u16>msgLen);
  store<u32>(f + GTP_TEID, rd32(s + 4));
  if ((b0 & 0x02) != 0) store<u16>(f + GTP_SEQ, <u16>rd16(s + 8));
  if ((b0 & 0x01) != 0) store<u8>(f + GTP_NPDU, load<u8>(s + 10));
  store<u8>(f + GTP_N_EXT, <u8>(nExt > 255 ? 255 : nExt));
  if (c >= dLen) return L_NONE;
  const v = <u32>load<u8>(s + c) >> 4;
  if (v == 4) return L_IPV4;
  if (v == 6) return L_IPV6;
  return L_PPP;
}
