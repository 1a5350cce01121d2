/**
 * End to end, as a user runs it: skydive processes capture on a veth inside a test namespace,
 * a ping and a TCP exchange go through it, and the flows come back from `skydive client query`
 * (a subprocess) and from raw POST /api/topology, with the values the traffic implies, while a
 * WebSocket subscriber with a filter receives them live.
 *
 * Twice: `skydive allinone` (agent and analyzer children, flows over UDP, Skydive's default),
 * then `skydive analyzer` and `skydive agent` started separately with flow.protocol websocket.
 * flow.update is 1 s so that flows reach the analyzer while the capture runs.
 *
 *   namespace A                    namespace B (captured: b0)
 *   a0 10.9.0.1/24  <-- veth -->  b0 10.9.0.2/24, TCP server on 5001
 *
 * Neighbours are static and IPv6 is off (test/helpers/netns.ts): the veth carries only the
 * ping and the TCP connection, so the analyzer must hold exactly two flows.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { NetLab, netnsUnavailable, type Netns } from '../helpers/netns.js';
import { collect, openSocket, postQuery, until } from '../helpers/analyzer.js';

const BIN = fileURLToPath(new URL('../../bin/skydive.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'e2e-'));
const CLIENT_IP = '10.9.0.1';
const SERVER_IP = '10.9.0.2';
const PORT = 5001;
const PINGS = 5;
const PING_DATA = 100;
/** An echo request or reply on the wire: Ethernet 14 + IPv4 20 + ICMP 8 + data. */
const PING_FRAME = 14 + 20 + 8 + PING_DATA;
const REQUEST_BYTES = 1000;
const RESPONSE_BYTES = 3000;
/**
 * Linux TCP over Ethernet: every segment carries the timestamp option (Ethernet 14 + IPv4 20 +
 * TCP 32), and the SYN and SYN-ACK 8 more bytes of options (MSS, SACK permitted, window scale).
 */
const TCP_FRAME = 66;
const SYN_EXTRA = 8;

/** The TCP server (namespace B): reads the request, answers RESPONSE_BYTES, closes. */
const SERVER = `
const net = require('node:net');
net.createServer((s) => {
  let got = 0;
  s.on('data', (d) => { got += d.length; if (got >= ${REQUEST_BYTES}) s.end(Buffer.alloc(${RESPONSE_BYTES}, 7)); });
}).listen(${PORT}, '${SERVER_IP}', () => console.log('listening'));`;

/** The TCP client (namespace A): sends the request, reads the answer, prints its own port. */
const CLIENT = `
const net = require('node:net');
const s = net.connect(${PORT}, '${SERVER_IP}', () => s.write(Buffer.alloc(${REQUEST_BYTES}, 1)));
let got = 0;
s.on('data', (d) => { got += d.length; });
s.on('end', () => { s.end(); console.log(JSON.stringify({ port: s.localPort, got })); });`;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
  });
}

/** A skydive process whose stderr is kept. */
interface Proc { child: ChildProcess; err: () => string }

function skydive(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return { child, err: () => err };
}

async function stop(p: Proc): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  const exited = new Promise<number | null>((resolve) => p.child.once('exit', (code) => resolve(code)));
  p.child.kill('SIGTERM');
  return exited;
}

/** The agent's capture: b0 inside B, with Skydive's TCP metrics. */
function captureConfig(B: Netns): string {
  const file = path.join(dir, `capture-${B.name}.yml`);
  writeFileSync(file, `agent:\n  captures:\n    - type: pcap\n      name: veth\n      interface: b0\n      netns: ${B.name}\n      capture_id: e2e-capture\n`);
  return file;
}

/** Starts the skydive processes of one scenario; resolves once the agent says it sends flows. */
type Launch = (conf: string, listen: string) => Promise<Proc[]>;

