/**
 * POST /api/pcap and `skydive client pcap --trace`: an uploaded capture's flows are stored as
 * pcap2flows computes them with Skydive's import table (no defragmentation, TCP metrics or
 * reassembly), queryable at once and kept by retention from the import, however old the
 * capture; what is not a capture, or breaks off, gets a 400 that says so; a stopping analyzer
 * ends its imports.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { FlowIntake } from '../../src/analyzer/intake.js';
import { PcapImporter, PcapImportStopped } from '../../src/analyzer/pcap-import.js';
import { pcap2flows } from '../../src/commands/pcap2flows.js';
import { replayCapture } from '../../src/pipeline/replay.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import type { Flow } from '../../src/flow/types.js';
import { query, testAnalyzer, until } from '../helpers/analyzer.js';
import { ethernet, icmpEcho, ipv4, tcp, TCP_FLAGS, udp, vxlan } from '../helpers/packets.js';
import { pcapngBytes, writePcap } from '../helpers/pcap.js';

const BIN = fileURLToPath(new URL('../../bin/skydive.js', import.meta.url));
const started = Date.now();
const dir = mkdtempSync(path.join(tmpdir(), 'pcap-import-'));
const A = '02:00:00:00:00:01', B = '02:00:00:00:00:02';
/** 2023-11-14: far older than any retention. */
const T0 = 1_700_000_000_000_000;

const frames = [
  { data: ethernet(A, B, 0x0800, ipv4('10.1.1.1', '10.1.1.2', 6, tcp(40000, 80, TCP_FLAGS.SYN))), tsUs: T0 },
  { data: ethernet(B, A, 0x0800, ipv4('10.1.1.2', '10.1.1.1', 6, tcp(80, 40000, TCP_FLAGS.SYN | TCP_FLAGS.ACK))), tsUs: T0 + 300 },
  { data: ethernet(A, B, 0x0800, ipv4('10.1.1.1', '10.1.1.2', 6, tcp(40000, 80, TCP_FLAGS.ACK, [1, 2, 3, 4]))), tsUs: T0 + 600 },
  // Four bytes to port 53: a DNS message cut short, which Skydive counts as a decode failure.
  { data: ethernet(A, B, 0x0800, ipv4('10.1.1.1', '10.1.1.3', 17, udp(5000, 53, [0, 1, 0, 0]))), tsUs: T0 + 1000 },
  { data: ethernet(A, B, 0x0800, ipv4('10.1.1.1', '10.1.1.2', 1, icmpEcho(8, 3, 1))), tsUs: T0 + 2000 },
  { data: ethernet(B, A, 0x0800, ipv4('10.1.1.2', '10.1.1.1', 1, icmpEcho(0, 3, 1))), tsUs: T0 + 2100 },
  // A VXLAN-tunnelled TCP packet: an outer UDP flow and an inner one whose ParentUUID is its UUID.
  {
    data: ethernet(A, B, 0x0800, ipv4('192.168.0.1', '192.168.0.2', 17, udp(49152, 4789,
      vxlan(42, ethernet(A, B, 0x0800, ipv4('172.16.0.1', '172.16.0.2', 6, tcp(1234, 443, TCP_FLAGS.SYN))))))),
    tsUs: T0 + 3000,
  },
];
const capture = path.join(dir, 'capture.pcap');
writePcap(capture, frames);
const bytes = readFileSync(capture);

/** What pcap2flows gives for the capture with the import table's options, by UUID. */
async function expectedFlows(file: string): Promise<Map<string, Flow>> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await pcap2flows({
    file, format: 'jsonl', stats: false, workers: 1,
    engine: { ipDefrag: false, extraTCPMetric: false, reassembleTCP: false },
  }, out, () => {});
  const flows = Buffer.concat(chunks).toString().trim().split('\n').map((l) => JSON.parse(l) as Flow);
  return new Map(flows.map((f) => [f.UUID, f]));
}

