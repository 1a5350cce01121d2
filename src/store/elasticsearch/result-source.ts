/**
 * The flows a history query read from Elasticsearch, as a FlowSource for the query evaluator:
 * the same evaluator as live queries then applies the exact conditions, Sort, Dedup, Metrics and
 * the rest. Flows are listed by Start, then UUID (a stable order standing for the live store's
 * arrival order); lookups scan once per field and keep the postings.
 */
import type { Flow } from '../../flow/types.js';
import { resolveField } from '../../query/fields.js';
import type { FlowSource, IndexedField, IndexKey, MetricDelta, StoredFlow } from '../types.js';

const NO_HISTORY: readonly MetricDelta[] = [];

export class ResultSource implements FlowSource {
  private readonly flows: StoredFlow[];
  private readonly postings = new Map<IndexedField, Map<IndexKey, StoredFlow[]>>();

  constructor(flows: readonly Flow[], history: ReadonlyMap<string, readonly MetricDelta[]>) {
    const sorted = [...flows].sort((a, b) => Number(a.Start) - Number(b.Start) || (a.UUID < b.UUID ? -1 : a.UUID > b.UUID ? 1 : 0));
    this.flows = sorted.map((flow, seq) => {
      const deltas = history.get(flow.UUID) ?? NO_HISTORY;
      return { flow, seq, history: () => deltas };
    });
  }

  get size(): number {
    return this.flows.length;
  }

  scan(): Iterable<StoredFlow> {
    return this.flows;
  }

  lookup(field: IndexedField, key: IndexKey): Iterable<StoredFlow> {
    return this.index(field).get(key) ?? [];
  }

  lookupSize(field: IndexedField, key: IndexKey): number {
    return this.index(field).get(key)?.length ?? 0;
  }

  private index(field: IndexedField): Map<IndexKey, StoredFlow[]> {
    let idx = this.postings.get(field);
    if (idx !== undefined) return idx;
    idx = new Map();
    const get = (resolveField(field) as NonNullable<ReturnType<typeof resolveField>>).get;
    for (const e of this.flows) {
      const v = get(e.flow);
      // The live store does not index empty strings either (callers scan for them).
      if (v === undefined || v === '' || typeof v === 'object') continue;
      const key = typeof v === 'bigint' ? Number(v) : v;
      const list = idx.get(key);
      if (list === undefined) idx.set(key, [e]);
      else list.push(e);
    }
    this.postings.set(field, idx);
    return idx;
  }
}
