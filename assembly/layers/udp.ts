// UDP (RFC 768; gopacket layers/udp.go semantics).
//
//  0              16              32
//  +---------------+---------------+
//  | source port   | dest port     |
//  | length        | checksum      |
//  +---------------+---------------+
// The payload is cut to the length field; a length of 0 (jumbogram) keeps
// all the data. The next decoder comes from the destination port, then the
// source port (registry.udpNextDecoder): VXLAN on 4789 is found by port only.

import { L_UDP } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, markTruncated, pushLayer, setFlags, setHeader, setTransportLayer } from '../packet';
import { PORTS_PARSED } from './fields';
import { udpNextDecoder } from '../registry';

export const UDP_SRC: u32 = 0;    // u16
export const UDP_DST: u32 = 2;    // u16
export const UDP_LENGTH: u32 = 4; // u16

// Inlined: the decode loop runs it without a call (registry.ts decodeLayer).
@inline export function decodeUDP(s: usize, e: usize): i32 {
  const dlen = <u32>(e - s);
  const i = pushLayer(L_UDP, s, 0, 0);
  if (i < 0) return -1;
  setTransportLayer(i);
  if (dlen < 8) { markTruncated(); return -1; }
  const f = fieldsOf(<u32>i);
  const src = rd16(s), dst = rd16(s + 2), length = rd16(s + 4);
  store<u16>(f + UDP_SRC, <u16>src);
  store<u16>(f + UDP_DST, <u16>dst);
  setFlags(i, PORTS_PARSED);
  store<u16>(f + UDP_LENGTH, <u16>length);
  if (length >= 8) {
    let end = length;
    if (end > dlen) { markTruncated(); end = dlen; }
    setHeader(i, 8, end - 8);
  } else if (length == 0) {
    setHeader(i, 8, dlen - 8);
  } else {
    setHeader(i, 8, 0);
    return -1;
  }
  return udpNextDecoder(src, dst);
}
