/**
 * Closing the writer while Elasticsearch accepts connections but never answers: the requests in
 * flight are aborted at the drain deadline (not request_timeout later), and their documents are
 * kept on disk for the next start.
 */
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../../../src/store/elasticsearch/client.js';
import { IndexNames } from '../../../src/store/elasticsearch/indices.js';
import { SpillQueue } from '../../../src/store/elasticsearch/spill-queue.js';
import { ElasticsearchWriter } from '../../../src/store/elasticsearch/writer.js';
import { makeFlows } from '../../query/flow-fixture.js';

t.test('a hanging Elasticsearch: close() ends at the drain deadline, nothing lost', async (t) => {
  const sockets = new Set<Socket>();
  let requests = 0;
  // Reads requests and never answers.
  const server = createServer((s) => {
    sockets.add(s);
    s.on('data', () => { requests++; });
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'spill-hang-'));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  const client = createClient({ hosts: [`http://127.0.0.1:${port}`], sslInsecure: false, requestTimeoutMs: 60_000 });
  const drops: number[] = [];
  const queue = new SpillQueue({ dir, maxMemoryDocs: 10_000, segmentDocs: 100, maxDiskBytes: 1 << 30, onDrop: (n) => drops.push(n) });
  const writer = new ElasticsearchWriter(client, new IndexNames('hang_'), queue, {
    bulkMaxDocs: 100, bulkMaxBytes: 5_000_000, bulkMaxDelayMs: 10, bulkConcurrency: 2, ensureIndices: async () => {}, log: () => {},
  });
  writer.start();
  const flows = makeFlows(120, 3);
  writer.write(flows);
  const docs = writer.stats().memoryDocs;
  while (requests === 0) await new Promise((r) => setTimeout(r, 20));
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
