// DHCPv6 (RFC 8415; gopacket layers/dhcpv6.go semantics, v1.1.17).
//
//  0               8                                               32
//  +---------------+-----------------------------------------------+
//  |   msg-type    |               transaction-id                  |  client/server
//  +---------------+-----------------------------------------------+
//  |   options: code (16) | length (16) | data ...                  |
//
//  relay-forw (12) / relay-repl (13):
//  | msg-type | hop-count | link-address (16) | peer-address (16) | options
// Errors, all raised before the layer exists: fewer than 4 bytes; a relay
// message shorter than 34 bytes; an option with fewer than 4 header bytes
// left, or whose length runs past the data. Options are walked to the end of
// the data (no end marker). Contents is the whole data, the payload is empty,
// so the NextDecoder(Payload) call stops quietly.

import { L_DHCPV6, L_NONE } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';

export const DHCP6_MSG_TYPE: u32 = 0;  // u8
export const DHCP6_HOP_COUNT: u32 = 1; // u8 (relay messages)
export const DHCP6_N_OPTIONS: u32 = 2; // u16: number of top-level options

export function decodeDHCPv6(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 4) { markTruncated(); return -1; }
  const type = <u32>load<u8>(s);
  let off: u32 = 4;
  if (type == 12 || type == 13) {
    if (len < 34) { markTruncated(); return -1; }
    off = 34;
  }
  let n: u32 = 0;
  while (off < len) {
    if (len - off < 4) return -1;
    const olen = rd16(s + off + 2);
    if (len - off - 4 < olen) return -1;
    off += 4 + olen;
    n++;
  }
  const i = pushLayer(L_DHCPV6, s, len, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + DHCP6_MSG_TYPE, <u8>type);
  if (type == 12 || type == 13) store<u8>(f + DHCP6_HOP_COUNT, load<u8>(s + 1));
  store<u16>(f + DHCP6_N_OPTIONS, <u16>n);
  return L_NONE;
}
