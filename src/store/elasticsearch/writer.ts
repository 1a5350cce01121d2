/**
 * Writes flow updates to Elasticsearch without losing any while it is down, slow or refusing
 * work: documents wait in a SpillQueue (memory, then disk), and up to bulk_concurrency batches
 * are sent at once, each until every document of it is written or has failed for good; a failed
 * attempt waits (with growing delays) and tries again. A batch goes out when bulk_max_docs
 * documents wait, or bulk_maxdelay after the first of them arrived, or at once while older
 * batches are on disk.
 *
 * Batches in flight together may land in any order. That is safe because every document has a
 * fixed id and flow documents carry their Last as an external version: an older update of a
 * flow that arrives after a newer one is refused (409, counted as stale), never stored over it.
 *
 * Only documents Elasticsearch refuses for good (a mapping error) or that the disk budget
 * cannot hold are dropped; both are counted (stats) and logged.
 */
import type { Client } from '@elastic/elasticsearch';
import type { Flow } from '../../flow/types.js';
import { sendBulk } from './bulk.js';
import { flowOps, type DocOp } from './documents.js';
import type { IndexNames } from './indices.js';
import type { Batch, SpillQueue } from './spill-queue.js';

export interface WriterOptions {
  bulkMaxDocs: number;
  bulkMaxBytes: number;
  bulkMaxDelayMs: number;
  /** Batches in flight at once (one worker each). */
  bulkConcurrency: number;
  /**
   * Creates the templates and first indices; called before the first write and after failures.
   * Its requests end when `signal` aborts (the drain deadline).
   */
  ensureIndices: (signal: AbortSignal) => Promise<void>;
  log: (line: string) => void;
}

export interface WriterStats {
  /** Documents Elasticsearch took, by kind. */
  written: Record<DocOp['kind'], number>;
  /** Flow documents skipped because a newer version was stored already. */
  stale: number;
  /** Documents given up (mapping errors, full disk budget). */
  dropped: number;
  /** Bulk attempts that failed as a whole, and documents sent again. */
  failedAttempts: number;
  retriedDocs: number;
  memoryDocs: number;
  diskDocs: number;
  diskBytes: number;
  /** Whether the last attempt reached Elasticsearch. */
  connected: boolean;
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;
/** At most one log line this often for repeated failures. */
const LOG_EVERY_MS = 10_000;
/** 429 items: the helper retries them this many times, this far apart, before we take over. */
const HELPER_RETRIES = 2;
const HELPER_WAIT_MS = 500;

export class ElasticsearchWriter {
  private readonly counters = {
    written: { flow: 0, metric: 0 }, stale: 0, dropped: 0, failedAttempts: 0, retriedDocs: 0,
  };
  private connected = false;
  private indicesReady = false;
  private stopping = false;
  private drainUntil = 0;
  /** End the workers' waits for documents (new documents, or closing). */
  private readonly wakers = new Set<() => void>();
  /** End backoffs (closing only: new documents must not hurry a retry against a failing node). */
  private readonly backoffWakers = new Set<() => void>();
  private readonly inflight = new Set<Batch>();
  private loop: Promise<void> | undefined;
  /** Aborted at the drain deadline: a request Elasticsearch never answers must not hold the exit. */
  private readonly abort = new AbortController();
  private lastLog = 0;

  constructor(
    private readonly client: Client,
    private readonly names: IndexNames,
    private readonly queue: SpillQueue,
    private readonly o: WriterOptions,
  ) {}

  /** Called by the queue when it gives documents up; counted and logged here. */
  dropped(count: number, why: string): void {
    this.counters.dropped += count;
    this.o.log(`elasticsearch: dropped ${count} document(s): ${why}`);
  }

  start(): void {
    this.loop ??= Promise.all(Array.from({ length: Math.max(1, this.o.bulkConcurrency) }, () => this.run())).then(() => undefined);
  }

  /** Queues the documents of these flow updates (returns at once). */
  write(flows: readonly Flow[]): void {
    const ops: DocOp[] = [];
    for (const f of flows) flowOps(f, ops);
    this.queue.push(ops);
    if (this.queue.memoryDocs >= this.o.bulkMaxDocs || this.queue.hasSegments) this.poke();
  }

  stats(): WriterStats {
    let memoryInflight = 0;
    let diskInflight = 0;
    for (const b of this.inflight) {
      if (b.segment === undefined) memoryInflight += b.ops.length;
      else diskInflight += b.ops.length;
    }
    return {
      written: { ...this.counters.written }, stale: this.counters.stale, dropped: this.counters.dropped,
      failedAttempts: this.counters.failedAttempts, retriedDocs: this.counters.retriedDocs,
      memoryDocs: this.queue.memoryDocs + memoryInflight,
      diskDocs: this.queue.diskDocs + diskInflight,
      diskBytes: this.queue.diskBytes, connected: this.connected,
    };
  }

