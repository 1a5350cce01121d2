/**
 * Replays a capture file through one or more flow tables (shards).
 *
 * The calling thread reads the file in chunks of whole records: a classic
 * pcap straight from disk into the chunk, as it is (no copy per packet in
 * JS); pcapng converted to batch records. Every shard's core runs in a shared
 * memory, which holds the chunk slots: the first shard runs in this thread,
 * which reads the next chunk into it while the table works on this one; each
 * other shard is a piscina pool of exactly one thread (its state never moves,
 * its tasks run in order) that copies every chunk into its own memory. Each
 * shard keeps the packets that are its own (assembly/shard.ts). A bounded
 * number of chunks is in flight: the reader waits for the oldest to come back
 * (a file never drops packets).
 *
 * Timers, when enabled, follow packet time and run inside every shard
 * (shard-task.ts). Replies are taken in chunk order, and the flows each shard
 * returns are cut at the ticks, so the flows that left every table before a
 * tick are all known once it has run, and are written then, in canonical
 * order (sorted-output.ts). At the end, every table gives its remaining flows
 * in that order, a bounded group at a time, merged into the output
 * (merge.ts). So the output does not depend on the number of shards or on
 * chunk sizes, and memory does not grow with the number of flows written.
 */
import { availableParallelism } from 'node:os';
import { CaptureReader, FRAMES_BATCH, type ReadResult } from '../capture/pcapfile.js';
import { groupRecords, type FlowGroup, type FramesTask, type ShardConfig, type ShardReply } from './shard-task.js';
import { SortedFlowSink } from './sorted-output.js';
import { mergeSorted, stopSource, type GroupSource } from './merge.js';
import type { FlowWriter } from '../format/writer.js';
import type { ReplayTimers } from './tick-clock.js';
import { localShard, threadShard, type ShardHandle } from './pool.js';
import { sharedCoreMemory } from '../wasm/module.js';

export type { ReplayTimers } from './tick-clock.js';

export interface ReplayOptions {
  file: string;
  linkType?: number;
  /** Configuration of every shard (its index and count are filled in here). */
  shard: Omit<ShardConfig, 'index' | 'count' | 'timers'>;
  /** Number of flow tables; the first runs in the calling thread. */
  workers: number;
  /** Every table in a worker thread, the first one too (tests compare both paths). */
  threads?: boolean;
  /** Most records per chunk. */
  batchPackets?: number;
  timers?: ReplayTimers;
}

export interface ReplayResult {
  counters: Record<string, bigint>;
  truncatedTail: boolean;
}

/** Chunk slots of each table, and their size (the pipeline's input memory: both, per table). */
const SLOTS = 4;
const SLOT_BYTES = 2 << 20;
/** Flows per group when the tables empty at the end. */
const STOP_GROUP = 1024;

/** Replays `opts.file`; every flow that leaves a table is written to `writer`. */
export async function replayCapture(opts: ReplayOptions, writer: FlowWriter): Promise<ReplayResult> {
  const n = Math.max(1, Math.min(opts.workers, 64));
  if (n > availableParallelism() * 4) throw new Error(`--workers ${n}: more than 4 per CPU makes no sense here`);
  const reader = await CaptureReader.open(opts.file, { linkTypeOverride: opts.linkType });
  const counters: Record<string, bigint> = {};
  const sink = new SortedFlowSink();
  const afterTick = async (): Promise<void> => { await sink.writeTo(writer); };
  const write = (record: Uint8Array): Promise<void> | undefined => writer.writeRecord(record);
  const addCounters = (c: Record<string, string> | undefined): void => {
    for (const [k, v] of Object.entries(c ?? {})) counters[k] = (counters[k] ?? 0n) + BigInt(v);
  };
  // Group i of every shard's reply holds the flows that left before tick i: once all are in the sink, it can be written.
  const take = async (replies: ShardReply[]): Promise<void> => {
    const last = replies[0].groups.length - 1;
    for (let g = 0; g <= last; g++) {
      for (const r of replies) addGroup(sink, r.groups[g]);
      if (g < last) sink.endGroup();
    }
    for (const r of replies) addCounters(r.counters);
    if (sink.ready) await afterTick();
  };
  const batchPackets = Math.min(opts.batchPackets ?? 65536, 1 << 20);
  const config = (index: number): ShardConfig => ({ ...opts.shard, index, count: n, timers: opts.timers });
  const frames = (bytes: number, records: number): FramesTask => ({
    op: 'frames', format: reader.framesFormat, bytes, records, fracToNs: reader.fracToNs,
    linkType: reader.framesFormat === FRAMES_BATCH ? -1 : reader.linkType,
  });
  try {
    await replayChunks(reader, n, !opts.threads, config, frames, take, batchPackets, async (sources) => {
      await afterTick();
      await mergeSorted([sink.takeOpen(), ...sources], write);
    }, addCounters);
  } finally {
    await reader.close();
  }
  return { counters, truncatedTail: reader.stats.truncatedTail };
}

