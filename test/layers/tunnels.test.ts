// Tunnel decoders: GRE (all option combinations), Skydive's ERSPAN-II,
// MPLS with Skydive's bottom-of-stack guesser, VXLAN, Geneve and EtherIP,
// checked against gopacket v1.1.17 + Skydive; plus the corpus captures that
// carry them (LayersPath per packet, as Skydive's golden files show them).
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { decode, hex, testCore } from '../helpers/wasm.js';

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
const h16 = (n: number) => n.toString(16).padStart(4, '0');
const eth = (type: string, src = '020000000001') => hex(`ffffffffffff ${src} ${type}`);
/** IPv4 header (no options) around `payload`, exact total length. */
function ip4(proto: number, payload: Uint8Array, src = '0a000001'): Uint8Array {
  return cat(hex(`45 00 ${h16(20 + payload.length)} 0001 0000 40 ${proto.toString(16).padStart(2, '0')} 0000 ${src} 0a000002`), payload);
}
/** UDP header with an exact length. */
const udp = (sport: number, dport: number, payload: Uint8Array) =>
  cat(hex(`${h16(sport)} ${h16(dport)} ${h16(8 + payload.length)} 0000`), payload);
/** ICMPv4 echo request, id 0x1234, 4 data bytes. */
const icmp = hex('08 00 0000 1234 0001 deadbeef');
const innerFrame = () => cat(eth('0800', '02000000aaaa'), ip4(1, icmp, 'c0a80001'));
/** Ethernet/IPv4 carrying `payload` as IP protocol `proto`. */
const overIP = (proto: number, payload: Uint8Array) => cat(eth('0800'), ip4(proto, payload));

// ---------------------------------------------------------------- GRE

t.test('GRE: plain header, protocol table, Contents/Payload', (t) => {
  const d = decode(overIP(47, cat(hex('0000 0800'), ip4(1, icmp, 'c0a80001'))));
  t.equal(d.path, 'Ethernet/IPv4/GRE/IPv4/ICMPv4/Payload');
  const g = d.layers[2];
  t.equal(g.contents, 4);
  t.equal(g.payload, 32);
  t.equal(g.fields.getUint16(0, true), 0x0800, 'protocol');
  t.equal(g.fields.getUint32(4, true), 0, 'no K bit: key 0');
  t.equal(d.network, 1, 'the outer IPv4 is the network layer');
  t.end();
});

t.test('GRE: C, K, S, A fields and their offsets', (t) => {
  // C K S set, A set (byte 1 bit 7), version 1.
  const hdr = hex('b0 81 0800  abcd 0000  11223344  00000007  00000009');
  const d = decode(overIP(47, cat(hdr, ip4(1, icmp, 'c0a80001'))));
  t.equal(d.path, 'Ethernet/IPv4/GRE/IPv4/ICMPv4/Payload');
  const f = d.layers[2].fields;
  t.equal(d.layers[2].contents, 20);
  t.equal(f.getUint8(2), 0x80 | 0x20 | 0x10 | 0x01, 'flags C K S A');
  t.equal(f.getUint8(3), 1, 'version');
  t.equal(f.getUint32(4, true), 0x11223344, 'key');
  t.equal(f.getUint32(8, true), 7, 'sequence');
  t.equal(f.getUint32(12, true), 9, 'ack');
  t.equal(f.getUint16(16, true), 0xabcd, 'checksum');
  // Every combination of C, K, S, A: header length 4 + 4 per present field.
  for (let m = 0; m < 16; m++) {
    const c = m & 1, k = (m >> 1) & 1, s = (m >> 2) & 1, a = (m >> 3) & 1;
    const b0 = (c << 7) | (k << 5) | (s << 4), b1 = a << 7;
    const opt = new Uint8Array(4 * (c + k + s + a)).fill(0x11);
    const gre = cat(Uint8Array.of(b0, b1, 0x08, 0x00), opt, ip4(1, icmp, 'c0a80001'));
    const dd = decode(overIP(47, gre));
    t.equal(dd.layers[2].contents, 4 + opt.length, `C${c} K${k} S${s} A${a}`);
    t.equal(dd.layers[2].fields.getUint32(4, true), k ? 0x11111111 : 0, 'key only with K');
    t.equal(dd.path, 'Ethernet/IPv4/GRE/IPv4/ICMPv4/Payload');
    // Every truncation of the header: no GRE layer, a DecodeFailure.
    for (let n = 1; n < 4 + opt.length; n++) {
      t.equal(decode(overIP(47, gre.subarray(0, n))).path, 'Ethernet/IPv4/DecodeFailure', `cut at ${n}`);
    }
    t.equal(decode(overIP(47, gre.subarray(0, 4 + opt.length))).path, 'Ethernet/IPv4/GRE', 'header only');
  }
  t.equal(decode(overIP(47, new Uint8Array(0))).path, 'Ethernet/IPv4', 'empty GRE payload');
  t.end();
});

