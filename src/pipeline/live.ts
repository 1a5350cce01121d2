/**
 * The pipeline of a live capture: a source offers batches of frames (batch
 * records, see src/capture/pcapfile.ts) as they come; every batch goes to
 * every shard, each keeping its own packets (assembly/shard.ts). Unlike a
 * file, a live source cannot wait: when `maxInFlight` batches are already
 * queued the batch is dropped and its packets counted (PacketsDropped), so
 * memory stays bounded by configuration whatever the traffic.
 *
 * Skydive's table timers follow the wall clock here: the update, expire and
 * 30-second connection ticks go to every shard behind the batches offered
 * before them. Flows that leave a table (and, on update ticks, the updated
 * ones) go to `onFlows`, shard by shard, as they come back.
 */
import { FRAMES_BATCH } from '../capture/pcapfile.js';
import type { FlowGroup, FramesTask, ShardConfig, ShardReply, ShardTask } from './shard-task.js';
import { localShard, threadShard, type ShardHandle } from './pool.js';
import { TickClock, type ReplayTimers } from './tick-clock.js';

export interface LiveOptions {
  /** Number of flow tables; 1 runs in the calling thread unless `threads`. */
  workers: number;
  threads?: boolean;
  shard: Omit<ShardConfig, 'index' | 'count' | 'timers'>;
  /** flow.update / flow.expire in seconds. */
  timers: ReplayTimers;
  /** Batches queued at most (each in its own shared buffer); more are dropped. Default 8. */
  maxInFlight?: number;
  /** Largest batch in bytes (default 4 MiB). */
  batchBytes?: number;
  /** Receives the flows that left a table or were updated, as encoded records with their keys. */
  onFlows: (flows: FlowGroup) => void;
  /** Called when a shard task fails; the pipeline keeps going (default: a line on stderr). */
  onError?: (err: unknown) => void;
  /** Wall clock in ms (tests). */
  now?: () => number;
  /** How often due ticks are checked, in ms (default 1000). */
  tickCheckMs?: number;
}

export interface LiveStats {
  /** Packets offered. */
  PacketsReceived: number;
  /** Packets dropped because the tables were behind. */
  PacketsDropped: number;
  /** Batches dropped for the same reason. */
  BatchesDropped: number;
}

const STOP_GROUP = 4096;
const DEFAULT_SLOT_BYTES = 4 << 20;

/** How the records of a batch are laid out (see FramesTask). */
export type FramesLayout = Pick<FramesTask, 'format' | 'fracToNs' | 'linkType'>;
const BATCH: FramesLayout = { format: FRAMES_BATCH, fracToNs: 0, linkType: -1 };

