/**
 * The packets-per-second suite (`npm run bench`). See bench/README.md.
 *
 *   node dist/bench/run.js [--packets N] [--seed S] [--runs K] [--only a,b,...] [--longer] [--no-install]
 *
 * On one generated capture (cached in bench/.cache), in one run, K times each, round-robin so
 * that the machine's noise falls on every tool alike:
 *   a decode        core decoding only, in process (core.benchDecodeBatch, when exported)
 *   b flows         decoding + flow table, in process (FlowEngine.process)
 *   c pcap2flows    the whole `skydive pcap2flows` process (--workers 1 and 2 when supported)
 *   d peers         softflowd, argus, ndpiReader
 *   e js            the plain-JavaScript baseline
 * Writes bench/results/<date>.json and bench/results/latest.md, and on a complete run (no
 * --only) the table between the bench markers of README.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { GENERATOR_VERSION, MPLS_UDP_PORT, generateFile, type Summary } from './generate.js';
import { availablePeers, ensureGnuTime } from './peers.js';
import { timeProcess } from './measure.js';
import { DEFAULT_RESULTS, RESULTS, ROOT } from './paths.js';

const BENCH_DIST = join(ROOT, 'dist', 'bench');
const CACHE = join(ROOT, 'bench', '.cache');
const README = join(ROOT, 'README.md');
const SKYDIVE = join(ROOT, 'bin', 'skydive.js');
const MARK_START = '<!-- bench:start -->';
const MARK_END = '<!-- bench:end -->';
const LONGER_FACTOR = 2.5;

const GROUPS = { a: 'decode', b: 'flows', c: 'pcap2flows', d: 'peers', e: 'js' } as const;
type Group = keyof typeof GROUPS;

interface Options { packets: number; seed: number; runs: number; only: Set<Group>; longer: boolean; install: boolean }

interface Sample {
  wallSeconds: number;
  cpuSeconds?: number;
  maxRssMB?: number;
  /** In-process measurements: MB of batch records held in memory (counted in maxRssMB). */
  inMemoryMB?: number;
  /** What the tool printed, when it prints one JSON object (the JS baseline). */
  output?: unknown;
}

interface Task {
  id: string;
  group: Group;
  tool: string;
  what: string;
  file: string;
  packets: number;
  argv: string[];
  /** Runs once; a string means the task cannot run (it is dropped) or failed. */
  run(): Promise<Sample | string>;
}

interface Result {
  id: string;
  group: Group;
  tool: string;
  what: string;
  command: string;
  packets: number;
  samples: Sample[];
  note?: string;
  wallSeconds?: { median: number; min: number; max: number };
  packetsPerSecond?: number;
  /** (max - min) / median of the wall times. */
  spread?: number;
  cpuSeconds?: number;
  /** packets / median CPU time: less sensitive than packets/s to other load on the machine. */
  packetsPerCpuSecond?: number;
  maxRssMB?: number;
  ratioToFastestPeer?: number;
}

/** A command-line word as a reader would type it: node, paths relative to the project. */
const shortPath = (a: string): string => (a === process.execPath ? 'node' : a.startsWith(ROOT + '/') ? relative(ROOT, a) : a);

const log = (line: string): void => { process.stderr.write(`bench: ${line}\n`); };

function parseArgs(argv: string[]): Options {
  const opts: Options = { packets: 2_000_000, seed: 1, runs: 3, only: new Set(Object.keys(GROUPS) as Group[]), longer: false, install: true };
  const names = Object.entries(GROUPS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (min: number): number => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < min) throw new Error(`${a} needs an integer >= ${min}`);
      return v;
    };
    switch (a) {
      case '--packets': opts.packets = num(1); break;
      case '--seed': opts.seed = num(0); break;
      case '--runs': opts.runs = num(1); break;
      case '--longer': opts.longer = true; break;
      case '--no-install': opts.install = false; break;
      case '--only':
        opts.only = new Set((argv[++i] ?? '').split(',').filter(Boolean).map((x) => {
          const hit = names.find(([letter, name]) => x === letter || x === name);
          if (!hit) throw new Error(`--only: unknown ${JSON.stringify(x)} (use ${names.map(([l, n]) => `${l}|${n}`).join(', ')})`);
          return hit[0] as Group;
        }));
        break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  return opts;
}

