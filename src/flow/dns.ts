/**
 * Reader of the compact DNS extract written by assembly/layers/dns_extract.ts
 * (the binary format is documented there: little-endian, u16-length names and
 * byte strings). It builds Skydive's DNS extra layer (spec section 4.8) with the
 * strings gopacket v1.1.17 prints: DNSType/DNSClass/DNSOpCode/DNSResponseCode
 * String() values, names as Go strings (bytesToGoString), IPs as Go's
 * net.IP.String().
 */
import { bytesToGoString } from '../format/json.js';
import { ipv4Text, ipv6Text } from './text.js';
import type { DNS, DNSQuestion, DNSResourceRecord } from './types.js';

const TYPE_NAMES: Record<number, string> = {
  1: 'A', 2: 'NS', 3: 'MD', 4: 'MF', 5: 'CNAME', 6: 'SOA', 7: 'MB', 8: 'MG', 9: 'MR', 10: 'NULL',
  11: 'WKS', 12: 'PTR', 13: 'HINFO', 14: 'MINFO', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 41: 'OPT',
};

/** gopacket v1.1.17 DNSType.String() (no URI yet: 256 is "Unknown"). */
export function dnsTypeName(t: number): string { return TYPE_NAMES[t] ?? 'Unknown'; }

/** gopacket DNSClass.String(). */
export function dnsClassName(c: number): string {
  switch (c) {
    case 1: return 'IN';
    case 2: return 'CS';
    case 3: return 'CH';
    case 4: return 'HS';
    case 255: return 'Any';
    default: return 'Unknown';
  }
}

/** gopacket DNSOpCode.String(). */
export function dnsOpCodeName(op: number): string {
  switch (op) {
    case 0: return 'Query';
    case 1: return 'Inverse Query';
    case 2: return 'Status';
    case 4: return 'Notify';
    case 5: return 'Update';
    default: return 'Unknown';
  }
}

const RCODE_NAMES: Record<number, string> = {
  0: 'No Error', 1: 'Format Error', 2: 'Server Failure ', 3: 'Non-Existent Domain',
  4: 'Not Implemented', 5: 'Query Refused', 6: 'Name Exists when it should not',
  7: 'RR Set Exists when it should not', 8: 'RR Set that should exist does not',
  9: 'Server Not Authoritative for zone', 10: 'Name not contained in zone',
  16: 'Bad OPT Version', 17: 'Key not recognized', 18: 'Signature out of time window',
  19: 'Bad TKEY Mode', 20: 'Duplicate key name', 21: 'Algorithm not supported', 22: 'Bad Truncation',
};

/**
 * gopacket v1.1.17 DNSResponseCode.String(), trailing space of "Server Failure " included.
 * v1.1.17 takes the 4-bit header RCODE only (the OPT extended RCODE came later), so only 0..15
 * reach this in practice.
 */
export function dnsResponseCodeName(rc: number): string { return RCODE_NAMES[rc] ?? 'Unknown'; }

const OPTION_NAMES: Record<number, string> = {
  3: 'NSID', 5: 'DAU', 6: 'DHU', 7: 'N3U', 8: 'EDNSClientSubnet', 9: 'EDNSExpire', 10: 'Cookie',
  11: 'EDNSKeepAlive', 12: 'CodePadding', 13: 'CodeChain', 14: 'CodeEDNSKeyTag',
  16: 'EDNSClientTag', 17: 'EDNSServerTag', 26946: 'DeviceID',
};

/** gopacket DNSOptionCode.String(). */
export function dnsOptionCodeName(c: number): string { return OPTION_NAMES[c] ?? 'Unknown'; }

/** Go net.IP(b).String() for a slice of any length. */
export function goIPText(b: Uint8Array): string {
  if (b.length === 0) return '<nil>';
  if (b.length === 4) return ipv4Text(b, 0);
  if (b.length === 16) return ipv6Text(b, 0);
  let s = '?';
  for (const v of b) s += (v < 16 ? '0' : '') + v.toString(16);
  return s;
}

