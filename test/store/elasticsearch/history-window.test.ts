/**
 * History queries after a rollover left two copies of the updated flows, compared with the
 * in-memory store holding the same flows: a filter is applied to the newest copy of a flow
 * only, Sort().Limit(n).Metrics() lists the stored metric updates of those n flows, times
 * finer than a millisecond are accepted (rounded outwards), and a Regex with an empty
 * alternative matches what it matches live.
 */
import t, { type Test } from 'tap';
import { Client } from '@elastic/elasticsearch';
import type { Flow } from '../../../src/flow/types.js';
import { runFlowQuery } from '../../../src/query/index.js';
import { openElasticsearchBackend } from '../../../src/store/elasticsearch/backend.js';
import { MemoryFlowStore } from '../../../src/store/memory.js';
import { BASE_MS, makeFlows, metric } from '../../query/flow-fixture.js';
import { testElasticsearchURL, testSettings } from '../../helpers/elasticsearch.js';

const url = await testElasticsearchURL(t);
if (url !== undefined) {
  t.setTimeout(120_000);
  const settings = testSettings(t, url, { bulkMaxDocs: 1000 });
  const es = openElasticsearchBackend(settings, () => {});
  const client = new Client({ node: url });
  t.teardown(async () => {
    await es.close(0);
    await client.close();
  });

  const flows = makeFlows(400, 5);
  const reference = new MemoryFlowStore({ retentionMs: Infinity, maxFlows: 10_000 });
  const store = async (batch: Flow[]): Promise<void> => {
    es.writer.write(batch);
    reference.upsert(batch);
    await es.writer.drained();
    await client.indices.refresh({ index: `${settings.indexPrefix}*` });
  };
  await store(flows);
  await client.indices.rollover({ alias: `${settings.indexPrefix}flow` });
  // Half the flows updated into the new index, 1000 packets more: their old copy (ABPackets
  // at most 50) stays in the first index.
  const updated = flows.filter((_, k) => k % 2 === 0);
  await store(updated.map((f) => ({
    ...f, Last: Number(f.Last) + 60_000, LastUpdateMetric: metric(1000, 2, Number(f.Last), Number(f.Last) + 60_000),
    Metric: metric(Number(f.Metric.ABPackets) + 1000, Number(f.Metric.BAPackets) + 2, Number(f.Start), Number(f.Last) + 60_000),
  })));

  const nowMs = BASE_MS + 3_600_000;
  const opts = { flowExpireMs: 600_000, nowMs };
  const ctx = `G.At(${Math.floor(nowMs / 1000)}, 7200)`;
  const history = async (q: string): Promise<unknown> => JSON.parse(await es.history.runJSON(q, opts));
  const sorted = (q: string, v: unknown): unknown => (!q.includes('Sort(') && Array.isArray(v) ? [...v].sort() : v);
  const same = async (t: Test, q: string): Promise<void> => {
    t.same(sorted(q, await history(q)), sorted(q, JSON.parse(JSON.stringify(runFlowQuery(reference, q, opts)))), q);
  };

  t.test('a filter is applied to the newest copy of a flow only', async (t) => {
    const n = runFlowQuery(reference, `${ctx}.Flows().Has('Metric.ABPackets', Lt(60)).Count()`, opts) as number;
    t.ok(n > 0 && n < flows.length / 2 + 10, `the reference counts only flows never updated (${n})`);
    for (const q of [
      `${ctx}.Flows().Has('Metric.ABPackets', Lt(60)).Count()`,
      `${ctx}.Flows().Has('Metric.ABPackets', Lt(60)).Values('UUID')`,
      `${ctx}.Flows().Has('Metric.ABPackets', Lt(60)).Sort(ASC, 'UUID').Limit(20)`,
      `${ctx}.Flows().HasEither('Metric.ABPackets', Lt(60), 'Application', 'NONE').Count()`,
      `${ctx}.Flows().Has('Metric.ABPackets', Gte(60)).Count()`,
      `${ctx}.Flows().Has('Application', 'TCP').Count()`,
      // An exact filter (0 is out of it): counted from the sort values, copies marked.
      `${ctx}.Flows().Has('Metric.ABPackets', Inside(0, 60)).Count()`,
    ]) await same(t, q);
    t.equal(es.history.last.count, 'sort-values', 'Count() of an exact filter is still pushed down');
  });

  t.test('Sort().Limit(n).Metrics() lists the stored metric updates of the n flows', async (t) => {
    const q = `${ctx}.Flows().Sort(DESC, 'Metric.ABBytes').Limit(3).Metrics()`;
    const [got] = await history(q) as Array<Record<string, unknown[]>>;
    t.equal(Object.keys(got).length, 3);
    t.ok(Object.values(got).every((list) => list.length === 2), 'each of them: the two updates in the window');
    await same(t, q);
    await same(t, `${ctx}.Flows().Sort(ASC, 'UUID').Range(2, 6).Metrics().Sum()`);
  });

  t.test('times finer than a millisecond', async (t) => {
    const one = flows[7];
    const iso = (ms: number, extra: string): string => new Date(ms).toISOString().replace('Z', `${extra}Z`);
    for (const q of [
      `G.At('-1us', 7200).Flows().Count()`,
      `G.At('-1.5ms', 7200).Flows().Count()`,
      `G.At('-1.5ms').Flows().Count()`,
      // At the very Start of a flow plus a fraction: that flow is in.
      `G.At('${iso(Number(one.Start), '456')}').Flows().Has('UUID', '${one.UUID}').Count()`,
      `G.At('${iso(Number(one.Start), '456')}', 1).Flows().Count()`,
      `G.At('${iso(nowMs - 1_800_000, '123')}', 600).Flows().Metrics().Count()`,
    ]) await same(t, q);
    t.equal(await history(`G.At('${iso(Number(one.Start), '456')}').Flows().Has('UUID', '${one.UUID}').Count()`), 1);
  });

  t.test('a Regex with an empty alternative', async (t) => {
    const live = runFlowQuery(reference, `${ctx}.Flows().Has('Application', Regex('(|T)CP')).Count()`, opts) as number;
    t.ok(live > 0);
    for (const re of ['(|T)CP', '|TCP', 'T(|C)P', 'TCP|DNS']) await same(t, `${ctx}.Flows().Has('Application', Regex('${re}')).Count()`);
  });
}
