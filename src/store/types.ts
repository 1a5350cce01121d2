/**
 * Types shared by the flow store and its readers (the Gremlin evaluator, the analyzer's /metrics).
 */
import type { Flow } from '../flow/types.js';

/**
 * One metric delta of a flow's history: a LastUpdateMetric the agent sent, counters for the
 * window [Start, Last] (ms). Plain numbers: byte counters above 2^53 (9 PB in one update
 * period) would lose precision, which no real link reaches.
 */
export interface MetricDelta {
  readonly ABPackets: number;
  readonly ABBytes: number;
  readonly BAPackets: number;
  readonly BABytes: number;
  readonly Start: number;
  readonly Last: number;
  /** Nanoseconds, copied from Metric by the agent; 0 when unknown. */
  readonly RTT: number;
}

/** A flow as the store holds it: its latest state and its retained metric deltas. */
export interface StoredFlow {
  /**
   * The latest state received for this UUID. The memory store decodes it from the record it
   * holds when first read: read it while the store has not changed since the handle was taken.
   */
  readonly flow: Flow;
  /**
   * Optional: the same flow read field by field on demand, cheaper than `flow` when a reader
   * tests or sorts many flows on a field or two (the memory store's record view).
   */
  readonly fields?: Flow;
  /** Rank of the first insertion; queries list flows in this order before any Sort. */
  readonly seq: number;
  /** The LastUpdateMetric deltas received, oldest first, at most `maxHistoryPerFlow`. */
  history(): readonly MetricDelta[];
}

/**
 * Fields with a hash index: equality and Within filters on them read the index instead of
 * scanning. Names are Skydive's dotted field paths.
 */
export const INDEXED_FIELDS = [
  'UUID', 'TrackingID', 'L3TrackingID', 'ParentUUID', 'NodeTID', 'CaptureID',
  'Link.A', 'Link.B', 'Network.A', 'Network.B', 'Transport.A', 'Transport.B',
  'LayersPath', 'Application',
] as const;

export type IndexedField = (typeof INDEXED_FIELDS)[number];

/** The indexed fields other than UUID (the store's primary key), in the order of the store's indexes. */
export const SECONDARY_FIELDS = [
  'TrackingID', 'L3TrackingID', 'ParentUUID', 'NodeTID', 'CaptureID', 'Link.A', 'Link.B',
  'Network.A', 'Network.B', 'Transport.A', 'Transport.B', 'LayersPath', 'Application',
] as const satisfies readonly IndexedField[];

/** An indexed value: text for string fields, a number for ports. */
export type IndexKey = string | number;

/**
 * What the query evaluator needs from a store. `MemoryFlowStore` implements it; another backend
 * (Elasticsearch) would too.
 */
export interface FlowSource {
  /** Number of flows held. */
  readonly size: number;
  /** Every flow, in first-insertion order (ascending `seq`). */
  scan(): Iterable<StoredFlow>;
  /**
   * The flows whose `field` equals `key`, in first-insertion order (ascending `seq`), read
   * lazily so a caller may stop early. Empty strings are not indexed: callers scan for them.
   */
  lookup(field: IndexedField, key: IndexKey): Iterable<StoredFlow>;
  /** How many flows `lookup(field, key)` gives, in O(1), to pick the most selective index. */
  lookupSize(field: IndexedField, key: IndexKey): number;
  /**
   * Optional: the `k` flows with the smallest (or, `descending`, the largest) Start or Last,
   * ties in insertion order; what Sort().Limit(k) gives, without reading every flow object.
   */
  topByTime?(field: 'Start' | 'Last', k: number, descending: boolean): StoredFlow[];
}

/** Bounds and tuning of a `MemoryFlowStore`. */
export interface MemoryStoreOptions {
  /**
   * Most flows held at once; when full, the flow heard of least recently (the later of its Last
   * and when its last state was received) is evicted (counted).
   * Default 1,000,000: about 0.8 GB with the per-flow figure of bench/query.ts.
   */
  maxFlows: number;
  /**
   * Flows last heard of (as for maxFlows) before now - retentionMs are dropped by `expire(now)`
   * (counted).
   * Default 1 hour; Infinity keeps flows until they are evicted.
   */
  retentionMs: number;
  /**
   * Metric deltas kept per flow; older ones are dropped first (counted). Default 60: one hour of
   * Skydive's 60 s update ticks.
   */
  maxHistoryPerFlow: number;
}

/** Counters for /metrics. */
export interface MemoryStoreStats {
  /** Flows held now. */
  flows: number;
  /** Metric deltas held now, over all flows. */
  historyEntries: number;
  /** Estimated bytes held: flows x bytesPerFlow + deltas x bytesPerDelta (measured, see store). */
  estimatedBytes: number;
  /** Flows seen for the first time (since creation). */
  inserted: number;
  /** Updates of a flow already held. */
  updated: number;
  /** Flows removed because the store was full. */
  evicted: number;
  /** Flows removed by retention (`expire`). */
  expired: number;
  /** Flows refused: no UUID, or older than every flow of a full store. */
  rejected: number;
  /** Metric deltas dropped because a flow's history was full. */
  historyDropped: number;
}
