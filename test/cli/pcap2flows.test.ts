/**
 * The `skydive pcap2flows` command as a user runs it: output formats on a
 * capture the test writes itself, and one-line errors with a non-zero exit.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFlowStream } from '../../src/format/protobuf.js';
import { ethernet, icmpEcho, ipv4, tcp, TCP_FLAGS, udp } from '../helpers/packets.js';
import { writePcap } from '../helpers/pcap.js';

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
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'buffer' });
  return { code: r.status, out: r.stdout, err: r.stderr.toString() };
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