t.test('GRE routing: SREs until the NULL SRE, then ack', (t) => {
  // R set (so checksum+offset present), one SRE of 4 bytes, NULL SRE, A set.
  const hdr = hex('40 80 0800  0000 0004  0800 00 04 0a000001  0000 00 00  00000005');
  const d = decode(overIP(47, cat(hdr, ip4(1, icmp, 'c0a80001'))));
  t.equal(d.path, 'Ethernet/IPv4/GRE/IPv4/ICMPv4/Payload');
  t.equal(d.layers[2].contents, hdr.length);
  t.equal(d.layers[2].fields.getUint32(12, true), 5, 'ack after the routing');
  t.equal(d.layers[2].fields.getUint16(18, true), 4, 'routing offset');
  for (let n = 1; n < hdr.length; n++) {
    t.equal(decode(overIP(47, hdr.subarray(0, n))).path, 'Ethernet/IPv4/DecodeFailure', `cut at ${n}`);
  }
  // An SRE list without its NULL terminator runs off the data.
  t.equal(decode(overIP(47, hex('40 00 0800 0000 0000 0800 00 04 0a000001'))).path, 'Ethernet/IPv4/DecodeFailure');
  t.end();
});

t.test('GRE next layer: unknown protocols stop quietly, known ones follow the EtherType table', (t) => {
  t.equal(decode(overIP(47, hex('0000 1234 ffffffff'))).path, 'Ethernet/IPv4/GRE', 'unknown protocol');
  t.equal(decode(overIP(47, hex('0000 22eb 10000000 00000000 00000000'))).path, 'Ethernet/IPv4/GRE',
    'ERSPAN type III (0x22EB): unknown to gopacket');
  t.equal(decode(overIP(47, cat(hex('2000 6558 00000100'), innerFrame()))).path,
    'Ethernet/IPv4/GRE/Ethernet/IPv4/ICMPv4/Payload', 'NVGRE / transparent Ethernet bridging');
  const ip6 = cat(hex('60000000 0008 3a 40'), new Uint8Array(32), hex('8000 0000 0001 0001'));
  t.equal(decode(overIP(47, cat(hex('0000 86dd'), ip6))).path, 'Ethernet/IPv4/GRE/IPv6/ICMPv6/ICMPv6Echo');
  t.equal(decode(overIP(47, cat(hex('0000 8847'), hex('00001 1 40'.replace(/ /g, '')), ip4(1, icmp)))).path,
    'Ethernet/IPv4/GRE/MPLS/IPv4/ICMPv4/Payload');
  t.end();
});

// ---------------------------------------------------------------- ERSPAN

