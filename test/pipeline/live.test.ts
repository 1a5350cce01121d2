/**
 * The live pipeline: flows equal what one table makes of the same frames,
 * for one table in this thread and for several worker threads; ticks follow
 * the wall clock; when the tables are behind, batches are dropped and
 * counted, and every packet is either in a flow or counted as dropped.
 */
import t from 'tap';
import { LivePipeline, type LiveOptions } from '../../src/pipeline/live.js';
import type { FlowGroup } from '../../src/pipeline/shard-task.js';
import { encodeBatch, TestTable, type Frame } from '../helpers/engine.js';
import { ethernet, icmpEcho, ipv4, udp, vxlan } from '../helpers/packets.js';
import { flowToJSON } from '../../src/format/json.js';
import { groupLines } from '../helpers/flow-lines.js';

const mac = (i: number) => `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const ip = (i: number) => `10.0.${(i >> 8) & 255}.${i & 255}`;

/** UDP conversations both ways, some inside VXLAN, one ms apart. */
function frames(n: number, t0 = 1_700_000_000_000): Frame[] {
  return Array.from({ length: n }, (_, i) => {
    const a = i % 37, b = 100 + (i % 11);
    const [s, d] = i % 2 ? [a, b] : [b, a];
    const inner = ethernet(mac(s), mac(d), 0x0800, ipv4(ip(s), ip(d), 17, udp(4000 + s, 5000 + d, [i & 255])));
    const data = i % 5 === 0
      ? ethernet(mac(1000 + s), mac(1000 + d), 0x0800, ipv4(ip(1000 + s), ip(1000 + d), 17, udp(40000 + (i % 3), 4789, vxlan(7, inner))))
      : inner;
    return { data, tsMs: t0 + i };
  });
}

function collector(): { onFlows: (g: FlowGroup) => void; lines: () => string[] } {
  const lines: string[] = [];
  return {
    onFlows: (g) => { lines.push(...groupLines(g)); },
    lines: () => [...lines].sort(),
  };
}

function options(onFlows: (g: FlowGroup) => void, extra: Partial<LiveOptions> = {}): LiveOptions {
  return {
    workers: 1,
    shard: { engine: {}, format: 'jsonl', events: ['expire', 'app-timeout', 'end', 'hold-removed', 'evicted'], dropLastUpdateMetric: true },
    timers: { updateSeconds: 60, expireSeconds: 600 },
    onFlows,
    ...extra,
  };
}

/** What one table gives for the frames (JSON lines, sorted). */
function expected(all: Frame[]): string[] {
  const table = new TestTable();
  for (let i = 0; i < all.length; i += 100) table.feed(all.slice(i, i + 100));
  return table.stop().map((e) => { delete e.flow.LastUpdateMetric; return flowToJSON(e.flow); }).sort();
}

t.test('same flows as one table, in this thread and with 1, 2 or 3 worker threads', async (t) => {
  const all = frames(3000);
  const want = expected(all);
  t.ok(want.length > 40, `${want.length} flows`);
  for (const [workers, threads] of [[1, false], [1, true], [2, true], [3, true]] as const) {
    const c = collector();
    const p = new LivePipeline(options(c.onFlows, { workers, threads, maxInFlight: 4 }));
    for (let i = 0; i < all.length; i += 250) {
      t.ok(p.offer(encodeBatch(all.slice(i, i + 250)), Math.min(250, all.length - i)), 'taken');
      if (i % 1000 === 0) await p.settle(); // never more than 4 in flight: nothing dropped here
    }
    const counters = await p.stop();
    t.strictSame(c.lines(), want, `workers ${workers}${threads ? ' (threads)' : ''}`);
    t.equal(counters.packets, 3000n, 'every packet reached its table');
    t.same(p.stats, { PacketsReceived: 3000, PacketsDropped: 0, BatchesDropped: 0 });
  }
});

t.test('ticks follow the wall clock: updates, then expiry of idle flows', async (t) => {
  let now = 1_700_000_000_000;
  const c = collector();
  const p = new LivePipeline(options(c.onFlows, {
    shard: { engine: {}, format: 'jsonl', events: ['update', 'expire'], dropLastUpdateMetric: false },
    timers: { updateSeconds: 5, expireSeconds: 20 },
    now: () => now,
  }));
  p.offer(encodeBatch(frames(10)), 10);
  now += 5_000;
  p.checkTicks();
  await p.settle();
  const updates = c.lines().map((l) => JSON.parse(l));
  t.equal(updates.length, expected(frames(10)).length, 'every active flow is sent at the update tick');
  t.ok(updates.every((f) => f.LastUpdateMetric && f.LastUpdateMetric.Last === 1_700_000_005_000), 'LastUpdateMetric ends at the tick time (wall clock)');
  now += 40_000; // two expire ticks later, the idle flows are gone
  p.checkTicks();
  const counters = await p.stop();
  const expired = c.lines().map((l) => JSON.parse(l)).filter((f) => f.FinishType === 1); // TIMEOUT
  t.equal(expired.length, updates.length, 'idle flows expire (FinishType TIMEOUT)');
  t.equal(counters.packets, 10n);
});

t.test('a pool that is behind drops whole batches and counts them; nothing else is lost', async (t) => {
  const c = collector();
  const p = new LivePipeline(options(c.onFlows, { workers: 2, threads: true, maxInFlight: 1 }));
  const all = frames(20000);
  let offered = 0;
  for (let i = 0; i < all.length; i += 500) {
    p.offer(encodeBatch(all.slice(i, i + 500)), 500);
    offered += 500;
  }
  await p.stop();
  t.equal(p.stats.PacketsReceived, offered);
  t.ok(p.stats.PacketsDropped > 0, `${p.stats.PacketsDropped} packets dropped in ${p.stats.BatchesDropped} batches`);
  t.equal(p.stats.PacketsDropped, p.stats.BatchesDropped * 500);
  // Each frame makes one UDP packet in the innermost flow (VXLAN frames also count in their outer flow).
  const flows = c.lines().map((l) => JSON.parse(l));
  const innermost = flows.filter((f) => !flows.some((g) => g.ParentUUID === f.UUID));
  const packets = innermost.reduce((n, f) => n + f.Metric.ABPackets + f.Metric.BAPackets, 0);
  t.equal(packets, p.stats.PacketsReceived - p.stats.PacketsDropped, 'received = in flows + dropped');
  t.equal(p.offer(encodeBatch(all.slice(0, 1)), 1), false, 'a stopped pipeline takes nothing (and counts it)');
});

t.test('counters count each packet once with 1, 2 or 3 tables, a record cut short included', async (t) => {
  // Frames that hit the decoder's counters, on many address pairs (every table gets some).
  const damaged: Frame[] = [];
  for (let i = 0; i < 40; i++) {
    const whole = ethernet(mac(i), mac(500 + i), 0x0800, ipv4(ip(i), ip(500 + i), 1, icmpEcho(8, i, 1, new Array(64).fill(i))));
    damaged.push({ data: whole.slice(0, 50), wireLen: whole.length, tsMs: 1_700_000_001_000 + i }); // truncated
    damaged.push({ data: ethernet(mac(i), mac(500 + i), 0x0800, ipv4(ip(i), ip(500 + i), 1, [8, 0])), tsMs: 1_700_000_001_000 + i }); // DecodeFailure
  }
  const all = [...frames(400), ...damaged];
  const results: Record<string, bigint>[] = [];
  for (const [workers, threads] of [[1, false], [2, true], [3, true]] as const) {
    const c = collector();
    const p = new LivePipeline(options(c.onFlows, { workers, threads, maxInFlight: 16 }));
    for (let i = 0; i < all.length; i += 100) p.offer(encodeBatch(all.slice(i, i + 100)), Math.min(100, all.length - i));
    // A batch whose last record claims more bytes than it holds: the walk stops there (bad_records).
    const cut = encodeBatch(frames(3, 1_700_000_002_000));
    p.offer(cut.subarray(0, cut.length - 16), 3);
    const counters = await p.stop();
    t.equal(p.stats.PacketsDropped, 0);
    results.push(counters);
  }
  t.match(results[0], { packets: BigInt(all.length + 2), truncated: 80n, decode_failures: 40n, bad_records: 1n }, 'one table');
  t.strictSame(results[1], results[0], '2 tables');
  t.strictSame(results[2], results[0], '3 tables');
});