/** The cached capture for (packets, seed), generated when missing or stale. */
function capture(packets: number, seed: number): { file: string; summary: Summary } {
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, `synth-${packets}-seed${seed}.pcap`);
  if (existsSync(file) && existsSync(`${file}.json`)) {
    const summary = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as Summary;
    if (summary.generator === GENERATOR_VERSION && summary.packets === packets && summary.seed === seed && statSync(file).size === summary.bytes) {
      return { file, summary };
    }
  }
  log(`generating ${relative(ROOT, file)} (${packets} packets, seed ${seed})`);
  const t0 = performance.now();
  const summary = generateFile(packets, seed, file);
  log(`  ${(summary.bytes / 1e6).toFixed(0)} MB, ${summary.durationSeconds} s of traffic, in ${((performance.now() - t0) / 1e3).toFixed(1)} s`);
  return { file, summary };
}

/** Runs pcap2flows once untimed: the number of flows it prints and its counters. */
function flowCount(file: string): Promise<{ flows: number; counters: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SKYDIVE, 'pcap2flows', '--mpls-udp-port', String(MPLS_UDP_PORT), '--stats', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let flows = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) flows++; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`pcap2flows exited with ${code}: ${stderr.trim()}`));
      const last = stderr.trim().split('\n').pop() ?? '{}';
      resolve({ flows, counters: JSON.parse(last) as Record<string, number> });
    });
  });
}

function supportsWorkers(): boolean {
  const r = spawnSync(process.execPath, [SKYDIVE, 'pcap2flows', '--help'], { encoding: 'utf8' });
  return /--workers\b/.test(r.stdout ?? '');
}

/** A task measured by running `argv` under GNU time; with `json` its stdout is kept and parsed. */
function processTask(t: Omit<Task, 'run'>, json = false): Task {
  return {
    ...t,
    async run() {
      const s = await timeProcess(t.argv, { captureStdout: json });
      if (s.exitCode !== 0) return `exit status ${s.exitCode}: ${s.stderr.trim().split('\n').slice(-2).join(' / ')}`;
      return { wallSeconds: s.wallSeconds, cpuSeconds: s.cpuSeconds, maxRssMB: s.maxRssMB, output: json ? JSON.parse(s.stdout) : undefined };
    },
  };
}

/** A task measured inside a dedicated child process (bench/inproc.ts). */
function inprocTask(t: Omit<Task, 'run' | 'argv'>, mode: 'decode' | 'flows', warm = false): Task {
  const argv = [process.execPath, join(BENCH_DIST, 'inproc.js'), mode, t.file, '--mpls-udp-port', String(MPLS_UDP_PORT), ...(warm ? ['--warm'] : [])];
  return {
    ...t,
    argv,
    async run() {
      const s = await timeProcess(argv, { captureStdout: true });
      if (s.exitCode !== 0) return `exit status ${s.exitCode}: ${s.stderr.trim()}`;
      const r = JSON.parse(s.stdout) as { available: boolean; reason?: string; seconds: number; cpuSeconds: number; maxRssMB: number; loadedMB: number };
      if (!r.available) return `not available: ${r.reason}`;
      return { wallSeconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssMB: r.maxRssMB, inMemoryMB: r.loadedMB };
    },
  };
}

