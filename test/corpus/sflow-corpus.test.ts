/**
 * The sFlow captures of the shared corpus, each datagram's UDP payload through the collector's
 * decoder:
 * - tcpdump/sflow_multiple_counter_30_pdus.pcap and tcpdump/sflow_expanded.pcap against the
 *   tcpdump -v output the corpus keeps beside them (every sample header, every generic and
 *   Ethernet counter value, every raw header; the 5 datagrams tcpdump reports as "version
 *   327681 not supported" must be rejected as other versions);
 * - ndpi/sflow.pcap against values read with tshark 4.0.17 when this test was written;
 * and the flows and SFlow metadata that come out.
 *
 * Needs ../shared/corpus: skipped with a message when it is missing, a failure when CI is set.
 */
import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GOLDEN_DIR } from '../fixtures/golden-flows.js';
import { SFlowDecoder, SFLOW_COUNTER_FIELDS, type SFlowCounterSample, type SFlowDatagram, type SFlowFlowSample } from '../../src/capture/sflow-decode.js';
import { SFlowCollector } from '../../src/capture/sflow.js';
import { TestTable } from '../helpers/engine.js';

const CORPUS = path.dirname(GOLDEN_DIR.replace(/\/$/, ''));
const skip = existsSync(CORPUS) || process.env.CI ? false : `shared corpus missing (${CORPUS}); with CI set this is a failure`;

/** Under CI a missing corpus is a failure, said plainly. */
function corpusMissing(t: Test): boolean {
  if (existsSync(CORPUS)) return false;
  t.fail(`shared corpus missing: ${CORPUS}`);
  return true;
}
const TS = 1_700_000_000_000_000_000n;

