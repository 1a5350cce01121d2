// Skydive's DNS "extra layer" (spec section 4.8): re-reads a DNS message that
// decodeDNS already accepted and writes the parts Skydive keeps in a compact
// binary form, read back by src/flow/dns.ts (readDNSExtract).
//
// Binary format: little-endian integers, no padding, no alignment.
//
//   header (20 bytes)
//     +0  u16  ID
//     +2  u8   header byte 2 as sent: QR<<7 | Opcode<<3 | AA<<2 | TC<<1 | RD
//     +3  u8   header byte 3 as sent: RA<<7 | Z<<4 | RCODE
//     +4  u16  QDCOUNT   +6 u16 ANCOUNT   +8 u16 NSCOUNT   +10 u16 ARCOUNT
//     +12 u16  questions written      +14 u16 answers written
//     +16 u16  authorities written    +18 u16 additionals written
//   then the questions, then the answer, authority and additional records
//   that are kept, in message order.
//
//   name   = u16 length, then the bytes of gopacket's decoded name: labels
//            joined with '.', no trailing dot, label bytes raw (they may hold
//            '.', NUL or non-UTF-8 bytes); the root name is empty.
//   bytes  = u16 length, then raw bytes.
//   question = u16 TYPE, u16 CLASS, name
//   record   = u16 TYPE, u16 CLASS, u32 TTL, u16 RDLENGTH, name, then by TYPE:
//     1 A, 28 AAAA          bytes: the raw RDATA (any length: gopacket does
//                           not check it; Skydive prints it with net.IP rules)
//     2 NS, 5 CNAME, 12 PTR name
//     6 SOA                 name MName, name RName, u32 Serial, u32 Refresh,
//                           u32 Retry, u32 Expire, u32 Minimum
//     15 MX                 u16 Preference, name
//     33 SRV                u16 Priority, u16 Weight, u16 Port, name
//     13 HINFO, 16 TXT      u16 count, then count x bytes (character-strings)
//     41 OPT                u16 count, then count x (u16 code, bytes data)
//   Records of any other TYPE are not written (Skydive drops them), so the
//   "written" counts can be lower than the header counts.
//
// RDATA is decoded as gopacket v1.1.17 does it: names are read from the whole
// message at the RDATA offset; OPT options run to the end of the message.
// Skydive itself dereferences nil on an OPT record carrying options; this
// port writes the options out (see the report), and the reader turns them
// into {Code: DNSOptionCode.String(), Data}.
//
// dnsExtract returns the number of bytes written, or 0 when the message does
// not parse (it should not happen after decodeDNS) or does not fit in cap.

import { rd16, rd32 } from '../mem';
import { dnsNameEnd, dnsRecordHeader } from './dns';

let msgBase: usize = 0;
let msgLen: u32 = 0;
let outBase: usize = 0;
let outCap: u32 = 0;
let w: u32 = 0;
let fits = true;

@inline function put8(v: u32): void {
  if (w + 1 > outCap) { fits = false; return; }
  store<u8>(outBase + w, <u8>v); w += 1;
}
@inline function put16(v: u32): void {
  if (w + 2 > outCap) { fits = false; return; }
  store<u16>(outBase + w, <u16>v); w += 2;
}
@inline function put32(v: u32): void {
  if (w + 4 > outCap) { fits = false; return; }
  store<u32>(outBase + w, v); w += 4;
}
function putBytes(p: usize, n: u32): void {
  if (n > 0xffff || w + 2 + n > outCap) { fits = false; return; }
  store<u16>(outBase + w, <u16>n);
  memory.copy(outBase + w + 2, p, n);
  w += 2 + n;
}

/**
 * Writes the decoded name at off as `name` (u16 length + text). The walk
 * follows the same rules as dnsNameEnd (already validated); returns false if
 * the name is invalid or does not fit.
 */
function putName(off: u32): bool {
  if (dnsNameEnd(msgBase, msgLen, off) < 0) return false;
  const lenAt = w;
  put16(0);
  if (!fits) return false;
  let n: u32 = 0;
  let base = off;
  let level: u32 = 1;
  while (level <= 255 && base < msgLen) {
    let idx = base;
    let jumped = false;
    while (load<u8>(msgBase + idx) != 0) {
      const b = <u32>load<u8>(msgBase + idx);
      if ((b & 0xc0) == 0) {
        // gopacket appends '.' + label; the leading '.' is dropped at the end
        if (n > 0) put8(0x2e);
        if (w + b > outCap) { fits = false; return false; }
        memory.copy(outBase + w, msgBase + idx + 1, b);
        w += b;
        n += (n > 0 ? 1 : 0) + b;
        idx += b + 1;
      } else {
        base = rd16(msgBase + idx) & 0x3fff;
        level++;
        jumped = true;
        break;
      }
    }
    if (!jumped) break;
  }
  if (!fits || n > 0xffff) { fits = false; return false; }
  store<u16>(outBase + lenAt, <u16>n);
  return true;
}

