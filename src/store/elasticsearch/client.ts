/**
 * The @elastic/elasticsearch client for our settings. The 8.x client sends
 * `compatible-with=8` headers, which ES 8 and ES 9 servers both accept.
 */
import { Client } from '@elastic/elasticsearch';
import type { ElasticsearchSettings } from './settings.js';

export function createClient(s: Pick<ElasticsearchSettings, 'hosts' | 'username' | 'password' | 'sslInsecure' | 'requestTimeoutMs'>): Client {
  return new Client({
    nodes: s.hosts,
    auth: s.username !== undefined && s.password !== undefined ? { username: s.username, password: s.password } : undefined,
    tls: s.sslInsecure ? { rejectUnauthorized: false } : undefined,
    requestTimeout: s.requestTimeoutMs,
    // The writer retries whole batches itself, with backoff and disk spill: a failed request
    // should come back quickly instead of being retried here against a node that is down.
    maxRetries: 1,
  });
}
