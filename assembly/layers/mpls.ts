// MPLS label stack entry (RFC 3032; gopacket v1.1.17 layers/mpls.go) and
// Skydive's bottom-of-stack payload decoder (flow/decoder.go).
//
//  0                   20    23 24      32
//  +--------------------+-----+-+--------+
//  |       Label        | TC  |S|  TTL   |
//  +--------------------+-----+-+--------+
// gopacket: fewer than 4 bytes panics (no layer). Each entry is a 4-byte
// layer; without S the next layer is MPLS again, with S it is
// layers.MPLSPayloadDecoder, which Skydive replaces (decodeInMplsEthOrIPLayer):
// - first nibble 4 → an IPv4 layer decoded in place (added even when its
//   header is bad, and made the network layer if none was set yet), then its
//   next layers; nibble 6 → the same with IPv6, decoded as Skydive does it
//   (no IPv6HopByHop layer, unlike gopacket's decodeIPv6: D_IPV6_RAW);
// - any other nibble, or when the IPv4/IPv6 decoding returned an ERROR at any
//   depth of the chain it started (bad IP header, unknown protocol, a failing
//   inner decoder...), Skydive decodes the very same MPLS payload again as
//   Ethernet and appends that layer after whatever the IP attempt left:
//   the Ethernet layer is added even when shorter than 14 bytes, it is not a
//   link layer, and its EtherType picks the next decoder.
// A Go panic in the IP chain is not an error return: it skips that fallback
// and ends the packet with a DecodeFailure.
// Here, decodeMPLSPayload handles the nibble choice and the non-IP case, and
// records each IP attempt on a small stack (innermost last). The "IP chain
// failed" fallback needs the driver (decode.ts): on a decoder error, while
// popMPLSFallback() finds a pending attempt, it runs decodeMPLSEthernetFallback
// over that MPLS payload instead of ending with a DecodeFailure; it calls
// resetMPLSFallbacks() at the start of each decode. Until it does, an error in
// the IP chain simply ends the packet (no Ethernet re-decode).

import { D_IPV6_RAW, D_MPLS_PAYLOAD, L_IPV4, L_MPLS } from '../ids';
import { rd32 } from '../mem';
import { fieldsOf, pushLayer, setNext } from '../packet';
import { decodeSkydiveEthernet } from './erspan';

export const MPLS_LABEL: u32 = 0; // u32: 20-bit label
export const MPLS_TC: u32 = 4;    // u8: 3-bit traffic class
export const MPLS_S: u32 = 5;     // u8: 1 = bottom of stack
export const MPLS_TTL: u32 = 6;   // u8

export function decodeMPLS(s: usize, e: usize): i32 {
  if (e - s < 4) return -1;
  const v = rd32(s);
  const i = pushLayer(L_MPLS, s, 4, <u32>(e - s) - 4);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u32>(f + MPLS_LABEL, v >> 12);
  store<u8>(f + MPLS_TC, <u8>((v >> 9) & 7));
  store<u8>(f + MPLS_S, <u8>((v >> 8) & 1));
  store<u8>(f + MPLS_TTL, <u8>(v & 0xff));
  return (v & 0x100) != 0 ? <i32>D_MPLS_PAYLOAD : <i32>L_MPLS;
}

/** Skydive's MPLS payload decoder: IPv4 / IPv6 by the first nibble, else Ethernet. */
export function decodeMPLSPayload(s: usize, e: usize): i32 {
  if (s >= e) return -1; // never called on an empty payload (NextDecoder)
  const v = <u32>load<u8>(s) >> 4;
  if (v == 4 || v == 6) {
    pushFallback(s, e);
    setNext(s, e);
    // Skydive's ipDecoderFromRawData: IPv6.DecodeFromBytes without the
    // hop-by-hop layer decodeIPv6 would add (D_IPV6_RAW, ipv6.ts).
    return v == 4 ? L_IPV4 : D_IPV6_RAW;
  }
  return decodeSkydiveEthernet(s, e);
}

// Pending Ethernet fallbacks: the MPLS payload bounds of each IP attempt. A
// chain can hold at most MAX_LAYERS MPLS layers; past FALLBACK_MAX nested
// attempts the outermost ones are dropped (the innermost catch first anyway).
const FALLBACK_MAX: u32 = 16;
const fallbacks = memory.data(<i32>(FALLBACK_MAX * 16));
let fallbackDepth: u32 = 0;

function pushFallback(s: usize, e: usize): void {
  if (fallbackDepth == FALLBACK_MAX) {
    memory.copy(fallbacks, fallbacks + 16, (FALLBACK_MAX - 1) * 16);
    fallbackDepth--;
  }
  const r = fallbacks + <usize>(fallbackDepth * 16);
  store<u64>(r, <u64>s);
  store<u64>(r, <u64>e, 8);
  fallbackDepth++;
}

/** Forgets the pending fallbacks (start of a decode). */
export function resetMPLSFallbacks(): void { fallbackDepth = 0; }

/**
 * Takes the innermost pending fallback: true and the next bounds set to its
 * MPLS payload (setNext), or false when there is none.
 */
export function popMPLSFallback(): bool {
  if (fallbackDepth == 0) return false;
  fallbackDepth--;
  const r = fallbacks + <usize>(fallbackDepth * 16);
  setNext(<usize>load<u64>(r), <usize>load<u64>(r, 8));
  return true;
}

/**
 * The Ethernet fallback Skydive runs over the MPLS payload [s, e) after its
 * IPv4/IPv6 attempt returned an error (the driver calls it, see above).
 */
export function decodeMPLSEthernetFallback(s: usize, e: usize): i32 {
  return decodeSkydiveEthernet(s, e);
}
