/**
 * What one shard (one flow table) does with a task, wherever it runs: in a
 * piscina worker (worker.ts) or in the calling thread (workers = 1). Both
 * paths run this same code, so their outputs cannot differ.
 */
import { FlowEngine, type EngineOptions } from '../engine/flow-engine.js';
import type { FlowEvent } from '../flow/types.js';
import { encodeRecord, type FlowFormat } from '../format/writer.js';
import { flowSortKey } from './sorted-output.js';

export interface ShardConfig {
  engine: EngineOptions;
  format: FlowFormat;
  /** Events whose flows are returned (others, e.g. 'update', are dropped). */
  events: FlowEvent[];
  /** Leave LastUpdateMetric out of the records (file replay: it only repeats Metric). */
  dropLastUpdateMetric: boolean;
}

export type ShardTask =
  | { op: 'batch'; data: Uint8Array; bytes: number; packets: number }
  | { op: 'tick'; updateMs?: number; expireMs?: number; connectionMs?: number }
  | { op: 'stop' };

/** Encoded flows in bulk: one buffer, record i at [ends[i-1], ends[i]), with its sort key. */
export interface ShardReply {
  keys: string[];
  ends: number[];
  data: Uint8Array;
  /** Counters of the shard's core, on 'stop' only (as decimal strings: bigint-safe over postMessage). */
  counters?: Record<string, string>;
}

export class Shard {
  readonly engine: FlowEngine;
  private readonly keep: Set<FlowEvent>;

  constructor(private readonly config: ShardConfig) {
    this.engine = new FlowEngine(config.engine);
    this.keep = new Set(config.events);
  }

  handle(task: ShardTask): ShardReply {
    switch (task.op) {
      case 'batch': {
        const input = this.engine.inputView();
        input.set(task.data.subarray(0, task.bytes));
        this.engine.process(task.bytes, task.packets);
        return this.collect();
      }
      case 'tick':
        if (task.updateMs !== undefined) this.engine.updateTick(task.updateMs);
        if (task.expireMs !== undefined) this.engine.expireTick(task.expireMs);
        if (task.connectionMs !== undefined) this.engine.connectionTick(task.connectionMs);
        return this.collect();
      case 'stop': {
        this.engine.stop();
        const reply = this.collect();
        reply.counters = this.counters();
        return reply;
      }
    }
  }

  /**
   * Processes records already in the engine's input region (one table in the
   * reading thread: no copy) and hands the flows that left it to `emit`.
   */
  processInPlace(offset: number, bytes: number, packets: number, emit: (key: string, record: Uint8Array | string) => void): void {
    this.engine.process(bytes, packets, -1, offset);
    this.emitTo(emit);
  }

  /** Encodes the flows that left the table, one by one, for `emit`. */
  emitTo(emit: (key: string, record: Uint8Array | string) => void): void {
    this.engine.drain((e) => {
      if (!this.keep.has(e.event)) return;
      if (this.config.dropLastUpdateMetric) delete e.flow.LastUpdateMetric;
      emit(flowSortKey(e.flow), encodeRecord(e.flow, this.config.format));
    });
  }

  /** The core's counters, as decimal strings (bigint-safe over postMessage). */
  counters(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.engine.counters()).map(([k, v]) => [k, v.toString()]));
  }

  /** The flows that left the table, in one buffer (to cross a thread boundary). */
  private collect(): ShardReply {
    const keys: string[] = [];
    const ends: number[] = [];
    const parts: (Uint8Array | string)[] = [];
    let size = 0;
    this.emitTo((key, rec) => {
      parts.push(rec);
      size += typeof rec === 'string' ? Buffer.byteLength(rec) : rec.length;
      ends.push(size);
      keys.push(key);
    });
    // Not from the shared pool: this buffer is transferred to another thread.
    const data = Buffer.allocUnsafeSlow(size);
    let p = 0;
    for (const r of parts) p += typeof r === 'string' ? data.write(r, p) : (data.set(r, p), r.length);
    return { keys, ends, data };
  }
}
