/**
 * Replays a capture file through one or more flow tables (shards).
 *
 * The file is read in chunks of whole records. Every shard's core runs in a
 * shared memory, which holds its chunk slots; the first shard runs in this
 * thread, each other shard is a piscina pool of exactly one thread (its state
 * never moves, its tasks run in order). With one shard, a classic pcap is read
 * straight from disk into the chunk slot, as it is (no copy per packet in
 * JS); pcapng is converted to batch records. With more, a classic pcap file's
 * records are dealt out by the thread that reads them (native/pcapshard.c):
 * each goes, as a batch record, into the slot of the shard that owns it
 * (assembly/shard.ts), or into every slot when the reader cannot tell, for
 * the shards to decide. Other captures (pcapng, streams) go to the first
 * shard, which keeps its own packets and copies the others' into a region per
 * shard, which that shard copies into its own memory. Either way no table
 * processes the packets of another. A bounded number of chunks is in flight:
 * the reader waits for the oldest to come back (a file never drops packets).
 *
 * Timers, when enabled, follow packet time: dealt records are cut into chunks
 * at the ticks, which every shard runs after its part of the chunk; split
 * records carry the ticks the first shard ran, at the same places among
 * each shard's records (shard-task.ts). Replies are taken in chunk order, and
 * the flows each shard returns are cut at the ticks, so the flows that left
 * every table before a tick are all known once it has run, and are written
 * then, in canonical order (sorted-output.ts). At the end, every table gives
 * its remaining flows in that order, a bounded group at a time, merged into
 * the output (merge.ts). So the output does not depend on the number of
 * shards or on chunk sizes, and memory does not grow with the number of
 * flows written.
 *
 * An input that fails part way (a corrupt record header, a read error) ends
 * the replay as the end of the capture would: the flows of the records read
 * before are all written, and the error is given back (ReplayResult.inputError).
 */
import { availableParallelism } from 'node:os';
import { CaptureReader, FRAMES_BATCH, type CaptureTail, type DealtChunk, type ReadResult, type RecordDealer } from '../capture/pcapfile.js';
import { groupRecords, NEVER, SPLIT_ENTRY, type FlowGroup, type FramesTask, type ShardConfig, type ShardReply } from './shard-task.js';
import { SortedFlowSink } from './sorted-output.js';
import { mergeSorted, stopSource, type GroupSource } from './merge.js';
import type { RecordWriter } from '../format/writer.js';
import { TickClock, type ReplayTimers, type Tick } from './tick-clock.js';
import { updateRemovalMs } from '../engine/flow-engine.js';
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
  /** See SortedFlowSink: finished flows held in memory until written, at most (default SPILL_BYTES). */
  spillBytes?: number;
  /** Stops the replay at its next chunk, or before the tables give their flows: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ReplayResult {
  counters: Record<string, bigint>;
  /** Where the capture ends inside a record, and the bytes of it left unread (undefined: it does not). */
  tail?: CaptureTail;
  /** The input failed here (a corrupt record, a read error): the flows of the records before it were written. */
  inputError?: unknown;
}

/** Flow tables per CPU, and in all, that a replay may run. */
export const WORKERS_PER_CPU = 4;
export const MAX_WORKERS = 64;

/** The largest number of flow tables a replay may run on this machine, and its CPUs. */
export function workersLimit(): { max: number; cpus: number } {
  const cpus = availableParallelism();
  return { max: Math.min(MAX_WORKERS, cpus * WORKERS_PER_CPU), cpus };
}

/** Chunk slots of each table, and their size (the pipeline's input memory: both, per table). */
const SLOTS = 4;
const SLOT_BYTES = 2 << 20;
/** Flows per group when the tables empty at the end. */
const STOP_GROUP = 1024;