t.test('ERSPAN-II (Skydive): no ERSPAN layer, Ethernet from byte 8, not a link layer', (t) => {
  const erspan = hex('1000 0001 0000 0000'); // version 1, session 1
  const gre = cat(hex('1000 88be 00000001'), erspan, innerFrame()); // S bit, seq 1
  let d = decode(overIP(47, gre));
  t.equal(d.path, 'Ethernet/IPv4/GRE/Ethernet/IPv4/ICMPv4/Payload');
  t.equal(d.layers[3].offset, 14 + 20 + 8 + 8, 'inner Ethernet right after the 8 ERSPAN bytes');
  t.equal(d.layers[3].contents, 14);
  // Raw IPv4 link type: nothing sets a link layer, the ERSPAN Ethernet must not.
  d = decode(ip4(47, gre), 101);
  t.equal(d.path, 'IPv4/GRE/Ethernet/IPv4/ICMPv4/Payload');
  t.equal(d.link, -1, 'Skydive adds the inner Ethernet without SetLinkLayer');
  t.end();
});

t.test('ERSPAN-II truncations and the empty Ethernet Skydive keeps', (t) => {
  const body = cat(hex('1000 0001 0000 0000'), innerFrame());
  for (let n = 1; n <= 22; n++) {
    const d = decode(overIP(47, cat(hex('1000 88be 00000001'), body.subarray(0, n))));
    if (n < 8) t.equal(d.path, 'Ethernet/IPv4/GRE/DecodeFailure', `${n} bytes: data[8:] panics`);
    else if (n < 22) {
      t.equal(d.path, 'Ethernet/IPv4/GRE/Ethernet/DecodeFailure', `${n} bytes: empty Ethernet kept`);
      t.equal(d.layers[3].contents, 0);
    } else t.equal(d.path, 'Ethernet/IPv4/GRE/Ethernet', '22 bytes: a bare Ethernet header');
  }
  // Type I (no S bit, no ERSPAN header): Skydive still skips 8 bytes, so the
  // inner Ethernet is read from the wrong place (erspan-type-i-1.pcap).
  const d = decode(overIP(47, cat(hex('0000 88be'), cat(eth('8100'), hex('0064 0800'), ip4(1, icmp)))));
  t.equal(d.path, 'Ethernet/IPv4/GRE/Ethernet/LLC/DecodeFailure');
  // Unknown inner EtherType: an error, but not on an empty payload.
  t.equal(decode(overIP(47, cat(hex('1000 88be 00000001'), hex('1000 0001 0000 0000'), eth('88b5'), hex('00')))).path,
    'Ethernet/IPv4/GRE/Ethernet/DecodeFailure');
  t.equal(decode(overIP(47, cat(hex('1000 88be 00000001'), hex('1000 0001 0000 0000'), eth('88b5')))).path,
    'Ethernet/IPv4/GRE/Ethernet');
  t.end();
});

t.test('ERSPAN type III always, type I when enabled', (t) => {
  const core = testCore() as unknown as { setERSPANTypeI: (on: number) => void };
  const e3 = hex('2001 0001 00000000 0000 0000'); // version 2, frame type 0, no O bit
  let d = decode(overIP(47, cat(hex('1000 22eb 00000001'), e3, innerFrame())));
  t.equal(d.path, 'Ethernet/IPv4/GRE/Ethernet/IPv4/ICMPv4/Payload', 'type III');
  t.equal(d.layers[3].offset, 14 + 20 + 8 + 12);
  const e3o = hex('2001 0001 00000000 0000 0001 0000000000000000'); // O bit: 8-byte sub-header
  t.equal(decode(overIP(47, cat(hex('1000 22eb 00000001'), e3o, innerFrame()))).layers[3].offset, 14 + 20 + 8 + 20);
  t.equal(decode(overIP(47, cat(hex('1000 22eb 00000001'), e3.subarray(0, 11)))).path, 'Ethernet/IPv4/GRE/DecodeFailure');
  t.equal(decode(overIP(47, cat(hex('1000 22eb 00000001'), hex('2001 0001 00000000 0000 0800'), ip4(1, icmp)))).path,
    'Ethernet/IPv4/GRE', 'frame type 2 (IP): not decoded');
  core.setERSPANTypeI(1);
  try {
    d = decode(overIP(47, cat(hex('0000 88be'), innerFrame())));
    t.equal(d.path, 'Ethernet/IPv4/GRE/Ethernet/IPv4/ICMPv4/Payload', 'type I: the frame follows GRE');
    d = decode(overIP(47, cat(hex('1000 88be 00000001'), hex('1000 0001 0000 0000'), innerFrame())));
    t.equal(d.path, 'Ethernet/IPv4/GRE/Ethernet/IPv4/ICMPv4/Payload', 'type II unchanged');
  } finally {
    core.setERSPANTypeI(0);
  }
  t.end();
});

