/**
 * History queries: Gremlin flow queries with a time context (G.At / G.Context), answered from
 * Elasticsearch (skydive-api.md §4.6). Live queries stay on the in-memory store.
 *
 * The query is parsed and checked as any other; its flow filters and time window become an
 * Elasticsearch query (query-filter.ts) over every flow index. Every matching flow is then read
 * in pages through a point in time (search_after, in the evaluator's (Start, UUID) order, the
 * newest document of a UUID first so the copies a rollover leaves are skipped as they come) and
 * folded into the answer by history-stream.ts, which runs the same evaluator as live queries on
 * each page: Count, Sum, Dedup, Values, Keys and Sort().Limit() are exact over any number of
 * flows. A Count whose filter Elasticsearch applies exactly is asked of Elasticsearch itself.
 * Metric documents are read for the flows of a page when the query asks for Metrics().
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import type { Flow } from '../../flow/types.js';
import { compileQuery, type Plan } from '../../query/compile.js';
import { QueryError } from '../../query/errors.js';
import type { FlowQueryOptions } from '../../query/index.js';
import { parseQuery } from '../../query/parser.js';
import { allOf } from '../../query/predicates.js';
import { replyToJSON } from '../../query/reply.js';
import { resolveTime } from '../../query/time.js';
import { currentDelta, deltaFromMetric } from '../history.js';
import type { MetricDelta } from '../types.js';
import { deltaFromDocument, flowFromDocument } from './documents.js';
import { streamPlan, type FlowPages } from './history-stream.js';
import type { IndexNames } from './indices.js';
import { translateFlowFilter } from './query-filter.js';

type Query = estypes.QueryDslQueryContainer;
type Json = Record<string, unknown>;

/** Hits per search request (search_after pages). */
const PAGE = 5000;
/** How long Elasticsearch keeps a point in time between two pages. */
const PIT_KEEP_ALIVE = '2m';
/** Metric documents read at most for one chunk of flows (history-stream METRICS_CHUNK): an hour of 60 s updates for 10000 flows. */
const MAX_METRIC_DOCS = 600_000;
/** Distinct keys one Dedup remembers at most: about 100 MB of keys. */
const MAX_DISTINCT = 2_000_000;
const DEFAULT_FLOW_EXPIRE_MS = 600_000;

/**
 * The order flows are read in: the evaluator's (Start, UUID), and among the copies of a UUID
 * (a rollover leaves one per index) the newest first, so skipping a UUID equal to the previous
 * one keeps the newest. Start never changes for a flow, so its copies are always side by side.
 */
const FLOW_SORT: estypes.Sort = [
  { Start: { order: 'asc', unmapped_type: 'date' } },
  { UUID: { order: 'asc', unmapped_type: 'keyword' } },
  { Last: { order: 'desc', unmapped_type: 'date' } },
];

export interface HistoryOptions {
  /** Flows (or values, or metric lists) a reply lists at most: history_max_flows. */
  maxFlows: number;
  log: (line: string) => void;
}

/** What a history query read, for tests and the bench. */
export interface HistoryRead {
  /** Flows read (one per UUID), and metric documents. */
  flows: number;
  metrics: number;
  /** Search requests made for flows (pages, or the one _count). */
  requests: number;
  /** How Count() was answered: by Elasticsearch's _count, by sort values only, or not pushed down. */
  count?: 'count-api' | 'sort-values';
  /** The filter could not be pushed down (Elasticsearch refused it): only the time window was. */
  filterDropped: boolean;
}

/** Whether a query has a time context; a query that does not parse is not (the live path reports it). */
export function isHistoryQuery(text: string): boolean {
  try {
    const first = parseQuery(text).steps[0];
    return first !== undefined && (first.upper === 'AT' || first.upper === 'CONTEXT');
  } catch {
    return false;
  }
}

interface Window {
  from: number;
  to: number;
  metricsFrom: number;
}

const isRefused = (err: unknown): boolean => (err as { meta?: { statusCode?: number } }).meta?.statusCode === 400;

export class HistoryQueries {
  /** Figures of the last query. */
  last: HistoryRead = { flows: 0, metrics: 0, requests: 0, filterDropped: false };

  constructor(private readonly client: Client, private readonly names: IndexNames, private readonly o: HistoryOptions) {}

