/**
 * A history query evaluated over flows read page by page, so that its answer covers every
 * matching flow while memory stays bounded by a page plus what the reply itself holds.
 *
 * The plan's steps are taken in order:
 * - per-flow steps (Has after another step, Dedup, Limit/Range) run on each flow as it arrives;
 *   a Limit that has its flows ends the reading (nothing more is fetched);
 * - then the first step that needs more than one flow at a time decides:
 *   Count, Sum, Values (and Dedup/Limit/Range/Count on the values), Keys, Metrics() followed by
 *   Count/Sum/Keys, and Sort().Limit(n) with n <= the list cap fold each page into a running
 *   result; anything else (a reply listing flows, Sort without Limit, Metrics() or Aggregates)
 *   keeps the flows, at most `maxList` of them, and fails with a QueryError beyond
 *   (docs/compat.md#es-history-cap).
 * Each page is handed to the same evaluator as live queries (src/query/evaluate.ts) through a
 * ResultSource, so every step means exactly what it means live: the page results are combined,
 * never recomputed here.
 */
import type { Flow } from '../../flow/types.js';
import type { Op, Plan } from '../../query/compile.js';
import { QueryError } from '../../query/errors.js';
import { execute, type EvalOptions } from '../../query/evaluate.js';
import { METRIC_KEYS, type FieldValue } from '../../query/fields.js';
import { allOf } from '../../query/predicates.js';
import { FlowItem, metricReply, type ReplyValue, type StructReply } from '../../query/reply.js';
import type { MetricDelta } from '../types.js';
import { ResultSource } from './result-source.js';

/** What the stream reads from: the pushed-down search and the metric documents. */
export interface FlowPages {
  /**
   * The flows matching the pushed-down filter and time window, one per UUID (its newest
   * document), in (Start, UUID) order: the order the evaluator lists stored flows in.
   * `firstPage` is how many the reader wants at first (a Limit), a hint for the page size.
   */
  pages(firstPage: number): AsyncIterable<readonly Flow[]>;
  /** The metric deltas of these flows (at most METRICS_CHUNK of them), by UUID, oldest first. */
  metrics(flows: readonly Flow[]): Promise<ReadonlyMap<string, readonly MetricDelta[]>>;
}

export interface StreamOptions extends EvalOptions {
  /** The exact conditions of the source and the time window. */
  readonly test: (f: Flow) => boolean;
  /** Flows (or values, or metric lists) a reply may list at most: history_max_flows. */
  readonly maxList: number;
  /** Distinct keys a Dedup may remember at most. */
  readonly maxDistinct: number;
}

/** Flows per metric search: their UUIDs go in one terms query. */
export const METRICS_CHUNK = 1000;
/** Read ahead beyond a Limit, for the flows the exact conditions turn down. */
const LIMIT_HEADROOM = 16;

const NO_HISTORY: ReadonlyMap<string, readonly MetricDelta[]> = new Map();

/** A per-flow step. */
interface FlowStep {
  pass(f: Flow): boolean;
  /** Nothing more can pass (a Limit reached): reading may stop. */
  readonly done: boolean;
}

/** Folds pages of flows into a result. */
interface Fold {
  /** Takes the flows of one page that passed every per-flow step; true when it has enough. */
  add(flows: Flow[]): Promise<boolean> | boolean;
  finish(): Promise<ReplyValue> | ReplyValue;
}

function tooMany(plan: Plan, what: string, max: number, hint: string): QueryError {
  return new QueryError(`the history query would ${what} more than ${max}`, {
    query: plan.query, expected: `${hint} (storage.elasticsearch.history_max_flows)`,
  });
}

const LIST_HINT = 'add Limit(n), Count(), filters or a shorter time window, or raise the cap';

/** Runs `plan` over `src`. Throws QueryError for a bad query, or one whose reply is over the cap. */
export async function streamPlan(plan: Plan, src: FlowPages, o: StreamOptions): Promise<ReplyValue> {
  const steps: FlowStep[] = [];
  let i = 0;
  let firstPage = Infinity;
  for (; i < plan.ops.length; i++) {
    const op = plan.ops[i];
    if (op.kind === 'filter') steps.push(filterStep(op.conditions));
    else if (op.kind === 'dedup') steps.push(dedupStep(plan, op, o.maxDistinct));
    else if (op.kind === 'slice') {
      steps.push(sliceStep(op.from, op.to));
      if (steps.length === 1) firstPage = op.to + LIMIT_HEADROOM;
    } else break;
  }
  const fold = pickFold(plan, plan.ops.slice(i), src, o);
  if (steps.some((s) => s.done)) return fold.finish();
  for await (const page of src.pages(firstPage)) {
    const kept: Flow[] = [];
    let done = false;
    for (const f of page) {
      if (!o.test(f)) continue;
      if (steps.every((s) => s.pass(f))) kept.push(f);
      if (steps.some((s) => s.done)) {
        done = true;
        break;
      }
    }
    if ((kept.length > 0 && (await fold.add(kept))) || done) break;
  }
  return fold.finish();
}