/** Replays `opts.file`; every flow that leaves a table is written to `writer`. */
export async function replayCapture(opts: ReplayOptions, writer: RecordWriter): Promise<ReplayResult> {
  const { max, cpus } = workersLimit();
  if (!(Number.isInteger(opts.workers) && opts.workers >= 1 && opts.workers <= max)) {
    throw new RangeError(`workers must be between 1 and ${max} (${WORKERS_PER_CPU} per CPU, ${cpus} CPUs, at most ${MAX_WORKERS}), got ${opts.workers}`);
  }
  const n = opts.workers;
  const reader = await CaptureReader.open(opts.file, { linkTypeOverride: opts.linkType });
  const counters: Record<string, bigint> = {};
  const sink = new SortedFlowSink({ spillBytes: opts.spillBytes });
  const afterTick = async (): Promise<void> => { await sink.writeTo(writer); };
  const write = (record: Uint8Array): Promise<void> | undefined => writer.writeRecord(record);
  const addCounters = (c: Record<string, string> | undefined): void => {
    for (const [k, v] of Object.entries(c ?? {})) counters[k] = (counters[k] ?? 0n) + BigInt(v);
  };
  // The flows of every shard that left between the same two ticks form one group: once all are
  // in the sink, and the tick that ends it has run, it can be written.
  const take = async (replies: ShardReply[]): Promise<void> => {
    const groups = replies.flatMap((r) => r.groups).sort((a, b) => a.tick! - b.tick!);
    let tick = 0;
    for (const g of groups) {
      if (g.tick! > tick) {
        sink.endGroup();
        tick = g.tick!;
      }
      addGroup(sink, g);
    }
    if (replies[0].ticks > tick) sink.endGroup();
    for (const r of replies) addCounters(r.counters);
    if (sink.ready) await afterTick();
  };
  const batchPackets = Math.min(opts.batchPackets ?? 65536, 1 << 20);
  const config = (index: number): ShardConfig => ({ ...opts.shard, index, count: n, timers: opts.timers });
  const frames = (bytes: number, records: number): FramesTask => ({
    op: 'frames', format: reader.framesFormat, bytes, records, fracToNs: reader.fracToNs,
    linkType: reader.framesFormat === FRAMES_BATCH ? -1 : reader.linkType,
  });
  let inputError: unknown;
  try {
    inputError = await replayChunks(reader, n, !opts.threads, config, frames, take, batchPackets, opts.signal, async (sources) => {
      await afterTick();
      await mergeSorted([...sink.takeOpen(), ...sources], write);
    }, addCounters);
  } finally {
    sink.dispose();
    await reader.close();
  }
  return { counters, tail: reader.tail, inputError };
}

/**
 * How chunks reach the tables: `read` fills chunk slot `s` (of the tables
 * that read into it), `accept` takes what a read gave, before the next read
 * starts, and `dispatch` hands the chunk in slot `s` to the tables, resolving
 * with their replies in table order.
 */
interface ChunkRoute<C extends { packets: number }> {
  read(s: number): Promise<C>;
  accept?(chunk: C): void;
  dispatch(chunk: C, s: number): Promise<ShardReply[]>;
}

/**
 * Chunks read in turn and dispatched, replies taken in chunk order. Shard 0
 * runs in this thread when `local` (no thread to feed, no task to post: with
 * one shard, the table runs here), the others each in a thread of its own.
 * Each shard's core runs in a shared memory (wasm/module.ts sharedCoreMemory)
 * in which SLOTS chunk slots are kept. With one table the file is read (by
 * libuv's threads) straight into its slot. With more, a classic pcap file's
 * records are dealt out to the tables' slots by the thread that reads them
 * (dealRoute); other captures are read into shard 0's slot, which shard 0
 * splits (splitRoute). A slot is read into again only once the chunk that
 * last used it has come back from every shard (a file never drops packets).
 * At the end, `finish` gets each shard's remaining flows as a sorted source
 * (its counters go to `addCounters` with the last group). A read that fails
 * ends the input there; its error is returned once the tables have given
 * their flows.
 */
