/**
 * Closing the writer while Elasticsearch accepts connections but never answers: the requests in
 * flight (bulk writes, or the index creation before the first write) are aborted at the drain
 * deadline (not request_timeout later), and their documents are kept on disk for the next start.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../../../src/store/elasticsearch/client.js';
import { ensureIndices, IndexNames } from '../../../src/store/elasticsearch/indices.js';
import { SpillQueue } from '../../../src/store/elasticsearch/spill-queue.js';
import { ElasticsearchWriter } from '../../../src/store/elasticsearch/writer.js';
import { makeFlows } from '../../query/flow-fixture.js';
import { hangingServer } from './hanging-server.js';

for (const stage of ['bulk write', 'index creation'] as const) {
t.test(`a hanging Elasticsearch, in the ${stage}: close() ends at the drain deadline, nothing lost`, async (t) => {
  const server = await hangingServer();
  const dir = mkdtempSync(join(tmpdir(), 'spill-hang-'));
  t.teardown(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const client = createClient({ hosts: [server.url], sslInsecure: false, requestTimeoutMs: 60_000 });
  const drops: number[] = [];
  const queue = new SpillQueue({ dir, maxMemoryDocs: 10_000, segmentDocs: 100, maxDiskBytes: 1 << 30, onDrop: (n) => drops.push(n) });
  const names = new IndexNames('hang_');
  const writer = new ElasticsearchWriter(client, names, queue, {
    bulkMaxDocs: 100, bulkMaxBytes: 5_000_000, bulkMaxDelayMs: 10, bulkConcurrency: 2, log: () => {},
    ensureIndices: stage === 'bulk write' ? async () => {} : (signal) => ensureIndices(client, names, 1000, signal),
  });
  writer.start();
  const flows = makeFlows(120, 3);
  writer.write(flows);
  const docs = writer.stats().memoryDocs;
  while (server.requests() === 0) await new Promise((r) => setTimeout(r, 20));
  const began = Date.now();
  await writer.close(300);
  const took = Date.now() - began;
  t.ok(took < 3000, `closed in ${took} ms, not request_timeout (60 s)`);
  queue.close();
  await client.close();
  t.strictSame(drops, []);
  const next = new SpillQueue({ dir, maxMemoryDocs: 10_000, segmentDocs: 100, maxDiskBytes: 1 << 30, onDrop: () => {} });
  t.equal(next.diskDocs, docs, 'every document is on disk for the next start');
  next.close();
});
}
