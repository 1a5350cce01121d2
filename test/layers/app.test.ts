// Application layers chosen by UDP port (gopacket v1.1.17): DNS, NTP, DHCPv4,
// DHCPv6, SIP, SFlow, BFD, GTPv1U, plus the DNS extra-layer extract.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { decode, hex } from '../helpers/wasm.js';
import { readDNSExtract } from '../../src/flow/dns.js';

/** Ethernet + IPv4 + UDP (ports) around `payload`, all lengths consistent. */
function udp(src: number, dst: number, payload: Uint8Array): Uint8Array {
  const ipLen = 20 + 8 + payload.length;
  const head = hex(`
    020000000002 020000000001 0800             # Ethernet: dst, src, IPv4
    45 00 ${h16(ipLen)} 0001 0000 40 11 0000     # IPv4: length, TTL 64, UDP
    0a000001 0a000002                          # 10.0.0.1 -> 10.0.0.2
    ${h16(src)} ${h16(dst)} ${h16(8 + payload.length)} 0000   # UDP
  `);
  const f = new Uint8Array(head.length + payload.length);
  f.set(head);
  f.set(payload, head.length);
  return f;
}
function h16(v: number): string { return v.toString(16).padStart(4, '0'); }
function cat(...parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const utf8 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'utf8'));

/** Decodes every proper prefix of `payload` on `port`: each must fail cleanly (no trap). */
function everyPrefixFails(t: Tap.Test, port: number, payload: Uint8Array, layer: string): void {
  let bad = 0;
  for (let n = 1; n < payload.length; n++) {
    const d = decode(udp(40000, port, payload.subarray(0, n)));
    if (d.path !== 'Ethernet/IPv4/UDP/DecodeFailure') { bad++; t.comment(`prefix ${n}: ${d.path}`); }
  }
  t.equal(bad, 0, `every prefix of the ${layer} message is a DecodeFailure`);
}
// `Tap.Test` type without importing internals.
declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0] }

// ---------------------------------------------------------------- DNS

const dnsQuery = hex(`
  1234 0100 0001 0000 0000 0000      # ID, RD, QD=1
  03 777777 06 676f6f676c65 03 636f6d 00   # www.google.com
  0001 0001                          # A, IN
`);

// A response exercising every kept RDATA type. Offsets: question name at 12.
const dnsResponse = hex(`
  abcd 8580 0001 0008 0000 0001      # ID, QR AA RD RA, QD 1, AN 8, AR 1
  03 777777 06 676f6f676c65 03 636f6d 00 0001 0001   # Q www.google.com A IN
  c00c 0005 0001 00000064 0004 01 78 c010            # CNAME x.google.com
  c00c 0001 0001 0000012c 0004 adc22893              # A 173.194.40.147
  c00c 001c 0001 0000012c 0010 2a00145040070000000000000000200 3  # AAAA
  c010 0006 0001 00000005 001e 02 6e73 c010 02 686d c010 00000001 00000002 00000003 00000004 00000005  # SOA
  c010 000f 0001 0000000a 0004 000a c010             # MX 10 google.com
  c010 0021 0001 0000000a 0008 0001 0002 0050 c00c   # SRV 1 2 80 www.google.com
  c010 0010 0001 0000000a 0006 02 6869 02 796f       # TXT "hi" "yo"
  c010 0063 0001 0000000a 0000                       # type 99: dropped by Skydive
  00 0029 1000 00008000 0008 000a 0004 deadbeef      # OPT, cookie option
`);

t.test('DNS query and response decode', (t) => {
  let d = decode(udp(40000, 53, dnsQuery));
  t.equal(d.path, 'Ethernet/IPv4/UDP/DNS');
  const l = d.layers[3];
  t.equal(l.contents, dnsQuery.length, 'Contents is the whole message');
  t.equal(l.payload, 0);
  t.equal(l.fields.getUint16(0, true), 0x1234, 'ID');
  t.equal(l.fields.getUint16(4, true), 1, 'QDCOUNT');
  d = decode(udp(53, 40000, dnsResponse));
  t.equal(d.path, 'Ethernet/IPv4/UDP/DNS', 'source port 53 also selects DNS');
  t.equal(d.layers[3].fields.getUint32(12, true), dnsResponse.length, 'parsed to the end');
  t.end();
});

