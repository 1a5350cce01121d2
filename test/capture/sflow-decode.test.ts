/**
 * The sFlow v5 datagram decoder of the WASM core (assembly/sflow/), through SFlowDecoder:
 * header fields for IPv4, IPv6 and unknown agents, flow and expanded flow samples, counter
 * samples of every type read, raw headers as batch records (frame_length - stripped, the
 * header with its XDR padding, the forced-length flag), what is skipped and counted, and every
 * rejection: other versions, truncation at every offset, lying lengths and counts.
 */
import t from 'tap';
import { SFlowDecoder, SFLOW_REJECT_REASONS, type SFlowCounterSample, type SFlowFlowSample } from '../../src/capture/sflow-decode.js';
import { ethernet, ipv4, udp } from '../helpers/packets.js';
import {
  appResources, be32, counterSample, datagram, ethernetCounters, extendedSwitch, flowSample, framed, genericCounters,
  ovsDp, rawHeader, vlanCounters,
} from '../helpers/sflow.js';

const dec = new SFlowDecoder({ debug: true });
const TS = 1_700_000_000_123_000_000n;
const FORCED_LENGTH = 0x80000000;

const frame = ethernet('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800, ipv4('10.0.0.1', '10.0.0.2', 17, udp(1234, 80, [1, 2, 3])));

function ok(data: Uint8Array) {
  const r = dec.decode(data, TS);
  if (!r.ok) throw new Error(`unexpected rejection: ${r.message}`);
  return r;
}

function reject(data: Uint8Array): string {
  const r = dec.decode(data, TS);
  return r.ok ? 'accepted' : r.reason;
}

/** The batch records of a result: header fields and data. */
function records(packets: Uint8Array, n: number) {
  const dv = new DataView(packets.buffer, packets.byteOffset, packets.length);
  const out = [];
  let p = 0;
  for (let i = 0; i < n; i++) {
    const caplen = dv.getUint32(p + 8, true);
    out.push({
      ts: dv.getBigInt64(p, true), caplen, wirelen: dv.getUint32(p + 12, true), linkType: dv.getUint32(p + 16, true),
      ifindex: dv.getUint32(p + 20, true), data: [...packets.subarray(p + 24, p + 24 + ((caplen + 7) & ~7))],
    });
    p += 24 + ((caplen + 7) & ~7);
  }
  t.equal(p, packets.length, 'records fill the packet bytes exactly');
  return out;
}

t.test('IPv4 agent, flow sample: header fields, sample fields, the raw header as a batch record', async (t) => {
  const d = datagram([flowSample([extendedSwitch(10, 20), rawHeader(frame, { frameLength: 1518, stripped: 4 })],
    { sequence: 77, sourceIdType: 0, sourceIdIndex: 3, samplingRate: 512, samplePool: 40960, drops: 2, input: 3, output: 7 })],
  { agent: '192.0.2.10', subAgentId: 9, sequence: 1234, uptime: 987654 });
  const r = ok(d);
  const { samples, ...head } = r.datagram;
  t.strictSame(head, {
    version: 5, agent: '192.0.2.10', subAgentId: 9, sequence: 1234, uptime: 987654, sampleCount: 1,
    samplesSkipped: 0, recordsSkipped: 1, headersBadLength: 0, headersOtherProtocol: 0,
  });
  t.strictSame(samples, [{
    kind: 'flow', expanded: false, sequence: 77, sourceIdType: 0, sourceIdIndex: 3, samplingRate: 512, samplePool: 40960, drops: 2,
    input: { format: 0, value: 3 }, output: { format: 0, value: 7 }, records: 2, headers: 1, headerBytes: 1514,
  }]);
  t.equal(r.packetCount, 1);
  const [rec] = records(r.packets, 1);
  const padded = (frame.length + 3) & ~3; // Skydive decodes the header with its XDR padding
  t.strictSame({ ...rec, data: undefined }, { ts: TS, caplen: padded, wirelen: 1514, linkType: 1, ifindex: FORCED_LENGTH, data: undefined });
  t.strictSame(rec.data.slice(0, frame.length), frame, 'header bytes');
  t.ok(rec.data.slice(frame.length).every((b) => b === 0), 'padding is zero');
});

t.test('IPv6 agent and unknown agent address; compact interface formats', async (t) => {
  const r = ok(datagram([flowSample([rawHeader(frame)], { inputFormat: 1, input: 258, outputFormat: 2, output: 3 })], { agent: '2001:db8::5' }));
  t.equal(r.datagram.agent, '2001:db8::5');
  const s = r.datagram.samples[0] as SFlowFlowSample;
  t.strictSame([s.input, s.output], [{ format: 1, value: 258 }, { format: 2, value: 3 }], 'discarded (reason 258) and multiple (3 interfaces)');
  t.equal(ok(datagram([], { agent: 'fe80::1:2:3:4' })).datagram.agent, 'fe80::1:2:3:4');
  t.equal(ok(datagram([], { agent: '2001:db8:0:1:0:0:0:1' })).datagram.agent, '2001:db8:0:1::1');
  t.equal(ok(datagram([], { agent: '' })).datagram.agent, '', 'type 0: no address');
  t.equal(ok(datagram([])).datagram.samples.length, 0, 'a datagram without samples is valid');
});

t.test('expanded flow sample: 32-bit source id and interfaces', async (t) => {
  const r = ok(datagram([flowSample([rawHeader(frame, { frameLength: 100, stripped: 0 })], {
    expanded: true, sequence: 5, sourceIdType: 2, sourceIdIndex: 0x01234567, samplingRate: 1000, samplePool: 5000, drops: 1,
    inputFormat: 0, input: 0x40000001, outputFormat: 0, output: 0x3fffffff,
  })]));
  t.strictSame(r.datagram.samples, [{
    kind: 'flow', expanded: true, sequence: 5, sourceIdType: 2, sourceIdIndex: 0x01234567, samplingRate: 1000, samplePool: 5000, drops: 1,
    input: { format: 0, value: 0x40000001 }, output: { format: 0, value: 0x3fffffff }, records: 1, headers: 1, headerBytes: 100,
  }]);
  t.equal(records(r.packets, 1)[0].wirelen, 100);
});

t.test('counter samples: generic, Ethernet, VLAN, app resources, OVS datapath; others skipped', async (t) => {
  const big = 2n ** 60n + 5n;
  const r = ok(datagram([
    counterSample([
      genericCounters({ ifIndex: 7, ifType: 6, ifSpeed: 10_000_000_000, ifInOctets: big, ifInUcastPkts: 11, ifInMulticastPkts: 12,
        ifInBroadcastPkts: 13, ifInDiscards: 14, ifInErrors: 15, ifInUnknownProtos: 16, ifOutOctets: 4000, ifOutUcastPkts: 21,
        ifOutMulticastPkts: 22, ifOutBroadcastPkts: 23, ifOutDiscards: 24, ifOutErrors: 25, ifPromiscuousMode: 1 }),
      ethernetCounters([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]),
    ], { sequence: 3, sourceIdIndex: 7 }),
    counterSample([
      vlanCounters(100, 123456, 1, 2, 3, 4),
      framed(1001, [...be32(5), ...be32(6), ...be32(7), ...be32(0), ...be32(0), ...be32(0), ...be32(0), ...be32(0), ...be32(0)]), // processor
      appResources({ memUsed: 1n << 33n, memMax: 1n << 34n, fdOpen: 10, fdMax: 1024, connOpen: 3, connMax: 100 }),
      framed((4413 << 12) | 1, [1, 2, 3, 4, 5, 6]), // another enterprise, odd length
      ovsDp([100, 20, 3, 90, 42, 7]),
    ], { expanded: true, sequence: 9, sourceIdType: 1, sourceIdIndex: 100 }),
  ]));
  const [a, b] = r.datagram.samples as SFlowCounterSample[];
  t.strictSame({ ...a, counters: undefined }, { kind: 'counter', expanded: false, sequence: 3, sourceIdType: 0, sourceIdIndex: 7, records: 2, counters: undefined });
  t.strictSame(a.counters[0], {
    type: 'generic', values: {
      ifIndex: 7, ifType: 6, ifSpeed: 10_000_000_000, ifDirection: 1, ifStatus: 3, ifInOctets: big, ifInUcastPkts: 11,
      ifInMulticastPkts: 12, ifInBroadcastPkts: 13, ifInDiscards: 14, ifInErrors: 15, ifInUnknownProtos: 16, ifOutOctets: 4000,
      ifOutUcastPkts: 21, ifOutMulticastPkts: 22, ifOutBroadcastPkts: 23, ifOutDiscards: 24, ifOutErrors: 25, ifPromiscuousMode: 1,
    },
  }, 'generic counters, a 64-bit value past 2^53 as a bigint');
  t.strictSame(a.counters[1].type, 'ethernet');
  t.strictSame(Object.values(a.counters[1].values), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  t.equal(a.counters[1].values.dot3StatsFCSErrors, 2);
  t.equal(a.counters[1].values.dot3StatsSymbolErrors, 13);
  t.strictSame({ ...b, counters: undefined }, { kind: 'counter', expanded: true, sequence: 9, sourceIdType: 1, sourceIdIndex: 100, records: 5, counters: undefined });
  t.strictSame(b.counters, [
    { type: 'vlan', values: { vlanId: 100, octets: 123456, ucastPkts: 1, multicastPkts: 2, broadcastPkts: 3, discards: 4 } },
    { type: 'appResources', values: { userTime: 0, systemTime: 0, memUsed: 2 ** 33, memMax: 2 ** 34, fdOpen: 10, fdMax: 1024, connOpen: 3, connMax: 100 } },
    { type: 'ovsDp', values: { nHit: 100, nMissed: 20, nLost: 3, nMaskHit: 90, nFlows: 42, nMasks: 7 } },
  ]);
  t.equal(r.datagram.recordsSkipped, 2, 'processor record and the other enterprise record');
  t.equal(r.packetCount, 0);
});

t.test('unknown sample formats are skipped by their length and counted', async (t) => {
  const r = ok(datagram([
    framed(5, [1, 2, 3, 4, 5, 6, 7, 8]),
    framed((9 << 12) | 1, [9, 9, 9]),
    flowSample([rawHeader(frame)]),
  ]));
  t.equal(r.datagram.samplesSkipped, 2);
  t.equal(r.datagram.samples.length, 1);
  t.equal(r.packetCount, 1);
});

t.test('header protocols: IPv4 and IPv6 headers decoded as IP, other protocols as Ethernet (counted)', async (t) => {
  const ip = ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2, [0]));
  const r = ok(datagram([flowSample([
    rawHeader(ip, { protocol: 11, frameLength: 29, stripped: 0 }),
    rawHeader(ip, { protocol: 12, frameLength: 29, stripped: 0 }),
    rawHeader(frame, { protocol: 2 }),
  ])]));
  t.strictSame(records(r.packets, 3).map((x) => x.linkType), [228, 229, 1]);
  t.equal(r.datagram.headersOtherProtocol, 1);
});