function filterStep(conditions: Extract<Op, { kind: 'filter' }>['conditions']): FlowStep {
  const test = allOf(conditions);
  return { pass: test, done: false };
}

function dedupStep(plan: Plan, op: Extract<Op, { kind: 'dedup' }>, max: number): FlowStep {
  const get = (op.field as NonNullable<typeof op.field>).get;
  const seen = new Set<FieldValue | undefined>();
  return {
    done: false,
    pass(f) {
      const key = get(f);
      if (seen.has(key)) return false;
      if (seen.size >= max) throw tooMany(plan, 'remember Dedup keys', max, 'filter on the flows first or take a shorter time window');
      seen.add(key);
      return true;
    },
  };
}

function sliceStep(from: number, to: number): FlowStep {
  let n = 0;
  return {
    get done() {
      return n >= to;
    },
    pass() {
      const at = n++;
      return at >= from && at < to;
    },
  };
}

/** The evaluator on some flows, with `ops` and the plan's time window. */
function evaluate(plan: Plan, o: EvalOptions, flows: readonly Flow[], ops: readonly Op[], history = NO_HISTORY): ReplyValue {
  return execute(new ResultSource(flows, history), { ...plan, source: [], ops }, o);
}

function pickFold(plan: Plan, rest: readonly Op[], src: FlowPages, o: StreamOptions): Fold {
  const [first, second] = rest;
  switch (first?.kind) {
    case 'count': return countFold();
    case 'sum': return numberFold(plan, o, rest);
    case 'values': return valuesFold(plan, o, rest);
    case 'keys': return keepFold(plan, rest, src, o, 1);
    case 'sort':
      if (second?.kind === 'slice' && second.to <= o.maxList) return topFold(plan, o, rest, src);
      break;
    case 'metrics':
      // Keys() may be followed by list steps: those go the general way.
      if (rest.length !== 2) break;
      if (second?.kind === 'count' || second?.kind === 'keys' || (second?.kind === 'sum' && second.metricKey !== undefined)) {
        return metricsFold(plan, rest, src, o, second.kind === 'keys' ? 'any' : 'add');
      }
      if (second?.kind === 'sum') return metricsFold(plan, rest, src, o, 'merge');
      break;
    default:
      break;
  }
  return keepFold(plan, rest, src, o, Infinity);
}

function countFold(): Fold {
  let n = 0;
  return { add: (flows) => { n += flows.length; return false; }, finish: () => n };
}

/** A number per page (Sum of a flow field), added up. */
function numberFold(plan: Plan, o: EvalOptions, ops: readonly Op[]): Fold {
  let total = 0;
  return { add: (flows) => { total += evaluate(plan, o, flows, ops) as number; return false; }, finish: () => total };
}

/**
 * Values, then Dedup/Limit/Range/Count on them: each page's values in order, through the same
 * list steps; the list kept is capped.
 */
function valuesFold(plan: Plan, o: StreamOptions, ops: readonly Op[]): Fold {
  const [valuesOp, ...listOps] = ops;
  const seen = listOps.map(() => new Set<unknown>());
  const positions = listOps.map(() => 0);
  const items: ReplyValue[] = [];
  let count = 0;
  let full = false;
  const take = (v: ReplyValue): void => {
    for (const [k, op] of listOps.entries()) {
      if (op.kind === 'dedup') {
        // Objects (blocks) compare by content, as the evaluator's Dedup on values does.
        const key = typeof v === 'object' && v !== null ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x)) : v;
        if (seen[k].has(key)) return;
        if (seen[k].size >= o.maxDistinct) throw tooMany(plan, 'remember Dedup values', o.maxDistinct, 'filter on the flows first');
        seen[k].add(key);
      } else if (op.kind === 'slice') {
        const at = positions[k]++;
        if (at >= op.to) full = true;
        if (at < op.from || at >= op.to) return;
      } else if (op.kind === 'count') {
        count++;
        return;
      }
    }
    if (items.length >= o.maxList) throw tooMany(plan, 'list values', o.maxList, LIST_HINT);
    items.push(v);
  };
  const counts = listOps.some((op) => op.kind === 'count');
  return {
    add(flows) {
      for (const v of evaluate(plan, o, flows, [valuesOp]) as ReplyValue[]) {
        take(v);
        if (full) return true;
      }
      return false;
    },
    finish: () => (counts ? count : items),
  };
}

