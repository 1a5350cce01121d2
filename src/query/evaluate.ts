/**
 * Runs a plan over a flow source.
 *
 * The source stage reads as little as it can: among the conditions that can use an index
 * (equality or Within on an indexed field, or a HasEither of such), it takes the one whose
 * lookups give the fewest flows and tests every condition on those only; without one it scans.
 * Candidates are visited in insertion order, so results do not depend on the path taken. It also
 * fuses with the step after it: Count() counts without building a list, Limit/Range stop early,
 * and Sort().Limit(n) keeps the n best in a bounded list instead of sorting everything.
 */
import type { Flow } from '../flow/types.js';
import type { FlowSource, MetricDelta, StoredFlow } from '../store/types.js';
import type { Op, Plan, TimeSpec } from './compile.js';
import { QueryError } from './errors.js';
import { FLOW_KEYS, METRIC_KEYS, type FieldDef, type FieldValue } from './fields.js';
import {
  aggregateDeltas, cutToWindow, deltaFromMetric, MAX_AGGREGATE_SLICES, sliceCount, sumDeltas,
} from './metric-math.js';
import { allOf, compareNumbers, type Condition } from './predicates.js';
import { blockReply, FlowItem, MapReply, metricReply, type ReplyValue } from './reply.js';
import { resolveTime } from './time.js';

export interface EvalOptions {
  /** "Now" for relative times (ms since the epoch). */
  readonly nowMs: number;
  /**
   * Skydive's flow.expire in ms: a flow is alive in a time window if its Last is at most this
   * long before the window starts (it may still be in an agent's table then).
   */
  readonly flowExpireMs: number;
}

/** Sort().Limit(n) keeps a bounded list up to this n; beyond, it sorts everything. */
const TOP_K_MAX = 10000;

interface Window {
  /** Flows: alive in [from, to]. */
  readonly from: number;
  readonly to: number;
  /** Metrics: cut to [metricsFrom, to]; -Infinity for a single instant (everything up to it). */
  readonly metricsFrom: number;
  /** Whether the window has a finite length (At with a duration other than FOREVER). */
  readonly bounded: boolean;
}

type State =
  | { readonly kind: 'flows'; readonly items: StoredFlow[] }
  | { readonly kind: 'metrics'; readonly entries: Array<[string, MetricDelta[]]> }
  | { readonly kind: 'values'; readonly items: ReplyValue[] }
  | { readonly kind: 'scalar'; readonly value: ReplyValue };

function resolveWindow(spec: TimeSpec, nowMs: number): Window {
  const at = resolveTime(spec.at, nowMs);
  if (spec.spanMs === undefined) return { from: at, to: at, metricsFrom: -Infinity, bounded: false };
  const from = at - spec.spanMs;
  return { from, to: at, metricsFrom: from, bounded: Number.isFinite(from) };
}

/** A flow for tests and keys: field by field when the source can, else the whole object. */
function read(e: StoredFlow): Flow {
  return e.fields ?? e.flow;
}

/** Order of sort keys: absent first, then numbers, then text. */
function compareKeys(a: FieldValue | undefined, b: FieldValue | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  const an = typeof a === 'number' || typeof a === 'bigint';
  const bn = typeof b === 'number' || typeof b === 'bigint';
  if (an && bn) return compareNumbers(a as number | bigint, b as number | bigint);
  if (an !== bn) return an ? -1 : 1;
  // Go compares strings bytewise; UTF-16 order is the same for the ASCII of flow fields.
  return a < b ? -1 : a > b ? 1 : 0;
}

class Executor {
  private readonly window: Window | undefined;
  private readonly conditions: Condition[];

  constructor(private readonly source: FlowSource, private readonly plan: Plan, private readonly opts: EvalOptions) {
    this.window = plan.time === undefined ? undefined : resolveWindow(plan.time, opts.nowMs);
    this.conditions = [...plan.source];
    if (this.window !== undefined) {
      const to = this.window.to;
      const lastAfter = this.window.from - opts.flowExpireMs;
      this.conditions.push({ test: (f: Flow) => Number(f.Start) <= to && Number(f.Last) >= lastAfter });
    }
  }

  run(): ReplyValue {
    const ops = this.plan.ops;
    let state: State;
    let next = 0;
    const [first, second] = ops;
    if (first?.kind === 'count') {
      state = { kind: 'scalar', value: this.countMatches() };
      next = 1;
    } else if (first?.kind === 'slice') {
      state = { kind: 'flows', items: this.firstMatches(first.to).slice(first.from) };
      next = 1;
    } else if (first?.kind === 'sort' && second?.kind === 'slice' && second.to <= TOP_K_MAX) {
      const name = first.field.name;
      const byTime = this.conditions.length === 0 && (name === 'Start' || name === 'Last') ? this.source.topByTime : undefined;
      const top = byTime !== undefined
        ? byTime.call(this.source, name as 'Start' | 'Last', second.to, first.descending)
        : this.topK(first.field, first.descending, second.to);
      state = { kind: 'flows', items: top.slice(second.from) };
      next = 2;
    } else {
      state = { kind: 'flows', items: this.firstMatches(Infinity) };
    }
    for (; next < ops.length; next++) state = this.apply(state, ops[next]);
    return this.reply(state);
  }