/** Waits until `p`'s stderr matches `re`; fails with the stderr when `p` exits first. */
async function logged(p: Proc, re: RegExp, what: string): Promise<void> {
  await until(() => {
    if (p.child.exitCode !== null) throw new Error(`${what}: the process exited (${p.child.exitCode}):\n${p.err()}`);
    return re.test(p.err());
  }, what, 20000);
}

const allinone: Launch = async (conf, listen) => {
  const p = skydive(['--verbose', 'allinone', '-c', conf, '--listen', listen], { SKYDIVE_FLOW_UPDATE: '1', SKYDIVE_AGENT_FLOW_STATS_INTERVAL: '1' });
  await logged(p, /sending flows over udp/, 'the allinone agent');
  // --verbose reaches both children: each tells which configuration it reads.
  await logged(p, /skydive analyzer: debug: configuration from [^]*skydive agent: debug: configuration from/, '--verbose in the children');
  return [p];
};

const twoProcesses: Launch = async (conf, listen) => {
  const env = { SKYDIVE_FLOW_UPDATE: '1', SKYDIVE_AGENT_FLOW_STATS_INTERVAL: '1', SKYDIVE_FLOW_PROTOCOL: 'websocket' };
  const analyzer = skydive(['analyzer', '--listen', listen], env);
  await logged(analyzer, /listening on/, 'the analyzer');
  const agent = skydive(['agent', '-c', conf], { ...env, SKYDIVE_ANALYZERS: listen });
  await logged(agent, /sending flows over websocket/, 'the agent');
  return [agent, analyzer];
};

async function rest(base: string, gremlin: string): Promise<any> {
  const r = await postQuery(base, JSON.stringify({ GremlinQuery: gremlin }));
  if (r.status !== 200) throw new Error(`${gremlin}: ${r.status} ${r.text}`);
  return JSON.parse(r.text);
}