// ---------------------------------------------------------------- MPLS

const label = (l: number, tc: number, s: number, ttl: number) => {
  const v = (l << 12) | (tc << 9) | (s << 8) | ttl;
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
};

t.test('MPLS stack: fields, S bit, Skydive guesser to IPv4 / IPv6 / Ethernet', (t) => {
  let d = decode(cat(eth('8847'), label(100, 5, 0, 64), label(0xfffff, 0, 1, 1), ip4(1, icmp)));
  t.equal(d.path, 'Ethernet/MPLS/MPLS/IPv4/ICMPv4/Payload');
  let f = d.layers[1].fields;
  t.equal(f.getUint32(0, true), 100, 'label');
  t.equal(f.getUint8(4), 5, 'TC');
  t.equal(f.getUint8(5), 0, 'S');
  t.equal(f.getUint8(6), 64, 'TTL');
  f = d.layers[2].fields;
  t.equal(f.getUint32(0, true), 0xfffff);
  t.equal(f.getUint8(5), 1);
  t.equal(d.layers[1].contents, 4);
  t.equal(d.network, 3, 'the inner IPv4 becomes the network layer');
  d = decode(cat(eth('8847'), label(16, 0, 1, 64), innerFrame()));
  t.equal(d.path, 'Ethernet/MPLS/Ethernet/IPv4/ICMPv4/Payload', 'first nibble 0: Ethernet');
  t.equal(d.link, 0);
  // MPLS in IP (protocol 137) over raw IPv4: the guessed Ethernet is not a link layer.
  d = decode(ip4(137, cat(label(16, 0, 1, 64), innerFrame())), 101);
  t.equal(d.path, 'IPv4/MPLS/Ethernet/IPv4/ICMPv4/Payload');
  t.equal(d.link, -1);
  t.equal(d.network, 0);
  // IPv6 with a hop-by-hop header: Skydive's raw-IP IPv6 adds no IPv6HopByHop layer.
  const hbh = hex('3a 00 0000 0000 0000'); // next header ICMPv6, 8 bytes
  const ip6 = cat(hex(`60000000 ${h16(hbh.length + 8)} 00 40`), new Uint8Array(32), hbh, hex('8000 0000 0001 0001'));
  d = decode(cat(eth('8847'), label(16, 0, 1, 64), ip6));
  t.match(d.path, /^Ethernet\/MPLS\/IPv6(\/|$)/);
  t.notOk(d.path.includes('IPv6HopByHop'), 'no hop-by-hop layer after MPLS');
  t.ok(decode(cat(eth('86dd'), ip6)).path.includes('IPv6HopByHop'), 'while a plain IPv6 has one');
  // A short non-IP payload: Skydive still adds an (empty) Ethernet layer.
  d = decode(cat(eth('8847'), label(16, 0, 1, 64), hex('00112233')));
  t.equal(d.path, 'Ethernet/MPLS/Ethernet/DecodeFailure');
  t.equal(d.layers[2].contents, 0);
  t.end();
});

