/**
 * Test helper: a FlowEngine (debug core) fed with hand-built frames.
 */
import { FlowEngine, type EngineOptions } from '../../src/engine/flow-engine.js';
import type { EmittedFlow } from '../../src/flow/record.js';
import type { Bytes } from './packets.js';

export interface Frame { data: Bytes; tsMs: number; wireLen?: number; linkType?: number }

/** Frames as batch records (the pipeline's layout: i64 ts_ns, caplen, wirelen, linktype, ifindex, data padded to 8). */
export function encodeBatch(frames: Frame[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + 24 + ((f.data.length + 7) & ~7), 0));
  const dv = new DataView(out.buffer);
  let p = 0;
  for (const f of frames) {
    dv.setBigInt64(p, BigInt(f.tsMs) * 1_000_000n, true);
    dv.setUint32(p + 8, f.data.length, true);
    dv.setUint32(p + 12, f.wireLen ?? f.data.length, true);
    dv.setUint32(p + 16, f.linkType ?? 1, true);
    out.set(f.data, p + 24);
    p += 24 + ((f.data.length + 7) & ~7);
  }
  return out;
}

export class TestTable {
  readonly engine: FlowEngine;
  readonly emitted: EmittedFlow[] = [];
  constructor(opts: EngineOptions = {}) {
    this.engine = new FlowEngine({ debug: true, ...opts });
  }

  feed(frames: Frame[]): void {
    const batch = encodeBatch(frames);
    this.engine.inputView().set(batch);
    this.engine.process(batch.length, frames.length);
    this.collect();
  }

  collect(): EmittedFlow[] {
    const got: EmittedFlow[] = [];
    this.engine.drain((e) => { got.push(e); this.emitted.push(e); });
    return got;
  }

  /** Stops the table and returns the flows it held, in emission order. */
  stop(): EmittedFlow[] {
    this.engine.stop();
    return this.collect();
  }
}