/** UDP payloads of a little-endian classic pcap of Ethernet/IPv4/UDP frames, by frame number (1-based). */
function udpPayloads(file: string): Uint8Array[] {
  const b = readFileSync(file);
  if (b.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian µs pcap`);
  const out: Uint8Array[] = [];
  for (let p = 24; p + 16 <= b.length;) {
    const caplen = b.readUInt32LE(p + 8);
    const f = b.subarray(p + 16, p + 16 + caplen);
    p += 16 + caplen;
    if (f.readUInt16BE(12) !== 0x0800 || f[23] !== 17) throw new Error(`${file}: frame ${out.length + 1} is not IPv4/UDP`);
    const ihl = (f[14] & 15) * 4;
    const udpLen = f.readUInt16BE(14 + ihl + 4);
    out.push(f.subarray(14 + ihl + 8, 14 + ihl + udpLen));
  }
  return out;
}

interface TcpdumpRecord { name: string; format: number; values: number[] }
interface TcpdumpSample { line: string; kind: 'flow' | 'counter'; expanded: boolean; fields: number[]; records: TcpdumpRecord[] }
interface TcpdumpFrame { frame: number; version?: number; head?: number[]; agent?: string; samples: TcpdumpSample[] }

const nums = (s: string): number[] => [...s.replace(/\([a-z-]+\)/g, '').matchAll(/\d+/g)].map((m) => Number(m[0]));

/** tcpdump -v's sFlow text, frame by frame. */
function parseTcpdump(text: string): TcpdumpFrame[] {
  const frames: TcpdumpFrame[] = [];
  let f: TcpdumpFrame | undefined;
  let s: TcpdumpSample | undefined;
  let r: TcpdumpRecord | undefined;
  for (const line of text.split('\n')) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^\s+(\d+)\s+\d{4}-\d\d-\d\d /))) {
      frames.push(f = { frame: Number(m[1]), samples: [] });
      s = r = undefined;
    } else if ((m = line.match(/sFlowv5, IPv4 agent ([\d.]+), (agent-id .*)$/))) {
      f!.version = 5;
      f!.agent = m[1];
      f!.head = nums(m[2]); // agent-id, seqnum, uptime, samples, length
    } else if ((m = line.match(/sFlow version (\d+) packet not supported/))) {
      f!.version = Number(m[1]);
    } else if ((m = line.match(/^\t(expanded )?(flow|counter) sample \(\d\), (.*)$/))) {
      f!.samples.push(s = { line, kind: m[2] as 'flow' | 'counter', expanded: !!m[1], fields: nums(m[3]), records: [] });
      r = undefined;
    } else if ((m = line.match(/^\t    enterprise (\d+),? (.*) \((\d+)\) length (\d+)$/))) {
      s!.records.push(r = { name: m[2], format: Number(m[3]), values: [] });
    } else if (r && /^\t      [a-zA-Z]/.test(line)) {
      r.values.push(...nums(line));
    }
  }
  return frames;
}

/** Our decode, in the shape of tcpdump's numbers. */
function sampleFields(s: SFlowFlowSample | SFlowCounterSample): number[] {
  // tcpdump: length, seqnum, type, idx, [rate, pool, drops, input value (format), output value (format),] records
  const common = [s.sequence, s.sourceIdType, s.sourceIdIndex];
  if (s.kind === 'counter') return [...common, s.records];
  return [...common, s.samplingRate, s.samplePool, s.drops, s.input.value, s.input.format, s.output.value, s.output.format, s.records];
}

function checkAgainstTcpdump(t: Test, capture: string, out: string): SFlowDatagram[] {
  const dec = new SFlowDecoder();
  const payloads = udpPayloads(path.join(CORPUS, capture));
  const frames = parseTcpdump(readFileSync(path.join(CORPUS, out), 'utf8'));
  t.equal(frames.length, payloads.length, `${capture}: tcpdump describes every frame`);
  const decoded: SFlowDatagram[] = [];
  let counters = 0, rawHeaders = 0, rejected = 0;
  for (const f of frames) {
    const r = dec.decode(payloads[f.frame - 1], TS);
    if (f.version !== 5) {
      t.match(r, { ok: false, reason: 'version' }, `frame ${f.frame}: version ${f.version} rejected`);
      rejected++;
      continue;
    }
    if (!r.ok) { t.fail(`frame ${f.frame}: ${r.message}`); continue; }
    const d = r.datagram;
    decoded.push(d);
    const [agentId, seq, uptime, count, length] = f.head!;
    t.strictSame([d.agent, d.subAgentId, d.sequence, d.uptime, d.sampleCount, payloads[f.frame - 1].length],
      [f.agent, agentId, seq, uptime, count, length], `frame ${f.frame}: datagram header`);
    t.equal(d.samples.length, f.samples.length, `frame ${f.frame}: samples`);
    let skipped = 0;
    d.samples.forEach((s, i) => {
      const want = f.samples[i];
      t.strictSame([s.kind, s.expanded, ...sampleFields(s)], [want.kind, want.expanded, ...want.fields.slice(1)], `frame ${f.frame} sample ${i + 1}: ${want.line.trim()}`);
      if (s.kind === 'counter') {
        const read = want.records.filter((x) => x.format === 1 || x.format === 2);
        skipped += want.records.length - read.length;
        t.strictSame(s.counters.map((c) => c.type), read.map((x) => (x.format === 1 ? 'generic' : 'ethernet')), `frame ${f.frame} sample ${i + 1}: counter records`);
        s.counters.forEach((c, k) => {
          t.equal(Object.keys(c.values).length, SFLOW_COUNTER_FIELDS[c.type].length);
          t.strictSame(Object.values(c.values), read[k].values, `frame ${f.frame} sample ${i + 1}: ${c.type} counter values`);
          counters++;
        });
      } else {
        const raw = want.records.filter((x) => x.format === 1);
        skipped += want.records.length - raw.length;
        // tcpdump: protocol (1), length, stripped bytes, header_size
        t.strictSame([s.headers, s.headerBytes], [raw.length, raw.reduce((n, x) => n + x.values[1] - x.values[2], 0)], `frame ${f.frame} sample ${i + 1}: raw headers`);
        rawHeaders += s.headers;
      }
    });
    t.equal(d.recordsSkipped, skipped, `frame ${f.frame}: ${skipped} records skipped (extended data, host-sFlow records)`);
  }
  t.comment(`${capture}: ${decoded.length} datagrams decoded, ${rejected} rejected, ${counters} counter records, ${rawHeaders} raw headers compared`);
  return decoded;
}

t.test('tcpdump/sflow_multiple_counter_30_pdus.pcap: every value tcpdump prints', { skip }, async (t) => {
  if (corpusMissing(t)) return;
  const decoded = checkAgainstTcpdump(t, 'tcpdump/sflow_multiple_counter_30_pdus.pcap', 'tcpdump/sflow_multiple_counter_30_pdus.expected.tcpdump.sflow1.out');
  t.equal(decoded.length, 25);
  // Through the collector: Skydive's SFlow metadata keeps, per ifIndex, the last value that is
  // neither 0 nor all-ones (all agents of a capture share the ifIndex keys, as in Skydive).
  const c = new SFlowCollector({ onPackets: () => true });
  const last = new Map<number, number>();
  for (const p of udpPayloads(path.join(CORPUS, 'tcpdump/sflow_multiple_counter_30_pdus.pcap'))) {
    const d = c.receive(p);
    for (const s of d?.samples ?? []) {
      for (const r of s.kind === 'counter' ? s.counters : []) {
        const v = Number(r.values.ifInOctets);
        if (r.type === 'generic' && v !== 0) last.set(Number(r.values.ifIndex), v);
        else if (r.type === 'generic' && !last.has(Number(r.values.ifIndex))) last.set(Number(r.values.ifIndex), 0);
      }
    }
  }
  const md = c.sflow();
  t.equal(Object.keys(md.IfMetrics!).length, last.size, `${last.size} interfaces`);
  for (const [ifIndex, v] of last) t.equal(md.IfMetrics![ifIndex].IfInOctets, v === 0 ? undefined : v, `ifIndex ${ifIndex}: IfInOctets`);
  t.equal(md.Metric!.IfInOctets, [...last.values()].reduce((a, b) => a + b, 0), 'Metric.IfInOctets = the sum');
  t.match(c.stats, { DatagramsReceived: 30, DatagramsRejected: 5, Rejected: { version: 5 }, CounterSamples: 142 + 2, PacketsReceived: 0 });
});

t.test('tcpdump/sflow_expanded.pcap: the expanded flow sample and its flow', { skip }, async (t) => {
  if (corpusMissing(t)) return;
  const [d] = checkAgainstTcpdump(t, 'tcpdump/sflow_expanded.pcap', 'tcpdump/sflow_expanded.expected.tcpdump.sflow-expanded.out');
  t.equal(d.agent, '49.49.49.49');
  const table = new TestTable();
  const c = new SFlowCollector({ onPackets: (data, n) => { table.engine.inputView().set(data); table.engine.process(data.length, n); }, now: () => 1_700_000_000_000 });
  c.receive(udpPayloads(path.join(CORPUS, 'tcpdump/sflow_expanded.pcap'))[0]);
  c.flush();
  const flows = table.stop().map((e) => e.flow);
  t.strictSame(flows.map((f) => [f.LayersPath, f.Link?.ID, f.Network?.A, f.Network?.B, f.Transport?.A, f.Transport?.B, f.Metric.ABPackets, f.Metric.ABBytes]),
    [['Ethernet/Dot1Q/IPv4/TCP', 809, '52.52.52.52', '53.53.53.53', 22, 52237, 1, 122]], 'frame_length 126 - 4 stripped');
  t.strictSame(c.dataSources().map((s) => [s.SourceIDIndex, s.SamplingRate, s.EstimatedPackets, s.EstimatedBytes]), [[11001, 1000, 1000, 122000]]);
});

// ndpi/sflow.pcap, read with tshark 4.0.17: per frame, the counter sample (sequence, source
// index) and its generic counters (ifIndex, ifType, ifSpeed, direction, in octets, in ucast,
// in multicast, in broadcast, out octets, out ucast, out multicast, out broadcast); frame 4
// holds the one flow sample.
const NDPI_COUNTERS: [number, number, number, number[]][] = [
  [1, 8485, 1036, [1036, 6, 100000000, 1, 25963724, 39811, 167958, 128627, 5455297, 41143, 8583, 2263]],
  [2, 104, 1043, [1043, 6, 100000000, 1, 50956132, 15759, 703348, 8061, 102590282, 21495, 594754, 613464]],
  [3, 8486, 1036, [1036, 6, 100000000, 1, 25968223, 39816, 167982, 128657, 5456185, 41150, 8584, 2263]],
  [5, 105, 1043, [1043, 6, 100000000, 1, 50958458, 15789, 703348, 8061, 102595118, 21525, 594770, 613483]],
  [6, 8487, 1036, [1036, 6, 100000000, 1, 25976419, 39836, 168009, 128682, 5471528, 41176, 8585, 2263]],
  [7, 106, 1043, [1043, 6, 100000000, 1, 50961004, 15822, 703348, 8061, 102600290, 21558, 594786, 613503]],
  [8, 8488, 1036, [1036, 6, 100000000, 1, 25980564, 39838, 168034, 128708, 5472352, 41182, 8586, 2263]],
  [9, 107, 1043, [1043, 6, 100000000, 1, 50963330, 15852, 703348, 8061, 102605777, 21588, 594802, 613524]],
];

t.test('ndpi/sflow.pcap: counter samples and the flow sample, as tshark reads them', { skip }, async (t) => {
  if (corpusMissing(t)) return;
  const payloads = udpPayloads(path.join(CORPUS, 'ndpi/sflow.pcap'));
  t.equal(payloads.length, 9);
  const dec = new SFlowDecoder();
  const seqs = [415, 416, 417, 418, 419, 420, 421, 422, 423];
  const uptimes = [1732106000, 1732125000, 1732136000, 1732149000, 1732155000, 1732166000, 1732185000, 1732196000, 1732215000];
  payloads.forEach((p, i) => {
    const r = dec.decode(p, TS);
    if (!r.ok) { t.fail(r.message); return; }
    t.strictSame([r.datagram.agent, r.datagram.subAgentId, r.datagram.sequence, r.datagram.uptime, r.datagram.samples.length],
      ['172.21.35.17', 1, seqs[i], uptimes[i], 1], `frame ${i + 1}: header`);
  });
  for (const [frame, seq, index, values] of NDPI_COUNTERS) {
    const r = dec.decode(payloads[frame - 1], TS);
    const s = (r.ok ? r.datagram.samples[0] : undefined) as SFlowCounterSample;
    const g = s.counters[0].values;
    t.strictSame([s.kind, s.sequence, s.sourceIdType, s.sourceIdIndex, s.counters.length], ['counter', seq, 0, index, 1], `frame ${frame}: counter sample`);
    t.strictSame([g.ifIndex, g.ifType, g.ifSpeed, g.ifDirection, g.ifInOctets, g.ifInUcastPkts, g.ifInMulticastPkts, g.ifInBroadcastPkts,
      g.ifOutOctets, g.ifOutUcastPkts, g.ifOutMulticastPkts, g.ifOutBroadcastPkts], values, `frame ${frame}: generic counters`);
    t.strictSame([g.ifStatus, g.ifInDiscards, g.ifInErrors, g.ifOutErrors, g.ifPromiscuousMode], [3, 0, 0, 0, 0], `frame ${frame}: status up/up, no errors`);
  }
  const r = dec.decode(payloads[3], TS);
  t.match(r.ok && r.datagram.samples[0], {
    kind: 'flow', expanded: false, sequence: 6, sourceIdType: 0, sourceIdIndex: 1043, samplingRate: 2048, samplePool: 12288, drops: 0,
    input: { format: 0, value: 1048 }, output: { format: 0, value: 1043 }, records: 1, headers: 1, headerBytes: 78,
  }, 'frame 4: flow sample, raw header of 78 bytes (82 - 4)');

  const table = new TestTable();
  const c = new SFlowCollector({ onPackets: (data, n) => { table.engine.inputView().set(data); table.engine.process(data.length, n); }, now: () => 1_700_000_000_000 });
  for (const p of payloads) c.receive(p);
  c.flush();
  const flows = table.stop().map((e) => e.flow);
  t.strictSame(flows.map((f) => [f.LayersPath, f.Link?.ID, f.Network?.A, f.Network?.B, f.ICMP?.Type, f.ICMP?.ID, f.Metric.ABPackets, f.Metric.ABBytes]),
    [['Ethernet/Dot1Q/IPv4/ICMPv4', 32, '172.21.32.254', '172.21.32.241', 'ECHO', 43336, 1, 78]]);
  const md = c.sflow();
  t.strictSame(md.IfMetrics, {
    1036: { IfInOctets: 25980564, IfInUcastPkts: 39838, IfInMulticastPkts: 168034, IfInBroadcastPkts: 128708, IfOutOctets: 5472352, IfOutUcastPkts: 41182, IfOutMulticastPkts: 8586, IfOutBroadcastPkts: 2263 },
    1043: { IfInOctets: 50963330, IfInUcastPkts: 15852, IfInMulticastPkts: 703348, IfInBroadcastPkts: 8061, IfOutOctets: 102605777, IfOutUcastPkts: 21588, IfOutMulticastPkts: 594802, IfOutBroadcastPkts: 613524 },
  }, 'the last counters of both interfaces');
  t.match(md.Metric, { IfInOctets: 25980564 + 50963330, IfOutOctets: 5472352 + 102605777 });
  t.match(md.LastUpdateMetric, { IfInOctets: 50963330 - 50961004, IfOutOctets: 102605777 - 102600290 }, 'the last datagram changed ifIndex 1043 only');
});