t.test('DNS failures (gopacket v1.1.17)', (t) => {
  everyPrefixFails(t, 53, dnsQuery, 'DNS query');
  everyPrefixFails(t, 53, dnsResponse, 'DNS response');
  const fails = (name: string, msg: Uint8Array): void => {
    t.equal(decode(udp(40000, 53, msg)).path, 'Ethernet/IPv4/UDP/DecodeFailure', name);
  };
  const ok = (name: string, msg: Uint8Array): void => {
    t.equal(decode(udp(40000, 53, msg)).path, 'Ethernet/IPv4/UDP/DNS', name);
  };
  fails('QDCOUNT larger than the questions present', hex('1234 0100 0002 0000 0000 0000 01 61 00 0001 0001'));
  fails('ANCOUNT with no record', hex('1234 8100 0000 0001 0000 0000'));
  ok('trailing bytes after the last record are ignored', hex('1234 0100 0001 0000 0000 0000 01 61 00 0001 0001 ffff'));
  fails('pointer loop (more than 255 levels)', hex('1234 0100 0001 0000 0000 0000 c00c 0001 0001'));
  fails('label type 01', hex('1234 0100 0001 0000 0000 0000 41 61 00 0001 0001'));
  fails('label type 10', hex('1234 0100 0001 0000 0000 0000 81 61 00 0001 0001'));
  fails('pointer to the end of the message', hex('1234 0100 0001 0000 0000 0000 c011 0001 0001'));
  ok('forward pointer', hex('1234 0100 0001 0000 0000 0000 c012 0001 0001 01 61 00'));
  ok('A record of 3 bytes is not checked', hex('1234 8100 0000 0001 0000 0000 00 0001 0001 00000001 0003 010203'));
  fails('RDLENGTH past the data', hex('1234 8100 0000 0001 0000 0000 00 0001 0001 00000001 0004 010203'));
  fails('TXT strings not filling the RDATA', hex('1234 8100 0000 0001 0000 0000 00 0010 0001 00000001 0003 03 6162'));
  ok('TXT with no string', hex('1234 8100 0000 0001 0000 0000 00 0010 0001 00000001 0000'));
  fails('CNAME with RDLENGTH 0 at the end of the message', hex('1234 8100 0000 0001 0000 0000 00 0005 0001 00000001 0000'));
  ok('CNAME name read past RDLENGTH (whole message)', hex('1234 8100 0000 0001 0000 0000 00 0005 0001 00000001 0001 01 61 00'));
  fails('SOA numbers past the message', hex('1234 8100 0000 0001 0000 0000 00 0006 0001 00000001 0002 00 00 00000001'));
  fails('MX too short', hex('1234 8100 0000 0001 0000 0000 00 000f 0001 00000001 0001 00'));
  ok('OPT with options, last record', hex('1234 0100 0000 0000 0000 0001 00 0029 1000 00008000 0008 000a 0004 01020304'));
  ok('OPT without options, last record', hex('1234 0100 0000 0000 0000 0001 00 0029 1000 00008000 0000'));
  // zeek/ipv6-fragmented-dns.pcap packet 2: an OPT of RDLENGTH 0 followed by
  // an A record; v1.1.17 parses the A record bytes as options and fails.
  fails('OPT options run to the end of the message', hex(`
    1234 8100 0000 0000 0000 0002
    00 0029 1000 00008000 0000
    c00c 0001 0001 00000064 0004 c096bb1f`));
  t.end();
});