function client(listen: string, gremlin: string): unknown {
  const r = spawnSync(process.execPath, [BIN, 'client', 'query', gremlin], { encoding: 'utf8', env: { ...process.env, SKYDIVE_ANALYZER: listen } });
  if (r.status !== 0) throw new Error(`skydive client query ${gremlin}: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

async function scenario(t: Test, launch: Launch, transport: 'udp' | 'websocket'): Promise<void> {
  const lab = new NetLab();
  const procs: Proc[] = [];
  t.teardown(async () => {
    for (const p of procs) await stop(p);
    lab.cleanup();
  });
  const A = lab.ns('a');
  const B = lab.ns('b');
  lab.veth(A, 'a0', B, 'b0', `${CLIENT_IP}/24`, `${SERVER_IP}/24`);
  lab.neighbour(A, 'a0', SERVER_IP, lab.mac(B, 'b0'));
  lab.neighbour(B, 'b0', CLIENT_IP, lab.mac(A, 'a0'));

  const listen = `127.0.0.1:${await freePort()}`;
  const base = `http://${listen}`;
  procs.push(...await launch(captureConfig(B), listen));

  // A live subscriber that asked for the TCP flows only.
  const sub = await openSocket(`ws://${listen}/ws/subscriber/flow`, { 'X-Gremlin-Filter': `G.Flows().Has('Transport.B', ${PORT})` });
  if (!(sub instanceof WebSocket)) throw new Error(`subscriber refused: ${sub.status} ${sub.body}`);
  t.teardown(() => sub.close());
  const live = collect(sub);

  const server = spawn('ip', ['netns', 'exec', B.name, process.execPath, '-e', SERVER], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => { server.kill('SIGKILL'); });
  await new Promise<void>((resolve) => server.stdout!.once('data', () => resolve()));
  await lab.exec(A, ['ping', '-c', String(PINGS), '-i', '0.1', '-s', String(PING_DATA), SERVER_IP]);
  const tcp = JSON.parse(await lab.exec(A, [process.execPath, '-e', CLIENT])) as { port: number; got: number };
  t.equal(tcp.got, RESPONSE_BYTES, 'the TCP exchange happened');

  // Update ticks bring the flows as they grow, Stats the packets captured (every second, each
  // with the packets since the one before). Done when the flows hold every packet captured.
  const stats = (): Record<string, any>[] => live.messages.filter((msg) => msg.Namespace === 'stats');
  const captured = (): number => sum(stats().map((s) => s.Obj.PacketsReceived));
  const inFlows = (f: any[]): number => sum(f.map((x) => x.Metric.ABPackets + x.Metric.BAPackets));
  await until(async () => {
    const f = await rest(base, 'G.Flows()') as any[];
    const conn = f.find((x) => x.Application === 'TCP');
    return conn?.Metric.BABytes >= RESPONSE_BYTES && inFlows(f) === captured();
  }, 'the flows to hold every packet the Stats counted', 30000);

  const flows = await rest(base, 'G.Flows()') as any[];
  t.equal(flows.length, 2, `two flows: ${flows.map((f) => f.LayersPath).join(', ')}`);
  const icmp = flows.find((f) => f.Application === 'ICMPv4');
  t.match(icmp, {
    LayersPath: 'Ethernet/IPv4/ICMPv4', CaptureID: 'e2e-capture',
    Network: { Protocol: 'IPV4', A: CLIENT_IP, B: SERVER_IP },
    ICMP: { Type: 'ECHO' },
    Metric: { ABPackets: PINGS, BAPackets: PINGS, ABBytes: PINGS * PING_FRAME, BABytes: PINGS * PING_FRAME },
  });
  const conn = flows.find((f) => f.Application === 'TCP');
  t.match(conn, {
    LayersPath: 'Ethernet/IPv4/TCP', CaptureID: 'e2e-capture',
    Network: { Protocol: 'IPV4', A: CLIENT_IP, B: SERVER_IP },
    Transport: { Protocol: 'TCP', A: tcp.port, B: PORT },
  });
  const m = conn.Metric;
  t.equal(m.ABBytes, m.ABPackets * TCP_FRAME + SYN_EXTRA + REQUEST_BYTES, 'client to server: every frame, and the request');
  t.equal(m.BABytes, m.BAPackets * TCP_FRAME + SYN_EXTRA + RESPONSE_BYTES, 'server to client: every frame, and the answer');
  t.ok(m.ABPackets >= 5 && m.BAPackets >= 4, `handshake, data, close (${m.ABPackets} + ${m.BAPackets} packets)`);

  // Raw REST, and for one query of each kind the client subprocess too: same answers.
  const ask = async (gremlin: string, want: unknown, viaClient = false): Promise<void> => {
    t.strictSame(await rest(base, gremlin), want, `REST ${gremlin}`);
    if (viaClient) t.strictSame(client(listen, gremlin), want, `skydive client query ${gremlin}`);
  };
  await ask('G.Flows().Count()', 2, true);
  await ask(`G.Flows().Has('Network.A', '${CLIENT_IP}').Count()`, 2, true);
  await ask(`G.Flows().Has('Network.B', '${CLIENT_IP}').Count()`, 0);
  await ask(`G.Flows().Has('Network', '${SERVER_IP}').Sort(ASC, 'Start').Values('Application')`, ['ICMPv4', 'TCP']);
  await ask("G.Flows().Has('Application', 'ICMPv4').Values('UUID')", [icmp.UUID]);
  await ask(`G.Flows().Has('Transport.B', ${PORT}).Values('Transport.A')`, [tcp.port], true);
  await ask(`G.Flows().Has('Transport', ${tcp.port}, 'Application', 'TCP').Count()`, 1);
  await ask(`G.Flows().Has('Transport.A', Gt(${tcp.port})).Count()`, 0);
  await ask("G.Flows().Sort(DESC, 'Metric.ABBytes').Values('Application')", ['TCP', 'ICMPv4'], true);
  await ask("G.Flows().Sort(ASC, 'Metric.ABBytes').Limit(1).Values('Application')", ['ICMPv4']);
  await ask("G.Flows().Dedup('Network.A').Count()", 1, true);
  await ask("G.Flows().Dedup('Application').Count()", 2);
  await ask("G.Flows().Has('LayersPath', Regex('Ethernet/IPv4/.*')).Count()", 2);
  await ask("G.Flows().Sum('Metric.ABPackets')", PINGS + m.ABPackets);
  await ask(`G.Flows().Has('UUID', '${conn.UUID}')`, [conn], true);

  // Metrics(): the update ticks' LastUpdateMetric deltas, which add up to the flow's Metric.
  const metrics = await rest(base, "G.Flows().Has('Application', 'ICMPv4').Metrics()") as Record<string, any[]>[];
  t.strictSame(client(listen, "G.Flows().Has('Application', 'ICMPv4').Metrics()"), metrics, 'Metrics() through the client');
  t.strictSame(Object.keys(metrics[0]), [icmp.UUID]);
  const deltas = metrics[0][icmp.UUID];
  t.ok(deltas.length >= 1);
  t.equal(sum(deltas.map((d) => d.ABPackets)), PINGS, 'the deltas add up to the echo requests');
  t.equal(sum(deltas.map((d) => d.BABytes)), PINGS * PING_FRAME, 'and to the replies\' bytes');
  await ask("G.Flows().Has('Application', 'ICMPv4').Metrics().Sum('ABPackets')", PINGS);
  await ask(`G.Flows().Has('Application', 'TCP').Metrics().Sum('BABytes')`, m.BABytes);

  // The subscriber got the TCP flow (at each update tick), nothing else; its last state is the stored one.
  await until(() => live.messages.some((msg) => msg.Type === 'store' && msg.Obj.some((f: any) => f.Metric.BABytes === m.BABytes && f.Metric.ABBytes === m.ABBytes)), 'the last TCP update on the subscriber');
  const streamed = live.messages.filter((msg) => msg.Namespace === 'flow' && msg.Type === 'store').flatMap((msg) => msg.Obj as any[]);
  t.ok(streamed.length >= 1);
  t.ok(streamed.every((f) => f.UUID === conn.UUID), 'only the flow the filter asked for');
  t.equal(captured(), 2 * PINGS + m.ABPackets + m.BAPackets, 'the Stats add up to the packets of both flows');
  t.match(stats()[0], { Type: 'stats', Obj: { CaptureID: 'e2e-capture', PacketsDropped: 0 } });

  const metricsText = await (await fetch(`${base}/metrics`)).text();
  const other = transport === 'udp' ? 'websocket' : 'udp';
  t.match(metricsText, new RegExp(`^skydive_analyzer_flows_received_total\\{transport="${transport}"\\} [1-9]\\d*$`, 'm'), `flows came over ${transport}`);
  t.match(metricsText, new RegExp(`^skydive_analyzer_flows_received_total\\{transport="${other}"\\} 0$`, 'm'));
  t.match(metricsText, /^skydive_store_flows 2$/m);
  t.match(metricsText, /^skydive_analyzer_bad_messages_total\{transport="udp"\} 0$/m);

  for (const p of procs.splice(0)) t.equal(await stop(p), 0, `a clean stop:\n${p.err()}`);
}

const noNetns = netnsUnavailable();
const skip = noNetns && !process.env.CI ? `network namespaces unavailable: ${noNetns}` : false;

t.test('allinone, flows over UDP', { skip }, async (t) => {
  if (noNetns) throw new Error(`CI needs network namespaces: ${noNetns}`);
  await scenario(t, allinone, 'udp');
});

t.test('analyzer and agent as two processes, flows over WebSocket', { skip }, async (t) => {
  if (noNetns) throw new Error(`CI needs network namespaces: ${noNetns}`);
  await scenario(t, twoProcesses, 'websocket');
});
