// TCP (RFC 9293; gopacket layers/tcp.go semantics).
//
//  0              16              32
//  +---------------+---------------+
//  | source port   | dest port     |
//  |        sequence number        |
//  |     acknowledgment number     |
//  |off|rsv|flags  |    window     |
//  |  checksum     | urgent ptr    |
//  |  options (off > 5) ...        |
//  +-------------------------------+
// The layer exists even when the header is bad (gopacket adds it before
// returning the error), so a 10-byte TCP header still makes a TCP flow with
// ports 0. TCP payloads are never decoded further: always Payload.

import { L_PAYLOAD, L_TCP } from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, markTruncated, pushLayer, setFlags, setHeader, setTransportLayer } from '../packet';
import { PORTS_PARSED } from './fields';

export const TCP_SRC: u32 = 0;    // u16
export const TCP_DST: u32 = 2;    // u16
export const TCP_SEQ: u32 = 4;    // u32
export const TCP_ACK: u32 = 8;    // u32
export const TCP_FLAGS: u32 = 12; // u16: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128, NS 256

export const TCP_FIN: u32 = 1;
export const TCP_SYN: u32 = 2;
export const TCP_RST: u32 = 4;
export const TCP_ACKF: u32 = 16;

// Inlined: the decode loop runs it without a call (registry.ts decodeLayer).
@inline export function decodeTCP(s: usize, e: usize): i32 {
  const dlen = <u32>(e - s);
  const i = pushLayer(L_TCP, s, 0, 0);
  if (i < 0) return -1;
  setTransportLayer(i);
  if (dlen < 20) { markTruncated(); return -1; }
  const f = fieldsOf(<u32>i);
  store<u16>(f + TCP_SRC, <u16>rd16(s));
  store<u16>(f + TCP_DST, <u16>rd16(s + 2));
  setFlags(i, PORTS_PARSED);
  store<u32>(f + TCP_SEQ, rd32(s + 4));
  store<u32>(f + TCP_ACK, rd32(s + 8));
  const off = <u32>load<u8>(s + 12) >> 4;
  store<u16>(f + TCP_FLAGS, <u16>(((<u32>load<u8>(s + 12) & 1) << 8) | <u32>load<u8>(s + 13)));
  if (off < 5) return -1;
  const hlen = off * 4;
  if (hlen > dlen) {
    markTruncated();
    setHeader(i, dlen, 0);
    return -1;
  }
  setHeader(i, hlen, dlen - hlen);
  // gopacket parses every option byte, even after an end-of-list (its `break`
  // leaves only the switch), so bytes after EOL are read as options too.
  let o = s + 20;
  const oe = s + hlen;
  while (o < oe) {
    const t = load<u8>(o);
    if (t == 0 || t == 1) { o++; continue; }
    if (oe - o < 2) { markTruncated(); return -1; }
    const ol = <u32>load<u8>(o + 1);
    if (ol < 2) return -1;
    if (ol > <u32>(oe - o)) { markTruncated(); return -1; }
    o += ol;
  }
  return L_PAYLOAD;
}
