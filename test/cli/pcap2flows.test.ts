/**
 * The `skydive pcap2flows` command as a user runs it: output formats on a
 * capture the test writes itself, and one-line errors with a non-zero exit.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFlowStream } from '../../src/format/protobuf.js';
import { ethernet, icmpEcho, ipv4, tcp, TCP_FLAGS, udp } from '../helpers/packets.js';
import { pcapngBytes, writePcap } from '../helpers/pcap.js';

const BIN = fileURLToPath(new URL('../../bin/skydive.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'pcap2flows-'));

/** A pcap of `frames` in the test's folder. */
function pcap(frames: { data: number[]; tsUs: number }[]): string {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.pcap`);
  writePcap(file, frames);
  return file;
}

const A = '02:00:00:00:00:01', B = '02:00:00:00:00:02';
const capture = pcap([
  { data: ethernet(A, B, 0x0800, ipv4('10.1.1.1', '10.1.1.2', 6, tcp(1234, 80, TCP_FLAGS.SYN))), tsUs: 1_700_000_000_000_000 },
  { data: ethernet(B, A, 0x0800, ipv4('10.1.1.2', '10.1.1.1', 6, tcp(80, 1234, TCP_FLAGS.SYN | TCP_FLAGS.ACK))), tsUs: 1_700_000_000_000_500 },
  { data: ethernet(A, B, 0x0800, ipv4('10.1.1.1', '10.1.1.3', 17, udp(5000, 53, [0, 1, 0, 0]))), tsUs: 1_700_000_000_001_000 },
  { data: ethernet(A, B, 0x0800, ipv4('10.1.1.1', '10.1.1.2', 1, icmpEcho(8, 3, 1))), tsUs: 1_700_000_000_002_000 },
]);

function run(...args: string[]) {
  return runWith(undefined, ...args);
}

/** The command with `input` on stdin (a pipe). */
function runWith(input: Buffer | undefined, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'buffer', input, maxBuffer: 1 << 28 });
  return { code: r.status, out: r.stdout, err: r.stderr.toString() };
}

/** `n` UDP conversations, one packet each, a millisecond apart. */
function conversations(n: number): { data: number[]; tsUs: number }[] {
  return Array.from({ length: n }, (_, i) => ({
    data: ethernet(A, B, 0x0800, ipv4(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, '10.200.0.1', 17, udp(1024 + (i % 60000), 53, [i & 255]))),
    tsUs: 1_700_000_000_000_000 + i * 1000,
  }));
}

t.test('jsonl, one flow per line', (t) => {
  const r = run('pcap2flows', capture);
  t.equal(r.code, 0, r.err);
  const flows = r.out.toString().trim().split('\n').map((l) => JSON.parse(l));
  t.equal(flows.length, 3);
  const tcpFlow = flows.find((f) => f.Transport?.Protocol === 'TCP');
  t.same([tcpFlow.Metric.ABPackets, tcpFlow.Metric.BAPackets], [1, 1]);
  t.equal(tcpFlow.Metric.RTT, 500000);
  t.equal(tcpFlow.FinishType, 1);
  t.notOk('LastUpdateMetric' in tcpFlow, 'a replay prints no LastUpdateMetric');
  const dns = flows.find((f) => f.Transport?.B === 53);
  t.equal(dns.LayersPath, 'Ethernet/IPv4/UDP', 'a 4-byte DNS message fails to decode: the path stops at UDP');
  t.end();
});

t.test('json array and protobuf carry the same flows', (t) => {
  const lines = run('pcap2flows', capture).out.toString().trim().split('\n');
  const arr = JSON.parse(run('pcap2flows', '--format', 'json', capture).out.toString());
  t.same(arr, lines.map((l) => JSON.parse(l)));
  const pb = decodeFlowStream(new Uint8Array(run('pcap2flows', '--format=protobuf', capture).out));
  t.same(pb.map((f) => f.UUID), arr.map((f: { UUID: string }) => f.UUID));
  t.end();
});

t.test('options change keys and layers as Skydive does', (t) => {
  const base = run('pcap2flows', capture).out.toString();
  const tid = run('pcap2flows', '--node-tid', 'probe-1', capture).out.toString();
  t.not(JSON.parse(tid.split('\n')[0]).UUID, JSON.parse(base.split('\n')[0]).UUID, 'NodeTID enters the UUID');
  t.equal(JSON.parse(tid.split('\n')[0]).NodeTID, 'probe-1');
  const l3 = run('pcap2flows', '--layer-key-mode', 'L3', capture).out.toString().trim().split('\n').map((l) => JSON.parse(l));
  t.ok(l3.every((f) => f.TrackingID === f.L3TrackingID), 'L3 mode: TrackingID = L3TrackingID');
  t.end();
});

t.test('errors are one line on stderr with a non-zero exit', (t) => {
  const cases: [string[], RegExp][] = [
    [['pcap2flows', path.join(dir, 'nope.pcap')], /no such file/],
    [['pcap2flows', BIN], /not a pcap or pcapng capture/],
    [['pcap2flows', '--bogus', capture], /unknown option --bogus/],
    [['pcap2flows', '--format', 'xml', capture], /--format must be one of/],
    [['pcap2flows', '--layer-key-mode', 'L4', capture], /L2 or L3/],
    [['pcap2flows', '--extra-layers', 'FOO', capture], /unknown extra layer/],
    [['pcap2flows'], /missing capture FILE/],
    [['frobnicate'], /unknown command/],
  ];
  for (const [args, re] of cases) {
    const r = run(...args);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.err, re);
    t.match(r.err.split('\n')[0], /^skydive: /);
    t.equal(r.out.length, 0, 'nothing on stdout');
  }
  t.end();
});

t.test('a file cut in the middle of a record still gives its flows', (t) => {
  const whole = run('pcap2flows', capture).out.toString();
  const data = readFileSync(capture);
  const cut = path.join(dir, 'cut.pcap');
  writeFileSync(cut, data.subarray(0, data.length - 10));
  const r = run('pcap2flows', '--stats', cut);
  t.equal(r.code, 0);
  t.equal(r.out.toString().trim().split('\n').length, whole.trim().split('\n').length - 1, 'the cut ICMP packet is gone, the rest is there');
  t.match(r.err, /"capture_truncated_tail":1/);
  t.end();
});

t.test('a cut capture gives its flows, a warning on stderr, and exit status 0', (t) => {
  const frames = conversations(5);
  const data = readFileSync(pcap(frames));
  const cut = path.join(dir, 'cut2.pcap');
  writeFileSync(cut, data.subarray(0, data.length - 10));
  const r = run('pcap2flows', cut);
  t.equal(r.code, 0, r.err);
  t.equal(r.out.toString().trim().split('\n').length, 4);
  t.equal(r.err, `skydive pcap2flows: warning: ${cut} ends inside a record: its last ${16 + frames[4].data.length - 10} bytes (from offset ${data.length - 16 - frames[4].data.length}) ignored\n`);
  const ng = pcapngBytes(frames);
  const cutng = path.join(dir, 'cut.pcapng');
  writeFileSync(cutng, ng.subarray(0, ng.length - 10));
  const rng = run('pcap2flows', cutng);
  t.equal(rng.code, 0, rng.err);
  t.equal(rng.out.toString().trim().split('\n').length, 4);
  t.match(rng.err, /^skydive pcap2flows: warning: \S+cut\.pcapng ends inside a record: its last \d+ bytes \(from offset \d+\) ignored\n$/);
  t.equal(run('pcap2flows', pcap(frames)).err, '', 'no warning for a whole capture');
  t.end();
});

t.test('a corrupt record header: the flows before it, then the error, exit status 2', (t) => {
  const frames = conversations(40);
  const file = pcap(frames);
  const before = run('pcap2flows', pcap(frames.slice(0, 29))).out.toString();
  t.equal(before.trim().split('\n').length, 29);
  const data = readFileSync(file);
  // The caplen of the 30th record.
  let at = 24;
  for (let i = 0; i < 29; i++) at += 16 + data.readUInt32LE(at + 8);
  data.writeUInt32LE(0x7fffffff, at + 8);
  const bad = path.join(dir, 'corrupt.pcap');
  writeFileSync(bad, data);
  for (const extra of [[], ['--workers', '2'], ['--batch-packets', '7'], ['--workers', '2', '--batch-packets', '3'], ['--timers']]) {
    const r = run('pcap2flows', ...extra, bad);
    const what = extra.join(' ') || 'default';
    t.equal(r.code, 2, what);
    t.equal(r.out.toString(), extra[0] === '--timers' ? run('pcap2flows', '--timers', pcap(frames.slice(0, 29))).out.toString() : before, `${what}: the flows of the 29 packets before`);
    t.equal(r.err, `skydive: ${bad}: packet 30 claims 2147483647 captured bytes (limit 268435456): corrupt record header\n`, what);
  }
  const stats = run('pcap2flows', '--stats', bad);
  t.equal(stats.code, 2);
  const [counters, error] = stats.err.trim().split('\n');
  t.match(JSON.parse(counters), { packets: 29 }, '--stats: the counters of the packets read, then the error');
  t.match(error, /^skydive: .*corrupt record header$/);
  // pcapng: a block whose length is not a multiple of 4.
  const ng = pcapngBytes(frames);
  let blockAt = 0;
  for (let i = 0; i < 2 + 29; i++) blockAt += ng.readUInt32LE(blockAt + 4);
  ng.writeUInt32LE(0x7ffffffe, blockAt + 4);
  const badng = path.join(dir, 'corrupt.pcapng');
  writeFileSync(badng, ng);
  const rng = run('pcap2flows', badng);
  t.equal(rng.code, 2);
  t.equal(rng.out.toString(), before, 'pcapng: the flows of the 29 packets before');
  t.match(rng.err, /^skydive: corrupt pcapng block at offset \d+ in \S+: total length 2147483646 .*\n$/);
  t.end();
});

t.test('a pipe on stdin (- or /dev/stdin), or a process substitution, reads as the file does', (t) => {
  const frames = conversations(3000);
  const file = pcap(frames);
  const ng = pcapngBytes(frames);
  const ngFile = path.join(dir, 'pipe.pcapng');
  writeFileSync(ngFile, ng);
  const expected = run('pcap2flows', file).out.toString();
  t.equal(expected.trim().split('\n').length, 3000);
  t.equal(run('pcap2flows', ngFile).out.toString(), expected, 'pcapng file');
  for (const [name, bytes] of [['pcap', readFileSync(file)], ['pcapng', ng]] as const) {
    for (const args of [['-'], ['/dev/stdin'], ['--workers', '2', '-'], ['--batch-packets', '5', '-'], ['--timers', '-']]) {
      const r = runWith(bytes, 'pcap2flows', ...args);
      t.equal(r.code, 0, r.err);
      t.equal(r.err, '', `${name} ${args.join(' ')}: nothing on stderr`);
      const want = args[0] === '--timers' ? run('pcap2flows', '--timers', file).out.toString() : expected;
      t.equal(r.out.toString(), want, `${name} ${args.join(' ')}`);
    }
  }
  // A shell's pipe and process substitution (a pipe as /dev/fd/N); the runs above had a socket on stdin.
  const shell = (line: string) => spawnSync('bash', ['-c', line], { encoding: 'buffer', maxBuffer: 1 << 28 });
  const cli = `"${process.execPath}" "${BIN}" pcap2flows`;
  for (const [what, line] of [
    ['process substitution', `${cli} <(cat "${file}")`],
    ['cat | - ', `cat "${file}" | ${cli} -`],
    ['cat | /dev/stdin', `cat "${file}" | ${cli} --workers 2 /dev/stdin`],
    ['pcapng: cat | -', `cat "${ngFile}" | ${cli} -`],
  ]) {
    const sub = shell(line);
    t.equal(sub.status, 0, sub.stderr.toString());
    t.equal(sub.stdout.toString(), expected, what);
  }
  const cut = runWith(readFileSync(file).subarray(0, 1000), 'pcap2flows', '-');
  t.equal(cut.code, 0);
  t.match(cut.err, /^skydive pcap2flows: warning: stdin ends inside a record: its last \d+ bytes \(from offset \d+\) ignored\n$/);
  const junk = runWith(Buffer.from('GET / HTTP/1.1\r\n'), 'pcap2flows', '-');
  t.equal(junk.code, 2);
  t.match(junk.err, /^skydive: not a pcap or pcapng capture: stdin/);
  t.end();
});

t.test('output closed early (| head -1): a quiet stop with status 0, for any number of tables', (t) => {
  const file = pcap(conversations(30000));
  for (const workers of ['1', '2', '3']) {
    const err = path.join(dir, `head${workers}.err`);
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" pcap2flows --workers ${workers} "${file}" 2>"${err}" | head -1 >/dev/null; echo \${PIPESTATUS[0]}`], { encoding: 'utf8' });
    t.equal(r.stdout.trim(), '0', `--workers ${workers}: exit status`);
    t.equal(readFileSync(err, 'utf8'), '', `--workers ${workers}: nothing on stderr`);
  }
  t.end();
});

t.test('--workers beyond this machine: a usage error that states the limit, as the help does', (t) => {
  const max = Math.min(64, availableParallelism() * 4);
  const r = run('pcap2flows', '--workers', String(max + 1), capture);
  t.equal(r.code, 2);
  t.equal(r.out.length, 0);
  const cpus = availableParallelism();
  t.equal(r.err, `skydive: --workers must be between 1 and ${max} on this machine (at most 4 per CPU and 64 in all; ${cpus} CPU${cpus === 1 ? '' : 's'}), got ${max + 1}\n`);
  t.equal(run('pcap2flows', '--workers', '1000', capture).code, 2, '--workers 1000: a usage error too');
  t.equal(run('pcap2flows', '--workers', String(max), capture).code, 0, `--workers ${max} runs`);
  t.match(run('pcap2flows', '--help').out.toString(), `at most 4 per CPU and 64: ${max} on this machine`);
  t.end();
});