/** A stored flow as pcap2flows prints it: without LastUpdateMetric (the import keeps it, as an agent's flush does). */
function withoutLUM(f: Flow): Flow {
  const { LastUpdateMetric: _lum, ...rest } = f as Flow & { LastUpdateMetric?: unknown };
  return rest as Flow;
}

const analyzer = await testAnalyzer({ store: { retentionMs: 3_600_000 } });
t.teardown(() => analyzer.close());
const { base } = analyzer;

const post = async (body: Uint8Array | string, type = 'application/octet-stream') => {
  const r = await fetch(`${base}/api/pcap`, { method: 'POST', body, headers: { 'Content-Type': type } });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
};

t.test('a capture becomes the flows pcap2flows computes, queryable at once', async (t) => {
  const expected = await expectedFlows(capture);
  t.equal(expected.size, 5, 'TCP, UDP, ICMP, and outer and inner VXLAN flows');
  const r = await post(bytes);
  t.equal(r.status, 202);
  t.match(r.type, /application\/json/);
  t.strictSame(JSON.parse(r.text), { Packets: frames.length, Flows: expected.size, DecodeFailures: 1 });
  const stored = await query(base, 'G.Flows()') as Flow[];
  t.equal(stored.length, expected.size);
  for (const f of stored) t.strictSame(withoutLUM(f), expected.get(f.UUID), `flow ${f.UUID} (${f.LayersPath})`);
  const inner = stored.find((f) => f.Network?.A === '172.16.0.1')!;
  const outer = stored.find((f) => f.Network?.A === '192.168.0.1')!;
  t.equal(inner.ParentUUID, outer.UUID, 'the inner flow links to the outer one');
  t.strictSame(await query(base, "G.Flows().Has('Transport.B', 80).Values('Metric.ABPackets')"), [2]);
  t.equal(analyzer.intake.counters.flows.pcap, expected.size);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.match(metrics, new RegExp(`skydive_analyzer_flows_received_total\\{transport="pcap"\\} ${expected.size}\\n`));
  // A year-old Last: the retention counts from the import, so the next check keeps them all.
  analyzer.store.expire(Date.now() + 60_000);
  t.equal(analyzer.store.size, expected.size, 'kept by the retention check after the import');
  analyzer.store.expire(Date.now() + 3_700_000);
  t.equal(analyzer.store.size, 0, 'and dropped an hour after it');
});

t.test('pcapng, any Content-Type, and imports running at the same time', async (t) => {
  analyzer.store.clear();
  const expected = await expectedFlows(capture);
  const ng = pcapngBytes(frames);
  const replies = await Promise.all([post(ng, 'application/json'), post(bytes, 'application/vnd.tcpdump.pcap'), post(ng, '')]);
  for (const r of replies) t.strictSame([r.status, JSON.parse(r.text).Flows], [202, expected.size]);
  t.equal(analyzer.store.size, expected.size, 'the same flows three times: stored once each');
});

t.test('what is not a capture is a 400 that says why; nothing is stored', async (t) => {
  analyzer.store.clear();
  const text = await post('GET / HTTP/1.1\r\n');
  t.equal(text.status, 400);
  t.match(text.text, /not a pcap or pcapng capture: the upload/);
  t.notMatch(text.text, /skydive-pcap-/, 'no temporary path in the message');
  const empty = await fetch(`${base}/api/pcap`, { method: 'POST' });
  t.equal(empty.status, 400);
  t.match(await empty.text(), /empty/);
  t.equal(analyzer.store.size, 0);
});

