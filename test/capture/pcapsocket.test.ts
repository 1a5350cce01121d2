/**
 * pcapsocket: a pcap stream written into the TCP port becomes flows, the same
 * as pcap2flows makes of the file; a real `tcpdump -w -` stream works; the
 * sender is slowed down (never dropped) when the tables are behind; streams
 * that are not pcap are refused with a reason.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { PcapSocketServer } from '../../src/capture/pcapsocket.js';
import { LivePipeline } from '../../src/pipeline/live.js';
import { parsePcap2FlowsArgs, pcap2flows } from '../../src/commands/pcap2flows.js';
import { writePcap } from '../helpers/pcap.js';
import { ethernet, ipv4, tcp, TCP_FLAGS as F, udp } from '../helpers/packets.js';
import { groupLines } from '../helpers/flow-lines.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pcapsocket-'));

function capture(n: number): string {
  const frames = Array.from({ length: n }, (_, i) => {
    const a = i % 13, b = 50 + (i % 7);
    const [s, d] = i % 2 ? [a, b] : [b, a];
    const l4 = i % 3 === 0 ? ipv4(`10.1.0.${s}`, `10.1.0.${d}`, 6, tcp(1000 + s, 2000 + d, F.ACK, new Array(i % 200).fill(1), i))
      : ipv4(`10.1.0.${s}`, `10.1.0.${d}`, 17, udp(3000 + s, 4000 + d, new Array(i % 300).fill(2)));
    return { data: ethernet(`02:00:00:00:00:${s.toString(16).padStart(2, '0')}`, `02:00:00:00:00:${d.toString(16).padStart(2, '0')}`, 0x0800, l4), tsUs: 1_700_000_000_000_000 + i * 1000 };
  });
  const file = path.join(dir, `c${n}.pcap`);
  writePcap(file, frames);
  return file;
}

async function expected(file: string): Promise<string[]> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await pcap2flows(parsePcap2FlowsArgs([file]), out);
  return Buffer.concat(chunks).toString().split('\n').filter(Boolean).sort();
}

/** A pipeline with Skydive's timers far away, and a pcapsocket server feeding it. */
async function setup(maxInFlight = 4, workers = 1) {
  const lines: string[] = [];
  const pipeline = new LivePipeline({
    workers, threads: workers > 1, maxInFlight, batchBytes: 1 << 16,
    shard: { engine: {}, format: 'jsonl', events: ['expire', 'app-timeout', 'end', 'hold-removed', 'evicted'], dropLastUpdateMetric: true },
    timers: { updateSeconds: 3600, expireSeconds: 36000 },
    onFlows: (g) => { lines.push(...groupLines(g)); },
  });
  const errors: string[] = [];
  const server = await PcapSocketServer.listen({
    host: '127.0.0.1', port: 0, chunkBytes: pipeline.slotBytes,
    onRecords: async (data, records, layout) => { await pipeline.offerWait(data, records, layout); },
    onStreamError: (e) => errors.push(e.message),
  });
  return { pipeline, server, lines, errors };
}

/** Sends `bytes` in pieces of random sizes, then closes; resolves when the server side has seen the end. */
function send(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', async () => {
      let p = 0, seed = 9;
      while (p < bytes.length) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        const n = 1 + (seed % 5000);
        if (!sock.write(bytes.subarray(p, p + n))) await new Promise((r) => sock.once('drain', r));
        p += n;
      }
      sock.end();
    });
    sock.on('close', () => resolve());
    sock.on('error', reject);
  });
}

async function settle(s: Awaited<ReturnType<typeof setup>>, packets: number): Promise<void> {
  for (let i = 0; i < 500 && s.server.stats.packets < packets; i++) await new Promise((r) => setTimeout(r, 10));
}

t.test('a pcap stream in random pieces gives the flows pcap2flows gives for the file', async (t) => {
  const file = capture(5000);
  const s = await setup(2, 2);
  await send(s.server.port, readFileSync(file));
  await settle(s, 5000);
  await s.server.close();
  const counters = await s.pipeline.stop();
  t.equal(s.server.stats.packets, 5000);
  t.equal(counters.packets, 5000n);
  t.same(s.pipeline.stats, { PacketsReceived: 5000, PacketsDropped: 0, BatchesDropped: 0 }, 'a TCP stream is slowed down, never dropped');
  t.strictSame(s.lines.sort(), await expected(file));
  t.same(s.errors, []);
});

t.test('a real tcpdump -w - stream', { skip: spawnSync('tcpdump', ['--version']).error && !process.env.CI ? 'tcpdump is not installed' : false }, async (t) => {
  const file = capture(800);
  const s = await setup();
  await new Promise<void>((resolve, reject) => {
    const sock = connect(s.server.port, '127.0.0.1', () => {
      const dump = spawn('tcpdump', ['-r', file, '-w', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
      dump.stdout.pipe(sock);
      dump.on('error', reject);
    });
    sock.on('close', () => resolve());
    sock.on('error', reject);
  });
  await settle(s, 800);
  await s.server.close();
  await s.pipeline.stop();
  t.equal(s.server.stats.packets, 800);
  t.strictSame(s.lines.sort(), await expected(file));
});

t.test('streams that are not pcap are refused with a reason; a cut stream is counted', async (t) => {
  const s = await setup();
  await send(s.server.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  const ng = Buffer.alloc(28);
  ng.writeUInt32BE(0x0a0d0d0a, 0);
  await send(s.server.port, ng);
  const whole = readFileSync(capture(10));
  await send(s.server.port, whole.subarray(0, whole.length - 5));
  await settle(s, 9);
  await new Promise((r) => setTimeout(r, 50));
  await s.server.close();
  await s.pipeline.stop();
  t.match(s.errors[0], /not a pcap stream \(magic 0x47455420\)/);
  t.match(s.errors[1], /pcapng stream; pcapsocket takes classic pcap/);
  t.equal(s.server.stats.badStreams, 2);
  t.equal(s.server.stats.packets, 9, 'the whole records of the cut stream');
  t.equal(s.server.stats.truncatedStreams, 1);
});
