/**
 * The collector on real UDP sockets: datagrams sent to it become flows in a LivePipeline and
 * counters; bad datagrams are counted by reason and reported with their sender; IPv6
 * listening; a port already taken is a clear error.
 */
import t from 'tap';
import { createSocket } from 'node:dgram';
import { SFlowCollector, SFLOW_DEFAULT_PORT } from '../../src/capture/sflow.js';
import { LivePipeline } from '../../src/pipeline/live.js';
import type { FlowGroup } from '../../src/pipeline/shard-task.js';
import { ethernet, ipv4, udp } from '../helpers/packets.js';
import { counterSample, datagram, flowSample, genericCounters, rawHeader } from '../helpers/sflow.js';
import { groupLines } from '../helpers/flow-lines.js';

async function send(host: string, port: number, msgs: Uint8Array[]): Promise<void> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (const m of msgs) await new Promise<void>((resolve, reject) => s.send(m, port, host, (e) => (e ? reject(e) : resolve())));
  s.close();
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const frame = (i: number) => ethernet('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800, ipv4('10.0.0.1', `10.0.1.${i}`, 17, udp(1000, 2000, [i])));

t.test('UDP datagrams to flows, counters and stats', async (t) => {
  const lines: string[] = [];
  const pipeline = new LivePipeline({
    workers: 1,
    shard: { engine: {}, format: 'jsonl', events: ['expire', 'end'], dropLastUpdateMetric: true },
    timers: { updateSeconds: 60, expireSeconds: 600 },
    onFlows: (g: FlowGroup) => { lines.push(...groupLines(g)); },
  });
  const rejects: string[] = [];
  const c = await SFlowCollector.listen({
    address: '127.0.0.1', port: 0, onPackets: (d, n) => pipeline.offer(d, n), onReject: (_r, msg) => rejects.push(msg), debug: true,
  });
  t.match(c.address, /^127\.0\.0\.1:\d+$/);
  const good = [1, 2, 3].map((i) => datagram([
    flowSample([rawHeader(frame(i), { frameLength: 100 * i, stripped: 4 })], { sequence: i }),
    counterSample([genericCounters({ ifIndex: 1, ifInOctets: 1000 * i })], { sequence: i }),
  ], { sequence: i }));
  const bad = [datagram([], { version: 4 }), good[0].subarray(0, 50)];
  await send('127.0.0.1', c.port, [...good, ...bad]);
  await until(() => c.stats.DatagramsReceived === 5);
  await c.close();
  await pipeline.stop();
  t.match(c.stats, {
    DatagramsReceived: 5, DatagramsRejected: 2, FlowSamples: 3, CounterSamples: 3, PacketsReceived: 3, PacketsDropped: 0,
    Rejected: { version: 1, sample_length: 1, short_header: 0 },
  });
  t.equal(rejects.length, 2);
  t.match(rejects[0], /rejected \(version\) at byte 0 of 28 from 127\.0\.0\.1:\d+/);
  const flows = lines.map((l) => JSON.parse(l));
  t.strictSame(flows.map((f) => [f.Network.B, f.Metric.ABBytes]).sort(), [['10.0.1.1', 96], ['10.0.1.2', 196], ['10.0.1.3', 296]]);
  t.strictSame(c.sflow().IfMetrics, { 1: { IfInOctets: 3000 } });
});

t.test('IPv6 listener and the default address', async (t) => {
  t.equal(SFLOW_DEFAULT_PORT, 6343);
  let v6: SFlowCollector | undefined;
  try {
    v6 = await SFlowCollector.listen({ address: '::1', port: 0, onPackets: () => true });
  } catch (e) {
    t.skip(`IPv6: no IPv6 loopback here (${(e as Error).message})`, () => {});
  }
  if (v6) {
    t.match(v6.address, /^\[::1\]:\d+$/);
    await send('::1', v6.port, [datagram([flowSample([rawHeader(frame(1))])], { agent: '2001:db8::1' })]);
    await until(() => v6!.stats.DatagramsReceived === 1);
    t.equal(v6.agents()[0].Agent, '2001:db8::1');
    await v6.close();
  }
  const any = await SFlowCollector.listen({ port: 0, onPackets: () => true });
  t.match(any.address, /^0\.0\.0\.0:\d+$/, 'default 0.0.0.0');
  await any.close();
});

t.test('a port already in use is an error at listen, and the pipeline refusing packets is counted', async (t) => {
  const first = await SFlowCollector.listen({ address: '127.0.0.1', port: 0, onPackets: () => false });
  await t.rejects(SFlowCollector.listen({ address: '127.0.0.1', port: first.port, onPackets: () => true }), { code: 'EADDRINUSE' });
  first.receive(datagram([flowSample([rawHeader(frame(1)), rawHeader(frame(2))])]));
  first.flush();
  t.match(first.stats, { PacketsReceived: 2, PacketsDropped: 2 });
  await first.close();
});
