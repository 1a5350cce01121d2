/**
 * One batch of documents through the client's bulk helper, which cuts it into requests of at
 * most `flushBytes` and retries the items Elasticsearch answers 429 for. The outcome of every
 * document is sorted here:
 * - written, or stale: a flow document refused because a newer version of it is there (409);
 * - to retry: still 429 after the helper's retries, or a 5xx for that item;
 * - failed for good: any other 4xx (a document the mapping refuses), with the reason.
 * A request that fails as a whole (connection refused, timeout, 5xx) rejects: the caller retries
 * the batch, which is harmless since every document has a fixed id.
 */
import type { Client } from '@elastic/elasticsearch';
import type { DocOp } from './documents.js';
import type { IndexNames } from './indices.js';

export interface BulkOutcome {
  /** Flow documents already stored in a newer version. */
  stale: DocOp[];
  retry: DocOp[];
  failed: Array<{ op: DocOp; status: number; reason: string }>;
}

export interface BulkOptions {
  flushBytes: number;
  /** Times the helper retries 429 items, and how long it waits between (ms). */
  retries: number;
  waitMs: number;
  /** Aborts the requests in flight (shutting down while Elasticsearch hangs). */
  signal?: AbortSignal;
}

export async function sendBulk(client: Client, names: IndexNames, ops: readonly DocOp[], o: BulkOptions): Promise<BulkOutcome> {
  const byKey = new Map<string, DocOp>();
  const key = (index: string, id: string): string => `${index}\u0000${id}`;
  for (const op of ops) byKey.set(key(names.alias(op.kind), op.id), op);
  const retry: DocOp[] = [];
  const failed: BulkOutcome['failed'] = [];
  const stale: DocOp[] = [];
  await client.helpers.bulk<DocOp>({
    datasource: ops as DocOp[],
    onDocument: (op) => {
      const action = op.version === undefined
        ? { index: { _index: names.alias(op.kind), _id: op.id } }
        : { index: { _index: names.alias(op.kind), _id: op.id, version: op.version, version_type: 'external_gte' as const } };
      // A string document is sent as it is (no second serialization).
      return [action, op.doc as unknown as DocOp];
    },
    flushBytes: o.flushBytes,
    retries: o.retries,
    wait: o.waitMs,
    onDrop: (d) => {
      const action = d.operation as { index?: { _index?: string; _id?: string } };
      const op = byKey.get(key(action.index?._index ?? '', action.index?._id ?? ''));
      if (op === undefined) return;
      if (d.status === 409) stale.push(op);
      else if (d.status === 429 || d.status >= 500) retry.push(op);
      else failed.push({ op, status: d.status, reason: d.error ? `${d.error.type}: ${d.error.reason}` : `status ${d.status}` });
    },
  }, o.signal === undefined ? {} : { signal: o.signal });
  return { stale, retry, failed };
}