  /** Runs a query with a time context; the reply is Skydive's JSON. Throws QueryError for a bad query. */
  async runJSON(text: string, opts: FlowQueryOptions = {}): Promise<string> {
    const ast = parseQuery(text);
    const plan = compileQuery(ast);
    const nowMs = opts.nowMs ?? Date.now();
    const flowExpireMs = opts.flowExpireMs ?? DEFAULT_FLOW_EXPIRE_MS;
    const window = this.window(plan, nowMs);
    // Dates are whole milliseconds (epoch_millis refuses a fraction): a time finer than that
    // ('-1us', '.123456Z') is rounded outwards, which keeps every integer time the exact test
    // below accepts (Start <= to is Start <= floor(to), Last >= from is Last >= ceil(from)).
    const time: Query[] = [{ range: { Start: { lte: Math.floor(window.to) } } }];
    // A flow is alive in the window if it was seen at most flow.expire before it (as live).
    const lastAfter = window.from - flowExpireMs;
    if (Number.isFinite(lastAfter)) time.push({ range: { Last: { gte: Math.ceil(lastAfter) } } });
    const filter = translateFlowFilter(ast);
    const timeOnly: Query = { bool: { filter: time } };
    const query: Query = filter.query === undefined ? timeOnly : { bool: { filter: [...time, filter.query] } };
    this.last = { flows: 0, metrics: 0, requests: 0, filterDropped: false };

    if (plan.ops.length === 1 && plan.ops[0].kind === 'count' && filter.exact) {
      const n = await this.countPushedDown(query, time, filter.query);
      if (n !== undefined) return replyToJSON(n);
    }
    const pages: FlowPages = {
      pages: (firstPage) => this.flowPages(query, filter.query === undefined ? undefined : timeOnly, firstPage, filter.query !== undefined),
      metrics: (flows) => this.searchMetrics(flows, window),
    };
    const windowTest = { test: (f: Flow) => Number(f.Start) <= window.to && Number(f.Last) >= lastAfter };
    const test = allOf([...plan.source, windowTest]);
    const reply = await streamPlan(plan, pages, { nowMs, flowExpireMs, test, maxList: this.o.maxFlows, maxDistinct: MAX_DISTINCT });
    return replyToJSON(reply);
  }

  private window(plan: Plan, nowMs: number): Window {
    const spec = plan.time as NonNullable<Plan['time']>;
    const to = resolveTime(spec.at, nowMs);
    if (spec.spanMs === undefined) return { from: to, to, metricsFrom: -Infinity };
    return { from: to - spec.spanMs, to, metricsFrom: to - spec.spanMs };
  }

