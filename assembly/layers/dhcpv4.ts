// DHCPv4 / BOOTP (RFC 2131, 2132; gopacket layers/dhcpv4.go semantics, v1.1.17).
//
//  0               8               16              24              32
//  +---------------+---------------+---------------+---------------+
//  |      op       |     htype     |     hlen      |     hops      |
//  |                              xid                              |
//  |             secs              |             flags             |
//  |  ciaddr  |  yiaddr  |  siaddr  |  giaddr      (4 x 4 bytes)    |
//  |  chaddr (16)  +44  sname (64)  +108  file (128)  +236  magic   |
//  +---------------------------------------------------------------+ 240
//  |  options: code | len | data ... (0 = pad, 255 = end)            |
// v1.1.17 behaviour (all failures come before the layer exists):
// * fewer than 240 bytes: error (truncated);
// * chaddr is sliced as data[28 : 28+hlen]: an hlen that reaches past the
//   data panics. (Go slices against the capacity, which runs to the end of
//   the captured frame; here the UDP payload end is used, see the report.)
// * magic cookie other than 63 82 53 63: error;
// * options, walked to the end of the data or the first End (255): Pad (0)
//   is one byte; any other code needs a length byte (fewer than 2 bytes
//   left: error) and its data must fit (else error);
// * Contents and Payload stay EMPTY: gopacket v1.1.17 never set them (fixed
//   upstream in 2020, after v1.1.17), so the record has 0/0 lengths and the
//   NextDecoder(Payload) call stops quietly.
// Fields kept for Skydive's DHCPv4 extra layer (spec section 4.1). ServerName and
// File are raw fixed-size byte strings read in place: ServerName is the 64
// bytes at layer start + DHCP4_SERVER_NAME_OFF, File the 128 bytes at layer
// start + DHCP4_FILE_OFF (the layer start address is in the record).

import { L_DHCPV4, L_NONE } from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';

export const DHCP4_FLAGS: u32 = 0;         // u16
export const DHCP4_SECS: u32 = 2;          // u16
export const DHCP4_HARDWARE_LEN: u32 = 4;  // u8
export const DHCP4_HARDWARE_OPTS: u32 = 5; // u8 (the "hops" byte)
export const DHCP4_OPERATION: u32 = 6;     // u8
export const DHCP4_HARDWARE_TYPE: u32 = 7; // u8
export const DHCP4_XID: u32 = 8;           // u32
export const DHCP4_N_OPTIONS: u32 = 12;    // u16: options before End (pads included)
/** Offsets from the layer start (not the field area) of the in-place strings. */
export const DHCP4_SERVER_NAME_OFF: u32 = 44; // 64 bytes
export const DHCP4_SERVER_NAME_LEN: u32 = 64;
export const DHCP4_FILE_OFF: u32 = 108;       // 128 bytes
export const DHCP4_FILE_LEN: u32 = 128;

export function decodeDHCPv4(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 240) { markTruncated(); return -1; }
  const hlen = <u32>load<u8>(s + 2);
  if (hlen + 28 > len) return -1;
  if (rd32(s + 236) != 0x63825363) return -1;
  let off: u32 = 240;
  let n: u32 = 0;
  while (off < len) {
    const code = <u32>load<u8>(s + off);
    if (code == 255) break;
    n++;
    if (code == 0) { off++; continue; }
    if (len - off < 2) return -1;
    const olen = <u32>load<u8>(s + off + 1);
    if (olen > len - off - 2) return -1;
    off += 2 + olen;
  }
  const i = pushLayer(L_DHCPV4, s, 0, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u16>(f + DHCP4_FLAGS, <u16>rd16(s + 10));
  store<u16>(f + DHCP4_SECS, <u16>rd16(s + 8));
  store<u8>(f + DHCP4_HARDWARE_LEN, <u8>hlen);
  store<u8>(f + DHCP4_HARDWARE_OPTS, load<u8>(s + 3));
  store<u8>(f + DHCP4_OPERATION, load<u8>(s));
  store<u8>(f + DHCP4_HARDWARE_TYPE, load<u8>(s + 1));
  store<u32>(f + DHCP4_XID, rd32(s + 4));
  store<u16>(f + DHCP4_N_OPTIONS, <u16>(n > 0xffff ? 0xffff : n));
  return L_NONE;
}
