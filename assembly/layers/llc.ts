// IEEE 802.2 LLC, SNAP and STP (gopacket v1.1.17 layers/llc.go, stp.go).
//
// LLC (IEEE 802.2):
//  0        8        16               24/32
//  +--------+--------+--------+--------+
//  |DSAP  |I|SSAP  |C| control (8 or 16)|
//  +--------+--------+--------+--------+
// The control field is 16 bits when its low bit is 0 (I-format) or its two
// low bits are 01 (S-format); 8 bits for U-format (low bits 11).
//
// SNAP (IEEE 802-2001, after LLC AA/AA):
//  0                        24               40
//  +------------------------+----------------+
//  | organizational code    | EtherType      |
//  +------------------------+----------------+
//
// gopacket facts reproduced here:
// - LLC shorter than 3 bytes, or than 4 with a 16-bit control, is an error
//   raised before the layer exists.
// - After LLC: DSAP=SSAP=0xAA → SNAP, DSAP=SSAP=0x42 → STP, anything else is
//   LayerTypeZero handed to NextDecoder, whose decoder ("Unknown") always
//   errors: a DecodeFailure follows, unless the payload is empty.
// - SNAP shorter than 5 bytes is an error before the layer; its type goes
//   through the EtherType table like Ethernet's (an unknown type is an error).
// - STP is not parsed in v1.1.17: the layer takes all its bytes as Contents,
//   never fails and ends the decoding.

import { L_LLC, L_SNAP, L_STP, L_NONE } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, pushLayer } from '../packet';
import { etherTypeDecoder, NO_DECODER } from '../registry';

/** LLC fields (from fieldsOf). */
export const LLC_DSAP: u32 = 0;    // u8: DSAP with the I/G bit cleared
export const LLC_SSAP: u32 = 1;    // u8: SSAP with the C/R bit cleared
export const LLC_IG: u32 = 2;      // u8: 1 = group address
export const LLC_CR: u32 = 3;      // u8: 1 = response
export const LLC_CONTROL: u32 = 4; // u16: 8- or 16-bit control field
/** SNAP fields. */
export const SNAP_OUI: u32 = 0;    // u32: 24-bit organizational code
export const SNAP_TYPE: u32 = 4;   // u16: protocol (EtherType)

export function decodeLLC(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 3) return -1;
  const b0 = <u32>load<u8>(s), b1 = <u32>load<u8>(s + 1);
  let control = <u32>load<u8>(s + 2);
  let hlen: u32 = 3;
  if ((control & 1) == 0 || (control & 3) == 1) {
    if (len < 4) return -1;
    control = (control << 8) | <u32>load<u8>(s + 3);
    hlen = 4;
  }
  const i = pushLayer(L_LLC, s, hlen, len - hlen);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  const dsap = b0 & 0xfe, ssap = b1 & 0xfe;
  store<u8>(f + LLC_DSAP, <u8>dsap);
  store<u8>(f + LLC_SSAP, <u8>ssap);
  store<u8>(f + LLC_IG, <u8>(b0 & 1));
  store<u8>(f + LLC_CR, <u8>(b1 & 1));
  store<u16>(f + LLC_CONTROL, <u16>control);
  if (dsap == 0xaa && ssap == 0xaa) return L_SNAP;
  if (dsap == 0x42 && ssap == 0x42) return L_STP;
  // LayerTypeZero's decoder is gopacket's "Layer type not currently supported".
  return len > hlen ? -1 : L_NONE;
}

export function decodeSNAP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 5) return -1;
  const i = pushLayer(L_SNAP, s, 5, len - 5);
  if (i < 0) return -1;
  const type = rd16(s + 3);
  const f = fieldsOf(<u32>i);
  store<u32>(f + SNAP_OUI, (<u32>load<u8>(s) << 16) | rd16(s + 1));
  store<u16>(f + SNAP_TYPE, <u16>type);
  const next = etherTypeDecoder(type);
  if (next != NO_DECODER) return <i32>next;
  // An unknown type errors only when there is something to decode.
  return len > 5 ? -1 : L_NONE;
}

/** STP: no fields in v1.1.17; every byte is Contents and decoding ends here. */
export function decodeSTP(s: usize, e: usize): i32 {
  if (pushLayer(L_STP, s, <u32>(e - s), 0) < 0) return -1;
  return L_NONE;
}
