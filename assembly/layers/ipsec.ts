// IPsec AH (RFC 4302) and ESP (RFC 4303), gopacket v1.1.17 layers/ipsec.go.
//
//  AH:  0        8        16               32
//       +--------+--------+----------------+
//       | next   | len    |   reserved     |   len = header size / 4 - 2
//       |  security parameters index (SPI) |
//       |        sequence number           |
//       |  integrity check value ...       |
//       +----------------------------------+
//  ESP: | SPI (4) | sequence (4) | encrypted data ...
//
// AH: shorter than 12 bytes, or shorter than its length field says, is an
// error before the layer exists; a length field of 0 (8-byte header) makes
// gopacket slice data[12:8] and panic, also no layer. Otherwise the next
// header goes through the IP protocol table (unknown: an error).
// ESP: fewer than 8 bytes panics in gopacket (no layer); otherwise the
// whole data is the layer's Contents and decoding stops.

import { L_IPSEC_AH, L_IPSEC_ESP, L_NONE } from '../ids';
import { rd32 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';
import { ipProtocolDecoder, NO_DECODER } from '../registry';

export const AH_NEXT_HEADER: u32 = 0; // u8
export const AH_LENGTH: u32 = 1;      // u8: header length field
export const AH_SPI: u32 = 4;         // u32
export const AH_SEQ: u32 = 8;         // u32

export const ESP_SPI: u32 = 0;        // u32
export const ESP_SEQ: u32 = 4;        // u32

export function decodeIPSecAH(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 12) { markTruncated(); return -1; }
  const al = (<u32>load<u8>(s + 1) + 2) * 4;
  if (len < al) { markTruncated(); return -1; }
  if (al < 12) return -1; // AuthenticationData = data[12:8]: a panic in gopacket
  const i = pushLayer(L_IPSEC_AH, s, al, len - al);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  const nh = load<u8>(s);
  store<u8>(f + AH_NEXT_HEADER, nh);
  store<u8>(f + AH_LENGTH, load<u8>(s + 1));
  store<u32>(f + AH_SPI, rd32(s + 4));
  store<u32>(f + AH_SEQ, rd32(s + 8));
  if (len == al) return L_NONE;
  const next = ipProtocolDecoder(nh);
  return next == NO_DECODER ? -1 : <i32>next;
}

export function decodeIPSecESP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 8) return -1;
  const i = pushLayer(L_IPSEC_ESP, s, len, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u32>(f + ESP_SPI, rd32(s));
  store<u32>(f + ESP_SEQ, rd32(s + 4));
  return L_NONE;
}
