/**
 * One in-process measurement, in a process of its own (so its peak RSS is its own):
 *
 *   node dist/bench/inproc.js decode|flows FILE [--mpls-udp-port P] [--warm]
 *
 * Loads every packet of FILE into memory once, as batch records (CaptureReader.readBatch),
 * then feeds the batches to one FlowEngine and times only the core calls:
 *   decode  core.benchDecodeBatch(base, bytes, n): decoding alone (when the core exports it)
 *   flows   engine.process(bytes, n): decoding plus the flow table
 * Copying a batch into the engine's input region and draining emitted flows are not timed.
 * --warm: first one untimed pass over every packet, then every flow leaves the table (as at a stop),
 * so that the timed pass runs code already optimized on an empty table whose memory the process
 * has used before: a worker's steady state, its first flows long expired and their slots reused.
 * Without it the pass also pays for first-run code and for the first touch of every page of a new
 * table (page faults and first writes: 16% more time for the pass, measured on this machine).
 * Prints one JSON object: packets, seconds (wall, summed over the calls), cpuSeconds,
 * maxRssMB (the whole process, packets in memory included) and loadedMB.
 */
import { CaptureReader } from '../src/capture/pcapfile.js';
import { FlowEngine } from '../src/engine/flow-engine.js';

const SLAB = 256 << 20;
const MAX_BATCH_PACKETS = 8192;

interface Batch { data: Uint8Array; bytes: number; packets: number }

/** Reads the whole capture as batches that each fit the engine's input region. */
async function load(file: string, batchBytes: number): Promise<Batch[]> {
  const reader = await CaptureReader.open(file);
  const batches: Batch[] = [];
  let slab = Buffer.allocUnsafe(0);
  let used = 0;
  try {
    for (;;) {
      if (slab.length - used < batchBytes) { slab = Buffer.allocUnsafe(SLAB); used = 0; }
      const dst = slab.subarray(used, used + batchBytes);
      const r = await reader.readBatch(dst, MAX_BATCH_PACKETS);
      if (r.packets === 0) break;
      batches.push({ data: dst.subarray(0, r.bytes), bytes: r.bytes, packets: r.packets });
      used += r.bytes;
    }
  } finally {
    await reader.close();
  }
  return batches;
}

async function main(): Promise<void> {
  const [mode, file, ...rest] = process.argv.slice(2);
  if ((mode !== 'decode' && mode !== 'flows') || file === undefined) {
    throw new Error('usage: inproc decode|flows FILE [--mpls-udp-port P] [--warm]');
  }
  const portAt = rest.indexOf('--mpls-udp-port');
  const engine = new FlowEngine({ mplsUDPPort: portAt >= 0 ? Number(rest[portAt + 1]) : undefined });
  if (mode === 'decode' && typeof engine.core.benchDecodeBatch !== 'function') {
    process.stdout.write(JSON.stringify({ mode, available: false, reason: 'the core does not export benchDecodeBatch' }) + '\n');
    return;
  }
  const batches = await load(file, engine.inputView().length);
  const loadedMB = batches.reduce((s, b) => s + b.bytes, 0) / 2 ** 20;
  if (rest.includes('--warm')) {
    pass(engine, mode, batches);
    if (mode === 'flows') emptyTable(engine);
  }
  const r = pass(engine, mode, batches);
  process.stdout.write(JSON.stringify({
    mode,
    available: true,
    ...r,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    loadedMB,
    flows: engine.tableSize(),
  }) + '\n');
}

/** Takes every flow out of the table (the stop's expiry), its records read and dropped. */
function emptyTable(engine: FlowEngine): void {
  engine.stop();
  engine.drain(() => {});
  if (engine.tableSize() !== 0) throw new Error(`the table kept ${engine.tableSize()} flows after a stop`);
}

/** One timed pass over every batch. */
function pass(engine: FlowEngine, mode: 'decode' | 'flows', batches: Batch[]): { packets: number; seconds: number; cpuSeconds: number } {
  const core = engine.core;
  const decode = core.benchDecodeBatch as ((base: number, bytes: number, n: number) => number) | undefined;
  let packets = 0;
  let ns = 0n;
  let cpuUs = 0;
  for (const b of batches) {
    engine.inputView().set(b.data);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const done = mode === 'decode' ? decode!(core.inputBuffer(), b.bytes, b.packets) : engine.process(b.bytes, b.packets);
    ns += process.hrtime.bigint() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (done !== b.packets) throw new Error(`the core took ${done} of ${b.packets} records`);
    cpuUs += cpu.user + cpu.system;
    packets += b.packets;
    engine.drain(() => {});
  }
  return { packets, seconds: Number(ns) / 1e9, cpuSeconds: cpuUs / 1e6 };
}

main().catch((err: unknown) => {
  process.stderr.write(`inproc: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
