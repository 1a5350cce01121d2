// Linux "cooked" capture headers: SLL (link type 113) and SLL2 (link type 276)
// (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html and
// LINKTYPE_LINUX_SLL2.html; gopacket v1.1.17 layers/linux_sll.go for SLL).
//
// SLL, 16 bytes:
//  0            2            4            6                      14           16
//  +------------+------------+------------+----------------------+------------+
//  | packet type| ARPHRD type| addr length| link-layer address(8)| protocol   |
//  +------------+------------+------------+----------------------+------------+
// SLL2, 20 bytes:
//  0            2            4              8            10   11   12                  20
//  +------------+------------+--------------+------------+----+----+-------------------+
//  | protocol   | reserved   | if index     | ARPHRD type|pkt |alen| link-layer addr(8)|
//  +------------+------------+--------------+------------+----+----+-------------------+
//
// gopacket facts reproduced for SLL:
// - fewer than 16 bytes is an error before the layer exists;
// - the address is sliced as data[6 : addrLen+6] with addrLen+6 computed in
//   16 bits: a result below 6 or past the captured data panics (no layer),
//   although the address field itself is only 8 bytes;
// - the layer is the packet's link layer (SetLinkLayer) and the protocol
//   goes through the EtherType table, an unknown one being an error.
// SLL2 is not in gopacket v1.1.17 (Skydive truncates link type 276 to 20 and
// fails every packet). It is decoded here on purpose, the SLL way: a
// "Linux SLL2" link layer, then the protocol through the EtherType table.
// The address length byte is kept as a field but not checked (the address
// field is always 8 bytes).

import { L_LINUX_SLL, L_LINUX_SLL2, L_NONE } from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, pushLayer, setLinkLayer } from '../packet';
import { etherTypeDecoder, NO_DECODER } from '../registry';

/** Field offsets shared by SLL and SLL2 (from fieldsOf). */
export const SLL_PROTOCOL: u32 = 0;    // u16: EtherType of the payload
export const SLL_PKTTYPE: u32 = 2;     // u16: packet type (0 host, 1 broadcast, ..., 4 outgoing)
export const SLL_ARPHRD: u32 = 4;      // u16: ARPHRD_* link type of the device
export const SLL_ADDRLEN: u32 = 6;     // u16: link-layer address length as written
export const SLL2_IFINDEX: u32 = 8;    // u32: interface index (SLL2 only)
/** The link-layer address is read in place: +6 of the layer start (SLL), +12 (SLL2). */
export const SLL_ADDR_OFF: u32 = 6;
export const SLL2_ADDR_OFF: u32 = 12;

export function decodeLinuxSLL(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 16) return -1;
  const addrLen = rd16(s + 4);
  const hi: u32 = (addrLen + 6) & 0xffff; // Go uint16 arithmetic
  if (hi < 6 || hi > len) return -1;  // data[6:hi] panics
  const i = pushLayer(L_LINUX_SLL, s, 16, len - 16);
  if (i < 0) return -1;
  const type = rd16(s + 14);
  const f = fieldsOf(<u32>i);
  store<u16>(f + SLL_PROTOCOL, <u16>type);
  store<u16>(f + SLL_PKTTYPE, <u16>rd16(s));
  store<u16>(f + SLL_ARPHRD, <u16>rd16(s + 2));
  store<u16>(f + SLL_ADDRLEN, <u16>addrLen);
  setLinkLayer(i);
  return nextByEtherType(type, len > 16);
}

export function decodeLinuxSLL2(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 20) return -1;
  const i = pushLayer(L_LINUX_SLL2, s, 20, len - 20);
  if (i < 0) return -1;
  const type = rd16(s);
  const f = fieldsOf(<u32>i);
  store<u16>(f + SLL_PROTOCOL, <u16>type);
  store<u16>(f + SLL_PKTTYPE, <u16>load<u8>(s + 10));
  store<u16>(f + SLL_ARPHRD, <u16>rd16(s + 8));
  store<u16>(f + SLL_ADDRLEN, <u16>load<u8>(s + 11));
  store<u32>(f + SLL2_IFINDEX, rd32(s + 4));
  setLinkLayer(i);
  return nextByEtherType(type, len > 20);
}

/** EthernetType as a decoder: an unknown type errors, but only on a non-empty payload. */
function nextByEtherType(type: u32, hasPayload: bool): i32 {
  const next = etherTypeDecoder(type);
  if (next != NO_DECODER) return <i32>next;
  return hasPayload ? -1 : L_NONE;
}
