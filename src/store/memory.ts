/**
 * The in-memory flow store: the analyzer's embedded default, no external service.
 *
 * Public surface:
 * - `new MemoryFlowStore(options?)`: bounds in `MemoryStoreOptions` (max flows, retention,
 *   history per flow); bad values throw a RangeError naming the option.
 * - `upsert(flows, receivedAtMs?)`: keeps each flow's latest state by UUID and appends its
 *   LastUpdateMetric to the flow's history; evicts the flow with the oldest Last when full.
 * - `expire(nowMs)`: drops flows whose Last is older than nowMs - retentionMs; the analyzer calls
 *   it periodically (every few seconds is plenty).
 * - `get(uuid)`, `size`, `stats()` (counters for /metrics), `clear()`.
 * - `scan`, `lookup`, `lookupSize`: the `FlowSource` the Gremlin evaluator (src/query) reads.
 *
 * The store keeps the Flow objects it is given: callers must not modify them afterwards (the
 * indexes are kept from the values they had at upsert time). Everything is synchronous, so a
 * query never sees a half-applied batch.
 */
import type { Flow } from '../flow/types.js';
import {
  addDelta, currentDelta, dropBefore, historyLength, readHistory, sameWindow, type HistoryArray,
} from './history.js';
import { EMPTY, HashIndex } from './hash-index.js';
import { SECONDARY_FIELDS, writeIndexKeys } from './index-keys.js';
import { LastHeap, type HeapRecord } from './last-heap.js';
import {
  INDEXED_FIELDS, type FlowSource, type IndexedField, type IndexKey, type MemoryStoreOptions,
  type MemoryStoreStats, type MetricDelta, type StoredFlow,
} from './types.js';

export type { MemoryStoreOptions, MemoryStoreStats, StoredFlow, MetricDelta } from './types.js';

export const DEFAULT_STORE_OPTIONS: Readonly<MemoryStoreOptions> = {
  maxFlows: 1_000_000,
  retentionMs: 3_600_000,
  maxHistoryPerFlow: 60,
};

/**
 * Resident bytes per stored flow and per metric delta, measured by bench/query.ts on 1,000,000
 * generated flows (Ethernet/IP/TCP or UDP with TCPMetric on TCP flows, as agents send them, read
 * by format/message-reader.ts): the flow objects, the entry, its share of the indexes and of the
 * eviction heap (bench/results/query-20261121T213318Z.json: 1845 B). A flow's first older delta
 * costs its history array (about 280 B); later ones 56 B each.
 */
export const BYTES_PER_FLOW = 1850;
export const BYTES_PER_DELTA = 60;

class Entry implements StoredFlow, HeapRecord {
  live = true;
  /** Deltas older than the flow's own LastUpdateMetric (see history.ts). */
  hist: HistoryArray | undefined = undefined;

  /** `id`: the entry's slot, reused after removal; `seq`: never reused. */
  constructor(public flow: Flow, readonly seq: number, readonly id: number) {}

  /** Read from the flow rather than copied: a timestamp field would cost a boxed number more. */
  get last(): number {
    return Number(this.flow.Last);
  }

  history(): readonly MetricDelta[] {
    return readHistory(this.hist, currentDelta(this.flow));
  }

  /** Deltas held for this flow. */
  deltaCount(): number {
    return historyLength(this.hist) + (currentDelta(this.flow) === undefined ? 0 : 1);
  }
}

/**
 * Entry ids never reach maxFlows (a full store evicts before it inserts), so the arrays indexed
 * by id are sized from maxFlows once, up to this many; beyond, they double as needed.
 */
const PRESIZED_IDS = 1 << 20;

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2, n)));
}

function checkOption(name: keyof MemoryStoreOptions, value: number, min: number, allowInfinity: boolean): void {
  const ok = allowInfinity
    ? (Number.isInteger(value) || value === Infinity) && value >= min
    : Number.isInteger(value) && value >= min;
  if (!ok) {
    throw new RangeError(`flow store option ${name} must be an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}, got ${value}`);
  }
}

export class MemoryFlowStore implements FlowSource {
  readonly options: Readonly<MemoryStoreOptions>;
  private readonly byUUID = new Map<string, Entry>();
  /** Entries by id; ids of removed entries are reused (`freeIds`) so the id space stays dense. */
  private entries: Array<Entry | undefined> = [];
  private readonly freeIds: number[] = [];
  private idCapacity: number;
  /**
   * Start and Last by entry id, and the entry's seq: Sort().Limit() on a timestamp reads these
   * packed arrays instead of a million scattered flow objects.
   */
  private startById: Float64Array<ArrayBuffer>;
  private lastById: Float64Array<ArrayBuffer>;
  private seqById: Float64Array<ArrayBuffer>;
  /** Every index but UUID's (which is `byUUID`), in SECONDARY_FIELDS order. */
  private readonly indexes: readonly HashIndex[];
  private readonly indexByField: ReadonlyMap<IndexedField, HashIndex>;
  /** Scratch space for writeIndexKeys: a flow's keys, and the keys of its previous state. */
  private readonly keysNow: Array<IndexKey | undefined> = new Array<IndexKey | undefined>(SECONDARY_FIELDS.length);
  private readonly keysWas: Array<IndexKey | undefined> = new Array<IndexKey | undefined>(SECONDARY_FIELDS.length);
  private readonly byLast = new LastHeap<Entry>();
  private nextSeq = 0;
  private deltas = 0;
  private readonly counters = { inserted: 0, updated: 0, evicted: 0, expired: 0, rejected: 0, historyDropped: 0 };