async function replayChunks(reader: CaptureReader, n: number, local: boolean, config: (i: number) => ShardConfig,
                            frames: (bytes: number, records: number) => FramesTask,
                            take: (replies: ShardReply[]) => Promise<void>, batchPackets: number,
                            signal: AbortSignal | undefined, finish: (sources: GroupSource[]) => Promise<void>,
                            addCounters: (c: Record<string, string> | undefined) => void): Promise<unknown> {
  const handles: ShardHandle[] = [];
  const pending: Promise<ShardReply[]>[] = [];
  let reading: Promise<unknown> | undefined;
  let inputError: unknown;
  const track = (replies: Promise<ShardReply[]>): void => {
    replies.catch(() => {});
    pending.push(replies);
  };
  try {
    const memories = Array.from({ length: n }, () => sharedCoreMemory());
    for (let i = 0; i < n; i++) {
      const engine = { ...config(i).engine, memory: memories[i] };
      const c: ShardConfig = { ...config(i), engine, peer: i > 0 ? memories[0] : undefined };
      handles.push(i === 0 && local ? localShard(c) : threadShard(c));
    }
    const slots = await Promise.all(handles.map(async (h, i) => {
      const { input } = await h.run({ op: 'input', bytes: SLOTS * SLOT_BYTES });
      return inputSlots(memories[i], input!, SLOTS);
    }));
    // Every chunk read in turn, handed over, its replies taken once SLOTS - 1 others are out.
    const pump = async <C extends { packets: number }>(route: ChunkRoute<C>): Promise<void> => {
      // A read is awaited only once the chunk before it is handed over, a chunk's reply only in
      // turn: either may fail meanwhile, and is awaited (or settled) later all the same.
      const read = (s: number): Promise<C> => {
        const r = route.read(s);
        r.catch(() => {});
        reading = r;
        return r;
      };
      let next = read(0);
      for (let c = 0; ; c++) {
        const r = await next.catch((e: unknown) => {
          inputError = e ?? new Error('the capture could not be read');
          return undefined;
        });
        if (r === undefined || r.packets === 0) break;
        signal?.throwIfAborted();
        route.accept?.(r);
        // Chunk c + 1 goes where chunk c + 1 - SLOTS was.
        while (pending.length >= SLOTS - 1) await take(await pending.shift()!);
        next = read((c + 1) % SLOTS);
        track(route.dispatch(r, c % SLOTS));
      }
    };
    const dealer = n > 1 ? reader.dealer(n) : undefined;
    await (dealer ? pump(dealRoute(dealer, handles, slots, config(0), batchPackets))
      : pump(await splitRoute(reader, handles, memories[0], slots, frames, batchPackets)));
    while (pending.length > 0) await take(await pending.shift()!);
    signal?.throwIfAborted();
    await finish(handles.map((h) => stopSource(async (recycle) => {
      const reply = await h.run({ op: 'stop', maxFlows: STOP_GROUP, recycle });
      addCounters(reply.counters);
      return { group: reply.groups[0] ?? NO_FLOWS, done: reply.done === true };
    })));
    return inputError;
  } finally {
    // A failed chunk leaves the others running: let them settle before the pools go.
    await Promise.allSettled([...pending, reading]);
    await Promise.all(handles.map((h) => h.close()));
  }
}

/**
 * Every chunk read into shard 0's slot; shard 0 splits it into the regions
 * of that slot, in its memory, and each other shard copies its region from
 * there into its own slot, while this thread works or reads the next chunk.
 * Timers run in shard 0, which says where its ticks fell among each shard's
 * records.
 */
async function splitRoute(reader: CaptureReader, handles: ShardHandle[], memory: WebAssembly.Memory, slots: Uint8Array[][],
                          frames: (bytes: number, records: number) => FramesTask, batchPackets: number): Promise<ChunkRoute<ReadResult>> {
  const split = handles.length > 1 ? await splitRoom(handles[0], memory, handles.length) : undefined;
  return {
    read: (s) => reader.readFrames(slots[0][s], batchPackets),
    dispatch: (r, s) => {
      const first = handles[0].run({ ...frames(r.bytes, r.packets), address: slots[0][s].byteOffset, split: split?.tables[s] });
      if (!split) return Promise.all([first]);
      // Once shard 0 has split the chunk (a local shard 0 has, when its run returns), each other shard takes its region.
      return first.then((reply) => Promise.all([reply, ...handles.slice(1).map((h, j) => {
        const k = j + 1;
        const part = reply.split!;
        const task: FramesTask = {
          ...frames(part.bytes[k], part.records[k]), address: slots[k][s].byteOffset,
          presplit: part.ticks.map((t) => ({ tick: t.tick, after: t.after[k] })),
        };
        return h.run({ ...task, from: split.region(s, k) });
      })]));
    },
  };
}