// The extract is not exported by assembly/index.ts (yet): build a tiny module around it.
let extractCore: { memory: WebAssembly.Memory; dnsExtract(m: number, l: number, o: number, c: number): number; buf(): number } | undefined;
function extractModule(): NonNullable<typeof extractCore> {
  if (extractCore) return extractCore;
  const dir = mkdtempSync(join(tmpdir(), 'dnsx-'));
  const lib = relative(dir, resolve('assembly/layers/dns_extract')).split('\\').join('/');
  writeFileSync(join(dir, 'entry.ts'),
    `export { dnsExtract } from '${lib}';\nexport function buf(): usize { return __heap_base; }\n`);
  execFileSync(process.execPath, [resolve('node_modules/assemblyscript/bin/asc.js'), join(dir, 'entry.ts'),
    '--runtime', 'stub', '--bindings', 'raw', '--initialMemory', '16', '-o', join(dir, 'x.wasm')], { stdio: 'pipe' });
  const mod = new WebAssembly.Module(readFileSync(join(dir, 'x.wasm')));
  extractCore = new WebAssembly.Instance(mod, { env: { abort: () => { throw new Error('abort'); } } }).exports as never;
  return extractCore!;
}

function extract(msg: Uint8Array, cap = 4096): ReturnType<typeof readDNSExtract> | number {
  const c = extractModule();
  const base = (c.buf() + 15) & ~15;
  const mem = new Uint8Array(c.memory.buffer);
  mem.set(msg, base);
  const out = base + msg.length + 16;
  const n = c.dnsExtract(base, msg.length, out, cap);
  if (n === 0) return 0;
  return readDNSExtract(new DataView(c.memory.buffer), out, n, 1234567890123456789n);
}

t.test('DNS extra layer extract', (t) => {
  const r = extract(dnsResponse);
  if (typeof r === 'number') { t.fail('extract failed'); t.end(); return; }
  t.match(r, {
    ID: 0xabcd, QR: true, OpCode: 'Query', AA: true, TC: false, RD: true, RA: true, Z: 0,
    ResponseCode: 'No Error', QDCount: 1, ANCount: 8, NSCount: 0, ARCount: 1,
    TimestampNs: 1234567890123456789n,
  });
  t.same(r.Questions, [{ Name: 'www.google.com', Type: 'A', Class: 'IN' }]);
  t.equal(r.Answers.length, 7, 'the type-99 record is dropped');
  t.same(r.Answers[0], { Name: 'www.google.com', Type: 'CNAME', Class: 'IN', TTL: 100, DataLength: 4, CNAME: 'x.google.com' });
  t.equal(r.Answers[1].IP, '173.194.40.147');
  t.equal(r.Answers[2].IP, '2a00:1450:4007::2003');
  t.same(r.Answers[3].SOA, { MName: 'ns.google.com', RName: 'hm.google.com', Serial: 1, Refresh: 2, Retry: 3, Expire: 4, Minimum: 5 });
  t.same(r.Answers[4].MX, { Preference: 10, Name: 'google.com' });
  t.same(r.Answers[5].SRV, { Priority: 1, Weight: 2, Port: 80, Name: 'www.google.com' });
  t.same(r.Answers[6].TXTs, ['hi', 'yo']);
  t.match(r.Additionals[0], { Name: '', Type: 'OPT', Class: 'Unknown', TTL: 0x8000, DataLength: 8 });
  t.equal(r.Additionals[0].OPT!.length, 1);
  t.equal(r.Additionals[0].OPT![0].Code, 'Cookie');
  t.same([...r.Additionals[0].OPT![0].Data], [0xde, 0xad, 0xbe, 0xef]);
  t.equal(extract(dnsResponse, 40), 0, 'does not fit: 0');
  // Header strings as gopacket prints them.
  const q = extract(hex('0001 2803 0000 0000 0000 0000')) as Exclude<ReturnType<typeof extract>, number>;
  t.equal(q.OpCode, 'Update');
  t.equal(q.ResponseCode, 'Non-Existent Domain');
  const sf = extract(hex('0001 0002 0000 0000 0000 0000')) as Exclude<ReturnType<typeof extract>, number>;
  t.equal(sf.ResponseCode, 'Server Failure ', 'gopacket keeps the trailing space');
  // A record of 3 bytes and 16 bytes: net.IP printing rules.
  const odd = extract(hex(`1234 8100 0000 0002 0000 0000
    00 0001 0001 00000001 0003 010203
    00 0001 0001 00000001 0010 00000000000000000000ffff0a000001`)) as Exclude<ReturnType<typeof extract>, number>;
  t.equal(odd.Answers[0].IP, '?010203');
  t.equal(odd.Answers[1].IP, '10.0.0.1');
  t.end();
});

