/**
 * Live capture bench: tcpreplay at top speed onto a veth in a private network namespace, captured
 * on the peer by each capture path in turn, in a child process of its own:
 *
 *   addon   LiveCapture (native/pcapbatch.c): batches from a capture thread; JS counts them
 *   flows   the same, and every batch goes through a FlowEngine (release core), as the agent will
 *   cap     the `cap` npm package (optional dependency): one JS callback per packet; JS counts
 *
 *   node dist/bench/live.js [--pcap FILE | --packets N] [--limit N] [--runs K] [--paths addon,flows,cap]
 *                           [--buffer-mb M] [--no-install]
 *
 * The capture file defaults to bench/.cache/synth-2000000-seed1.pcap, generated (bench/generate.ts)
 * when missing. tcpreplay (Debian package tcpreplay) is installed with apt-get when missing.
 *
 * Per run: what tcpreplay says it sent and in how long; what arrived on the capturing veth (its
 * rx counter, after the kernel's own backlog drops, counted apart); what the path captured;
 * its drops (kernel buffer, and the addon's ring; `cap` reports none, so its loss is arrived -
 * captured); the CPU time of the capturing process (all its threads) while the packets flowed.
 * Captured packets/s = captured / tcpreplay's sending time. Rounds go round-robin over the paths;
 * the table shows the median run of each path (by captured packets/s).
 *
 * Writes bench/results/live-<UTC date>.json (every run) and bench/results/live-latest.md.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LiveCapture } from '../src/capture/live.js';
import { FlowEngine } from '../src/engine/flow-engine.js';
import { GENERATOR_VERSION, generateFile, type Summary } from './generate.js';
import { RESULTS, ROOT } from './paths.js';

const CACHE = join(ROOT, 'bench', '.cache');
const SELF = fileURLToPath(import.meta.url);
const PATHS = ['addon', 'flows', 'cap'] as const;
type PathName = (typeof PATHS)[number];

const log = (line: string) => process.stderr.write(`live: ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Child: one capture path, started inside the receiving namespace. Prints "ready", counts until
// a line arrives on stdin, then prints one JSON line with its counters and CPU time.

interface ChildResult {
  packets: number;
  bytes: number;
  cpuSeconds: number;
  kernelDropped?: number;
  ringDropped?: number;
  received?: number;
  flows?: number;
  error?: string;
}

async function child(path: PathName, iface: string, bufferBytes: number): Promise<void> {
  const stop = new Promise<void>((resolve) => {
    process.stdin.resume();
    process.stdin.once('data', () => resolve());
    process.stdin.once('end', () => resolve());
  });
  let cpu0 = process.cpuUsage();
  const cpuSeconds = () => { const d = process.cpuUsage(cpu0); return (d.user + d.system) / 1e6; };
  const out = (r: ChildResult) => process.stdout.write(JSON.stringify(r) + '\n');

  if (path === 'cap') {
    const require = createRequire(import.meta.url);
    let Cap: new () => { open(d: string, f: string, size: number, buf: Buffer): string; on(e: 'packet', cb: (n: number) => void): void; close(): void };
    try {
      ({ Cap } = require('cap'));
    } catch (e) {
      out({ packets: 0, bytes: 0, cpuSeconds: 0, error: `cap is not installed or not built: ${(e as Error).message.split('\n')[0]}` });
      return;
    }
    // cap keeps only a raw pointer into this Buffer: it must stay referenced as long as the
    // capture can write into it (ecosystem notes §3), here until the process exits.
    const buffer = Buffer.alloc(65535);
    (globalThis as { capBuffer?: Buffer }).capBuffer = buffer;
    const c = new Cap();
    let packets = 0, bytes = 0;
    c.open(iface, '', bufferBytes, buffer);
    c.on('packet', (n) => { packets++; bytes += n; });
    cpu0 = process.cpuUsage();
    process.stdout.write('ready\n');
    await stop;
    const cpu = cpuSeconds();
    c.close();
    out({ packets, bytes, cpuSeconds: cpu });
    return;
  }

  const cap = LiveCapture.open({ interface: iface, bufferSize: bufferBytes });
  const engine = path === 'flows' ? new FlowEngine() : undefined;
  let packets = 0, bytes = 0, flows = 0;
  const reading = (async () => {
    for await (const b of cap) {
      packets += b.packets;
      bytes += b.bytes;
      if (engine) {
        engine.inputView().set(b.data);
        engine.process(b.bytes, b.packets);
        flows += engine.drain(() => {});
      }
      b.release();
    }
  })();
  cpu0 = process.cpuUsage();
  process.stdout.write('ready\n');
  await stop;
  const cpu = cpuSeconds();
  cap.close();
  await reading;
  const s = cap.stats();
  if (engine) { engine.stop(); flows += engine.drain(() => {}); }
  out({ packets, bytes, cpuSeconds: cpu, kernelDropped: s.KernelDropped, ringDropped: s.RingDropped, received: s.PacketsReceived, flows: engine ? flows : undefined });
}

// ---------------------------------------------------------------------------------------------
// Parent

interface Options { pcap?: string; packets: number; limit?: number; runs: number; paths: PathName[]; bufferMB: number; install: boolean }

function parseArgs(argv: string[]): Options {
  const o: Options = { packets: 2_000_000, runs: 3, paths: [...PATHS], bufferMB: 32, install: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    const int = () => { const v = Number(next()); if (!Number.isInteger(v) || v <= 0) throw new Error(`${a} needs a positive integer`); return v; };
    switch (a) {
      case '--pcap': o.pcap = next(); break;
      case '--packets': o.packets = int(); break;
      case '--limit': o.limit = int(); break;
      case '--runs': o.runs = int(); break;
      case '--buffer-mb': o.bufferMB = int(); break;
      case '--no-install': o.install = false; break;
      case '--paths': {
        const list = next().split(',');
        for (const p of list) if (!(PATHS as readonly string[]).includes(p)) throw new Error(`unknown path ${p} (${PATHS.join(', ')})`);
        o.paths = list as PathName[];
        break;
      }
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  return o;
}

function captureFile(o: Options): string {
  if (o.pcap) {
    if (!existsSync(o.pcap)) throw new Error(`${o.pcap}: no such file`);
    return o.pcap;
  }
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, `synth-${o.packets}-seed1.pcap`);
  if (existsSync(file) && existsSync(`${file}.json`)) {
    const s = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as Summary;
    if (s.generator === GENERATOR_VERSION && s.packets === o.packets && statSync(file).size === s.bytes) return file;
  }
  log(`generating ${relative(ROOT, file)} (${o.packets} packets, seed 1)`);
  generateFile(o.packets, 1, file);
  return file;
}

function ensureTcpreplay(install: boolean): void {
  const has = () => spawnSync('sh', ['-c', 'command -v tcpreplay'], { stdio: 'ignore' }).status === 0;
  if (has()) return;
  if (install) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    log('installing tcpreplay (apt-get update, apt-get install tcpreplay)');
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env });
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'tcpreplay'], { stdio: 'ignore', env });
  }
  if (!has()) throw new Error('tcpreplay is missing (Debian package tcpreplay)');
}

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

/** Two namespaces joined by a veth pair: tx/t0 (tcpreplay) <-> rx/r0 (captures). */
class Lab {
  readonly tx = `sktbench${process.pid}-tx`;
  readonly rx = `sktbench${process.pid}-rx`;
  constructor() {
    for (const ns of [this.tx, this.rx]) {
      ip('netns', 'add', ns);
      execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c',
        'for k in all default; do echo 1 > /proc/sys/net/ipv6/conf/$k/disable_ipv6; done 2>/dev/null; true']);
    }
    ip('-n', this.tx, 'link', 'add', 't0', 'type', 'veth', 'peer', 'name', 'r0', 'netns', this.rx);
    // Room for tagged full-size frames (QinQ 1522 bytes): no frame is refused for its size.
    ip('-n', this.tx, 'link', 'set', 't0', 'mtu', '9000', 'up');
    ip('-n', this.rx, 'link', 'set', 'r0', 'mtu', '9000', 'up');
  }
  /** rx packets of r0 and tx drops of t0 (frames the kernel backlog refused). */
  counters(): { arrived: number; vethDropped: number } {
    const r0 = (JSON.parse(ip('-n', this.rx, '-s', '-j', 'link', 'show', 'r0')) as { stats64: { rx: { packets: number } } }[])[0];
    const t0 = (JSON.parse(ip('-n', this.tx, '-s', '-j', 'link', 'show', 't0')) as { stats64: { tx: { dropped: number } } }[])[0];
    return { arrived: r0.stats64.rx.packets, vethDropped: t0.stats64.tx.dropped };
  }
  cleanup(): void {
    for (const ns of [this.tx, this.rx]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}

interface Run {
  path: PathName;
  round: number;
  sent: number;
  sendSeconds: number;
  sentPps: number;
  sendFailed: number;
  arrived: number;
  vethDropped: number;
  captured: number;
  kernelDropped?: number;
  ringDropped?: number;
  lost: number;
  capturedPps: number;
  cpuSeconds: number;
  flows?: number;
  error?: string;
}

async function startChild(lab: Lab, path: PathName, bufferBytes: number): Promise<{ proc: ChildProcess; result: Promise<ChildResult> }> {
  const proc = spawn('ip', ['netns', 'exec', lab.rx, process.execPath, SELF, '--child', path, 'r0', String(bufferBytes)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  let ready!: () => void;
  let failed!: (e: Error) => void;
  const readyP = new Promise<void>((res, rej) => { ready = res; failed = rej; });
  const result = new Promise<ChildResult>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === 'ready') ready();
      else {
        const r = JSON.parse(line) as ChildResult;
        if (r.error) failed(new Error(r.error));
        resolve(r);
      }
    });
    proc.on('exit', (code) => { failed(new Error(`${path} capture exited with ${code}`)); reject(new Error(`${path} capture exited with ${code} before its result`)); });
  });
  result.catch(() => {});
  await readyP;
  return { proc, result };
}

