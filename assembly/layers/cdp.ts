// CDP, Cisco Discovery Protocol, EtherType 0x2000 (after LLC/SNAP with the
// Cisco OUI; gopacket v1.1.17 layers/cdp.go).
//
//  0        8        16               32
//  +--------+--------+----------------+
//  |version | TTL    | checksum       |
//  +--------+--------+----------------+
//  | TLVs: type (16) | length (16, header included) | value ...
// Only gopacket's verdict is reproduced (error or success, and which layers
// exist); the TLVs are not stored.
// - Fewer than 4 bytes panics; a version other than 1 or 2 is an error.
// - TLV walk: a remainder under 4 bytes or a TLV longer than the remainder is
//   a truncated error; a length field under 4 is an error. All before any layer.
// - Then CiscoDiscovery (Contents 4 bytes, Payload the TLVs). When there are
//   TLVs, gopacket's next decoder adds CiscoDiscoveryInfo (Contents = the TLVs)
//   and only then validates each TLV's value; a failure there is a
//   DecodeFailure after both layers:
//     Addresses / Management Addresses: at least 4 bytes and a valid address
//       list; Capabilities, MTU, Power Requested/Available: 4; Native VLAN,
//       Power, Location: 2; Full Duplex, Extended Trust, Untrusted CoS,
//       Spare Pair PoE: 1; VLAN Reply/Query: 3; Hello: 32; Energy Wise: 72
//       plus a consistent sub-TLV list; IP Prefix: a non-zero multiple of 5
//       bytes whose prefix lengths are at most 32 (a larger one makes
//       ParseCIDR fail and gopacket dereferences nil: a panic).

import * as ids from '../ids';
import { L_CDP, L_NONE } from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';

export const CDP_VERSION: u32 = 0; // u8
export const CDP_TTL: u32 = 1;     // u8
export const CDP_CHECKSUM: u32 = 2; // u16

export function decodeCDP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 4) return -1;
  const version = <u32>load<u8>(s);
  if (version != 1 && version != 2) return -1;
  // TLV walk over data[4:].
  let p = s + 4;
  while (p < e) {
    const rem = <u32>(e - p);
    if (rem < 4) { markTruncated(); return -1; }
    const tlen = rd16(p + 2);
    if (tlen < 4) return -1;
    if (rem < tlen) { markTruncated(); return -1; }
    p += tlen;
  }
  const i = pushLayer(L_CDP, s, 4, len - 4);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + CDP_VERSION, <u8>version);
  store<u8>(f + CDP_TTL, load<u8>(s + 1));
  store<u16>(f + CDP_CHECKSUM, <u16>rd16(s + 2));
  if (len == 4) return L_NONE; // NextDecoder on an empty payload: no Info layer
  if (!pushInfo(s + 4, len - 4)) return -1;
  p = s + 4;
  while (p < e) {
    const type = rd16(p);
    const tlen = rd16(p + 2);
    if (!valueOk(type, p + 4, tlen - 4, <u32>(e - p) - 4)) return -1;
    p += tlen;
  }
  return L_NONE;
}

/** Adds CiscoDiscoveryInfo over the TLV bytes (Contents, no Payload). */
function pushInfo(s: usize, len: u32): bool {
  return pushLayer(ids.L_CDP_INFO, s, len, 0) >= 0;
}

/** gopacket's per-type check of one value `v` of `len` bytes (`cap` bytes to the end of the data). */
function valueOk(type: u32, v: usize, len: u32, cap: u32): bool {
  switch (type) {
    case 0x0002: case 0x0016: // Addresses, Management Addresses
      return len >= 4 && addressesOk(v, len);
    case 0x0004: case 0x0011: return len >= 4; // Capabilities, MTU
    case 0x0007: { // IP Prefix
      if (len < 5 || len % 5 != 0) return false;
      for (let k: u32 = 0; k < len; k += 5) if (load<u8>(v + k + 4) > 32) return false;
      return true;
    }
    case 0x0008: return len >= 32; // Hello
    case 0x000a: case 0x0010: case 0x0017: return len >= 2; // Native VLAN, Power, Location
    case 0x000b: case 0x0012: case 0x0013: case 0x001f: return len >= 1;
    case 0x000e: case 0x000f: return len >= 3; // VLAN Reply, VLAN Query
    case 0x0019: case 0x001a: { // Power Requested, Power Available
      if (len < 4) return false;
      // Values are read as v[n:n+4] for n < len: a partial last word is read
      // past the TLV (Go slices up to the capacity) and panics only past the data.
      for (let n: u32 = 4; n < len; n += 4) if (n + 4 > cap) return false;
      return true;
    }
    case 0x001d: return len >= 72 && energyWiseOk(v, len); // Energy Wise
  }
  return true;
}

/** gopacket's decodeAddresses: false on its errors and on its out-of-range panics. */
function addressesOk(v: usize, len: u32): bool {
  const num = <u64>rd32(v);
  if (num < 1) return false;
  let p = v + 4;
  let rem = len - 4;
  if (<u64>rem < num * 8) return false;
  for (let k: u64 = 0; k < num; k++) {
    // rem >= 8 here (checked above for the first entry, by the loop exit after).
    const proto = <u32>load<u8>(p);
    if (proto != 1 && proto != 2) return false;
    const plen = <u32>load<u8>(p + 1);
    if ((proto == 1 && plen != 1) || (proto == 2 && plen != 3 && plen != 8)) return false;
    if (plen + 2 > rem) return false;
    p += plen + 2; rem -= plen + 2;
    if (rem < 2) return false; // the address length is read, then v[2+alen:] panics
    const alen = rd16(p);
    if (alen + 2 > rem) return false;
    p += alen + 2; rem -= alen + 2;
    if (rem < 8) break;
  }
  return true;
}

/** gopacket's Energy Wise sub-TLV walk: false on its errors. */
function energyWiseOk(v: usize, len: u32): bool {
  const tlvLen = rd16(v + 68);
  const tlvNum = rd16(v + 70);
  let p = v + 72;
  let rem = <u64>(len - 72);
  if (rem < <u64>tlvLen) return false;
  let seen: u32 = 0;
  while (rem > 8) {
    seen++;
    if (seen > tlvNum) return false;
    const tlen = <u64>rd32(p + 4);
    if (tlen > rem - 8) return false;
    p += 8 + <usize>tlen;
    rem -= 8 + tlen;
  }
  return true;
}
