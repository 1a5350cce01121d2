// Link-layer decoders: LLC/SNAP/STP, EthernetCTP, Linux SLL/SLL2, Loopback,
// ARP, PPP/PPPoE, EAPOL, LLDP and CDP (validation only), checked against
// gopacket v1.1.17's behaviour: layer sequence, header/payload lengths,
// fields, and every truncation point.
import t from 'tap';
import { decode, hex, testCore } from '../helpers/wasm.js';
import { layerNames } from '../../src/wasm/module.js';

// Layers gopacket adds but ids.ts may not have yet (the decoders record them
// as soon as the ids exist): expected paths include them only when known.
const known = new Set(layerNames(testCore()));
const opt = (name: string) => (known.has(name) ? `/${name}` : '');
const LLDP = 'Ethernet/LinkLayerDiscovery' + opt('LinkLayerDiscoveryInfo');
const CDP = 'Ethernet/LLC/SNAP/CiscoDiscovery' + opt('CiscoDiscoveryInfo');

const ETH_DST = 'ffffffffffff';
const ETH_SRC = '020000000001';

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
/** Ethernet II header with the given EtherType (4 hex digits). */
const eth = (type: string) => hex(`${ETH_DST} ${ETH_SRC} ${type}`);
/** 802.3 header whose length field covers `len` bytes. */
const eth8023 = (len: number) => hex(`${ETH_DST} ${ETH_SRC} ${len.toString(16).padStart(4, '0')}`);
/** IPv4 header (no options) around `payload`, total length exact. */
function ip4(proto: number, payload: Uint8Array): Uint8Array {
  const tl = (20 + payload.length).toString(16).padStart(4, '0');
  return cat(hex(`45 00 ${tl} 0001 0000 40 ${proto.toString(16).padStart(2, '0')} 0000 0a000001 0a000002`), payload);
}
/** ICMPv4 echo request, id 0x1234, 4 data bytes. */
const icmp = hex('08 00 0000 1234 0001 deadbeef');

/** Decodes every prefix of `frame` from `from` bytes on and returns the paths (checks nothing traps). */
function prefixPaths(frame: Uint8Array, from: number, linkType = 1): string[] {
  const out: string[] = [];
  for (let n = from; n <= frame.length; n++) out.push(decode(frame.subarray(0, n), linkType).path);
  return out;
}

// ---------------------------------------------------------------- LLC / SNAP / STP

t.test('802.3 LLC/STP: 3-byte U-format LLC, STP takes every byte, padding cut', (t) => {
  const bpdu = hex('0000 00 00 8000020000000001 00000000 8000020000000001 8001 0000 1400 0200 0f00'); // 35 bytes
  const frame = cat(eth8023(38), hex('42 42 03'), bpdu, hex('00000000 0000 0000')); // + 8 padding bytes
  const d = decode(frame);
  t.equal(d.path, 'Ethernet/LLC/STP');
  t.equal(d.layers[0].payload, 38, 'Ethernet payload cut to the 802.3 length');
  t.equal(d.layers[1].contents, 3);
  t.equal(d.layers[1].fields.getUint8(0), 0x42, 'DSAP');
  t.equal(d.layers[1].fields.getUint16(4, true), 0x03, 'control');
  t.equal(d.layers[2].contents, 35);
  t.equal(d.layers[2].payload, 0);
  t.end();
});

t.test('LLC I-format control is 16 bits; an unknown SAP pair is an error only with a payload', (t) => {
  let d = decode(cat(eth8023(6), hex('f0 f1 00 05 aabb')));
  t.equal(d.path, 'Ethernet/LLC/DecodeFailure');
  t.equal(d.layers[1].contents, 4);
  t.equal(d.layers[1].fields.getUint8(0), 0xf0);
  t.equal(d.layers[1].fields.getUint8(1), 0xf0, 'SSAP without its C/R bit');
  t.equal(d.layers[1].fields.getUint8(3), 1, 'C/R bit');
  t.equal(d.layers[1].fields.getUint16(4, true), 0x0005);
  d = decode(cat(eth8023(3), hex('e0 e0 03')));
  t.equal(d.path, 'Ethernet/LLC', 'nothing left to decode: stops quietly');
  t.end();
});