// ---------------------------------------------------------------- NTP

t.test('NTP', (t) => {
  const ntp = new Uint8Array(48);
  ntp[0] = 0x23; // LI 0, VN 4, mode 3
  let d = decode(udp(123, 123, ntp));
  t.equal(d.path, 'Ethernet/IPv4/UDP/NTP');
  t.equal(d.layers[3].contents, 48);
  t.equal(d.layers[3].fields.getUint8(0), 0x23);
  d = decode(udp(123, 123, cat(ntp, hex('01020304'))));
  t.equal(d.layers[3].contents, 52, 'extension bytes stay in Contents');
  everyPrefixFails(t, 123, ntp, 'NTP');
  t.end();
});

// ---------------------------------------------------------------- DHCPv4

function dhcp4(options: string, hlen = 6): Uint8Array {
  const m = new Uint8Array(240);
  m.set(hex(`01 01 ${hlen.toString(16).padStart(2, '0')} 00  11223344  0005 8000`), 0);
  m.set(hex('020000000001'), 28);
  m.set(ascii('srv'), 44);
  m.set(ascii('boot.img'), 108);
  m.set(hex('63825363'), 236);
  return cat(m, options ? hex(options) : new Uint8Array(0));
}

t.test('DHCPv4', (t) => {
  const ok = dhcp4('35 01 01  00  37 02 01 03  ff 00 00');
  let d = decode(udp(68, 67, ok));
  t.equal(d.path, 'Ethernet/IPv4/UDP/DHCPv4');
  const l = d.layers[3];
  t.equal(l.contents, 0, 'v1.1.17 never sets Contents');
  t.equal(l.payload, 0);
  t.equal(l.fields.getUint16(0, true), 0x8000, 'Flags');
  t.equal(l.fields.getUint16(2, true), 5, 'Secs');
  t.equal(l.fields.getUint8(4), 6, 'HardwareLen');
  t.equal(l.fields.getUint8(5), 0, 'HardwareOpts');
  t.equal(l.fields.getUint32(8, true), 0x11223344, 'Xid');
  t.equal(l.fields.getUint16(12, true), 3, 'options before End (pad included)');
  t.equal(decode(udp(68, 67, dhcp4(''))).path, 'Ethernet/IPv4/UDP/DHCPv4', 'no options at all');
  t.equal(decode(udp(67, 68, dhcp4('00 00 00'))).path, 'Ethernet/IPv4/UDP/DHCPv4', 'pads only');
  const fail = (name: string, m: Uint8Array): void => {
    t.equal(decode(udp(68, 67, m)).path, 'Ethernet/IPv4/UDP/DecodeFailure', name);
  };
  const bad = dhcp4('ff'); bad[236] = 0x64;
  fail('bad magic cookie', bad);
  fail('option length past the data', dhcp4('0c 05 616263'));
  fail('option code without length byte', dhcp4('0c'));
  fail('hardware length past the data', dhcp4('', 255));
  everyPrefixFails(t, 67, dhcp4(''), 'DHCPv4 fixed part');
  t.end();
});

// ---------------------------------------------------------------- DHCPv6