t.test('MPLS truncation points', (t) => {
  const frame = cat(eth('8847'), label(100, 0, 0, 64), label(200, 0, 1, 64));
  const paths: string[] = [];
  for (let n = 14; n <= frame.length; n++) paths.push(decode(frame.subarray(0, n)).path);
  t.same(paths, [
    'Ethernet', 'Ethernet/DecodeFailure', 'Ethernet/DecodeFailure', 'Ethernet/DecodeFailure',
    'Ethernet/MPLS', 'Ethernet/MPLS/DecodeFailure', 'Ethernet/MPLS/DecodeFailure', 'Ethernet/MPLS/DecodeFailure',
    'Ethernet/MPLS/MPLS',
  ]);
  t.end();
});

// Skydive's fallback needs the driver (decode.ts) to hand an error back to the
// innermost pending MPLS payload; until it does, these cases are TODO.
const fallbackProbe = () => cat(eth('8847'), label(16, 0, 1, 64), ip4(253, hex('00'), '00200000'));
const driverFallback = decode(fallbackProbe()).path.includes('/IPv4/Ethernet');

t.test('MPLS: Skydive re-decodes as Ethernet when the IP chain returns an error',
  { todo: !driverFallback && 'needs the driver fallback (mpls.ts popMPLSFallback)' }, (t) => {
  // IPv4 with an unknown protocol (253): IPv4 is added, then the error; Skydive
  // decodes the same MPLS payload as Ethernet: EtherType = IPv4 bytes 12-13 =
  // 0x0020, an 802.3 length, so LLC, whose SAPs (0x00) have no decoder.
  let d = decode(fallbackProbe());
  t.equal(d.path, 'Ethernet/MPLS/IPv4/Ethernet/LLC/DecodeFailure');
  t.equal(d.layers[3].offset, 18, 'the Ethernet re-reads the MPLS payload');
  d = decode(cat(eth('8847'), label(16, 0, 1, 64), ip4(1, icmp)));
  t.equal(d.path, 'Ethernet/MPLS/IPv4/ICMPv4/Payload', 'no error, no fallback');
  // MPLS in IP over raw IPv4: the fallback Ethernet is not a link layer.
  d = decode(ip4(137, cat(label(16, 0, 1, 64), ip4(253, hex('00'), '00200000'))), 101);
  t.equal(d.path, 'IPv4/MPLS/IPv4/Ethernet/LLC/DecodeFailure');
  t.equal(d.link, -1);
  // Nested: the inner fallback fails too, then the outer one runs.
  const inner = cat(label(17, 0, 1, 64), ip4(253, hex('00'), '00200000'));
  d = decode(cat(eth('8847'), label(16, 0, 1, 64), ip4(47, cat(hex('0000 8847'), inner), '00200000')));
  t.equal(d.path, 'Ethernet/MPLS/IPv4/GRE/MPLS/IPv4/Ethernet/LLC/Ethernet/LLC/DecodeFailure');
  t.end();
});

// ---------------------------------------------------------------- VXLAN

t.test('VXLAN: VNI, flags ignored, Ethernet next, truncation', (t) => {
  const vx = hex('08 00 0000 00abcd 00');
  let d = decode(overIP(17, udp(12345, 4789, cat(vx, innerFrame()))));
  t.equal(d.path, 'Ethernet/IPv4/UDP/VXLAN/Ethernet/IPv4/ICMPv4/Payload');
  t.equal(d.layers[3].contents, 8);
  t.equal(d.layers[3].fields.getUint32(0, true), 0xabcd);
  t.equal(d.layers[3].fields.getUint8(4) & 0x08, 0x08, 'I flag');
  t.equal(d.link, 0);
  d = decode(overIP(17, udp(12345, 8472, cat(hex('00 00 0000 000001 00'), innerFrame()))));
  t.equal(d.path, 'Ethernet/IPv4/UDP/VXLAN/Ethernet/IPv4/ICMPv4/Payload', 'I bit clear, Linux port 8472: decoded anyway');
  t.equal(d.layers[3].fields.getUint32(0, true), 1);
  d = decode(overIP(17, udp(12345, 4789, hex('88 40 1234 000002 00'))));
  t.equal(d.layers[3].fields.getUint16(6, true), 0x1234, 'group policy id');
  for (let n = 1; n < 8; n++) {
    t.equal(decode(overIP(17, udp(1, 4789, vx.subarray(0, n)))).path, 'Ethernet/IPv4/UDP/DecodeFailure', `${n} bytes`);
  }
  t.equal(decode(overIP(17, udp(1, 4789, vx))).path, 'Ethernet/IPv4/UDP/VXLAN');
  t.equal(decode(overIP(17, udp(1, 4789, cat(vx, hex('0011'))))).path, 'Ethernet/IPv4/UDP/VXLAN/DecodeFailure', 'short inner Ethernet');
  t.end();
});