t.test('a corrupt record: 400, and the flows of the packets before it are kept', async (t) => {
  analyzer.store.clear();
  const before = frames.slice(0, 4);
  const file = path.join(dir, 'before.pcap');
  writePcap(file, before);
  const head = readFileSync(file);
  // The fifth record's header claims 2 GB: corrupt.
  const bad = Buffer.alloc(16);
  bad.writeUInt32LE(1_700_000_000, 0);
  bad.writeUInt32LE(0x7fffffff, 8);
  bad.writeUInt32LE(0x7fffffff, 12);
  const r = await post(Buffer.concat([head, bad, Buffer.alloc(64)]));
  t.equal(r.status, 400);
  const expected = await expectedFlows(file);
  t.equal(r.text, `the upload: packet 5 claims 2147483647 captured bytes (limit 268435456): corrupt record header; `
    + `the ${expected.size} flows of the ${before.length} packets before it were stored\n`);
  t.same([...analyzer.store.scan()].map((e) => e.flow.UUID).sort(), [...expected.keys()].sort());
});

t.test('a capture cut inside its last record: the whole records, and how much was left out', async (t) => {
  analyzer.store.clear();
  const r = await post(bytes.subarray(0, bytes.length - 10));
  t.equal(r.status, 202);
  const reply = JSON.parse(r.text);
  t.equal(reply.Packets, frames.length - 1);
  t.equal(reply.TruncatedBytes, 16 + frames[frames.length - 1].data.length - 10);
});

/** `skydive client ARGS` against the test analyzer. */
function client(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'client', '--analyzer', `127.0.0.1:${analyzer.address.port}`, ...args]);
    let out = '', err = '';
    p.stdout.on('data', (c: Buffer) => { out += c; });
    p.stderr.on('data', (c: Buffer) => { err += c; });
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

t.test('skydive client pcap --trace FILE', async (t) => {
  analyzer.store.clear();
  const ok = await client('pcap', '--trace', capture);
  t.equal(ok.code, 0, ok.err);
  t.strictSame(JSON.parse(ok.out), { Packets: frames.length, Flows: 5, DecodeFailures: 1 });
  await until(() => analyzer.store.size === 5, 'the flows');
  const notCapture = path.join(dir, 'notes.txt');
  writeFileSync(notCapture, 'not a capture\n');
  const bad = await client('pcap', '-t', notCapture);
  t.equal(bad.code, 1);
  t.match(bad.err, new RegExp(`could not import ${notCapture.replace(/[.]/g, '\\.')}: not a pcap or pcapng capture`));
  const missing = await client('pcap', '-t', path.join(dir, 'absent.pcap'));
  t.equal(missing.code, 1);
  t.match(missing.err, /cannot read .*absent\.pcap/);
  const usage = await client('pcap');
  t.equal(usage.code, 2);
  t.match(usage.err, /pcap takes the capture with --trace/);
  const misplaced = await client('status', '--trace', capture);
  t.equal(misplaced.code, 2);
  t.match(misplaced.err, /--trace is an option of pcap only/);
});

t.test('stopping: an import still arriving is refused once it has arrived, with nothing stored', async (t) => {
  const store = new MemoryFlowStore();
  const importer = new PcapImporter(new FlowIntake(store), {});
  const upload = new PassThrough();
  upload.write(bytes.subarray(0, 100));
  const importing = importer.import(upload, 'test');
  await importer.close();
  upload.end(bytes.subarray(100));
  await t.rejects(importing, PcapImportStopped);
  t.equal(store.size, 0);
  const left = readdirSync(tmpdir()).filter((n) => n.startsWith('skydive-pcap-') && statSync(path.join(tmpdir(), n)).mtimeMs >= started);
  t.strictSame(left, [], 'the upload was deleted');
});

t.test('stopping: a replay stops at its next chunk, and nothing is written', async (t) => {
  const stop = new AbortController();
  stop.abort(new Error('stop now'));
  let written = 0;
  await t.rejects(replayCapture({
    file: capture, workers: 1, threads: true, signal: stop.signal,
    shard: { engine: {}, format: 'protobuf', events: ['end'], dropLastUpdateMetric: true },
  }, { writeRecord: () => { written++; return undefined; } }), { message: 'stop now' });
  t.equal(written, 0);
});