  /** A point in time over every index of a kind, or undefined when there is none yet. */
  private async openPit(kind: 'flow'): Promise<string | undefined> {
    try {
      const r = await this.client.openPointInTime({ index: this.names.pattern(kind), keep_alive: PIT_KEEP_ALIVE, ignore_unavailable: true });
      return r.id;
    } catch (err) {
      if ((err as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return undefined;
      throw err;
    }
  }

  /**
   * Hits of a flow search, page after page through a point in time, in FLOW_SORT order. With
   * `fallback`, a query Elasticsearch refuses (a regexp Lucene cannot run) is replaced by it:
   * the evaluator applies the exact conditions anyway.
   */
  private async *hitPages(query: Query, fallback: Query | undefined, firstPage: number, source: boolean): AsyncGenerator<estypes.SearchHit<Json>[]> {
    let pit = await this.openPit('flow');
    if (pit === undefined) return;
    let after: estypes.SortResults | undefined;
    let size = Math.max(1, Math.min(PAGE, firstPage));
    try {
      for (;;) {
        let r: estypes.SearchResponse<Json>;
        try {
          this.last.requests++;
          r = await this.client.search<Json>({
            pit: { id: pit, keep_alive: PIT_KEEP_ALIVE }, query, sort: FLOW_SORT, size, search_after: after,
            track_total_hits: false, _source: source,
          });
        } catch (err) {
          if (after !== undefined || fallback === undefined || !isRefused(err)) throw err;
          this.o.log(`elasticsearch: history filter refused (${(err as Error).message}); reading by time only`);
          this.last.filterDropped = true;
          query = fallback;
          fallback = undefined;
          continue;
        }
        pit = r.pit_id ?? pit;
        const hits = r.hits.hits;
        if (hits.length > 0) yield hits;
        if (hits.length < size) return;
        after = hits[hits.length - 1].sort;
        size = PAGE;
      }
    } finally {
      await this.client.closePointInTime({ id: pit }).catch(() => undefined);
    }
  }

  /**
   * The flows of a search, one per UUID (its newest document), page after page. With
   * `filtered` (the search has flow conditions) and more than one flow index, the newest
   * matching copy of a flow may be an old one (the flow changed since): the search then only
   * names the flows that may match (a superset: any copy matched), and each is replaced by its
   * newest document, which the evaluator then tests, as the memory store tests its flows.
   */
  private async *flowPages(query: Query, fallback: Query | undefined, firstPage: number, filtered: boolean): AsyncGenerator<Flow[]> {
    const copies = filtered && (await this.flowIndices()) > 1;
    let previous: unknown;
    for await (const hits of this.hitPages(query, fallback, firstPage, true)) {
      let page: Flow[] = [];
      for (const h of hits) {
        const uuid = h.sort?.[1];
        if (uuid === previous || h._source === undefined) continue;
        previous = uuid;
        page.push(flowFromDocument(h._source));
      }
      if (copies && page.length > 0) page = await this.newest(page);
      this.last.flows += page.length;
      if (page.length > 0) yield page;
    }
  }

  private async flowIndices(): Promise<number> {
    return (await this.client.indices.resolveIndex({ name: this.names.pattern('flow') })).indices.length;
  }

  /** The newest document of each of these flows, in the same order. */
  private async newest(flows: Flow[]): Promise<Flow[]> {
    this.last.requests++;
    const r = await this.client.search<Json>({
      index: this.names.pattern('flow'), query: { terms: { UUID: flows.map((f) => f.UUID) } },
      collapse: { field: 'UUID' }, sort: [{ Last: { order: 'desc', unmapped_type: 'date' } }], size: flows.length,
      ignore_unavailable: true, allow_no_indices: true, track_total_hits: false,
    });
    const byUUID = new Map<string, Flow>();
    for (const h of r.hits.hits) {
      if (h._source === undefined) continue;
      const f = flowFromDocument(h._source);
      byUUID.set(f.UUID, f);
    }
    return flows.map((f) => {
      const n = byUUID.get(f.UUID);
      return n !== undefined && Number(n.Last) >= Number(f.Last) ? n : f;
    });
  }

  /**
   * Count() when Elasticsearch applies the whole filter exactly: _count while there is one flow
   * index (no copies of a UUID can exist), else the UUIDs of the sort values, without documents.
   * Undefined when Elasticsearch refuses the filter (the general way then reports it).
   */
  private async countPushedDown(query: Query, time: Query[], filter: Query | undefined): Promise<number | undefined> {
    try {
      const indices = await this.flowIndices();
      if (indices <= 1) {
        this.last.requests++;
        this.last.count = 'count-api';
        if (indices === 0) return 0;
        return (await this.client.count({ index: this.names.pattern('flow'), query })).count;
      }
      this.last.count = 'sort-values';
      // Copies of a flow: it counts when its newest copy matches, not any copy. Every copy in
      // the window is read (no documents), and the filter only marks the ones it matches.
      // The time window is safe to apply: a newer copy has the same Start and a later Last.
      const MATCH = 'filter';
      const marked: Query = filter === undefined ? query : { bool: { filter: time, should: [{ bool: { filter: [filter], _name: MATCH } }], minimum_should_match: 0 } };
      let n = 0;
      let previous: unknown;
      for await (const hits of this.hitPages(marked, undefined, PAGE, false)) {
        for (const h of hits) {
          const uuid = h.sort?.[1];
          if (uuid === previous) continue;
          previous = uuid;
          const matched = h.matched_queries;
          if (filter === undefined || (Array.isArray(matched) ? matched.includes(MATCH) : matched?.[MATCH] !== undefined)) n++;
        }
      }
      this.last.flows = n;
      return n;
    } catch (err) {
      if (!isRefused(err)) throw err;
      this.last.count = undefined;
      return undefined;
    }
  }

  /**
   * The metric deltas of these flows that overlap the window, oldest first, by flow. A flow
   * with updates, none in the window, gets its latest delta (outside the window, cut away by
   * the evaluator), so the evaluator does not fall back to the flow's Metric, which it only
   * does for a flow that never had an update (as the live store).
   */
  private async searchMetrics(flows: readonly Flow[], w: Window): Promise<Map<string, MetricDelta[]>> {
    const out = new Map<string, MetricDelta[]>();
    const seen = new Set<string>();
    const sort: estypes.Sort = [
      { Last: { order: 'asc', unmapped_type: 'date' } }, { Start: { order: 'asc', unmapped_type: 'date' } },
      { 'Flow.UUID': { order: 'asc', unmapped_type: 'keyword' } },
    ];
    // Whole milliseconds, rounded outwards (see runJSON).
    const filters: Query[] = [{ terms: { 'Flow.UUID': flows.map((f) => f.UUID) } }, { range: { Start: { lte: Math.floor(w.to) } } }];
    if (Number.isFinite(w.metricsFrom)) filters.push({ range: { Last: { gte: Math.ceil(w.metricsFrom) } } });
    let after: estypes.SortResults | undefined;
    for (;;) {
      const r = await this.client.search<Json>({
        index: this.names.pattern('metric'), query: { bool: { filter: filters } }, sort, size: PAGE, search_after: after,
        ignore_unavailable: true, allow_no_indices: true, track_total_hits: false,
      });
      for (const h of r.hits.hits) {
        if (h._source === undefined) continue;
        const uuid = String((h._source.Flow as Json | undefined)?.UUID ?? '');
        const d = deltaFromDocument(h._source);
        // The same update can sit in two indices after a rollover.
        const key = `${uuid}_${d.Start}_${d.Last}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const list = out.get(uuid);
        if (list === undefined) out.set(uuid, [d]);
        else list.push(d);
      }
      this.last.metrics += r.hits.hits.length;
      if (seen.size > MAX_METRIC_DOCS) {
        throw new QueryError(`the history query would read more than ${MAX_METRIC_DOCS} metric documents for ${flows.length} flows`, {
          expected: 'take a shorter time window',
        });
      }
      if (r.hits.hits.length < PAGE) break;
      after = r.hits.hits[r.hits.hits.length - 1].sort;
    }
    for (const f of flows) {
      const latest = currentDelta(f);
      if (latest !== undefined && !out.has(f.UUID)) out.set(f.UUID, [deltaFromMetric(latest)]);
    }
    return out;
  }
}
