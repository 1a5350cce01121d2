/**
 * The in-memory flow store and Gremlin flow queries at scale (issue 5's query bench).
 *
 *   npm run build:ts
 *   node --expose-gc --max-old-space-size=8192 dist/bench/query.js [--flows N] [--seed S] [--runs K]
 *
 * 1. Generates N flows (default 1,000,000, bench/query-flows.ts) as the analyzer gets them:
 *    protobuf `flow.Message`s of 100 flows (Skydive's bulk size), encoded before the clock starts.
 * 2. Ingest: `store.ingest` of every message into a fresh store, K times (the analyzer's intake
 *    path: the message scan and the store); flows/s (median). Then an update tick of 20% of the
 *    flows.
 * 3. Memory: RSS and heap after GC, before and after; bytes per stored flow (records, columns,
 *    indexes and heap), then per metric delta after the update tick.
 * 4. Latency of queries through `runFlowQueryJSON` (parse, plan, run, JSON text), on values
 *    drawn from the data: median, p99 and max over many runs. Large replies are also timed
 *    without the JSON text (the evaluation alone), since writing 300,000 flows as JSON is not
 *    what an index does.
 * 5. The on-demand indexes (L3TrackingID, Link.A/B): the first query on each, which builds its
 *    index, timed once; then their latency, and the RSS they add once built.
 *
 * Writes bench/results/query-<date>.json and bench/results/query-latest.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Flow } from '../src/flow/types.js';
import { encodeMessage } from '../src/format/protobuf.js';
import { compileQuery } from '../src/query/compile.js';
import { execute } from '../src/query/evaluate.js';
import { runFlowQueryJSON } from '../src/query/index.js';
import { parseQuery } from '../src/query/parser.js';
import { MemoryFlowStore } from '../src/store/memory.js';
import { BENCH_T0, FlowGenerator, nextUpdate, prng } from './query-flows.js';
import { fileStamp, median, msSince as ms, percentile } from './stats.js';
import { RESULTS, ROOT } from './paths.js';

const BATCH = 100;

interface Options { flows: number; seed: number; runs: number }

function parseArgs(argv: string[]): Options {
  const o: Options = { flows: 1_000_000, seed: 1, runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    switch (argv[i]) {
      case '--flows': o.flows = v; i++; break;
      case '--seed': o.seed = v; i++; break;
      case '--runs': o.runs = v; i++; break;
      default: throw new Error(`unknown option ${argv[i]} (use --flows N --seed S --runs K)`);
    }
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${argv[i - 1]} needs a positive integer`);
  }
  return o;
}

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run node with --expose-gc');
  for (let i = 0; i < 3; i++) g();
};

interface Memory { rssMB: number; heapMB: number }

function memory(): Memory {
  gc();
  const m = process.memoryUsage();
  return { rssMB: m.rss / 2 ** 20, heapMB: m.heapUsed / 2 ** 20 };
}

interface Generated {
  /** The flows, as messages of BATCH flows. */
  messages: Buffer[];
  /** 4000 flows drawn at random, for query values. */
  picks: Flow[];
  /** The next update of every fifth flow, as messages. */
  updates: Buffer[];
}

/** Flows as the analyzer gets them: protobuf Messages of BATCH flows. */
function generate(n: number, seed: number): Generated {
  const gen = new FlowGenerator(seed);
  const r = prng(seed + 1);
  const pickEvery = Math.max(1, Math.floor(n / 4000));
  const messages: Buffer[] = [];
  const picks: Flow[] = [];
  const updates: Buffer[] = [];
  let pending: Flow[] = [];
  for (let i = 0; i < n; i += BATCH) {
    const batch: Flow[] = [];
    for (let k = 0; k < BATCH && i + k < n; k++) {
      const f = gen.next();
      batch.push(f);
      if ((i + k) % pickEvery === Math.floor(r() * pickEvery)) picks.push(f);
      if ((i + k) % 5 === 0) pending.push(nextUpdate(f, r));
      if (pending.length === BATCH) {
        updates.push(Buffer.from(encodeMessage(pending)));
        pending = [];
      }
    }
    messages.push(Buffer.from(encodeMessage(batch)));
  }
  if (pending.length > 0) updates.push(Buffer.from(encodeMessage(pending)));
  return { messages, picks, updates };
}

function ingest(messages: readonly Buffer[], n: number): { store: MemoryFlowStore; ms: number } {
  const store = new MemoryFlowStore({ maxFlows: n, retentionMs: Infinity });
  const t0 = process.hrtime.bigint();
  for (const m of messages) store.ingest(m);
  return { store, ms: ms(t0) };
}

/** One timed run of a query that does something once (builds an index), without warm-up. */
function once(name: string, query: string, run: (q: string) => unknown): LatencyRow {
  const t0 = process.hrtime.bigint();
  run(query);
  const t = ms(t0);
  return { name, query, runs: 1, medianMs: t, p99Ms: t, maxMs: t };
}