function putRecord(off: u32): i32 {
  const h = dnsRecordHeader(msgBase, msgLen, off);
  if (h < 0) return -1;
  const q = <u32>h;
  const type = rd16(msgBase + q);
  const rdlen = rd16(msgBase + q + 8);
  const rs = q + 10;
  const end = rs + rdlen;
  const kept = type == 1 || type == 28 || type == 2 || type == 5 || type == 12 || type == 6 ||
    type == 15 || type == 33 || type == 13 || type == 16 || type == 41;
  if (!kept) return <i32>end;
  put16(type);
  put16(rd16(msgBase + q + 2));
  put32(rd32(msgBase + q + 4));
  put16(rdlen);
  if (!putName(off)) return -1;
  switch (type) {
    case 1: case 28:
      putBytes(msgBase + rs, rdlen);
      break;
    case 2: case 5: case 12:
      if (!putName(rs)) return -1;
      break;
    case 6: {
      const m = dnsNameEnd(msgBase, msgLen, rs);
      if (m < 0) return -1;
      const r = dnsNameEnd(msgBase, msgLen, <u32>m);
      if (r < 0 || <u32>r + 20 > msgLen) return -1;
      if (!putName(rs) || !putName(<u32>m)) return -1;
      for (let k: u32 = 0; k < 5; k++) put32(rd32(msgBase + <u32>r + k * 4));
      break;
    }
    case 15:
      if (rs + 2 > msgLen) return -1;
      put16(rd16(msgBase + rs));
      if (!putName(rs + 2)) return -1;
      break;
    case 33:
      if (rs + 6 > msgLen) return -1;
      put16(rd16(msgBase + rs));
      put16(rd16(msgBase + rs + 2));
      put16(rd16(msgBase + rs + 4));
      if (!putName(rs + 6)) return -1;
      break;
    case 13: case 16: {
      let count: u32 = 0;
      let i = rs;
      while (i != end) {
        const i2 = i + 1 + <u32>load<u8>(msgBase + i);
        if (i2 > end) return -1;
        i = i2;
        count++;
      }
      put16(count);
      i = rs;
      while (i != end) {
        const l = <u32>load<u8>(msgBase + i);
        putBytes(msgBase + i + 1, l);
        i += 1 + l;
      }
      break;
    }
    case 41: {
      let count: u32 = 0;
      if (rs != msgLen) {
        if (rs + 4 > msgLen) return -1;
        let i = rs;
        while (i < msgLen) {
          if (i + 4 > msgLen) return -1;
          const l = rd16(msgBase + i + 2);
          if (i + 4 + l > msgLen) return -1;
          i += 4 + l;
          count++;
        }
      }
      put16(count);
      let i = rs;
      for (let k: u32 = 0; k < count; k++) {
        put16(rd16(msgBase + i));
        const l = rd16(msgBase + i + 2);
        putBytes(msgBase + i + 4, l);
        i += 4 + l;
      }
      break;
    }
  }
  return <i32>end;
}

export function dnsExtract(msg: usize, len: u32, out: usize, cap: u32): u32 {
  msgBase = msg; msgLen = len; outBase = out; outCap = cap; w = 0; fits = true;
  if (len < 12 || cap < 20) return 0;
  store<u16>(out, <u16>rd16(msg));
  store<u8>(out + 2, load<u8>(msg + 2));
  store<u8>(out + 3, load<u8>(msg + 3));
  const qd = rd16(msg + 4), an = rd16(msg + 6), ns = rd16(msg + 8), ar = rd16(msg + 10);
  store<u16>(out + 4, <u16>qd);
  store<u16>(out + 6, <u16>an);
  store<u16>(out + 8, <u16>ns);
  store<u16>(out + 10, <u16>ar);
  w = 20;
  let off: u32 = 12;
  for (let i: u32 = 0; i < qd; i++) {
    const ne = dnsNameEnd(msg, len, off);
    if (ne < 0 || <u32>ne + 4 > len) return 0;
    put16(rd16(msg + <u32>ne));
    put16(rd16(msg + <u32>ne + 2));
    if (!putName(off) || !fits) return 0;
    off = <u32>ne + 4;
  }
  store<u16>(out + 12, <u16>qd);
  for (let sct: u32 = 0; sct < 3; sct++) {
    const n = sct == 0 ? an : sct == 1 ? ns : ar;
    let written: u32 = 0;
    for (let i: u32 = 0; i < n; i++) {
      const before = w;
      const r = putRecord(off);
      if (r < 0 || !fits) return 0;
      if (w != before) written++;
      off = <u32>r;
    }
    store<u16>(out + 14 + sct * 2, <u16>written);
  }
  return w;
}
