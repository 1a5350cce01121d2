/**
 * Nothing lost: an agent streams flows to an analyzer with the elasticsearch backend; the
 * Elasticsearch process is stopped in the middle of the stream, the stream goes on for 30 s
 * (the analyzer's memory buffer is small, so documents spill to disk), then Elasticsearch is
 * started again. Afterwards every flow sent is in Elasticsearch exactly once (counted by UUID),
 * in its latest version, with one metric document per update.
 *
 * The test runs its own node (scripts/es, another port and directory) so that stopping it does
 * not disturb the other test files.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { Client } from '@elastic/elasticsearch';
import { encodeMessage } from '../../../src/format/protobuf.js';
import type { Flow } from '../../../src/flow/types.js';
import { makeFlows, metric } from '../../query/flow-fixture.js';
import { openSocket, postQuery, testAnalyzer, until } from '../../helpers/analyzer.js';
import { testElasticsearchURL, testSettings } from '../../helpers/elasticsearch.js';

const run = promisify(execFile);
const scripts = new URL('../../../scripts/es/', import.meta.url).pathname;
const port = 9251 + (process.pid % 40);
const env = { ...process.env, SKYDIVE_ES_PORT: String(port), SKYDIVE_ES_HOME: `/tmp/skydive-es-fault-${process.pid}` };
const esScript = (name: string): Promise<unknown> => run(`${scripts}${name}.sh`, [], { env, timeout: 300_000 });

// The shared node's presence says this machine can run Elasticsearch (CI requires it).
if ((await testElasticsearchURL(t)) !== undefined) {
  t.setTimeout(600_000);
  await esScript('start');
  const url = `http://127.0.0.1:${port}`;
  t.teardown(async () => {
    await esScript('stop');
    rmSync(env.SKYDIVE_ES_HOME, { recursive: true, force: true });
  });
  const settings = testSettings(t, url, { maxBufferDocs: 1000, bulkMaxDocs: 200, requestTimeoutMs: 5000 });
  const analyzer = await testAnalyzer({ elasticsearch: settings });
  const client = new Client({ node: url });
  t.teardown(async () => {
    await analyzer.close();
    await client.close();
  });

  t.test('Elasticsearch stopped for 30 s during a stream: every flow once', async (t) => {
    const templates = makeFlows(50, 3);
    const sent = new Map<string, Flow>();
    let updates = 0;
    let seq = 0;
    let maxOnDisk = 0;
    const ws = await openSocket(`ws://127.0.0.1:${analyzer.address.port}/ws/agent/flow`, { 'X-Host-ID': 'agent-fault', 'X-Client-Type': 'agent' }) as WebSocket;
    const sendBatch = (): void => {
      const now = Date.now();
      const batch: Flow[] = [];
      for (let i = 0; i < 20; i++, seq++) {
        const tpl = templates[seq % templates.length];
        batch.push({ ...tpl, UUID: `fault-${seq}`, Start: now - 1000, Last: now, Metric: metric(3, 2, now - 1000, now), LastUpdateMetric: metric(3, 2, now - 1000, now) });
      }
      // A later update of an older flow: the stored document must end up being this one.
      if (seq > 100) {
        const old = sent.get(`fault-${seq - 100}`) as Flow;
        batch.push({ ...old, Last: now + 1, LastUpdateMetric: metric(1, 1, Number(old.Last), now + 1) });
        updates++;
      }
      for (const f of batch) sent.set(f.UUID, f);
      ws.send(encodeMessage(batch));
      maxOnDisk = Math.max(maxOnDisk, analyzer.elasticsearch!.stats().diskDocs);
    };
    const stream = setInterval(sendBatch, 100);
    try {
      await until(() => analyzer.elasticsearch!.stats().written.flow > 200, 'the first writes', 30_000);
      await esScript('stop');
      const stoppedAt = Date.now();
      await until(() => Date.now() - stoppedAt >= 30_000, '30 s of stream without Elasticsearch', 60_000);
      t.equal(analyzer.elasticsearch!.stats().connected, false, 'the writer saw Elasticsearch go');
      // A history query meanwhile: a 503 saying why, not a 500 "bug" reply.
      const history = await postQuery(analyzer.base, JSON.stringify({ GremlinQuery: "G.At('-1s', 300).Flows().Count()" }));
      t.equal(history.status, 503, 'history query without Elasticsearch');
      t.match(history.text, /^flow history is unavailable: Elasticsearch: /);
      await esScript('start');
      await until(() => analyzer.elasticsearch!.stats().connected, 'the writer to reconnect', 120_000);
    } finally {
      clearInterval(stream);
    }
    sendBatch();
    const received = (): number => analyzer.intake.counters.flows.websocket;
    const total = seq + updates;
    await until(() => received() === total, 'the analyzer to receive every flow', 30_000);
    ws.close();
    await until(() => { const s = analyzer.elasticsearch!.stats(); return s.memoryDocs === 0 && s.diskDocs === 0; }, 'the buffer to drain', 120_000);
    await analyzer.elasticsearch!.writer.drained();
    t.ok(maxOnDisk > 0, `documents waited on disk (up to ${maxOnDisk})`);
    await client.indices.refresh({ index: `${settings.indexPrefix}*` });
    const flows = await client.count({ index: `${settings.indexPrefix}flow` });
    t.equal(flows.count, sent.size, `every flow sent is stored (${sent.size} UUIDs)`);
    // Every UUID with its document count, exactly (a composite aggregation, page by page; the
    // cardinality aggregation is an estimate that can be off by one at this size).
    const stored = new Map<string, number>();
    let after: Record<string, string | number | boolean | null> | undefined;
    for (;;) {
      const r = await client.search({
        index: `${settings.indexPrefix}flow`, size: 0,
        aggs: { uuids: { composite: { size: 5000, sources: [{ uuid: { terms: { field: 'UUID' } } }], after } } },
      });
      const agg = r.aggregations?.uuids as { buckets: Array<{ key: { uuid: string }; doc_count: number }>; after_key?: typeof after };
      for (const b of agg.buckets) stored.set(b.key.uuid, b.doc_count);
      if (agg.buckets.length === 0 || agg.after_key === undefined) break;
      after = agg.after_key;
    }
    t.strictSame([...stored.entries()].filter(([, n]) => n > 1), [], 'no UUID twice');
    t.equal(stored.size, sent.size, 'distinct UUIDs = flows sent');
    t.strictSame([...sent.keys()].filter((u) => !stored.has(u)), [], 'every UUID sent is stored');
    const metrics = await client.count({ index: `${settings.indexPrefix}metric` });
    t.equal(metrics.count, seq + updates, 'one metric document per update, none twice');
    // Updated flows hold their last version, even when an older one was replayed later.
    const probe = [...sent.values()].filter((f) => Number(f.Last) !== Number(f.Metric.Last)).slice(0, 20);
    t.ok(probe.length > 0);
    for (const f of probe) {
      const doc = await client.get<{ Last: number }>({ index: `${settings.indexPrefix}flow`, id: f.UUID });
      if (!t.equal(doc._source?.Last, Number(f.Last), `${f.UUID}: latest version`)) break;
    }
    t.equal(analyzer.elasticsearch!.stats().dropped, 0, 'nothing dropped');
  });
}
