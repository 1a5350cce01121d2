/**
 * Packet-time timers across jumps in packet time: the ticks of a quiet stretch
 * that would change nothing are skipped (tick-clock.ts skipIdle), so a gap of
 * any size costs a bounded number of ticks; and every flow, every update
 * event and every LastUpdateMetric is the same as with every tick taken, for
 * one table and for several, whatever the batch size.
 */
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { replayCapture, type ReplayTimers } from '../../src/pipeline/replay.js';
import { FlowWriter } from '../../src/format/writer.js';
import { parsePcap2FlowsArgs, pcap2flows } from '../../src/commands/pcap2flows.js';
import { TickClock } from '../../src/pipeline/tick-clock.js';
import { FlowGroups } from '../../src/pipeline/shard-task.js';
import { ethernet, ip4, ipv4, icmpEcho, mac, tcp, TCP_FLAGS as F, udp, type Bytes } from '../helpers/packets.js';
import { writePcap } from '../helpers/pcap.js';

const dir = mkdtempSync(path.join(tmpdir(), 'timers-gap-'));
const A = '02:00:00:00:00:01', B = '02:00:00:00:00:02';

type Frame = { data: Bytes; tsUs: number };

function arpRequest(sender: string, target: string): Bytes {
  return ethernet(A, 'ff:ff:ff:ff:ff:ff', 0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...mac(A), ...ip4(sender), 0, 0, 0, 0, 0, 0, ...ip4(target)]);
}

function dnsQuery(id: number): Bytes {
  const name = [7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0];
  return [id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 1, 0, 1];
}

/**
 * A few seconds of traffic from `t0` (µs) that leaves every kind of state a tick acts on: a
 * finished TCP conversation (held, then removed by an update tick), one with a segment out of
 * order (reassembly waits for the connection tick), ARP and DNS (application timeouts), a
 * lone first fragment (defragmentation), long conversations that later packets continue.
 */
function burst(t0: number, k: number): Frame[] {
  const frames: Frame[] = [];
  const at = (ms: number, data: Bytes) => frames.push({ data, tsUs: t0 + ms * 1000 });
  const ip = (i: number) => `10.0.${k}.${i}`;
  at(0, ethernet(A, B, 0x0800, ipv4(ip(1), '10.9.0.1', 6, tcp(1000 + k, 80, F.SYN, [], 100))));
  at(1, ethernet(B, A, 0x0800, ipv4('10.9.0.1', ip(1), 6, tcp(80, 1000 + k, F.SYN | F.ACK, [], 500, 101))));
  at(2, ethernet(A, B, 0x0800, ipv4(ip(1), '10.9.0.1', 6, tcp(1000 + k, 80, F.ACK | F.PSH, [1, 2, 3, 4], 101, 501))));
  at(3, ethernet(A, B, 0x0800, ipv4(ip(1), '10.9.0.1', 6, tcp(1000 + k, 80, F.FIN | F.ACK, [], 105, 501))));
  at(4, ethernet(B, A, 0x0800, ipv4('10.9.0.1', ip(1), 6, tcp(80, 1000 + k, F.FIN | F.ACK, [], 501, 106))));
  // A hole in the sequence: the later segment waits in reassembly.
  at(10, ethernet(A, B, 0x0800, ipv4(ip(2), '10.9.0.2', 6, tcp(2000, 443, F.SYN, [], 10))));
  at(11, ethernet(A, B, 0x0800, ipv4(ip(2), '10.9.0.2', 6, tcp(2000, 443, F.ACK | F.PSH, [9, 9, 9, 9], 30))));
  at(20, arpRequest(ip(3), ip(4)));
  at(30, ethernet(A, B, 0x0800, ipv4(ip(5), '10.9.0.53', 17, udp(5353 + k, 53, dnsQuery(k)))));
  at(40, ethernet(A, B, 0x0800, ipv4(ip(6), '10.9.0.6', 17, udp(7000, 7001, new Array(24).fill(k)), { id: 77 + k, flags: 1 })));
  // Conversations that outlive a gap when the expiry is longer than it.
  for (let i = 0; i < 5; i++) {
    at(50 + i * 700, ethernet(A, B, 0x0800, ipv4('10.1.1.1', '10.1.1.2', 1, icmpEcho(8, 9, k * 10 + i))));
    at(60 + i * 700, ethernet(A, B, 0x0800, ipv4('10.1.1.3', '10.1.1.4', 17, udp(4000, 4001, [k, i]))));
  }
  return frames;
}

const T0 = 1_700_000_000_000_000;
const S = 1_000_000;

function capture(name: string, frames: Frame[]): string {
  const file = path.join(dir, name);
  writePcap(file, frames.sort((a, b) => a.tsUs - b.tsUs));
  return file;
}

