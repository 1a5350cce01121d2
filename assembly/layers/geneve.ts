// Geneve (RFC 8926, then draft-ietf-nvo3-geneve-03; gopacket v1.1.17
// layers/geneve.go).
//
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |        Virtual Network Identifier (VNI)       |    Reserved   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Options: class (16) | type (8) | R R R | length (5) | data  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// gopacket facts reproduced here (all failures come before the layer):
// - fewer than 7 bytes, or fewer than 7 + options length: truncated error;
// - options are walked until the declared options length is used up, each
//   taking 4 + 4·(byte 3 & 0x0F) bytes: gopacket masks 4 bits, not the
//   5-bit length field. A last option may run past the declared length;
//   an option shorter than 3 bytes or longer than the rest of the data is a
//   truncated error (exactly 3 bytes left panics);
// - the header end is an 8-bit offset (Go uint8) that wraps past 255, so
//   the Contents length is taken modulo 256;
// - next: the protocol type through the EtherType table (0x6558 Ethernet,
//   0x0800 IPv4, ...); an unknown type ends the decoding quietly.

import { L_GENEVE, L_NONE } from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';
import { etherTypeDecoder, NO_DECODER } from '../registry';

export const GENEVE_VNI: u32 = 0;      // u32: 24-bit VNI
export const GENEVE_PROTOCOL: u32 = 4; // u16: protocol type (EtherType)
export const GENEVE_OPTLEN: u32 = 6;   // u8: options length in bytes (field × 4)
export const GENEVE_FLAGS: u32 = 7;    // u8: GENEVE_O | GENEVE_C
export const GENEVE_VERSION: u32 = 8;  // u8: 2-bit version (gopacket keeps only its top bit)
export const GENEVE_O: u8 = 0x80;      // OAM packet
export const GENEVE_C: u8 = 0x40;      // critical options present

export function decodeGeneve(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 7) { markTruncated(); return -1; }
  const b0 = <u32>load<u8>(s);
  const optLen = (b0 & 0x3f) * 4;
  if (len < optLen + 7) { markTruncated(); return -1; }
  let off: u32 = 8;           // Go uint8
  let left: i32 = <i32>optLen;
  while (left > 0) {
    if (off > len) return -1;  // data[off:] panics
    const rem = len - off;
    if (rem < 3) { markTruncated(); return -1; }
    if (rem < 4) return -1;    // data[3] panics
    const olen = (<u32>load<u8>(s + off + 3) & 0x0f) * 4 + 4;
    if (rem < olen) { markTruncated(); return -1; }
    left -= <i32>olen;
    off = (off + olen) & 0xff;
  }
  if (off > len) return -1;    // data[off:] panics (e.g. exactly 7 bytes)
  const i = pushLayer(L_GENEVE, s, off, len - off);
  if (i < 0) return -1;
  const proto = rd16(s + 2);
  const f = fieldsOf(<u32>i);
  // 8 bytes are known to be there unless the data is exactly 7 bytes long,
  // which failed above (off = 8 > 7); rd32 at 4 reads bytes 4..7.
  store<u32>(f + GENEVE_VNI, rd32(s + 4) >> 8);
  store<u16>(f + GENEVE_PROTOCOL, <u16>proto);
  store<u8>(f + GENEVE_OPTLEN, <u8>optLen);
  store<u8>(f + GENEVE_FLAGS, <u8>(load<u8>(s + 1) & 0xc0));
  store<u8>(f + GENEVE_VERSION, <u8>(b0 >> 6));
  const next = etherTypeDecoder(proto);
  return next == NO_DECODER ? L_NONE : <i32>next;
}
