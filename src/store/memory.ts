/**
 * The in-memory flow store: the analyzer's embedded default, no external service.
 *
 * Public surface:
 * - `new MemoryFlowStore(options?)`: bounds in `MemoryStoreOptions` (max flows, retention,
 *   history per flow); bad values throw a RangeError naming the option.
 * - `ingest(message, receivedAtMs?)`: takes a whole `flow.Message` as agents send it; keeps
 *   each flow's latest state by UUID and appends its LastUpdateMetric to the flow's history;
 *   evicts the flow heard of least recently when full (see `heardById`). A malformed message throws a
 *   MessageFormatError and changes nothing.
 * - `ingestScan(scan, receivedAtMs?)`: the same for a message already scanned (record-scan.ts),
 *   by the thread that received it for one.
 * - `upsert(flows, receivedAtMs?)`: the same for Flow objects (encoded, then ingested).
 * - `expire(nowMs)`: drops flows last heard of before nowMs - retentionMs; the analyzer calls
 *   it periodically (every few seconds is plenty).
 * - `get(uuid)`, `size`, `stats()` (counters for /metrics), `clear()`.
 * - `scan`, `lookup`, `lookupSize`, `topByTime`: the `FlowSource` the Gremlin evaluator reads.
 *
 * Layout: no object per flow. A flow is its protobuf record, copied as it came into a slab of
 * the record arena, and a row of typed-array columns indexed by a small reused id: where the
 * record lies, where its indexed strings lie in it, its ports, Start, Last and seq. The indexes
 * hold ids and compare values by reading those columns (hash-index.ts). A Flow object is
 * decoded from the record only when a reader asks for `StoredFlow.flow`, and not kept.
 * Everything is synchronous, so a query never sees a half-applied message.
 */
import type { Flow } from '../flow/types.js';
import { readFlowRecord } from '../format/message-reader.js';
import { encodeMessage } from '../format/protobuf.js';
import {
  addDelta, dropBefore, historyLength, isZeroNumbers, readHistory, sameWindow, type HistoryArray,
} from './history.js';
import { EMPTY, hashBytes, hashNumber, HashIndex, type SameKey } from './hash-index.js';
import { LastHeap } from './last-heap.js';
import { grown } from './grow.js';
import { RecordArena } from './record-arena.js';
import { RecordView } from './record-view.js';
import {
  HASHES_PER_RECORD, K_UUID, MessageScan, METRIC_NUMBERS, PLACED_COUNT, PORT_A, readMetricInto, SOURCE_OF, TEXT_KEY_COUNT, TEXT_KEYS,
} from './record-scan.js';
import {
  SECONDARY_FIELDS, type FlowSource, type IndexedField, type IndexKey, type MemoryStoreOptions, type MemoryStoreStats,
  type MetricDelta, type StoredFlow,
} from './types.js';
import type { Stats } from '../flow/types.js';

export type { MemoryStoreOptions, MemoryStoreStats, StoredFlow, MetricDelta } from './types.js';

export const DEFAULT_STORE_OPTIONS: Readonly<MemoryStoreOptions> = {
  maxFlows: 1_000_000,
  retentionMs: 3_600_000,
  maxHistoryPerFlow: 60,
};

/**
 * Resident bytes per stored flow and per metric delta, measured by bench/query.ts on 1,000,000
 * generated flows (Ethernet/IP/TCP or UDP with TCPMetric on TCP flows, as agents send them, 267
 * bytes of protobuf each): the record in its slab, the columns, the indexes and the eviction
 * heap (bench/results/query-20261122T014843Z.json: 714 B, and 57 B more once the on-demand
 * indexes are built; 777 B when every index was kept from the start, 1845 B when the store held
 * decoded Flow objects). A flow's first older delta costs its history array (about 250 B); later
 * ones 56 B each.
 */
export const BYTES_PER_FLOW = 715;
export const BYTES_PER_DELTA = 60;

/** What `ingest` found in a message. */
export interface IngestResult {
  /** Flow records in the message (stored, or refused and counted). */
  flows: number;
  stats?: Stats;
}

/**
 * Ids never reach maxFlows (a full store evicts before it inserts), so the columns are sized
 * from maxFlows once, up to this many; beyond, they double as needed.
 */
const PRESIZED_IDS = 1 << 20;

/** When the store heard of scan row `r`'s flow (see MemoryFlowStore.heardById). */
function heardAt(scan: MessageScan, r: number, receivedAtMs: number | undefined): number {
  const last = scan.last[r];
  return receivedAtMs !== undefined && receivedAtMs > last ? receivedAtMs : last;
}

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

const TEXT_ENCODER = new TextEncoder();

