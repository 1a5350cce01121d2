/**
 * The collector against a real sFlow exporter: pmacct's pmacctd with its sfprobe plugin
 * (Debian package pmacct).
 *
 * (a) pcap_savefile: pmacctd reads a capture written here and exports every packet as an sFlow
 *     v5 sample (sampling_rate 1) to the collector on 127.0.0.1. The flows must equal what
 *     pcap2flows makes of the same packets cut as pmacctd exports them (the first 128 bytes,
 *     its snaplen), except for what depends on the clock: the collector stamps packets when
 *     the datagrams arrive (as Skydive does), pcap2flows with the capture's timestamps.
 * (b) live: pmacctd samples a veth in a private network namespace while the test sends known
 *     traffic through it; the flows and the interface counters that arrive match what was sent.
 *
 * Needs pmacctd (and root with network namespaces for b): skipped with the reason when they are
 * missing, a failure when CI is set.
 */
import t from 'tap';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { SFlowCollector } from '../../src/capture/sflow.js';
import { LivePipeline } from '../../src/pipeline/live.js';
import type { FlowGroup } from '../../src/pipeline/shard-task.js';
import { parsePcap2FlowsArgs, pcap2flows } from '../../src/commands/pcap2flows.js';
import { writePcap } from '../helpers/pcap.js';
import { dot1q, ethernet, icmpEcho, ipv4, tcp, TCP_FLAGS, udp, vxlan, type Bytes } from '../helpers/packets.js';
import { ip6 } from '../helpers/sflow.js';
import { NetLab, netnsUnavailable } from '../helpers/netns.js';
import { groupLines } from '../helpers/flow-lines.js';

const execFileAsync = promisify(execFile);

function pmacctUnavailable(): string | undefined {
  const r = spawnSync('pmacctd', ['-V'], { stdio: 'pipe' });
  return r.error ? `pmacctd not found (${(r.error as NodeJS.ErrnoException).code}): apt-get install pmacct` : undefined;
}

/** The `skip` of a test needing `missing` things: the reason, or false under CI (where it then fails). */
function skipUnless(missing: string | undefined): string | false {
  return missing && !process.env.CI ? `${missing}; with CI set this is a failure` : false;
}

type Flow = Record<string, unknown> & { UUID: string; ParentUUID: string; TrackingID: string; Metric: Record<string, number>; Network?: { A: string; B: string } };

/** A LivePipeline (one table, this thread) behind a collector listening on 127.0.0.1 (or `address`). */
async function collectorPipeline(address = '127.0.0.1') {
  const lines: string[] = [];
  const pipeline = new LivePipeline({
    workers: 1,
    shard: { engine: {}, format: 'jsonl', events: ['expire', 'end', 'hold-removed', 'evicted'], dropLastUpdateMetric: true },
    timers: { updateSeconds: 3600, expireSeconds: 3600 },
    onFlows: (g: FlowGroup) => { lines.push(...groupLines(g)); },
  });
  const collector = await SFlowCollector.listen({ address, port: 0, onPackets: (d, n) => pipeline.offer(d, n), receiveBufferBytes: 4 << 20 });
  let done = false;
  return {
    collector,
    /** Closes everything whatever happened (a test teardown). */
    async abort(): Promise<void> {
      if (done) return;
      done = true;
      await collector.close();
      await pipeline.stop();
    },
    /** Waits until no datagram came for `quietMs`, then stops and gives the flows. */
    async finish(quietMs = 700): Promise<Flow[]> {
      done = true;
      let last = -1;
      while (collector.stats.DatagramsReceived !== last) {
        last = collector.stats.DatagramsReceived;
        await new Promise((r) => setTimeout(r, quietMs));
      }
      await collector.close();
      await pipeline.stop();
      return lines.map((l) => JSON.parse(l) as Flow);
    },
  };
}