  /** The flows to test, in insertion order: an index's postings, or the whole store. */
  private candidates(): Iterable<StoredFlow> {
    let best: Condition | undefined;
    let bestCost = Infinity;
    for (const c of this.conditions) {
      if (c.seeds === undefined) continue;
      let cost = 0;
      for (const s of c.seeds) cost += this.source.lookupSize(s.field, s.key);
      if (cost < bestCost) {
        best = c;
        bestCost = cost;
      }
    }
    if (best === undefined || bestCost >= this.source.size) return this.source.scan();
    const seeds = best.seeds ?? [];
    // One lookup is already in insertion order, and lazy, so Limit can stop early.
    if (seeds.length === 1) return this.source.lookup(seeds[0].field, seeds[0].key);
    // A flow can sit in two postings (Network A and B both equal to the address); seq names a
    // flow, whereas a source may hand out a new StoredFlow object for it at each lookup.
    const union = new Map<number, StoredFlow>();
    for (const s of seeds) for (const f of this.source.lookup(s.field, s.key)) union.set(f.seq, f);
    return [...union.values()].sort((a, b) => a.seq - b.seq);
  }

  private testOf(): ((f: Flow) => boolean) | undefined {
    return this.conditions.length === 0 ? undefined : allOf(this.conditions);
  }

  private countMatches(): number {
    const test = this.testOf();
    if (test === undefined) return this.source.size;
    const [only] = this.conditions;
    if (this.conditions.length === 1 && only.exact === true && only.seeds !== undefined) {
      let n = 0;
      for (const s of only.seeds) n += this.source.lookupSize(s.field, s.key);
      return n;
    }
    let n = 0;
    for (const e of this.candidates()) if (test(read(e))) n++;
    return n;
  }

  private firstMatches(limit: number): StoredFlow[] {
    const out: StoredFlow[] = [];
    if (limit <= 0) return out;
    const test = this.testOf();
    for (const e of this.candidates()) {
      if (test !== undefined && !test(read(e))) continue;
      out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The k first flows in sort order, ties in insertion order (as a stable sort gives). */
  private topK(field: FieldDef, descending: boolean, k: number): StoredFlow[] {
    if (k <= 0) return [];
    const test = this.testOf();
    const get = field.get;
    const sign = descending ? -1 : 1;
    const keys: Array<FieldValue | undefined> = [];
    const best: StoredFlow[] = [];
    for (const e of this.candidates()) {
      if (test !== undefined && !test(read(e))) continue;
      const key = get(read(e));
      // Ties with the current last lose: it came first.
      if (best.length === k && sign * compareKeys(key, keys[k - 1]) >= 0) continue;
      let lo = 0;
      let hi = best.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sign * compareKeys(key, keys[mid]) < 0) hi = mid;
        else lo = mid + 1;
      }
      best.splice(lo, 0, e);
      keys.splice(lo, 0, key);
      if (best.length > k) {
        best.pop();
        keys.pop();
      }
    }
    return best;
  }

  private apply(state: State, op: Op): State {
    switch (op.kind) {
      case 'filter': {
        const test = allOf(op.conditions);
        return { kind: 'flows', items: this.flows(state).filter((e) => test(read(e))) };
      }
      case 'sort': {
        const get = op.field.get;
        const sign = op.descending ? -1 : 1;
        const keyed = this.flows(state).map((e) => ({ e, key: get(read(e)) }));
        keyed.sort((a, b) => sign * compareKeys(a.key, b.key));
        return { kind: 'flows', items: keyed.map((k) => k.e) };
      }
      case 'dedup':
        return this.dedup(state, op.field);
      case 'slice':
        if (state.kind === 'values') return { kind: 'values', items: state.items.slice(op.from, op.to) };
        return { kind: 'flows', items: this.flows(state).slice(op.from, op.to) };
      case 'count': {
        const n = state.kind === 'metrics' ? state.entries.length : state.kind === 'values' || state.kind === 'flows' ? state.items.length : 0;
        return { kind: 'scalar', value: n };
      }
      case 'values':
        return { kind: 'values', items: this.values(this.flows(state), op.field, op.step.pos) };
      case 'keys': {
        const any = state.kind === 'metrics' ? state.entries.length > 0 : this.flows(state).length > 0;
        const keys = state.kind === 'metrics' ? METRIC_KEYS : FLOW_KEYS;
        return { kind: 'values', items: any ? [...keys] : [] };
      }
      case 'sum':
        return { kind: 'scalar', value: this.sum(state, op) };
      case 'metrics':
        return { kind: 'metrics', entries: this.metrics(this.flows(state)) };
      case 'aggregates':
        return { kind: 'metrics', entries: this.aggregates(state, op.sliceMs, op.step.pos) };
    }
  }