t.test('DHCPv6', (t) => {
  const solicit = hex('01 abcdef  0001 000a 00030001020000000001  0008 0002 0000');
  let d = decode(udp(546, 547, solicit));
  t.equal(d.path, 'Ethernet/IPv4/UDP/DHCPv6');
  t.equal(d.layers[3].contents, solicit.length);
  t.equal(d.layers[3].fields.getUint16(2, true), 2, 'two options');
  t.equal(decode(udp(546, 547, hex('01 abcdef'))).path, 'Ethernet/IPv4/UDP/DHCPv6', 'no option');
  const fail = (name: string, m: Uint8Array): void => {
    t.equal(decode(udp(546, 547, m)).path, 'Ethernet/IPv4/UDP/DecodeFailure', name);
  };
  fail('option length past the data', hex('01 abcdef 0001 000a 0003'));
  fail('option header cut', hex('01 abcdef 0001 00'));
  fail('relay-forward shorter than 34 bytes', hex('0c 00 ' + '00'.repeat(30)));
  t.equal(decode(udp(547, 547, hex('0c 01 ' + '00'.repeat(32)))).path, 'Ethernet/IPv4/UDP/DHCPv6', 'relay header only');
  everyPrefixFails(t, 547, hex('01 abcdef'), 'DHCPv6');
  t.end();
});

// ---------------------------------------------------------------- SIP

t.test('SIP (v1.1.17 parser)', (t) => {
  const req = ascii('INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 INVITE\r\nContent-Length: 4\r\n\r\nv=0\n');
  let d = decode(udp(5060, 5060, req));
  t.equal(d.path, 'Ethernet/IPv4/UDP/SIP');
  const f = d.layers[3].fields;
  t.equal(d.layers[3].contents, 0, 'v1.1.17 never sets Contents');
  t.equal(f.getUint8(0), 0, 'request');
  t.equal(f.getUint8(1), 1, 'INVITE');
  t.equal(f.getUint8(2), 2, 'SIP/2.0');
  t.equal(f.getUint8(3), 1, 'body present');
  t.equal(f.getUint32(8, true), 3, 'body "v=0" (trailing newline stripped)');
  d = decode(udp(5060, 40000, ascii('sip/2.0 200 OK\r\nCSeq: 7 invite\r\n\r\n')));
  t.equal(d.path, 'Ethernet/IPv4/UDP/DecodeFailure', '"sip" prefix is case-sensitive: method "sip/2.0" unknown');
  d = decode(udp(5060, 40000, ascii('SIP/2.0 200 OK\r\nCSeq: 7 invite\r\n\r\n')));
  t.equal(d.path, 'Ethernet/IPv4/UDP/SIP', 'response, method case-insensitive');
  t.equal(d.layers[3].fields.getUint8(0), 1);
  t.equal(decode(udp(5060, 40000, utf8('ſip/2.0 200 OK\r\n\r\n'))).path, 'Ethernet/IPv4/UDP/DecodeFailure');
  t.equal(decode(udp(40000, 5060, utf8('OPTIONS x ſIP/2.0\r\n\r\n'))).path, 'Ethernet/IPv4/UDP/SIP',
    'U+017F upper-cases to S in Go');
  const fail = (name: string, s: string): void => {
    t.equal(decode(udp(40000, 5060, ascii(s))).path, 'Ethernet/IPv4/UDP/DecodeFailure', name);
  };
  const ok = (name: string, s: string): void => {
    t.equal(decode(udp(40000, 5060, ascii(s))).path, 'Ethernet/IPv4/UDP/SIP', name);
  };
  fail('two fields only', 'INVITE sip:x\r\n\r\n');
  fail('unknown method', 'FOO sip:x SIP/2.0\r\n\r\n');
  fail('bad version', 'INVITE sip:x SIP/3.0\r\n\r\n');
  fail('extra text after the version', 'INVITE sip:x SIP/2.0 x\r\n\r\n');
  fail('status code not an int', 'SIP/2.0 2x0 OK\r\n\r\n');
  ok('status code with sign', 'SIP/2.0 +200 OK\r\n\r\n');
  fail('status code overflowing int64', 'SIP/2.0 9223372036854775808 OK\r\n\r\n');
  ok('status code at int64 max', 'SIP/2.0 9223372036854775807 OK\r\n\r\n');
  fail('continuation before any header', 'INVITE sip:x SIP/2.0\r\n folded\r\n\r\n');
  ok('continuation after a header', 'INVITE sip:x SIP/2.0\r\nSubject: a\r\n folded\r\n\r\n');
  ok('line without colon ignored', 'INVITE sip:x SIP/2.0\r\nnonsense\r\n\r\n');
  fail('Content-Length not an int', 'INVITE sip:x SIP/2.0\r\nContent-Length: abc\r\n\r\n');
  fail('empty Content-Length', 'INVITE sip:x SIP/2.0\r\ncontent-length:\r\n\r\n');
  ok('compact "l" is not checked', 'INVITE sip:x SIP/2.0\r\nl: abc\r\n\r\n');
  fail('CSeq number not an int', 'INVITE sip:x SIP/2.0\r\nCSeq: x INVITE\r\n\r\n');
  ok('CSeq without space not parsed', 'INVITE sip:x SIP/2.0\r\nCSeq: x\r\n\r\n');
  fail('CSeq method checked in responses', 'SIP/2.0 200 OK\r\nCSeq: 1 FOO\r\n\r\n');
  ok('CSeq method not checked in requests', 'INVITE sip:x SIP/2.0\r\nCSeq: 1 FOO\r\n\r\n');
  ok('the last line without newline is not parsed', 'INVITE sip:x SIP/2.0\r\nContent-Length: abc');
  ok('a single line without newline is not parsed', 'garbage');
  ok('leading newlines are stripped', '\n\nINVITE sip:x SIP/2.0\r\n\r\n');
  t.end();
});