/**
 * What must be equal between two flows of the same packets stamped by different clocks: every
 * field but the times (Start, Last, Metric.Start/Last, RTT, TCPMetric's *Start times) and what
 * is derived from them (UUID, and ParentUUID, replaced by the parent's TrackingID).
 */
function comparable(flows: Flow[]): string[] {
  const byUUID = new Map(flows.map((f) => [f.UUID, f]));
  return flows.map((f) => {
    const { UUID, ParentUUID, Start, Last, Metric, TCPMetric, ...rest } = f;
    const m = { ...Metric };
    delete m.Start; delete m.Last; delete m.RTT;
    const tcpm = TCPMetric ? Object.fromEntries(Object.entries(TCPMetric as Record<string, number>).filter(([k]) => !k.endsWith('Start'))) : undefined;
    return JSON.stringify({ ...rest, Metric: m, TCPMetric: tcpm, Parent: ParentUUID ? byUUID.get(ParentUUID)?.TrackingID ?? '?' : '' });
  }).sort();
}

const MAC_A = '02:00:00:00:00:01', MAC_B = '02:00:00:00:00:02';

function ipv6(src: string, dst: string, next: number, payload: Bytes): Bytes {
  return [0x60, 0, 0, 0, (payload.length >> 8) & 255, payload.length & 255, next, 64, ...ip6(src), ...ip6(dst), ...payload];
}

/** Traffic of several kinds: TCP with full-size segments, UDP, ICMP, VLAN, IPv6, VXLAN, and ARP (not IP). */
function traffic(): Bytes[] {
  const f: Bytes[] = [];
  const A = '10.0.0.1', B = '10.0.0.2';
  const ab = (flags: number, payload: Bytes = [], seq = 1000, ack = 0) => ethernet(MAC_A, MAC_B, 0x0800, ipv4(A, B, 6, tcp(40000, 80, flags, payload, seq, ack)));
  const ba = (flags: number, payload: Bytes = [], seq = 5000, ack = 0) => ethernet(MAC_B, MAC_A, 0x0800, ipv4(B, A, 6, tcp(80, 40000, flags, payload, seq, ack)));
  f.push(ab(TCP_FLAGS.SYN, [], 999), ba(TCP_FLAGS.SYN | TCP_FLAGS.ACK, [], 4999, 1000), ab(TCP_FLAGS.ACK, [], 1000, 5000));
  f.push(ab(TCP_FLAGS.ACK | TCP_FLAGS.PSH, new Array(300).fill(0x47), 1000, 5000));
  for (let i = 0; i < 4; i++) f.push(ba(TCP_FLAGS.ACK, new Array(1400).fill(65 + i), 5000 + 1400 * i, 1300));
  f.push(ab(TCP_FLAGS.ACK, [], 1300, 10600), ab(TCP_FLAGS.FIN | TCP_FLAGS.ACK, [], 1300, 10600), ba(TCP_FLAGS.FIN | TCP_FLAGS.ACK, [], 10600, 1301));
  for (let i = 0; i < 3; i++) f.push(ethernet(MAC_A, MAC_B, 0x0800, ipv4('10.0.0.3', '10.0.9.9', 17, udp(33000 + i, 9999, new Array(100 * (i + 1)).fill(i)))));
  f.push(ethernet(MAC_A, MAC_B, 0x0800, ipv4(A, B, 1, icmpEcho(8, 77, 1, new Array(56).fill(1)))));
  f.push(ethernet(MAC_B, MAC_A, 0x0800, ipv4(B, A, 1, icmpEcho(0, 77, 1, new Array(56).fill(1)))));
  f.push(ethernet(MAC_A, MAC_B, 0x8100, dot1q(42, 0x0800, ipv4('10.4.2.1', '10.4.2.2', 17, udp(5000, 5001, new Array(500).fill(9))))));
  f.push(ethernet(MAC_A, MAC_B, 0x86dd, ipv6('2001:db8::1', '2001:db8::2', 17, udp(6000, 6001, new Array(700).fill(6)))));
  const inner = ethernet('02:00:00:00:10:01', '02:00:00:00:10:02', 0x0800, ipv4('192.168.7.1', '192.168.7.2', 6, tcp(1234, 8080, TCP_FLAGS.SYN)));
  f.push(ethernet(MAC_A, MAC_B, 0x0800, ipv4('172.16.0.1', '172.16.0.2', 17, udp(50000, 4789, vxlan(5001, inner)))));
  // ARP request: pmacctd accounts IP traffic only and does not export it.
  f.push(ethernet(MAC_A, 'ff:ff:ff:ff:ff:ff', 0x0806, [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]));
  return f;
}

