/**
 * A flow's metric history: the LastUpdateMetric deltas the agent sent, oldest first.
 *
 * The newest delta is the LastUpdateMetric of the flow's current state, already held in the
 * stored record; only older ones are stored here, so a flow updated once costs nothing more.
 * They are stored flat in one number array, STRIDE numbers per delta, because V8 keeps such an
 * array as raw doubles (8 bytes a number, no object per delta): 56 bytes a delta instead of
 * about 120 for a FlowMetric object and its boxed timestamps. A delta on its way in is a
 * Float64Array of the same seven numbers (record-scan.ts' `readMetricInto`), so that neither
 * comparing nor keeping one builds an object.
 */
import type { FlowMetric, Int64 } from '../flow/types.js';
import {
  M_AB_BYTES as AB_BYTES, M_AB_PACKETS as AB_PACKETS, M_BA_BYTES as BA_BYTES, M_BA_PACKETS as BA_PACKETS,
  M_LAST as LAST, M_RTT as RTT, M_START as START,
} from './record-scan.js';
import type { MetricDelta } from './types.js';

const STRIDE = 7;

/** A delta as seven numbers, in record-scan.ts' M_* order. */
export type DeltaNumbers = Float64Array;

export type HistoryArray = number[];

function num(v: Int64): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Whether a delta carries nothing: an agent sends zero deltas for flows idle since the last tick. */
export function isZeroDelta(m: FlowMetric): boolean {
  return num(m.ABPackets) === 0 && num(m.BAPackets) === 0 && num(m.ABBytes) === 0 && num(m.BABytes) === 0;
}

/** The delta a flow state carries, when it carries one worth keeping. */
export function currentDelta(flow: { LastUpdateMetric?: FlowMetric }): FlowMetric | undefined {
  const m = flow.LastUpdateMetric;
  return m === undefined || isZeroDelta(m) ? undefined : m;
}

/** Whether a delta carries nothing (see isZeroDelta). */
export function isZeroNumbers(m: DeltaNumbers): boolean {
  return m[AB_PACKETS] === 0 && m[BA_PACKETS] === 0 && m[AB_BYTES] === 0 && m[BA_BYTES] === 0;
}

/** Whether two deltas cover the same window: the same update, sent twice. */
export function sameWindow(a: DeltaNumbers, b: DeltaNumbers): boolean {
  return a[START] === b[START] && a[LAST] === b[LAST];
}

export function deltaFromMetric(m: FlowMetric): MetricDelta {
  return {
    ABPackets: num(m.ABPackets), ABBytes: num(m.ABBytes), BAPackets: num(m.BAPackets), BABytes: num(m.BABytes),
    Start: num(m.Start), Last: num(m.Last), RTT: num(m.RTT),
  };
}

export function historyLength(h: HistoryArray | undefined): number {
  return h === undefined ? 0 : h.length / STRIDE;
}

/**
 * Adds `m` to `h` in Last order. A delta with the same window as one held replaces it, so an
 * update delivered twice (an agent replaying its buffer after a reconnect) is not counted twice.
 * Drops the oldest deltas beyond `max`; returns how many were dropped.
 */
export function addDelta(h: HistoryArray, m: DeltaNumbers, max: number): number {
  const start = m[START];
  const last = m[LAST];
  // Agents send deltas in time order: the common case appends.
  let at = h.length;
  while (at > 0 && h[at - STRIDE + LAST] > last) at -= STRIDE;
  if (at > 0 && h[at - STRIDE + LAST] === last && h[at - STRIDE + START] === start) {
    at -= STRIDE;
    writeDelta(h, at, m);
    return 0;
  }
  if (at === h.length) {
    h.push(0, 0, 0, 0, 0, 0, 0);
  } else {
    h.splice(at, 0, 0, 0, 0, 0, 0, 0, 0);
  }
  writeDelta(h, at, m);
  const excess = h.length / STRIDE - max;
  if (excess > 0) {
    h.splice(0, excess * STRIDE);
    return excess;
  }
  return 0;
}

function writeDelta(h: HistoryArray, at: number, m: DeltaNumbers): void {
  for (let i = 0; i < STRIDE; i++) h[at + i] = m[i];
}

/** Drops the deltas that ended before `cutoff`; returns how many. */
export function dropBefore(h: HistoryArray, cutoff: number): number {
  let n = 0;
  while (n * STRIDE < h.length && h[n * STRIDE + LAST] < cutoff) n++;
  if (n > 0) h.splice(0, n * STRIDE);
  return n;
}

/**
 * The stored deltas then `current` (the flow's own LastUpdateMetric), oldest first, one per
 * window. `current` is normally the newest; an update received out of order is put in its place.
 */
export function readHistory(h: HistoryArray | undefined, current: DeltaNumbers | undefined): MetricDelta[] {
  const out: MetricDelta[] = [];
  if (h !== undefined) {
    for (let i = 0; i < h.length; i += STRIDE) {
      out.push({
        ABPackets: h[i + AB_PACKETS], ABBytes: h[i + AB_BYTES], BAPackets: h[i + BA_PACKETS],
        BABytes: h[i + BA_BYTES], Start: h[i + START], Last: h[i + LAST], RTT: h[i + RTT],
      });
    }
  }
  if (current === undefined) return out;
  const cur: MetricDelta = {
    ABPackets: current[AB_PACKETS], ABBytes: current[AB_BYTES], BAPackets: current[BA_PACKETS],
    BABytes: current[BA_BYTES], Start: current[START], Last: current[LAST], RTT: current[RTT],
  };
  const prev = out[out.length - 1];
  if (prev === undefined || prev.Last < cur.Last || (prev.Last === cur.Last && prev.Start < cur.Start)) {
    out.push(cur);
    return out;
  }
  const same = out.findIndex((d) => d.Start === cur.Start && d.Last === cur.Last);
  if (same >= 0) out[same] = cur;
  else out.push(cur);
  return out.sort((a, b) => a.Last - b.Last || a.Start - b.Start);
}
