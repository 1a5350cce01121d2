// OSPFv2 (RFC 2328) and OSPFv3 (RFC 5340), gopacket v1.1.17 layers/ospf.go (IP protocol 89).
//
//  0        8        16               32
//  +--------+--------+----------------+
//  |version |  type  | packet length  |
//  |            router ID             |
//  |             area ID              |
//  |   checksum      | v2: autype, authentication (8) -> 24 bytes
//  |                 | v3: instance, reserved         -> 16 bytes
//  +----------------------------------+
//
// Only success versus failure and the layer name matter here (the layer is
// "OSPF", with no Contents/Payload, and decoding stops). gopacket parses the
// whole message before adding the layer, so any parse error or panic (Go
// slice out of range, recovered as a DecodeFailure) means no OSPF layer.
// Reproduced: fewer than 14 bytes, version not 2/3, v2 < 24 / v3 < 16
// bytes; per type the fixed part (v2 Hello 44, DBD 32, LSU 28; v3 Hello 36,
// DBD 28, LSU 20) and the repeated records, which gopacket reads while
// (offset + record size) as a uint16 <= the packet-length FIELD (not the
// data length); LSU walks num LSAs (header: 20 bytes, length >= 20 and
// within the data), each LSA body by type. v2 LSA types gopacket v1.1.17
// knows: 1 (router), 5 (AS external) and 8 (decoded as the v3 link LSA,
// since the v2 type byte 8 equals LinkLSAtype); 2, 3, 4, 7 and the rest are
// errors (network and NSSA LSAs came in gopacket after v1.1.17, June 2019).
// Known gap: reads that overrun the data but stay within the Go slice's
// capacity (Ethernet padding) succeed in gopacket, fail here.

import { L_NONE, L_OSPF } from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, pushLayer } from '../packet';

export const OSPF_VERSION: u32 = 0;   // u8
export const OSPF_TYPE: u32 = 1;      // u8: 1 Hello, 2 DBD, 3 LSR, 4 LSU, 5 LSAck
export const OSPF_LENGTH: u32 = 2;    // u16: packet length field
export const OSPF_ROUTER_ID: u32 = 4; // u32
export const OSPF_AREA_ID: u32 = 8;   // u32

/** gopacket's record loops: i from `start`, while uint16(i + size) <= plen, each record within the data. */
function recordsOK(start: u32, size: u32, plen: u32, len: u32): bool {
  let i = start;
  while (((i + size) & 0xffff) <= plen) {
    if (i + size > len) return false;
    i += size;
  }
  return true;
}

/** extractLSAInformation: the LSA body at [p, p+plen) of type t and length field l. */
function lsaOK(t: u32, l: u32, p: usize, plen: u32): bool {
  if (l < 20 || plen < l) return false;
  switch (t) {
    case 0x1: { // router LSA, v2
      for (let j: u32 = 24; j < l; j += 12) if (plen < j + 12) return false;
      return plen >= 24;
    }
    case 0x5: // AS external LSA, v2
      return plen >= 36;
    case 0x2001: { // router LSA, v3
      for (let j: u32 = 24; j < l; j += 16) if (j + 16 > plen) return false;
      return plen >= 24;
    }
    case 0x2002: { // network LSA, v3
      for (let j: u32 = 24; j < l; j += 4) if (j + 4 > plen) return false;
      return plen >= 24;
    }
    case 0x2003: // inter-area prefix LSA: AddressPrefix = data[28:length]
      return l >= 28;
    case 0x2004: // inter-area router LSA
      return plen >= 32;
    case 0x4005: case 0x2007: { // AS external / NSSA LSA, v3
      if (plen < 25) return false;
      const pl = <u32>load<u8>(p + 24) / 8;
      if (load<u8>(p + 20) & 0x02) {
        if (<u32>28 + pl + 16 > plen) return false;
      }
      return <u32>28 + pl <= plen;
    }
    case 0x0008: { // link LSA
      if (plen < 44) return false;
      const n = rd32(p + 40);
      let po: u32 = 44;
      for (let j: u32 = 0; j < n; j++) {
        if (po >= plen) return false;
        const step = 4 + <u32>load<u8>(p + po) / 8;
        if (po + step > plen) return false;
        po += step;
      }
      return true;
    }
    case 0x2009: { // intra-area prefix LSA (gopacket advances by 4 + prefix length in BITS)
      if (plen < 22) return false;
      const n = rd16(p + 20);
      let po: u32 = 32;
      for (let j: u32 = 0; j < n; j++) {
        if (po >= plen) return false;
        const bits = <u32>load<u8>(p + po);
        if (po + 4 + bits / 8 > plen) return false;
        po += 4 + bits;
      }
      return plen >= 32;
    }
  }
  return false; // "Unknown Link State type"
}

/** getLSAs / getLSAsv2 over [p, p+len): num LSAs, each header 20 bytes. */
function lsasOK(num: u32, p: usize, len: u32, v2: bool): bool {
  let off: u32 = 0;
  for (let k: u32 = 0; k < num; k++) {
    if (off + 20 > len) return false;
    const t = v2 ? <u32>load<u8>(p + off + 3) : rd16(p + off + 2);
    const l = rd16(p + off + 18);
    if (!lsaOK(t, l, p + off, len - off)) return false;
    off += l;
  }
  return true;
}

function v2OK(s: usize, len: u32, type: u32, plen: u32): bool {
  if (len < 24) return false;
  switch (type) {
    case 1: return recordsOK(44, 4, plen, len) && len >= 44;
    case 2: return recordsOK(32, 20, plen, len) && len >= 32;
    case 3: return recordsOK(24, 12, plen, len);
    case 4: return len >= 28 && lsasOK(rd32(s + 24), s + 28, len - 28, true);
    case 5: return recordsOK(24, 20, plen, len);
  }
  return true;
}

function v3OK(s: usize, len: u32, type: u32, plen: u32): bool {
  if (len < 16) return false;
  switch (type) {
    case 1: return recordsOK(36, 4, plen, len) && len >= 36;
    case 2: return recordsOK(28, 20, plen, len) && len >= 28;
    case 3: return recordsOK(16, 12, plen, len);
    case 4: return len >= 20 && lsasOK(rd32(s + 16), s + 20, len - 20, false);
    case 5: return recordsOK(16, 20, plen, len);
  }
  return true;
}

export function decodeOSPF(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 14) return -1;
  const version = <u32>load<u8>(s);
  const type = <u32>load<u8>(s + 1);
  const plen = rd16(s + 2);
  if (version == 2) {
    if (!v2OK(s, len, type, plen)) return -1;
  } else if (version == 3) {
    if (!v3OK(s, len, type, plen)) return -1;
  } else {
    return -1;
  }
  const i = pushLayer(L_OSPF, s, 0, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + OSPF_VERSION, <u8>version);
  store<u8>(f + OSPF_TYPE, <u8>type);
  store<u16>(f + OSPF_LENGTH, <u16>plen);
  store<u32>(f + OSPF_ROUTER_ID, rd32(s + 4));
  store<u32>(f + OSPF_AREA_ID, rd32(s + 8));
  return L_NONE;
}
