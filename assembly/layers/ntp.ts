// NTP (RFC 5905; gopacket layers/ntp.go semantics, v1.1.17).
//
//  0     2     5     8              16              24              32
//  +-----+-----+-----+---------------+---------------+---------------+
//  | LI  | VN  |Mode |    Stratum    |     Poll      |   Precision   |
//  +-----+-----+-----+---------------+---------------+---------------+
//  |                  Root Delay / Root Dispersion / Reference ID     |
//  |                  Reference / Origin / Receive / Transmit stamps  |
//  +-----------------------------------------------------------------+  48 bytes
//  |                  extension bytes (kept, not parsed)              |
// gopacket's only check is the length: fewer than 48 bytes is an error
// raised before the layer exists (SetTruncated, no NTP layer, DecodeFailure:
// skydive/ntp-corrupted.pcap stops at UDP). Otherwise Contents is the whole
// data, the payload is empty, and decodeNTP never asks for a next decoder.

import { L_NONE, L_NTP } from '../ids';
import { fieldsOf, markTruncated, pushLayer } from '../packet';

export const NTP_LI_VN_MODE: u32 = 0; // u8: first byte as sent (LI<<6 | VN<<3 | Mode)
export const NTP_STRATUM: u32 = 1;    // u8

export function decodeNTP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 48) { markTruncated(); return -1; }
  const i = pushLayer(L_NTP, s, len, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + NTP_LI_VN_MODE, load<u8>(s));
  store<u8>(f + NTP_STRATUM, load<u8>(s + 1));
  return L_NONE;
}
