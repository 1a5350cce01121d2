/**
 * The analyzer's fast flow.Message reader gives exactly what the protobufjs-based decoder gives
 * (same flows, same optional parts, numbers and bigints alike), for the store fixtures, for
 * flows with every part (extra layers, raw packets), for the golden flows of the corpus, and for
 * Messages framed from the tables' records; malformed input is a MessageFormatError, never a
 * crash or another exception.
 */
import t from 'tap';
import type { Flow, Stats } from '../../src/flow/types.js';
import { decodeMessage, encodeFlowDelimited, encodeMessage } from '../../src/format/protobuf.js';
import { MessageFormatError, readFlowMessage } from '../../src/format/message-reader.js';
import { messageOfRecords, messageOfStats } from '../../src/format/message-frame.js';
import { makeFlows, baseFlow, rng } from '../query/flow-fixture.js';
import { flowFromGoldenJSON, goldenAvailable, goldenLines, goldenSkip } from '../fixtures/golden-flows.js';

const stats: Stats = {
  CaptureID: 'cap', FlowCount: 2, FlowDropped: 1, KernelFlowDropped: 0, PacketsReceived: 2n ** 60n, PacketsDropped: 3,
};

/** A flow with the parts the fast path hands to the reference decoder. */
function rareFlow(): Flow {
  return baseFlow('rare', {
    LayersPath: 'Ethernet/IPv4/UDP/DNS', Application: 'DNS',
    DNS: {
      ID: 1, QR: true, OpCode: 'Query', AA: false, TC: false, RD: true, RA: true, Z: 0, ResponseCode: 'No Error',
      QDCount: 1, ANCount: 1, NSCount: 0, ARCount: 0, Questions: [{ Name: 'example.org', Type: 'A', Class: 'IN' }],
      Answers: [{ Name: 'example.org', Type: 'A', Class: 'IN', TTL: 60, DataLength: 4, IP: '192.0.2.1' }],
      Authorities: [], Additionals: [], TimestampNs: 1_700_000_000_123_456_789n,
    },
    VRRPv2: { AdverInt: 1, Priority: 100, Version: 2, VirtualRtrID: 7 },
    LastRawPackets: [{ Timestamp: 5, Index: 1, Data: Uint8Array.from([1, 2, 3]), LinkType: 1 }],
    RawPacketsCaptured: 1,
  });
}

t.test('same flows as decodeMessage: fixtures, every part, negative and huge int64', async (t) => {
  const flows = [...makeFlows(400, 11), rareFlow()];
  flows.push(baseFlow('neg', {
    Metric: { ABPackets: -1, ABBytes: 2n ** 62n, BAPackets: 0, BABytes: -(2n ** 63n), Start: 2 ** 50, Last: 2 ** 53 - 1, RTT: 0 },
    Transport: { Protocol: 'SCTP', A: 1, B: 65535, ID: 7 }, FinishType: 2,
  }));
  for (let i = 0; i < flows.length; i += 37) {
    const bytes = encodeMessage(flows.slice(i, i + 37));
    t.strictSame(readFlowMessage(bytes), decodeMessage(bytes), `flows ${i}..${i + 36}`);
  }
  const withStats = encodeMessage([], stats);
  t.strictSame(readFlowMessage(withStats), { flows: [], stats });
  t.strictSame(readFlowMessage(withStats), decodeMessage(withStats));
  const failures = { ...stats, DecodeFailures: 12 };
  t.strictSame(readFlowMessage(encodeMessage([], failures)).stats, failures, 'the DecodeFailures extension');
  t.strictSame(decodeMessage(encodeMessage([], failures)).stats, failures);
  t.strictSame(readFlowMessage(new Uint8Array(0)), { flows: [] }, 'an empty datagram is an empty Message');
});

t.test('golden flows of the corpus', { skip: goldenSkip() }, async (t) => {
  if (!goldenAvailable()) throw new Error('golden corpus missing');
  const flows = goldenLines().map((l) => flowFromGoldenJSON(l.text));
  let same = 0;
  for (let i = 0; i < flows.length; i += 10) {
    const bytes = encodeMessage(flows.slice(i, i + 10));
    const ok = JSON.stringify(readFlowMessage(bytes), big) === JSON.stringify(decodeMessage(bytes), big);
    if (ok) same += Math.min(10, flows.length - i);
    else t.strictSame(readFlowMessage(bytes), decodeMessage(bytes), `golden flows ${i}..`);
  }
  t.equal(same, flows.length, `${same}/${flows.length} golden flows`);
});

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v;
}

t.test('a Message framed from the tables\' records holds those flows', async (t) => {
  const flows = makeFlows(50, 3);
  const bytes = messageOfRecords(flows.map(encodeFlowDelimited));
  t.strictSame(readFlowMessage(bytes).flows, decodeMessage(bytes).flows);
  t.strictSame(decodeMessage(bytes).flows.map((f) => f.UUID), flows.map((f) => f.UUID));
  t.strictSame(readFlowMessage(messageOfStats(stats)), { flows: [], stats }, 'stats alone');
});

t.test('malformed input: MessageFormatError, never anything else', async (t) => {
  const bytes = encodeMessage([...makeFlows(5, 9), rareFlow()], undefined);
  let refused = 0;
  for (let n = 0; n < bytes.length; n++) {
    try {
      readFlowMessage(bytes.subarray(0, n));
    } catch (err) {
      if (!(err instanceof MessageFormatError)) throw err;
      refused++;
    }
  }
  t.ok(refused > bytes.length / 2, `${refused} of ${bytes.length} truncations refused`);
  const r = rng(5);
  for (let i = 0; i < 3000; i++) {
    const m = Uint8Array.from(bytes);
    for (let k = 0; k < 3; k++) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
    try {
      const out = readFlowMessage(m);
      t.ok(Array.isArray(out.flows));
    } catch (err) {
      if (!(err instanceof MessageFormatError)) t.fail(`mutation ${i}: ${(err as Error).stack}`);
    }
  }
  t.throws(() => readFlowMessage(Uint8Array.from([0x0a, 0x05, 0x0a])), MessageFormatError, 'length past the end');
  t.throws(() => readFlowMessage(Uint8Array.from([0x0b])), MessageFormatError, 'wire type 3 (groups)');
  t.throws(() => readFlowMessage(Uint8Array.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), MessageFormatError, 'varint of 11 bytes');
  t.throws(() => readFlowMessage(Uint8Array.from([0x0a, 0x05, 0xa2, 0x01, 0x02, 0x08, 0x09])), /FlowProtocol has no value 9/, 'unknown enum value');
});

t.test('an unknown length-delimited field is skipped whole', async (t) => {
  // Flow { UUID: "u1", field 99: "abc" (unknown), LayersPath: "IPv4" }.
  const record = [0x0a, 0x02, 0x75, 0x31, 0x9a, 0x06, 0x03, 0x61, 0x62, 0x63, 0x12, 0x04, 0x49, 0x50, 0x76, 0x34];
  const flows = readFlowMessage(Uint8Array.from([0x0a, record.length, ...record])).flows;
  t.equal(flows[0].UUID, 'u1');
  t.equal(flows[0].LayersPath, 'IPv4', 'the field after it is read');
});