function tasks(opts: Options, main: { file: string; packets: number }, longer: { file: string; packets: number } | undefined, skipped: Record<string, string>): Task[] {
  const out: Task[] = [];
  const { file, packets } = main;
  const want = (g: Group): boolean => opts.only.has(g);
  if (want('a')) out.push(inprocTask({ id: 'decode', group: 'a', tool: 'skydive-ts decode', what: 'WASM core: decoding only, one thread, packets preloaded in memory (counted in RSS)', file, packets }, 'decode'));
  if (want('b')) {
    out.push(inprocTask({ id: 'flows', group: 'b', tool: 'skydive-ts flow table', what: 'WASM core: decoding + flow table, one thread, packets preloaded in memory (counted in RSS)', file, packets }, 'flows'));
    out.push(inprocTask({ id: 'flows-warm', group: 'b', tool: 'skydive-ts flow table, warm', what: 'the same after one untimed pass and a stop that empties the table: code optimized, table memory reused (a running worker)', file, packets }, 'flows', true));
  }
  if (want('c')) {
    const workers = supportsWorkers() ? [1, 2] : [undefined];
    for (const f of longer ? [main, longer] : [main]) {
      for (const w of workers) {
        const flag = w === undefined ? [] : ['--workers', String(w)];
        const suffix = f === main ? '' : ` (${LONGER_FACTOR}x file)`;
        out.push(processTask({
          id: `pcap2flows${w === undefined ? '' : `-w${w}`}${f === main ? '' : '-longer'}`,
          group: 'c',
          tool: `skydive pcap2flows${w === undefined ? '' : ` --workers ${w}`}${suffix}`,
          what: 'whole process: read the file, decode, flow table, JSON lines to /dev/null',
          file: f.file,
          packets: f.packets,
          argv: [process.execPath, SKYDIVE, 'pcap2flows', '--mpls-udp-port', String(MPLS_UDP_PORT), ...flag, f.file],
        }));
      }
    }
  }
  if (want('d')) {
    const { peers, skipped: notes } = availablePeers(log, opts.install);
    Object.assign(skipped, notes);
    for (const p of peers) out.push(processTask({ id: p.name, group: 'd', tool: p.name, what: p.what, file, packets, argv: p.argv(file) }));
  }
  if (want('e')) {
    out.push(processTask({ id: 'js-baseline', group: 'e', tool: 'plain JS baseline', what: 'Node fs + DataView + Map: packets/bytes per symmetric outer 5-tuple', file, packets, argv: [process.execPath, join(BENCH_DIST, 'js-baseline.js'), file] }, true));
  }
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function summarize(r: Result): void {
  const walls = r.samples.map((s) => s.wallSeconds);
  if (walls.length === 0) return;
  const m = median(walls);
  r.wallSeconds = { median: m, min: Math.min(...walls), max: Math.max(...walls) };
  r.packetsPerSecond = r.packets / m;
  r.spread = (r.wallSeconds.max - r.wallSeconds.min) / m;
  const cpu = r.samples.flatMap((s) => (s.cpuSeconds === undefined ? [] : [s.cpuSeconds]));
  const rss = r.samples.flatMap((s) => (s.maxRssMB === undefined ? [] : [s.maxRssMB]));
  if (cpu.length) {
    r.cpuSeconds = median(cpu);
    r.packetsPerCpuSecond = r.packets / r.cpuSeconds;
  }
  if (rss.length) r.maxRssMB = median(rss);
}

const fmtPps = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`);

/** Where and on what the results were measured. */
interface Context {
  date: string;
  cpu: string;
  cores: number;
  memoryGB: number;
  node: string;
  runs: number;
  file: Summary;
  longerFile?: Summary;
  flows: number;
  longerFlows?: number;
  pcap2flowsCounters: Record<string, number>;
  skipped: Record<string, string>;
}

function markdown(results: Result[], c: Context): string {
  const rows = results.map((r) => {
    if (r.packetsPerSecond === undefined) return `| ${r.tool} | ${r.what} | ${r.note ?? 'no result'} | | | |`;
    const pps = `${fmtPps(r.packetsPerSecond)} (±${((r.spread ?? 0) * 50).toFixed(0)}%)`;
    const ratio = r.ratioToFastestPeer === undefined ? '' : `${r.ratioToFastestPeer.toFixed(2)}x`;
    return `| ${r.tool} | ${r.what} | ${pps} | ${r.cpuSeconds?.toFixed(2) ?? ''} | ${r.maxRssMB?.toFixed(0) ?? ''} | ${ratio} |`;
  });
  const f = c.file;
  const lines = [
    `- Measured ${c.date} on ${c.cpu}, ${c.cores} cores (shared and noisy), Node ${c.node}.`,
    `- Capture: ${f.packets.toLocaleString('en')} generated packets (seed ${f.seed}, ${(f.bytes / 1e6).toFixed(0)} MB, ${f.durationSeconds} s of traffic, ` +
      `${(f.tunnelledShare * 100).toFixed(1)}% tunnelled), ${c.flows.toLocaleString('en')} flows from pcap2flows.`,
    `- Median of ${c.runs} runs taken round-robin; ± is half the spread of the wall times; packets/s = packets / wall time.`,
    '- `npm run bench` reproduces it; bench/README.md explains each number.',
    '',
    '| tool | what it does | packets/s | CPU s | peak RSS MB | vs fastest peer |',
    '|---|---|---:|---:|---:|---:|',
    ...rows,
  ];
  if (c.longerFile) {
    lines.push('', `The ${LONGER_FACTOR}x file has ${c.longerFile.packets.toLocaleString('en')} packets, ${(c.longerFile.bytes / 1e6).toFixed(0)} MB, ` +
      `${c.longerFile.durationSeconds} s of traffic, ${c.longerFlows?.toLocaleString('en')} flows.`);
  }
  for (const [name, note] of Object.entries(c.skipped)) lines.push('', `${name} skipped: ${note}.`);
  return lines.join('\n') + '\n';
}

function updateReadme(table: string): void {
  let text = readFileSync(README, 'utf8');
  const block = `${MARK_START}\n${table}${MARK_END}`;
  const start = text.indexOf(MARK_START);
  const end = text.indexOf(MARK_END);
  if (start >= 0 && end > start) text = text.slice(0, start) + block + text.slice(end + MARK_END.length);
  else text = `${text.replace(/\n*$/, '\n')}\n## Performance\n\n${block}\n`;
  writeFileSync(README, text);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (!ensureGnuTime(log, opts.install)) log('GNU time is missing: CPU time and peak RSS of processes are not reported');
  const main = capture(opts.packets, opts.seed);
  const longerPackets = Math.round(opts.packets * LONGER_FACTOR);
  const longer = opts.longer ? capture(longerPackets, opts.seed) : undefined;

  const check = await flowCount(main.file);
  log(`pcap2flows: ${check.flows} flows (decode failures ${check.counters.decode_failures ?? '?'})`);
  const longerCheck = longer && await flowCount(longer.file);
  if (longerCheck) log(`pcap2flows on the ${LONGER_FACTOR}x file: ${longerCheck.flows} flows`);
  const skipped: Record<string, string> = {};
  const list = tasks(opts, { file: main.file, packets: opts.packets }, longer && { file: longer.file, packets: longerPackets }, skipped);
  const results = new Map<Task, Result>(list.map((t) => [t, {
    id: t.id, group: t.group, tool: t.tool, what: t.what, packets: t.packets, samples: [],
    command: t.argv.map(shortPath).join(' '),
  }]));

  for (let round = 1; round <= opts.runs; round++) {
    for (const t of list) {
      const r = results.get(t)!;
      if (r.note !== undefined) continue;
      const s = await t.run();
      if (typeof s === 'string') { r.note = s; log(`${t.tool}: ${s}`); continue; }
      r.samples.push(s);
      log(`[${round}/${opts.runs}] ${t.tool}: ${s.wallSeconds.toFixed(2)} s, ${fmtPps(t.packets / s.wallSeconds)} packets/s, ` +
        `CPU ${s.cpuSeconds?.toFixed(2) ?? '?'} s, RSS ${s.maxRssMB?.toFixed(0) ?? '?'} MB`);
    }
  }

  const all = [...results.values()];
  all.forEach(summarize);
  const fastestPeer = Math.max(0, ...all.filter((r) => r.group === 'd').map((r) => r.packetsPerSecond ?? 0));
  if (fastestPeer > 0) for (const r of all) if (r.packetsPerSecond !== undefined) r.ratioToFastestPeer = r.packetsPerSecond / fastestPeer;

  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const context: Context = {
    date,
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    runs: opts.runs,
    file: main.summary,
    longerFile: longer?.summary,
    flows: check.flows,
    longerFlows: longerCheck?.flows,
    pcap2flowsCounters: check.counters,
    skipped,
  };
  mkdirSync(RESULTS, { recursive: true });
  const jsonPath = join(RESULTS, `${date.replace(/:/g, '')}.json`);
  writeFileSync(jsonPath, JSON.stringify({ ...context, options: { ...opts, only: [...opts.only] }, results: all }, null, 2) + '\n');
  const table = markdown(all, context);
  const latest = join(RESULTS, 'latest.md');
  writeFileSync(latest, `# Benchmark results\n\n${table}`);
  // The README shows the project's own results: a complete run into bench/results.
  const complete = opts.only.size === Object.keys(GROUPS).length && RESULTS === DEFAULT_RESULTS;
  if (complete) updateReadme(table);
  process.stdout.write(table);
  log(`wrote ${shortPath(jsonPath)}, ${shortPath(latest)}${complete ? ' and README.md' : ' (README.md only on a complete run into bench/results)'}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