/** Every event's flow (updates too), LastUpdateMetric kept: the table's whole story. */
async function story(file: string, timers: ReplayTimers, workers: number, batchPackets?: number): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const writer = new FlowWriter(out, 'jsonl', { end: false });
  await replayCapture({
    file, workers, batchPackets, timers,
    shard: {
      engine: { extraLayers: 255 },
      format: 'jsonl',
      events: ['update', 'expire', 'app-timeout', 'end', 'hold-removed', 'evicted'],
      dropLastUpdateMetric: false,
    },
  }, writer);
  await writer.end();
  return Buffer.concat(chunks).toString('utf8');
}

t.test('gaps of 100 update periods: the same story with and without the skipped ticks', async (t) => {
  const gaps = path.join(dir, 'gaps.pcap');
  // Quiet stretches of 100 update periods (5 s), of 9 (past every application timeout, within
  // one expiry), of 37 (between one expiry and two), and one ending right at a tick.
  const starts = [0, 500, 545, 730, 1230];
  const frames = starts.flatMap((s, k) => burst(T0 + s * S, k));
  frames.push({ data: ethernet(A, B, 0x0800, ipv4('10.1.1.1', '10.1.1.2', 1, icmpEcho(8, 9, 99))), tsUs: T0 + 1800 * S });
  capture('gaps.pcap', frames);
  for (const [update, expire] of [[5, 60], [5, 120], [5, 600], [1, 20]]) {
    const timers = { updateSeconds: update, expireSeconds: expire };
    const every = await story(gaps, { ...timers, everyTick: true }, 1);
    t.ok(every.split('\n').length > 40, `${every.split('\n').length - 1} events`);
    t.match(every, /"FinishType":1/, 'flows end by timeout');
    for (const [workers, batch] of [[1, undefined], [2, undefined], [1, 3], [2, 5]]) {
      t.equal(await story(gaps, timers, workers!, batch), every, `update ${update}, expire ${expire}: ${workers} table(s), batches of ${batch ?? 'default'}`);
    }
  }
});

t.test('a gap of 54 years: quick, and the flows of both sides as if each were a capture of its own', async (t) => {
  const before = burst(60 * S, 0);
  const after = burst(T0, 1);
  const gap = capture('gap54y.pcap', [...before, ...after]);
  const beforeFile = capture('before.pcap', burst(60 * S, 0));
  const afterFile = capture('after.pcap', burst(T0, 1));
  const run = async (args: string[]): Promise<string> => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await pcap2flows(parsePcap2FlowsArgs(args), out);
    return Buffer.concat(chunks).toString('utf8');
  };
  for (const workers of ['1', '2']) {
    const started = Date.now();
    const flows = await run(['--timers', '--update', '1', '--workers', workers, gap]);
    const took = Date.now() - started;
    t.ok(took < 10_000, `${took} ms`);
    // The same flows; in another order, as the expiries during the gap cut the output in groups.
    const lines = (text: string): string[] => text.trim().split('\n').sort();
    const apart = [...lines(await run(['--timers', '--update', '1', beforeFile])), ...lines(await run(['--timers', '--update', '1', afterFile]))];
    t.ok(apart.length > 10, `${apart.length} flows`);
    t.same(lines(flows), apart.sort(), `${workers} table(s)`);
  }
  const heap = process.memoryUsage().heapUsed;
  t.ok(heap < 512 << 20, `heap ${heap >> 20} MB`);
});

t.test('the clock takes a bounded number of ticks through a gap, and every tick without the skip', (t) => {
  const count = (clock: TickClock, untilMs: number): number => {
    let n = 0;
    while (clock.next <= untilMs) {
      clock.skipIdle(untilMs);
      clock.take();
      n++;
    }
    return n;
  };
  const timers = { updateSeconds: 1, expireSeconds: 600 };
  const clock = new TickClock(timers, 15_000);
  clock.start(0);
  clock.noteRecords();
  t.ok(count(clock, 1_700_000_000_000) < 40, 'a 54-year gap: a few ticks');
  t.ok(clock.next > 1_700_000_000_000, 'and the clock is past it');
  const every = new TickClock({ updateSeconds: 7, expireSeconds: 600, everyTick: true }, 15_000);
  every.start(0);
  every.noteRecords();
  // 514 update ticks, 120 connection ticks (17 at the time of an update tick), 6 expire ticks (at connection ticks).
  t.equal(count(every, 3_600_000), 514 + 120 - 17, 'an hour, every tick');
  t.end();
});

t.test('a reply keeps no group for a tick that ended no flow', (t) => {
  const out = new FlowGroups();
  for (let i = 0; i < 100_000; i++) out.endGroup();
  out.add('k1', 'one');
  out.endGroup();
  out.endGroup();
  out.add('k2', 'two');
  const groups = out.finish();
  t.equal(out.ticks, 100_002);
  t.same(groups.map((g) => [g.tick, g.keys, Buffer.from(g.data).toString()]), [[100_000, ['k1'], 'one'], [100_002, ['k2'], 'two']]);
  t.end();
});
