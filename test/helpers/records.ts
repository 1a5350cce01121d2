/**
 * Test helper: flow records written by hand into the core's memory (the
 * layout of assembly/flow/layout.ts, offsets from the module's globals), read
 * back by the host reader and encoded by the core, to compare the two.
 */
import { FlowEngine, type EngineOptions } from '../../src/engine/flow-engine.js';
import type { Flow } from '../../src/flow/types.js';
import { flowToJSON } from '../../src/format/json.js';
import type { CoreExports } from '../../src/wasm/module.js';

/** The text sort key the core's keys must order like: Start padded to 20, UUID, ParentUUID, LayersPath. */
export function textSortKey(f: Flow): string {
  return `${String(f.Start).padStart(20, '0')}\u0000${f.UUID}\u0000${f.ParentUUID}\u0000${f.LayersPath}`;
}

/** -1, 0, 1 as plain JS string order puts a and b. */
export function stringOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class RecordBench {
  readonly engine: FlowEngine;
  readonly core: CoreExports;
  /** Layout globals: FL_*, FLB_*, FLOW_SIZE, PATH_MAX. */
  readonly o: Record<string, number> = {};
  /** Where records are built: the input region, idle between batches. */
  readonly at: number;
  private dv!: DataView;

  constructor(opts: EngineOptions = {}) {
    this.engine = new FlowEngine(opts);
    this.core = this.engine.core;
    for (const [k, v] of Object.entries(this.core)) {
      if (/^(FL_|FLB_|FLOW_SIZE$|PATH_MAX$|SORT_KEY_MAX$)/.test(k)) this.o[k] = (v as WebAssembly.Global).value as number;
    }
    this.at = this.core.inputBuffer();
    this.clear();
  }

  /** A zeroed record. */
  clear(): this {
    this.view().set(new Uint8Array(this.o.FLOW_SIZE));
    return this;
  }

  view(): Uint8Array {
    return new Uint8Array(this.core.memory.buffer, this.at, this.o.FLOW_SIZE);
  }

  private get d(): DataView {
    if (!this.dv || this.dv.buffer !== this.core.memory.buffer) this.dv = new DataView(this.core.memory.buffer, this.at);
    return this.dv;
  }

  u8(k: string, v: number, i = 0): this { this.d.setUint8(this.o[k] + i, v); return this; }
  u16(k: string, v: number): this { this.d.setUint16(this.o[k], v, true); return this; }
  u32(k: string, v: number): this { this.d.setUint32(this.o[k], v, true); return this; }
  i64(k: string, v: bigint, i = 0): this { this.d.setBigInt64(this.o[k] + 8 * i, v, true); return this; }
  u64(k: string, v: bigint): this { this.d.setBigUint64(this.o[k], v, true); return this; }
  bytes(k: string, b: ArrayLike<number>): this { this.view().set(b, this.o[k]); return this; }
  bits(b: number): this { return this.u16('FL_BITS', b); }
  path(ids: number[]): this {
    this.u8('FL_PATH_LEN', ids.length);
    ids.forEach((id, i) => this.u8('FL_PATH', id, i));
    return this;
  }

  /** The Flow the host reader makes of the record. */
  flow(): Flow {
    return this.engine.flowAt(this.at).flow;
  }

  /** What the host writes for the record (LastUpdateMetric dropped or not). */
  hostJSON(dropLastUpdateMetric = false): string {
    const f = this.flow();
    if (dropLastUpdateMetric) delete f.LastUpdateMetric;
    return flowToJSON(f);
  }

  /** jsonEncodeFlow's result: the JSON text, or its negative code. */
  coreJSON(dropLastUpdateMetric = false, cap = this.core.outputCapacity()): string | number {
    const out = this.core.outputBuffer();
    const n = this.core.jsonEncodeFlow(this.at, out, cap, dropLastUpdateMetric ? 1 : 0);
    return n < 0 ? n : Buffer.from(this.core.memory.buffer, out, n).toString('utf8');
  }

  /** The core's sort key of the record, as latin1 text. */
  key(): string {
    return this.engine.sortKey(this.at);
  }
}
