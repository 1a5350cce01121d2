/**
 * The elasticsearch backend against a real node: flows sent by agents (UDP datagrams and
 * WebSocket batches) to an analyzer are stored by UUID with Skydive's mapping types, with one
 * metric document per update; history queries (G.At / G.Context) answered from Elasticsearch
 * give what the same queries give over an in-memory store holding the same flows, and their
 * filters are applied by Elasticsearch (fewer flows read back).
 */
import t from 'tap';
import WebSocket from 'ws';
import { Client } from '@elastic/elasticsearch';
import { encodeMessage } from '../../../src/format/protobuf.js';
import { flowToJSON } from '../../../src/format/json.js';
import { runFlowQuery } from '../../../src/query/index.js';
import { MemoryFlowStore } from '../../../src/store/memory.js';
import type { Flow } from '../../../src/flow/types.js';
import { BASE_MS, makeFlows, metric } from '../../query/flow-fixture.js';
import { openSocket, query, sendDatagrams, testAnalyzer, until } from '../../helpers/analyzer.js';
import { testElasticsearchURL, testSettings } from '../../helpers/elasticsearch.js';

const url = await testElasticsearchURL(t);
if (url !== undefined) {
  const settings = testSettings(t, url);
  const analyzer = await testAnalyzer({ elasticsearch: settings });
  const es = analyzer.elasticsearch!;
  const client = new Client({ node: url });
  t.teardown(async () => {
    await analyzer.close();
    await client.close();
  });

  const flows = makeFlows(300, 7);
  // A second update of some flows: a later Last and a new delta, as an agent's next tick sends.
  const updates: Flow[] = flows.filter((f) => f.LastUpdateMetric !== undefined).slice(0, 40).map((f) => ({
    ...f, Last: Number(f.Last) + 60_000, LastUpdateMetric: metric(3, 2, Number(f.Last), Number(f.Last) + 60_000),
    Metric: metric(Number(f.Metric.ABPackets) + 3, Number(f.Metric.BAPackets) + 2, Number(f.Start), Number(f.Last) + 60_000),
  }));
  const reference = new MemoryFlowStore({ retentionMs: Infinity });
  reference.upsert(flows);
  reference.upsert(updates);
  const latest = new Map<string, Flow>([...flows, ...updates].map((f) => [f.UUID, f]));

  t.test('flows sent by agents are stored by UUID', async (t) => {
    await sendDatagrams(analyzer.address.port, flows.slice(0, 100).map((f) => encodeMessage([f])));
    await until(() => analyzer.store.size === 100, 'the UDP flows');
    const ws = await openSocket(`ws://127.0.0.1:${analyzer.address.port}/ws/agent/flow`, { 'X-Host-ID': 'agent-es', 'X-Client-Type': 'agent' }) as WebSocket;
    for (let i = 100; i < flows.length; i += 50) ws.send(encodeMessage(flows.slice(i, i + 50)));
    await until(() => analyzer.store.size === flows.length, 'the WebSocket flows');
    ws.send(encodeMessage(updates));
    await until(() => analyzer.intake.counters.flows.websocket === flows.length - 100 + updates.length, 'the updates');
    ws.close();
    await es.writer.drained();
    await client.indices.refresh({ index: `${settings.indexPrefix}*` });
    const count = await client.count({ index: `${settings.indexPrefix}flow` });
    t.equal(count.count, flows.length, 'one flow document per UUID');
    for (const f of [flows[0], flows[150], updates[0]]) {
      const doc = await client.get<Record<string, unknown>>({ index: `${settings.indexPrefix}flow`, id: f.UUID });
      t.strictSame(doc._source, JSON.parse(flowToJSON(latest.get(f.UUID)!)), `flow ${f.UUID}: its latest JSON`);
    }
    const withDelta = [...flows, ...updates].filter((f) => f.LastUpdateMetric !== undefined && Number(f.LastUpdateMetric.ABPackets) + Number(f.LastUpdateMetric.BAPackets) > 0);
    const metrics = await client.count({ index: `${settings.indexPrefix}metric` });
    t.equal(metrics.count, withDelta.length, 'one metric document per update carrying a delta');
    const u = updates[0];
    const m = await client.get<Record<string, any>>({ index: `${settings.indexPrefix}metric`, id: `${u.UUID}_${u.LastUpdateMetric!.Start}_${u.LastUpdateMetric!.Last}` });
    t.match(m._source, { ABPackets: 3, BAPackets: 2, Start: u.LastUpdateMetric!.Start, Last: u.LastUpdateMetric!.Last, Flow: { UUID: u.UUID, TrackingID: u.TrackingID, Start: u.Start, Last: u.Last } });
    t.match(es.stats(), { dropped: 0, memoryDocs: 0, diskDocs: 0, connected: true });
    // Batches go out several at a time: an update may land before the version it replaces,
    // which is then refused as stale (the stored JSON above is the latest either way).
    const s = es.stats();
    t.equal(s.written.flow + s.stale, flows.length + updates.length, `every flow document written or stale (${s.stale} stale)`);
  });

  t.test('the mapping has Skydive\'s types', async (t) => {
    const r = await client.indices.getFieldMapping({
      index: `${settings.indexPrefix}flow`,
      fields: ['UUID', 'Network.A', 'Start', 'Last', 'Metric.ABBytes', 'Metric.BAPackets', 'Metric.Start', 'Metric.RTT', 'TCPMetric.ABSynStart', 'Transport.A'],
    });
    const types: Record<string, string> = {};
    for (const idx of Object.values(r)) {
      for (const [name, m] of Object.entries(idx.mappings)) types[name] = (Object.values(m.mapping)[0] as { type: string }).type;
    }
    t.strictSame(types, {
      UUID: 'keyword', 'Network.A': 'keyword', Start: 'date', Last: 'date', 'Metric.ABBytes': 'long', 'Metric.BAPackets': 'long',
      'Metric.Start': 'date', 'Metric.RTT': 'long', 'TCPMetric.ABSynStart': 'date', 'Transport.A': 'long',
    });
    const metricTypes = await client.indices.getFieldMapping({ index: `${settings.indexPrefix}metric`, fields: ['Last', 'ABBytes', 'Flow.UUID'] });
    const one = Object.values(metricTypes)[0].mappings;
    t.equal((Object.values(one.Last.mapping)[0] as { type: string }).type, 'date');
    t.equal((Object.values(one.ABBytes.mapping)[0] as { type: string }).type, 'long');
    t.equal((Object.values(one['Flow.UUID'].mapping)[0] as { type: string }).type, 'keyword');
    const aliases = await client.indices.getAlias({ name: `${settings.indexPrefix}flow` });
    t.strictSame(Object.keys(aliases), [`${settings.indexPrefix}flow_v13-000001`], 'alias on Skydive\'s first index name');
  });

  t.test('history queries: the same answers as the in-memory store, filtered by Elasticsearch', async (t) => {
    const at = Math.floor((BASE_MS + 3_600_000) / 1000);
    const ctx = `G.At(${at}, 7200)`;
    const ipv4 = flows.find((f) => f.Network?.Protocol === 'IPV4')!;
    const a = ipv4.Network!.A;
    const octets = a.split('.');
    const one = flows[42];
    const queries: Array<[string, number | undefined]> = [
      [`${ctx}.Flows()`, undefined],
      [`${ctx}.Flows().Count()`, undefined],
      [`${ctx}.Flows().Has('UUID', '${one.UUID}')`, 1],
      [`${ctx}.Flows().Has('Network.A', '${a}')`, undefined],
      [`${ctx}.Flows().Has('Network', '${a}')`, undefined],
      [`${ctx}.Flows().HasEither('Transport.A', 80, 'Transport.B', 80)`, undefined],
      [`${ctx}.Flows().Has('Network.A', Ipv4Range('${octets[0]}.${octets[1]}.0.0/16'))`, undefined],
      [`${ctx}.Flows().Has('LayersPath', Regex('Ethernet/IPv.*/T.P'))`, undefined],
      [`${ctx}.Flows().Has('Application', Within('DNS', 'ICMPv4'))`, undefined],
      [`${ctx}.Flows().Has('Metric.ABBytes', Gt(2000))`, undefined],
      [`${ctx}.Flows().Has('Metric.RTT', Lt(1000))`, undefined],
      [`${ctx}.Flows().Has('Transport.B', Inside(1000, 40000)).Has('Application', Ne('DNS'))`, undefined],
      [`${ctx}.Flows().Has('TrackingID', '${one.TrackingID}').Dedup()`, undefined],
      // Ties keep each store's order: compare the sorted values.
      [`${ctx}.Flows().Sort(DESC, 'Metric.ABBytes').Limit(5).Values('Metric.ABBytes')`, undefined],
      [`${ctx}.Flows().Sort(ASC, 'UUID').Limit(7)`, undefined],
      [`${ctx}.Flows().Metrics()`, undefined],
      [`${ctx}.Flows().Metrics().Sum()`, undefined],
      [`${ctx}.Flows().Has('UUID', '${updates[0].UUID}').Metrics()`, 1],
      [`G.At(${Math.floor((BASE_MS + 10_000) / 1000)}).Flows().Count()`, undefined],
      [`${ctx}.Flows().Sum('Metric.ABBytes')`, undefined],
    ];
    const byUUID = (v: unknown): unknown => (Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null && 'UUID' in x)
      ? [...v].sort((x: any, y: any) => (x.UUID < y.UUID ? -1 : x.UUID > y.UUID ? 1 : 0)) : v);
    for (const [q, readsAtMost] of queries) {
      const got = await query(analyzer.base, q);
      const want = runFlowQuery(reference, q, { flowExpireMs: 600_000 });
      // Without a Sort, flows come in store order, which differs: compare them as sets.
      const sorted = /Sort\(|Limit\(/.test(q);
      t.same(sorted ? got : byUUID(got), sorted ? JSON.parse(JSON.stringify(want)) : byUUID(JSON.parse(JSON.stringify(want))), q);
      if (readsAtMost !== undefined) t.ok(es.history.last.flows <= readsAtMost, `${q}: filtered in Elasticsearch (${es.history.last.flows} read)`);
    }
    const all = (await query(analyzer.base, `${ctx}.Flows()`)) as unknown[];
    t.ok(all.length > 100, `the window holds flows (${all.length})`);
    t.equal((await query(analyzer.base, 'G.Flows().Count()')), flows.length, 'live queries still use the in-memory store');
  });

  t.test('/metrics reports the backend', async (t) => {
    const text = await (await fetch(`${analyzer.base}/metrics`)).text();
    t.match(text, new RegExp(`skydive_elasticsearch_documents_written_total\\{kind="flow"\\} ${es.stats().written.flow}\n`));
    t.match(text, /skydive_elasticsearch_documents_dropped_total 0/);
    t.match(text, /skydive_elasticsearch_up 1/);
  });
}
