// EtherIP, IP protocol 97 (RFC 3378; gopacket v1.1.17 layers/etherip.go).
//
//  0       4                       16
//  +-------+-----------------------+----------------
//  |version|       reserved        | Ethernet frame
//  +-------+-----------------------+----------------
// gopacket checks nothing: the version (3 on the wire) and reserved bits are
// read as they are. Fewer than 2 bytes panics (no layer). The next layer is
// always Ethernet (gopacket's full Ethernet decoder).

import { L_ETHERIP, L_ETHERNET } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, pushLayer } from '../packet';

export const ETHERIP_VERSION: u32 = 0;  // u8: 4-bit version
export const ETHERIP_RESERVED: u32 = 2; // u16: 12 reserved bits

export function decodeEtherIP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 2) return -1;
  const i = pushLayer(L_ETHERIP, s, 2, len - 2);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + ETHERIP_VERSION, load<u8>(s) >> 4);
  store<u16>(f + ETHERIP_RESERVED, <u16>(rd16(s) & 0x0fff));
  return L_ETHERNET;
}