// ---------------------------------------------------------------- Geneve

t.test('Geneve: options, VNI, protocol table', (t) => {
  // Options length 2 (8 bytes): one option of 4 + 4·1 bytes.
  const gn = hex('02 40 6558 000abc 00  0102 03 01 aabbccdd');
  let d = decode(overIP(17, udp(1, 6081, cat(gn, innerFrame()))));
  t.equal(d.path, 'Ethernet/IPv4/UDP/Geneve/Ethernet/IPv4/ICMPv4/Payload');
  const g = d.layers[3];
  t.equal(g.contents, 16);
  t.equal(g.fields.getUint32(0, true), 0xabc, 'VNI');
  t.equal(g.fields.getUint16(4, true), 0x6558);
  t.equal(g.fields.getUint8(6), 8, 'options length in bytes');
  t.equal(g.fields.getUint8(7), 0x40, 'C flag');
  d = decode(overIP(17, udp(1, 6081, cat(hex('00 00 0800 000001 00'), ip4(1, icmp)))));
  t.equal(d.path, 'Ethernet/IPv4/UDP/Geneve/IPv4/ICMPv4/Payload', 'IPv4 directly (GCP)');
  t.equal(decode(overIP(17, udp(1, 6081, hex('00 00 1234 000001 00 ffff')))).path, 'Ethernet/IPv4/UDP/Geneve',
    'unknown protocol: quiet stop');
  t.end();
});

t.test('Geneve: gopacket quirks (4-bit option length, 8-bit header offset) and truncation', (t) => {
  // Option length field 0x10 (5 bits: 16 words); gopacket masks 4 bits: 4 bytes.
  let d = decode(overIP(17, udp(1, 6081, cat(hex('01 00 1234 000001 00  0102 03 10'), new Uint8Array(8)))));
  t.equal(d.layers[3].contents, 12);
  // 63 words of options, four 64-byte options: 8 + 256 wraps to 8.
  const opts = new Uint8Array(256);
  for (let k = 0; k < 4; k++) opts[k * 64 + 3] = 0x0f;
  d = decode(overIP(17, udp(1, 6081, cat(hex('3f 00 1234 000001 00'), opts))));
  t.equal(d.path, 'Ethernet/IPv4/UDP/Geneve');
  t.equal(d.layers[3].contents, 8, 'Contents = (8 + 256) mod 256');
  // Truncations: under 7 bytes, exactly 7 (panic), options past the data.
  const gn = hex('02 00 6558 000abc 00  0102 03 01 aabbccdd');
  for (let n = 1; n < gn.length; n++) {
    const p = decode(overIP(17, udp(1, 6081, gn.subarray(0, n)))).path;
    t.equal(p, 'Ethernet/IPv4/UDP/DecodeFailure', `${n} bytes`);
  }
  t.equal(decode(overIP(17, udp(1, 6081, gn))).path, 'Ethernet/IPv4/UDP/Geneve');
  t.ok(decode(overIP(17, udp(1, 6081, gn.subarray(0, 6)))).truncated);
  t.end();
});