t.test('LLC truncation points', (t) => {
  // S-format control (low bits 01) needs 4 bytes.
  const llc = hex('42 42 01 07');
  for (let n = 0; n <= 4; n++) {
    const d = decode(cat(eth8023(n), llc.subarray(0, n)));
    if (n === 0) t.equal(d.path, 'Ethernet', 'empty 802.3 payload');
    else if (n < 4) t.equal(d.path, 'Ethernet/DecodeFailure', `LLC ${n} bytes`);
    else t.equal(d.path, 'Ethernet/LLC', 'STP never reached: no payload');
  }
  // The 802.3 length claims more than captured: truncated, LLC still decoded.
  const d = decode(cat(eth8023(40), hex('42 42 03 0000')));
  t.ok(d.truncated);
  t.equal(d.path, 'Ethernet/LLC/STP');
  t.end();
});

t.test('SNAP: EtherType table, unknown type, truncation', (t) => {
  const arp = hex('0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002');
  let d = decode(cat(eth8023(8 + arp.length), hex('aa aa 03 000000 0806'), arp));
  t.equal(d.path, 'Ethernet/LLC/SNAP/ARP');
  t.equal(d.layers[2].contents, 5);
  t.equal(d.layers[2].fields.getUint32(0, true), 0);
  t.equal(d.layers[2].fields.getUint16(4, true), 0x0806);
  d = decode(cat(eth8023(10), hex('aa aa 03 00000c 1234 ffff')));
  t.equal(d.path, 'Ethernet/LLC/SNAP/DecodeFailure', 'unknown SNAP type with a payload');
  t.equal(d.layers[2].fields.getUint32(0, true), 0x00000c);
  d = decode(cat(eth8023(8), hex('aa aa 03 00000c 1234')));
  t.equal(d.path, 'Ethernet/LLC/SNAP', 'unknown SNAP type, nothing after it');
  for (let n = 0; n < 5; n++) {
    d = decode(cat(eth8023(3 + n), hex('aa aa 03 00000c 0800').subarray(0, 3 + n)));
    t.equal(d.path, n === 0 ? 'Ethernet/LLC' : 'Ethernet/LLC/DecodeFailure', `SNAP ${n} bytes`);
  }
  t.end();
});

// ---------------------------------------------------------------- EthernetCTP

t.test('EthernetCTP: reply, forward data, odd skip count, unknown function', (t) => {
  let d = decode(cat(eth('9000'), hex('0000 0100 0700 aabbccdd')));
  t.equal(d.path, 'Ethernet/EthernetCTP/EthernetCTPReply');
  t.equal(d.layers[1].contents, 2);
  t.equal(d.layers[2].contents, 8, 'reply: every byte is Contents');
  t.equal(d.layers[2].payload, 0);
  t.equal(d.layers[2].fields.getUint16(2, true), 7, 'receipt number (little-endian)');
  // Forward data (function 2, 6-byte address) then a reply. The skip count is
  // read but not used. EthernetCTPForwardData has no layer id yet (see ctp.ts).
  d = decode(cat(eth('9000'), hex('0800 0200 020000000009 0200 02000000000a 0100 0000')));
  const fwd = opt('EthernetCTPForwardData');
  t.equal(d.path, `Ethernet/EthernetCTP${fwd}${fwd}/EthernetCTPReply`);
  if (fwd) {
    t.equal(d.layers[2].contents, 8);
    t.equal(d.layers[2].payload, 12);
  }
  t.equal(decode(cat(eth('9000'), hex('0000 0200 020000000009'))).path, `Ethernet/EthernetCTP${fwd}`, 'forward data, then nothing');
  t.equal(decode(cat(eth('9000'), hex('0100 0100 0000'))).path, 'Ethernet/DecodeFailure', 'odd skip count');
  t.equal(decode(cat(eth('9000'), hex('0000 0300 0000'))).path, 'Ethernet/EthernetCTP/DecodeFailure');
  t.equal(decode(cat(eth('9000'), hex('0000'))).path, 'Ethernet/EthernetCTP', 'no function record');
  // Truncation of "skip + reply": 1 byte panics, 2..3 bytes of reply panic.
  const ctp = hex('0000 0100 0000');
  const paths = prefixPaths(cat(eth('9000'), ctp), 15);
  t.same(paths, [
    'Ethernet/DecodeFailure', 'Ethernet/EthernetCTP', 'Ethernet/EthernetCTP/DecodeFailure',
    'Ethernet/EthernetCTP/DecodeFailure', 'Ethernet/EthernetCTP/DecodeFailure', 'Ethernet/EthernetCTP/EthernetCTPReply',
  ]);
  // Forward data shorter than 8 bytes panics.
  t.equal(decode(cat(eth('9000'), hex('0000 0200 0200000000'))).path, 'Ethernet/EthernetCTP/DecodeFailure');
  t.end();
});