/**
 * Fields whose values are nearly all distinct: their indexes check a matching slot against the
 * record (hash-index.ts' 'record' keys) rather than keep a copy of every value.
 */
const NEARLY_UNIQUE: ReadonlySet<string> = new Set(['TrackingID', 'L3TrackingID']);

/**
 * Indexed fields outside the list of common filters (UUID, TrackingID, ParentUUID,
 * NodeTID, CaptureID, Network, Transport ports, LayersPath, Application): their indexes are built
 * by the first query that filters on them and kept from then on. Until then an insert skips
 * them: three of the thirteen secondary indexes, and the dearest (MAC addresses and L3 tracking
 * IDs take a cache miss or two each per insert).
 */
const ON_DEMAND: ReadonlySet<IndexedField> = new Set(['L3TrackingID', 'Link.A', 'Link.B']);

/** A flow handed to readers: its id and seq; the Flow object is decoded on first use. */
class StoredRecord implements StoredFlow {
  private decoded: Flow | undefined = undefined;

  constructor(private readonly store: MemoryFlowStore, readonly id: number, readonly seq: number) {}

  get flow(): Flow {
    return (this.decoded ??= this.store.decode(this.id, this.seq));
  }

  get fields(): Flow {
    return this.decoded ?? this.store.view(this.id, this.seq);
  }

  history(): readonly MetricDelta[] {
    return this.store.historyOf(this.id, this.seq);
  }
}

export class MemoryFlowStore implements FlowSource {
  readonly options: Readonly<MemoryStoreOptions>;
  private readonly arena = new RecordArena();
  private readonly scanner = new MessageScan();
  private count = 0;
  /** Ids below this have been used; removed ones wait in `freeIds`. */
  private idTop = 0;
  private readonly freeIds: number[] = [];
  private idCapacity: number;
  // Columns by id. Zero-filled typed arrays: the kernel commits their pages only when first
  // written, so a store sized for a million flows holding a thousand costs a thousand flows' worth.
  private live = new Uint8Array(0);
  /** The record: arena slab, offset, length, and the bytes its place can hold. */
  private slabOf = new Int32Array(0);
  private offOf = new Int32Array(0);
  private lenOf = new Int32Array(0);
  private capOf = new Int32Array(0);
  /** TEXT_KEY_COUNT per id: each text key's offset in the record and length (0: "" or absent). */
  private keyOff = new Int32Array(0);
  private keyLen = new Int32Array(0);
  /** Transport.A and .B; NaN without Transport. */
  private portA = new Float64Array(0);
  private portB = new Float64Array(0);
  /** Start, Last and seq: Sort().Limit() on a timestamp reads these instead of records. */
  private startById = new Float64Array(0);
  private lastById = new Float64Array(0);
  private seqById = new Float64Array(0);
  /**
   * When the store last heard of each flow: the later of its Last and the time the message that
   * brought its state was received. Retention and eviction go by it: a flow an agent keeps
   * sending stays, and so do the flows of an old capture just imported (POST /api/pcap), whose
   * Last is long past. Without a receive time (tests, upsert), it is Last.
   */
  private heardById = new Float64Array(0);
  /** LastUpdateMetric's offset in the record (-1: none) and length; whether it is a non-zero delta. */
  private lumOff = new Int32Array(0);
  private lumLen = new Int32Array(0);
  private hasDelta = new Uint8Array(0);
  /** PLACED_COUNT per id: where the scan placed Link, Network, Transport, Metric in the record (-1: absent). */
  private placedOff = new Int32Array(0);
  private placedLen = new Int32Array(0);
  /** Whether the record has a rare part (record-view.ts reads it whole). */
  private rare = new Uint8Array(0);
  /** Deltas older than the flow's own LastUpdateMetric (history.ts); few flows have any. */
  private older: Array<HistoryArray | undefined> = [];
  /** Ids in first-insertion order, a doubly linked list: scans list flows in that order. */
  private seqNext = new Int32Array(0);
  private seqPrev = new Int32Array(0);
  private seqHead = EMPTY;
  private seqTail = EMPTY;
  private readonly uuids: HashIndex;
  /** Every index but UUID's, in SECONDARY_FIELDS order. */
  private readonly indexes: readonly HashIndex[];
  /** The secondary indexes kept up to date (numbers into `indexes`): all but ON_DEMAND ones not asked for yet. */
  private readonly kept: number[] = [];
  private readonly byLast: LastHeap;
  /** Scratch deltas: an incoming one, a held one. */
  private readonly deltaIn = new Float64Array(METRIC_NUMBERS);
  private readonly deltaHeld = new Float64Array(METRIC_NUMBERS);
  /** Per record of the message (row - first): whether hashAll hashed its secondary values (a flow not held). */
  private hashed = new Uint8Array(0);
  /** What the prefetching loads added up to (kept, so that they are not optimised away). */
  private touched = 0;
  /**
   * The message's records copied into the arena in one piece (`stage`): its length (0: not
   * staged), its place (record r lies at stagedOff + recStart[r]), and the bytes inserts took.
   */
  private staged = 0;
  private stagedSlab = 0;
  private stagedOff = 0;
  private stagedTaken = 0;
  private nextSeq = 0;
  private deltas = 0;
  private readonly counters = { inserted: 0, updated: 0, evicted: 0, expired: 0, rejected: 0, historyDropped: 0 };

