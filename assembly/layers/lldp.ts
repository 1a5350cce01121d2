// LLDP, EtherType 0x88CC (IEEE 802.1AB; gopacket v1.1.17 layers/lldp.go).
//
// A list of TLVs, each:
//  0       7 8               16
//  +-------+-+---------------+--------------
//  | type  |   length (9)    | value (length)
//  +-------+-+---------------+--------------
// Only gopacket's verdict is reproduced (error or success, and which layers
// exist); the TLVs are not stored.
// - TLV walk: a remainder of 1 byte, or a value running past the data, is a
//   truncated error. The walk stops after the End TLV (type 0).
// - Fewer than 4 TLVs; a Chassis ID, Port ID or TTL TLV shorter than 2;
//   a missing Chassis ID or Port ID (or one whose subtype byte is 0); no End
//   TLV: all errors, before any layer.
// - Then gopacket adds LinkLayerDiscovery (Contents = all the data, nothing
//   follows) and an empty LinkLayerDiscoveryInfo layer, and only then checks
//   the optional TLVs in order: System Capabilities under 4 bytes, an
//   organisation-specific TLV under 4 bytes, and a Management Address whose
//   lengths do not fit are errors (a DecodeFailure after both layers). The
//   Management Address offsets are 8-bit sums in Go (they wrap); the checks
//   below replay each slice and index so that a Go panic is an error too.

import * as ids from '../ids';
import { L_LLDP, L_NONE } from '../ids';
import { markTruncated, pushLayer } from '../packet';

/** Go's s[lo:hi] on a slice whose capacity is `cap`: false when it panics. */
@inline function sliceOk(lo: u32, hi: u32, cap: u32): bool { return lo <= hi && hi <= cap; }

export function decodeLLDP(s: usize, e: usize): i32 {
  // Pass 1: the TLV walk (gopacket builds its value list here).
  let p = s;
  let count: u32 = 0;
  while (p < e) {
    if (e - p < 2) { markTruncated(); return -1; }
    const b0 = <u32>load<u8>(p);
    const len = ((b0 & 1) << 8) | <u32>load<u8>(p + 1);
    if (len > 0 && <u32>(e - p) < len + 2) { markTruncated(); return -1; }
    count++;
    if ((b0 >> 1) == 0) break;
    p += 2 + len;
  }
  if (count < 4) return -1;
  // Pass 2: the mandatory TLVs, over the same list.
  let gotEnd = false;
  let chassis: u32 = 0, port: u32 = 0;
  p = s;
  for (let k: u32 = 0; k < count; k++) {
    const type = <u32>load<u8>(p) >> 1;
    const len = ((<u32>load<u8>(p) & 1) << 8) | <u32>load<u8>(p + 1);
    if (type == 0) gotEnd = true;
    else if (type <= 3) {
      if (len < 2) return -1;
      if (type == 1) chassis = <u32>load<u8>(p + 2);
      else if (type == 2) port = <u32>load<u8>(p + 2);
    }
    p += 2 + len;
  }
  if (chassis == 0 || port == 0 || !gotEnd) return -1;
  if (pushLayer(L_LLDP, s, <u32>(e - s), 0) < 0) return -1;
  if (!pushInfo(e)) return -1;
  // Pass 3: the optional TLVs gopacket decodes into LinkLayerDiscoveryInfo.
  p = s;
  for (let k: u32 = 0; k < count; k++) {
    const type = <u32>load<u8>(p) >> 1;
    const len = ((<u32>load<u8>(p) & 1) << 8) | <u32>load<u8>(p + 1);
    const v = p + 2;
    if ((type == 7 || type == 127) && len < 4) return -1;
    if (type == 8 && !mgmtAddressOk(v, len, <u32>(e - v))) return -1;
    p += 2 + len;
  }
  return L_NONE;
}

/**
 * Replays gopacket's Management Address parsing (value `v`, length `len`,
 * slice capacity `cap` = bytes up to the end of the data): false where Go
 * returns an error or panics. mlen and olen sums are Go uint8 arithmetic.
 */
function mgmtAddressOk(v: usize, len: u32, cap: u32): bool {
  if (len < 9) return false;
  const mlen = <u32>load<u8>(v);
  if (len < ((mlen + 7) & 0xff)) return false;
  if (!sliceOk(2, (mlen + 1) & 0xff, cap)) return false;       // Address
  if (((mlen + 1) & 0xff) >= len) return false;                 // InterfaceSubtype
  const lo = (mlen + 2) & 0xff, hi = (mlen + 6) & 0xff;        // InterfaceNumber
  if (!sliceOk(lo, hi, cap) || hi - lo < 4) return false;
  const oi = (mlen + 6) & 0xff;                                 // OID length
  if (oi >= len) return false;
  const olen = <u32>load<u8>(v + oi);
  if (len < ((mlen + 7 + olen) & 0xff)) return false;
  return sliceOk((mlen + 7) & 0xff, (mlen + 7 + olen) & 0xff, cap); // OID
}

/** Adds the empty LinkLayerDiscoveryInfo layer gopacket appends after LinkLayerDiscovery. */
function pushInfo(e: usize): bool {
  return pushLayer(ids.L_LLDP_INFO, e, 0, 0) >= 0;
}