function tcpreplay(lab: Lab, file: string, limit?: number): { sent: number; seconds: number; pps: number; failed: number; text: string } {
  const args = ['netns', 'exec', lab.tx, 'tcpreplay', '--topspeed', '--preload-pcap', '-i', 't0', ...(limit ? [`--limit=${limit}`] : []), file];
  const r = spawnSync('ip', args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const text = `${r.stdout}\n${r.stderr}`;
  const actual = /Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds/.exec(text);
  const rated = /Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(text);
  const failed = /Failed packets:\s+(\d+)/.exec(text);
  if (r.status !== 0 || !actual) throw new Error(`tcpreplay failed (${r.status}): ${text.trim().split('\n').slice(-3).join(' | ')}`);
  return { sent: Number(actual[1]), seconds: Number(actual[3]), pps: rated ? Number(rated[1]) : Number(actual[1]) / Number(actual[3]), failed: failed ? Number(failed[1]) : 0, text };
}

async function oneRun(lab: Lab, path: PathName, round: number, file: string, o: Options): Promise<Run> {
  const { proc, result } = await startChild(lab, path, o.bufferMB << 20);
  const before = lab.counters();
  let sent;
  try {
    sent = tcpreplay(lab, file, o.limit);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  // Let the capture drain what the kernel holds, then stop it.
  await new Promise((r) => setTimeout(r, 1500));
  const after = lab.counters();
  proc.stdin!.end('stop\n');
  const r = await result;
  const arrived = after.arrived - before.arrived;
  return {
    path, round,
    sent: sent.sent, sendSeconds: sent.seconds, sentPps: sent.pps, sendFailed: sent.failed,
    arrived, vethDropped: after.vethDropped - before.vethDropped,
    captured: r.packets, kernelDropped: r.kernelDropped, ringDropped: r.ringDropped,
    lost: arrived - r.packets,
    capturedPps: r.packets / sent.seconds,
    cpuSeconds: r.cpuSeconds,
    flows: r.flows,
  };
}

const fmtInt = (n: number | undefined) => (n === undefined ? '–' : Math.round(n).toLocaleString('en'));
const fmtRate = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`);

function table(runs: Run[], o: Options, file: string): string {
  const rows: string[] = [];
  const describe: Record<PathName, string> = {
    addon: 'LiveCapture (pcapbatch addon): batches, JS counts',
    flows: 'LiveCapture + FlowEngine (release core) on every batch',
    cap: '`cap` 0.2.1: one JS callback per packet, JS counts',
  };
  for (const path of o.paths) {
    const mine = runs.filter((r) => r.path === path && !r.error).sort((a, b) => a.capturedPps - b.capturedPps);
    if (mine.length === 0) { rows.push(`| ${path} | ${describe[path]} | failed: ${runs.find((r) => r.path === path)?.error ?? '?'} |||||||||`); continue; }
    const m = mine[(mine.length - 1) >> 1];
    rows.push(`| ${path} | ${describe[path]} | ${fmtInt(m.sent)} in ${m.sendSeconds.toFixed(2)} s (${fmtRate(m.sentPps)}/s) | ${fmtInt(m.vethDropped)} | ${fmtInt(m.arrived)} | ` +
      `${fmtInt(m.captured)} | ${fmtRate(m.capturedPps)} | ${fmtInt(m.kernelDropped)} | ${fmtInt(m.ringDropped)} | ${fmtInt(m.lost)} (${((100 * m.lost) / Math.max(1, m.arrived)).toFixed(2)}%) | ` +
      `${m.cpuSeconds.toFixed(2)} s (${((100 * m.cpuSeconds) / m.sendSeconds).toFixed(0)}%) |`);
  }
  return [
    `- Measured ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} on ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores (shared with tcpreplay and the kernel's veth work), Node ${process.version}.`,
    `- tcpreplay --topspeed --preload-pcap of ${relative(ROOT, file)}${o.limit ? ` (first ${o.limit} packets)` : ''} onto a veth in a private namespace; capture on its peer; kernel buffer ${o.bufferMB} MiB; median of ${o.runs} run(s) per path.`,
    '- sent: what tcpreplay reports; veth drops: frames the kernel backlog refused before any capture could see them; arrived: the capturing veth\'s rx counter;',
    '  lost = arrived - captured; CPU: the capturing process, all threads, while the packets flowed (% of the sending time).',
    '',
    '| path | what | sent (tcpreplay) | veth drops | arrived | captured | captured/s | kernel drops | ring drops | lost | CPU |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await child(args[1] as PathName, args[2], Number(args[3]));
    return;
  }
  const o = parseArgs(args);
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, veth, packet capture)');
  ensureTcpreplay(o.install);
  const file = captureFile(o);
  const lab = new Lab();
  const onSignal = () => { lab.cleanup(); process.exit(130); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const runs: Run[] = [];
  try {
    for (let round = 1; round <= o.runs; round++) {
      for (const path of o.paths) {
        try {
          const r = await oneRun(lab, path, round, file, o);
          runs.push(r);
          log(`round ${round} ${path}: sent ${r.sent} in ${r.sendSeconds} s, arrived ${r.arrived}, captured ${r.captured} (${fmtRate(r.capturedPps)}/s), ` +
            `kernel drops ${r.kernelDropped ?? '-'}, ring drops ${r.ringDropped ?? '-'}, lost ${r.lost}, CPU ${r.cpuSeconds.toFixed(2)} s`);
        } catch (e) {
          runs.push({ path, round, error: (e as Error).message } as Run);
          log(`round ${round} ${path}: ${(e as Error).message}`);
        }
      }
    }
  } finally {
    lab.cleanup();
  }
  const md = table(runs, o, file);
  process.stdout.write(md + '\n');
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '').replace(/\d{3}Z$/, 'Z');
  writeFileSync(join(RESULTS, `live-${stamp}.json`), JSON.stringify({ options: o, file: relative(ROOT, file), runs }, null, 2) + '\n');
  writeFileSync(join(RESULTS, 'live-latest.md'), md + '\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`live: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
