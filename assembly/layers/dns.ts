// DNS over UDP 53 (RFC 1035, RFC 6891; gopacket layers/dns.go semantics as of
// v1.1.17: EDNS OPT support present, no URI type, no extended RCODE).
//
//  0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
//  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//  |                      ID                       |
//  |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
//  |         QDCOUNT        |       ANCOUNT        |
//  |         NSCOUNT        |       ARCOUNT        |
//  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//  | questions: NAME, TYPE, CLASS                  |
//  | records:   NAME, TYPE, CLASS, TTL, RDLENGTH, RDATA
//
// What makes gopacket fail (always before the layer exists, so LayersPath
// ends at UDP and a DecodeFailure follows):
// * fewer than 12 bytes (truncated);
// * the counts are trusted: QDCOUNT questions, then ANCOUNT, NSCOUNT and
//   ARCOUNT records are decoded in turn, so a count larger than what the data
//   holds runs out of data and fails; bytes after the last record are ignored;
// * a name (see dnsNameEnd) that is malformed;
// * a question whose TYPE/CLASS run past the data (slice panic);
// * a record whose fixed part or RDATA (RDLENGTH) runs past the data;
// * RDATA decoding, done against the WHOLE message (not cut to RDLENGTH):
//   NS, CNAME, PTR: a valid name at the RDATA offset (which may run past
//   RDLENGTH; with RDLENGTH 0 it reads whatever follows);
//   SOA: two names, then 20 bytes of numbers that must fit in the message;
//   MX: 2 bytes then a name; SRV: 6 bytes then a name;
//   TXT and HINFO: the RDATA must split exactly into <character-string>s;
//   OPT: options (code, length, data) are parsed from the RDATA offset to the
//   END OF THE MESSAGE (v1.1.17 passes the whole message), so anything after
//   an OPT record is read as options; nothing left is fine, 1..3 bytes or an
//   option running past the end is an error;
//   A and AAAA are not checked at all (an A record of 3 or 16 bytes passes;
//   Skydive then prints the bytes with Go's net.IP rules).
// Names: labels (length byte < 64) and compression pointers (top bits 11);
// top bits 01/10 are errors; a name must start inside the data; a label may
// not run past the data nor make the part of the name decoded at one
// pointer level longer than 255 bytes (counted from where that level
// started); a pointer must have its 2 bytes and point at or before the end
// (pointing exactly at the end then fails); pointers may go forward and
// loop: each one adds a level and more than 255 levels is an error.
// On success: Contents is the whole data, no payload, nothing follows
// (decodeDNS never calls NextDecoder). Known gap: Go slices against the
// capacity of the frame buffer, so a question TYPE/CLASS or SOA/MX/SRV
// numbers lying past the UDP payload but inside the captured frame (e.g.
// Ethernet padding) do not fail in gopacket; here they do.

import { L_DNS, L_NONE } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';

export const DNS_ID: u32 = 0;      // u16
export const DNS_FLAGS: u32 = 2;   // u16: header bytes 2-3 (QR|Opcode|AA|TC|RD|RA|Z|RCODE)
export const DNS_QDCOUNT: u32 = 4; // u16
export const DNS_ANCOUNT: u32 = 6; // u16
export const DNS_NSCOUNT: u32 = 8; // u16
export const DNS_ARCOUNT: u32 = 10; // u16
export const DNS_END: u32 = 12;    // u32: offset just after the last decoded record

/**
 * gopacket decodeName over msg[0, len) starting at off: returns the offset
 * just after the name as it appears at off (after a pointer: after its 2
 * bytes), or -1 when gopacket fails. Validates every pointer level.
 */
export function dnsNameEnd(msg: usize, len: u32, off: u32): i32 {
  let level: u32 = 1;
  let ret: i32 = -1;
  let base = off;
  while (true) {
    if (level > 255) return -1;
    if (base >= len) return -1;
    let idx = base;
    let jumped = false;
    while (load<u8>(msg + idx) != 0) {
      const b = <u32>load<u8>(msg + idx);
      const t = b & 0xc0;
      if (t == 0) {
        const idx2 = idx + b + 1;
        if (idx2 - base > 255) return -1;
        if (idx2 > len) return -1;
        idx = idx2;
        if (idx >= len) return -1;
      } else if (t == 0xc0) {
        if (idx + 2 > len) return -1;
        const p = rd16(msg + idx) & 0x3fff;
        if (p > len) return -1;
        if (ret < 0) ret = <i32>(idx + 2);
        base = p;
        level++;
        jumped = true;
        break;
      } else {
        return -1;
      }
    }
    if (!jumped) return ret < 0 ? <i32>(idx + 1) : ret;
  }
  return -1;
}