interface LatencyRow { name: string; query: string; runs: number; medianMs: number; p99Ms: number; maxMs: number; replyFlows?: number }

/**
 * Times `run(make(i))` for i < runs (after a few warm-up calls): `make` gives each run its own
 * query, so each run can look up another value. `size` (not timed) counts the flows of a reply.
 */
function latency(
  name: string, make: (i: number) => string, runs: number, run: (q: string) => unknown, size?: (reply: unknown) => number,
): LatencyRow {
  for (let i = 0; i < 5; i++) run(make(i));
  const samples: number[] = [];
  let flows = 0;
  for (let i = 0; i < runs; i++) {
    const q = make(i);
    const t0 = process.hrtime.bigint();
    const reply = run(q);
    samples.push(ms(t0));
    if (size !== undefined) flows += size(reply);
  }
  samples.sort((a, b) => a - b);
  const row: LatencyRow = {
    name, query: make(0), runs, medianMs: percentile(samples, 0.5), p99Ms: percentile(samples, 0.99),
    maxMs: samples[samples.length - 1],
  };
  if (size !== undefined) row.replyFlows = Math.round(flows / runs);
  return row;
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const mem0 = memory();
  console.error(`generating ${opts.flows} flows (seed ${opts.seed}) as protobuf messages...`);
  const { messages, picks, updates } = generate(opts.flows, opts.seed);
  const mem1 = memory();

  const ingestMs: number[] = [];
  let store: MemoryFlowStore | undefined;
  for (let run = 0; run < opts.runs; run++) {
    store = undefined;
    gc();
    const r = ingest(messages, opts.flows);
    ingestMs.push(r.ms);
    store = r.store;
    console.error(`ingest run ${run + 1}: ${(opts.flows / (r.ms / 1000)).toFixed(0)} flows/s`);
  }
  if (store === undefined) throw new Error('no run');
  const mem2 = memory();
  const tailPorts = picks.map((f) => f.Transport?.B).filter((p): p is number => p !== undefined && p >= 10_000);

  const updateT0 = process.hrtime.bigint();
  for (const m of updates) store.ingest(m);
  const updateMs = ms(updateT0);
  const deltasBefore = opts.flows; // one LastUpdateMetric per generated flow
  const mem3 = memory();
  const stats = store.stats();

  const s = store;
  const query = (q: string): string => runFlowQueryJSON(s, q, { nowMs: BENCH_T0 + 3_600_000 });
  const evalOnly = (q: string): unknown =>
    execute(s, compileQuery(parseQuery(q)), { nowMs: BENCH_T0 + 3_600_000, flowExpireMs: 600_000 });
  const flowsInJSON = (reply: unknown): number => (JSON.parse(reply as string) as unknown[]).length;
  const flowsInValue = (reply: unknown): number => (reply as unknown[]).length;
  const at = <T>(xs: readonly T[], i: number): T => xs[i % xs.length];
  const rows: LatencyRow[] = [
    latency('Has Network.A (indexed)', (i) => `G.Flows().Has('Network.A', '${at(picks, i).Network?.A}')`, 2000, query, flowsInJSON),
    latency('Has TrackingID (indexed)', (i) => `G.Flows().Has('TrackingID', '${at(picks, i).TrackingID}')`, 2000, query, flowsInJSON),
    latency('Has UUID (indexed)', (i) => `G.Flows().Has('UUID', '${at(picks, i).UUID}')`, 2000, query, flowsInJSON),
    latency('Has Transport.B, a tail port (indexed)', (i) => `G.Flows().Has('Transport.B', ${at(tailPorts, i)})`, 1000, query, flowsInJSON),
    latency('Has CaptureID + Network.A (indexed, AND)',
      (i) => `G.Flows().Has('CaptureID', '${at(picks, i).CaptureID}', 'Network.A', '${at(picks, i).Network?.A}')`, 1000, query, flowsInJSON),
    latency('Has Network either side (2 indexes)', (i) => `G.Flows().Has('Network', '${at(picks, i).Network?.B}').Limit(100)`, 500, query, flowsInJSON),
    latency('Has Transport.B 443, evaluation only', () => "G.Flows().Has('Transport.B', 443)", 100, evalOnly, flowsInValue),
    latency('Has Transport.B 443 .Limit(10)', () => "G.Flows().Has('Transport.B', 443).Limit(10)", 1000, query, flowsInJSON),
    latency('Has Transport.B 443 .Count()', () => "G.Flows().Has('Transport.B', 443).Count()", 100, query),
    latency('Count()', () => 'G.Flows().Count()', 1000, query),
    latency('Sort().Limit(10)', () => 'G.Flows().Sort().Limit(10)', 30, query, flowsInJSON),
    latency("Sort(DESC, 'Metric.ABBytes').Limit(10)", () => "G.Flows().Sort(DESC, 'Metric.ABBytes').Limit(10)", 30, query, flowsInJSON),
    latency('scan: Has Metric.ABBytes Gt .Count()', () => "G.Flows().Has('Metric.ABBytes', Gt(5000000)).Count()", 30, query),
    latency('scan: Has Network.A Ipv4Range .Count()', () => "G.Flows().Has('Network.A', Ipv4Range('10.1.0.0/16')).Count()", 30, query),
    latency('Has Network.A .Metrics()', (i) => `G.Flows().Has('Network.A', '${at(picks, i).Network?.A}').Metrics()`, 1000, query),
  ];
  // The on-demand indexes (memory.ts' ON_DEMAND): the first query on each field builds its
  // index over every flow held, once; then it answers as the others do.
  const mem4 = memory();
  const firstOnDemand: LatencyRow[] = [
    once('first Has L3TrackingID (builds its index)', `G.Flows().Has('L3TrackingID', '${at(picks, 1).L3TrackingID}')`, query),
    once('first Has Link.A (builds its index)', `G.Flows().Has('Link.A', '${at(picks, 2).Link?.A}')`, query),
    once('first Has Link.B (builds its index)', `G.Flows().Has('Link.B', '${at(picks, 3).Link?.B}')`, query),
  ];
  const mem5 = memory();
  rows.push(
    ...firstOnDemand,
    latency('Has L3TrackingID (indexed on demand)', (i) => `G.Flows().Has('L3TrackingID', '${at(picks, i).L3TrackingID}')`, 2000, query, flowsInJSON),
    latency('Has Link.A (indexed on demand)', (i) => `G.Flows().Has('Link.A', '${at(picks, i).Link?.A}')`, 2000, query, flowsInJSON),
  );

  const perFlow = (a: Memory, b: Memory, n: number): number => Math.round(((b.rssMB - a.rssMB) * 2 ** 20) / n);
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; node ${process.version}`,
    options: opts,
    ingest: {
      ingestFlowsPerSecond: Math.round(opts.flows / (median(ingestMs) / 1000)),
      runsMs: ingestMs.map(Math.round),
      updateTickFlowsPerSecond: Math.round((opts.flows / 5) / (updateMs / 1000)),
    },
    memory: {
      before: mem0, messages: mem1, store: mem2, afterUpdateTick: mem3,
      messageBytesPerFlow: perFlow(mem0, mem1, opts.flows),
      rssBytesPerStoredFlow: perFlow(mem1, mem2, opts.flows),
      heapBytesPerStoredFlow: Math.round(((mem2.heapMB - mem1.heapMB) * 2 ** 20) / opts.flows),
      rssBytesPerExtraDelta: perFlow(mem2, mem3, Math.max(1, stats.historyEntries - deltasBefore)),
      rssBytesPerFlowOfOnDemandIndexes: perFlow(mem4, mem5, opts.flows),
      storeStats: stats,
    },
    latency: rows,
  };

  mkdirSync(RESULTS, { recursive: true });
  const stamp = fileStamp(result.date);
  writeFileSync(join(RESULTS, `query-${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
  const fmt = (x: number): string => (x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));
  const md = [
    `- ${result.date} on ${result.machine}; ${opts.flows.toLocaleString('en')} flows, seed ${opts.seed}.`,
    `- Ingest (store.ingest of messages of ${BATCH} flows, scan included): ${result.ingest.ingestFlowsPerSecond.toLocaleString('en')}`
      + ` flows/s (median of ${opts.runs}); update tick (20% of the flows): ${result.ingest.updateTickFlowsPerSecond.toLocaleString('en')} flows/s.`,
    `- Memory after GC: ${result.memory.rssBytesPerStoredFlow} B RSS per stored flow (heap ${result.memory.heapBytesPerStoredFlow} B);`
      + ` ${result.memory.rssBytesPerExtraDelta} B RSS per extra metric delta; the on-demand indexes, once built,`
      + ` ${result.memory.rssBytesPerFlowOfOnDemandIndexes} B RSS per flow more.`,
    '',
    '| query | runs | median ms | p99 ms | max ms | flows in reply |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((row) => `| ${row.name}: \`${row.query}\` | ${row.runs} | ${fmt(row.medianMs)} | ${fmt(row.p99Ms)} | ${fmt(row.maxMs)} | ${row.replyFlows ?? ''} |`),
  ].join('\n');
  writeFileSync(join(RESULTS, 'query-latest.md'), md + '\n');
  console.log(md);
}

// A mistake in the options, or a failure: one line, not a stack trace.
Promise.resolve().then(main).catch((err: unknown) => {
  process.stderr.write(`bench query: ${(err as Error)?.message ?? String(err)}\n`);
  process.exitCode = 1;
});