  constructor(options: Partial<MemoryStoreOptions> = {}) {
    const o = { ...DEFAULT_STORE_OPTIONS, ...options };
    checkOption('maxFlows', o.maxFlows, 1, false);
    checkOption('retentionMs', o.retentionMs, 0, true);
    checkOption('maxHistoryPerFlow', o.maxHistoryPerFlow, 1, false);
    this.options = Object.freeze(o);
    // Zero-filled typed arrays: the kernel commits their pages only when first written, so a
    // store sized for a million flows holding a thousand costs a thousand flows' worth.
    this.idCapacity = Math.min(o.maxFlows, PRESIZED_IDS);
    this.startById = new Float64Array(this.idCapacity);
    this.lastById = new Float64Array(this.idCapacity);
    this.seqById = new Float64Array(this.idCapacity);
    const slots = nextPowerOfTwo(2 * this.idCapacity);
    this.indexes = SECONDARY_FIELDS.map(() => new HashIndex(this.idCapacity, slots));
    this.indexByField = new Map(SECONDARY_FIELDS.map((field, i) => [field, this.indexes[i]]));
  }

  get size(): number {
    return this.byUUID.size;
  }

  /**
   * Stores the latest state of each flow (an update older than the state held, by Last, only
   * adds its delta to the history). `receivedAtMs` (default: the flow's Last) trims metric
   * deltas older than the retention from the updated flows' histories.
   */
  upsert(flows: readonly Flow[], receivedAtMs?: number): void {
    for (const flow of flows) {
      if (typeof flow?.UUID !== 'string' || flow.UUID === '') {
        this.counters.rejected++;
        continue;
      }
      const entry = this.byUUID.get(flow.UUID);
      if (entry === undefined) this.insert(flow);
      else this.update(entry, flow, receivedAtMs);
    }
    this.byLast.compactIfNeeded(this.byUUID.values(), this.byUUID.size);
  }

  /** Drops the flows whose Last is before nowMs - retentionMs; returns how many. */
  expire(nowMs: number): number {
    if (this.options.retentionMs === Infinity) return 0;
    const cutoff = nowMs - this.options.retentionMs;
    let n = 0;
    for (let top = this.byLast.peek(); top !== undefined && top.last < cutoff; top = this.byLast.peek()) {
      this.byLast.pop();
      this.remove(top);
      n++;
    }
    this.counters.expired += n;
    return n;
  }

  get(uuid: string): StoredFlow | undefined {
    return this.byUUID.get(uuid);
  }

  scan(): Iterable<StoredFlow> {
    return this.byUUID.values();
  }

  lookup(field: IndexedField, key: IndexKey): Iterable<StoredFlow> {
    if (field === 'UUID') {
      const e = typeof key === 'string' ? this.byUUID.get(key) : undefined;
      return e === undefined ? [] : [e];
    }
    const index = this.indexByField.get(field) as HashIndex;
    if (index.unordered) {
      // A value changed once: lists may be out of order, so sort (rare; see hash-index.ts).
      return [...this.walk(index, key)].sort((a, b) => a.seq - b.seq);
    }
    return this.walk(index, key);
  }

  private *walk(index: HashIndex, key: IndexKey): Generator<Entry> {
    for (let id = index.first(key); id !== EMPTY; id = index.after(id)) yield this.entries[id] as Entry;
  }

  topByTime(field: 'Start' | 'Last', k: number, descending: boolean): StoredFlow[] {
    const values = field === 'Start' ? this.startById : this.lastById;
    const seqs = this.seqById;
    const sign = descending ? -1 : 1;
    // Sorted best first; a candidate replaces the worst when strictly better (ties: lower seq).
    const best: number[] = [];
    const before = (a: number, b: number): boolean => {
      const d = sign * (values[a] - values[b]);
      return d < 0 || (d === 0 && seqs[a] < seqs[b]);
    };
    for (let id = 0; id < this.entries.length; id++) {
      if (this.entries[id] === undefined) continue;
      if (best.length === k && !before(id, best[k - 1])) continue;
      let at = best.length;
      while (at > 0 && before(id, best[at - 1])) at--;
      best.splice(at, 0, id);
      if (best.length > k) best.pop();
    }
    return best.map((id) => this.entries[id] as Entry);
  }