  constructor(options: Partial<MemoryStoreOptions> = {}) {
    const o = { ...DEFAULT_STORE_OPTIONS, ...options };
    checkOption('maxFlows', o.maxFlows, 1, false);
    checkOption('retentionMs', o.retentionMs, 0, true);
    checkOption('maxHistoryPerFlow', o.maxHistoryPerFlow, 1, false);
    this.options = Object.freeze(o);
    const n = (this.idCapacity = Math.min(o.maxFlows, PRESIZED_IDS));
    this.sizeColumns(n);
    // Indexes of nearly unique values grow to twice the flows held: sized so once, they are
    // never rebuilt (each doubling moved every slot to a random place: a cache miss per slot).
    const slots = nextPowerOfTwo(2 * n);
    this.uuids = new HashIndex('record', n, this.sameText(K_UUID), slots);
    this.indexes = SOURCE_OF.map((src) => (src < 0 ? new HashIndex('number', n)
      : NEARLY_UNIQUE.has(TEXT_KEYS[src]) ? new HashIndex('record', n, this.sameText(src), slots)
        : new HashIndex('text', n)));
    SECONDARY_FIELDS.forEach((field, i) => {
      if (!ON_DEMAND.has(field)) this.kept.push(i);
    });
    this.byLast = new LastHeap({
      holds: (id, seq) => this.live[id] === 1 && this.seqById[id] === seq,
      lastOf: (id) => this.heardById[id],
      seqOf: (id) => this.seqById[id],
    });
  }

  get size(): number {
    return this.count;
  }

  /**
   * Stores the flows of one `flow.Message` (an update older than the state held, by Last, only
   * adds its delta to the history). `receivedAtMs` (default: each flow's Last) trims metric
   * deltas older than the retention from the updated flows' histories. Throws a
   * MessageFormatError, having stored nothing, when the message is malformed.
   */
  ingest(message: Uint8Array, receivedAtMs?: number): IngestResult {
    this.scanner.read(message);
    return this.ingestScan(this.scanner, receivedAtMs);
  }

  /**
   * `ingest` for a message already scanned (record-scan.ts), by another thread for one: the
   * scan's buffer must hold the message until this returns. Nothing in a scan throws.
   */
  ingestScan(scan: MessageScan, receivedAtMs?: number): IngestResult {
    const fresh = this.hashAll(scan);
    this.stage(scan, fresh);
    const hashes = scan.hashes;
    const end = scan.first + scan.count;
    for (let r = scan.first; r < end; r++) {
      const kb = r * TEXT_KEY_COUNT;
      const uuidLen = scan.keyLen[kb + K_UUID];
      if (uuidLen === 0) {
        this.counters.rejected++;
        continue;
      }
      this.uuids.probeText(scan.buf, scan.keyStart[kb + K_UUID], uuidLen);
      const id = this.uuids.first(hashes[r * HASHES_PER_RECORD]);
      if (id === EMPTY) this.insert(scan, r, receivedAtMs);
      else this.update(id, scan, r, receivedAtMs);
    }
    if (this.staged > 0) {
      // What no insert took (gaps between records, updates, refused flows) is free again.
      this.arena.release(this.stagedSlab, this.staged - this.stagedTaken);
      this.staged = 0;
    }
    this.byLast.compactIfNeeded(() => this.ids(), this.count);
    if (this.arena.wantsCompaction()) this.compactArena();
    return scan.stats === undefined ? { flows: scan.count } : { flows: scan.count, stats: scan.stats };
  }

  /** `ingest` for Flow objects; flows without a UUID are refused and counted. */
  upsert(flows: readonly Flow[], receivedAtMs?: number): void {
    const valid: Flow[] = [];
    for (const flow of flows) {
      if (typeof flow?.UUID !== 'string' || flow.UUID === '') this.counters.rejected++;
      else valid.push(flow);
    }
    if (valid.length > 0) this.ingest(encodeMessage(valid), receivedAtMs);
  }

