/**
 * Replays a capture file through one or more flow tables (shards).
 *
 * The calling thread reads the file in batches, asks the core which shard
 * owns each packet (assembly/shard.ts: a symmetric hash of the addresses every
 * flow of the packet is keyed on), and copies each record into its shard's
 * batch. With one shard, the table runs in this thread; with more, each shard
 * is a piscina pool of exactly one thread, so a shard's state never moves and
 * its tasks run in order. Batches travel in SharedArrayBuffers: a bounded
 * number per shard is in flight, and the reader waits for one to come back
 * (a file never drops packets).
 *
 * Timers, when enabled, follow packet time: the ticks are sent to every shard
 * between the packets they fall between, so results do not depend on batch
 * sizes or on the number of shards. Flows are written at the end in a
 * canonical order (sorted-output.ts).
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { Piscina } from 'piscina';
import { CaptureReader, recordSize } from '../capture/pcapfile.js';
import { loadCore } from '../wasm/module.js';
import { Shard, type ShardConfig, type ShardReply, type ShardTask } from './shard-task.js';
import { SortedFlowSink } from './sorted-output.js';
import type { WorkerTask } from './worker.js';

export interface ReplayTimers {
  /** flow.update in seconds (Skydive default 60). */
  updateSeconds: number;
  /** flow.expire in seconds (Skydive default 600). */
  expireSeconds: number;
}

export interface ReplayOptions {
  file: string;
  linkType?: number;
  shard: ShardConfig;
  /** Number of flow tables; 1 runs in the calling thread. */
  workers: number;
  /** Force worker threads even for one shard (tests compare both paths). */
  threads?: boolean;
  /** Most packets per batch handed to a shard. */
  batchPackets?: number;
  timers?: ReplayTimers;
  /**
   * Called after each tick, once every table has run it: the flows that left
   * the tables so far are all in the sink, and may be written (keeps memory
   * bounded on long replays; the order stays the same for every worker count).
   */
  afterTick?: () => Promise<void>;
}

export interface ReplayResult {
  counters: Record<string, bigint>;
  truncatedTail: boolean;
}

const BATCH_BYTES = 4 << 20;
const IN_FLIGHT = 3;
const CONNECTION_TICK_MS = 30_000;

/** A shard behind a uniform async interface. */
interface ShardHandle {
  run(task: ShardTask, sab?: SharedArrayBuffer): Promise<ShardReply>;
  close(): Promise<void>;
}

function workerFile(): string {
  // The worker runs compiled JavaScript, also when this module runs from TypeScript sources.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'dist', 'src', 'pipeline', 'worker.js');
    if (existsSync(candidate)) return candidate;
    const here = join(dir, 'worker.js');
    if (existsSync(here)) return here;
    dir = dirname(dir);
  }
  throw new Error('skydive-ts: dist/src/pipeline/worker.js is missing; run "npm run build" first');
}

function threadShard(config: ShardConfig): ShardHandle {
  const pool = new Piscina({
    filename: workerFile(),
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: Number.MAX_SAFE_INTEGER,
    recordTiming: false,
    workerData: config,
  });
  return {
    run: (task, sab) => {
      const t: WorkerTask = task.op === 'batch' ? { op: 'batch', sab: sab!, bytes: task.bytes, packets: task.packets } : task;
      return pool.run(t) as Promise<ShardReply>;
    },
    close: () => pool.destroy(),
  };
}

/** One worker's batches: a few SharedArrayBuffers, filled here, processed there. */
class ShardFeed {
  private readonly slots: SharedArrayBuffer[] = [];
  private readonly busy: (Promise<void> | null)[] = [];
  private slot = 0;
  private view: Uint8Array;
  private used = 0;
  private packets = 0;

  constructor(private readonly handle: ShardHandle, private readonly onReply: (r: ShardReply) => void, private readonly maxPackets: number) {
    for (let i = 0; i < IN_FLIGHT; i++) { this.slots.push(new SharedArrayBuffer(BATCH_BYTES)); this.busy.push(null); }
    this.view = new Uint8Array(this.slots[0]);
  }

