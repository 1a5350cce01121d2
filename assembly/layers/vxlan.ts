// VXLAN (RFC 7348, with the Group Policy extension of
// draft-smith-vxlan-group-policy; gopacket v1.1.17 layers/vxlan.go).
//
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |G|R|R|R|I|R|R|R|A|D|R|R|R|R|R|R|       Group Policy ID         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     24-bit VXLAN Network Identifier           |   Reserved    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// gopacket facts reproduced here:
// - fewer than 8 bytes is an error before the layer exists;
// - no flag is checked: the I bit, the reserved bits and a VXLAN-GPE next
//   protocol are all ignored; the VNI is read whatever the I bit says;
// - the next layer is always Ethernet, gopacket's full Ethernet decoder (the
//   inner Ethernet never becomes the packet's link layer: the outer one was
//   set first).
// Only the UDP port leads here (4789, Skydive's 8472, configured ports).

import { L_ETHERNET, L_VXLAN } from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, pushLayer } from '../packet';

export const VXLAN_VNI: u32 = 0;      // u32: 24-bit VNI
export const VXLAN_FLAGS: u32 = 4;    // u8: VXLAN_I | VXLAN_G | VXLAN_D | VXLAN_A
export const VXLAN_POLICY: u32 = 6;   // u16: group policy ID
export const VXLAN_I: u8 = 0x08;      // valid VNI
export const VXLAN_G: u8 = 0x80;      // group policy extension
export const VXLAN_D: u8 = 0x40;      // don't learn
export const VXLAN_A: u8 = 0x20;      // policy applied

export function decodeVXLAN(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 8) return -1;
  const i = pushLayer(L_VXLAN, s, 8, len - 8);
  if (i < 0) return -1;
  const b0 = <u32>load<u8>(s), b1 = <u32>load<u8>(s + 1);
  const f = fieldsOf(<u32>i);
  store<u32>(f + VXLAN_VNI, rd32(s + 4) >> 8);
  store<u8>(f + VXLAN_FLAGS, <u8>((b0 & 0x88) | ((b1 & 0x40) != 0 ? VXLAN_D : 0) | ((b1 & 0x80) != 0 ? VXLAN_A : 0)));
  store<u16>(f + VXLAN_POLICY, <u16>rd16(s + 2));
  return L_ETHERNET;
}