/**
 * The fixed part of the resource record at off: returns the offset of its
 * TYPE field (after the owner name), or -1 when the name is bad or the 10
 * header bytes or the RDATA run past the message.
 */
export function dnsRecordHeader(msg: usize, len: u32, off: u32): i32 {
  const ne = dnsNameEnd(msg, len, off);
  if (ne < 0) return -1;
  const q = <u32>ne;
  if (q + 10 > len || q + 10 + rd16(msg + q + 8) > len) return -1;
  return <i32>q;
}

/** Validates one resource record at off; returns the offset after it or -1. */
function dnsRecordEnd(msg: usize, len: u32, off: u32): i32 {
  const h = dnsRecordHeader(msg, len, off);
  if (h < 0) return -1;
  const q = <u32>h;
  const type = rd16(msg + q);
  const rs = q + 10;
  const end = rs + rd16(msg + q + 8);
  switch (type) {
    case 2: case 5: case 12: // NS, CNAME, PTR
      if (dnsNameEnd(msg, len, rs) < 0) return -1;
      break;
    case 6: { // SOA
      const m = dnsNameEnd(msg, len, rs);
      if (m < 0) return -1;
      const r = dnsNameEnd(msg, len, <u32>m);
      if (r < 0 || <u32>r + 20 > len) return -1;
      break;
    }
    case 15: // MX
      if (rs + 2 > len || dnsNameEnd(msg, len, rs + 2) < 0) return -1;
      break;
    case 33: // SRV
      if (rs + 6 > len || dnsNameEnd(msg, len, rs + 6) < 0) return -1;
      break;
    case 13: case 16: { // HINFO, TXT: character-strings filling the RDATA
      let i = rs;
      while (i != end) {
        const i2 = i + 1 + <u32>load<u8>(msg + i);
        if (i2 > end) return -1;
        i = i2;
      }
      break;
    }
    case 41: { // OPT: options up to the end of the whole message
      if (rs != len) {
        if (rs + 4 > len) return -1;
        let i = rs;
        while (i < len) {
          if (i + 4 > len) return -1;
          const l = rd16(msg + i + 2);
          if (i + 4 + l > len) return -1;
          i += 4 + l;
        }
      }
      break;
    }
  }
  return <i32>end;
}

/**
 * Runs gopacket's DNS parse over msg[0, len): returns the offset after the
 * last record, or -1 when gopacket returns an error (or panics).
 */
export function dnsValidate(msg: usize, len: u32): i32 {
  if (len < 12) return -1;
  let off: u32 = 12;
  const qd = rd16(msg + 4);
  for (let i: u32 = 0; i < qd; i++) {
    const ne = dnsNameEnd(msg, len, off);
    if (ne < 0 || <u32>ne + 4 > len) return -1;
    off = <u32>ne + 4;
  }
  const nr = rd16(msg + 6) + rd16(msg + 8) + rd16(msg + 10);
  for (let i: u32 = 0; i < nr; i++) {
    const r = dnsRecordEnd(msg, len, off);
    if (r < 0) return -1;
    off = <u32>r;
  }
  return <i32>off;
}

export function decodeDNS(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 12) { markTruncated(); return -1; }
  const end = dnsValidate(s, len);
  if (end < 0) return -1;
  const i = pushLayer(L_DNS, s, len, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u16>(f + DNS_ID, <u16>rd16(s));
  store<u16>(f + DNS_FLAGS, <u16>rd16(s + 2));
  store<u16>(f + DNS_QDCOUNT, <u16>rd16(s + 4));
  store<u16>(f + DNS_ANCOUNT, <u16>rd16(s + 6));
  store<u16>(f + DNS_NSCOUNT, <u16>rd16(s + 8));
  store<u16>(f + DNS_ARCOUNT, <u16>rd16(s + 10));
  store<u32>(f + DNS_END, <u32>end);
  return L_NONE;
}