  /** Appends `packets` whole records (`src`, in batch layout), submitting full batches on the way. */
  async append(src: Uint8Array, packets: number): Promise<void> {
    if (this.packets + packets <= this.maxPackets && this.used + src.length <= BATCH_BYTES) {
      this.view.set(src, this.used);
      this.used += src.length;
      this.packets += packets;
      return;
    }
    // Split at record boundaries.
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    let p = 0;
    for (let i = 0; i < packets; i++) {
      const size = recordSize(dv.getUint32(p + 8, true));
      if (this.packets >= this.maxPackets || this.used + size > BATCH_BYTES) await this.submit();
      this.view.set(src.subarray(p, p + size), this.used);
      this.used += size;
      this.packets++;
      p += size;
    }
  }

  /** Hands the current batch to the shard; waits when every slot is in flight (backpressure). */
  async submit(): Promise<void> {
    if (this.packets === 0) return;
    const sab = this.slots[this.slot];
    const task: ShardTask = { op: 'batch', data: new Uint8Array(sab), bytes: this.used, packets: this.packets };
    this.busy[this.slot] = this.handle.run(task, sab).then(this.onReply);
    this.slot = (this.slot + 1) % IN_FLIGHT;
    this.used = 0;
    this.packets = 0;
    this.view = new Uint8Array(this.slots[this.slot]);
    const pending = this.busy[this.slot];
    if (pending) { await pending; this.busy[this.slot] = null; }
  }

  /** Runs a control task after every batch already given. */
  async control(task: ShardTask): Promise<void> {
    await this.submit();
    await Promise.all(this.busy.filter((b): b is Promise<void> => b !== null));
    this.busy.fill(null);
    this.onReply(await this.handle.run(task));
  }
}

/** Number of leading records of a batch stamped before `limitMs`, and their bytes. */
function recordsBefore(dv: DataView, offset: number, bytes: number, packets: number, limitMs: number): [number, number] {
  const limitNs = BigInt(limitMs) * 1_000_000n;
  let p = offset, i = 0;
  while (i < packets && dv.getBigInt64(p, true) < limitNs) {
    p += recordSize(dv.getUint32(p + 8, true));
    i++;
  }
  return [i, p - offset];
}

/** Skydive's tick schedule on packet time, from the first packet on. */
class TickClock {
  private update = -1;
  private expire = -1;
  private conn = -1;
  constructor(private readonly timers: ReplayTimers) {}
  start(tsMs: number): void {
    if (this.update >= 0) return;
    this.update = tsMs + this.timers.updateSeconds * 1000;
    this.expire = tsMs + this.timers.expireSeconds * 1000;
    this.conn = tsMs + CONNECTION_TICK_MS;
  }
  get next(): number { return this.update < 0 ? Infinity : Math.min(this.update, this.expire, this.conn); }
  /** The tick due at `next`, advancing the schedule. */
  take(): ShardTask {
    const at = this.next;
    const tick: ShardTask = { op: 'tick' };
    if (at === this.update) { tick.updateMs = at; this.update += this.timers.updateSeconds * 1000; }
    if (at === this.expire) { tick.expireMs = at; this.expire += this.timers.expireSeconds * 1000; }
    if (at === this.conn) { tick.connectionMs = at; this.conn += CONNECTION_TICK_MS; }
    return tick;
  }
}

/** Replays `opts.file`; every flow that leaves a table goes to `sink`. */
export async function replayCapture(opts: ReplayOptions, sink: SortedFlowSink): Promise<ReplayResult> {
  const n = Math.max(1, Math.min(opts.workers, 64));
  if (n > availableParallelism() * 4) throw new Error(`--workers ${n}: more than 4 per CPU makes no sense here`);
  const reader = await CaptureReader.open(opts.file, { linkTypeOverride: opts.linkType });
  const counters: Record<string, bigint> = {};
  const onReply = (r: ShardReply): void => {
    let start = 0;
    r.keys.forEach((k, i) => { sink.add(k, r.data.subarray(start, r.ends[i])); start = r.ends[i]; });
    for (const [k, v] of Object.entries(r.counters ?? {})) counters[k] = (counters[k] ?? 0n) + BigInt(v);
  };
  const clock = opts.timers ? new TickClock(opts.timers) : undefined;
  const batchPackets = Math.min(opts.batchPackets ?? 8192, 65536);
  try {
    const afterTick = opts.afterTick ?? (async () => {});
    if (n === 1 && !opts.threads) await replayInPlace(reader, new Shard(opts.shard), onReply, sink, clock, batchPackets, afterTick);
    else await replayThreads(reader, n, opts.shard, onReply, clock, batchPackets, afterTick);
  } finally {
    await reader.close();
  }
  return { counters, truncatedTail: reader.stats.truncatedTail };
}

