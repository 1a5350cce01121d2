/**
 * Elasticsearch backend bench against a real node (scripts/es/start.sh; SKYDIVE_TEST_ES_URL or
 * --url): sustained bulk ingest of flow updates through the backend's writer (flows/s and
 * documents/s, from the first write until Elasticsearch has taken every document), then the
 * latency of history queries over what was written (median and max of several runs).
 *
 *   node dist/bench/es.js [--url http://127.0.0.1:9250] [--flows 200000] [--runs 7] [--concurrency 4]
 *
 * --concurrency is storage.elasticsearch.bulk_concurrency (bulk requests in flight at once).
 *
 * Writes bench/results/es-<date>.json and .md; the indices it made are deleted at the end.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Flow } from '../src/flow/types.js';
import { openElasticsearchBackend } from '../src/store/elasticsearch/backend.js';
import { deleteUnderPrefix } from '../src/store/elasticsearch/indices.js';
import type { ElasticsearchSettings } from '../src/store/elasticsearch/settings.js';
import { RESULTS } from './paths.js';

let values: Record<string, string | undefined>;
try {
  ({ values } = parseArgs({
    options: { url: { type: 'string' }, flows: { type: 'string' }, runs: { type: 'string' }, concurrency: { type: 'string' } },
  }));
} catch (err) {
  process.stderr.write(`bench es: ${(err as Error).message}\n`);
  process.exit(1);
}
const url = values.url ?? process.env.SKYDIVE_TEST_ES_URL ?? 'http://127.0.0.1:9250';
const total = Number(values.flows ?? 200_000);
const runs = Number(values.runs ?? 7);
const concurrency = Number(values.concurrency ?? 4);
const BASE = Date.UTC(2026, 0, 1);
const BATCH = 1000;

/** A flow update as an agent sends it: distinct 5-tuples over 256 x 256 hosts. */
function flow(i: number): Flow {
  const start = BASE + (i % 3600) * 1000;
  const m = (ab: number, ba: number, s: number, l: number) => ({ ABPackets: ab, ABBytes: ab * 120, BAPackets: ba, BABytes: ba * 80, Start: s, Last: l, RTT: 0 });
  return {
    UUID: `b${i.toString(16)}`, LayersPath: 'Ethernet/IPv4/TCP', Application: 'TCP',
    Link: { Protocol: 'ETHERNET', A: '02:00:00:00:00:01', B: '02:00:00:00:00:02', ID: 0 },
    Network: { Protocol: 'IPV4', A: `10.${(i >> 8) & 255}.${i & 255}.1`, B: `10.200.${(i >> 16) & 255}.2`, ID: 0 },
    Transport: { Protocol: 'TCP', A: 1024 + (i % 60000), B: [80, 443, 22, 53][i % 4], ID: 0 },
    Metric: m(10 + (i % 7), 8, start, start + 30_000), LastUpdateMetric: m(5, 4, start, start + 30_000),
    Start: start, Last: start + 30_000, TrackingID: `t${i.toString(16)}`, L3TrackingID: `l${i.toString(16)}`, ParentUUID: '',
    NodeTID: `node-${i % 8}`, CaptureID: `cap-${i % 4}`, RawPacketsCaptured: 0, FinishType: 0,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const spillDir = mkdtempSync(join(tmpdir(), 'es-bench-spill-'));
  const settings: ElasticsearchSettings = {
    hosts: [url], sslInsecure: false, indexPrefix: `bench_${process.pid}_`, totalFieldsLimit: 1000,
    bulkMaxDocs: 2000, bulkMaxBytes: 5_000_000, bulkMaxDelayMs: 1000, bulkConcurrency: concurrency, requestTimeoutMs: 60_000,
    indexEntriesLimit: 0, indexAgeLimitMs: 0, indicesToKeep: 0, rolloverIntervalMs: 60_000,
    maxBufferDocs: 1_000_000, spillDir, spillMaxBytes: 1 << 30, historyMaxFlows: 10_000,
  };
  const es = openElasticsearchBackend(settings, (l) => process.stderr.write(l + '\n'));
  try {
    const t0 = performance.now();
    for (let i = 0; i < total; i += BATCH) {
      const batch: Flow[] = [];
      for (let j = i; j < Math.min(total, i + BATCH); j++) batch.push(flow(j));
      es.writer.write(batch);
      // Let the writer run between batches, as an analyzer's event loop would.
      await new Promise((r) => setImmediate(r));
    }
    await es.writer.drained();
    const ingestS = (performance.now() - t0) / 1000;
    const s = es.stats();
    await es.client.indices.refresh({ index: `${settings.indexPrefix}*` });
    const at = Math.floor((BASE + 3_600_000) / 1000);
    const queries: Record<string, string> = {
      'one flow by UUID': `G.At(${at}, 7200).Flows().Has('UUID', 'b${(4242).toString(16)}')`,
      'Has Network.A (one host)': `G.At(${at}, 7200).Flows().Has('Network.A', '10.16.146.1')`,
      // 10.3.x.1 are flows i with (i >> 8) & 255 = 3; port 443 is i % 4 = 1: 64 of each 65536.
      'Ipv4Range /16 + port': `G.At(${at}, 7200).Flows().Has('Network.A', Ipv4Range('10.3.0.0/16'), 'Transport.B', 443)`,
      'Limit(10) without Sort': `G.At(${at}, 7200).Flows().Limit(10)`,
      'window of 10 s, Count': `G.At(${Math.floor((BASE + 600_000) / 1000)}, 10).Flows().Count()`,
      'window of 10 s, Has port, Count': `G.At(${Math.floor((BASE + 600_000) / 1000)}, 10).Flows().Has('Transport.B', 443).Count()`,
      'Has port 0 or missing, Count (not exact in ES)': `G.At(${at}, 7200).Flows().Has('Transport.B', Within(22, 0)).Count()`,
      'Metrics() of one NodeTID, 1 min, Sum': `G.At(${Math.floor((BASE + 1_200_000) / 1000)}, 60).Flows().Has('NodeTID', 'node-3').Metrics().Sum()`,
      'Sort by bytes, top 10 (all flows)': `G.At(${at}, 7200).Flows().Sort(DESC, 'Metric.ABBytes').Limit(10)`,
      'Dedup NodeTID, Count (all flows)': `G.At(${at}, 7200).Flows().Dedup('NodeTID').Count()`,
      'Sum Metric.ABBytes (all flows)': `G.At(${at}, 7200).Flows().Sum('Metric.ABBytes')`,
    };
    const latency: Record<string, { medianMs: number; maxMs: number; flowsRead: number; requests: number; answer: string }> = {};
    for (const [name, q] of Object.entries(queries)) {
      const times: number[] = [];
      let answer = '';
      for (let r = 0; r < runs; r++) {
        const q0 = performance.now();
        const reply = await es.history.runJSON(q, { flowExpireMs: 600_000 });
        times.push(performance.now() - q0);
        answer = reply.startsWith('[') ? `${(JSON.parse(reply) as unknown[]).length} item(s)` : reply.slice(0, 60);
      }
      const l = es.history.last;
      latency[name] = {
        medianMs: Math.round(median(times) * 10) / 10, maxMs: Math.round(Math.max(...times) * 10) / 10,
        flowsRead: l.flows, requests: l.requests, answer: l.count === undefined ? answer : `${answer} (${l.count})`,
      };
    }
    const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const result = {
      date: when, machine: `${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores`, node: process.version, elasticsearch: url,
      flows: total, documents: s.written.flow + s.written.metric, ingestSeconds: Math.round(ingestS * 100) / 100,
      flowsPerSecond: Math.round(total / ingestS), documentsPerSecond: Math.round((s.written.flow + s.written.metric) / ingestS),
      bulkMaxDocs: settings.bulkMaxDocs, bulkConcurrency: concurrency, failedAttempts: s.failedAttempts, dropped: s.dropped, queryRuns: runs, queries, latency,
    };
    const dir = RESULTS;
    mkdirSync(dir, { recursive: true });
    const stamp = when.replace(/[-:]/g, '');
    writeFileSync(join(dir, `es-${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
    const md = [
      `# Elasticsearch backend bench, ${when}`, '',
      `${result.machine}, Node ${result.node}, one Elasticsearch 8.19 node (512 MB heap) on the same machine.`, '',
      `Ingest: ${total} flow updates (each a flow and a metric document) through the writer, bulk_max_docs ${settings.bulkMaxDocs}, bulk_concurrency ${concurrency}:`,
      `**${result.flowsPerSecond} flows/s** (${result.documentsPerSecond} documents/s), ${result.ingestSeconds} s, ${s.failedAttempts} failed attempts, ${s.dropped} dropped.`, '',
      `History queries (${runs} runs each):`, '',
      '| query | median ms | max ms | flows read | requests | answer |', '|---|---:|---:|---:|---:|---|',
      ...Object.entries(latency).map(([n, l]) => `| ${n} | ${l.medianMs} | ${l.maxMs} | ${l.flowsRead} | ${l.requests} | ${l.answer} |`), '',
      'Queries: ' + Object.entries(queries).map(([n, q]) => `${n}: \`${q}\``).join('; ') + '.', '',
      `Reproduce: \`scripts/es/start.sh\`, \`npm run build:ts\`, \`node dist/bench/es.js --url ${url} --flows ${total} --runs ${runs} --concurrency ${concurrency}\`.`, '',
    ].join('\n');
    writeFileSync(join(dir, `es-${stamp}.md`), md);
    process.stdout.write(md);
  } finally {
    await deleteUnderPrefix(es.client, settings.indexPrefix);
    await es.close(0);
    rmSync(spillDir, { recursive: true, force: true });
  }
}

// A mistake in the options, or a failure: one line, not a stack trace.
main().catch((err: unknown) => {
  process.stderr.write(`bench es: ${(err as Error)?.message ?? String(err)}\n`);
  process.exitCode = 1;
});