  /** Resolves once nothing waits in memory or on disk (tests and the bench). */
  async drained(): Promise<void> {
    while (this.queue.memoryDocs > 0 || this.queue.hasSegments || this.inflight.size > 0) {
      this.poke();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Stops: keeps writing for up to `drainMs` (everything, without waiting for the time flush),
   * then puts whatever is left on disk for the next start.
   */
  async close(drainMs: number): Promise<void> {
    this.drainUntil = Date.now() + drainMs;
    this.stopping = true;
    this.poke();
    for (const w of [...this.backoffWakers]) w();
    // Requests still in flight then are aborted; their batches stay in flight and go to disk.
    const deadline = setTimeout(() => this.abort.abort(), Math.max(0, drainMs));
    try {
      await this.loop;
    } finally {
      clearTimeout(deadline);
    }
    this.queue.persist([...this.inflight]);
    this.inflight.clear();
  }

  private poke(): void {
    const all = [...this.wakers];
    this.wakers.clear();
    for (const w of all) w();
  }

  private draining(): boolean {
    return this.stopping && Date.now() < this.drainUntil;
  }

  /** Waits for a reason to send: a full batch, the time flush, disk segments, or stopping. */
  private async ready(): Promise<boolean> {
    for (;;) {
      if (this.stopping) return this.draining() && (this.queue.memoryDocs > 0 || this.queue.hasSegments);
      if (this.queue.hasSegments || this.queue.memoryDocs >= this.o.bulkMaxDocs) return true;
      const age = this.queue.memoryAgeMs();
      if (this.queue.memoryDocs > 0 && age >= this.o.bulkMaxDelayMs) return true;
      const waitMs = this.queue.memoryDocs > 0 ? this.o.bulkMaxDelayMs - age : this.o.bulkMaxDelayMs;
      await sleep(waitMs, this.wakers);
    }
  }

  /** One worker: takes a batch, delivers it, acknowledges it, and again. */
  private async run(): Promise<void> {
    while (await this.ready()) {
      const batch = this.queue.take(this.o.bulkMaxDocs);
      if (batch === undefined) continue;
      this.inflight.add(batch);
      // Stopped before it was written: close() keeps it on disk.
      if (!(await this.deliver(batch))) return;
      this.queue.ack(batch);
      this.inflight.delete(batch);
    }
  }

  /** Sends until every document is written or failed for good; false when stopped first. */
  private async deliver(batch: Batch): Promise<boolean> {
    let pending: readonly DocOp[] = batch.ops;
    let backoff = BACKOFF_MIN_MS;
    for (;;) {
      if (this.stopping && !this.draining()) return false;
      try {
        if (!this.indicesReady) {
          await this.o.ensureIndices(this.abort.signal);
          this.indicesReady = true;
        }
        const r = await sendBulk(this.client, this.names, pending, {
          flushBytes: this.o.bulkMaxBytes, retries: HELPER_RETRIES, waitMs: HELPER_WAIT_MS, signal: this.abort.signal,
        });
        this.connected = true;
        const notWritten = new Set<DocOp>([...r.retry, ...r.stale, ...r.failed.map((f) => f.op)]);
        for (const op of pending) if (!notWritten.has(op)) this.counters.written[op.kind]++;
        this.counters.stale += r.stale.length;
        if (r.failed.length > 0) {
          this.dropped(r.failed.length, `refused by Elasticsearch, e.g. ${r.failed[0].op.kind} ${r.failed[0].op.id}: ${r.failed[0].reason}`);
        }
        if (r.retry.length === 0) return true;
        this.counters.retriedDocs += r.retry.length;
        pending = r.retry;
        this.logFailure(`${r.retry.length} document(s) to retry (Elasticsearch busy or failing)`);
      } catch (err) {
        // Aborted at the drain deadline: close() keeps the batch on disk.
        if (this.abort.signal.aborted) return false;
        this.connected = false;
        this.counters.failedAttempts++;
        this.counters.retriedDocs += pending.length;
        // The templates may be gone too (a new cluster behind the same address).
        this.indicesReady = false;
        this.logFailure(`bulk write failed, retrying: ${(err as Error).message}`);
      }
      await sleep(backoff, this.backoffWakers);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }

  private logFailure(line: string): void {
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.lastLog = now;
    const s = this.stats();
    this.o.log(`elasticsearch: ${line} (${s.memoryDocs} document(s) waiting in memory, ${s.diskDocs} on disk)`);
  }
}

/** Waits `ms`, or less if one of `wakers` (which this adds itself to) is called first. */
function sleep(ms: number, wakers: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      wakers.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    wakers.add(done);
  });
}