t.test('stripped > frame_length: no packet, counted (Skydive would count ~4 GB)', async (t) => {
  const r = ok(datagram([flowSample([rawHeader(frame, { frameLength: 10, stripped: 20 }), rawHeader(frame)])]));
  t.equal(r.datagram.headersBadLength, 1);
  t.equal(r.packetCount, 1);
  t.equal((r.datagram.samples[0] as SFlowFlowSample).headers, 1);
  const zero = ok(datagram([flowSample([rawHeader(frame, { frameLength: 60, stripped: 60 })])]));
  t.equal(records(zero.packets, 1)[0].wirelen, 0, 'frame_length = stripped is a 0-byte packet');
});

t.test('rejections, one per reason', async (t) => {
  const good = [flowSample([rawHeader(frame)]), counterSample([genericCounters({ ifIndex: 1, ifInOctets: 5 })])];
  t.equal(reject(datagram(good, { version: 4 })), 'version', 'version 4');
  t.equal(reject(datagram(good, { version: 2 })), 'version', 'version 2');
  t.equal(reject(Uint8Array.from([0, 0, 0, 4, 0, 0])), 'version', 'a short datagram of another version is a version error');
  t.equal(reject(new Uint8Array(0)), 'short_header', 'empty');
  t.equal(reject(Uint8Array.from([0, 0, 0, 5, 0, 0, 0, 1, 10, 0])), 'short_header', 'cut in the agent address');
  t.equal(reject(datagram(good, { addressType: 3 })), 'agent_address_type');
  t.equal(reject(datagram(good, { sampleCount: 0x7fffffff })), 'sample_count', 'absurd sample count');
  t.equal(reject(datagram(good, { sampleCount: 3 })), 'sample_length', 'one sample more than sent');
  t.equal(reject(datagram([framed(1, [...be32(1)], 4000)])), 'sample_length', 'sample length past the end');
  t.equal(reject(datagram([framed(1, new Array(28).fill(0))])), 'sample_too_short', 'flow sample of 28 bytes');
  t.equal(reject(datagram([framed(4, new Array(12).fill(0))])), 'sample_too_short', 'expanded counter sample of 12 bytes');
  t.equal(reject(datagram([flowSample([rawHeader(frame)], { recordCount: 1000 })])), 'record_count', 'absurd record count');
  t.equal(reject(datagram([counterSample([genericCounters({ ifIndex: 1 })], { recordCount: 2 })])), 'record_length', 'one record more than sent');
  t.equal(reject(datagram([flowSample([framed(1001, [0, 0, 0, 0], 64)])])), 'record_length', 'record length past the sample');
  t.equal(reject(datagram([flowSample([rawHeader(frame, { headerLength: frame.length + 8 })])])), 'record_too_short', 'header longer than its record');
  t.equal(reject(datagram([flowSample([framed(1, [0, 0, 0, 1, 0, 0, 0, 60])])])), 'record_too_short', 'raw header record of 8 bytes');
  t.equal(reject(datagram([counterSample([framed(1, new Array(84).fill(0))])])), 'record_too_short', 'generic counters of 84 bytes');
  t.equal(reject(datagram([counterSample([framed(5, new Array(24).fill(0))])])), 'record_too_short', 'VLAN counters of 24 bytes');
  // The regions are the host's: too small ones are refused, never overrun.
  const c = dec.core;
  const d = datagram(good);
  new Uint8Array(c.memory.buffer).set(d, c.inputBuffer());
  const at = c.inputBuffer() + 4096;
  t.equal(c.sflowDecode(c.inputBuffer(), d.length, TS, at, 40, c.outputBuffer(), 4096), SFLOW_REJECT_REASONS.indexOf('no_room'), 'packet region too small');
  t.equal(c.sflowDecode(c.inputBuffer(), d.length, TS, at, 4096, c.outputBuffer(), 100), SFLOW_REJECT_REASONS.indexOf('no_room'), 'list region too small');
  t.equal(c.sflowPacketCount() + c.sflowListBytes(), 0, 'nothing written');
  const r = dec.decode(new Uint8Array(3 << 20), TS);
  t.equal(r.ok ? 'accepted' : r.reason, 'no_room', 'a datagram larger than UDP allows');
});

