/**
 * Test helper: a FlowEngine (debug core) fed with hand-built frames.
 */
import { FlowEngine, type EngineOptions } from '../../src/engine/flow-engine.js';
import type { EmittedFlow } from '../../src/flow/record.js';
import type { Bytes } from './packets.js';

export interface Frame { data: Bytes; tsMs: number; wireLen?: number; linkType?: number }

export class TestTable {
  readonly engine: FlowEngine;
  readonly emitted: EmittedFlow[] = [];
  constructor(opts: EngineOptions = {}) {
    this.engine = new FlowEngine({ debug: true, ...opts });
  }

  feed(frames: Frame[]): void {
    const view = this.engine.inputView();
    const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
    let p = 0;
    for (const f of frames) {
      dv.setBigInt64(p, BigInt(f.tsMs) * 1_000_000n, true);
      dv.setUint32(p + 8, f.data.length, true);
      dv.setUint32(p + 12, f.wireLen ?? f.data.length, true);
      dv.setUint32(p + 16, f.linkType ?? 1, true);
      dv.setUint32(p + 20, 0, true);
      view.set(f.data, p + 24);
      p += 24 + ((f.data.length + 7) & ~7);
    }
    this.engine.process(p, frames.length);
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
