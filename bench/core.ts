/**
 * Microbenchmark of the WASM core on one thread:
 *
 *   node dist/bench/core.js FILE [--mpls-udp-port P] [--passes N] [--batch-packets N]
 *
 * Loads the capture's packets into memory once, as batch records (the input
 * format of processBatch), then times, over several passes:
 *  - decode only: benchDecodeBatch, the batch loop calling decodePacket;
 *  - decode + table: processBatch with Skydive's defaults (L2 keys, TCP
 *    metrics and reassembly, IPv4 defragmentation), a fresh table per pass.
 * Only the core calls are timed: copying each batch into the input region
 * (what the capture reader does anyway) happens between them. Prints the
 * median and the range of packets/s.
 */
import { CaptureReader } from '../src/capture/pcapfile.js';
import { FlowEngine, type EngineOptions } from '../src/engine/flow-engine.js';

interface Batch { data: Uint8Array; bytes: number; packets: number }

function usage(msg: string): never {
  process.stderr.write(`${msg}\nusage: node dist/bench/core.js FILE [--mpls-udp-port P] [--passes N] [--batch-packets N]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): { file: string; mplsUDPPort?: number; passes: number; batchPackets: number } {
  let file: string | undefined;
  let mplsUDPPort: number | undefined;
  let passes = 7;
  let batchPackets = 8192;
  const int = (v: string | undefined, name: string): number => {
    if (v === undefined || !/^\d+$/.test(v)) usage(`${name} needs an integer`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--mpls-udp-port') mplsUDPPort = int(argv[++i], a);
    else if (a === '--passes') passes = Math.max(1, int(argv[++i], a));
    else if (a === '--batch-packets') batchPackets = Math.max(1, int(argv[++i], a));
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (file !== undefined) usage('one capture file only');
    else file = a;
  }
  if (file === undefined) usage('missing capture FILE');
  return { file, mplsUDPPort, passes, batchPackets };
}

/** Reads the whole capture as batches sized for the core's input region. */
async function loadBatches(file: string, capacity: number, batchPackets: number): Promise<Batch[]> {
  const reader = await CaptureReader.open(file);
  const scratch = new Uint8Array(capacity);
  const out: Batch[] = [];
  try {
    for (;;) {
      const r = await reader.readBatch(scratch, batchPackets);
      if (r.packets === 0) break;
      out.push({ data: scratch.slice(0, r.bytes), bytes: r.bytes, packets: r.packets });
    }
  } finally {
    await reader.close();
  }
  return out;
}

/** Runs `call` on every batch after copying it into the input region; returns the seconds spent in `call`. */
function timedPass(engine: FlowEngine, batches: Batch[], call: (b: Batch) => number, after?: () => void): number {
  const base = engine.core.inputBuffer() as number;
  let ns = 0n;
  for (const b of batches) {
    new Uint8Array(engine.core.memory.buffer, base, b.bytes).set(b.data);
    const t0 = process.hrtime.bigint();
    const done = call(b);
    ns += process.hrtime.bigint() - t0;
    if (done !== b.packets) throw new Error(`core consumed ${done} of ${b.packets} records`);
    after?.();
  }
  return Number(ns) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function report(name: string, packets: number, seconds: number[]): void {
  const rates = seconds.map((s) => packets / s);
  const fmt = (r: number): string => `${(r / 1e6).toFixed(2)} Mpps`;
  console.log(`${name.padEnd(16)} median ${fmt(median(rates))}  (min ${fmt(Math.min(...rates))}, max ${fmt(Math.max(...rates))}, ` +
    `${seconds.length} passes, ${(1e9 * median(seconds) / packets).toFixed(1)} ns/packet)`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const opts: EngineOptions = { mplsUDPPort: args.mplsUDPPort };
  const probe = new FlowEngine(opts);
  const batches = await loadBatches(args.file, probe.core.inputCapacity() as number, args.batchPackets);
  const packets = batches.reduce((n, b) => n + b.packets, 0);
  const bytes = batches.reduce((n, b) => n + b.bytes, 0);
  console.log(`${args.file}: ${packets} packets, ${(bytes / 2 ** 20).toFixed(1)} MiB of batch records in ${batches.length} batches`);

  // Decode only: one instance (decoding keeps no state between packets).
  const decodeBatch = probe.core.benchDecodeBatch as (base: number, bytes: number, n: number) => number;
  const base = probe.core.inputBuffer() as number;
  const decode: number[] = [];
  timedPass(probe, batches, (b) => decodeBatch(base, b.bytes, b.packets)); // warm-up
  for (let i = 0; i < args.passes; i++) decode.push(timedPass(probe, batches, (b) => decodeBatch(base, b.bytes, b.packets)));
  report('decode', packets, decode);

  // Decode + table: a fresh table each pass (a second pass over the same
  // packets would find every flow already there). The output is released
  // after each batch; with no timers only evictions are emitted.
  const table: number[] = [];
  let flows = 0;
  for (let i = 0; i <= args.passes; i++) {
    const engine = new FlowEngine(opts);
    const tbase = engine.core.inputBuffer() as number;
    const s = timedPass(engine, batches, (b) => engine.core.processBatch(tbase, b.bytes, b.packets, -1) as number,
      () => engine.core.emitRelease());
    if (i > 0) table.push(s); // the first pass warms the JIT tiers up
    flows = engine.tableSize();
  }
  report('decode+table', packets, table);
  console.log(`flows in the table at the end: ${flows}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