// ---------------------------------------------------------------- Linux SLL / SLL2

const sllHeader = (proto: string, addrLen = '0006') =>
  hex(`0000 0001 ${addrLen} 020000000001 0000 ${proto}`); // to us, ARPHRD_ETHER, 6-byte address

t.test('Linux SLL: link layer, fields, EtherType table', (t) => {
  const frame = cat(sllHeader('0800'), ip4(1, icmp));
  const d = decode(frame, 113);
  t.equal(d.path, 'Linux SLL/IPv4/ICMPv4/Payload');
  t.equal(d.link, 0, 'SLL is the link layer');
  t.equal(d.layers[0].contents, 16);
  const f = d.layers[0].fields;
  t.equal(f.getUint16(0, true), 0x0800, 'protocol');
  t.equal(f.getUint16(2, true), 0, 'packet type');
  t.equal(f.getUint16(4, true), 1, 'ARPHRD');
  t.equal(f.getUint16(6, true), 6, 'address length');
  t.equal(decode(cat(sllHeader('88b5'), hex('00')), 113).path, 'Linux SLL/DecodeFailure', 'unknown protocol');
  t.equal(decode(sllHeader('88b5'), 113).path, 'Linux SLL', 'unknown protocol, empty payload');
  t.end();
});

t.test('Linux SLL: short header and the 16-bit address slice', (t) => {
  const frame = cat(sllHeader('0800'), ip4(1, icmp));
  const paths = prefixPaths(frame, 0, 113);
  for (let n = 0; n < 16; n++) t.equal(paths[n], 'DecodeFailure', `${n} bytes: no layer`);
  t.equal(paths[16], 'Linux SLL');
  // addrLen + 6 wraps to 5 (panic), exceeds the data (panic), or fits.
  t.equal(decode(cat(sllHeader('0800', 'ffff'), ip4(1, icmp)), 113).path, 'DecodeFailure');
  t.equal(decode(sllHeader('0800', '000b'), 113).path, 'DecodeFailure', 'data[6:17] on 16 bytes');
  t.equal(decode(cat(sllHeader('0800', '000b'), ip4(1, icmp)), 113).path, 'Linux SLL/IPv4/ICMPv4/Payload',
    'an address length past the 8-byte field is fine while the data is long enough');
  t.end();
});

t.test('Linux SLL2 (link type 276): 20-byte header, like SLL', (t) => {
  const hdr = hex('86dd 0000 00000003 0001 04 06 020000000001 0000');
  const ip6 = hex(`60000000 0008 3a 40 fe800000000000000000000000000001 fe800000000000000000000000000002
                   80 00 0000 0001 0002`);
  const d = decode(cat(hdr, ip6), 276);
  t.equal(d.path, 'Linux SLL2/IPv6/ICMPv6/ICMPv6Echo');
  t.equal(d.link, 0);
  t.equal(d.layers[0].contents, 20);
  const f = d.layers[0].fields;
  t.equal(f.getUint16(0, true), 0x86dd);
  t.equal(f.getUint16(2, true), 4, 'packet type (outgoing)');
  t.equal(f.getUint16(4, true), 1, 'ARPHRD');
  t.equal(f.getUint16(6, true), 6, 'address length');
  t.equal(f.getUint32(8, true), 3, 'interface index');
  const paths = prefixPaths(cat(hdr, ip6), 0, 276);
  for (let n = 0; n < 20; n++) t.equal(paths[n], 'DecodeFailure');
  t.equal(paths[20], 'Linux SLL2');
  t.equal(decode(cat(hex('8035 0000 00000003 0001 00 06 020000000001 0000'), hex('00')), 276).path,
    'Linux SLL2/DecodeFailure', 'RARP: unknown protocol');
  t.end();
});

