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
import { CaptureReader, RECORD_HEADER_SIZE, recordSize } from '../capture/pcapfile.js';
import { loadCore, type CoreExports } from '../wasm/module.js';
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

function localShard(config: ShardConfig): ShardHandle {
  const shard = new Shard(config);
  return {
    run: async (task) => shard.handle(task),
    close: async () => {},
  };
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

/** One shard's batches: a few SharedArrayBuffers, filled here, processed there. */
class ShardFeed {
  private readonly slots: SharedArrayBuffer[] = [];
  private readonly busy: (Promise<void> | null)[] = [];
  private slot = 0;
  private view: Uint8Array;
  private dv: DataView;
  used = 0;
  packets = 0;

  constructor(private readonly handle: ShardHandle, private readonly onReply: (r: ShardReply) => void, private readonly maxPackets: number) {
    for (let i = 0; i < IN_FLIGHT; i++) { this.slots.push(new SharedArrayBuffer(BATCH_BYTES)); this.busy.push(null); }
    this.view = new Uint8Array(this.slots[0]);
    this.dv = new DataView(this.slots[0]);
  }

  /** Room for a record of `size` bytes in the current batch? */
  fits(size: number): boolean { return this.packets < this.maxPackets && this.used + size <= BATCH_BYTES; }

  append(src: Uint8Array, start: number, size: number): void {
    this.view.set(src.subarray(start, start + size), this.used);
    this.used += size;
    this.packets++;
  }

  /** Hands the current batch to the shard and waits until the next slot is free. */
  async submit(): Promise<void> {
    if (this.packets === 0) return;
    const sab = this.slots[this.slot];
    const task: ShardTask = { op: 'batch', data: new Uint8Array(sab), bytes: this.used, packets: this.packets };
    this.busy[this.slot] = this.handle.run(task, sab).then(this.onReply);
    this.slot = (this.slot + 1) % IN_FLIGHT;
    this.used = 0;
    this.packets = 0;
    this.view = new Uint8Array(this.slots[this.slot]);
    this.dv = new DataView(this.slots[this.slot]);
    const pending = this.busy[this.slot];
    if (pending) { await pending; this.busy[this.slot] = null; }
  }

  /** Runs a control task after every batch already submitted. */
  async control(task: ShardTask): Promise<void> {
    await this.submit();
    await this.drain();
    this.onReply(await this.handle.run(task));
  }

  async drain(): Promise<void> {
    await Promise.all(this.busy.filter((b): b is Promise<void> => b !== null));
    this.busy.fill(null);
  }
}

/** Replays `opts.file`; every flow that leaves a table goes to `sink`. */
export async function replayCapture(opts: ReplayOptions, sink: SortedFlowSink): Promise<ReplayResult> {
  const n = Math.max(1, Math.min(opts.workers, 64));
  const threads = n > 1 || opts.threads === true;
  if (n > availableParallelism() * 4) throw new Error(`--workers ${n}: more than 4 per CPU makes no sense here`);
  const reader = await CaptureReader.open(opts.file, { linkTypeOverride: opts.linkType });
  const classifier: CoreExports | undefined = n > 1 ? loadCore(false, 1024) : undefined;
  const handles: ShardHandle[] = [];
  const counters: Record<string, bigint> = {};
  const onReply = (r: ShardReply): void => {
    let start = 0;
    r.keys.forEach((k, i) => { sink.add(k, r.data.subarray(start, r.ends[i])); start = r.ends[i]; });
    for (const [k, v] of Object.entries(r.counters ?? {})) counters[k] = (counters[k] ?? 0n) + BigInt(v);
  };
  try {
    for (let i = 0; i < n; i++) handles.push(threads ? threadShard(opts.shard) : localShard(opts.shard));
    const feeds = handles.map((h) => new ShardFeed(h, onReply, opts.batchPackets ?? 8192));
    const readBuf = classifier
      ? () => new Uint8Array(classifier.memory.buffer, classifier.inputBuffer(), classifier.inputCapacity())
      : (() => { const b = new Uint8Array(BATCH_BYTES); return () => b; })();
    const shardOut = new Uint8Array(8192);
    const timers = opts.timers;
    let nextUpdate = -1, nextExpire = -1, nextConn = -1;
    for (;;) {
      const buf = readBuf();
      const r = await reader.readBatch(buf, 8192);
      if (r.packets === 0) break;
      if (classifier) {
        classifier.shardBatch(classifier.inputBuffer(), r.bytes, r.packets, n, classifier.outputBuffer());
        shardOut.set(new Uint8Array(classifier.memory.buffer, classifier.outputBuffer(), r.packets));
      }
      const src = readBuf();
      const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
      let p = 0;
      for (let i = 0; i < r.packets; i++) {
        const size = recordSize(dv.getUint32(p + 8, true));
        if (timers) {
          const tsMs = Number(dv.getBigInt64(p, true) / 1_000_000n);
          if (nextUpdate < 0) {
            nextUpdate = tsMs + timers.updateSeconds * 1000;
            nextExpire = tsMs + timers.expireSeconds * 1000;
            nextConn = tsMs + CONNECTION_TICK_MS;
          }
          while (tsMs >= Math.min(nextUpdate, nextExpire, nextConn)) {
            const at = Math.min(nextUpdate, nextExpire, nextConn);
            const tick: ShardTask = { op: 'tick' };
            if (at === nextUpdate) { tick.updateMs = at; nextUpdate += timers.updateSeconds * 1000; }
            if (at === nextExpire) { tick.expireMs = at; nextExpire += timers.expireSeconds * 1000; }
            if (at === nextConn) { tick.connectionMs = at; nextConn += CONNECTION_TICK_MS; }
            await Promise.all(feeds.map((f) => f.control(tick)));
          }
        }
        const feed = feeds[classifier ? shardOut[i] : 0];
        if (!feed.fits(size)) await feed.submit();
        feed.append(src, p, size);
        p += size;
      }
    }
    for (const f of feeds) await f.submit();
    await Promise.all(feeds.map((f) => f.control({ op: 'stop' })));
  } finally {
    await reader.close();
    await Promise.all(handles.map((h) => h.close()));
  }
  return { counters, truncatedTail: reader.stats.truncatedTail };
}

export { RECORD_HEADER_SIZE };