  lookupSize(field: IndexedField, key: IndexKey): number {
    if (field === 'UUID') return typeof key === 'string' && this.byUUID.has(key) ? 1 : 0;
    return (this.indexByField.get(field) as HashIndex).count(key);
  }

  stats(): MemoryStoreStats {
    return {
      flows: this.byUUID.size,
      historyEntries: this.deltas,
      estimatedBytes: this.byUUID.size * BYTES_PER_FLOW + this.deltas * BYTES_PER_DELTA,
      ...this.counters,
    };
  }

  clear(): void {
    for (const e of this.byUUID.values()) e.live = false;
    this.byUUID.clear();
    this.entries = [];
    this.freeIds.length = 0;
    for (const index of this.indexes) index.clear();
    this.byLast.clear();
    this.deltas = 0;
  }

  private insert(flow: Flow): void {
    if (this.byUUID.size >= this.options.maxFlows) {
      const oldest = this.byLast.peek();
      // A flow older than everything held would be the next one evicted: keep the newer ones.
      if (oldest === undefined || Number(flow.Last) < oldest.last) {
        this.counters.rejected++;
        return;
      }
      this.byLast.pop();
      this.remove(oldest);
      this.counters.evicted++;
    }
    const entry = new Entry(flow, this.nextSeq++, this.allocId());
    this.entries[entry.id] = entry;
    this.seqById[entry.id] = entry.seq;
    this.writeTimes(entry);
    this.byUUID.set(flow.UUID, entry);
    const keys = this.keysNow;
    writeIndexKeys(flow, keys);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key !== undefined) this.indexes[i].add(key, entry.id);
    }
    this.byLast.push(entry);
    this.deltas += entry.deltaCount();
    this.counters.inserted++;
  }

  private update(entry: Entry, flow: Flow, receivedAtMs: number | undefined): void {
    this.counters.updated++;
    const old = entry.flow;
    const before = entry.deltaCount();
    const maxOlder = this.options.maxHistoryPerFlow - 1;
    if (Number(flow.Last) < Number(old.Last)) {
      // A state older than the one held (a replayed buffer): only its delta is news.
      const m = currentDelta(flow);
      const held = currentDelta(old);
      if (m !== undefined && (held === undefined || !sameWindow(m, held))) {
        entry.hist ??= [];
        this.counters.historyDropped += addDelta(entry.hist, m, maxOlder);
      }
    } else {
      // Skydive freezes a flow's keys at creation, so these rarely differ; when they do (an
      // agent restarted with other settings), the indexes follow.
      const was = this.keysWas;
      const now = this.keysNow;
      writeIndexKeys(old, was);
      writeIndexKeys(flow, now);
      for (let i = 0; i < now.length; i++) {
        if (was[i] === now[i]) continue;
        if (was[i] !== undefined) this.indexes[i].remove(was[i] as IndexKey, entry.id);
        if (now[i] !== undefined) this.indexes[i].move(now[i] as IndexKey, entry.id);
      }
      const previous = currentDelta(old);
      const next = currentDelta(flow);
      if (previous !== undefined && (next === undefined || !sameWindow(previous, next))) {
        entry.hist ??= [];
        this.counters.historyDropped += addDelta(entry.hist, previous, maxOlder);
      }
      const lastBefore = entry.last;
      entry.flow = flow;
      this.writeTimes(entry);
      if (entry.last !== lastBefore) this.byLast.push(entry);
    }
    if (entry.hist !== undefined && this.options.retentionMs !== Infinity) {
      dropBefore(entry.hist, (receivedAtMs ?? entry.last) - this.options.retentionMs);
    }
    this.deltas += entry.deltaCount() - before;
  }

  private remove(entry: Entry): void {
    const keys = this.keysWas;
    writeIndexKeys(entry.flow, keys);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key !== undefined) this.indexes[i].remove(key, entry.id);
    }
    entry.live = false;
    this.entries[entry.id] = undefined;
    this.freeIds.push(entry.id);
    this.byUUID.delete(entry.flow.UUID);
    this.deltas -= entry.deltaCount();
  }

  private writeTimes(entry: Entry): void {
    this.startById[entry.id] = Number(entry.flow.Start);
    this.lastById[entry.id] = Number(entry.flow.Last);
  }

  private allocId(): number {
    const id = this.freeIds.pop() ?? this.entries.length;
    if (id >= this.idCapacity) {
      this.idCapacity = Math.min(2 * this.idCapacity, this.options.maxFlows);
      for (const index of this.indexes) index.growRecords(this.idCapacity);
      const grow = (a: Float64Array): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(this.idCapacity);
        b.set(a);
        return b;
      };
      this.startById = grow(this.startById);
      this.lastById = grow(this.lastById);
      this.seqById = grow(this.seqById);
    }
    return id;
  }
}