// ---------------------------------------------------------------- Loopback

t.test('Loopback (link type 0): family byte order guess and IPv6 values', (t) => {
  const pkt = ip4(1, icmp);
  let d = decode(cat(hex('02000000'), pkt), 0);
  t.equal(d.path, 'Loopback/IPv4/ICMPv4/Payload');
  t.equal(d.link, -1, 'not a link layer');
  t.equal(d.layers[0].fields.getUint8(0), 2);
  t.equal(decode(cat(hex('00000002'), pkt), 0).path, 'Loopback/IPv4/ICMPv4/Payload', 'big-endian family');
  for (const fam of [24, 28, 30, 10]) {
    const p = decode(cat(Uint8Array.of(fam, 0, 0, 0), hex('60000000 0000 3b 40'), new Uint8Array(32)), 0).path;
    t.match(p, /^Loopback\/IPv6(\/|$)/, `family ${fam}`);
  }
  t.equal(decode(cat(hex('07000000'), pkt), 0).path, 'Loopback/DecodeFailure', 'unknown family');
  t.equal(decode(hex('07000000'), 0).path, 'Loopback', 'unknown family, no payload');
  t.equal(decode(cat(hex('00010000'), pkt), 0).path, 'DecodeFailure', 'read little-endian: 256 > 255');
  t.same(prefixPaths(hex('02000000'), 0, 0), ['DecodeFailure', 'DecodeFailure', 'DecodeFailure', 'DecodeFailure', 'Loopback']);
  t.end();
});

// ---------------------------------------------------------------- ARP

const arpReq = hex('0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002');

t.test('ARP: 28-byte header, padding as Payload, fields', (t) => {
  const d = decode(cat(eth('0806'), arpReq, new Uint8Array(18)));
  t.equal(d.path, 'Ethernet/ARP/Payload');
  t.equal(d.layers[1].contents, 28);
  t.equal(d.layers[1].payload, 18);
  const f = d.layers[1].fields;
  t.equal(f.getUint16(0, true), 1);
  t.equal(f.getUint16(2, true), 0x0800);
  t.equal(f.getUint8(4), 6);
  t.equal(f.getUint8(5), 4);
  t.equal(f.getUint16(6, true), 1);
  t.end();
});

t.test('ARP truncation and 8-bit length arithmetic', (t) => {
  const paths = prefixPaths(cat(eth('0806'), arpReq), 14);
  t.equal(paths[0], 'Ethernet');
  for (let n = 1; n < 28; n++) t.equal(paths[n], 'Ethernet/DecodeFailure', `ARP ${n} bytes`);
  t.equal(paths[28], 'Ethernet/ARP');
  t.ok(decode(cat(eth('0806'), arpReq.subarray(0, 20))).truncated);
  // hlen 124: 8 + 248 wraps to 0, the slices then run backwards: panic.
  const odd = cat(hex('0001 0800 7c 00 0001'), new Uint8Array(300));
  t.equal(decode(cat(eth('0806'), odd)).path, 'Ethernet/DecodeFailure');
  // Zero-sized addresses: an 8-byte ARP.
  t.equal(decode(cat(eth('0806'), hex('0001 0800 00 00 0002'))).path, 'Ethernet/ARP');
  t.end();
});

// ---------------------------------------------------------------- PPP / PPPoE

/** GRE (no options) carrying `proto`. */
const gre = (proto: string, payload: Uint8Array) => cat(hex(`0000 ${proto}`), payload);