  private flows(state: State): StoredFlow[] {
    if (state.kind !== 'flows') throw new Error(`internal: expected flows, got ${state.kind}`);
    return state.items;
  }

  private dedup(state: State, field: FieldDef | undefined): State {
    if (state.kind === 'values') {
      const seen = new Set<unknown>();
      const items = state.items.filter((v) => {
        const key = typeof v === 'object' && v !== null ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x)) : v;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      return { kind: 'values', items };
    }
    const get = (field as FieldDef).get;
    const seen = new Set<FieldValue | undefined>();
    const items = this.flows(state).filter((e) => {
      const key = get(read(e));
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return { kind: 'flows', items };
  }

  private values(items: readonly StoredFlow[], field: FieldDef, pos: number): ReplyValue[] {
    const out: ReplyValue[] = [];
    for (const e of items) {
      const v = field.get(read(e));
      if (v === undefined) {
        // Skydive fails the query too: a value per flow or nothing.
        throw new QueryError(`Values('${field.name}'): flow ${e.flow.UUID} has no ${field.name}`, {
          query: this.plan.query, position: pos, expected: `keep only flows that have it first, e.g. HasKey('${field.name}')`,
        });
      }
      out.push(typeof v === 'object' ? blockReply(field.name, v) : v);
    }
    return out;
  }

  private sum(state: State, op: Extract<Op, { kind: 'sum' }>): ReplyValue {
    if (state.kind === 'flows') {
      // Skydive sums flows as float64; a flow without LastUpdateMetric adds 0 here instead of failing.
      const get = (op.field as FieldDef).get;
      let total = 0;
      for (const e of state.items) {
        const v = get(read(e));
        if (typeof v === 'number' || typeof v === 'bigint') total += Number(v);
      }
      return total;
    }
    if (state.kind !== 'metrics') throw new Error(`internal: Sum on ${state.kind}`);
    const all = state.entries.flatMap(([, deltas]) => deltas);
    if (op.metricKey !== undefined) {
      const key = op.metricKey as keyof MetricDelta;
      let total = 0;
      for (const m of all) total += m[key];
      return total;
    }
    const merged = sumDeltas(all);
    return merged === undefined ? null : metricReply(merged);
  }

  /**
   * Each flow's metric deltas, oldest first: the history the store kept, or the flow's Metric
   * when no update was received yet (as Skydive answers live). With a time context, deltas are
   * cut to the window and flows left with none are not listed.
   */
  private metrics(items: readonly StoredFlow[]): Array<[string, MetricDelta[]]> {
    const out: Array<[string, MetricDelta[]]> = [];
    const w = this.window;
    for (const e of items) {
      let deltas: readonly MetricDelta[] = e.history();
      if (deltas.length === 0) {
        const m = read(e).Metric;
        if (m !== undefined) deltas = [deltaFromMetric(m)];
      }
      if (w !== undefined) {
        const cut: MetricDelta[] = [];
        for (const d of deltas) {
          const c = cutToWindow(d, w.metricsFrom, w.to);
          if (c !== undefined) cut.push(c);
        }
        deltas = cut;
      }
      if (deltas.length > 0) out.push([read(e).UUID, [...deltas]]);
    }
    return out;
  }

  private aggregates(state: State, sliceMs: number, pos: number): Array<[string, MetricDelta[]]> {
    if (state.kind !== 'metrics') throw new Error(`internal: Aggregates on ${state.kind}`);
    const all = state.entries.flatMap(([, deltas]) => deltas);
    let start: number;
    let end: number;
    if (this.window?.bounded) {
      start = this.window.from;
      end = this.window.to;
    } else {
      // No bounded window: the span of the metrics themselves.
      if (all.length === 0) return [['Aggregated', []]];
      start = Infinity;
      end = -Infinity;
      for (const m of all) {
        if (m.Start < start) start = m.Start;
        if (m.Last > end) end = m.Last;
      }
    }
    const slices = sliceCount(start, end, sliceMs);
    if (slices > MAX_AGGREGATE_SLICES) {
      throw new QueryError(`Aggregates(${sliceMs / 1000}) would make ${slices} slices, at most ${MAX_AGGREGATE_SLICES}`, {
        query: this.plan.query, position: pos, expected: 'take longer slices or a shorter time window',
      });
    }
    return [['Aggregated', aggregateDeltas(all, start, end, sliceMs)]];
  }

  private reply(state: State): ReplyValue {
    switch (state.kind) {
      case 'flows': return state.items.map((e) => new FlowItem(e));
      case 'metrics':
        return state.entries.length === 0 ? [] : [new MapReply(state.entries.map(([k, ds]) => [k, ds.map(metricReply)] as const))];
      case 'values': return state.items;
      case 'scalar': return state.value;
    }
  }
}

/** Runs `plan` over `source`. Throws QueryError for the data-dependent errors (Values, Aggregates). */
export function execute(source: FlowSource, plan: Plan, opts: EvalOptions): ReplyValue {
  return new Executor(source, plan, opts).run();
}
