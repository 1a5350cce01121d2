/**
 * What one shard (one flow table) does with a task, wherever it runs: in a
 * piscina worker (worker.ts) or in the calling thread (pool.ts localShard).
 * Both run this same code, so their outputs cannot differ.
 *
 * A shard receives every chunk of frames and keeps its own packets
 * (assembly/flow/feed.ts); with packet-time timers, it also runs the ticks
 * itself, between the same two packets as every other shard. In a file
 * replay, each shard gets its own records instead, dealt out by the reader
 * (FramesTask.dealt) or split off by the first shard (FramesTask.split),
 * with the ticks to run between them (FramesTask.presplit).
 */
import { FlowEngine, updateRemovalMs, type EngineOptions } from '../engine/flow-engine.js';
import type { FlowEvent } from '../flow/types.js';
import { frameTimeMs, type FramesFormat } from '../capture/pcapfile.js';
import { encodeRecord, type FlowFormat } from '../format/writer.js';
import type { FlowOut } from './sorted-output.js';
import { TickClock, type ReplayTimers, type Tick } from './tick-clock.js';

export interface ShardConfig {
  engine: EngineOptions;
  format: FlowFormat;
  /** Events whose flows are returned (others, e.g. 'update', are dropped). */
  events: FlowEvent[];
  /** Leave LastUpdateMetric out of the records (file replay: it only repeats Metric). */
  dropLastUpdateMetric: boolean;
  /** This shard's number, and how many there are: a shard keeps the packets assembly/shard.ts gives it. */
  index: number;
  count: number;
  /** Skydive's ticks on packet time; none = one table for the whole capture. */
  timers?: ReplayTimers;
  /**
   * The splitting shard's memory (a file replay): FramesTask.from is an offset in it. Given
   * once, with the thread: a shared buffer in every task's message cost a clone each time.
   */
  peer?: WebAssembly.Memory;
}

/** Whole records in the layout of `format`; `data` absent when they are already in the core's memory. */
export interface FramesTask {
  op: 'frames';
  /** Records to copy to `address` first. */
  data?: Uint8Array;
  /** Or where they are in ShardConfig.peer. */
  from?: number;
  /** The records' address in the core's memory (default: its input region). */
  address?: number;
  format: FramesFormat;
  bytes: number;
  records: number;
  /** ns per pcap ts_frac unit. */
  fracToNs: number;
  /** Link type of every record (pcap), or -1 for each record's own (batch). */
  linkType: number;
  /** The first shard of a split: the address of its split table (SPLIT_ENTRY bytes per shard; bases set, counts reset here). */
  split?: number;
  /** Records a first shard split off for this one: the ticks it ran between them, none of this shard's own timers. */
  presplit?: PresplitTick[];
  /**
   * Records the reader dealt out (native/pcapshard.c), with `presplit` ticks: those marked
   * BATCH_OWNED are this shard's, the others may be any shard's (shardOf decides).
   */
  dealt?: boolean;
}

/** A tick the splitting shard ran, and how many of this shard's records came before it. */
export interface PresplitTick { tick: Tick; after: number }

/** What the splitting shard wrote for the others: per shard, the region's bytes and records, and the ticks between them. */
export interface SplitResult {
  bytes: number[];
  records: number[];
  /** Each tick run, with the records of each shard's region before it. */
  ticks: { tick: Tick; after: number[] }[];
}

/** Bytes per shard in a split table: u32 region address, u32 bytes used, u32 records (assembly/flow/feed.ts). */
export const SPLIT_ENTRY = 12;

/**
 * Capture stop: the flows leave the table in key order, at most `maxFlows` per task, until `done`.
 * `recycle`: buffers of groups this shard gave before, written out since (see recycleGroupData).
 */
export interface StopTask { op: 'stop'; maxFlows: number; recycle?: ArrayBuffer[] }

/** Where the records of a frames task are, when not yet in the shard's memory: copied in by the shard. */
export interface SharedInput {
  sab: SharedArrayBuffer;
  /** Byte offset of the records in `sab`. */
  offset: number;
}

/** Wall-clock ticks of a live capture (with packet-time timers, a shard ticks by itself). */
export interface TickTask extends Tick { op: 'tick' }

/** A live capture's periodic stats: the core's counters and the table size, nothing else changes. */
export interface CountersTask { op: 'counters' }

