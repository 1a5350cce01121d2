/**
 * Rollover against a real node: by entry count (index_entries_limit) and by age (our working
 * index_age_limit), each to Skydive's next index name, and indices beyond indices_to_keep
 * deleted, oldest first.
 */
import t from 'tap';
import { createClient } from '../../../src/store/elasticsearch/client.js';
import { ensureIndices, IndexNames } from '../../../src/store/elasticsearch/indices.js';
import { Rollover } from '../../../src/store/elasticsearch/rollover.js';
import { testElasticsearchURL, testSettings } from '../../helpers/elasticsearch.js';

const url = await testElasticsearchURL(t);
if (url !== undefined) {
  const s = testSettings(t, url);
  const client = createClient(s);
  t.teardown(() => client.close());
  const names = new IndexNames(s.indexPrefix);
  await ensureIndices(client, names, s.totalFieldsLimit);
  const flowIndices = async (): Promise<string[]> => Object.keys(await client.indices.get({ index: names.pattern('flow') })).sort();
  const writeIndex = async (): Promise<string> => {
    const r = await client.indices.getAlias({ name: names.alias('flow') });
    return Object.entries(r).find(([, v]) => (v.aliases[names.alias('flow')] as { is_write_index?: boolean }).is_write_index)![0];
  };
  const fill = async (n: number): Promise<void> => {
    const operations = [];
    for (let i = 0; i < n; i++) operations.push({ index: { _index: names.alias('flow') } }, { UUID: `u${i}`, Start: 1, Last: 2 });
    await client.bulk({ operations, refresh: true });
  };

  t.test('by entry count, keeping indices_to_keep', async (t) => {
    const rollover = new Rollover(client, names, { entriesLimit: 10, ageLimitMs: 0, indicesToKeep: 2, intervalMs: 60_000, log: () => {} });
    await fill(5);
    t.strictSame((await rollover.check()).rolled, {}, 'under the limit: no rollover');
    await fill(5);
    const first = await rollover.check();
    t.equal(first.rolled.flow, `${s.indexPrefix}flow_v13-000002`, 'Skydive\'s next index name');
    t.equal(first.rolled.metric, undefined, 'an empty kind stays');
    t.equal(await writeIndex(), `${s.indexPrefix}flow_v13-000002`, 'the alias writes to the new index');
    t.strictSame(first.deleted, []);
    await fill(10);
    const second = await rollover.check();
    t.equal(second.rolled.flow, `${s.indexPrefix}flow_v13-000003`);
    t.strictSame(second.deleted, [`${s.indexPrefix}flow_v13-000001`], 'the oldest beyond indices_to_keep is deleted');
    t.strictSame(await flowIndices(), [`${s.indexPrefix}flow_v13-000002`, `${s.indexPrefix}flow_v13-000003`]);
    t.match(rollover.totals, { rollovers: 2, deleted: 1 });
  });

  t.test('by age (index_age_limit works, unlike Skydive\'s)', async (t) => {
    const rollover = new Rollover(client, names, { entriesLimit: 0, ageLimitMs: 1000, indicesToKeep: 0, intervalMs: 60_000, log: () => {} });
    const before = await writeIndex();
    await fill(1);
    // The condition is the index's age: wait until the write index is older than the limit.
    const created = Number((await client.indices.getSettings({ index: before }))[before].settings?.index?.creation_date);
    await new Promise((r) => setTimeout(r, Math.max(0, created + 1500 - Date.now())));
    const r = await rollover.check();
    t.not(r.rolled.flow, undefined, 'the flow alias rolled over');
    t.not(await writeIndex(), before);
    t.strictSame(r.deleted, [], 'indices_to_keep 0 keeps all');
  });
}
