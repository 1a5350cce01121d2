/**
 * Sort, Dedup, Limit, Range, Count, Values, Keys and Sum: results and reply shapes, against
 * expectations computed here from the flows themselves.
 */
import t from 'tap';
import type { Flow } from '../../src/flow/types.js';
import { runFlowQuery, runFlowQueryJSON } from '../../src/query/index.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import { makeFlows } from './flow-fixture.js';

const flows = makeFlows(600);
const store = new MemoryFlowStore();
store.upsert(flows);

const run = (query: string): unknown => runFlowQuery(store, query);
const ids = (query: string): string[] => (run(query) as Array<{ UUID: string }>).map((f) => f.UUID);

/** A stable sort of the flows by `key`, the way the test expects Sort to behave. */
function sortedBy(list: readonly Flow[], key: (f: Flow) => number | string | undefined, desc = false): Flow[] {
  const cmp = (a: number | string | undefined, b: number | string | undefined): number => {
    if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  };
  return list.map((f, i) => ({ f, i })).sort((x, y) => (desc ? -1 : 1) * cmp(key(x.f), key(y.f)) || x.i - y.i).map((x) => x.f);
}

const lastOf = (f: Flow): number => Number(f.Last);

t.test('Sort() defaults to Last ascending, stable', (t) => {
  const want = sortedBy(flows, lastOf).map((f) => f.UUID);
  t.same(ids('G.Flows().Sort()'), want);
  t.same(ids('G.Flows().Sort(ASC)'), want);
  t.same(ids("G.Flows().Sort(ASC, 'Last')"), want);
  t.same(ids("G.Flows().Sort('Last')"), want);
  const lasts = flows.map(lastOf);
  t.ok(new Set(lasts).size < lasts.length, 'the fixture has equal Last values, so stability is tested');
  t.end();
});

t.test('Sort(DESC): reversed order, ties still in insertion order', (t) => {
  t.same(ids('G.Flows().Sort(DESC)'), sortedBy(flows, lastOf, true).map((f) => f.UUID));
  t.same(ids("G.Flows().Sort(desc, 'Metric.ABBytes')"), sortedBy(flows, (f) => Number(f.Metric.ABBytes), true).map((f) => f.UUID));
  t.end();
});

t.test('Sort by text fields and by fields some flows lack (absent first)', (t) => {
  t.same(ids("G.Flows().Sort(ASC, 'Network.A')"), sortedBy(flows, (f) => f.Network?.A).map((f) => f.UUID));
  t.same(ids("G.Flows().Sort(DESC, 'Transport.B')"), sortedBy(flows, (f) => f.Transport?.B, true).map((f) => f.UUID));
  t.end();
});

t.test('Sort().Limit(n) equals the full sort cut to n (bounded selection path)', (t) => {
  for (const n of [0, 1, 3, 10, 57, 700]) {
    for (const [dir, desc] of [['ASC', false], ['DESC', true]] as const) {
      for (const [key, get] of [['Last', lastOf], ['CaptureID', (f: Flow) => f.CaptureID], ['Transport.A', (f: Flow) => f.Transport?.A]] as const) {
        const want = sortedBy(flows, get, desc).slice(0, n).map((f) => f.UUID);
        t.same(ids(`G.Flows().Sort(${dir}, '${key}').Limit(${n})`), want, `Sort(${dir}, ${key}).Limit(${n})`);
      }
    }
  }
  t.same(ids("G.Flows().Sort(DESC).Range(5, 15)"), sortedBy(flows, lastOf, true).slice(5, 15).map((f) => f.UUID));
  t.same(ids("G.Flows().Has('Transport.B', 443).Sort().Limit(5)"),
    sortedBy(flows.filter((f) => f.Transport?.B === 443), lastOf).slice(0, 5).map((f) => f.UUID), 'with a filter');
  t.end();
});

t.test('Dedup keeps the first flow of each value; default key TrackingID', (t) => {
  const firstBy = (key: (f: Flow) => unknown): string[] => {
    const seen = new Set<unknown>();
    return flows.filter((f) => (seen.has(key(f)) ? false : (seen.add(key(f)), true))).map((f) => f.UUID);
  };
  t.same(ids('G.Flows().Dedup()'), firstBy((f) => f.TrackingID));
  t.ok(ids('G.Flows().Dedup()').length < flows.length, 'some flows share a TrackingID');
  t.same(ids("G.Flows().Dedup('CaptureID')"), firstBy((f) => f.CaptureID));
  t.same(ids("G.Flows().Dedup('Transport.B')"), firstBy((f) => f.Transport?.B), 'absent is one more value');
  t.same(ids("G.Flows().Sort(DESC).Dedup('NodeTID')"), (() => {
    const seen = new Set<string>();
    return sortedBy(flows, lastOf, true).filter((f) => (seen.has(f.NodeTID) ? false : (seen.add(f.NodeTID), true))).map((f) => f.UUID);
  })(), 'after a Sort, the first in sort order wins');
  t.end();
});

t.test('Limit and Range', (t) => {
  const all = flows.map((f) => f.UUID);
  t.same(ids('G.Flows().Limit(5)'), all.slice(0, 5));
  t.same(ids('G.Flows().Limit(0)'), []);
  t.same(ids('G.Flows().Limit(100000)'), all);
  t.same(ids('G.Flows().Range(10, 20)'), all.slice(10, 20));
  t.same(ids('G.Flows().Range(20, 10)'), []);
  t.same(ids('G.Flows().Limit(9223372036854775807)'), all, 'int64 max');
  t.same(ids("G.Flows().Has('CaptureID', 'cap-2').Limit(3)"), flows.filter((f) => f.CaptureID === 'cap-2').slice(0, 3).map((f) => f.UUID));
  t.same(ids('G.Flows().Limit(10).Limit(3)'), all.slice(0, 3));
  t.end();
});