t.test('PPP after GRE: FF 03 prefix outside the layer, 16- and 8-bit protocols', (t) => {
  const inner = ip4(1, icmp);
  let frame = cat(eth('0800'), ip4(47, gre('880b', cat(hex('ff03 0021'), inner))));
  let d = decode(frame);
  t.equal(d.path, 'Ethernet/IPv4/GRE/PPP/IPv4/ICMPv4/Payload');
  const ppp = d.layers[3];
  t.equal(ppp.offset, 14 + 20 + 4 + 2, 'the layer starts after FF 03');
  t.equal(ppp.contents, 2);
  t.equal(ppp.fields.getUint16(0, true), 0x21);
  t.equal(ppp.fields.getUint8(2), 1);
  t.equal(d.link, 0, 'the outer Ethernet stays the link layer');
  frame = cat(eth('0800'), ip4(47, gre('880b', cat(hex('21'), inner))));
  d = decode(frame);
  t.equal(d.path, 'Ethernet/IPv4/GRE/PPP/IPv4/ICMPv4/Payload', 'compressed protocol field');
  t.equal(d.layers[3].contents, 1);
  t.equal(decode(cat(eth('0800'), ip4(47, gre('880b', hex('0002 00'))))).path,
    'Ethernet/IPv4/GRE/DecodeFailure', 'even second byte: invalid type');
  t.equal(decode(cat(eth('0800'), ip4(47, gre('880b', hex('c021 01'))))).path,
    'Ethernet/IPv4/GRE/PPP/DecodeFailure', 'LCP: no decoder');
  t.equal(decode(cat(eth('0800'), ip4(47, gre('880b', hex('c021'))))).path,
    'Ethernet/IPv4/GRE/PPP', 'LCP without payload');
  // PPP as the link type (9) is the link layer.
  d = decode(cat(hex('ff03 0021'), inner), 9);
  t.equal(d.path, 'PPP/IPv4/ICMPv4/Payload');
  t.equal(d.link, 0);
  // Truncations of FF 03 00 21.
  const paths = ['ff', 'ff03', 'ff0300'].map((h) => decode(hex(h), 9).path);
  t.same(paths, ['DecodeFailure', 'DecodeFailure', 'DecodeFailure'], 'FF reads the next byte: panics alone');
  t.equal(decode(hex('ff 21'), 9).path, 'PPP/DecodeFailure', 'FF then not 03: 1-byte protocol 0xFF, no decoder');
  t.equal(decode(hex('ff03 0021'), 9).path, 'PPP');
  t.end();
});

t.test('PPPoE session and discovery', (t) => {
  const inner = ip4(1, icmp);
  const body = cat(hex('0021'), inner);
  const len = body.length.toString(16).padStart(4, '0');
  let d = decode(cat(eth('8864'), hex(`11 00 1234 ${len}`), body, new Uint8Array(6)));
  t.equal(d.path, 'Ethernet/PPPoE/PPP/IPv4/ICMPv4/Payload');
  t.equal(d.layers[1].contents, 6);
  t.equal(d.layers[1].payload, body.length, 'cut to the length field');
  const f = d.layers[1].fields;
  t.equal(f.getUint8(0), 1);
  t.equal(f.getUint8(1), 1);
  t.equal(f.getUint8(2), 0);
  t.equal(f.getUint16(4, true), 0x1234);
  t.equal(f.getUint16(6, true), body.length);
  t.equal(d.link, 0, 'Ethernet, not PPP, is the link layer');
  d = decode(cat(eth('8863'), hex('11 09 0000 0004 0101 0000')));
  t.equal(d.path, 'Ethernet/PPPoE/DecodeFailure', 'PADI: discovery codes have error decoders');
  t.equal(decode(cat(eth('8863'), hex('11 09 0000 0000'))).path, 'Ethernet/PPPoE', 'PADI without tags');
  t.equal(decode(cat(eth('8864'), hex('11 00 1234 0100 0021'))).path, 'Ethernet/DecodeFailure', 'length past the data');
  t.equal(decode(cat(eth('8864'), hex('11 00 1234 fffc 0021'))).path, 'Ethernet/DecodeFailure', '6 + length wraps below 6');
  const paths = prefixPaths(cat(eth('8864'), hex('11 00 1234 0000')), 14);
  t.same(paths, ['Ethernet', ...Array(5).fill('Ethernet/DecodeFailure'), 'Ethernet/PPPoE']);
  t.end();
});