  /** Drops the flows last heard of before nowMs - retentionMs; returns how many. */
  expire(nowMs: number): number {
    if (this.options.retentionMs === Infinity) return 0;
    const cutoff = nowMs - this.options.retentionMs;
    let n = 0;
    for (let top = this.byLast.peek(); top >= 0 && this.heardById[top] < cutoff; top = this.byLast.peek()) {
      this.byLast.pop();
      this.remove(top);
      n++;
    }
    this.counters.expired += n;
    return n;
  }

  get(uuid: string): StoredFlow | undefined {
    const id = this.findUUID(uuid);
    return id === EMPTY ? undefined : this.handle(id);
  }

  *scan(): Iterable<StoredFlow> {
    for (let id = this.seqHead; id !== EMPTY; id = this.seqNext[id]) yield this.handle(id);
  }

  lookup(field: IndexedField, key: IndexKey): Iterable<StoredFlow> {
    if (field === 'UUID') {
      const id = typeof key === 'string' ? this.findUUID(key) : EMPTY;
      return id === EMPTY ? [] : [this.handle(id)];
    }
    const index = this.keptIndex(field);
    const h = this.probeKey(field, index, key);
    if (h === undefined) return [];
    const first = index.first(h);
    if (index.unordered) {
      // A value changed once: lists may be out of order, so sort (rare; see hash-index.ts).
      return [...this.walk(index, first)].sort((a, b) => a.seq - b.seq);
    }
    return this.walk(index, first);
  }

  lookupSize(field: IndexedField, key: IndexKey): number {
    if (field === 'UUID') return typeof key === 'string' && this.findUUID(key) !== EMPTY ? 1 : 0;
    const index = this.keptIndex(field);
    const h = this.probeKey(field, index, key);
    return h === undefined ? 0 : index.count(h);
  }

  topByTime(field: 'Start' | 'Last', k: number, descending: boolean): StoredFlow[] {
    const values = field === 'Start' ? this.startById : this.lastById;
    const seqs = this.seqById;
    const live = this.live;
    const sign = descending ? -1 : 1;
    // Sorted best first; a candidate replaces the worst when strictly better (ties: lower seq).
    const best: number[] = [];
    const before = (a: number, b: number): boolean => {
      const d = sign * (values[a] - values[b]);
      return d < 0 || (d === 0 && seqs[a] < seqs[b]);
    };
    for (let id = 0; id < this.idTop; id++) {
      if (live[id] === 0) continue;
      if (best.length === k && !before(id, best[k - 1])) continue;
      let at = best.length;
      while (at > 0 && before(id, best[at - 1])) at--;
      best.splice(at, 0, id);
      if (best.length > k) best.pop();
    }
    return best.map((id) => this.handle(id));
  }

  stats(): MemoryStoreStats {
    return {
      flows: this.count,
      historyEntries: this.deltas,
      estimatedBytes: this.count * BYTES_PER_FLOW + this.deltas * BYTES_PER_DELTA,
      ...this.counters,
    };
  }

  clear(): void {
    this.live.fill(0);
    this.older = [];
    this.count = 0;
    this.idTop = 0;
    this.freeIds.length = 0;
    this.seqHead = this.seqTail = EMPTY;
    this.arena.clear();
    this.uuids.clear();
    for (const index of this.indexes) index.clear();
    this.byLast.clear();
    this.deltas = 0;
  }

  /** The Flow of record `id`, which must still hold the flow numbered `seq`. */
  decode(id: number, seq: number): Flow {
    this.checkHeld(id, seq);
    const off = this.offOf[id];
    return readFlowRecord(this.arena.buffer(this.slabOf[id]), off, off + this.lenOf[id]);
  }

  /** Record `id` (holding the flow numbered `seq`) read field by field (record-view.ts). */
  view(id: number, seq: number): Flow {
    this.checkHeld(id, seq);
    const off = this.offOf[id];
    return new RecordView(
      this.arena.buffer(this.slabOf[id]), off, off + this.lenOf[id], this.startById[id], this.lastById[id],
      this.placedOff, this.placedLen, id * PLACED_COUNT, this.rare[id] === 1,
    );
  }

  /** The metric deltas of record `id` (holding the flow numbered `seq`), oldest first. */
  historyOf(id: number, seq: number): MetricDelta[] {
    this.checkHeld(id, seq);
    return readHistory(this.older[id], this.hasDelta[id] === 1 ? this.heldDelta(id) : undefined);
  }

  private checkHeld(id: number, seq: number): void {
    // Readers run synchronously between two messages; a handle kept across one may be stale.
    if (this.live[id] !== 1 || this.seqById[id] !== seq) throw new Error('this flow is no longer held by the store');
  }

  private handle(id: number): StoredRecord {
    return new StoredRecord(this, id, this.seqById[id]);
  }

  private *walk(index: HashIndex, first: number): Generator<StoredRecord> {
    for (let id = first; id !== EMPTY; id = index.after(id)) yield this.handle(id);
  }