/**
 * Turns the extract at view[offset, offset+length) into Skydive's DNS layer.
 * Throws RangeError if the extract is cut short (it never is when dnsExtract returned its length).
 */
export function readDNSExtract(view: DataView, offset: number, length: number, timestampNs: bigint): DNS {
  const end = offset + length;
  let p = offset;
  const need = (n: number): void => {
    if (p + n > end) throw new RangeError('DNS extract cut short');
  };
  const u8 = (): number => { need(1); return view.getUint8(p++); };
  const u16 = (): number => { need(2); const v = view.getUint16(p, true); p += 2; return v; };
  const u32 = (): number => { need(4); const v = view.getUint32(p, true); p += 4; return v; };
  const bytes = (): Uint8Array => {
    const n = u16();
    need(n);
    const b = new Uint8Array(view.buffer, view.byteOffset + p, n).slice();
    p += n;
    return b;
  };
  const name = (): string => bytesToGoString(bytes());

  const id = u16();
  const b2 = u8();
  const b3 = u8();
  const qd = u16(), an = u16(), ns = u16(), ar = u16();
  const nq = u16(), nan = u16(), nns = u16(), nar = u16();

  const questions: DNSQuestion[] = [];
  for (let i = 0; i < nq; i++) {
    const type = u16();
    const cls = u16();
    questions.push({ Name: name(), Type: dnsTypeName(type), Class: dnsClassName(cls) });
  }

  const record = (): DNSResourceRecord => {
    const type = u16();
    const cls = u16();
    const ttl = u32();
    const dataLength = u16();
    const r: DNSResourceRecord = {
      Name: name(), Type: dnsTypeName(type), Class: dnsClassName(cls), TTL: ttl, DataLength: dataLength,
    };
    switch (type) {
      case 1: case 28: r.IP = goIPText(bytes()); break;
      case 2: r.NS = name(); break;
      case 5: r.CNAME = name(); break;
      case 12: r.PTR = name(); break;
      case 6: {
        const mname = name();
        const rname = name();
        r.SOA = { MName: mname, RName: rname, Serial: u32(), Refresh: u32(), Retry: u32(), Expire: u32(), Minimum: u32() };
        break;
      }
      case 15: { const pref = u16(); r.MX = { Preference: pref, Name: name() }; break; }
      case 33: {
        const prio = u16(), weight = u16(), port = u16();
        r.SRV = { Priority: prio, Weight: weight, Port: port, Name: name() };
        break;
      }
      case 13: case 16: {
        const n = u16();
        const txts: string[] = [];
        for (let i = 0; i < n; i++) txts.push(name());
        r.TXTs = txts;
        break;
      }
      case 41: {
        const n = u16();
        const opts: { Code: string; Data: Uint8Array }[] = [];
        for (let i = 0; i < n; i++) {
          const code = u16();
          opts.push({ Code: dnsOptionCodeName(code), Data: bytes() });
        }
        r.OPT = opts;
        break;
      }
    }
    return r;
  };
  const records = (n: number): DNSResourceRecord[] => {
    const out: DNSResourceRecord[] = [];
    for (let i = 0; i < n; i++) out.push(record());
    return out;
  };
  const answers = records(nan);
  const authorities = records(nns);
  const additionals = records(nar);

  return {
    ID: id,
    QR: (b2 & 0x80) !== 0,
    OpCode: dnsOpCodeName((b2 >> 3) & 0x0f),
    AA: (b2 & 0x04) !== 0,
    TC: (b2 & 0x02) !== 0,
    RD: (b2 & 0x01) !== 0,
    RA: (b3 & 0x80) !== 0,
    Z: (b3 >> 4) & 0x07,
    ResponseCode: dnsResponseCodeName(b3 & 0x0f),
    QDCount: qd, ANCount: an, NSCount: ns, ARCount: ar,
    Questions: questions,
    Answers: answers,
    Authorities: authorities,
    Additionals: additionals,
    TimestampNs: timestampNs,
  };
}
