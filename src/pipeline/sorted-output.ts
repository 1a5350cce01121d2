/**
 * Flow records kept as encoded bytes until the end of a replay, then written
 * in a canonical order: (Start, UUID, ParentUUID, LayersPath), the order of
 * Skydive's golden outputs. The order does not depend on how many workers
 * built the flows or in which order they finished, so every worker count
 * prints the same bytes. Records live in large buffers, not in objects.
 *
 * Memory is bounded: past `spillBytes`, the records waiting for the end of
 * their group go to disk as a sorted run (spill.ts), merged back when the
 * group is written. Without timers a replay is one group, and every flow a
 * full table evicts waits for the end of the file.
 */
import type { JSONOut } from '../flow/record.js';
import type { RecordWriter } from '../format/writer.js';
import { mergeSorted, type GroupSource } from './merge.js';
import type { FlowGroup } from './shard-task.js';
import { SpillRun } from './spill.js';

const CHUNK = 4 << 20;
/** Default bound of the records held in memory (their bytes, keys and entries). */
export const SPILL_BYTES = 64 << 20;
/** What an entry costs beside its record and key: the object and its slot. */
const ENTRY_BYTES = 64;

export interface SortedSinkOptions {
  spillBytes?: number;
  /** Where runs are written (the system's temporary directory by default). */
  spillDir?: string;
}

/** Where a shard puts the flows that leave its table: records with their sort key (JSONOut), cut into groups at the ticks. */
export interface FlowOut extends JSONOut {
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
  /** Ends (in `entries`) of the complete groups not written yet, and the runs of each. */
  private groupEnds: number[] = [];
  private groupRuns: SpillRun[][] = [];
  /** Runs of the open group. */
  private openRuns: SpillRun[] = [];
  /** What the entries in memory cost (records, keys, entries). */
  private held = 0;
  private readonly spillBytes: number;
  private readonly spillDir: string | undefined;

  constructor(options: SortedSinkOptions = {}) {
    this.spillBytes = options.spillBytes ?? SPILL_BYTES;
    this.spillDir = options.spillDir;
  }

  /** Records held in memory. */
  get size(): number { return this.entries.length; }

  /** Records spilled to runs not written yet. */
  get spilled(): number {
    return [...this.openRuns, ...this.groupRuns.flat()].reduce((n, r) => n + r.records, 0);
  }

  /** Whether some group is complete and waits to be written. */
  get ready(): boolean { return this.groupEnds.length > 0; }

  /** Keeps one record: bytes, or text stored as UTF-8. */
  add(key: string, record: Uint8Array | string): void {
    const size = typeof record === 'string' ? Buffer.byteLength(record) : record.length;
    const at = this.room(size);
    const buf = this.chunks[this.chunks.length - 1]!;
    if (typeof record === 'string') buf.write(record, at);
    else buf.set(record, at);
    this.keep(key, at, size);
    this.bound();
  }

  /** Keeps a run of records (JSONOut.addRun): copied at once when it fits in one chunk. */
  addRun(keys: string[], ends: number[], bytes: Uint8Array): void {
    if (bytes.length > CHUNK) {
      let start = 0;
      ends.forEach((end, i) => { this.add(keys[i], bytes.subarray(start, end)); start = end; });
      return;
    }
    const at = this.room(bytes.length);
    this.chunks[this.chunks.length - 1]!.set(bytes, at);
    let start = 0;
    ends.forEach((end, i) => { this.keep(keys[i], at + start, end - start); start = end; });
    this.bound();
  }

  /** Where `size` bytes go in the last chunk (a new chunk when they do not fit); they are then used. */
  private room(size: number): number {
    if (size > CHUNK - this.used) {
      this.chunks.push(Buffer.allocUnsafe(Math.max(CHUNK, size)));
      this.used = 0;
    }
    const at = this.used;
    this.used += size;
    return at;
  }