/**
 * Every chunk to every shard, replies taken in chunk order. Shard 0 runs in
 * this thread when `local` (no thread to feed, no task to post: with one
 * shard, the table runs here), the others each in a thread of its own. Each
 * shard's core runs in a shared memory (wasm/module.ts sharedCoreMemory) in
 * which SLOTS chunk slots are kept: the file is read (by libuv's threads)
 * into shard 0's slot, and each other shard copies the chunk from there into
 * its own slot, while this thread works or reads the next chunk. The reader
 * waits for the chunk that last used a slot to come back from every shard
 * before it reads into it (a file never drops packets). At the end, `finish`
 * gets each shard's remaining flows as a sorted source (its counters go to
 * `addCounters` with the last group).
 */
async function replayChunks(reader: CaptureReader, n: number, local: boolean, config: (i: number) => ShardConfig,
                            frames: (bytes: number, records: number) => FramesTask,
                            take: (replies: ShardReply[]) => Promise<void>, batchPackets: number,
                            finish: (sources: GroupSource[]) => Promise<void>,
                            addCounters: (c: Record<string, string> | undefined) => void): Promise<void> {
  const handles: ShardHandle[] = [];
  const pending: Promise<ShardReply[]>[] = [];
  let reading: Promise<ReadResult> | undefined;
  try {
    const memories = Array.from({ length: n }, () => sharedCoreMemory());
    for (let i = 0; i < n; i++) {
      const c = { ...config(i), engine: { ...config(i).engine, memory: memories[i] } };
      handles.push(i === 0 && local ? localShard(c) : threadShard(c));
    }
    const slots = await Promise.all(handles.map(async (h, i) => {
      const { input } = await h.run({ op: 'input', bytes: SLOTS * SLOT_BYTES });
      return inputSlots(memories[i], input!, SLOTS);
    }));
    reading = reader.readFrames(slots[0][0], batchPackets);
    for (let c = 0; ; c++) {
      const r = await reading;
      if (r.packets === 0) break;
      const s = c % SLOTS;
      // Chunk c + 1 goes where chunk c + 1 - SLOTS was.
      while (pending.length >= SLOTS - 1) await take(await pending.shift()!);
      reading = reader.readFrames(slots[0][(c + 1) % SLOTS], batchPackets);
      const task = (i: number): FramesTask => ({ ...frames(r.bytes, r.packets), address: slots[i][s].byteOffset });
      const input = { sab: memories[0].buffer as unknown as SharedArrayBuffer, offset: slots[0][s].byteOffset };
      // The threads get their tasks first: a local shard 0 works before its run returns.
      const others = handles.slice(1).map((h, k) => h.run(task(k + 1), input));
      pending.push(Promise.all([handles[0].run(task(0)), ...others]));
    }
    while (pending.length > 0) await take(await pending.shift()!);
    await finish(handles.map((h) => stopSource(async (recycle) => {
      const reply = await h.run({ op: 'stop', maxFlows: STOP_GROUP, recycle });
      addCounters(reply.counters);
      return { group: reply.groups[0], done: reply.done === true };
    })));
  } finally {
    // A failed chunk leaves the others running: let them settle before the pools go.
    await Promise.allSettled([...pending, reading]);
    await Promise.all(handles.map((h) => h.close()));
  }
}

/** `count` chunk slots from `address` in `memory` (a shared memory grows in place and never shrinks: the views stay valid). */
function inputSlots(memory: WebAssembly.Memory, address: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, s) => new Uint8Array(memory.buffer, address + s * SLOT_BYTES, SLOT_BYTES));
}

function addGroup(sink: SortedFlowSink, g: FlowGroup): void {
  groupRecords(g).forEach((record, i) => sink.add(g.keys[i], record));
}
