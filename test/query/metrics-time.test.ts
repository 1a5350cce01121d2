/**
 * Metrics() over the store's per-flow history, its Sum/Count/Keys/Aggregates, and time slices
 * with G.At / G.Context.
 */
import t from 'tap';
import type { Flow } from '../../src/flow/types.js';
import { runFlowQuery, runFlowQueryJSON, type FlowQueryOptions } from '../../src/query/index.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import { BASE_MS, baseFlow, metric } from './flow-fixture.js';

const T0 = BASE_MS;
const MIN = 60_000;

/**
 * Flow "m" as an agent sends it: at each 60 s update tick, its state with LastUpdateMetric =
 * the delta since the previous tick (2, 4, then 6 packets each way), then once more at expiry.
 */
function updatesOfM(): Flow[] {
  const deltas = [metric(2, 2, T0, T0 + MIN), metric(4, 4, T0 + MIN, T0 + 2 * MIN), metric(6, 6, T0 + 2 * MIN, T0 + 3 * MIN)];
  const out: Flow[] = [];
  let total = 0;
  for (const [i, d] of deltas.entries()) {
    total += Number(d.ABPackets);
    out.push(baseFlow('m', {
      Start: T0, Last: T0 + (i + 1) * MIN, LastUpdateMetric: d,
      Metric: metric(total, total, T0, T0 + (i + 1) * MIN),
    }));
  }
  // At expiry: nothing new since the last tick (zero delta), FinishType TIMEOUT.
  out.push({ ...out[2], FinishType: 1, LastUpdateMetric: metric(0, 0, T0 + 3 * MIN, T0 + 4 * MIN) });
  return out;
}

function makeStore(): MemoryFlowStore {
  const store = new MemoryFlowStore({ retentionMs: Infinity });
  for (const f of updatesOfM()) store.upsert([f]);
  // "n": seen once, before any update tick (no LastUpdateMetric).
  store.upsert([baseFlow('n', { Start: T0 + 30_000, Last: T0 + 40_000, Metric: metric(5, 1, T0 + 30_000, T0 + 40_000, 777) })]);
  // "o": an old flow, long gone; "p": a recent one.
  store.upsert([baseFlow('o', { Start: T0 - 3_600_000, Last: T0 - 3_000_000, Metric: metric(1, 0, T0 - 3_600_000, T0 - 3_000_000) })]);
  store.upsert([baseFlow('p', {
    Start: T0 + 10 * MIN, Last: T0 + 11 * MIN, Metric: metric(9, 9, T0 + 10 * MIN, T0 + 11 * MIN),
    LastUpdateMetric: metric(9, 9, T0 + 10 * MIN, T0 + 11 * MIN),
  })]);
  return store;
}

const store = makeStore();
const opts: FlowQueryOptions = { nowMs: T0 + 12 * MIN, flowExpireMs: 0 };
const run = (q: string, o: FlowQueryOptions = opts): unknown => runFlowQuery(store, q, o);
const ids = (q: string, o: FlowQueryOptions = opts): string[] => (run(q, o) as Array<{ UUID: string }>).map((f) => f.UUID);

const m = (ab: number, start: number, last: number, extra: Record<string, number> = {}): Record<string, number> =>
  ({ ABPackets: ab, ABBytes: ab * 100, BAPackets: ab, BABytes: ab * 60, Start: start, Last: last, ...extra });

t.test('Metrics(): each flow\'s update history, or its Metric before any update', (t) => {
  t.same(run("G.Flows().Has('UUID', 'm').Metrics()"), [{ m: [m(2, T0, T0 + MIN), m(4, T0 + MIN, T0 + 2 * MIN), m(6, T0 + 2 * MIN, T0 + 3 * MIN)] }]);
  t.same(run("G.Flows().Has('UUID', 'n').Metrics()"),
    [{ n: [{ ABPackets: 5, ABBytes: 500, BAPackets: 1, BABytes: 60, Start: T0 + 30_000, Last: T0 + 40_000, RTT: 777 }] }]);
  t.same(run("G.Flows().Has('UUID', 'none').Metrics()"), [], 'no flows: an empty array');
  t.end();
});