/** Room of `bytes` in the shard's memory for the reader to fill (when it can: ShardConfig.engine.memory). */
export interface InputTask { op: 'input'; bytes: number }

export type ShardTask = FramesTask | TickTask | StopTask | CountersTask | InputTask;

/** How a task ended: a stop is done once the table is empty, and then gives the core's counters. */
export interface ShardStatus {
  done?: boolean;
  /** As decimal strings: bigint-safe over postMessage. */
  counters?: Record<string, string>;
  /** Flows in the table (a `counters` task). */
  tableSize?: number;
  /** The address of the room an `input` task asked for. */
  input?: number;
  /** What a splitting frames task wrote for the other shards. */
  split?: SplitResult;
}

/** Encoded flows in bulk: one buffer, record i at [ends[i-1], ends[i]), with its sort key. */
export interface FlowGroup {
  keys: string[];
  ends: number[];
  data: Uint8Array;
  /** In a ShardReply: how many of the task's ticks ran before these flows left (ShardReply.groups). */
  tick?: number;
}

/** The records of a group, as views of its data, in order. */
export function groupRecords(group: FlowGroup): Uint8Array[] {
  const out: Uint8Array[] = new Array(group.ends.length);
  let start = 0;
  group.ends.forEach((end, i) => { out[i] = group.data.subarray(start, end); start = end; });
  return out;
}

/** What a worker thread sends back for a task. */
export interface ShardReply extends ShardStatus {
  /**
   * The flows that left the table, cut at the ticks, in tick order: the flows of a group with
   * `tick` k left after the k-th tick run by this task (the task's start for 0) and before the
   * next one; `tick` equal to `ticks`: after the last tick. Groups with no flow are left out.
   * Every shard runs the same ticks in the same task.
   */
  groups: FlowGroup[];
  /** Ticks run by the task. */
  ticks: number;
}

/** `task`, with its records taken from `input` when given. */
export function withInput(task: ShardTask, input: SharedInput | undefined): ShardTask {
  if (task.op !== 'frames' || !input) return task;
  return { ...task, data: new Uint8Array(input.sab, input.offset, task.bytes) };
}

/** A stamp limit no record reaches (feedRecords' limitNs without a tick due). */
export const NEVER = 2n ** 63n - 1n;

export class Shard {
  readonly engine: FlowEngine;
  private readonly keep: Set<FlowEvent>;
  private readonly clock: TickClock | undefined;

  constructor(private readonly config: ShardConfig) {
    this.engine = new FlowEngine(config.engine);
    this.keep = new Set(config.events);
    this.clock = config.timers ? new TickClock(config.timers, updateRemovalMs(config.engine)) : undefined;
  }

  /** Flows left at the stop, in key order, and how many have gone. */
  private stopOrder: Uint32Array | undefined;
  private stopped = 0;

  /** Runs a task; the flows that leave the table go to `out`, cut at every tick. */
  handle(task: ShardTask, out: FlowOut): ShardStatus {
    switch (task.op) {
      case 'frames': return this.frames(task, out);
      case 'tick':
        this.tick(task);
        this.emitTo(out);
        return {};
      case 'stop':
        if (task.recycle) recycleGroupData(task.recycle);
        return this.stop(task.maxFlows, out);
      case 'counters': return { counters: this.counters(), tableSize: this.engine.tableSize() };
      case 'input': {
        const input = this.engine.core.inputAlloc(task.bytes);
        if (input === 0) throw new Error(`flow table: no memory for ${task.bytes} bytes of input`);
        return { input };
      }
    }
  }

  private stop(maxFlows: number, out: FlowOut): ShardStatus {
    if (!this.stopOrder) {
      this.stopOrder = this.engine.stopBegin();
    }
    const end = Math.min(this.stopped + Math.max(1, maxFlows), this.stopOrder.length);
    for (let i = this.stopped; i < end; i++) this.engine.stopFlow(this.stopOrder[i]);
    this.stopped = end;
    this.emitTo(out);
    return end < this.stopOrder.length ? { done: false } : { done: true, counters: this.counters() };
  }

