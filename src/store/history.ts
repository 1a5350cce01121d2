/**
 * A flow's metric history: the LastUpdateMetric deltas the agent sent, oldest first.
 *
 * The newest delta is the LastUpdateMetric of the flow's current state, already held by the
 * flow object; only older ones are stored here, so a flow updated once costs nothing more.
 * They are stored flat in one number array, STRIDE numbers per delta, because V8 keeps such an
 * array as raw doubles (8 bytes a number, no object per delta): 56 bytes a delta instead of
 * about 120 for a FlowMetric object and its boxed timestamps.
 */
import type { FlowMetric, Int64 } from '../flow/types.js';
import type { MetricDelta } from './types.js';

const STRIDE = 7;
const AB_PACKETS = 0;
const AB_BYTES = 1;
const BA_PACKETS = 2;
const BA_BYTES = 3;
const START = 4;
const LAST = 5;
const RTT = 6;

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

/** Whether two deltas cover the same window: the same update, sent twice. */
export function sameWindow(a: FlowMetric, b: FlowMetric): boolean {
  return num(a.Start) === num(b.Start) && num(a.Last) === num(b.Last);
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
export function addDelta(h: HistoryArray, m: FlowMetric, max: number): number {
  const start = num(m.Start);
  const last = num(m.Last);
  // Agents send deltas in time order: the common case appends.
  let at = h.length;
  while (at > 0 && h[at - STRIDE + LAST] > last) at -= STRIDE;
  if (at > 0 && h[at - STRIDE + LAST] === last && h[at - STRIDE + START] === start) {
    at -= STRIDE;
    writeDelta(h, at, m, start, last);
    return 0;
  }
  if (at === h.length) {
    h.push(0, 0, 0, 0, 0, 0, 0);
  } else {
    h.splice(at, 0, 0, 0, 0, 0, 0, 0, 0);
  }
  writeDelta(h, at, m, start, last);
  const excess = h.length / STRIDE - max;
  if (excess > 0) {
    h.splice(0, excess * STRIDE);
    return excess;
  }
  return 0;
}

function writeDelta(h: HistoryArray, at: number, m: FlowMetric, start: number, last: number): void {
  h[at + AB_PACKETS] = num(m.ABPackets);
  h[at + AB_BYTES] = num(m.ABBytes);
  h[at + BA_PACKETS] = num(m.BAPackets);
  h[at + BA_BYTES] = num(m.BABytes);
  h[at + START] = start;
  h[at + LAST] = last;
  h[at + RTT] = num(m.RTT);
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
export function readHistory(h: HistoryArray | undefined, current: FlowMetric | undefined): MetricDelta[] {
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
  const cur = deltaFromMetric(current);
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
