/**
 * Ingest rate: flows per second from an agent's sender into the analyzer's store (issue 5).
 *
 *   npm run build:ts
 *   node dist/bench/ingest.js [--flows N] [--runs K] [--transports udp,websocket] [--batch B] [--datagram BYTES] [--udp-rate R]
 *     [--warmup N] [--analyzer-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"]
 *
 * The analyzer is the real one, `skydive analyzer` in a child process of its own (as in
 * production, agent and analyzer do not share an event loop), with retention off and room for
 * every flow. The agent side is the real sender class (transport/udp-sender.ts,
 * transport/ws-sender.ts) in this process, given the flows as the flow tables give them:
 * length-delimited protobuf Flow records, encoded before the clock starts (bench/query-flows.ts
 * generates them). Records go to the sender 1,000 at a time, the event loop turning between
 * handfuls so that sending and producing interleave as in an agent.
 *
 * The rate is that of a running analyzer: before the clock starts, the sender hands it
 * `--warmup` flows of other UUIDs (default 100,000) and the bench waits until they are stored.
 * A fresh process spends its first second compiling its hot code (V8's optimising compiler
 * runs on helper threads: 0.3 CPU s, a tenth of the run's CPU on this machine) and taking fresh
 * pages for its store; an analyzer does that once in its life, not once per 300,000 flows.
 * `--warmup 0` measures a fresh analyzer.
 *
 * A flow counts when it is stored: the bench polls the analyzer's /metrics every 50 ms for
 * `skydive_store_flows_inserted_total`; the time is from the first record given to the sender
 * to the poll that saw the last flow stored (or, when UDP lost some, the last poll that saw
 * progress). flows/s = flows stored / that time. Each run starts a fresh analyzer; transports
 * alternate run by run so that the machine's noise falls on both.
 *
 * Writes bench/results/ingest-<date>.json and bench/results/ingest-latest.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { encodeFlowDelimited } from '../src/format/protobuf.js';
import type { FlowSender } from '../src/transport/sender.js';
import { UDPFlowSender } from '../src/transport/udp-sender.js';
import { WebSocketFlowSender } from '../src/transport/ws-sender.js';
import { FlowGenerator } from './query-flows.js';
import { fileStamp, median, msSince } from './stats.js';
import { RESULTS, ROOT } from './paths.js';

const BIN = join(ROOT, 'bin', 'skydive.js');
/** Records handed to the sender per call (what one shard's group of flows may hold). */
const CHUNK = 1000;
/** Calls between two turns of the event loop. */
const CHUNKS_PER_TURN = 4;
const POLL_MS = 50;
/** No progress for this long: whatever UDP lost is lost. */
const STALL_MS = 3000;

type Transport = 'udp' | 'websocket';

interface Options {
  flows: number; runs: number; transports: Transport[]; batch: number; datagram: number; udpRate: number; warmup: number;
  /** Node options for the analyzer child (profiling it: --cpu-prof, --trace-gc). */
  analyzerNodeArgs: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { flows: 500_000, runs: 2, transports: ['websocket', 'udp'], batch: 100, datagram: 1400, udpRate: 100_000, warmup: 100_000, analyzerNodeArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[++i];
    switch (argv[i - 1]) {
      case '--flows': o.flows = Number(v); break;
      case '--runs': o.runs = Number(v); break;
      case '--batch': o.batch = Number(v); break;
      case '--datagram': o.datagram = Number(v); break;
      case '--udp-rate': o.udpRate = Number(v); break;
      case '--warmup': o.warmup = Number(v); break;
      case '--transports': o.transports = (v ?? '').split(',') as Transport[]; break;
      case '--analyzer-node-args': o.analyzerNodeArgs = (v ?? '').split(' ').filter((a) => a !== ''); break;
      default: throw new Error(`unknown option ${argv[i - 1]} (use --flows N --runs K --transports udp,websocket --batch B --datagram BYTES --udp-rate FLOWS_PER_S --warmup N --analyzer-node-args ARGS)`);
    }
  }
  for (const [k, n] of [['--flows', o.flows], ['--runs', o.runs], ['--batch', o.batch]] as const) {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${k} needs a positive integer`);
  }
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new Error('--warmup needs an integer >= 0 (0: a fresh analyzer)');
  if (!Number.isInteger(o.udpRate) || o.udpRate < 0) throw new Error('--udp-rate needs an integer >= 0 (0: no pacing)');
  if (!Number.isInteger(o.datagram) || o.datagram < 0) throw new Error('--datagram needs an integer >= 0 (0: one flow a datagram)');
  if (o.transports.length === 0 || o.transports.some((t) => t !== 'udp' && t !== 'websocket')) throw new Error('--transports: udp, websocket or both');
  return o;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * CPU seconds (user + system) a process used, from /proc (Linux); with `mainThread`, its main
 * thread's alone (the event loop: what limits the intake), without the collector's helpers.
 */
function cpuSeconds(pid: number, mainThread = false): number {
  const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface AnalyzerChild { child: ChildProcess; base: string; port: number }

async function startAnalyzer(flows: number, nodeArgs: readonly string[]): Promise<AnalyzerChild> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'analyzer', '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, SKYDIVE_ANALYZER_FLOW_RETENTION: '0', SKYDIVE_ANALYZER_FLOW_MAX_FLOWS: String(flows) },
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the analyzer exited (${child.exitCode})`);
    try {
      if ((await fetch(`${base}/api`)).ok) return { child, base, port };
    } catch { /* not yet */ }
    if (i > 200) throw new Error('the analyzer did not answer within 20 s');
    await sleep(100);
  }
}

