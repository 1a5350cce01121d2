/**
 * Stopping the rollover checks while Elasticsearch accepts connections but never answers: the
 * check in flight is abandoned at once (not request_timeout later), without a failure logged.
 */
import t from 'tap';
import { createClient } from '../../../src/store/elasticsearch/client.js';
import { IndexNames } from '../../../src/store/elasticsearch/indices.js';
import { Rollover } from '../../../src/store/elasticsearch/rollover.js';
import { hangingServer } from './hanging-server.js';

t.test('a hanging Elasticsearch: stop() does not wait for the check in flight', async (t) => {
  const server = await hangingServer();
  const client = createClient({ hosts: [server.url], sslInsecure: false, requestTimeoutMs: 60_000 });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  const logged: string[] = [];
  const rollover = new Rollover(client, new IndexNames('hang_'), {
    entriesLimit: 1000, ageLimitMs: 0, indicesToKeep: 2, intervalMs: 20, log: (line) => logged.push(line),
  });
  rollover.start();
  while (server.requests() === 0) await new Promise((r) => setTimeout(r, 10));
  const began = Date.now();
  await rollover.stop();
  const took = Date.now() - began;
  t.ok(took < 3000, `stopped in ${took} ms, not request_timeout (60 s)`);
  t.strictSame(logged, [], 'an abandoned check is not a failure to report');
  t.strictSame(rollover.totals, { rollovers: 0, deleted: 0 });
});