// ---------------------------------------------------------------- EtherIP

t.test('EtherIP: 2-byte header then Ethernet', (t) => {
  const d = decode(overIP(97, cat(hex('3000'), innerFrame())));
  t.equal(d.path, 'Ethernet/IPv4/EtherIP/Ethernet/IPv4/ICMPv4/Payload');
  t.equal(d.layers[2].contents, 2);
  t.equal(d.layers[2].fields.getUint8(0), 3, 'version');
  t.equal(decode(overIP(97, hex('30'))).path, 'Ethernet/IPv4/DecodeFailure', '1 byte panics');
  t.equal(decode(overIP(97, hex('3000'))).path, 'Ethernet/IPv4/EtherIP');
  t.equal(decode(overIP(97, hex('3000 0102'))).path, 'Ethernet/IPv4/EtherIP/DecodeFailure', 'short inner Ethernet');
  t.end();
});

// ---------------------------------------------------------------- corpus

const CORPUS = new URL('../../../shared/corpus/', import.meta.url).pathname;

function readPcap(path: string): { lt: number; data: Uint8Array }[] {
  const d = readFileSync(path);
  const out: { lt: number; data: Uint8Array }[] = [];
  const m = d.readUInt32LE(0);
  if (m === 0x0a0d0d0a) { // pcapng
    let o = 0;
    const lts: number[] = [];
    while (o + 8 <= d.length) {
      const bt = d.readUInt32LE(o), bl = d.readUInt32LE(o + 4);
      if (bt === 1) lts.push(d.readUInt16LE(o + 8));
      if (bt === 6) {
        const cl = d.readUInt32LE(o + 20);
        out.push({ lt: lts[d.readUInt32LE(o + 8)], data: new Uint8Array(d.subarray(o + 28, o + 28 + cl)) });
      }
      o += bl;
    }
    return out;
  }
  const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
  const r32 = (o: number) => (le ? d.readUInt32LE(o) : d.readUInt32BE(o));
  const lt = r32(20);
  for (let o = 24; o + 16 <= d.length;) {
    const cl = r32(o + 8);
    out.push({ lt, data: new Uint8Array(d.subarray(o + 16, o + 16 + cl)) });
    o += 16 + cl;
  }
  return out;
}