// ---------------------------------------------------------------- EAPOL

t.test('EAPOL and the EAP / key checks behind it', (t) => {
  t.equal(decode(cat(eth('888e'), hex('01 01 0000'))).path, 'Ethernet/EAPOL', 'EAPOL-Start');
  let d = decode(cat(eth('888e'), hex('02 00 0005 01 07 0005 01'), new Uint8Array(10)));
  t.equal(d.path, 'Ethernet/EAPOL' + opt('EAP'), 'EAP response identity');
  t.equal(d.layers[1].contents, 4);
  t.equal(d.layers[1].fields.getUint8(0), 2);
  t.equal(d.layers[1].fields.getUint16(2, true), 5);
  if (opt('EAP')) {
    t.equal(d.layers[2].contents, 5, 'EAP Contents = its length field');
    t.equal(d.layers[2].payload, 10);
    t.equal(d.layers[2].fields.getUint8(4), 1, 'EAP type');
  }
  t.equal(decode(cat(eth('888e'), hex('02 00 0004 01 07 0002'))).path, 'Ethernet/EAPOL/DecodeFailure', 'EAP length 2');
  t.equal(decode(cat(eth('888e'), hex('02 00 0004 01 07 0009'))).path, 'Ethernet/EAPOL/DecodeFailure', 'EAP past the data');
  t.equal(decode(cat(eth('888e'), hex('02 00 0002 0107'))).path, 'Ethernet/EAPOL/DecodeFailure', 'EAP under 4 bytes');
  t.equal(decode(cat(eth('888e'), hex('02 03 005f'), new Uint8Array(94))).path, 'Ethernet/EAPOL/DecodeFailure', 'key < 95');
  const key = new Uint8Array(95 + 2);
  key[94] = 2; // key data length 2
  t.equal(decode(cat(eth('888e'), hex('02 03 0061'), key)).path, 'Ethernet/EAPOL' + opt('EAPOLKey'),
    'key frame with unencrypted key data: Dot11InformationElement is not modelled');
  const enc = cat(key, hex('aabbcc'));
  enc[1] = 0x10; // encrypted key data: Contents 95 + 2, then Payload
  d = decode(cat(eth('888e'), hex('02 03 0064'), enc));
  t.equal(d.path, opt('EAPOLKey') ? 'Ethernet/EAPOL/EAPOLKey/Payload' : 'Ethernet/EAPOL');
  if (opt('EAPOLKey')) t.equal(d.layers[2].contents, 97);
  t.equal(decode(cat(eth('888e'), hex('02 03 0061'), key.subarray(0, 96))).path, 'Ethernet/EAPOL/DecodeFailure');
  const paths = prefixPaths(cat(eth('888e'), hex('01 01 0000')), 14);
  t.same(paths, ['Ethernet', 'Ethernet/DecodeFailure', 'Ethernet/DecodeFailure', 'Ethernet/DecodeFailure', 'Ethernet/EAPOL']);
  t.end();
});

// ---------------------------------------------------------------- LLDP

const bytes = (h: string) => (h.replace(/\s/g, '') === '' ? new Uint8Array(0) : hex(h));
const tlv = (type: number, value: string) => {
  const v = bytes(value);
  const h = (type << 9) | v.length;
  return cat(Uint8Array.of(h >> 8, h & 0xff), v);
};
const lldpBase = () => cat(tlv(1, '04 020000000001'), tlv(2, '03 020000000001'), tlv(3, '0078'));

