/**
 * Flows made from sFlow raw headers: the collector's batch records through a LivePipeline (one
 * table in this thread, and two worker threads) give Skydive's sFlow flows: one sample = one
 * packet, Metric bytes = frame_length - stripped whatever the header holds (§7), inner tunnel
 * levels counted from that length (§2.2), stamped with the reception time.
 */
import t from 'tap';
import { SFlowCollector } from '../../src/capture/sflow.js';
import { LivePipeline } from '../../src/pipeline/live.js';
import type { FlowGroup } from '../../src/pipeline/shard-task.js';
import { TestTable } from '../helpers/engine.js';
import { ethernet, ipv4, tcp, TCP_FLAGS, udp, vxlan } from '../helpers/packets.js';
import { datagram, flowSample, rawHeader } from '../helpers/sflow.js';
import { groupLines } from '../helpers/flow-lines.js';

const NOW = 1_700_000_000_042;
const A = '02:00:00:00:00:0a', B = '02:00:00:00:00:0b';

/** A TCP packet cut to its first `cut` bytes, as an agent samples it. */
function tcpHeader(fromA: boolean, cut = 64): number[] {
  const [s, d, sm, dm, sp, dp] = fromA ? ['10.1.0.1', '10.1.0.2', A, B, 40000, 443] : ['10.1.0.2', '10.1.0.1', B, A, 443, 40000];
  const payload = new Array(1448).fill(7);
  return ethernet(sm, dm, 0x0800, ipv4(s, d, 6, tcp(sp, dp, TCP_FLAGS.ACK, payload))).slice(0, cut);
}

interface Flow { LayersPath: string; Metric: Record<string, number>; Start: number; Last: number; UUID: string; ParentUUID: string; Network?: { A: string } }

async function flowsOf(datagrams: Uint8Array[], workers = 1, threads = false, layerKeyMode: 'L2' | 'L3' = 'L2'): Promise<{ flows: Flow[]; collector: SFlowCollector }> {
  const lines: string[] = [];
  const onFlows = (g: FlowGroup) => { lines.push(...groupLines(g)); };
  const pipeline = new LivePipeline({
    workers, threads,
    shard: { engine: { layerKeyMode }, format: 'jsonl', events: ['expire', 'end', 'hold-removed', 'evicted'], dropLastUpdateMetric: true },
    timers: { updateSeconds: 60, expireSeconds: 600 }, onFlows, now: () => NOW,
  });
  const collector = new SFlowCollector({ onPackets: (d, n) => pipeline.offer(d, n), now: () => NOW, debug: true });
  for (const d of datagrams) collector.receive(d);
  collector.flush();
  await pipeline.stop();
  return { flows: lines.map((l) => JSON.parse(l) as Flow).sort((a, b) => a.LayersPath.localeCompare(b.LayersPath)), collector };
}

t.test('Metric bytes = frame_length - stripped per sampled packet, whatever the header length', async (t) => {
  const d1 = datagram([
    flowSample([rawHeader(tcpHeader(true), { frameLength: 1518, stripped: 4 })], { sequence: 1, samplingRate: 100 }),
    flowSample([rawHeader(tcpHeader(false), { frameLength: 70, stripped: 4 })], { sequence: 2, samplingRate: 100 }),
  ]);
  const d2 = datagram([
    flowSample([rawHeader(tcpHeader(true), { frameLength: 1518, stripped: 4 }), rawHeader(tcpHeader(true, 128), { frameLength: 1000, stripped: 0 })], { sequence: 3, samplingRate: 100 }),
  ], { sequence: 2 });
  const { flows, collector } = await flowsOf([d1, d2]);
  t.equal(flows.length, 1);
  const f = flows[0];
  t.equal(f.LayersPath, 'Ethernet/IPv4/TCP');
  t.strictSame(f.Metric, { ABPackets: 3, ABBytes: 1514 + 1514 + 1000, BAPackets: 1, BABytes: 66, Start: NOW, Last: NOW },
    'one packet per sample, no scaling by the sampling rate (Skydive)');
  t.equal(f.Start, NOW, 'stamped with the reception time');
  t.match(collector.stats, { DatagramsReceived: 2, FlowSamples: 3, PacketsReceived: 4, PacketsDropped: 0, DatagramsRejected: 0 });
});