  /** The index of `field`, built first if it is an ON_DEMAND one nobody asked for yet. */
  private keptIndex(field: Exclude<IndexedField, 'UUID'>): HashIndex {
    const i = SECONDARY_FIELDS.indexOf(field);
    const index = this.indexes[i];
    if (this.kept.includes(i)) return index;
    // In insertion order, as inserts would have added them: the lists stay ordered.
    for (let id = this.seqHead; id !== EMPTY; id = this.seqNext[id]) {
      if (this.setProbe(id, i)) index.add(this.probeHash(i), id);
    }
    this.kept.push(i);
    return index;
  }

  private *ids(): Generator<number> {
    for (let id = this.seqHead; id !== EMPTY; id = this.seqNext[id]) yield id;
  }

  private findUUID(uuid: string): number {
    if (uuid === '') return EMPTY;
    const bytes = TEXT_ENCODER.encode(uuid);
    this.uuids.probeText(bytes, 0, bytes.length);
    return this.uuids.first(hashBytes(bytes, 0, bytes.length));
  }

  /**
   * Sets `index`'s probe to a query's key for `field`; returns its hash, or undefined when no
   * flow can hold it.
   */
  private probeKey(field: IndexedField, index: HashIndex, key: IndexKey): number | undefined {
    const port = field === 'Transport.A' || field === 'Transport.B';
    if (port) {
      if (typeof key !== 'number') return undefined;
      index.probeNumber(key);
      return hashNumber(key);
    }
    if (typeof key !== 'string' || key === '') return undefined;
    const bytes = TEXT_ENCODER.encode(key);
    index.probeText(bytes, 0, bytes.length);
    return hashBytes(bytes, 0, bytes.length);
  }

  /** Whether record `id`'s text key `slot` has the bytes of the index's probe. */
  private sameText(slot: number): SameKey {
    return (id, index) => {
      const k = id * TEXT_KEY_COUNT + slot;
      const n = this.keyLen[k];
      if (n !== index.probeLen) return false;
      const b = this.arena.buffer(this.slabOf[id]);
      const at = this.offOf[id] + this.keyOff[k];
      const p = index.probeBuf;
      const ps = index.probeStart;
      for (let i = 0; i < n; i++) if (b[at + i] !== p[ps + i]) return false;
      return true;
    };
  }

  /**
   * Sets the probe to record `id`'s value in secondary index `i`; returns its hash, or undefined
   * when the record is not in that index ("" or absent).
   */
  private probeHeld(id: number, i: number): number | undefined {
    return this.setProbe(id, i) ? this.probeHash(i) : undefined;
  }

  /** The hash of index `i`'s probe. */
  private probeHash(i: number): number {
    const index = this.indexes[i];
    if (SOURCE_OF[i] < 0) return hashNumber(index.probeNum);
    return hashBytes(index.probeBuf, index.probeStart, index.probeStart + index.probeLen);
  }

  /** Sets index `i`'s probe to record `id`'s value; false when the record is not in that index. */
  private setProbe(id: number, i: number): boolean {
    const src = SOURCE_OF[i];
    const index = this.indexes[i];
    if (src < 0) {
      const v = src === PORT_A ? this.portA[id] : this.portB[id];
      if (Number.isNaN(v)) return false;
      index.probeNumber(v);
      return true;
    }
    const k = id * TEXT_KEY_COUNT + src;
    const n = this.keyLen[k];
    if (n === 0) return false;
    index.probeText(this.arena.buffer(this.slabOf[id]), this.offOf[id] + this.keyOff[k], n);
    return true;
  }

  /**
   * Hashes every indexed value of the message's records into `hashes`, and reads the index
   * slots they lead to in passes of independent loads (hash-index.ts' `touch`): at a million
   * flows those slots are cache misses, and waiting for them one probe at a time was most of
   * an insert. The UUID slots first; the other indexes only for the flows not held yet (an
   * update probes them only if a value changed).
   */
  private hashAll(scan: MessageScan): number {
    const first = scan.first;
    const end = first + scan.count;
    let fresh = 0;
    if (this.hashed.length < scan.count) this.hashed = new Uint8Array(2 * scan.count);
    const hashed = this.hashed;
    const ready = scan.hashesReady;
    const hashes = scan.hashes;
    const buf = scan.buf;
    const uuids = this.uuids;
    const indexes = this.indexes;
    const kept = this.kept;
    if (!ready) for (let r = first; r < end; r++) scan.hashUUID(r);
    let touched = 0;
    for (let r = first; r < end; r++) touched += uuids.touchSlot(hashes[r * HASHES_PER_RECORD]);
    for (let r = first; r < end; r++) {
      const k = r * TEXT_KEY_COUNT + K_UUID;
      uuids.probeText(buf, scan.keyStart[k], scan.keyLen[k]);
      hashed[r - first] = 0;
      if (scan.keyLen[k] === 0 || uuids.first(hashes[r * HASHES_PER_RECORD]) !== EMPTY) continue;
      hashed[r - first] = 1;
      fresh++;
      if (!ready) scan.hashSecondary(r);
    }
    // Absent values got a hash too (of nothing): touching their slots is harmless.
    for (let r = first; r < end; r++) {
      if (hashed[r - first] === 0) continue;
      for (const i of kept) touched += indexes[i].touchSlot(hashes[r * HASHES_PER_RECORD + 1 + i]);
    }
    for (let r = first; r < end; r++) {
      if (hashed[r - first] === 0) continue;
      for (const i of kept) touched += indexes[i].touchList(hashes[r * HASHES_PER_RECORD + 1 + i]);
    }
    this.touched = touched;
    return fresh;
  }

