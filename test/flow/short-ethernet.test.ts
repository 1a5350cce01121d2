/**
 * An Ethernet frame shorter than its 14-byte header where Skydive's own
 * decoders read one: after an ERSPAN-II header and at the bottom of an MPLS
 * stack (flow/decoder.go; flow-semantics.md 1.2). Skydive adds that Ethernet
 * layer even when Ethernet.DecodeFromBytes fails, so it is empty (nil MACs),
 * followed by a DecodeFailure; the inner flow has a Link with empty A and B,
 * hashes no MAC bytes, and its packets count as BA (equal MACs leave the
 * direction to the network test, which says BA without a network layer).
 * And nothing past the end of the packet is read: the flows do not depend on
 * what lies after the packet in memory (an earlier, longer packet's bytes).
 */
import t from 'tap';
import { FlowEngine } from '../../src/engine/flow-engine.js';
import type { Flow } from '../../src/flow/types.js';
import { flowToJSON } from '../../src/format/json.js';
import { encodeBatch, TestTable, type Frame } from '../helpers/engine.js';
import { erspan2, ethernet, gre, ipv4, mpls, udp } from '../helpers/packets.js';

const A = '02:00:00:00:00:0a', B = '02:00:00:00:00:0b';
const TS = 101_000;
/** Bytes that are not zero, so that reading them (or not) shows. */
const junk = (n: number, first = 0xe7): number[] => Array.from({ length: n }, (_, i) => (i === 0 ? first : 0xa5 ^ ((i * 29) & 255)));

const erspanFrame = (after: number[]) => ethernet(A, B, 0x0800, ipv4('192.168.1.1', '192.168.1.2', 47, gre(0x88be, after, 1)));
const mplsFrame = (inner: number[]) => ethernet(A, B, 0x8847, mpls(100, true, inner));

/** XXH64 of BE64(3) (Link endpoint type, no MAC bytes) and of nothing: checked with an independent XXH64. */
const NIL_LINK_TRACKING_ID = '15c2d270722e75ca';
const EMPTY_L3_TRACKING_ID = 'ef46db3751d8e999';

/** The fields of a flow that the packets decide. */
function fields(f: Flow) {
  return {
    LayersPath: f.LayersPath, Application: f.Application, Link: f.Link, Network: f.Network, Transport: f.Transport, ICMP: f.ICMP,
    Metric: [f.Metric.ABPackets, f.Metric.ABBytes, f.Metric.BAPackets, f.Metric.BABytes, f.Metric.Start, f.Metric.Last],
    UUID: f.UUID, TrackingID: f.TrackingID, L3TrackingID: f.L3TrackingID, ParentUUID: f.ParentUUID, FinishType: f.FinishType,
  };
}

function flowsOf(frames: Frame[]): { flows: Flow[]; counters: Record<string, bigint> } {
  const tt = new TestTable();
  tt.feed(frames);
  const flows = tt.stop().map((e) => e.flow);
  return { flows, counters: tt.engine.counters() };
}

const NIL_LINK = { Protocol: 'ETHERNET', A: '', B: '', ID: 0 };

