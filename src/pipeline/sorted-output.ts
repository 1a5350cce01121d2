/**
 * Flow records kept as encoded bytes until the end of a replay, then written
 * in a canonical order: (Start, UUID, ParentUUID, LayersPath), the order of
 * Skydive's golden outputs. The order does not depend on how many workers
 * built the flows or in which order they finished, so every worker count
 * prints the same bytes. Records live in large buffers, not in objects.
 */
import type { Flow } from '../flow/types.js';
import type { FlowWriter } from '../format/writer.js';

const CHUNK = 4 << 20;

/** Sort key of a flow; compare with plain string order. */
export function flowSortKey(f: Flow): string {
  return `${String(f.Start).padStart(20, '0')}\u0000${f.UUID}\u0000${f.ParentUUID}\u0000${f.LayersPath}`;
}

export interface EncodedFlow { key: string; record: Uint8Array }

export class SortedFlowSink {
  private readonly chunks: Buffer[] = [];
  private used = CHUNK;
  private readonly entries: { key: string; chunk: number; start: number; end: number }[] = [];

  get size(): number { return this.entries.length; }

  /** Keeps one record: bytes, or text stored as UTF-8. */
  add(key: string, record: Uint8Array | string): void {
    const size = typeof record === 'string' ? Buffer.byteLength(record) : record.length;
    if (size > CHUNK - this.used) {
      this.chunks.push(Buffer.allocUnsafe(Math.max(CHUNK, size)));
      this.used = 0;
    }
    const c = this.chunks.length - 1;
    if (typeof record === 'string') this.chunks[c].write(record, this.used);
    else this.chunks[c].set(record, this.used);
    this.entries.push({ key, chunk: c, start: this.used, end: this.used + size });
    this.used += size;
  }

  /** Writes every record in key order, then forgets them. */
  async writeTo(writer: FlowWriter): Promise<number> {
    this.entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const e of this.entries) await writer.writeRecord(this.chunks[e.chunk].subarray(e.start, e.end));
    const n = this.entries.length;
    this.entries.length = 0;
    this.chunks.length = 0;
    this.used = CHUNK;
    return n;
  }
}