// ---------------------------------------------------------------- SFlow

const sflowHeader = (n: number): string => `00000005 00000001 c0000201 00000000 00000001 00000064 ${n.toString(16).padStart(8, '0')}`;
const genericCounters = `00000001 00000058 ${'00'.repeat(88)}`;

t.test('SFlow', (t) => {
  const counters = hex(`${sflowHeader(1)}
    00000002 0000006c 00000001 00000003 00000001   # counter sample, 1 record
    ${genericCounters}`);
  let d = decode(udp(40000, 6343, counters));
  t.equal(d.path, 'Ethernet/IPv4/UDP/SFlow');
  t.equal(d.layers[3].contents, 0, 'gopacket never sets Contents');
  t.equal(d.layers[3].fields.getUint32(20, true), 1, 'one counter sample');
  everyPrefixFails(t, 6343, counters, 'sFlow counter datagram');
  const flow = hex(`${sflowHeader(1)}
    00000001 00000000 00000001 00000003 00000100 00001000 00000000 00000001 00000002 00000002  # flow sample, 2 records
    00000001 00000018 00000001 00000040 00000000 00000006 020000000001 0000   # raw header, 6 bytes padded to 8
    000003e9 00000010 00000001 00000000 00000002 00000000                      # extended switch`);
  d = decode(udp(40000, 6343, flow));
  t.equal(d.path, 'Ethernet/IPv4/UDP/SFlow');
  everyPrefixFails(t, 6343, flow, 'sFlow flow datagram');
  const fail = (name: string, m: Uint8Array): void => {
    t.equal(decode(udp(40000, 6343, m)).path, 'Ethernet/IPv4/UDP/DecodeFailure', name);
  };
  fail('no sample', hex(sflowHeader(0)));
  fail('host-sflow counter record 2001', hex(`${sflowHeader(1)} 00000002 00000010 00000001 00000003 00000001 000007d1 00000000`));
  fail('unknown sample type', hex(`${sflowHeader(1)} 00000005 00000000`));
  fail('VLAN tunnel flow record (1012) is an error', hex(`${sflowHeader(1)}
    00000001 00000000 00000001 00000003 00000100 00001000 00000000 00000001 00000002 00000001
    000003f4 00000000`));
  t.equal(decode(udp(40000, 6343, hex(`${sflowHeader(1)}
    00000001 00000000 00000001 00000003 00000100 00001000 00000000 00000001 00000002 00000001
    00009001 00000004 00000000`))).path, 'Ethernet/IPv4/UDP/SFlow', 'enterprise flow record skipped by length');
  t.end();
});