t.test('ERSPAN-II with an inner frame of 0 to 13 bytes: an empty Ethernet, a Link with empty MACs', (t) => {
  for (let n = 0; n <= 13; n++) {
    const { flows, counters } = flowsOf([{ data: erspanFrame(erspan2(1, junk(n))), tsMs: TS }]);
    t.equal(flows.length, 2, `${n} bytes: the GRE flow and the mirrored frame's`);
    const outer = flows.find((f) => f.LayersPath === 'Ethernet/IPv4/GRE')!;
    const inner = flows.find((f) => f !== outer)!;
    t.strictSame(fields(outer), {
      LayersPath: 'Ethernet/IPv4/GRE', Application: 'GRE', Link: { Protocol: 'ETHERNET', A, B, ID: 0 },
      Network: { Protocol: 'IPV4', A: '192.168.1.1', B: '192.168.1.2', ID: 0 }, Transport: undefined, ICMP: undefined,
      Metric: [1, 50 + n, 0, 0, TS, TS],
      UUID: '54b8e0149278464e', TrackingID: '568d4037c7a618a7', L3TrackingID: '91178303b35909ae', ParentUUID: '', FinishType: 1,
    }, `${n} bytes: outer flow`);
    t.strictSame(fields(inner), {
      LayersPath: 'Ethernet', Application: 'Ethernet', Link: NIL_LINK, Network: undefined, Transport: undefined, ICMP: undefined,
      // Wire length less the outer headers (14 + 20 + 8): the 8 ERSPAN bytes count, as in erspanII.pcap.
      Metric: [0, 0, 1, 8 + n, TS, TS],
      UUID: '5033e3cc6881fe68', TrackingID: NIL_LINK_TRACKING_ID, L3TrackingID: EMPTY_L3_TRACKING_ID,
      ParentUUID: '54b8e0149278464e', FinishType: 1,
    }, `${n} bytes: inner flow`);
    t.equal(counters.decode_failures, 1n, `${n} bytes: a DecodeFailure`);
    t.equal(counters.flows_created, 2n);
  }
  t.end();
});

t.test('ERSPAN-II cut inside its 8-byte header: a DecodeFailure after GRE, no inner flow', (t) => {
  for (let n = 1; n < 8; n++) {
    const { flows, counters } = flowsOf([{ data: erspanFrame(junk(n)), tsMs: TS }]);
    t.strictSame(flows.map((f) => [f.LayersPath, f.UUID]), [['Ethernet/IPv4/GRE', '54b8e0149278464e']], `${n} bytes`);
    t.equal(counters.decode_failures, 1n);
    // The level after GRE holds only the DecodeFailure: no key material, skipped and counted
    // (docs/compat.md#no-link-no-network; Skydive dereferences nil there).
    t.equal(counters.orphan_subpackets, 1n);
  }
  t.end();
});

t.test('MPLS bottom of stack with 1 to 13 bytes: IP attempt by the first nibble, then an empty Ethernet', (t) => {
  const cases = [
    // first byte, inner LayersPath, inner Network, AB (true) or BA, TrackingID, L3TrackingID, outer UUID, inner UUID
    // Nibble 1: straight to Ethernet.
    { first: 0x11, path: 'Ethernet', network: undefined, ab: false, tid: NIL_LINK_TRACKING_ID, l3: EMPTY_L3_TRACKING_ID, outer: 'e99ad29083d97f44', inner: 'c85da96378fcdbe' },
    // Nibble 4: an IPv4 layer too short for its addresses (nil: "<nil>"), then the Ethernet fallback.
    { first: 0x45, path: 'IPv4/Ethernet', network: { Protocol: 'IPV4', A: '<nil>', B: '<nil>', ID: 0 }, ab: true, tid: '63245da0477e1d71', l3: '9f1ffc793b8a47da', outer: '567785249216935', inner: 'c6e1f90ff46ba3cf' },
    // Nibble 6: the same with IPv6.
    { first: 0x60, path: 'IPv6/Ethernet', network: { Protocol: 'IPV6', A: '<nil>', B: '<nil>', ID: 0 }, ab: true, tid: 'e6da4c2d15e216d6', l3: 'd93b2223edc60960', outer: '77cfafc318c184d5', inner: '4486af79cf82ff45' },
  ];
  for (const c of cases) {
    for (let n = 1; n <= 13; n++) {
      const { flows, counters } = flowsOf([{ data: mplsFrame(junk(n, c.first)), tsMs: TS }]);
      const what = `first byte ${c.first.toString(16)}, ${n} bytes`;
      t.equal(flows.length, 2, what);
      const outer = flows.find((f) => f.LayersPath === 'Ethernet/MPLS')!;
      const inner = flows.find((f) => f !== outer)!;
      t.same([outer.UUID, outer.Link, outer.Network, outer.Metric.ABPackets, outer.Metric.ABBytes],
        [c.outer, { Protocol: 'ETHERNET', A, B, ID: 0 }, undefined, 1, 18 + n], `${what}: outer flow`);
      t.strictSame(fields(inner), {
        LayersPath: c.path, Application: 'Ethernet', Link: NIL_LINK, Network: c.network, Transport: undefined, ICMP: undefined,
        Metric: c.ab ? [1, n, 0, 0, TS, TS] : [0, 0, 1, n, TS, TS],
        UUID: c.inner, TrackingID: c.tid, L3TrackingID: c.l3, ParentUUID: c.outer, FinishType: 1,
      }, `${what}: inner flow`);
      t.equal(counters.decode_failures, 1n, `${what}: a DecodeFailure`);
    }
  }
  // Nothing after the label: decoding stops quietly, one flow.
  const { flows, counters } = flowsOf([{ data: mplsFrame([]), tsMs: TS }]);
  t.strictSame(flows.map((f) => f.LayersPath), ['Ethernet/MPLS']);
  t.equal(counters.decode_failures, 0n);
  t.end();
});

