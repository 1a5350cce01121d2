// RUDP (Reliable UDP, IP protocol 27 in gopacket's table), gopacket v1.1.17 layers/rudp.go.
//
//  0        8        16       24       32
//  +--------+--------+--------+--------+
//  | flags  | hdrlen | srcprt | dstprt |   flags: SYN 0x80 ACK 0x40 EACK 0x20 RST 0x10 NUL 0x08, version = low 2 bits
//  |   data length   |   seq (32) ...  |   hdrlen counts 16-bit words (at least 9)
//  |  ... seq | ack (32)      | checksum (32) ...
//  | variable header area (SYN: 6 bytes; EACK: 4-byte sequence numbers)
//  +-----------------------------------+
//
// gopacket reads 18 bytes unchecked (fewer: a panic, no layer). A header
// length below 9 words is an error; a header or data length beyond the data
// panics; a SYN whose variable area is not 6 bytes, or (without SYN) an EACK
// whose area is not a multiple of 4, is an error; all without a layer.
// Contents = hdrlen*2 bytes, Payload = exactly the data length that follows
// (not the rest), then Payload. The layer is the transport layer (gopacket
// EndpointRUDPPort, endpoint type 7, with ONE-byte ports).

import { L_PAYLOAD, L_RUDP } from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, pushLayer, setFlags, setTransportLayer } from '../packet';
import { PORTS_PARSED } from './fields';

export const RUDP_SRC: u32 = 0;         // u16 (the port is one byte on the wire)
export const RUDP_DST: u32 = 2;         // u16 (one byte on the wire)
export const RUDP_FLAGS: u32 = 4;       // u8: byte 0 as sent
export const RUDP_HDRLEN: u32 = 5;      // u8: header length in 16-bit words
export const RUDP_DATA_LENGTH: u32 = 6; // u16
export const RUDP_SEQ: u32 = 8;         // u32
export const RUDP_ACK: u32 = 12;        // u32

export function decodeRUDP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 18) return -1;
  const hl = <u32>load<u8>(s + 1);
  if (hl < 9) return -1;
  const hlen = hl * 2;
  const dl = rd16(s + 4);
  if (hlen + dl > len) return -1;
  const flags = <u32>load<u8>(s);
  const area = hlen - 18;
  if (flags & 0x80) {
    if (area != 6) return -1;
  } else if (flags & 0x20) {
    if (area % 4 != 0) return -1;
  }
  const i = pushLayer(L_RUDP, s, hlen, dl);
  if (i < 0) return -1;
  setTransportLayer(i);
  const f = fieldsOf(<u32>i);
  store<u16>(f + RUDP_SRC, <u16>load<u8>(s + 2));
  store<u16>(f + RUDP_DST, <u16>load<u8>(s + 3));
  setFlags(i, PORTS_PARSED);
  store<u8>(f + RUDP_FLAGS, <u8>flags);
  store<u8>(f + RUDP_HDRLEN, <u8>hl);
  store<u16>(f + RUDP_DATA_LENGTH, <u16>dl);
  store<u32>(f + RUDP_SEQ, rd32(s + 6));
  store<u32>(f + RUDP_ACK, rd32(s + 10));
  return L_PAYLOAD;
}
