/**
 * Rolls the write index of each alias over to a new one when it holds index_entries_limit
 * documents or is index_age_limit old, and then deletes the oldest indices of the kind beyond
 * indices_to_keep (flow-semantics.md §8). Skydive checks every minute; so do we by default
 * (rollover_interval).
 *
 * Skydive reads its age limit as nanoseconds and so never rolls over by age; ours is in
 * minutes, as documented, and given to Elasticsearch as `max_age`, which it measures from the
 * index's creation (docs/compat.md#es-age-rollover).
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { INDEX_KINDS, type IndexKind, type IndexNames } from './indices.js';

export interface RolloverOptions {
  /** 0: no condition. */
  entriesLimit: number;
  ageLimitMs: number;
  /** Indices of each kind kept after a rollover (newest first); 0 keeps all. */
  indicesToKeep: number;
  intervalMs: number;
  log: (line: string) => void;
}

export interface RolloverResult {
  /** The new index of each alias that rolled over. */
  rolled: Partial<Record<IndexKind, string>>;
  deleted: string[];
}

/** At most one log line this often when checks keep failing. */
const LOG_EVERY_MS = 60_000;

export class Rollover {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  /** Aborted by stop(): a check waiting on a cluster that does not answer must not hold the exit. */
  private readonly abort = new AbortController();
  private lastLog = 0;
  /** Rollovers done and indices deleted since start (for /metrics). */
  readonly totals = { rollovers: 0, deleted: 0 };

  constructor(private readonly client: Client, private readonly names: IndexNames, private readonly o: RolloverOptions) {}

  get enabled(): boolean {
    return this.o.entriesLimit > 0 || this.o.ageLimitMs > 0;
  }

  start(): void {
    if (!this.enabled || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      // A check still running (a slow cluster) is not doubled.
      this.running ??= this.check().catch((err: Error) => this.logFailure(err)).finally(() => { this.running = undefined; });
    }, this.o.intervalMs);
    this.timer.unref();
  }

  /** Stops for good: a check in flight is abandoned (the next start checks again). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.running;
  }

  /** One check of every alias; throws when Elasticsearch cannot be asked. */
  async check(): Promise<RolloverResult> {
    const result: RolloverResult = { rolled: {}, deleted: [] };
    if (!this.enabled) return result;
    const conditions: estypes.IndicesRolloverRolloverConditions = {};
    if (this.o.entriesLimit > 0) conditions.max_docs = this.o.entriesLimit;
    if (this.o.ageLimitMs > 0) conditions.max_age = `${this.o.ageLimitMs}ms`;
    const options = { signal: this.abort.signal };
    for (const kind of INDEX_KINDS) {
      const alias = this.names.alias(kind);
      // Not created yet (no write reached Elasticsearch): nothing to roll.
      if (!(await this.client.indices.existsAlias({ name: alias }, options))) continue;
      const r = await this.client.indices.rollover({ alias, conditions }, options);
      if (!r.rolled_over) continue;
      this.totals.rollovers++;
      result.rolled[kind] = r.new_index;
      this.o.log(`elasticsearch: ${alias} rolled over from ${r.old_index} to ${r.new_index}`);
      result.deleted.push(...(await this.deleteOld(kind, options)));
    }
    return result;
  }

  /** Deletes the indices of `kind` beyond the newest indices_to_keep; their names. */
  private async deleteOld(kind: IndexKind, options: { signal: AbortSignal }): Promise<string[]> {
    if (this.o.indicesToKeep <= 0) return [];
    const found = await this.client.indices.get({ index: this.names.pattern(kind), expand_wildcards: ['open', 'closed'] }, options);
    // Names end in a zero-padded counter: reverse lexical order is newest first.
    const old = Object.keys(found).sort().reverse().slice(this.o.indicesToKeep);
    if (old.length === 0) return [];
    await this.client.indices.delete({ index: old.join(',') }, options);
    this.totals.deleted += old.length;
    this.o.log(`elasticsearch: deleted ${old.join(', ')} (indices_to_keep ${this.o.indicesToKeep})`);
    return old;
  }

  private logFailure(err: Error): void {
    if (this.abort.signal.aborted) return;
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.lastLog = now;
    this.o.log(`elasticsearch: rollover check failed: ${err.message}`);
  }
}