export class LivePipeline {
  private readonly handles: ShardHandle[];
  private readonly free: SharedArrayBuffer[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly clock: TickClock;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private stopped = false;
  readonly stats: LiveStats = { PacketsReceived: 0, PacketsDropped: 0, BatchesDropped: 0 };

  constructor(private readonly opts: LiveOptions) {
    const n = Math.max(1, Math.min(opts.workers, 64));
    const config = (index: number): ShardConfig => ({ ...opts.shard, index, count: n });
    this.handles = Array.from({ length: n }, (_, i) => (n === 1 && !opts.threads ? localShard(config(i)) : threadShard(config(i))));
    const slots = opts.maxInFlight ?? 8;
    for (let i = 0; i < slots; i++) this.free.push(new SharedArrayBuffer(this.slotBytes));
    this.now = opts.now ?? Date.now;
    this.clock = new TickClock(opts.timers);
    this.clock.start(this.now());
    this.timer = setInterval(() => this.checkTicks(), opts.tickCheckMs ?? 1000);
    this.timer.unref();
  }

  /**
   * Offers `records` whole records held in `data`: batch records, or raw
   * classic-pcap records when `layout` says so. They are copied (the caller
   * may reuse `data` at once); false when they were dropped because every
   * slot is still being processed, or the pipeline is stopped.
   */
  offer(data: Uint8Array, records: number, layout: FramesLayout = BATCH): boolean {
    this.stats.PacketsReceived += records;
    const sab = this.stopped ? undefined : this.free.pop();
    if (!sab || data.length > sab.byteLength) {
      if (sab) this.release(sab);
      this.stats.PacketsDropped += records;
      this.stats.BatchesDropped++;
      return false;
    }
    new Uint8Array(sab).set(data);
    const task: ShardTask = { op: 'frames', bytes: data.length, records, ...layout };
    this.track(Promise.all(this.handles.map((h) => h.run(task, { sab, offset: 0 }).then((r) => this.deliver(r))))
      .finally(() => this.release(sab)));
    return true;
  }

  /**
   * For sources that can be paused (a TCP stream): waits for a free slot
   * instead of dropping. False only when the pipeline is stopped.
   */
  async offerWait(data: Uint8Array, records: number, layout: FramesLayout = BATCH): Promise<boolean> {
    if (data.length > this.slotBytes) throw new RangeError(`a batch of ${data.length} bytes is larger than a slot (${this.slotBytes})`);
    while (this.free.length === 0 && !this.stopped) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.offer(data, records, layout);
  }

  /** Largest batch `offer` takes, in bytes. */
  get slotBytes(): number { return this.opts.batchBytes ?? DEFAULT_SLOT_BYTES; }

  private release(sab: SharedArrayBuffer): void {
    this.free.push(sab);
    this.waiters.shift()?.();
  }

  /** Runs the ticks due by now (also called on a timer). */
  checkTicks(): void {
    if (this.stopped) return;
    const now = this.now();
    while (this.clock.next <= now) {
      const tick: ShardTask = { op: 'tick', ...this.clock.take() };
      for (const h of this.handles) this.track(h.run(tick).then((r) => this.deliver(r)));
    }
  }

  /** Resolves once every batch and tick given so far has been processed. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /**
   * The core counters summed over the shards, and the flows in the tables, taken behind the
   * work queued so far (a capture's periodic Stats).
   */
  async counters(): Promise<{ counters: Record<string, bigint>; tableSize: number }> {
    const counters: Record<string, bigint> = {};
    let tableSize = 0;
    if (this.stopped) return { counters, tableSize };
    const replies = await Promise.all(this.handles.map((h) => h.run({ op: 'counters' })));
    for (const r of replies) {
      tableSize += r.tableSize ?? 0;
      for (const [k, v] of Object.entries(r.counters ?? {})) counters[k] = (counters[k] ?? 0n) + BigInt(v);
    }
    return { counters, tableSize };
  }

  /** Stops: waits for the queued work, then every flow leaves its table (sent to onFlows); returns the summed core counters. */
  async stop(): Promise<Record<string, bigint>> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const w of this.waiters.splice(0)) w();
    await this.settle();
    const counters: Record<string, bigint> = {};
    try {
      await Promise.all(this.handles.map(async (h) => {
        for (;;) {
          const r = await h.run({ op: 'stop', maxFlows: STOP_GROUP });
          this.deliver(r);
          if (r.done) {
            for (const [k, v] of Object.entries(r.counters ?? {})) counters[k] = (counters[k] ?? 0n) + BigInt(v);
            return;
          }
        }
      }));
    } finally {
      await Promise.all(this.handles.map((h) => h.close()));
    }
    return counters;
  }

  private deliver(r: ShardReply): void {
    for (const g of r.groups) if (g.keys.length > 0) this.opts.onFlows(g);
  }

  private track(p: Promise<unknown>): void {
    const report = this.opts.onError ?? ((e: unknown) => { process.stderr.write(`skydive: flow table task failed: ${String(e)}\n`); });
    const t: Promise<void> = p.then(() => {}, report)
      .finally(() => this.pending.delete(t));
    this.pending.add(t);
  }
}
