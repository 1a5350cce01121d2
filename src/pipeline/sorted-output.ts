/**
 * Flow records kept as encoded bytes until the end of a replay, then written
 * in a canonical order: (Start, UUID, ParentUUID, LayersPath), the order of
 * Skydive's golden outputs. The order does not depend on how many workers
 * built the flows or in which order they finished, so every worker count
 * prints the same bytes. Records live in large buffers, not in objects.
 */
import type { FlowWriter } from '../format/writer.js';
import type { FlowGroup } from './shard-task.js';

const CHUNK = 4 << 20;

/** Where a shard puts the flows that leave its table: records with their sort key, cut into groups at the ticks. */
export interface FlowOut {
  /**
   * One record and its sort key (the core's, FlowRecordReader.sortKey: plain
   * string order is the canonical order). `record` may be a view of the
   * core's memory that the next record overwrites: keep a copy, not the view.
   */
  add(key: string, record: Uint8Array | string): void;
  /** Where, modulo 8, the next record added will be copied to (see FlowRecordReader.drainJSON). */
  phase(): number;
  /** Every flow added so far left the table before the tick that just ran. */
  endGroup(): void;
}

interface Entry { key: string; chunk: number; start: number; end: number }

const byKey = (a: Entry, b: Entry): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * The flows of a replay until they can be written: a group (the flows that
 * left the tables between two ticks) is complete once every table has run
 * the tick that ends it, and is then written in key order.
 */
export class SortedFlowSink implements FlowOut {
  private chunks: (Buffer | null)[] = [];
  private used = CHUNK;
  private entries: Entry[] = [];
  /** Ends (in `entries`) of the complete groups not written yet. */
  private groupEnds: number[] = [];

  get size(): number { return this.entries.length; }

  /** Whether some group is complete and waits to be written. */
  get ready(): boolean { return this.groupEnds.length > 0; }

  /** Keeps one record: bytes, or text stored as UTF-8. */
  add(key: string, record: Uint8Array | string): void {
    const size = typeof record === 'string' ? Buffer.byteLength(record) : record.length;
    if (size > CHUNK - this.used) {
      this.chunks.push(Buffer.allocUnsafe(Math.max(CHUNK, size)));
      this.used = 0;
    }
    const c = this.chunks.length - 1;
    const buf = this.chunks[c]!;
    if (typeof record === 'string') buf.write(record, this.used);
    else buf.set(record, this.used);
    this.entries.push({ key, chunk: c, start: this.used, end: this.used + size });
    this.used += size;
  }

  phase(): number { return this.used & 7; }

  endGroup(): void {
    const last = this.groupEnds.length > 0 ? this.groupEnds[this.groupEnds.length - 1] : 0;
    if (this.entries.length > last) this.groupEnds.push(this.entries.length);
  }

  /**
   * The flows of the open group (those after the last tick), in key order,
   * as a one-group source for mergeSorted; the sink is empty afterwards.
   */
  takeOpen(): () => Promise<FlowGroup | undefined> {
    if (this.ready) throw new Error('SortedFlowSink.takeOpen: complete groups are not written yet');
    const entries = this.entries.sort(byKey);
    const keys: string[] = [];
    const ends: number[] = [];
    const data = Buffer.allocUnsafe(entries.reduce((n, e) => n + e.end - e.start, 0));
    let p = 0;
    for (const e of entries) {
      p += this.chunks[e.chunk]!.copy(data, p, e.start, e.end);
      keys.push(e.key);
      ends.push(p);
    }
    this.entries = [];
    this.groupEnds = [];
    this.chunks = [];
    this.used = CHUNK;
    let given = false;
    return async () => {
      if (given) return undefined;
      given = true;
      return { keys, ends, data };
    };
  }

  /** Writes the complete groups, each in key order, and forgets them; `all` first closes the open group. */
  async writeTo(writer: FlowWriter, all = false): Promise<number> {
    if (all) this.endGroup();
    let start = 0;
    for (const end of this.groupEnds) {
      const group = this.entries.slice(start, end).sort(byKey);
      for (const e of group) {
        const writing = writer.writeRecord(this.chunks[e.chunk]!.subarray(e.start, e.end));
        if (writing) await writing;
      }
      start = end;
    }
    this.groupEnds = [];
    this.entries = this.entries.slice(start);
    if (this.entries.length === 0) {
      this.chunks = [];
      this.used = CHUNK;
    } else {
      // Chunks before the first kept record are done with.
      for (let c = 0; c < this.entries[0].chunk; c++) this.chunks[c] = null;
    }
    return start;
  }
}
