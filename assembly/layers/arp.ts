// ARP (RFC 826; gopacket v1.1.17 layers/arp.go).
//
//  0               16              32
//  +---------------+---------------+
//  | hardware type | protocol type |
//  | hlen  | plen  | operation     |
//  +---------------+---------------+
//  | sender hw addr (hlen) | sender proto addr (plen) |
//  | target hw addr (hlen) | target proto addr (plen) |
// gopacket facts reproduced here (errors come before the layer exists):
// - fewer than 8 bytes: truncated, error;
// - the header length 8 + 2·hlen + 2·plen is computed in 8 bits (Go uint8),
//   so it wraps past 255; fewer bytes than that wrapped length: truncated,
//   error;
// - the four addresses are sliced with the same 8-bit arithmetic; a slice
//   whose start passes its end, or whose end passes the data, panics;
// - Contents are the (wrapped) header length, the rest (Ethernet padding)
//   is a Payload layer.
// The addresses stay in place; their offsets from the layer start are
// 8, 8+hlen, 8+hlen+plen and 8+2·hlen+plen (no wrap for sane sizes).

import { L_ARP, L_PAYLOAD } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';

export const ARP_HWTYPE: u32 = 0;    // u16: hardware (link) type, 1 = Ethernet
export const ARP_PROTOCOL: u32 = 2;  // u16: protocol EtherType
export const ARP_HWLEN: u32 = 4;     // u8: hardware address size
export const ARP_PROTOLEN: u32 = 5;  // u8: protocol address size
export const ARP_OPERATION: u32 = 6; // u16: 1 request, 2 reply

/** Go's data[lo:hi] on a slice whose capacity ends at `cap`: false when it panics. */
@inline function sliceOk(lo: u32, hi: u32, cap: u32): bool { return lo <= hi && hi <= cap; }

export function decodeARP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 8) { markTruncated(); return -1; }
  const hw = <u32>load<u8>(s + 4), pr = <u32>load<u8>(s + 5);
  const hlen: u32 = (8 + 2 * hw + 2 * pr) & 0xff;
  if (len < hlen) { markTruncated(); return -1; }
  const a: u32 = (8 + hw) & 0xff, b: u32 = (8 + hw + pr) & 0xff;
  const c: u32 = (8 + 2 * hw + pr) & 0xff, d: u32 = (8 + 2 * hw + 2 * pr) & 0xff;
  if (!sliceOk(8, a, len) || !sliceOk(a, b, len) || !sliceOk(b, c, len) || !sliceOk(c, d, len)) return -1;
  const i = pushLayer(L_ARP, s, hlen, len - hlen);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u16>(f + ARP_HWTYPE, <u16>rd16(s));
  store<u16>(f + ARP_PROTOCOL, <u16>rd16(s + 2));
  store<u8>(f + ARP_HWLEN, <u8>hw);
  store<u8>(f + ARP_PROTOLEN, <u8>pr);
  store<u16>(f + ARP_OPERATION, <u16>rd16(s + 6));
  return L_PAYLOAD;
}
