/**
 * Skydive's Gremlin dialect for flows (skydive-api.md §4), over a flow store.
 *
 * Public surface, for the analyzer's REST and WebSocket handlers:
 * - `runFlowQuery(store, text, opts?)`: the reply as a JSON-ready value, in Skydive's shapes
 *   (§4.5): an array of flows for flow steps, a number for Count/Sum, an array for Values/Keys,
 *   `[{uuid: [metric...]}]` (or `[]`) for Metrics, a metric object or null for Metrics().Sum().
 * - `runFlowQueryJSON(store, text, opts?)`: the same reply as Skydive's JSON text (exact int64,
 *   Go's escaping); cheaper for large replies, since flows are written straight to text. Use it
 *   for `POST /api/topology`.
 * - `compileFlowFilter(text)`: a predicate for a WebSocket subscriber's filter; the query may
 *   only be G.Flows(...) followed by Has, HasEither, HasKey, HasNot.
 * - `QueryError`: every bad query, with `status` 400, `message` ("unexpected end of query at
 *   position 18: expected a value"), `position` (0-based) and `caret` (the query and a ^ line);
 *   `toHTTPBody()` gives both for a 400 reply. Any other exception is a bug.
 *
 * Options: `nowMs` (default Date.now()) for relative times such as At('-1m'); `flowExpireMs`
 * (default 600000, Skydive's flow.expire) for which flows a time window includes.
 *
 * Queries run synchronously; their cost is bounded by the store size (a scan), the query length
 * (at most 65536 characters) and the Aggregates slice limit.
 */
import type { Flow } from '../flow/types.js';
import type { FlowSource } from '../store/types.js';
import { compileQuery, type Plan } from './compile.js';
import { QueryError } from './errors.js';
import { execute } from './evaluate.js';
import { parseQuery } from './parser.js';
import { allOf } from './predicates.js';
import { replyToJSON, replyToValue, type ReplyValue } from './reply.js';

export { QueryError } from './errors.js';

export interface FlowQueryOptions {
  /** "Now" in ms since the epoch, for relative times; default Date.now(). */
  readonly nowMs?: number;
  /** Skydive's flow.expire in ms (default 600000). */
  readonly flowExpireMs?: number;
}

const DEFAULT_FLOW_EXPIRE_MS = 600_000;

function evaluate(store: FlowSource, text: string, opts: FlowQueryOptions): ReplyValue {
  const plan: Plan = compileQuery(parseQuery(text));
  return execute(store, plan, {
    nowMs: opts.nowMs ?? Date.now(),
    flowExpireMs: opts.flowExpireMs ?? DEFAULT_FLOW_EXPIRE_MS,
  });
}

/** Runs a query; the reply is a JSON-ready value. Throws QueryError for a bad query. */
export function runFlowQuery(store: FlowSource, text: string, opts: FlowQueryOptions = {}): unknown {
  return replyToValue(evaluate(store, text, opts));
}

/** Runs a query; the reply is Skydive's JSON text. Throws QueryError for a bad query. */
export function runFlowQueryJSON(store: FlowSource, text: string, opts: FlowQueryOptions = {}): string {
  return replyToJSON(evaluate(store, text, opts));
}

const FILTER_STEPS = new Set(['HAS', 'HASEITHER', 'HASKEY', 'HASNOT']);

/**
 * A flow predicate from a query made of G.Flows(...) and filter steps, e.g.
 * "G.Flows().Has('Network.A', '10.0.0.1').HasEither('Transport.A', 80, 'Transport.B', 80)".
 * Throws QueryError for anything else (time contexts, Sort, Count, ...).
 */
export function compileFlowFilter(text: string): (flow: Flow) => boolean {
  const ast = parseQuery(text);
  const [first, ...rest] = ast.steps;
  if (first === undefined || first.upper !== 'FLOWS') {
    throw new QueryError('a flow filter starts with G.Flows()', { query: text, position: first?.pos ?? 0 });
  }
  for (const step of rest) {
    if (!FILTER_STEPS.has(step.upper)) {
      throw new QueryError(`${step.name}() is not allowed in a flow filter`, {
        query: text, position: step.pos, expected: 'only Has, HasEither, HasKey and HasNot may follow G.Flows()',
      });
    }
  }
  const plan = compileQuery(ast);
  if (plan.source.length === 0) return () => true;
  return allOf(plan.source);
}
