/**
 * History queries: Gremlin flow queries with a time context (G.At / G.Context), answered from
 * Elasticsearch (skydive-api.md §4.6). Live queries stay on the in-memory store.
 *
 * The query is parsed and checked as any other; its flow filters and time window become an
 * Elasticsearch query (query-filter.ts) over every flow index; the flows found (at most
 * history_max_flows, the most recent first, one per UUID when a rollover left copies in several
 * indices) and, when the query asks for Metrics(), their metric documents inside the window,
 * then go through the same evaluator as live queries, which applies the exact conditions and
 * every step after the filters.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import type { Flow } from '../../flow/types.js';
import { compileQuery, type Plan } from '../../query/compile.js';
import { execute } from '../../query/evaluate.js';
import type { FlowQueryOptions } from '../../query/index.js';
import { parseQuery } from '../../query/parser.js';
import { replyToJSON } from '../../query/reply.js';
import { resolveTime } from '../../query/time.js';
import { currentDelta, deltaFromMetric } from '../history.js';
import type { MetricDelta } from '../types.js';
import { deltaFromDocument, flowFromDocument } from './documents.js';
import type { IndexNames } from './indices.js';
import { flowFilter } from './query-filter.js';
import { ResultSource } from './result-source.js';

type Query = estypes.QueryDslQueryContainer;
type Json = Record<string, unknown>;

/** Hits per search request (search_after pages). */
const PAGE = 5000;
/** UUIDs per metric search (a terms query). */
const UUIDS_PER_SEARCH = 1000;
/** Metric documents read at most for one query: about one hour of 60 s updates for 10000 flows. */
const MAX_METRIC_DOCS = 600_000;
const DEFAULT_FLOW_EXPIRE_MS = 600_000;

export interface HistoryOptions {
  maxFlows: number;
  log: (line: string) => void;
}

/** What a history query read, for tests and the bench. */
export interface HistoryRead {
  flows: number;
  metrics: number;
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

export class HistoryQueries {
  /** Figures of the last query. */
  last: HistoryRead = { flows: 0, metrics: 0, filterDropped: false };

  constructor(private readonly client: Client, private readonly names: IndexNames, private readonly o: HistoryOptions) {}

  /** Runs a query with a time context; the reply is Skydive's JSON. Throws QueryError for a bad query. */
  async runJSON(text: string, opts: FlowQueryOptions = {}): Promise<string> {
    const ast = parseQuery(text);
    const plan = compileQuery(ast);
    const nowMs = opts.nowMs ?? Date.now();
    const flowExpireMs = opts.flowExpireMs ?? DEFAULT_FLOW_EXPIRE_MS;
    const window = this.window(plan, nowMs);
    const time: Query[] = [{ range: { Start: { lte: window.to } } }];
    // A flow is alive in the window if it was seen at most flow.expire before it (as live).
    if (Number.isFinite(window.from)) time.push({ range: { Last: { gte: window.from - flowExpireMs } } });
    const filter = flowFilter(ast);
    let filterDropped = false;
    let flows: Flow[];
    try {
      flows = await this.searchFlows(filter === undefined ? time : [...time, filter]);
    } catch (err) {
      // A pushed-down regexp Lucene refuses: the evaluator applies the conditions anyway.
      if (filter === undefined || (err as { meta?: { statusCode?: number } }).meta?.statusCode !== 400) throw err;
      this.o.log(`elasticsearch: history filter refused (${(err as Error).message}); reading by time only`);
      filterDropped = true;
      flows = await this.searchFlows(time);
    }
    const wantsMetrics = plan.ops.some((op) => op.kind === 'metrics');
    const history = wantsMetrics ? await this.searchMetrics(flows.map((f) => f.UUID), window) : new Map<string, MetricDelta[]>();
    if (wantsMetrics) {
      for (const f of flows) {
        // Updates of this flow exist, none in the window: its latest delta (outside the window,
        // cut away) stands for them, so the evaluator does not fall back to the flow's Metric,
        // which it only does for a flow that never had an update (as the live store).
        const latest = currentDelta(f);
        if (latest !== undefined && !history.has(f.UUID)) history.set(f.UUID, [deltaFromMetric(latest)]);
      }
    }
    let metricCount = 0;
    for (const d of history.values()) metricCount += d.length;
    this.last = { flows: flows.length, metrics: metricCount, filterDropped };
    return replyToJSON(execute(new ResultSource(flows, history), plan, { nowMs, flowExpireMs }));
  }