t.test('the reason names match the core reason codes', async (t) => {
  t.equal(SFLOW_REJECT_REASONS.length, (dec.core.SFLOW_REASON_COUNT as WebAssembly.Global).value);
  const r = dec.decode(datagram([], { version: 4 }), TS);
  t.match(r, { ok: false, reason: 'version', offset: 0, message: /rejected \(version\) at byte 0 of 28/ });
});

/** A datagram with every kind of sample. */
function mixed(): Uint8Array {
  return datagram([
    flowSample([extendedSwitch(), rawHeader(frame, { frameLength: 1000 })], { sequence: 1 }),
    counterSample([genericCounters({ ifIndex: 2, ifInOctets: 99 }), ethernetCounters(new Array(13).fill(1))]),
    flowSample([rawHeader(frame), rawHeader(frame)], { expanded: true, sequence: 2 }),
    counterSample([vlanCounters(5, 1, 2, 3, 4, 5)], { expanded: true }),
  ], { agent: '2001:db8::1' });
}

t.test('truncation at every offset is rejected, with nothing written', async (t) => {
  const d = mixed();
  t.equal(ok(d).packetCount, 3, 'the whole datagram is fine');
  const seen = new Map<string, number>();
  let bad = 0;
  for (let n = 0; n < d.length; n++) {
    const r = dec.decode(d.subarray(0, n), TS);
    if (r.ok) { bad++; continue; }
    seen.set(r.reason, (seen.get(r.reason) ?? 0) + 1);
    if (dec.core.sflowPacketCount() !== 0 || dec.core.sflowListBytes() !== 0) bad++;
  }
  t.equal(bad, 0, `all ${d.length} prefixes rejected, none wrote anything`);
  t.equal(seen.get('short_header'), 40, 'cut in the header (40 bytes with an IPv6 agent)');
  t.ok((seen.get('sample_length') ?? 0) > 0 && (seen.get('sample_count') ?? 0) > 0, `reasons: ${JSON.stringify(Object.fromEntries(seen))}`);
  t.same([...seen.keys()].sort(), ['sample_count', 'sample_length', 'short_header'], 'a cut is always found at datagram level first');
});

