import t from 'tap';
import type { Flow, Stats } from '../../src/flow/types.js';
import {
  decodeFlow, decodeFlowStream, decodeMessage, encodeFlow, encodeFlowDelimited, encodeMessage,
} from '../../src/format/protobuf.js';
import { flowFromGoldenJSON, goldenAvailable, goldenLines, goldenSkip, GOLDEN_DIR } from '../fixtures/golden-flows.js';

function baseFlow(): Flow {
  return {
    UUID: '', LayersPath: '', Application: '',
    Metric: { ABPackets: 0, ABBytes: 0, BAPackets: 0, BABytes: 0, Start: 0, Last: 0, RTT: 0 },
    Start: 0, Last: 0, TrackingID: '', L3TrackingID: '', ParentUUID: '', NodeTID: '', CaptureID: '',
    RawPacketsCaptured: 0, FinishType: 0,
  };
}

/** A flow with every part of the model set, including values only a bigint can hold. */
function fullFlow(): Flow {
  return {
    UUID: '3ff8773b0fc1ab7d', LayersPath: 'Ethernet/IPv4/UDP/DNS', Application: 'DNS',
    Link: { Protocol: 'ETHERNET', A: 'f2:98:72:99:56:08', B: '26:09:b6:98:f9:64', ID: (100n << 48n) | 40968n },
    Network: { Protocol: 'IPV4', A: '192.168.0.1', B: '192.168.0.2', ID: 10 },
    Transport: { Protocol: 'UDP', A: 41278, B: 53, ID: 0 },
    ICMP: { Type: 'PACKET_TOO_BIG', Code: 4, ID: 65535 },
    DHCPv4: { File: 'boot\u0000\udcff', Flags: 0x8000, HardwareLen: 6, HardwareOpts: 1, ServerName: 'srv', Secs: 9 },
    DNS: {
      ID: 38125, QR: true, OpCode: 'Query', AA: true, TC: true, RD: true, RA: true, Z: 1, ResponseCode: 'No Error',
      QDCount: 1, ANCount: 5, NSCount: 1, ARCount: 1,
      Questions: [{ Name: 'c.go-mpulse.net', Type: 'AAAA', Class: 'IN' }],
      Answers: [
        { Name: 'a', Type: 'A', Class: 'IN', TTL: 7, DataLength: 4, IP: '152.19.134.139' },
        { Name: 'b', Type: 'CNAME', Class: 'IN', TTL: 728, DataLength: 33, CNAME: 'w\udce2\udc82.example' },
        { Name: 'c', Type: 'PTR', Class: 'IN', TTL: 300, DataLength: 55, PTR: 'ec2.example' },
        { Name: 'd', Type: 'TXT', Class: 'IN', TTL: 1, DataLength: 8, TXTs: ['v=spf1', '', '😀'] },
        { Name: 'e', Type: 'SRV', Class: 'IN', TTL: 1, DataLength: 8, SRV: { Priority: 1, Weight: 2, Port: 3, Name: 'h' } },
      ],
      Authorities: [
        { Name: 'x', Type: 'SOA', Class: 'IN', TTL: 5, DataLength: 49, SOA: {
          MName: 'n0x', RName: 'hostmaster', Serial: 1559791419, Refresh: 1000, Retry: 1000, Expire: 1000, Minimum: 1800,
        } },
        { Name: 'y', Type: 'NS', Class: 'IN', TTL: 67350, DataLength: 7, NS: 'ns04' },
        { Name: 'z', Type: 'MX', Class: 'IN', TTL: 1, DataLength: 9, MX: { Preference: 10, Name: 'mx' } },
      ],
      Additionals: [{ Name: '', Type: 'OPT', Class: 'Unknown', TTL: 32768, DataLength: 8,
        OPT: [{ Code: 'NSID', Data: Uint8Array.from([0, 255, 1]) }] }],
      TimestampNs: 1559792414984235001n,
    },
    VRRPv2: { AdverInt: 1, Priority: 100, Version: 2, VirtualRtrID: 7 },
    LastUpdateMetric: { ABPackets: 1, ABBytes: 2, BAPackets: 3, BABytes: 4, Start: 5, Last: 6, RTT: 7 },
    Metric: { ABPackets: 2, ABBytes: 150, BAPackets: 2, BABytes: 683, Start: 1559792414972, Last: -1, RTT: 13104000 },
    TCPMetric: {
      ABSynStart: 1490086703768, BASynStart: 1490086703768, ABSynTTL: 64, BASynTTL: 255, ABFinStart: 1, BAFinStart: 2,
      ABRstStart: 3, BARstStart: 4, ABSegmentOutOfOrder: 5, ABSegmentSkipped: 6, ABSegmentSkippedBytes: 7,
      ABPackets: 8, ABBytes: 9223372036854775807n, ABSawStart: 1, ABSawEnd: 1, BASegmentOutOfOrder: 3,
      BASegmentSkipped: 0, BASegmentSkippedBytes: 0, BAPackets: 10, BABytes: -9223372036854775808n, BASawStart: 0,
      BASawEnd: 1,
    },
    IPMetric: { Fragments: 2, FragmentErrors: 1 },
    Start: 1559792414972, Last: 1559792414984,
    TrackingID: '181ad6ecea69f1b3', L3TrackingID: '1a2a86685b29c35e', ParentUUID: 'd278a1dd98b6801',
    NodeTID: 'node', CaptureID: 'capture',
    RawPacketsCaptured: 2,
    LastRawPackets: [
      { Timestamp: 1559792414972, Index: 1, Data: Uint8Array.from([1, 2, 3]), LinkType: 1 },
      { Timestamp: 1559792414984, Index: 2, Data: Uint8Array.from([4]), LinkType: 228 },
    ],
    FinishType: 3,
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('wire bytes of a small flow: fields in number order, defaults left out', (t) => {
  const f: Flow = {
    ...baseFlow(),
    UUID: 'a', ParentUUID: 'p', Start: 1, Last: 2,
    Link: { Protocol: 'ETHERNET', A: 'x', B: '', ID: 1n << 60n },
    Metric: { ...baseFlow().Metric, ABPackets: 1 },
    TrackingID: 't', FinishType: 1,
  };
  const expected = [
    '0a0161', // 1 UUID "a"
    '320170', // 6 ParentUUID "p"
    '5001', // 10 Start 1
    '5802', // 11 Last 2
    'a2010d' + '1a0178' + '28' + '80'.repeat(8) + '10', // 20 Link {3 A "x", 5 ID 2^60}; Protocol 0 left out
    '82020' + '2' + '1001', // 32 Metric {2 ABPackets 1}
    '92030174', // 50 TrackingID "t"
    'e00301', // 60 FinishType TIMEOUT
  ].join('');
  t.equal(hex(encodeFlow(f)), expected);
  t.end();
});

t.test('an empty flow still carries its (empty) Metric, as Go writes a non-nil pointer', (t) => {
  t.equal(hex(encodeFlow(baseFlow())), '820200');
  t.same(decodeFlow(encodeFlow(baseFlow())), baseFlow());
  t.end();
});

t.test('round trip of a hand-built flow with every field', (t) => {
  const f = fullFlow();
  const back = decodeFlow(encodeFlow(f));
  t.same(back, f);
  t.equal(typeof back.Link?.ID, 'bigint', 'ID above 2^53 comes back as bigint');
  t.equal(typeof back.Start, 'number', 'safe int64 comes back as number');
  t.ok(back.LastRawPackets?.[0].Data instanceof Uint8Array);
  const early = fullFlow();
  early.DNS!.TimestampNs = -1n;
  t.equal(decodeFlow(encodeFlow(early)).DNS?.TimestampNs, -1n, 'DNS time before 1970');
  t.end();
});

t.test('byte-derived strings go on the wire as their raw bytes', (t) => {
  const f: Flow = { ...baseFlow(), DHCPv4: { File: '\udcff\u0000', Flags: 0, HardwareLen: 0, HardwareOpts: 0, ServerName: '', Secs: 0 } };
  // 1000 DHCPv4 (tag 8002 as varint c23e) { 9 file = ff 00 }
  t.match(hex(encodeFlow(f)), /c23e044a02ff00$/);
  t.end();
});

t.test('length-delimited stream', (t) => {
  const flows = [fullFlow(), baseFlow(), { ...baseFlow(), UUID: 'x' }];
  const stream = Buffer.concat(flows.map(encodeFlowDelimited));
  const first = encodeFlow(flows[0]);
  t.ok(first.length >= 128 && first.length < 16384, 'first record needs a two-byte length');
  t.equal(stream[0], 0x80 | (first.length & 0x7f), 'varint length, low 7 bits first');
  t.equal(stream[1], first.length >> 7);
  t.equal(hex(stream.subarray(2, 2 + first.length)), hex(first), 'then the encoded Flow');
  t.same(decodeFlowStream(stream), flows);
  t.same(decodeFlowStream(new Uint8Array(0)), []);
  t.end();
});

t.test('Message with 2 flows and Stats', (t) => {
  const flows = [fullFlow(), { ...baseFlow(), UUID: 'second', Start: 5 }];
  const stats: Stats = {
    CaptureID: 'cap', FlowCount: 2, FlowDropped: 1, KernelFlowDropped: 0, PacketsReceived: 1n << 60n, PacketsDropped: 3,
  };
  const bytes = encodeMessage(flows, stats);
  t.equal(bytes[0], 0x0a, 'field 1 (Flows) first');
  // 2 Stats, 21 bytes: {1 "cap", 2 FlowCount 2, 3 FlowDropped 1, 5 PacketsReceived 2^60, 6 PacketsDropped 3}
  const statsBytes = '1215' + '0a03636170' + '1002' + '1801' + '28' + '80'.repeat(8) + '10' + '3003';
  t.equal(hex(bytes).slice(-statsBytes.length), statsBytes, 'field 2 (Stats) last, zero KernelFlowDropped left out');
  t.same(decodeMessage(bytes), { flows, stats });
  t.same(decodeMessage(encodeMessage(flows)), { flows }, 'no Stats: none decoded');
  t.same(decodeMessage(encodeMessage([], stats)), { flows: [], stats }, 'stats alone, as Skydive sends them');
  t.end();
});

t.test('golden flows survive encode/decode', { skip: goldenSkip() }, (t) => {
  if (!goldenAvailable()) {
    t.fail(`golden corpus missing: ${GOLDEN_DIR}`);
    t.end();
    return;
  }
  const lines = goldenLines();
  let same = 0;
  for (const { file, line, text } of lines) {
    const flow = flowFromGoldenJSON(text);
    const back = decodeFlow(encodeFlow(flow));
    if (t.strictSame(back, flow, `${file}:${line}`)) same++;
  }
  t.equal(same, lines.length, `${same}/${lines.length} golden flows round-trip`);
  t.end();
});
