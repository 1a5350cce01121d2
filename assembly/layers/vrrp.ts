// VRRPv2 (RFC 3768), gopacket v1.1.17 layers/vrrp.go (IP protocol 112).
//
//  0       4       8               16              24              32
//  +-------+-------+---------------+---------------+---------------+
//  |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//  |   Auth Type   |   Adver Int   |          Checksum             |
//  |                 IP Address (1) ... (n)                        |
//  |                 Authentication Data (8, ignored)              |
//  +---------------------------------------------------------------+
//
// gopacket's decoder (a DecodingLayer: every error leaves no layer):
// fewer than 8 bytes, a type other than 1, or a zero address count is an
// error; the addresses are sliced without a check, so a count beyond the
// data panics (also no layer). The version nibble is not checked. Contents
// is the whole data, there is no payload and decoding stops.
// Skydive's VRRP extra layer reads Version, VirtualRtrID, Priority, AdverInt.

import { L_NONE, L_VRRP } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, pushLayer } from '../packet';

export const VRRP_VERSION: u32 = 0;   // u8: high nibble of byte 0
export const VRRP_TYPE: u32 = 1;      // u8: low nibble of byte 0 (always 1 here)
export const VRRP_VRID: u32 = 2;      // u8: VirtualRtrID
export const VRRP_PRIORITY: u32 = 3;  // u8
export const VRRP_COUNT: u32 = 4;     // u8: CountIPAddr
export const VRRP_AUTH_TYPE: u32 = 5; // u8
export const VRRP_ADVER_INT: u32 = 6; // u8: AdverInt (seconds)
export const VRRP_CHECKSUM: u32 = 8;  // u16
/** The IPv4 addresses are read in place: CountIPAddr x 4 bytes at +8 of the layer start. */
export const VRRP_ADDR_OFF: u32 = 8;

export function decodeVRRP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 8) return -1;
  const b0 = <u32>load<u8>(s);
  if ((b0 & 0x0f) != 1) return -1;
  const count = <u32>load<u8>(s + 3);
  if (count < 1) return -1;
  if (<u32>8 + count * 4 > len) return -1;
  const i = pushLayer(L_VRRP, s, len, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + VRRP_VERSION, <u8>(b0 >> 4));
  store<u8>(f + VRRP_TYPE, <u8>(b0 & 0x0f));
  store<u8>(f + VRRP_VRID, load<u8>(s + 1));
  store<u8>(f + VRRP_PRIORITY, load<u8>(s + 2));
  store<u8>(f + VRRP_COUNT, <u8>count);
  store<u8>(f + VRRP_AUTH_TYPE, load<u8>(s + 4));
  store<u8>(f + VRRP_ADVER_INT, load<u8>(s + 5));
  store<u16>(f + VRRP_CHECKSUM, <u16>rd16(s + 6));
  return L_NONE;
}