/**
 * Cuts each batch read at the tick boundaries and hands the pieces to
 * `process`, running the due ticks in between with `tick`.
 */
async function walkBatch(view: () => DataView, bytes: number, packets: number, clock: TickClock | undefined,
                         process: (offset: number, bytes: number, packets: number) => Promise<void>,
                         tick: (t: ShardTask) => Promise<void>): Promise<void> {
  let off = 0;
  let left = packets;
  while (left > 0) {
    let take = left, len = bytes - off;
    if (clock) {
      // A fresh view each time: processing may grow (and detach) the memory.
      const dv = view();
      clock.start(Number(dv.getBigInt64(off, true) / 1_000_000n));
      [take, len] = recordsBefore(dv, off, bytes - off, left, clock.next);
      if (take === 0) { await tick(clock.take()); continue; }
    }
    await process(off, len, take);
    off += len;
    left -= take;
  }
}

/** One table in this thread: the reader writes straight into the core's input region. */
async function replayInPlace(reader: CaptureReader, shard: Shard, onReply: (r: ShardReply) => void, sink: SortedFlowSink,
                             clock: TickClock | undefined, batchPackets: number, afterTick: () => Promise<void>): Promise<void> {
  const emit = (key: string, record: Uint8Array | string): void => sink.add(key, record);
  for (;;) {
    const r = await reader.readBatch(shard.engine.inputView(), batchPackets);
    if (r.packets === 0) break;
    const view = () => { const input = shard.engine.inputView(); return new DataView(input.buffer, input.byteOffset, input.byteLength); };
    await walkBatch(view, r.bytes, r.packets, clock,
      async (off, len, take) => shard.processInPlace(off, len, take, emit),
      async (t) => { onReply(shard.handle(t)); await afterTick(); });
  }
  shard.engine.stop();
  shard.emitTo(emit);
  onReply({ keys: [], ends: [], data: new Uint8Array(0), counters: shard.counters() });
}

/** Tables in worker threads: the core of this thread splits each batch by shard (assembly/shard.ts). */
async function replayThreads(reader: CaptureReader, n: number, config: ShardConfig, onReply: (r: ShardReply) => void,
                             clock: TickClock | undefined, batchPackets: number, afterTick: () => Promise<void>): Promise<void> {
  const splitter = loadCore(false, 1024);
  const handles: ShardHandle[] = [];
  try {
    for (let i = 0; i < n; i++) handles.push(threadShard(config));
    const feeds = handles.map((h) => new ShardFeed(h, onReply, batchPackets));
    for (;;) {
      const r = await reader.readBatch(new Uint8Array(splitter.memory.buffer, splitter.inputBuffer(), splitter.inputCapacity()), batchPackets);
      if (r.packets === 0) break;
      const view = () => new DataView(splitter.memory.buffer, splitter.inputBuffer(), splitter.inputCapacity());
      await walkBatch(view, r.bytes, r.packets, clock, async (off, len, take) => {
        splitter.scatterBatch(splitter.inputBuffer() + off, len, take, n);
        for (let s = 0; s < n; s++) {
          const packets = splitter.stagingPackets(s);
          if (packets === 0) continue;
          const at = splitter.stagingAddr(s);
          await feeds[s].append(new Uint8Array(splitter.memory.buffer, at, splitter.stagingBytesOf(s)), packets);
        }
      }, async (t) => { await Promise.all(feeds.map((f) => f.control(t))); await afterTick(); });
    }
    await Promise.all(feeds.map((f) => f.control({ op: 'stop' })));
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
}

