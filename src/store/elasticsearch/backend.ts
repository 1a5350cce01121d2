/**
 * The `elasticsearch` flow backend (analyzer.flow.backend): the writer that stores every flow
 * update, the rollover timer, and history queries, over one client. The in-memory store keeps
 * serving live queries beside it.
 *
 * Opening does not need Elasticsearch to be up: documents wait (memory, then disk) and the
 * indices are created by the first write that reaches it.
 */
import { errors, type Client } from '@elastic/elasticsearch';
import { createClient } from './client.js';
import { HistoryQueries } from './history.js';
import { ensureIndices, IndexNames } from './indices.js';
import { Rollover } from './rollover.js';
import type { ElasticsearchSettings } from './settings.js';
import { SpillQueue } from './spill-queue.js';
import { ElasticsearchWriter, type WriterStats } from './writer.js';

export interface ElasticsearchStats extends WriterStats {
  rollovers: number;
  deletedIndices: number;
}

export interface ElasticsearchBackend {
  readonly client: Client;
  readonly names: IndexNames;
  readonly writer: ElasticsearchWriter;
  readonly history: HistoryQueries;
  readonly rollover: Rollover;
  stats(): ElasticsearchStats;
  /** Whether `err` is the Elasticsearch client's (the node is away or refused), not a bug of ours. */
  isClientError(err: unknown): boolean;
  /** Writes what it can within `drainMs`, keeps the rest on disk for the next start. */
  close(drainMs?: number): Promise<void>;
}

/** How long closing keeps writing before it leaves the rest on disk. */
const DEFAULT_DRAIN_MS = 5000;

export function openElasticsearchBackend(s: ElasticsearchSettings, log: (line: string) => void): ElasticsearchBackend {
  const client = createClient(s);
  const names = new IndexNames(s.indexPrefix);
  let writer: ElasticsearchWriter | undefined;
  let queue: SpillQueue;
  try {
    queue = new SpillQueue({
      dir: s.spillDir, maxMemoryDocs: s.maxBufferDocs, segmentDocs: s.bulkMaxDocs, maxDiskBytes: s.spillMaxBytes,
      onDrop: (count, why) => writer?.dropped(count, why), log,
    });
  } catch (err) {
    throw new Error(`storage.elasticsearch.spill_dir: cannot use ${s.spillDir}: ${(err as Error).message}`);
  }
  if (queue.diskDocs > 0) log(`elasticsearch: ${queue.diskDocs} document(s) left on disk by the previous run will be written first`);
  writer = new ElasticsearchWriter(client, names, queue, {
    bulkMaxDocs: s.bulkMaxDocs, bulkMaxBytes: s.bulkMaxBytes, bulkMaxDelayMs: s.bulkMaxDelayMs, bulkConcurrency: s.bulkConcurrency,
    ensureIndices: (signal) => ensureIndices(client, names, s.totalFieldsLimit, signal),
    log,
  });
  const rollover = new Rollover(client, names, {
    entriesLimit: s.indexEntriesLimit, ageLimitMs: s.indexAgeLimitMs, indicesToKeep: s.indicesToKeep,
    intervalMs: s.rolloverIntervalMs, log,
  });
  const history = new HistoryQueries(client, names, { maxFlows: s.historyMaxFlows, log });
  writer.start();
  rollover.start();
  const w = writer;
  let closing: Promise<void> | undefined;
  return {
    client, names, writer: w, history, rollover,
    stats: () => ({ ...w.stats(), rollovers: rollover.totals.rollovers, deletedIndices: rollover.totals.deleted }),
    isClientError: (err) => err instanceof errors.ElasticsearchClientError,
    close: (drainMs = DEFAULT_DRAIN_MS) => (closing ??= (async () => {
      await rollover.stop();
      await w.close(drainMs);
      queue.close();
      await client.close();
    })()),
  };
}
