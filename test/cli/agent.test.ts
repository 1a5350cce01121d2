/**
 * `skydive agent` as a user runs it: a configuration file with a pcapsocket
 * capture, a pcap streamed into it, SIGTERM, and the flows in the output file
 * are those pcap2flows gives for the same capture; configuration mistakes
 * are one-line errors with exit code 2.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ethernet, ipv4, tcp, TCP_FLAGS as F, udp } from '../helpers/packets.js';
import { writePcap } from '../helpers/pcap.js';
import { NetLab, netnsUnavailable } from '../helpers/netns.js';
import { createSocket } from 'node:dgram';
import { datagram, flowSample, rawHeader } from '../helpers/sflow.js';

const BIN = fileURLToPath(new URL('../../bin/skydive.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'agent-'));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
  });
}

function capture(): string {
  const frames = Array.from({ length: 3000 }, (_, i) => {
    const a = i % 9, b = 20 + (i % 4);
    const [s, d] = i % 2 ? [a, b] : [b, a];
    const l4 = i % 4 === 0 ? ipv4(`10.2.0.${s}`, `10.2.0.${d}`, 6, tcp(1000 + s, 2000 + d, i < 20 ? F.SYN : F.ACK, new Array(i % 100).fill(3), i * 10))
      : ipv4(`10.2.0.${s}`, `10.2.0.${d}`, 17, udp(3000 + s, 4000 + d, new Array(i % 90).fill(4)));
    return { data: ethernet(`02:00:00:00:01:${s.toString(16).padStart(2, '0')}`, `02:00:00:00:01:${d.toString(16).padStart(2, '0')}`, 0x0800, l4), tsUs: 1_700_000_000_000_000 + i * 500 };
  });
  const file = path.join(dir, 'in.pcap');
  writePcap(file, frames);
  return file;
}

t.test('pcapsocket capture from the configuration: the flows of pcap2flows', async (t) => {
  const file = capture();
  const port = await freePort();
  const output = path.join(dir, 'flows.jsonl');
  const conf = path.join(dir, 'agent.yml');
  writeFileSync(conf, [
    'agent:',
    '  captures:',
    '    - type: pcapsocket',
    '      name: sock',
    `      port: ${port}`,
    '      capture_id: ""',
    '      extra_tcp_metric: true',
    '      reassemble_tcp: true',
    '      ip_defrag: true',
    '  flow:',
    `    output: ${output}`,
    '',
  ].join('\n'));
  const agent = spawn(process.execPath, [BIN, 'agent', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SKYDIVE_FLOW_UPDATE: '3600' } });
  let err = '';
  agent.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  for (let i = 0; i < 300 && !err.includes('listening'); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(err, new RegExp(`pcapsocket listening on 127.0.0.1:${port}`));
  await new Promise<void>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.end(readFileSync(file)));
    sock.on('close', () => resolve());
    sock.on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 500));
  const exited = new Promise<number | null>((resolve) => agent.on('exit', resolve));
  agent.kill('SIGTERM');
  t.equal(await exited, 0, err);
  const got = readFileSync(output, 'utf8').split('\n').filter(Boolean).map((l) => { const f = JSON.parse(l); delete f.LastUpdateMetric; return JSON.stringify(f); }).sort();
  const want = spawnSync(process.execPath, [BIN, 'pcap2flows', file], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((l) => JSON.stringify(JSON.parse(l))).sort();
  t.ok(want.length > 30, `${want.length} flows`);
  t.strictSame(got, want);
  const stats = JSON.parse(/stats (\{.*\})/.exec(err)![1]);
  t.match(stats, { capture: 'sock', PacketsReceived: 3000, PacketsDropped: 0, Packets: 3000 });
});

t.test('configuration mistakes are one-line errors', async (t) => {
  const run = (text: string, env: Record<string, string> = {}) => {
    const conf = path.join(dir, `bad${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(conf, text);
    const r = spawnSync(process.execPath, [BIN, 'agent', '-c', conf], { encoding: 'utf8', env: { ...process.env, ...env } });
    return { code: r.status, err: r.stderr.trim() };
  };
  t.match(run('agent:\n  captures:\n    - type: pcap\n      interfce: eth0\n'), { code: 2, err: /unknown key "interfce" \(did you mean "interface"\?\)/ });
  t.match(run('agent:\n  captures: []\n'), { code: 2, err: /no capture configured/ });
  t.match(run('flow:\n  update: 0\nagent:\n  captures: [{type: pcapsocket}]\n'), { code: 2, err: /flow.update must be an integer >= 1, got 0/ });
  t.match(run('flow:\n  protocol: tcp\nagent:\n  captures: [{type: pcapsocket}]\n', { SKYDIVE_ANALYZERS: '127.0.0.1:8082' }), { code: 2, err: /flow.protocol/ });
  t.match(run('agent:\n  captures: [{type: pcap, interface: skt-no-such-if0}]\n'), { code: 2, err: /skt-no-such-if0/ });
  const missing = spawnSync(process.execPath, [BIN, 'agent', '-c', path.join(dir, 'nope.yml')], { encoding: 'utf8' });
  t.match(missing.stderr, /cannot read configuration .*nope.yml/);
  t.equal(missing.status, 2);
});

const noNetns = netnsUnavailable();
t.test('a live pcap capture on a veth inside a namespace', { skip: noNetns && !process.env.CI ? noNetns : false }, async (t) => {
  if (noNetns) throw new Error(`CI needs network namespaces: ${noNetns}`);
  const lab = new NetLab();
  t.teardown(() => lab.cleanup());
  const A = lab.ns('a');
  const B = lab.ns('b');
  lab.veth(A, 'a0', B, 'b0', '10.9.0.1/24', '10.9.0.2/24');
  const output = path.join(dir, 'live.jsonl');
  const conf = path.join(dir, 'live.yml');
  writeFileSync(conf, `agent:\n  captures:\n    - type: pcap\n      name: veth\n      interface: b0\n      netns: ${B.name}\n      bpf: icmp\n  flow:\n    output: ${output}\n`);
  const agent = spawn(process.execPath, [BIN, 'agent', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  agent.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  for (let i = 0; i < 300 && !err.includes('standalone'); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(err, /standalone, 1 capture\(s\): veth/);
  await lab.exec(A, ['ping', '-c', '5', '-i', '0.05', '-s', '100', '10.9.0.2']);
  await new Promise((r) => setTimeout(r, 300));
  const exited = new Promise<number | null>((resolve) => agent.on('exit', resolve));
  agent.kill('SIGTERM');
  t.equal(await exited, 0, err);
  const flows = readFileSync(output, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  t.equal(flows.length, 1, 'one flow: the BPF filter kept ICMP only (no ARP)');
  t.match(flows[0], {
    LayersPath: 'Ethernet/IPv4/ICMPv4', Application: 'ICMPv4',
    Network: { Protocol: 'IPV4', A: '10.9.0.1', B: '10.9.0.2' },
    ICMP: { Type: 'ECHO' },
    Metric: { ABPackets: 5, BAPackets: 5, ABBytes: 5 * 142, BABytes: 5 * 142 },
    FinishType: 1,
  });
  t.match(flows[0].CaptureID, /^[0-9a-f-]{36}$/, 'a CaptureID of its own');
  const stats = JSON.parse(/stats (\{.*\})/.exec(err)![1]);
  t.match(stats, { capture: 'veth', PacketsReceived: 10, PacketsDropped: 0, Packets: 10 });
});

t.test('an sflow capture: raw headers of the datagrams become flows, bad datagrams are counted', async (t) => {
  const port = await freePort();
  const output = path.join(dir, 'sflow.jsonl');
  const conf = path.join(dir, 'sflow.yml');
  writeFileSync(conf, `agent:\n  captures:\n    - type: sflow\n      name: sf\n      bind_address: 127.0.0.1\n      port: ${port}\n  flow:\n    output: ${output}\n`);
  const agent = spawn(process.execPath, [BIN, 'agent', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  agent.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  for (let i = 0; i < 300 && !err.includes('standalone'); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(err, new RegExp(`sFlow collector listening on 127.0.0.1:${port}`));
  const frame = ethernet('02:00:00:00:02:01', '02:00:00:00:02:02', 0x0800, ipv4('10.3.0.1', '10.3.0.2', 17, udp(5353, 53, new Array(30).fill(7))));
  const sock = createSocket('udp4');
  const send = (b: Uint8Array) => new Promise<void>((resolve, reject) => sock.send(b, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  // Three samples of a 1000-byte frame whose first bytes were sampled (frame_length 1004, 4 stripped).
  for (let i = 0; i < 3; i++) await send(datagram([flowSample([rawHeader(frame, { frameLength: 1004 })], { sequence: i + 1, samplingRate: 100 })], { sequence: i + 1 }));
  await send(datagram([], { version: 4 }));
  await new Promise((r) => setTimeout(r, 300));
  sock.close();
  const exited = new Promise<number | null>((resolve) => agent.on('exit', resolve));
  agent.kill('SIGTERM');
  t.equal(await exited, 0, err);
  const flows = readFileSync(output, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  t.equal(flows.length, 1);
  t.match(flows[0], {
    LayersPath: 'Ethernet/IPv4/UDP', Network: { A: '10.3.0.1', B: '10.3.0.2' }, Transport: { A: 5353, B: 53 },
    Metric: { ABPackets: 3, ABBytes: 3000, BAPackets: 0 },
  });
  const stats = JSON.parse(/stats (\{.*\})/.exec(err)![1]);
  t.match(stats, { capture: 'sf', SFlowSocket: `127.0.0.1:${port}`, DatagramsReceived: 4, DatagramsRejected: 1, FlowSamples: 3, PacketsReceived: 3, PacketsDropped: 0 });
});