  private frames(task: FramesTask, out: FlowOut): ShardStatus {
    const core = this.engine.core;
    const base = task.address ?? core.inputBuffer();
    const data = task.from === undefined ? task.data : new Uint8Array(this.config.peer!.buffer, task.from, task.bytes);
    if (data) new Uint8Array(core.memory.buffer, base, task.bytes).set(data.subarray(0, task.bytes));
    if (task.presplit) return this.presplitFrames(task, base, out);
    const split = task.split ?? 0;
    const count = this.config.count;
    // A fresh view each time: the table's memory may grow (and a memory that is not shared then moves) while it works.
    const entries = (): Uint32Array => new Uint32Array(core.memory.buffer, split, count * SPLIT_ENTRY / 4);
    const column = (c: number): number[] => { const e = entries(); return Array.from({ length: count }, (_, k) => e[3 * k + c]); };
    const ticks: SplitResult['ticks'] = [];
    if (split !== 0) for (let k = 0, e = entries(); k < count; k++) e[3 * k + 1] = e[3 * k + 2] = 0;
    let off = 0;
    let left = task.records;
    while (left > 0) {
      let limitNs = NEVER;
      if (this.clock) {
        if (!this.clock.started) this.clock.start(frameTimeMs(task.format, new DataView(core.memory.buffer, base), off, task.fracToNs));
        limitNs = BigInt(this.clock.next) * 1_000_000n;
      }
      off += core.feedRecords(task.format, base + off, task.bytes - off, left, task.fracToNs, task.linkType, limitNs, this.config.index, this.config.count, split);
      const fed = core.feedRecordCount();
      left -= fed;
      if (fed > 0) this.clock?.noteRecords();
      if (left === 0) break;
      // Stopped early: at a tick, or at a record that overruns the chunk (counted by the core as bad_records).
      if (!this.clock || task.bytes - off < 16) break;
      const at = frameTimeMs(task.format, new DataView(core.memory.buffer, base, task.bytes), off, task.fracToNs);
      if (at < this.clock.next) break;
      // A jump in packet time: the ticks that would change nothing are not taken (tick-clock.ts).
      this.clock.skipIdle(at);
      const tick = this.clock.take();
      if (split !== 0) ticks.push({ tick, after: column(2) });
      this.tick(tick);
      this.emitTo(out);
      out.endGroup();
    }
    this.emitTo(out);
    return split === 0 ? {} : { split: { bytes: column(1), records: column(2), ticks } };
  }

  /** Records split off for this shard (all its own) or dealt to it, with the ticks between them. */
  private presplitFrames(task: FramesTask, base: number, out: FlowOut): ShardStatus {
    const core = this.engine.core;
    const [shard, shards] = task.dealt ? [this.config.index, this.config.count] : [0, 1];
    let off = 0;
    let fed = 0;
    const feed = (upTo: number): void => {
      if (upTo <= fed) return;
      off += core.feedRecords(task.format, base + off, task.bytes - off, upTo - fed, task.fracToNs, task.linkType, NEVER, shard, shards, 0);
      fed += core.feedRecordCount();
    };
    for (const t of task.presplit!) {
      feed(t.after);
      this.tick(t.tick);
      this.emitTo(out);
      out.endGroup();
    }
    feed(task.records);
    this.emitTo(out);
    return {};
  }

  private tick(t: Tick): void {
    if (t.updateMs !== undefined) this.engine.updateTick(t.updateMs);
    if (t.expireMs !== undefined) this.engine.expireTick(t.expireMs);
    if (t.connectionMs !== undefined) this.engine.connectionTick(t.connectionMs);
  }

  /**
   * Encodes the flows that left the table, one by one, into `out`. The core
   * writes the JSON formats itself; protobuf goes through Flow objects. The
   * core's sort keys order every format alike.
   */
  private emitTo(out: FlowOut): void {
    const format = this.config.format;
    if (format !== 'protobuf') {
      this.engine.drainJSON(this.keep, this.config.dropLastUpdateMetric, out);
      return;
    }
    this.engine.drain((e) => {
      if (!this.keep.has(e.event)) return;
      if (this.config.dropLastUpdateMetric) delete e.flow.LastUpdateMetric;
      out.add(this.engine.sortKey(e.address), encodeRecord(e.flow, format));
    });
  }

  /** The core's counters, as decimal strings (bigint-safe over postMessage). */
  counters(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.engine.counters()).map(([k, v]) => [k, v.toString()]));
  }
}

/**
 * Room for the records of a group being filled, kept between FlowGroups (a
 * thread fills one at a time): allocated and grown rarely, not per task.
 */