t.test('LLDP: mandatory TLVs, then the Info checks after the layer', (t) => {
  let d = decode(cat(eth('88cc'), lldpBase(), tlv(0, '')));
  t.equal(d.path, LLDP);
  t.equal(d.layers[1].contents, 24, 'all the data');
  t.equal(d.layers[1].payload, 0);
  t.equal(d.link, 0);
  // Missing TTL: only 3 TLVs.
  t.equal(decode(cat(eth('88cc'), tlv(1, '04 020000000001'), tlv(2, '03 020000000001'), tlv(0, ''))).path,
    'Ethernet/DecodeFailure');
  t.equal(decode(cat(eth('88cc'), tlv(1, '00 020000000001'), tlv(2, '03 0200'), tlv(3, '0078'), tlv(0, ''))).path,
    'Ethernet/DecodeFailure', 'chassis subtype 0 counts as missing');
  t.equal(decode(cat(eth('88cc'), lldpBase(), tlv(5, '6162'))).path, 'Ethernet/DecodeFailure', 'no End TLV');
  t.equal(decode(cat(eth('88cc'), tlv(1, '04 02'), tlv(2, '03 02'), tlv(3, '00'), tlv(0, ''))).path,
    'Ethernet/DecodeFailure', 'TTL shorter than 2');
  // Optional TLVs are checked after the layer exists.
  d = decode(cat(eth('88cc'), lldpBase(), tlv(7, '0014'), tlv(0, '')));
  t.equal(d.path, LLDP + '/DecodeFailure', 'system capabilities under 4 bytes');
  t.equal(decode(cat(eth('88cc'), lldpBase(), tlv(127, '0080c2'), tlv(0, ''))).path,
    LLDP + '/DecodeFailure', 'org-specific under 4 bytes');
  t.equal(decode(cat(eth('88cc'), lldpBase(), tlv(127, '0080c201 0001'), tlv(7, '00140014'), tlv(0, ''))).path,
    LLDP);
  // Management address: mlen 5 (subtype + 4), ifsubtype 2, ifnumber, OID length.
  t.equal(decode(cat(eth('88cc'), lldpBase(), tlv(8, '05 01 0a000001 02 00000003 00'), tlv(0, ''))).path,
    LLDP);
  t.equal(decode(cat(eth('88cc'), lldpBase(), tlv(8, '05 01 0a000001 02 00000003 02 2b06'), tlv(0, ''))).path,
    LLDP, 'with a 2-byte OID');
  t.equal(decode(cat(eth('88cc'), lldpBase(), tlv(8, '05 01 0a000001 02 00000003 09 2b06'), tlv(0, ''))).path,
    LLDP + '/DecodeFailure', 'OID length past the TLV');
  t.equal(decode(cat(eth('88cc'), lldpBase(), tlv(8, '09 01 0a000001 02 00000003'), tlv(0, ''))).path,
    LLDP + '/DecodeFailure', 'address length past the TLV');
  t.equal(decode(cat(eth('88cc'), lldpBase(), tlv(8, 'ff 01 0a000001 02 00000003'), tlv(0, ''))).path,
    LLDP + '/DecodeFailure', 'mlen 255: 8-bit sums wrap, data[2:0] panics');
  t.end();
});

t.test('LLDP truncation points', (t) => {
  const frame = cat(eth('88cc'), lldpBase(), tlv(0, ''));
  const paths = prefixPaths(frame, 14);
  t.equal(paths[0], 'Ethernet');
  for (let n = 1; n < 24; n++) t.equal(paths[n], 'Ethernet/DecodeFailure', `${n} bytes`);
  t.equal(paths[24], LLDP);
  t.ok(decode(frame.subarray(0, 14 + 5)).truncated, 'a TLV past the data is truncated');
  t.end();
});

// ---------------------------------------------------------------- CDP

const cdpTlv = (type: number, value: string) => {
  const v = bytes(value);
  const len = v.length + 4;
  return cat(Uint8Array.of(type >> 8, type & 0xff, len >> 8, len & 0xff), v);
};
/** 802.3/LLC/SNAP (Cisco OUI, type 0x2000) around a CDP body. */
const cdpFrame = (body: Uint8Array) => cat(eth8023(8 + body.length), hex('aa aa 03 00000c 2000'), body);