  /** An entry for the record of `size` bytes at `start` in the last chunk. */
  private keep(key: string, start: number, size: number): void {
    this.entries.push({ key, chunk: this.chunks.length - 1, start, end: start + size });
    this.held += size + key.length + ENTRY_BYTES;
  }

  /** Spills once past the bound. Complete groups are written as soon as they are (replay.ts): until then, the open group is not alone in memory. */
  private bound(): void {
    if (this.held > this.spillBytes && !this.ready) this.spill();
  }

  /** Closes the runs not written (a replay that failed). */
  dispose(): void {
    for (const r of [...this.openRuns, ...this.groupRuns.flat()]) r.close();
    this.openRuns = [];
    this.groupRuns = [];
  }

  /** Writes every record in memory (all of the open group) as a sorted run. */
  private spill(): void {
    const entries = this.entries.sort(byKey);
    const chunks = this.chunks;
    this.openRuns.push(SpillRun.write(entries.map((e) => ({ key: e.key, bytes: chunks[e.chunk]!.subarray(e.start, e.end) })), this.spillDir));
    this.clear();
  }

  private clear(): void {
    this.entries = [];
    this.chunks = [];
    this.used = CHUNK;
    this.held = 0;
  }

  phase(): number { return this.used & 7; }

  endGroup(): void {
    const last = this.groupEnds.length > 0 ? this.groupEnds[this.groupEnds.length - 1] : 0;
    if (this.entries.length === last && this.openRuns.length === 0) return;
    this.groupEnds.push(this.entries.length);
    this.groupRuns.push(this.openRuns);
    this.openRuns = [];
  }

  /**
   * The flows of the open group (those after the last tick), in key order,
   * as sources for mergeSorted (memory's, then each run's); the sink is
   * empty afterwards.
   */
  takeOpen(): GroupSource[] {
    if (this.ready) throw new Error('SortedFlowSink.takeOpen: complete groups are not written yet');
    const sources = [this.memorySource(this.entries.sort(byKey)), ...this.openRuns.map((r) => r.source())];
    this.clear();
    this.groupEnds = [];
    this.groupRuns = [];
    this.openRuns = [];
    return sources;
  }

  /** `entries` (sorted) copied out as a one-group source. */
  private memorySource(entries: Entry[]): GroupSource {
    const keys: string[] = [];
    const ends: number[] = [];
    const data = Buffer.allocUnsafe(entries.reduce((n, e) => n + e.end - e.start, 0));
    let p = 0;
    for (const e of entries) {
      p += this.chunks[e.chunk]!.copy(data, p, e.start, e.end);
      keys.push(e.key);
      ends.push(p);
    }
    let given = false;
    return async () => {
      if (given) return undefined;
      given = true;
      return { keys, ends, data };
    };
  }

  /** Writes the complete groups, each in key order, and forgets them; `all` first closes the open group. Returns how many records. */
  async writeTo(writer: RecordWriter, all = false): Promise<number> {
    if (all) this.endGroup();
    let start = 0;
    let written = 0;
    for (const [g, end] of this.groupEnds.entries()) {
      const group = this.entries.slice(start, end).sort(byKey);
      const runs = this.groupRuns[g];
      if (runs.length > 0) {
        written += await mergeSorted([this.memorySource(group), ...runs.map((r) => r.source())], (record) => writer.writeRecord(record));
      } else {
        for (const e of group) {
          const writing = writer.writeRecord(this.chunks[e.chunk]!.subarray(e.start, e.end));
          if (writing) await writing;
        }
        written += group.length;
      }
      start = end;
    }
    this.groupEnds = [];
    this.groupRuns = [];
    this.entries = this.entries.slice(start);
    if (this.entries.length === 0) {
      this.clear();
    } else {
      // Chunks before the first kept record are done with.
      for (let c = 0; c < this.entries[0].chunk; c++) this.chunks[c] = null;
      this.held = this.entries.reduce((n, e) => n + e.end - e.start + e.key.length + ENTRY_BYTES, 0);
    }
    return written;
  }
}
