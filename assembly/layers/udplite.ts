// UDP-Lite (RFC 3828), gopacket v1.1.17 layers/udplite.go.
//
//  0              16              32
//  +---------------+---------------+
//  | source port   | dest port     |
//  | cksum coverage| checksum      |
//  +---------------+---------------+
//
// gopacket reads the 8-byte header without any check (fewer than 8 bytes is
// a panic: no layer, DecodeFailure), adds the layer, declares it the
// transport layer (gopacket EndpointUDPLitePort, endpoint type 8, 2-byte
// ports) and hands everything after the header to Payload: no port lookup,
// no coverage check.

import { L_PAYLOAD, L_UDPLITE } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, pushLayer, setFlags, setTransportLayer } from '../packet';
import { PORTS_PARSED } from './fields';

export const UDPLITE_SRC: u32 = 0;      // u16
export const UDPLITE_DST: u32 = 2;      // u16
export const UDPLITE_COVERAGE: u32 = 4; // u16
export const UDPLITE_CHECKSUM: u32 = 6; // u16

export function decodeUDPLite(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 8) return -1;
  const i = pushLayer(L_UDPLITE, s, 8, len - 8);
  if (i < 0) return -1;
  setTransportLayer(i);
  const f = fieldsOf(<u32>i);
  store<u16>(f + UDPLITE_SRC, <u16>rd16(s));
  store<u16>(f + UDPLITE_DST, <u16>rd16(s + 2));
  setFlags(i, PORTS_PARSED);
  store<u16>(f + UDPLITE_COVERAGE, <u16>rd16(s + 4));
  store<u16>(f + UDPLITE_CHECKSUM, <u16>rd16(s + 6));
  return L_PAYLOAD;
}