  /**
   * When most of the message's records are flows not held yet, copies all its records into the
   * arena at once: a copy per record (a call into Buffer.copy for 270 bytes) was a twentieth of
   * an insert. An insert then keeps its record where it already lies. Updates, whose records
   * mostly fit their old places, are copied one by one.
   */
  private stage(scan: MessageScan, fresh: number): void {
    if (scan.count === 0 || 4 * fresh < 3 * scan.count) return;
    const from = scan.recStart[scan.first];
    const to = scan.recEnd[scan.first + scan.count - 1];
    const arena = this.arena;
    arena.take(to - from, (scan.buf.byteOffset + from) & 7);
    scan.buf.copy(arena.buffer(arena.slab), arena.offset, from, to);
    this.staged = to - from;
    this.stagedSlab = arena.slab;
    this.stagedOff = arena.offset - from;
    this.stagedTaken = 0;
  }

  /** Whether scan row `r` has the value record `id` holds in secondary index `i`. */
  private sameAsHeld(id: number, scan: MessageScan, r: number, i: number): boolean {
    const src = SOURCE_OF[i];
    if (src < 0) {
      const held = src === PORT_A ? this.portA[id] : this.portB[id];
      const now = src === PORT_A ? scan.portA[r] : scan.portB[r];
      return held === now || (Number.isNaN(held) && Number.isNaN(now));
    }
    const k = id * TEXT_KEY_COUNT + src;
    const n = this.keyLen[k];
    if (n !== scan.keyLen[r * TEXT_KEY_COUNT + src]) return false;
    const b = this.arena.buffer(this.slabOf[id]);
    const at = this.offOf[id] + this.keyOff[k];
    const s = scan.buf;
    const ss = scan.keyStart[r * TEXT_KEY_COUNT + src];
    for (let j = 0; j < n; j++) if (b[at + j] !== s[ss + j]) return false;
    return true;
  }

  private insert(scan: MessageScan, r: number, receivedAtMs: number | undefined): void {
    const heard = heardAt(scan, r, receivedAtMs);
    if (this.count >= this.options.maxFlows) {
      const oldest = this.byLast.peek();
      // A flow older than everything held would be the next one evicted: keep the newer ones.
      if (oldest < 0 || heard < this.heardById[oldest]) {
        this.counters.rejected++;
        return;
      }
      this.byLast.pop();
      this.remove(oldest);
      this.counters.evicted++;
    }
    const id = this.allocId();
    const seq = this.nextSeq++;
    this.seqById[id] = seq;
    this.live[id] = 1;
    this.older[id] = undefined;
    const hashed = this.hashed[r - scan.first] === 1;
    if (this.staged > 0 && hashed) {
      // A flow not held when the message was staged: its record lies in the staged copy.
      const len = scan.recEnd[r] - scan.recStart[r];
      this.slabOf[id] = this.stagedSlab;
      this.offOf[id] = this.stagedOff + scan.recStart[r];
      this.capOf[id] = len;
      this.stagedTaken += len;
    } else {
      this.capOf[id] = 0;
      this.placeRecord(id, scan, r);
    }
    this.writeColumns(id, scan, r);
    this.heardById[id] = heard;
    // Append to the insertion-order list.
    this.seqPrev[id] = this.seqTail;
    this.seqNext[id] = EMPTY;
    if (this.seqTail === EMPTY) this.seqHead = id;
    else this.seqNext[this.seqTail] = id;
    this.seqTail = id;
    this.count++;
    const kb = id * TEXT_KEY_COUNT + K_UUID;
    this.uuids.probeText(this.arena.buffer(this.slabOf[id]), this.offOf[id] + this.keyOff[kb], this.keyLen[kb]);
    const hashes = scan.hashes;
    this.uuids.add(hashes[r * HASHES_PER_RECORD], id);
    // Hashed by hashAll unless the flow was held then (and evicted since by this message).
    for (const i of this.kept) {
      if (!this.setProbe(id, i)) continue;
      this.indexes[i].add(hashed ? hashes[r * HASHES_PER_RECORD + 1 + i] : this.probeHash(i), id);
    }
    this.byLast.push(id);
    this.deltas += this.deltaCount(id);
    this.counters.inserted++;
  }

