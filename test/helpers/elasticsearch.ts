/**
 * Test helper: the Elasticsearch node the tests write to (SKYDIVE_TEST_ES_URL, set by .ci/run
 * after scripts/es/start.sh). A test that needs it fails in CI when there is none, and is
 * skipped elsewhere with a message saying how to get one. Each test file works under its own
 * index prefix and removes its indices and templates at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import type { Test } from 'tap';
import { deleteUnderPrefix } from '../../src/store/elasticsearch/indices.js';
import type { ElasticsearchSettings } from '../../src/store/elasticsearch/settings.js';

const HOW = 'start one with scripts/es/start.sh and set SKYDIVE_TEST_ES_URL to the URL it prints';

/** Whether a node answers at `url`. */
export async function reachable(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(5000) });
    return r.ok;
  } catch {
    return false;
  }
}

/**
 * The test node's URL, or undefined after failing (CI) or skipping (elsewhere) `t` with the
 * reason; callers then define no test.
 */
export async function testElasticsearchURL(t: Test): Promise<string | undefined> {
  const url = process.env.SKYDIVE_TEST_ES_URL;
  const why = url === undefined ? `SKYDIVE_TEST_ES_URL is not set: ${HOW}` : (await reachable(url)) ? undefined : `no Elasticsearch answers at ${url}: ${HOW}`;
  if (why === undefined) return url;
  if (process.env.CI) t.fail(`Elasticsearch is required in CI: ${why}`);
  else t.skip(`needs Elasticsearch: ${why}`);
  return undefined;
}

/** Backend settings for a test: its own prefix and spill directory, small batches, fast flushes. */
export function testSettings(t: Test, url: string, over: Partial<ElasticsearchSettings> = {}): ElasticsearchSettings {
  const prefix = `skt_${process.pid}_${Math.floor(Math.random() * 1e6)}_`;
  const spillDir = mkdtempSync(join(tmpdir(), 'skydive-es-spill-'));
  const settings: ElasticsearchSettings = {
    hosts: [url], sslInsecure: false, indexPrefix: prefix, totalFieldsLimit: 1000,
    bulkMaxDocs: 500, bulkMaxBytes: 5_000_000, bulkMaxDelayMs: 100, bulkConcurrency: 4, requestTimeoutMs: 30_000,
    indexEntriesLimit: 0, indexAgeLimitMs: 0, indicesToKeep: 0, rolloverIntervalMs: 60_000,
    maxBufferDocs: 100_000, spillDir, spillMaxBytes: 1 << 30, historyMaxFlows: 10_000, ...over,
  };
  t.teardown(async () => {
    rmSync(spillDir, { recursive: true, force: true });
    await dropPrefix(url, settings.indexPrefix);
  });
  return settings;
}

/** Deletes the indices and index templates under `prefix`. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const client = new Client({ node: url });
  try {
    await deleteUnderPrefix(client, prefix);
  } finally {
    await client.close();
  }
}
