// Ethernet Configuration Testing Protocol, EtherType 0x9000 ("loopback";
// http://www.mit.edu/people/jhawk/ctp.html; gopacket v1.1.17 layers/ctp.go).
//
//  EthernetCTP          ForwardData (function 2)       Reply (function 1)
//  +-------------+      +----------+----------------+   +----------+---------+------
//  | skip count  |      | function | forward MAC    |   | function | receipt | data
//  | (LE, 16)    |      | (LE, 16) | (48)           |   | (LE, 16) | (LE,16) |
//  +-------------+      +----------+----------------+   +----------+---------+------
// All numbers are little-endian. gopacket facts reproduced here:
// - EthernetCTP: fewer than 2 bytes panics, an odd skip count is an error;
//   both before the layer exists. The skip count is then ignored: the
//   function records are read right after it.
// - Each function record: 1 = EthernetCTPReply, which takes all the remaining
//   bytes as Contents and ends the decoding; 2 = EthernetCTPForwardData
//   (8 bytes), followed by another record; any other function is an error.
//   Short records (under 4 bytes for a reply, 8 for forward data) panic.

import * as ids from '../ids';
import { L_ETHERNET_CTP, L_ETHERNET_CTP_REPLY, L_NONE } from '../ids';
import { fieldsOf, pushLayer } from '../packet';

/** EthernetCTP field. */
export const CTP_SKIP: u32 = 0;     // u16: skip count
/** EthernetCTPReply fields. */
export const CTP_FUNCTION: u32 = 0; // u16: function code (1)
export const CTP_RECEIPT: u32 = 2;  // u16: receipt number

export function decodeEthernetCTP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 2) return -1;
  const skip = <u32>load<u16>(s); // little-endian on the wire, as wasm loads
  if (skip & 1) return -1;
  const i = pushLayer(L_ETHERNET_CTP, s, 2, len - 2);
  if (i < 0) return -1;
  store<u16>(fieldsOf(<u32>i) + CTP_SKIP, <u16>skip);
  return L_ETHERNET_CTP_REPLY; // gopacket's decodeEthernetCTPFromFunctionType
}

/**
 * gopacket's decodeEthernetCTPFromFunctionType: forward-data records until a
 * reply. Dispatched under the EthernetCTPReply id.
 */
export function decodeEthernetCTPReply(s: usize, e: usize): i32 {
  while (true) {
    const len = <u32>(e - s);
    if (len < 2) return -1;
    const fn = <u32>load<u16>(s);
    if (fn == 1) {
      if (len < 4) return -1;
      const i = pushLayer(L_ETHERNET_CTP_REPLY, s, len, 0);
      if (i < 0) return -1;
      const f = fieldsOf(<u32>i);
      store<u16>(f + CTP_FUNCTION, 1);
      store<u16>(f + CTP_RECEIPT, load<u16>(s + 2));
      return L_NONE;
    }
    if (fn != 2 || len < 8) return -1;
    if (!pushForwardData(s, len)) return -1;
    if (len == 8) return L_NONE; // NextDecoder on an empty payload
    s += 8;
  }
}

/** Adds an EthernetCTPForwardData layer (8 bytes: function + forward MAC). */
function pushForwardData(s: usize, len: u32): bool {
  const i = pushLayer(ids.L_ETHERNET_CTP_FORWARD_DATA, s, 8, len - 8);
  if (i < 0) return false;
  store<u16>(fieldsOf(<u32>i) + CTP_FUNCTION, 2); // the MAC stays in place at +2
  return true;
}