  private update(id: number, scan: MessageScan, r: number, receivedAtMs: number | undefined): void {
    this.counters.updated++;
    const before = this.deltaCount(id);
    const maxOlder = this.options.maxHistoryPerFlow - 1;
    const incoming = this.incomingDelta(scan, r);
    if (scan.last[r] < this.lastById[id]) {
      // A state older than the one held (a replayed buffer): only its delta is news.
      const held = this.hasDelta[id] === 1 ? this.heldDelta(id) : undefined;
      if (incoming !== undefined && (held === undefined || !sameWindow(incoming, held))) {
        this.counters.historyDropped += addDelta((this.older[id] ??= []), incoming, maxOlder);
      }
    } else {
      // Skydive freezes a flow's keys at creation, so these rarely differ; when they do (an
      // agent restarted with other settings), the indexes follow.
      let moved = 0;
      for (const i of this.kept) {
        if (this.sameAsHeld(id, scan, r, i)) continue;
        moved |= 1 << i;
        const h = this.probeHeld(id, i);
        if (h !== undefined) this.indexes[i].remove(h, id);
      }
      const previous = this.hasDelta[id] === 1 ? this.heldDelta(id) : undefined;
      if (previous !== undefined && (incoming === undefined || !sameWindow(previous, incoming))) {
        this.counters.historyDropped += addDelta((this.older[id] ??= []), previous, maxOlder);
      }
      const heardBefore = this.heardById[id];
      this.placeRecord(id, scan, r);
      this.writeColumns(id, scan, r);
      this.heardById[id] = heardAt(scan, r, receivedAtMs);
      for (let i = 0; moved !== 0; i++, moved >>>= 1) {
        if ((moved & 1) === 0) continue;
        const h = this.probeHeld(id, i);
        if (h !== undefined) this.indexes[i].move(h, id);
      }
      if (this.heardById[id] !== heardBefore) this.byLast.push(id);
    }
    const hist = this.older[id];
    if (hist !== undefined && this.options.retentionMs !== Infinity) {
      dropBefore(hist, (receivedAtMs ?? this.lastById[id]) - this.options.retentionMs);
    }
    this.deltas += this.deltaCount(id) - before;
  }

  private remove(id: number): void {
    this.deltas -= this.deltaCount(id);
    for (const i of this.kept) {
      const h = this.probeHeld(id, i);
      if (h !== undefined) this.indexes[i].remove(h, id);
    }
    const kb = id * TEXT_KEY_COUNT + K_UUID;
    const b = this.arena.buffer(this.slabOf[id]);
    const at = this.offOf[id] + this.keyOff[kb];
    this.uuids.probeText(b, at, this.keyLen[kb]);
    this.uuids.remove(hashBytes(b, at, at + this.keyLen[kb]), id);
    const prev = this.seqPrev[id];
    const next = this.seqNext[id];
    if (prev === EMPTY) this.seqHead = next;
    else this.seqNext[prev] = next;
    if (next === EMPTY) this.seqTail = prev;
    else this.seqPrev[next] = prev;
    this.arena.release(this.slabOf[id], this.capOf[id]);
    this.live[id] = 0;
    this.older[id] = undefined;
    this.freeIds.push(id);
    this.count--;
  }

  /** Copies scan row `r`'s record into record `id`'s place (a new one if it does not fit). */
  private placeRecord(id: number, scan: MessageScan, r: number): void {
    const start = scan.recStart[r];
    const len = scan.recEnd[r] - start;
    if (len > this.capOf[id]) {
      if (this.capOf[id] > 0) this.arena.release(this.slabOf[id], this.capOf[id]);
      this.arena.take(len, (scan.buf.byteOffset + start) & 7);
      this.slabOf[id] = this.arena.slab;
      this.offOf[id] = this.arena.offset;
      this.capOf[id] = len;
    }
    scan.buf.copy(this.arena.buffer(this.slabOf[id]), this.offOf[id], start, start + len);
  }

