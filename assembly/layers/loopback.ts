// BSD loopback / NULL encapsulation, link type 0 (DLT_NULL;
// https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html; gopacket v1.1.17
// layers/loopback.go).
//
//  0                               32
//  +-------------------------------+-----------
//  | protocol family (host order)  | payload
//  +-------------------------------+-----------
// The family is written in the capturing host's byte order. gopacket's
// guess, reproduced here: if the first two bytes are zero the value is read
// big-endian, otherwise little-endian; a value above 255 is an error. Both
// errors (and fewer than 4 bytes) come before the layer exists. The layer is
// not a link layer for gopacket. Next: PF_INET (2) → IPv4; the BSD, FreeBSD,
// Darwin and Linux PF_INET6 values (24, 28, 30, 10) → IPv6; any other family
// is an error (when there is a payload to decode).

import { L_IPV4, L_IPV6, L_LOOPBACK, L_NONE } from '../ids';
import { rd32 } from '../mem';
import { fieldsOf, pushLayer } from '../packet';

export const LOOPBACK_FAMILY: u32 = 0; // u8: protocol family

export function decodeLoopback(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 4) return -1;
  const prot = load<u8>(s) == 0 && load<u8>(s + 1) == 0 ? rd32(s) : load<u32>(s);
  if (prot > 0xff) return -1;
  const i = pushLayer(L_LOOPBACK, s, 4, len - 4);
  if (i < 0) return -1;
  store<u8>(fieldsOf(<u32>i) + LOOPBACK_FAMILY, <u8>prot);
  if (prot == 2) return L_IPV4;
  if (prot == 24 || prot == 28 || prot == 30 || prot == 10) return L_IPV6;
  return len > 4 ? -1 : L_NONE;
}