  private window(plan: Plan, nowMs: number): { from: number; to: number; metricsFrom: number } {
    const spec = plan.time as NonNullable<Plan['time']>;
    const to = resolveTime(spec.at, nowMs);
    if (spec.spanMs === undefined) return { from: to, to, metricsFrom: -Infinity };
    return { from: to - spec.spanMs, to, metricsFrom: to - spec.spanMs };
  }

  /** Every hit of a search, page after page, up to `max`. */
  private async *hits(index: string, query: Query, sort: estypes.Sort, max: number): AsyncGenerator<Json> {
    let after: estypes.SortResults | undefined;
    let seen = 0;
    while (seen < max) {
      const r = await this.client.search<Json>({
        index, query, sort, size: Math.min(PAGE, max - seen), search_after: after,
        ignore_unavailable: true, allow_no_indices: true, track_total_hits: false,
      });
      for (const h of r.hits.hits) {
        if (h._source !== undefined) yield h._source;
      }
      seen += r.hits.hits.length;
      if (r.hits.hits.length < PAGE) return;
      after = r.hits.hits[r.hits.hits.length - 1].sort;
    }
  }

  /** The newest document of each matching flow, most recent first, at most maxFlows. */
  private async searchFlows(filters: Query[]): Promise<Flow[]> {
    const byUUID = new Map<string, Flow>();
    const sort: estypes.Sort = [{ Last: { order: 'desc', unmapped_type: 'date' } }, { UUID: { order: 'asc', unmapped_type: 'keyword' } }];
    // Copies from other indices are read too (and skipped), hence the headroom.
    for await (const src of this.hits(this.names.pattern('flow'), { bool: { filter: filters } }, sort, this.o.maxFlows * 2)) {
      const uuid = typeof src.UUID === 'string' ? src.UUID : '';
      if (byUUID.has(uuid)) continue;
      byUUID.set(uuid, flowFromDocument(src));
      if (byUUID.size >= this.o.maxFlows) break;
    }
    return [...byUUID.values()];
  }

  /** The metric documents of these flows that overlap the window, oldest first, by flow. */
  private async searchMetrics(uuids: readonly string[], w: { metricsFrom: number; to: number }): Promise<Map<string, MetricDelta[]>> {
    const out = new Map<string, MetricDelta[]>();
    const seen = new Set<string>();
    const sort: estypes.Sort = [
      { Last: { order: 'asc', unmapped_type: 'date' } }, { Start: { order: 'asc', unmapped_type: 'date' } },
      { 'Flow.UUID': { order: 'asc', unmapped_type: 'keyword' } },
    ];
    let total = 0;
    for (let i = 0; i < uuids.length && total < MAX_METRIC_DOCS; i += UUIDS_PER_SEARCH) {
      const filters: Query[] = [{ terms: { 'Flow.UUID': uuids.slice(i, i + UUIDS_PER_SEARCH) } }, { range: { Start: { lte: w.to } } }];
      if (Number.isFinite(w.metricsFrom)) filters.push({ range: { Last: { gte: w.metricsFrom } } });
      for await (const src of this.hits(this.names.pattern('metric'), { bool: { filter: filters } }, sort, MAX_METRIC_DOCS - total)) {
        const uuid = String((src.Flow as Json | undefined)?.UUID ?? '');
        const d = deltaFromDocument(src);
        // The same update can sit in two indices after a rollover.
        const key = `${uuid}_${d.Start}_${d.Last}`;
        if (seen.has(key)) continue;
        seen.add(key);
        total++;
        const list = out.get(uuid);
        if (list === undefined) out.set(uuid, [d]);
        else list.push(d);
      }
    }
    return out;
  }
}
