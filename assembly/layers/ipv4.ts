// IPv4 (RFC 791; gopacket layers/ip4.go semantics).
//
//  0       4       8              16    19             31
//  +-------+-------+---------------+-----+--------------+
//  |Version|  IHL  |     TOS       |     Total Length   |
//  |     Identification            |Flags| Frag Offset  |
//  |     TTL       |   Protocol    |  Header Checksum   |
//  |                  Source Address                     |
//  |                Destination Address                  |
//  |                Options (IHL > 5)                    |
//  +-----------------------------------------------------+
// gopacket adds the IPv4 layer even when the header is bad, with whatever
// fields it had parsed: a frame shorter than 20 bytes gives an IPv4 layer
// without addresses (Skydive then prints "<nil>"). Those partial layers are
// reproduced here because they decide flow keys and Network fields.

import { L_FRAGMENT, L_IPV4, L_NONE } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, markTruncated, pushLayer, setFlags, setHeader, setNetworkLayer } from '../packet';
import { ipProtocolDecoder, NO_DECODER } from '../registry';

export const IP4_SRC: u32 = 0;       // 4 bytes
export const IP4_DST: u32 = 4;       // 4 bytes
export const IP4_LENGTH: u32 = 8;    // u16: total length (the data length when the field is 0: TSO)
export const IP4_TTL: u32 = 10;      // u8
export const IP4_PROTOCOL: u32 = 11; // u8
export const IP4_FLAGS: u32 = 12;    // u8: 3 flag bits (bit 1 = DF, bit 0 = MF)
export const IP4_IHL: u32 = 13;      // u8
export const IP4_FRAGOFF: u32 = 14;  // u16: fragment offset in 8-byte units
export const IP4_ID: u32 = 16;       // u16
/** Layer flag: source and destination were parsed (else gopacket's nil addresses). */
export const IP4_HAS_ADDR: u8 = 1;

export const IP4_MF: u32 = 1;
export const IP4_DF: u32 = 2;

// Inlined: the decode loop runs it without a call (registry.ts decodeLayer).
@inline export function decodeIPv4(s: usize, e: usize): i32 {
  const dlen = <u32>(e - s);
  if (dlen < 20) {
    markTruncated();
    const j = pushLayer(L_IPV4, s, 0, 0);
    if (j >= 0) setNetworkLayer(j);
    return -1;
  }
  // Contents start as the whole data until the header is validated.
  const i = pushLayer(L_IPV4, s, dlen, 0);
  if (i < 0) return -1;
  setNetworkLayer(i);
  const f = fieldsOf(<u32>i);
  const ihl = <u32>load<u8>(s) & 0x0f;
  const flagsFrag = rd16(s + 6);
  let length = rd16(s + 2);
  memory.copy(f + IP4_SRC, s + 12, 8);
  store<u8>(f + IP4_TTL, load<u8>(s + 8));
  store<u8>(f + IP4_PROTOCOL, load<u8>(s + 9));
  store<u8>(f + IP4_FLAGS, <u8>(flagsFrag >> 13));
  store<u8>(f + IP4_IHL, <u8>ihl);
  store<u16>(f + IP4_FRAGOFF, <u16>(flagsFrag & 0x1fff));
  store<u16>(f + IP4_ID, <u16>rd16(s + 4));
  setFlags(i, IP4_HAS_ADDR);
  if (length == 0) length = dlen & 0xffff; // TSO: the driver left the length to us
  store<u16>(f + IP4_LENGTH, <u16>length);
  if (length < 20 || ihl < 5 || ihl * 4 > length) return -1;
  let avail = dlen;
  if (dlen > length) avail = length;
  else if (dlen < length) {
    markTruncated();
    if (ihl * 4 > dlen) return -1;
  }
  const hlen = ihl * 4;
  setHeader(i, hlen, avail - hlen);
  // Options are validated as gopacket does: a bad option length is an error.
  let o = s + 20;
  const oe = s + hlen;
  while (o < oe) {
    const t = load<u8>(o);
    if (t == 0) break; // end of options, the rest is padding
    if (t == 1) { o++; continue; }
    if (oe - o < 2) { markTruncated(); return -1; }
    const ol = <u32>load<u8>(o + 1);
    if (<u32>(oe - o) < ol) { markTruncated(); return -1; }
    if (ol <= 2) return -1;
    o += ol;
  }
  if ((flagsFrag >> 13) & IP4_MF || (flagsFrag & 0x1fff) != 0) return L_FRAGMENT;
  // gopacket's NextDecoder stops on an empty payload before looking the protocol up.
  if (avail == hlen) return L_NONE;
  const next = ipProtocolDecoder(load<u8>(s + 9));
  return next == NO_DECODER ? -1 : <i32>next; // unknown protocol: a decode error
}