t.test('lying lengths and counts, and every byte flipped: rejected or read within bounds, never a trap', async (t) => {
  const d = mixed();
  // Offsets of every count and length word: header sample count, then each sample's length and record count, each record's length.
  const words: number[] = [];
  const dv = new DataView(d.buffer);
  let p = 40;
  words.push(p - 4);
  for (let i = 0; i < 4; i++) {
    words.push(p + 4);
    const format = dv.getUint32(p), len = dv.getUint32(p + 4);
    const fixed = format === 1 ? 32 : format === 3 ? 44 : format === 2 ? 12 : 16;
    let r = p + 8 + fixed;
    words.push(r - 4);
    const n = dv.getUint32(r - 4);
    for (let k = 0; k < n; k++) { words.push(r + 4); r += 8 + ((dv.getUint32(r + 4) + 3) & ~3); }
    p += 8 + len;
  }
  t.equal(p, d.length, 'walked the whole datagram');
  let accepted = 0, rejected = 0;
  for (const w of words) {
    for (const v of [0, 1, 3, 4, 7, 8, 0x7fffffff, 0xfffffffc, 0xffffffff, dv.getUint32(w) + 4, dv.getUint32(w) - 4]) {
      const bad = d.slice();
      new DataView(bad.buffer).setUint32(w, v >>> 0);
      const r = dec.decode(bad, TS);
      if (r.ok) accepted++; else rejected++;
    }
  }
  t.ok(rejected > words.length * 8, `${rejected} lies rejected, ${accepted} read as another valid datagram`);
  let flips = 0;
  for (let i = 0; i < d.length; i++) {
    const bad = d.slice();
    bad[i] ^= 0xff;
    dec.decode(bad, TS);
    flips++;
  }
  t.equal(flips, d.length, 'every byte flipped once: no trap');
  t.equal(ok(d).packetCount, 3, 'and the decoder still reads the good datagram');
});
