/**
 * History queries over more flows than a reply may list (history_max_flows, 10,000): Count,
 * Sum, Dedup, Values and Sort().Limit() read every matching flow page by page and give exactly
 * what the same query gives over an in-memory store holding the same flows, also once a
 * rollover has left two copies of the updated flows (one per index). Count is asked of
 * Elasticsearch when its filter is exact; Limit without Sort stops after one small page; a
 * reply that would list more than the cap fails and says why.
 */
import t, { type Test } from 'tap';
import { Client } from '@elastic/elasticsearch';
import type { Flow } from '../../../src/flow/types.js';
import { runFlowQuery } from '../../../src/query/index.js';
import { openElasticsearchBackend } from '../../../src/store/elasticsearch/backend.js';
import { MemoryFlowStore } from '../../../src/store/memory.js';
import { BASE_MS, makeFlows, metric } from '../../query/flow-fixture.js';
import { testElasticsearchURL, testSettings } from '../../helpers/elasticsearch.js';

const FLOWS = 24_000;
const CAP = 10_000;

const url = await testElasticsearchURL(t);
if (url !== undefined) {
  t.setTimeout(300_000);
  const settings = testSettings(t, url, { bulkMaxDocs: 2000, historyMaxFlows: CAP });
  const es = openElasticsearchBackend(settings, () => {});
  const client = new Client({ node: url });
  t.teardown(async () => {
    await es.close(0);
    await client.close();
  });

  const flows = makeFlows(FLOWS, 11);
  const reference = new MemoryFlowStore({ retentionMs: Infinity, maxFlows: 100_000 });
  const store = async (batch: Flow[]): Promise<void> => {
    for (let i = 0; i < batch.length; i += 1000) es.writer.write(batch.slice(i, i + 1000));
    reference.upsert(batch);
    await es.writer.drained();
    await client.indices.refresh({ index: `${settings.indexPrefix}*` });
  };
  await store(flows);

  const at = Math.floor((BASE_MS + 3_600_000) / 1000);
  const ctx = `G.At(${at}, 7200)`;
  const opts = { flowExpireMs: 600_000 };
  const history = async (q: string): Promise<unknown> => JSON.parse(await es.history.runJSON(q, opts));
  // Without a Sort, values come in each store's flow order: compared sorted.
  const sorted = (q: string, v: unknown): unknown => (!q.includes('Sort(') && Array.isArray(v) ? [...v].sort() : v);
  const same = async (t: Test, q: string): Promise<void> => {
    t.same(sorted(q, await history(q)), sorted(q, JSON.parse(JSON.stringify(runFlowQuery(reference, q, opts)))), q);
  };
  const exactQueries = [
    `${ctx}.Flows().Count()`,
    `${ctx}.Flows().Has('Application', 'TCP').Count()`,
    // Transport.B 0 may be a missing field in Elasticsearch: not pushed down as a count.
    `${ctx}.Flows().Has('Transport.B', Within(443, 0)).Count()`,
    `${ctx}.Flows().Has('LayersPath', Regex('Ethernet/IPv4/.*')).Count()`,
    `${ctx}.Flows().Dedup('NodeTID').Count()`,
    `${ctx}.Flows().Dedup().Count()`,
    `${ctx}.Flows().Has('Application', 'DNS').Dedup('Network.A').Values('Network.A')`,
    `${ctx}.Flows().HasKey('Transport.B').Values('Transport.B').Dedup().Count()`,
    `${ctx}.Flows().Values('Metric.ABBytes').Count()`,
    `${ctx}.Flows().Sum('Metric.ABBytes')`,
    `${ctx}.Flows().Keys()`,
    // Unique keys, and values for the tied ones: the stores list ties in their own orders.
    `${ctx}.Flows().Sort(ASC, 'UUID').Limit(15)`,
    `${ctx}.Flows().Sort(DESC, 'UUID').Range(5, 12)`,
    `${ctx}.Flows().Sort(DESC, 'Metric.ABBytes').Limit(50).Values('Metric.ABBytes')`,
    `${ctx}.Flows().Sort(ASC, 'Last').Limit(100).Values('Last')`,
    `${ctx}.Flows().Metrics().Sum()`,
    `${ctx}.Flows().Metrics().Sum('ABBytes')`,
    `${ctx}.Flows().Metrics().Count()`,
    `${ctx}.Flows().Has('NodeTID', 'node-a').Metrics().Aggregates(600)`,
  ];

  t.test(`over ${FLOWS} flows in one index: exact answers`, async (t) => {
    const total = runFlowQuery(reference, `${ctx}.Flows().Count()`, opts) as number;
    t.ok(total > 2 * CAP, `the window holds ${total} flows, more than twice the cap`);
    for (const q of exactQueries) await same(t, q);
    await history(`${ctx}.Flows().Has('Application', 'TCP').Count()`);
    t.match(es.history.last, { count: 'count-api', requests: 1 }, 'an exact filter: Count() is _count');
    await history(`${ctx}.Flows().Has('Transport.B', Within(443, 0)).Count()`);
    t.equal(es.history.last.count, undefined, 'a widened filter: counted by the evaluator');
    t.ok(es.history.last.flows > CAP, `every matching flow read (${es.history.last.flows})`);
  });

  t.test('Limit without Sort stops after one small page', async (t) => {
    const got = await history(`${ctx}.Flows().Limit(10)`) as Array<{ UUID: string; Start: number }>;
    t.equal(got.length, 10);
    t.match(es.history.last, { requests: 1 });
    t.ok(es.history.last.flows <= 26, `${es.history.last.flows} flows read`);
    const byStart = [...flows].sort((a, b) => Number(a.Start) - Number(b.Start) || (a.UUID < b.UUID ? -1 : 1));
    t.strictSame(got.map((f) => f.UUID), byStart.slice(0, 10).map((f) => f.UUID), 'the first ten in (Start, UUID) order');
  });

  t.test('a reply listing more than history_max_flows fails and says why', async (t) => {
    await t.rejects(es.history.runJSON(`${ctx}.Flows()`, opts), { name: 'QueryError', message: /more than 10000.*Limit/ });
    await t.rejects(es.history.runJSON(`${ctx}.Flows().Sort(DESC, 'Last')`, opts), { name: 'QueryError' });
    const some = await history(`${ctx}.Flows().Has('NodeTID', 'node-a').Has('Application', 'DNS')`) as unknown[];
    t.ok(some.length > 0 && some.length < CAP, 'under the cap, flows are listed');
  });

  t.test('after a rollover, copies of updated flows are read once, the newest', async (t) => {
    await client.indices.rollover({ alias: `${settings.indexPrefix}flow` });
    // Updates of 3000 flows, written to the new index: their old version stays in the first.
    const updates: Flow[] = flows.slice(0, 3000).map((f) => ({
      ...f, Last: Number(f.Last) + 60_000, LastUpdateMetric: metric(3, 2, Number(f.Last), Number(f.Last) + 60_000),
      Metric: metric(Number(f.Metric.ABPackets) + 3, Number(f.Metric.BAPackets) + 2, Number(f.Start), Number(f.Last) + 60_000),
    }));
    await store(updates);
    const docs = await client.count({ index: `${settings.indexPrefix}flow_*` });
    t.equal(docs.count, flows.length + updates.length, 'each updated flow has a document in both indices');
    for (const q of exactQueries) await same(t, q);
    await history(`${ctx}.Flows().Has('Application', 'TCP').Count()`);
    t.equal(es.history.last.count, 'sort-values', 'two indices: counted from the sort values, copies once');
  });
}