// Per capture: packet number (1-based) → the layer path; the Skydive golden
// LayersPaths follow from these by the split rule (spec §2).
const CORPUS_CASES: [string, number, string][] = [
  ['skydive/erspanII.pcap', 1, 'Ethernet/IPv4/GRE/Ethernet/IPv4/ICMPv4/Payload'],
  ['tcpdump/erspan-type-i-1.pcap', 1, 'Ethernet/IPv4/GRE/Ethernet/LLC/DecodeFailure'],
  ['tcpdump/erspan-type-ii-3.pcap', 1, 'Ethernet/IPv4/GRE/Ethernet/LLC/STP'],
  ['tcpdump/erspan-type-ii-3.pcap', 70, 'Ethernet/IPv4/GRE/Ethernet/Dot1Q/ARP/Payload'],
  ['tcpdump/erspan-type-iii-ft-0.pcap', 1, 'Ethernet/IPv4/GRE/Ethernet/Dot1Q/IPv4/ICMPv4/Payload'],
  ['zeek/erspanI.pcap', 1, 'Ethernet/IPv4/GRE/Ethernet/DecodeFailure'],
  ['zeek/erspanI.pcap', 2, 'Ethernet/IPv4/GRE/Ethernet'],
  ['zeek/erspanIII.pcap', 1, 'Ethernet/IPv4/GRE/Ethernet/IPv4/ICMPv4/Payload'],
  ['suricata-verify/decode-erspan-typeI-02/input.pcap', 1, 'Ethernet/IPv4/GRE/Ethernet/LLC/DecodeFailure'],
  ['packetnet/gre_all_options.pcap', 1, 'Ethernet/IPv4/GRE/IPv4/ICMPv4/Payload'],
  ['packetnet/gre_nvgre.pcap', 1, 'Ethernet/IPv4/GRE/Ethernet/IPv4/TCP/Payload'],
  ['ndpi/gre.pcapng', 1, 'Ethernet/Dot1Q/IPv4/GRE/PPP/IPv4/UDP/SIP'],
  ['zeek/gre-sample.pcap', 9, 'Ethernet/IPv4/GRE/IPv4/UDP/NTP'],
  ['skydive/gre-gre-icmpv4.pcap', 1, 'Ethernet/IPv4/GRE/IPv4/GRE/IPv4/ICMPv4/Payload'],
  ['skydive/gre-mpls-icmpv4.pcap', 1, 'Ethernet/IPv4/GRE/MPLS/IPv4/ICMPv4/Payload'],
  ['zeek/mixed-vlan-mpls.pcap', 1, 'Ethernet/MPLS/IPv4/TCP'],
  ['tcpdump/gre-heapoverflow-1.pcap', 2, 'Ethernet/IPv4/DecodeFailure'],
  ['tcpdump/various_gre.pcap', 1, 'Ethernet/EthernetCTP/EthernetCTPReply'],
  ['skydive/vxlan-icmpv4-truncated.pcap', 1, 'Ethernet/IPv4/UDP/VXLAN/Ethernet/IPv4/ICMPv4/Payload'],
  ['zeek/vxlan.pcap', 1, 'Ethernet/IPv4/UDP/VXLAN/Ethernet/ARP'],
  ['skydive/geneve.pcap', 1, 'Ethernet/IPv4/UDP/Geneve/Ethernet/IPv4/ICMPv4/Payload'],
  ['zeek/geneve-many-options.pcap', 1, 'Ethernet/IPv4/UDP/Geneve/Ethernet/IPv4/TCP'],
  ['tcpdump/geneve-gcp.pcap', 1, 'Ethernet/IPv4/UDP/Geneve/IPv4/TCP'],
  ['zeek/linux_dlt_sll2.pcap', 1, 'Linux SLL2/IPv4/ICMPv4/Payload'],
  ['zeek/linux_dlt_sll2.pcap', 5, 'Linux SLL2/ARP'],
  ['suricata-verify/decode-sll2-01/input.pcap', 1, 'Linux SLL2/IPv4/TCP'],
  ['packetnet/LinuxCookedCapture.pcap', 2, 'Linux SLL/IPv4/UDP/DNS'],
  ['zeek/linuxsll-arp.pcap', 1, 'Linux SLL/ARP/Payload'],
  ['packetnet/802.1ad_vlan_ipv4.pcap', 1, 'Ethernet/Dot1Q/Dot1Q/IPv4/DecodeFailure'],
  ['junkie/mac_in_mac.pcap', 1, 'Ethernet/DecodeFailure'],
];

t.test('corpus captures', { skip: !existsSync(CORPUS) && 'shared corpus not present' }, (t) => {
  const cache = new Map<string, { lt: number; data: Uint8Array }[]>();
  for (const [file, n, path] of CORPUS_CASES) {
    if (!cache.has(file)) cache.set(file, readPcap(CORPUS + file));
    const p = cache.get(file)![n - 1];
    // gre-heapoverflow-1 has a corrupt link-type field (0x30000001): gopacket keeps its low byte.
    const lt = p.lt > 0xffff ? p.lt & 0xff : p.lt;
    t.equal(decode(p.data, lt).path, path, `${file} #${n}`);
  }
  // Every packet of every capture decodes without trapping.
  for (const [, pk] of cache) for (const p of pk) decode(p.data, p.lt > 0xffff ? p.lt & 0xff : p.lt);
  t.end();
});