/** Sort().Limit(n): the n best of the best so far and the new page, by the evaluator's own order. */
function topFold(plan: Plan, o: EvalOptions, ops: readonly Op[], src: FlowPages): Fold {
  const [sortOp, sliceOp, ...after] = ops as [Op, Extract<Op, { kind: 'slice' }>, ...Op[]];
  const keep: Op[] = [sortOp, { kind: 'slice', from: 0, to: sliceOp.to }];
  let best: Flow[] = [];
  return {
    add(flows) {
      const items = evaluate(plan, o, [...best, ...flows], keep) as FlowItem[];
      best = items.map((it) => it.flow);
      return false;
    },
    // Sorted again over the n kept: the same order, then the Range and the steps after, with
    // the metric documents of those n when a step after reads them (Metrics()): without them
    // the evaluator would only have each flow's cumulative Metric.
    finish: async () => evaluate(plan, o, best, [sortOp, sliceOp, ...after], await metricsFor(after, src, best)),
  };
}

/**
 * Metrics() then Count, Sum(key) or Keys ('add', 'any'), or Sum() ('merge'): the flows' metric
 * documents are read a chunk at a time and each chunk's answer is combined.
 */
function metricsFold(plan: Plan, ops: readonly Op[], src: FlowPages, o: EvalOptions, how: 'add' | 'any' | 'merge'): Fold {
  let total = 0;
  let any = false;
  let merged: { ABPackets: number; ABBytes: number; BAPackets: number; BABytes: number; Start: number; Last: number } | undefined;
  const chunkOps = ops.slice(0, 2);
  return {
    async add(flows) {
      for (let k = 0; k < flows.length; k += METRICS_CHUNK) {
        const chunk = flows.slice(k, k + METRICS_CHUNK);
        const r = evaluate(plan, o, chunk, chunkOps, await src.metrics(chunk));
        if (how === 'add') total += r as number;
        else if (how === 'any') any ||= (r as ReplyValue[]).length > 0;
        else if (r !== null) {
          const m = r as StructReply;
          const n = (key: string): number => Number(m[key]);
          if (merged === undefined) merged = { ABPackets: 0, ABBytes: 0, BAPackets: 0, BABytes: 0, Start: n('Start'), Last: n('Last') };
          merged.ABPackets += n('ABPackets');
          merged.ABBytes += n('ABBytes');
          merged.BAPackets += n('BAPackets');
          merged.BABytes += n('BABytes');
          merged.Start = Math.min(merged.Start, n('Start'));
          merged.Last = Math.max(merged.Last, n('Last'));
        }
        if (any) return true;
      }
      return false;
    },
    finish() {
      if (how === 'add') return total;
      if (how === 'any') return any ? [...METRIC_KEYS] : [];
      return merged === undefined ? null : metricReply({ ...merged, RTT: 0 });
    },
  };
}

/**
 * The flows themselves, at most `enough` (then reading stops) and at most maxList (then the
 * query fails), with their metric documents when a step needs them; the evaluator runs the rest.
 */
function keepFold(plan: Plan, ops: readonly Op[], src: FlowPages, o: StreamOptions, enough: number): Fold {
  const kept: Flow[] = [];
  return {
    add(flows) {
      for (const f of flows) {
        if (kept.length >= enough) return true;
        if (kept.length >= o.maxList) throw tooMany(plan, 'list flows', o.maxList, LIST_HINT);
        kept.push(f);
      }
      return kept.length >= enough;
    },
    async finish() {
      return evaluate(plan, o, kept, ops, await metricsFor(ops, src, kept));
    },
  };
}

/** The metric documents of `flows` when one of `ops` reads them, a chunk of flows at a time. */
async function metricsFor(ops: readonly Op[], src: FlowPages, flows: readonly Flow[]): Promise<ReadonlyMap<string, readonly MetricDelta[]>> {
  if (!ops.some((op) => op.kind === 'metrics')) return NO_HISTORY;
  const all = new Map<string, readonly MetricDelta[]>();
  for (let k = 0; k < flows.length; k += METRICS_CHUNK) {
    for (const [uuid, d] of await src.metrics(flows.slice(k, k + METRICS_CHUNK))) all.set(uuid, d);
  }
  return all;
}
