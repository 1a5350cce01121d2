/**
 * Arithmetic on metric deltas: cutting one to a time window, summing, and re-bucketing many into
 * fixed slices (Metrics().Aggregates()).
 *
 * A delta's counters are taken as spread evenly over its window [Start, Last], as Skydive's
 * metric Split does; a delta with Start = Last is a point in time.
 */
import type { MetricDelta } from '../store/types.js';

export { deltaFromMetric } from '../store/history.js';

/** Most slices Aggregates may produce (Skydive's bound). */
export const MAX_AGGREGATE_SLICES = 10000;

const COUNTERS = ['ABPackets', 'ABBytes', 'BAPackets', 'BABytes'] as const;

/**
 * The part of `m` inside [from, to], or undefined when they do not overlap. Counters of a cut
 * delta are prorated by time; floor of the cumulative share at each end, so the pieces of one
 * delta cut at the same instants add up to the whole.
 */
export function cutToWindow(m: MetricDelta, from: number, to: number): MetricDelta | undefined {
  if (m.Last < from || m.Start > to) return undefined;
  if (m.Start >= from && m.Last <= to) return m;
  const start = Math.max(m.Start, from);
  const last = Math.min(m.Last, to);
  if (last <= start) return undefined;
  const duration = m.Last - m.Start;
  const share = (v: number): number =>
    Math.floor((v * (last - m.Start)) / duration) - Math.floor((v * (start - m.Start)) / duration);
  return {
    ABPackets: share(m.ABPackets), ABBytes: share(m.ABBytes), BAPackets: share(m.BAPackets), BABytes: share(m.BABytes),
    Start: start, Last: last, RTT: m.RTT,
  };
}

/** The counters added up, from the earliest Start to the latest Last; RTT is not summed (0). */
export function sumDeltas(all: Iterable<MetricDelta>): MetricDelta | undefined {
  let total: { ABPackets: number; ABBytes: number; BAPackets: number; BABytes: number; Start: number; Last: number } | undefined;
  for (const m of all) {
    if (total === undefined) {
      total = { ABPackets: m.ABPackets, ABBytes: m.ABBytes, BAPackets: m.BAPackets, BABytes: m.BABytes, Start: m.Start, Last: m.Last };
      continue;
    }
    total.ABPackets += m.ABPackets;
    total.ABBytes += m.ABBytes;
    total.BAPackets += m.BAPackets;
    total.BABytes += m.BABytes;
    if (m.Start < total.Start) total.Start = m.Start;
    if (m.Last > total.Last) total.Last = m.Last;
  }
  return total === undefined ? undefined : { ...total, RTT: 0 };
}

/** Number of slices of `sliceMs` covering [start, end] (at least one). */
export function sliceCount(start: number, end: number, sliceMs: number): number {
  return Math.max(1, Math.ceil((end - start) / sliceMs));
}

interface RateEvent {
  readonly at: number;
  /** +1 when a delta begins, -1 when it ends. */
  readonly sign: number;
  readonly rates: readonly number[];
}

/**
 * Re-buckets every delta into consecutive slices of `sliceMs` from `start` to `end`. Each slice
 * receives the share of every delta overlapping it (counters rounded to integers); slices no
 * delta touches are left out. A sweep over the deltas' start and end instants, so the work is
 * O(d log d + slices) whatever the deltas' lengths.
 */
export function aggregateDeltas(deltas: readonly MetricDelta[], start: number, end: number, sliceMs: number): MetricDelta[] {
  const slices = sliceCount(start, end, sliceMs);
  const sums = new Float64Array(slices * 4);
  const touched = new Uint8Array(slices);
  const events: RateEvent[] = [];
  const sliceOf = (t: number): number => Math.min(slices - 1, Math.max(0, Math.floor((t - start) / sliceMs)));
  for (const m of deltas) {
    const s = Math.max(m.Start, start);
    const l = Math.min(m.Last, end);
    if (l < s || (l === s && m.Start !== m.Last)) continue; // outside, or only touching an edge
    if (m.Start === m.Last) {
      // A point in time: all of it in the slice holding that instant.
      const j = sliceOf(s);
      for (let c = 0; c < 4; c++) sums[j * 4 + c] += m[COUNTERS[c]];
      touched[j] = 1;
      continue;
    }
    const rates = COUNTERS.map((c) => m[c] / (m.Last - m.Start));
    events.push({ at: s, sign: 1, rates }, { at: l, sign: -1, rates });
  }
  events.sort((a, b) => a.at - b.at || a.sign - b.sign);
  const rate = [0, 0, 0, 0];
  let active = 0;
  let e = 0;
  for (let j = 0; j < slices; j++) {
    const sliceEnd = Math.min(start + (j + 1) * sliceMs, end);
    let t = start + j * sliceMs;
    const integrate = (until: number): void => {
      if (until <= t) return;
      if (active > 0) touched[j] = 1;
      for (let c = 0; c < 4; c++) sums[j * 4 + c] += rate[c] * (until - t);
      t = until;
    };
    while (e < events.length && (events[e].at < sliceEnd || (j === slices - 1 && events[e].at <= sliceEnd))) {
      integrate(events[e].at);
      const ev = events[e++];
      active += ev.sign;
      for (let c = 0; c < 4; c++) rate[c] += ev.sign * ev.rates[c];
    }
    integrate(sliceEnd);
  }
  const out: MetricDelta[] = [];
  for (let j = 0; j < slices; j++) {
    if (!touched[j]) continue;
    out.push({
      ABPackets: Math.round(sums[j * 4]), ABBytes: Math.round(sums[j * 4 + 1]),
      BAPackets: Math.round(sums[j * 4 + 2]), BABytes: Math.round(sums[j * 4 + 3]),
      Start: start + j * sliceMs, Last: Math.min(start + (j + 1) * sliceMs, end), RTT: 0,
    });
  }
  return out;
}