// ---------------------------------------------------------------- BFD

t.test('BFD', (t) => {
  const bfd = hex('20 c0 03 18 00000001 00000002 000f4240 000f4240 00000000');
  let d = decode(udp(49152, 3784, bfd));
  t.equal(d.path, 'Ethernet/IPv4/UDP/BFD');
  t.equal(d.layers[3].contents, 24);
  t.equal(d.layers[3].fields.getUint32(4, true), 1, 'my discriminator');
  everyPrefixFails(t, 3784, bfd, 'BFD');
  const lenMismatch = hex('20 c0 03 18 00000001 00000002 000f4240 000f4240 00000000 00');
  t.equal(decode(udp(49152, 3784, lenMismatch)).path, 'Ethernet/IPv4/UDP/DecodeFailure', 'length byte != data length');
  const md5Short = hex('20 c4 03 1f 00000001 00000002 000f4240 000f4240 00000000 02 07 01 00000000');
  t.equal(decode(udp(49152, 3784, md5Short)).path, 'Ethernet/IPv4/UDP/DecodeFailure', 'keyed MD5 auth cut');
  const pwd = hex('20 c4 03 1c 00000001 00000002 000f4240 000f4240 00000000 01 04 01 61');
  t.equal(decode(udp(49152, 3784, pwd)).path, 'Ethernet/IPv4/UDP/BFD', 'simple password auth');
  t.end();
});

// ---------------------------------------------------------------- GTPv1U

t.test('GTPv1U', (t) => {
  const inner = hex('45 00 001c 0000 0000 40 01 0000 0a0a0a01 0a0a0a02  08 00 0000 0001 0001');
  const gtp = cat(hex(`30 ff ${h16(inner.length)} 00000042`), inner);
  let d = decode(udp(2152, 2152, gtp));
  t.equal(d.path, 'Ethernet/IPv4/UDP/GTPv1U/IPv4/ICMPv4');
  t.equal(d.layers[3].contents, 8);
  t.equal(d.layers[3].payload, inner.length);
  t.equal(d.layers[3].fields.getUint32(4, true), 0x42, 'TEID');
  // Sequence flag + one extension header (PDU session container), then IPv4.
  const ext = cat(hex(`36 ff ${h16(inner.length + 8)} 00000042 0007 00 85  01 10 01 00`), inner);
  d = decode(udp(2152, 2152, ext));
  t.equal(d.path, 'Ethernet/IPv4/UDP/GTPv1U/IPv4/ICMPv4');
  t.equal(d.layers[3].contents, 16);
  t.equal(d.layers[3].fields.getUint16(8, true), 7, 'sequence number');
  t.equal(decode(udp(2152, 2152, cat(hex('30 ff 0004 00000042'), hex('ff030021')))).path,
    'Ethernet/IPv4/UDP/GTPv1U/PPP', 'first nibble neither 4 nor 6: PPP');
  t.equal(decode(udp(2152, 2152, hex('30 01 0000 00000000'))).path, 'Ethernet/IPv4/UDP/GTPv1U', 'echo: no payload');
  const fail = (name: string, m: Uint8Array): void => {
    t.equal(decode(udp(2152, 2152, m)).path, 'Ethernet/IPv4/UDP/DecodeFailure', name);
  };
  fail('message length past the data', hex('30 ff 0010 00000042 45'));
  fail('zero extension length', hex('34 ff 0008 00000042 0000 00 85 00 00 00 00'));
  fail('extension header past the data', hex('34 ff 0004 00000042 0000 00 85 02 00 00 00'));
  fail('flag set but fewer than 12 bytes', hex('32 ff 0000 00000042 00'));
  everyPrefixFails(t, 2152, hex('30 ff 0000 00000042'), 'GTP');
  t.end();
});
