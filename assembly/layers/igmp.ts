// IGMP v1/v2/v3 (RFC 1112, 2236, 3376; gopacket v1.1.17 layers/igmp.go).
//
//  0       8       16              32
//  +-------+-------+---------------+
//  | type  |maxresp|   checksum    |
//  |        group address          |   v1/v2: 8 bytes
//  |resv|S|QRV|QQIC| nb of sources |   v3 query: 12 bytes + 4 per source
//  +-------------------------------+
//
// gopacket picks the message form from the type byte and the length:
// * 0x11 query: 12 bytes or more is an IGMPv3 query, exactly 8 is v1 (max
//   response 0) or v2, any other length is an error;
// * 0x22 v3 report: always an IGMP layer, even when too short, because
//   gopacket ignores the errors of its v3 report and query parsers;
// * 0x12 (v1 report), 0x16 (v2 report), 0x17 (leave): 8 bytes or more;
// * any other type, or no byte at all: an error.
// The layer carries no Contents/Payload and ends decoding.

import { L_IGMP, L_NONE } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, pushLayer } from '../packet';

export const IGMP_TYPE: u32 = 0;         // u8
export const IGMP_VERSION: u32 = 1;      // u8: 1, 2 or 3 as gopacket decides
export const IGMP_MAX_RESPONSE: u32 = 2; // u8: raw max response code
export const IGMP_GROUP: u32 = 4;        // 4 bytes: group address (v1/v2, v3 query)
export const IGMP_COUNT: u32 = 8;        // u16: v3 query number of sources, v3 report number of group records

export function decodeIGMP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 1) return -1;
  const type = load<u8>(s);
  let version: u8 = 0;
  switch (type) {
    case 0x11:
      if (len >= 12) version = 3;
      else if (len == 8) version = load<u8>(s + 1) == 0 ? 1 : 2;
      else return -1;
      break;
    case 0x22: version = 3; break;
    case 0x12: if (len < 8) return -1; version = 1; break;
    case 0x16: case 0x17: if (len < 8) return -1; version = 2; break;
    default: return -1;
  }
  const i = pushLayer(L_IGMP, s, 0, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + IGMP_TYPE, type);
  store<u8>(f + IGMP_VERSION, version);
  if (type == 0x22) {
    if (len >= 8) store<u16>(f + IGMP_COUNT, <u16>rd16(s + 6));
  } else {
    store<u8>(f + IGMP_MAX_RESPONSE, load<u8>(s + 1));
    memory.copy(f + IGMP_GROUP, s + 4, 4);
    if (version == 3) store<u16>(f + IGMP_COUNT, <u16>rd16(s + 10));
  }
  return L_NONE;
}