let spareScratch: Buffer | undefined;

/**
 * Buffers of groups that were written out and came back (recycleGroupData).
 * A capture stop sends every flow through group buffers: fresh ones for each
 * group were garbage the engine counts as external memory and collects late,
 * which made the stop of a large table add about 100 MB of RSS.
 */
const spareData: ArrayBuffer[] = [];
const SPARE_DATA_MAX = 4;

/** Gives buffers of groups already written (a stop task's `recycle`) back to this thread's FlowGroups. */
function recycleGroupData(buffers: readonly ArrayBuffer[]): void {
  for (const b of buffers) if (spareData.length < SPARE_DATA_MAX) spareData.push(b);
}

/** The scratch of a FlowGroups, at first. */
const SCRATCH_BYTES = 1 << 20;

/** A buffer of `size` (> 0) bytes for a group: a recycled one when one is large enough. */
function groupData(size: number): Buffer {
  const i = spareData.findIndex((b) => b.byteLength >= size);
  // Not from the shared pool (Buffer.allocUnsafe): this buffer may be transferred to another thread.
  // Large ones are rounded up to a power of two, so that the next group, of a similar size, fits.
  const capacity = size < 1 << 16 ? size : 2 ** Math.ceil(Math.log2(size));
  const buffer = i >= 0 ? spareData.splice(i, 1)[0] : Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer;
  return Buffer.from(buffer, 0, size);
}

/**
 * A FlowOut for a reply that crosses a thread boundary: each group's records
 * in one buffer (transferred, not copied), with their keys. A tick that ends
 * no flow only counts (no group per tick: a task may run many).
 */
export class FlowGroups implements FlowOut {
  readonly groups: FlowGroup[] = [];
  /** Ticks ended so far (endGroup calls). */
  ticks = 0;
  private keys: string[] = [];
  private ends: number[] = [];
  // Records are copied as they come (a record may be a view of the core's
  // memory that the next one overwrites) into a scratch buffer, and out of
  // it at the end of a small group; a large one keeps the scratch.
  private scratch: Buffer | undefined;
  private size = 0;

  add(key: string, record: Uint8Array | string): void {
    const n = typeof record === 'string' ? Buffer.byteLength(record) : record.length;
    const scratch = this.room(n);
    if (typeof record === 'string') scratch.write(record, this.size);
    else scratch.set(record, this.size);
    this.size += n;
    this.ends.push(this.size);
    this.keys.push(key);
  }

  addRun(keys: string[], ends: number[], bytes: Uint8Array): void {
    this.room(bytes.length).set(bytes, this.size);
    for (let i = 0; i < keys.length; i++) {
      this.ends.push(this.size + ends[i]);
      this.keys.push(keys[i]);
    }
    this.size += bytes.length;
  }

  /** The scratch buffer, with room for `n` more bytes. */
  private room(n: number): Buffer {
    let scratch = this.scratch;
    if (!scratch) {
      scratch = this.scratch = spareScratch ?? groupData(SCRATCH_BYTES);
      spareScratch = undefined;
    }
    if (this.size + n > scratch.length) {
      const bigger = groupData(Math.max(scratch.length * 2, this.size + n));
      scratch.copy(bigger, 0, 0, this.size);
      scratch = this.scratch = bigger;
    }
    return scratch;
  }

  phase(): number { return this.size & 7; }

  endGroup(): void {
    this.close();
    this.ticks++;
  }

  /** Keeps the flows added since the last tick as a group, if any. */
  private close(): void {
    if (this.keys.length === 0) return;
    const scratch = this.scratch!;
    let data: Buffer;
    if (this.size * 2 >= scratch.length) {
      // Half full or more (a stop's groups): the scratch is the group's data, not copied; the next group takes another.
      data = scratch.subarray(0, this.size);
      this.scratch = undefined;
    } else {
      data = groupData(this.size);
      scratch.copy(data, 0, 0, this.size);
    }
    this.groups.push({ keys: this.keys, ends: this.ends, data, tick: this.ticks });
    this.keys = [];
    this.ends = [];
    this.size = 0;
  }

  /** Closes the last group and gives them all (see ShardReply.groups; `ticks` says how many ticks ended them). */
  finish(): FlowGroup[] {
    this.close();
    if (this.scratch) spareScratch = this.scratch;
    this.scratch = undefined;
    return this.groups;
  }
}