/**
 * Every chunk dealt out by the reading thread to every table's slot
 * (native/pcapshard.c); no table walks or copies the records of another.
 * Timers run here, on the records' stamps as the reader gives them: a read
 * stops before the first record at or after the next tick, and the ticks
 * due before the record after a chunk run in every table after that chunk,
 * as they would in one table walking every record.
 */
function dealRoute(dealer: RecordDealer, handles: ShardHandle[], slots: Uint8Array[][], config: ShardConfig,
                   batchPackets: number): ChunkRoute<DealtChunk & { ticks?: Tick[] }> {
  const clock = config.timers ? new TickClock(config.timers, updateRemovalMs(config.engine)) : undefined;
  return {
    // Before the clock starts (from the first record's stamp), a single record, which no tick can follow.
    read: (s) => dealer.read(slots.map((slot) => slot[s]), clock && !clock.started ? 1 : batchPackets,
                             clock?.started ? BigInt(clock.next) * 1_000_000n : NEVER),
    accept: (chunk) => {
      if (!clock) return;
      clock.start(nsToMs(chunk.firstTs));
      clock.noteRecords();
      if (chunk.nextTs < 0n) return;
      // A jump in packet time: the ticks that would change nothing are not taken (tick-clock.ts).
      const at = nsToMs(chunk.nextTs);
      chunk.ticks = [];
      while (at >= clock.next) {
        clock.skipIdle(at);
        chunk.ticks.push(clock.take());
      }
    },
    dispatch: (chunk, s) => Promise.all(handles.map((h, k) => h.run({
      op: 'frames', format: FRAMES_BATCH, bytes: chunk.bytes[k], records: chunk.records[k], fracToNs: 0, linkType: -1,
      address: slots[k][s].byteOffset, dealt: true,
      presplit: (chunk.ticks ?? []).map((tick) => ({ tick, after: chunk.records[k] })),
    }))),
  };
}

/** An i64 stamp in ns as whole ms (as frameTimeMs counts them). */
function nsToMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}

/**
 * Room in shard 0's memory for splitting the chunks of every slot: per slot, a
 * split table (SPLIT_ENTRY bytes per shard, each entry's region address set
 * here) and a region of a chunk's size for each other shard.
 */
async function splitRoom(first: ShardHandle, memory: WebAssembly.Memory, n: number): Promise<{ tables: number[]; region(s: number, k: number): number }> {
  const tableBytes = (SLOTS * n * SPLIT_ENTRY + 63) & ~63;
  const { input } = await first.run({ op: 'input', bytes: tableBytes + SLOTS * (n - 1) * SLOT_BYTES });
  const region = (s: number, k: number): number => input! + tableBytes + (s * (n - 1) + k - 1) * SLOT_BYTES;
  const tables = Array.from({ length: SLOTS }, (_, s) => input! + s * n * SPLIT_ENTRY);
  tables.forEach((at, s) => {
    const entries = new Uint32Array(memory.buffer, at, n * SPLIT_ENTRY / 4);
    for (let k = 1; k < n; k++) entries[3 * k] = region(s, k);
  });
  return { tables, region };
}

/** `count` chunk slots from `address` in `memory` (a shared memory grows in place and never shrinks: the views stay valid). */
function inputSlots(memory: WebAssembly.Memory, address: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, s) => new Uint8Array(memory.buffer, address + s * SLOT_BYTES, SLOT_BYTES));
}

/** A stop task's reply when no flow left the table. */
const NO_FLOWS: FlowGroup = { keys: [], ends: [], data: new Uint8Array(0) };

function addGroup(sink: SortedFlowSink, g: FlowGroup): void {
  groupRecords(g).forEach((record, i) => sink.add(g.keys[i], record));
}