t.test('Count is a bare number', (t) => {
  t.equal(run('G.Flows().Count()'), flows.length);
  t.equal(run("G.Flows().Has('Transport.B', 443).Count()"), flows.filter((f) => f.Transport?.B === 443).length);
  t.equal(run("G.Flows().Has('Network.A', Regex('10.*')).Count()"), flows.filter((f) => /^10.*$/.test(f.Network?.A ?? '')).length);
  t.equal(run('G.Flows().Dedup().Count()'), new Set(flows.map((f) => f.TrackingID)).size);
  t.equal(run("G.Flows().Has('UUID', 'none').Count()"), 0);
  t.equal(run("G.Flows().Has('CaptureID', Within('cap-1', 'cap-1', 'cap-2')).Count()"),
    flows.filter((f) => f.CaptureID === 'cap-1' || f.CaptureID === 'cap-2').length, 'repeated values count once');
  t.equal(run("G.Flows().Has('Network', '10.0.0.1').Count()"),
    flows.filter((f) => f.Network?.A === '10.0.0.1' || f.Network?.B === '10.0.0.1').length, 'either side: a flow counts once');
  t.equal(run("G.Flows().Has('Transport.B', '443').Count()"), 0);
  t.equal(runFlowQueryJSON(store, 'G.Flows().Count()'), String(flows.length));
  t.end();
});

t.test('Values gives one value per flow, in order; blocks as their JSON objects', (t) => {
  const sel = flows.filter((f) => f.Transport?.B === 22);
  t.same(run("G.Flows().Has('Transport.B', 22).Values('Network.A')"), sel.map((f) => f.Network?.A));
  t.same(run("G.Flows().Has('Transport.B', 22).Values('Transport.A')"), sel.map((f) => f.Transport?.A), 'ports are numbers');
  t.same(run("G.Flows().Has('Transport.B', 22).Values('TCP.B')"), sel.map(() => 22), 'aliases');
  t.same(run("G.Flows().Has('Transport.B', 22).Limit(2).Values('Transport')"),
    sel.slice(0, 2).map((f) => ({ Protocol: f.Transport?.Protocol, A: f.Transport?.A, B: 22, ID: 0 })));
  const withRtt = flows.find((f) => f.Metric.RTT !== 0) as Flow;
  t.same(run(`G.Flows().Has('UUID', '${withRtt.UUID}').Values('Metric')`), [{ ...withRtt.Metric }], 'RTT present when set');
  const noRtt = flows.find((f) => f.Metric.RTT === 0) as Flow;
  const { RTT: _rtt, ...metricWithoutRtt } = noRtt.Metric;
  t.same(run(`G.Flows().Has('UUID', '${noRtt.UUID}').Values('Metric')`), [metricWithoutRtt], 'RTT left out when 0');
  t.same(run("G.Flows().Has('UUID', 'big-link').Values('Link.ID')"), [2 ** 60], 'JSON-ready value: a number');
  t.equal(runFlowQueryJSON(store, "G.Flows().Has('UUID', 'big-link').Values('Link.ID')"), '[1152921504606846979]', 'JSON text: exact');
  t.same(run("G.Flows().Values('CaptureID').Dedup()"), [...new Set(flows.map((f) => f.CaptureID))]);
  t.equal(run("G.Flows().Values('CaptureID').Count()"), flows.length);
  t.same(run("G.Flows().Values('CaptureID').Limit(2)"), flows.slice(0, 2).map((f) => f.CaptureID));
  t.end();
});

t.test('Keys lists the flow fields; none without flows', (t) => {
  const keys = run('G.Flows().Keys()') as string[];
  for (const k of ['UUID', 'Network.A', 'Transport.B', 'Metric.ABBytes', 'LastUpdateMetric.Last', 'TrackingID', 'FinishType']) {
    t.ok(keys.includes(k), k);
  }
  t.equal(keys[0], 'UUID', 'Go struct order');
  t.same(run("G.Flows().Has('UUID', 'none').Keys()"), []);
  t.end();
});

t.test('Sum of a Metric or LastUpdateMetric field is a number', (t) => {
  const total = flows.reduce((s, f) => s + Number(f.Metric.ABBytes), 0);
  t.equal(run("G.Flows().Sum('Metric.ABBytes')"), total);
  const lum = flows.reduce((s, f) => s + Number(f.LastUpdateMetric?.BAPackets ?? 0), 0);
  t.equal(run("G.Flows().Sum('LastUpdateMetric.BAPackets')"), lum, 'flows without LastUpdateMetric add 0');
  t.equal(run("G.Flows().Has('UUID', 'none').Sum('Metric.ABBytes')"), 0);
  t.end();
});

t.test('flows replies: the JSON text and the value agree, and match flowToJSON', (t) => {
  const q = "G.Flows().Has('CaptureID', 'cap-3').Limit(20)";
  t.same(JSON.parse(runFlowQueryJSON(store, q)), run(q));
  const reply = run("G.Flows().Has('UUID', 'big-link')") as Array<{ Link: { ID: number } }>;
  t.equal(reply[0].Link.ID, 2 ** 60, 'value: nearest double');
  t.match(runFlowQueryJSON(store, "G.Flows().Has('UUID', 'big-link')"), /"ID":1152921504606846979/, 'text: exact');
  t.equal(runFlowQueryJSON(store, "G.Flows().Has('UUID', 'none')"), '[]');
  t.end();
});