/** A long packet whose bytes would show if read past the end of a later, shorter one. */
const long = (i: number): Frame => ({
  data: ethernet('ee:ff:aa:bb:cc:dd', 'ee:ff:aa:bb:cc:dd', 0x0800, ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2, junk(220 + i, 0xee)))),
  tsMs: TS - 1000 + i,
});

function shortFrames(): Frame[] {
  const out: Frame[] = [];
  for (let n = 0; n <= 13; n++) {
    out.push(long(n));
    out.push({ data: erspanFrame(erspan2(n, junk(n, 0xe7 + n))), tsMs: TS + n });
    out.push({ data: mplsFrame(junk(Math.max(n, 1), [0x11, 0x45, 0x60][n % 3])), tsMs: TS + n });
  }
  return out;
}

/** JSON of every flow, sorted, for `frames` fed in batches of `batch` with the input area filled with `fill` first. */
function jsonOf(frames: Frame[], batch: number, fill?: number): string[] {
  const tt = new TestTable();
  for (let i = 0; i < frames.length; i += batch) {
    if (fill !== undefined) tt.engine.inputView().fill(fill, 0, 1 << 16);
    tt.feed(frames.slice(i, i + batch));
  }
  tt.stop();
  return tt.emitted.map((e) => flowToJSON(e.flow)).sort();
}

t.test('short frames give the same flows whatever lies after them in memory', (t) => {
  const frames = shortFrames();
  const base = jsonOf(frames, frames.length);
  // The long packets make one flow, the ERSPAN ones an outer and an inner flow, the MPLS ones an
  // outer and an inner flow per first nibble (no network, nil IPv4, nil IPv6).
  t.equal(base.length, 1 + 2 + 3 * 2);
  t.strictSame(jsonOf(frames, 1), base, 'each packet in its own batch, after the long one');
  t.strictSame(jsonOf(frames, 2), base, 'batches of two');
  for (const fill of [0x00, 0xff, 0x5a]) t.strictSame(jsonOf(frames, 1, fill), base, `input area filled with ${fill.toString(16)}`);
  t.end();
});

t.test('the core writes the nil Link as the host does: no A, no B', (t) => {
  const frames = [{ data: erspanFrame(erspan2(1, junk(2))), tsMs: TS }, { data: mplsFrame(junk(3, 0x45)), tsMs: TS }];
  const host = new TestTable();
  host.feed(frames);
  const want = host.stop().map((e) => flowToJSON(e.flow)).sort();
  const engine = new FlowEngine({ debug: true });
  const batch = encodeBatch(frames);
  engine.inputView().set(batch);
  engine.process(batch.length, frames.length);
  for (const address of engine.stopBegin()) engine.stopFlow(address);
  const got: string[] = [];
  engine.drainJSON(new Set(['end']), false, {
    add: () => t.fail('written by the core'),
    addRun: (_keys, ends, bytes) => {
      let start = 0;
      for (const end of ends) { got.push(Buffer.from(bytes.subarray(start, end)).toString('utf8')); start = end; }
    },
    phase: () => 0,
  });
  t.strictSame(got.sort(), want);
  t.equal(got.filter((j) => j.includes('"Link":{"Protocol":"ETHERNET","ID":0}')).length, 2, 'two flows with a nil Link');
  t.end();
});