const SENTINEL_A = '192.0.2.250', SENTINEL_B = '192.0.2.251';
/**
 * pmacctd hands packets to its sfprobe plugin in buffers and exits at the end of the file
 * without sending the last ones: packets of a flow of their own follow the traffic, so that
 * every traffic packet is sent, and are left out of the comparison.
 */
const sentinels = (n: number): Bytes[] => Array.from({ length: n }, (_, i) => ethernet(MAC_A, MAC_B, 0x0800, ipv4(SENTINEL_A, SENTINEL_B, 17, udp(7, 7, [i]))));
const isSentinel = (f: Flow) => f.Network?.A === SENTINEL_A || f.Network?.B === SENTINEL_A;

async function runPcap2Flows(file: string): Promise<Flow[]> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await pcap2flows(parsePcap2FlowsArgs([file]), out);
  return Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Flow);
}

/**
 * Runs pmacctd to the end of its savefile. Its exit status is not a verdict (the core process
 * sometimes exits 1 when its plugin ends first): an ERROR line in its output is.
 */
async function runPmacctd(conf: string, timeoutMs = 60000): Promise<string> {
  let out: string;
  try {
    const { stdout, stderr } = await execFileAsync('pmacctd', ['-f', conf], { timeout: timeoutMs, encoding: 'utf8' });
    out = stdout + stderr;
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string; killed?: boolean };
    if (err.killed) throw new Error(`pmacctd did not finish in ${timeoutMs} ms`);
    out = `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
  const errors = out.split('\n').filter((l) => /ERROR/.test(l));
  if (errors.length > 0 || !/Sampling at: 1\/1/.test(out)) throw new Error(`pmacctd: ${errors.join('; ') || out}`);
  return out;
}

const SNAPLEN = 128;

/** pmacctd exporting every packet of DIR/in.pcap (sampling rate 1) as sFlow to the collector's port. */
async function exportSavefile(dir: string, port: number): Promise<void> {
  writeFileSync(path.join(dir, 'pmacctd.conf'), [
    'daemonize: false', `pcap_savefile: ${path.join(dir, 'in.pcap')}`, 'plugins: sfprobe', 'sampling_rate: 1',
    `sfprobe_receiver: 127.0.0.1:${port}`, 'sfprobe_agentip: 192.0.2.100', `snaplen: ${SNAPLEN}`, '',
  ].join('\n'));
  await runPmacctd(path.join(dir, 'pmacctd.conf'));
}

t.test('(a) pmacctd reads a capture and exports every packet: the flows equal pcap2flows on the same headers', { skip: skipUnless(pmacctUnavailable()), timeout: 120000 }, async (t) => {
  const missing = pmacctUnavailable();
  if (missing) { t.fail(`CI: ${missing}`); return; }
  const dir = mkdtempSync(path.join(tmpdir(), 'skt-sflow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const frames = traffic();
  const t0 = 1_700_000_000_000_000;
  const all = [...frames, ...sentinels(64)].map((data, i) => ({ data, tsUs: t0 + i * 1000 }));
  writePcap(path.join(dir, 'in.pcap'), all);
  // What pmacctd exports of each IP packet: its first 128 bytes, and its length.
  const isIP = (d: Bytes) => { const type = (d[12] << 8) | d[13]; return type === 0x0800 || type === 0x86dd || type === 0x8100; };
  writePcap(path.join(dir, 'headers.pcap'), frames.filter(isIP).map((data, i) => ({ data: data.slice(0, SNAPLEN), wireLen: data.length, tsUs: t0 + i * 1000 })));

  const { collector, finish, abort } = await collectorPipeline();
  t.teardown(abort);
  await exportSavefile(dir, collector.port);
  const got = (await finish()).filter((f) => !isSentinel(f));
  const want = await runPcap2Flows(path.join(dir, 'headers.pcap'));

  t.equal(collector.stats.DatagramsRejected, 0, 'every datagram decoded');
  t.strictSame(collector.agents().map((a) => a.Agent), ['192.0.2.100']);
  const [src] = collector.dataSources();
  t.match(src, { SamplingRate: 1, Drops: 0 }, 'one data source, every packet sampled');
  t.ok(src.SampledPackets >= frames.length - 1, `${src.SampledPackets} packets sampled (${frames.length - 1} IP packets, then sentinels)`);
  t.equal(src.EstimatedPackets, src.SampledPackets, 'rate 1: estimates = samples');
  t.strictSame(want.map((f) => f.LayersPath).sort(), [
    'Ethernet/Dot1Q/IPv4/UDP', 'Ethernet/IPv4/ICMPv4', 'Ethernet/IPv4/TCP', 'Ethernet/IPv4/TCP', 'Ethernet/IPv4/UDP', 'Ethernet/IPv4/UDP',
    'Ethernet/IPv4/UDP', 'Ethernet/IPv4/UDP/VXLAN', 'Ethernet/IPv6/UDP',
  ], 'pcap2flows on the headers: 9 flows');
  t.strictSame(comparable(got), comparable(want), 'same flows: keys, TrackingIDs, layers, endpoints, packet and byte counters, TCP flags');
  const tcpFlow = got.find((f) => f.LayersPath === 'Ethernet/IPv4/TCP' && (f.Network as { A: string }).A === '10.0.0.1')!;
  t.strictSame([tcpFlow.Metric.ABPackets, tcpFlow.Metric.BAPackets, tcpFlow.Metric.BABytes], [5, 6, 4 * 1454 + 2 * 54],
    'byte counters are the frames\' lengths (frame_length - 4 stripped FCS), not the 128 bytes sent');
});

t.test('(a) raw IP capture: pmacctd sends IPv4 and IPv6 headers (protocols 11, 12), decoded as IP', { skip: skipUnless(pmacctUnavailable()), timeout: 120000 }, async (t) => {
  const missing = pmacctUnavailable();
  if (missing) { t.fail(`CI: ${missing}`); return; }
  const dir = mkdtempSync(path.join(tmpdir(), 'skt-sflow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const frames: Bytes[] = [
    ...[1, 2, 3].map((i) => ipv4('10.0.0.1', '10.0.0.2', 17, udp(1000, 2000, new Array(300 * i).fill(i)))),
    ipv4('10.0.0.2', '10.0.0.1', 17, udp(2000, 1000, new Array(40).fill(0))),
    ...[1, 2].map((i) => ipv6('2001:db8::a', '2001:db8::b', 6, tcp(443, 50000 + i, TCP_FLAGS.ACK, new Array(200 * i).fill(i)))),
  ];
  const t0 = 1_700_000_000_000_000;
  const sentinel = (i: number) => ipv4(SENTINEL_A, SENTINEL_B, 17, udp(7, 7, [i]));
  writePcap(path.join(dir, 'in.pcap'), [...frames, ...Array.from({ length: 64 }, (_, i) => sentinel(i))].map((data, i) => ({ data, tsUs: t0 + i * 1000 })), 101);
  writePcap(path.join(dir, 'headers.pcap'), frames.map((data, i) => ({ data: data.slice(0, SNAPLEN), wireLen: data.length, tsUs: t0 + i * 1000 })), 101);

  const { collector, finish, abort } = await collectorPipeline();
  t.teardown(abort);
  await exportSavefile(dir, collector.port);
  const got = (await finish()).filter((f) => !isSentinel(f));
  const want = await runPcap2Flows(path.join(dir, 'headers.pcap'));
  t.equal(collector.stats.HeadersOtherProtocol, 0, 'every header was IPv4 or IPv6');
  t.strictSame(want.map((f) => f.LayersPath).sort(), ['IPv4/UDP', 'IPv6/TCP', 'IPv6/TCP']);
  t.strictSame(comparable(got), comparable(want), 'same flows as pcap2flows reading the headers as raw IP');
});

/** Runs the collector helper (test/helpers/sflow-listen.ts) in `ns`; lines of JSON come back one by one. */
function listenIn(ns: string, args: string[]) {
  const loader = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href;
  const script = new URL('../helpers/sflow-listen.ts', import.meta.url).pathname;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, `--import=${loader}`, script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const queue: unknown[] = [];
  const waiters: ((v: unknown) => void)[] = [];
  let buf = '';
  child.stdout.on('data', (c: Buffer) => {
    buf += c.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const v = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(v); else queue.push(v);
    }
  });
  return {
    child,
    send: (line: string) => child.stdin.write(`${line}\n`),
    next: (timeoutMs: number): Promise<Record<string, unknown>> => new Promise((resolve, reject) => {
      if (queue.length) { resolve(queue.shift() as Record<string, unknown>); return; }
      const timer = setTimeout(() => reject(new Error(`no answer from the collector helper in ${timeoutMs} ms`)), timeoutMs);
      waiters.push((v) => { clearTimeout(timer); resolve(v as Record<string, unknown>); });
    }),
  };
}

async function waitForFile(file: string, text: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let got = '';
    try { got = readFileSync(file, 'utf8'); } catch { /* not yet */ }
    if (got.includes(text)) return;
    if (Date.now() > end) throw new Error(`pmacctd did not log "${text}" in ${timeoutMs} ms: ${got}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('(b) live: pmacctd samples a veth in a private namespace; flows and interface counters match what was sent',
  { skip: skipUnless(pmacctUnavailable() ?? netnsUnavailable()), timeout: 180000 }, async (t) => {
    const missing = pmacctUnavailable() ?? netnsUnavailable();
    if (missing) { t.fail(`CI: ${missing}`); return; }
    const dir = mkdtempSync(path.join(tmpdir(), 'skt-sflow-'));
    const lab = new NetLab();
    let helper: ReturnType<typeof listenIn> | undefined;
    t.teardown(() => { helper?.child.kill('SIGKILL'); lab.cleanup(); rmSync(dir, { recursive: true, force: true }); });
    const sender = lab.ns('snd'), probe = lab.ns('prb');
    lab.veth(sender, 's0', probe, 'p0', '10.77.0.1/24', '10.77.0.2/24');
    lab.neighbour(sender, 's0', '10.77.0.2', lab.mac(probe, 'p0'));
    lab.neighbour(probe, 'p0', '10.77.0.1', lab.mac(sender, 's0'));

    helper = listenIn(probe.name, ['10.77.0.2', '9999', '10.77.0.255']);
    const { port } = await helper.next(30000);
    const log = path.join(dir, 'pmacctd.log');
    writeFileSync(path.join(dir, 'pmacctd.conf'), [
      'daemonize: false', `logfile: ${log}`, 'pcap_interface: p0', 'plugins: sfprobe', 'sampling_rate: 1',
      `sfprobe_receiver: 127.0.0.1:${port}`, 'sfprobe_agentip: 10.77.0.2', 'sfprobe_direction: in',
      `snaplen: ${SNAPLEN}`, '',
    ].join('\n'));
    // Its own process group: pmacctd forks its plugin, and both must go at the end.
    const pmacctd = spawn('ip', ['netns', 'exec', probe.name, 'pmacctd', '-f', path.join(dir, 'pmacctd.conf')], { stdio: 'ignore', detached: true });
    t.teardown(() => { try { process.kill(-pmacctd.pid!, 'SIGKILL'); } catch { /* gone */ } });
    await waitForFile(log, 'Sampling at', 30000);
    await new Promise((r) => setTimeout(r, 1000)); // the capture is open once the plugin runs

    // Known traffic: 100 UDP datagrams of 100, 600 and 1200 bytes, then 10 pings (10 echo replies come back).
    const sizes = [100, 600, 1200];
    const udpSend = new URL('../helpers/udp-send.mjs', import.meta.url).pathname;
    await lab.exec(sender, [process.execPath, udpSend, '10.77.0.2', '9999', '100', sizes.join(',')]);
    await lab.exec(sender, ['ping', '-q', '-c', '10', '-i', '0.2', '10.77.0.2']);
    const udpBytes = Array.from({ length: 100 }, (_, i) => 42 + sizes[i % 3]).reduce((a, b) => a + b, 0);
    const unicast = 100 + 20, unicastBytes = udpBytes + 20 * 98;

    // sfprobe sends counters every 20 s, and only while packets come: broadcast frames keep it
    // going (counted apart, as broadcasts) until a counter sample taken after every known packet.
    helper.send(`tick ${unicast}`);
    const { counters } = await helper.next(90000) as { counters: Record<string, number> };
    helper.send('stop');
    const out = await helper.next(30000) as {
      flows: Flow[]; sflow: { IfMetrics: Record<string, Record<string, number>> }; sources: Record<string, number>[]; stats: Record<string, number>;
    };

    t.strictSame([counters.ifInUcastPkts, counters.ifInOctets - counters.ifInBroadcastPkts * 60, counters.ifStatus, counters.ifSpeed],
      [unicast, unicastBytes, 3, 100_000_000], 'generic counters: 120 unicast frames and their bytes (plus the 60-byte broadcasts)');
    t.ok(counters.ifInBroadcastPkts > 0, `${counters.ifInBroadcastPkts} broadcast frames kept the exporter ticking`);
    // pmacctd 1.7.7 reports its packets on interface 0x3FFFFFFF ("unknown") in flow and counter samples alike.
    t.strictSame(Object.keys(out.sflow.IfMetrics), [String(counters.ifIndex)], `Skydive's SFlow metadata: IfMetrics of ifIndex ${counters.ifIndex}`);
    t.match(out.sflow.IfMetrics[String(counters.ifIndex)], { IfInUcastPkts: unicast });

    const flows = out.flows.filter((f) => (f.Network as { B: string } | undefined)?.B !== '10.77.0.255');
    const udpFlow = flows.find((f) => f.LayersPath === 'Ethernet/IPv4/UDP')!;
    const icmp = flows.find((f) => f.LayersPath === 'Ethernet/IPv4/ICMPv4')!;
    t.equal(flows.length, 2, `two flows besides the broadcasts: ${flows.map((f) => f.LayersPath).join(', ')}`);
    t.match(udpFlow, { Network: { A: '10.77.0.1', B: '10.77.0.2' }, Transport: { Protocol: 'UDP', B: 9999 } });
    t.strictSame([udpFlow.Metric.ABPackets, udpFlow.Metric.ABBytes, udpFlow.Metric.BAPackets], [100, udpBytes, 0], 'UDP: every datagram, wire lengths');
    t.strictSame([icmp.Metric.ABPackets, icmp.Metric.ABBytes, icmp.Metric.BAPackets, icmp.Metric.BABytes], [10, 980, 10, 980], 'ICMP: 10 echo requests and replies');
    t.match(out.sources, [{ Agent: '10.77.0.2', SourceIDIndex: 1, SamplingRate: 1, Drops: 0 }]);
    t.equal(out.sources[0].EstimatedPackets, out.sources[0].SampledPackets, 'rate 1: estimates = samples');
    t.match(out.stats, { DatagramsRejected: 0, PacketsDropped: 0 });
  });