t.test('Metrics() JSON: a one-element array holding a map with sorted keys', (t) => {
  const text = runFlowQueryJSON(store, "G.Flows().HasEither('UUID', 'p', 'UUID', 'm').Metrics()", opts);
  t.match(text, /^\[\{"m":\[\{"ABPackets":2,.*\],"p":\[\{"ABPackets":9,/);
  t.end();
});

t.test('Metrics().Sum(), Sum(field), Count(), Keys()', (t) => {
  t.same(run("G.Flows().Has('UUID', 'm').Metrics().Sum()"), m(12, T0, T0 + 3 * MIN), 'merged: earliest Start, latest Last');
  t.equal(run("G.Flows().HasEither('UUID', 'm', 'UUID', 'p').Metrics().Sum('ABPackets')"), 12 + 9);
  t.equal(run('G.Flows().Metrics().Count()'), 4);
  t.same(run("G.Flows().Has('UUID', 'm').Metrics().Keys()"), ['ABPackets', 'ABBytes', 'BAPackets', 'BABytes', 'Start', 'Last', 'RTT']);
  t.equal(run("G.Flows().Has('UUID', 'none').Metrics().Sum()"), null);
  t.same(run("G.Flows().Has('UUID', 'none').Metrics().Keys()"), []);
  t.end();
});

t.test('Metrics().Aggregates(s): deltas re-bucketed into slices of s seconds', (t) => {
  t.same(run("G.Flows().Has('UUID', 'm').Metrics().Aggregates(60)"),
    [{ Aggregated: [m(2, T0, T0 + MIN), m(4, T0 + MIN, T0 + 2 * MIN), m(6, T0 + 2 * MIN, T0 + 3 * MIN)] }]);
  t.same(run("G.Flows().Has('UUID', 'm').Metrics().Aggregates(120)"),
    [{ Aggregated: [m(6, T0, T0 + 2 * MIN), m(6, T0 + 2 * MIN, T0 + 3 * MIN)] }], 'the last slice ends with the window');
  // Two flows whose deltas overlap a slice are added up; slices with nothing are left out.
  const agg = run("G.Flows().HasEither('UUID', 'm', 'UUID', 'p').Metrics().Aggregates(60)") as Array<{ Aggregated: unknown[] }>;
  t.equal(agg[0].Aggregated.length, 4, '3 slices for m, 1 for p, 7 empty ones dropped');
  t.same(run("G.Flows().Has('UUID', 'm').Metrics().Aggregates()"), [{
    Aggregated: [m(1, T0, T0 + 30_000), m(1, T0 + 30_000, T0 + MIN), m(2, T0 + MIN, T0 + 90_000),
      m(2, T0 + 90_000, T0 + 2 * MIN), m(3, T0 + 2 * MIN, T0 + 150_000), m(3, T0 + 150_000, T0 + 3 * MIN)],
  }], 'default slices of 30 s; counters spread evenly over each delta');
  t.end();
});

t.test('G.At(time, duration): flows alive in the window', (t) => {
  // Window [T0 + 20 s, T0 + 35 s]: m (T0..T0+3m) and n (T0+30s..T0+40s).
  t.same(ids(`G.At(${T0 + 35_000}, 15).Flows()`), ['m', 'n']);
  t.same(ids(`G.Context(${T0 + 35_000}, 15).Flows()`), ['m', 'n'], 'Context is At');
  // Window [T0 + 41 s, T0 + 50 s]: n ended at 40 s.
  t.same(ids(`G.At(${T0 + 50_000}, 9).Flows()`), ['m']);
  // With Skydive's default flow.expire (600 s), n counts as alive: it could still be in a table.
  t.same(ids(`G.At(${T0 + 50_000}, 9).Flows()`, { ...opts, flowExpireMs: 600_000 }), ['m', 'n']);
  // One argument: the instant.
  t.same(ids(`G.At(${T0 + 10 * MIN + 1000}).Flows()`), ['p']);
  t.same(ids(`G.At(${T0 - 3_100_000}).Flows()`), ['o']);
  t.same(ids("G.At(NOW, FOREVER).Flows()"), ['m', 'n', 'o', 'p']);
  t.same(ids("G.At(NOW, FOREVER).Flows().Has('UUID', 'p')"), ['p'], 'filters still apply');
  t.end();
});

t.test('time formats: relative durations, RFC 3339, RFC 1123, seconds, milliseconds', (t) => {
  const now = T0 + 12 * MIN;
  const at = (q: string): string[] => ids(q, { nowMs: now, flowExpireMs: 0 });
  t.same(at("G.At('-2m', 60).Flows()"), ['p'], 'now - 2 min, 60 s window: [now-3m, now-2m]');
  t.same(at("G.At('-1h30m', '10m').Flows()"), [], 'before everything but o, after o');
  t.same(at("G.At('-12m', '1s').Flows()"), ['m'], 'at T0');
  const iso = new Date(T0 + 35_000).toISOString();
  t.same(at(`G.At('${iso}', 15).Flows()`), ['m', 'n'], iso);
  t.same(at(`G.At('${iso.replace('Z', '+00:00')}', '15s').Flows()`), ['m', 'n']);
  const rfc1123 = new Date(T0 + 35_000).toUTCString();
  t.same(at(`G.At('${rfc1123}', 15).Flows()`), ['m', 'n'], rfc1123);
  t.same(at(`G.At(${Math.floor((T0 + 35_000) / 1000)}, 15).Flows()`), ['m', 'n'], 'unix seconds');
  t.same(at(`G.At(${T0 + 35_000}, 15).Flows()`), ['m', 'n'], 'milliseconds (above 2^31)');
  t.end();
});

t.test('metrics in a time window are cut to it, prorated by time', (t) => {
  // [T0 + 90 s, T0 + 150 s]: half of the second delta, half of the third.
  t.same(run(`G.At(${T0 + 150_000}, 60).Flows().Has('UUID', 'm').Metrics()`), [{
    m: [
      { ABPackets: 2, ABBytes: 200, BAPackets: 2, BABytes: 120, Start: T0 + 90_000, Last: T0 + 2 * MIN },
      { ABPackets: 3, ABBytes: 300, BAPackets: 3, BABytes: 180, Start: T0 + 2 * MIN, Last: T0 + 150_000 },
    ],
  }]);
  // One instant: everything up to it.
  t.same(run(`G.At(${T0 + 150_000}).Flows().Has('UUID', 'm').Metrics()`), [{
    m: [m(2, T0, T0 + MIN), m(4, T0 + MIN, T0 + 2 * MIN),
      { ABPackets: 3, ABBytes: 300, BAPackets: 3, BABytes: 180, Start: T0 + 2 * MIN, Last: T0 + 150_000 }],
  }]);
  t.same(run(`G.At(${T0 + 150_000}, 60).Flows().Has('UUID', 'm').Metrics().Sum()`), m(5, T0 + 90_000, T0 + 150_000));
  t.same(run(`G.At(${T0 + 180_000}, 180).Flows().Has('UUID', 'm').Metrics().Aggregates(90)`),
    [{ Aggregated: [m(4, T0, T0 + 90_000), m(8, T0 + 90_000, T0 + 180_000)] }], 'aggregated over the window');
  t.end();
});

t.test('cutting conserves totals: the pieces of a delta add up to it', (t) => {
  const s = new MemoryFlowStore();
  s.upsert([baseFlow('c', { Start: T0, Last: T0 + 7000, LastUpdateMetric: { ...metric(7, 3, T0, T0 + 7000), ABBytes: 1001 } })]);
  let ab = 0;
  let bytes = 0;
  for (let k = 0; k < 7; k++) {
    const r = runFlowQuery(s, `G.At(${T0 + (k + 1) * 1000}, 1).Flows().Metrics().Sum()`, { flowExpireMs: 0 }) as Record<string, number> | null;
    ab += r?.ABPackets ?? 0;
    bytes += r?.ABBytes ?? 0;
  }
  t.equal(ab, 7);
  t.equal(bytes, 1001);
  t.end();
});