  /** Record `id`'s columns from scan row `r` (its record in place). */
  private writeColumns(id: number, scan: MessageScan, r: number): void {
    const start = scan.recStart[r];
    this.lenOf[id] = scan.recEnd[r] - start;
    const kb = id * TEXT_KEY_COUNT;
    const sb = r * TEXT_KEY_COUNT;
    for (let k = 0; k < TEXT_KEY_COUNT; k++) {
      const n = scan.keyLen[sb + k];
      this.keyLen[kb + k] = n;
      this.keyOff[kb + k] = n === 0 ? 0 : scan.keyStart[sb + k] - start;
    }
    for (let i = 0, p = id * PLACED_COUNT, q = r * PLACED_COUNT; i < PLACED_COUNT; i++) {
      const at = scan.placedStart[q + i];
      this.placedOff[p + i] = at < 0 ? -1 : at - start;
      this.placedLen[p + i] = scan.placedLen[q + i];
    }
    this.rare[id] = scan.rare[r];
    this.portA[id] = scan.portA[r];
    this.portB[id] = scan.portB[r];
    this.startById[id] = scan.start[r];
    this.lastById[id] = scan.last[r];
    const lum = scan.lumStart[r];
    if (lum < 0) {
      this.lumOff[id] = -1;
      this.hasDelta[id] = 0;
    } else {
      this.lumOff[id] = lum - start;
      this.lumLen[id] = scan.lumEnd[r] - lum;
      this.hasDelta[id] = this.incomingDelta(scan, r) === undefined ? 0 : 1;
    }
  }

  /** Scan row `r`'s LastUpdateMetric in `deltaIn`, or undefined when absent or zero. */
  private incomingDelta(scan: MessageScan, r: number): Float64Array | undefined {
    if (scan.lumStart[r] < 0) return undefined;
    const d = this.deltaIn;
    for (let i = 0, at = r * METRIC_NUMBERS; i < METRIC_NUMBERS; i++) d[i] = scan.lum[at + i];
    return isZeroNumbers(d) ? undefined : d;
  }

  /** Record `id`'s LastUpdateMetric (which hasDelta says is there) in `deltaHeld`. */
  private heldDelta(id: number): Float64Array {
    const at = this.offOf[id] + this.lumOff[id];
    readMetricInto(this.arena.buffer(this.slabOf[id]), at, at + this.lumLen[id], this.deltaHeld);
    return this.deltaHeld;
  }

  private deltaCount(id: number): number {
    return historyLength(this.older[id]) + this.hasDelta[id];
  }

  /** Moves the records of the arena's emptiest slabs to fresh ones (record-arena.ts). */
  private compactArena(): void {
    const arena = this.arena;
    for (let id = 0; id < this.idTop; id++) {
      if (this.live[id] === 0 || !arena.sparse(this.slabOf[id])) continue;
      const from = arena.buffer(this.slabOf[id]);
      const off = this.offOf[id];
      const len = this.lenOf[id];
      arena.take(len);
      from.copy(arena.buffer(arena.slab), arena.offset, off, off + len);
      arena.release(this.slabOf[id], this.capOf[id]);
      this.slabOf[id] = arena.slab;
      this.offOf[id] = arena.offset;
      this.capOf[id] = len;
    }
    arena.compacted();
  }

  private allocId(): number {
    const id = this.freeIds.pop() ?? this.idTop++;
    if (id >= this.idCapacity) this.growIds(Math.min(2 * this.idCapacity, this.options.maxFlows));
    return id;
  }

  private growIds(capacity: number): void {
    this.idCapacity = capacity;
    this.uuids.growRecords(capacity);
    for (const index of this.indexes) index.growRecords(capacity);
    this.sizeColumns(capacity);
  }

  /** Sizes every column for ids below `capacity`, keeping what they hold. */
  private sizeColumns(capacity: number): void {
    const grow = <T extends Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer> | Uint8Array<ArrayBuffer>>(a: T, per = 1): T =>
      grown(a, capacity * per);
    this.live = grow(this.live);
    this.slabOf = grow(this.slabOf);
    this.offOf = grow(this.offOf);
    this.lenOf = grow(this.lenOf);
    this.capOf = grow(this.capOf);
    this.keyOff = grow(this.keyOff, TEXT_KEY_COUNT);
    this.keyLen = grow(this.keyLen, TEXT_KEY_COUNT);
    this.portA = grow(this.portA);
    this.portB = grow(this.portB);
    this.startById = grow(this.startById);
    this.lastById = grow(this.lastById);
    this.heardById = grow(this.heardById);
    this.seqById = grow(this.seqById);
    this.lumOff = grow(this.lumOff);
    this.lumLen = grow(this.lumLen);
    this.hasDelta = grow(this.hasDelta);
    this.placedOff = grow(this.placedOff, PLACED_COUNT);
    this.placedLen = grow(this.placedLen, PLACED_COUNT);
    this.rare = grow(this.rare);
    this.seqNext = grow(this.seqNext);
    this.seqPrev = grow(this.seqPrev);
  }
}