t.test('tunnels: the inner level counts the forced length minus the outer headers', async (t) => {
  const inner = ethernet(A, B, 0x0800, ipv4('192.168.0.1', '192.168.0.2', 17, udp(5000, 6000, new Array(900).fill(1))));
  const outer = ethernet('02:00:00:00:01:01', '02:00:00:00:01:02', 0x0800, ipv4('172.16.0.1', '172.16.0.2', 17, udp(40000, 4789, vxlan(42, inner))));
  const { flows } = await flowsOf([datagram([flowSample([rawHeader(outer.slice(0, 128), { frameLength: 1000, stripped: 4 })])])]);
  t.strictSame(flows.map((f) => [f.LayersPath, f.Metric.ABBytes]), [
    ['Ethernet/IPv4/UDP', 946],
    ['Ethernet/IPv4/UDP/VXLAN', 996],
  ], 'outer 1000 - 4, inner 996 - (14 + 20 + 8 + 8)');
  const [innerFlow, outerFlow] = flows;
  t.equal(innerFlow.ParentUUID, outerFlow.UUID);
});

t.test('IPv4 raw headers: Skydive\'s counter rules on the forced length (§4.3)', async (t) => {
  const ip = ipv4('10.9.0.1', '10.9.0.2', 17, udp(5000, 5001, new Array(200).fill(0))); // total length 228
  const d = datagram([flowSample([rawHeader(ip.slice(0, 40), { protocol: 11, frameLength: 1400, stripped: 0 })])]);
  t.strictSame((await flowsOf([d])).flows.map((f) => [f.LayersPath, f.Metric.ABBytes, f.Network?.A]), [['IPv4/UDP', 228, '10.9.0.1']],
    'L2 key mode: a packet without Ethernet counts its IPv4 total length');
  t.strictSame((await flowsOf([d], 1, false, 'L3')).flows.map((f) => [f.LayersPath, f.Metric.ABBytes]), [['IPv4/UDP', 1400]],
    'L3 key mode: the packet length, frame_length - stripped');
});

t.test('the same flows with two worker threads', async (t) => {
  const ds = Array.from({ length: 20 }, (_, i) => datagram([
    flowSample([rawHeader(tcpHeader(i % 2 === 0), { frameLength: 200 + i, stripped: 4 })], { sequence: i + 1 }),
    flowSample([rawHeader(ethernet(A, B, 0x0800, ipv4(`10.2.0.${i}`, '10.3.0.1', 17, udp(1000 + i, 53, [1]))))], { sequence: i + 100 }),
  ], { sequence: i + 1 }));
  const one = await flowsOf(ds);
  const two = await flowsOf(ds, 2, true);
  t.equal(one.flows.length, 21);
  t.strictSame(two.flows.map((f) => JSON.stringify(f)).sort(), one.flows.map((f) => JSON.stringify(f)).sort());
});

t.test('feedRecords: the forced-length flag makes wirelen the outer length, for any top layer', async (t) => {
  const ip = ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2, new Array(72).fill(0))); // total length 100
  const bytes = (flag: boolean, linkType: number, data: number[], wireLen: number, layerKeyMode: 'L2' | 'L3' = 'L3') => {
    const table = new TestTable({ layerKeyMode });
    const batch = new Uint8Array(24 + ((data.length + 7) & ~7));
    const dv = new DataView(batch.buffer);
    dv.setBigInt64(0, BigInt(NOW) * 1_000_000n, true);
    dv.setUint32(8, data.length, true);
    dv.setUint32(12, wireLen, true);
    dv.setUint32(16, linkType, true);
    dv.setUint32(20, flag ? 0x80000000 : 0, true);
    batch.set(data, 24);
    table.engine.inputView().set(batch);
    table.engine.process(batch.length, 1);
    return table.stop().map((e) => e.flow.Metric.ABBytes);
  };
  t.strictSame(bytes(false, 228, ip, 5000), [100], 'raw IPv4, no flag: the IPv4 total length');
  t.strictSame(bytes(true, 228, ip, 5000), [5000], 'raw IPv4, flag: wirelen');
  t.strictSame(bytes(true, 228, ip, 5000, 'L2'), [100], 'raw IPv4 in L2 key mode: counted by IP length whatever the packet length (§4.3)');
  const eth = ethernet(A, B, 0x0800, ip);
  t.strictSame(bytes(true, 1, eth, 3000), [3000], 'Ethernet, flag: wirelen');
  t.strictSame(bytes(true, 1, eth, 0), [114], 'Ethernet, flag, 0: the Ethernet length, as Skydive falls back (§4.3)');
});