t.test('CDP: header and TLV walk before the layer, value checks after it', (t) => {
  const good = cat(hex('02 b4 0000'), cdpTlv(1, '61626364'), cdpTlv(4, '00000028'),
    cdpTlv(2, '00000001 01 01 cc 0004 0a000001'), cdpTlv(0x16, '00000001 01 01 cc 0004 0a000001'),
    cdpTlv(7, '0a000000 18'), cdpTlv(0x0b, '01'), cdpTlv(0x19, '0001 0002 00001388'));
  let d = decode(cdpFrame(good));
  t.equal(d.path, CDP);
  t.equal(d.layers[3].contents, 4);
  if (opt('CiscoDiscoveryInfo')) t.equal(d.layers[4].contents, good.length - 4, 'Info: the TLV bytes');
  t.equal(d.layers[3].payload, good.length - 4);
  t.equal(d.layers[3].fields.getUint8(0), 2);
  t.equal(d.layers[3].fields.getUint8(1), 0xb4);
  t.equal(decode(cdpFrame(hex('02 b4 0000'))).path, 'Ethernet/LLC/SNAP/CiscoDiscovery', 'no TLV: no Info layer');
  t.equal(decode(cdpFrame(cat(hex('03 b4 0000'), cdpTlv(1, '61')))).path, 'Ethernet/LLC/SNAP/DecodeFailure', 'version 3');
  t.equal(decode(cdpFrame(cat(hex('02 b4 0000'), hex('0001 0002')))).path, 'Ethernet/LLC/SNAP/DecodeFailure', 'TLV length 2');
  t.equal(decode(cdpFrame(cat(hex('02 b4 0000'), hex('0001 0009 61')))).path, 'Ethernet/LLC/SNAP/DecodeFailure', 'TLV past the data');
  t.equal(decode(cdpFrame(cat(hex('02 b4 0000'), hex('00')))).path, 'Ethernet/LLC/SNAP/DecodeFailure', 'TLV under 4 bytes');
  const bad = (tl: Uint8Array) => decode(cdpFrame(cat(hex('02 b4 0000'), tl))).path;
  const after = CDP + '/DecodeFailure';
  t.equal(bad(cdpTlv(4, '0000')), after, 'capabilities under 4 bytes');
  t.equal(bad(cdpTlv(7, '0a000000 21')), after, 'IP prefix /33: nil dereference');
  t.equal(bad(cdpTlv(7, '0a000000')), after, 'IP prefix not a multiple of 5');
  t.equal(bad(cdpTlv(7, '')), after, 'IP prefix empty');
  t.equal(bad(cdpTlv(8, '00'.repeat(31))), after, 'hello under 32 bytes');
  t.equal(bad(cdpTlv(2, '00000000')), after, 'zero addresses');
  t.equal(bad(cdpTlv(2, '00000001 03 01 cc 0004 0a000001')), after, 'bad protocol type');
  t.equal(bad(cdpTlv(2, '00000001 01 02 cc 0004 0a000001')), after, 'bad NLPID length');
  t.equal(bad(cdpTlv(2, '00000002 01 01 cc 0004 0a000001')), after, '2 addresses, 11 bytes');
  t.equal(bad(cdpTlv(2, '00000001 01 01 cc 0009 0a000001')), after, 'address past the TLV');
  t.equal(bad(cdpTlv(0x0e, '0100')), after, 'VLAN reply under 3');
  t.equal(bad(cdpTlv(0x1f, '')), after, 'spare pair PoE empty');
  t.equal(bad(cdpTlv(0x1d, '00'.repeat(71))), after, 'energy wise under 72');
  t.equal(bad(cdpTlv(0x1d, '00'.repeat(68) + '0004 0000' + '00000007 00000000 00')), after, 'energy wise: too many sub-TLVs');
  t.equal(bad(cdpTlv(0x1d, '00'.repeat(68) + '0004 0001' + '00000007 00000000 00')), CDP);
  t.equal(bad(cdpTlv(0x1d, '00'.repeat(68) + '0004 0001' + '00000007 00000002 00')), after, 'energy wise sub-TLV too long');
  t.equal(bad(cdpTlv(0x1234, '')), CDP, 'unknown TLV: no check');
  // Truncation of the CDP header.
  for (let n = 0; n < 4; n++) {
    const p = decode(cdpFrame(hex('02b40000').subarray(0, n))).path;
    t.equal(p, n === 0 ? 'Ethernet/LLC/SNAP' : 'Ethernet/LLC/SNAP/DecodeFailure', `CDP ${n} bytes`);
  }
  t.end();
});