async function stopAnalyzer(a: AnalyzerChild): Promise<void> {
  const exited = new Promise((r) => a.child.once('exit', r));
  a.child.kill('SIGTERM');
  await exited;
}

/** The values of /metrics lines without labels, by name. */
async function metrics(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

interface Run {
  transport: Transport;
  run: number;
  flowsSent: number;
  flowsStored: number;
  seconds: number;
  flowsPerSecond: number;
  messagesSent: number;
  senderCpuSeconds: number;
  analyzerCpuSeconds: number;
  analyzerMainThreadCpuSeconds: number;
  analyzerRssMB: number;
  udpKernelDrops?: number;
  /** Datagrams dropped between the analyzer's receiving thread and its event loop (queue full). */
  udpQueueDrops?: number;
  analyzerBadMessages: number;
}

function makeSender(transport: Transport, port: number, o: Options): FlowSender {
  const common = { analyzers: [{ host: '127.0.0.1', port }], hostId: 'bench-agent', maxBufferedFlows: o.flows + 1000, log: (l: string) => console.error(`sender: ${l}`) };
  return transport === 'udp' ? new UDPFlowSender({ ...common, maxDatagramBytes: o.datagram, maxFlowsPerSecond: o.udpRate }) : new WebSocketFlowSender({ ...common, batchFlows: o.batch });
}

/**
 * Hands `records` to the sender, CHUNK at a time, while polling the store; resolves once every
 * record is stored, or no progress was seen for STALL_MS. Counts flows inserted beyond `before`;
 * `storedAtMs`: since `t0`, when the last of them was seen.
 */
async function deliver(sender: FlowSender, base: string, records: readonly Uint8Array[], before: number, t0: bigint): Promise<{ stored: number; storedAtMs: number }> {
  let stored = 0;
  let storedAtMs = 0;
  let polling = true;
  const poller = (async () => {
    let lastProgress = msSince(t0);
    while (polling) {
      await sleep(POLL_MS);
      const n = ((await metrics(base)).get('skydive_store_flows_inserted_total') ?? 0) - before;
      const now = msSince(t0);
      if (n > stored) { stored = n; storedAtMs = now; lastProgress = now; }
      if (stored >= records.length || now - lastProgress > STALL_MS) polling = false;
    }
  })();
  for (let i = 0; i < records.length; i += CHUNK) {
    sender.sendRecords(records.slice(i, i + CHUNK));
    if ((i / CHUNK) % CHUNKS_PER_TURN === CHUNKS_PER_TURN - 1) await new Promise((r) => setImmediate(r));
  }
  await poller;
  return { stored, storedAtMs };
}

async function once(transport: Transport, run: number, records: readonly Uint8Array[], warm: readonly Uint8Array[], o: Options): Promise<Run> {
  const a = await startAnalyzer(warm.length + records.length, o.analyzerNodeArgs);
  const sender = makeSender(transport, a.port, o);
  // Connected (WebSocket) or the port answering (UDP) before the clock starts.
  while (!sender.counters.connected) await sleep(10);
  const warmed = warm.length === 0 ? 0 : (await deliver(sender, a.base, warm, 0, process.hrtime.bigint())).stored;
  // Drops counted from here: what the warm-up lost is not the measured run's.
  const m0 = await metrics(a.base);
  const analyzerCpu0 = cpuSeconds(a.child.pid!);
  const analyzerMainCpu0 = cpuSeconds(a.child.pid!, true);
  const cpu0 = process.cpuUsage();
  const { stored, storedAtMs } = await deliver(sender, a.base, records, warmed, process.hrtime.bigint());
  const cpu = process.cpuUsage(cpu0);
  const analyzerCpu = cpuSeconds(a.child.pid!) - analyzerCpu0;
  const analyzerMainCpu = cpuSeconds(a.child.pid!, true) - analyzerMainCpu0;
  const m = await metrics(a.base);
  const counters = sender.counters;
  await sender.close(1000);
  await stopAnalyzer(a);
  const since = (name: string): number | undefined => {
    const v = m.get(name);
    return v === undefined ? undefined : v - (m0.get(name) ?? 0);
  };
  const r: Run = {
    transport, run, flowsSent: records.length, flowsStored: stored, seconds: storedAtMs / 1000,
    flowsPerSecond: Math.round(stored / (storedAtMs / 1000)), messagesSent: counters.messagesSent,
    senderCpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100, analyzerCpuSeconds: Math.round(analyzerCpu * 100) / 100,
    analyzerMainThreadCpuSeconds: Math.round(analyzerMainCpu * 100) / 100,
    analyzerRssMB: Math.round((m.get('process_resident_memory_bytes') ?? 0) / 2 ** 20),
    analyzerBadMessages: (since('skydive_analyzer_bad_messages_total{transport="udp"}') ?? 0) + (since('skydive_analyzer_bad_messages_total{transport="websocket"}') ?? 0),
  };
  const drops = since('skydive_analyzer_udp_kernel_drops_total');
  if (drops !== undefined) r.udpKernelDrops = drops;
  const queueDrops = since('skydive_analyzer_udp_queue_drops_total');
  if (queueDrops !== undefined) r.udpQueueDrops = queueDrops;
  return r;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  console.error(`encoding ${o.flows} flows as protobuf records...`);
  const encode = (seed: number, n: number): Uint8Array[] => {
    const gen = new FlowGenerator(seed);
    return Array.from({ length: n }, () => encodeFlowDelimited(gen.next()));
  };
  const records = encode(1, o.flows);
  // Other UUIDs: the warm-up's flows are inserted, as the measured ones are.
  const warm = encode(2, o.warmup);
  const bytes = records.reduce((n, r) => n + r.length, 0);

  const runs: Run[] = [];
  for (let run = 1; run <= o.runs; run++) {
    for (const transport of o.transports) {
      const r = await once(transport, run, records, warm, o);
      console.error(`${transport} run ${run}: ${r.flowsStored}/${r.flowsSent} flows stored in ${r.seconds.toFixed(2)} s: ${r.flowsPerSecond} flows/s`);
      runs.push(r);
    }
  }

  const date = new Date().toISOString();
  const summary = Object.fromEntries(o.transports.map((t) => [t, median(runs.filter((r) => r.transport === t).map((r) => r.flowsPerSecond))]));
  const result = {
    date, machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; node ${process.version}`,
    options: o, recordBytesPerFlow: Math.round(bytes / o.flows), medianFlowsPerSecond: summary, runs,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `ingest-${fileStamp(date)}.json`), JSON.stringify(result, null, 2) + '\n');
  const md = [
    `- ${date} on ${result.machine}; ${o.flows.toLocaleString('en')} flows a run (${result.recordBytesPerFlow} B each as protobuf),`
      + ` WebSocket messages of ${o.batch} flows, UDP datagrams of ${o.datagram === 0 ? 'one flow' : `up to ${o.datagram} bytes`}`
      + ` paced at ${o.udpRate === 0 ? 'no limit' : `${o.udpRate.toLocaleString('en')} flows/s`}; analyzer in a child process,`
      + ` ${o.warmup === 0 ? 'fresh' : `warmed up with ${o.warmup.toLocaleString('en')} other flows first (stored, untimed)`}.`,
    `- Median flows/s: ${o.transports.map((t) => `${t} ${summary[t].toLocaleString('en')}`).join(', ')}.`,
    '',
    '| transport | run | stored / sent | seconds | flows/s | sender CPU s | analyzer CPU s | analyzer main thread CPU s | analyzer RSS MB | UDP kernel drops | UDP queue drops |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map((r) => `| ${r.transport} | ${r.run} | ${r.flowsStored.toLocaleString('en')} / ${r.flowsSent.toLocaleString('en')} | ${r.seconds.toFixed(2)}`
      + ` | ${r.flowsPerSecond.toLocaleString('en')} | ${r.senderCpuSeconds} | ${r.analyzerCpuSeconds} | ${r.analyzerMainThreadCpuSeconds} | ${r.analyzerRssMB} | ${r.udpKernelDrops ?? ''} | ${r.udpQueueDrops ?? ''} |`),
  ].join('\n');
  writeFileSync(join(RESULTS, 'ingest-latest.md'), md + '\n');
  console.log(md);
}

// A mistake in the options, or a failure: one line, not a stack trace.
main().catch((err: unknown) => {
  process.stderr.write(`bench ingest: ${(err as Error)?.message ?? String(err)}\n`);
  process.exitCode = 1;
});
