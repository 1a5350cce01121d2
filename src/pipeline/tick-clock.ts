/**
 * Skydive's table timers on packet time (file replay): the update, expire and
 * 30-second connection ticks, scheduled from the first packet on. Every shard
 * runs its own clock over the same stream of records, so all shards tick
 * between the same two packets whatever the batch boundaries.
 *
 * Packet time may jump (a capture paused for days, a record stamped 0 among
 * others of today): the ticks between two records far apart are not run one
 * by one. Once no record has come for long enough, a run of ticks changes
 * nothing but the times the table keeps of its last ticks (see skipIdle), so
 * only the last ticks of the run are taken: a gap of any size costs a bounded
 * number of ticks, and the flows are the same as with every tick run.
 */
export interface ReplayTimers {
  /** flow.update in seconds (Skydive default 60). */
  updateSeconds: number;
  /** flow.expire in seconds (Skydive default 600). */
  expireSeconds: number;
  /** Take every tick, even through a gap in packet time (tests compare both). */
  everyTick?: boolean;
}

export interface Tick {
  updateMs?: number;
  expireMs?: number;
  connectionMs?: number;
}

export const CONNECTION_TICK_MS = 30_000;

export class TickClock {
  private update = -1;
  private expire = -1;
  private conn = -1;
  private readonly updateMs: number;
  private readonly expireMs: number;

  // Since the last records fed (noteRecords): the time of the first tick after them, and the
  // ticks taken since. Every record fed so far is older than `idleFrom` (a record at or past
  // the next tick is fed only once that tick has run).
  private recordsSinceTick = false;
  private idleFrom = -Infinity;
  private idleUpdates = 0;
  private lastIdleUpdate = -Infinity;
  private idleExpires = 0;
  private idleConnDone = false;

  /**
   * `settleMs`: how long after its last packet an update tick may still remove a flow (the
   * longest application timeout, the hold of finished flows: FlowEngine.updateRemovalMs).
   */
  constructor(private readonly timers: ReplayTimers, private readonly settleMs = Infinity) {
    this.updateMs = timers.updateSeconds * 1000;
    this.expireMs = timers.expireSeconds * 1000;
  }

  get started(): boolean { return this.update >= 0; }

  /** Schedules the first ticks from the first packet's time. */
  start(tsMs: number): void {
    if (this.started) return;
    this.update = tsMs + this.updateMs;
    this.expire = tsMs + this.expireMs;
    this.conn = tsMs + CONNECTION_TICK_MS;
  }

  /** Time of the next tick in ms (Infinity before start). */
  get next(): number { return this.started ? Math.min(this.update, this.expire, this.conn) : Infinity; }

  /** Records went into the table since the last tick. */
  noteRecords(): void { this.recordsSinceTick = true; }

  /** The tick due at `next`, advancing the schedule. */
  take(): Tick {
    const at = this.next;
    if (this.recordsSinceTick) {
      this.recordsSinceTick = false;
      this.idleFrom = at;
      this.idleUpdates = 0;
      this.lastIdleUpdate = -Infinity;
      this.idleExpires = 0;
      this.idleConnDone = false;
    }
    const tick: Tick = {};
    if (at === this.update) {
      tick.updateMs = at;
      this.update += this.updateMs;
      this.idleUpdates++;
      this.lastIdleUpdate = at;
    }
    if (at === this.expire) {
      tick.expireMs = at;
      this.expire += this.expireMs;
      this.idleExpires++;
    }
    if (at === this.conn) {
      tick.connectionMs = at;
      this.conn += CONNECTION_TICK_MS;
      if (at - CONNECTION_TICK_MS >= this.idleFrom) this.idleConnDone = true;
    }
    return tick;
  }

  /**
   * Before the ticks due by `untilMs` (the time of the next record) are taken: skips those that
   * would change nothing, so that at most the last two update ticks, the last connection tick
   * and the last expire tick of a quiet stretch are left to take. With no record since
   * `idleFrom` (every flow last seen before it):
   * - an update tick removes the flows that application timeouts or the hold of finished flows
   *   let go: once two update ticks have run, the last at least `settleMs` after `idleFrom`,
   *   every such flow is gone, and later update ticks only set the window of the remaining
   *   flows' LastUpdateMetric (from the previous update tick to this one) and the table's last
   *   update time, which the last two give as all of them would;
   * - once a connection tick has run 30 s after `idleFrom`, every TCP stream is flushed and the
   *   defragmenter's counters cleared: later connection ticks do nothing;
   * - the first expire tick at or after `idleFrom` sets the limit past every flow's Last, the
   *   second empties the table: later ones only set the table's last expire time.
   * The connection ticks until then are taken, and the first two expire ticks, each with the
   * last two update ticks before it; of the ticks after, the last of each kind.
   */
  skipIdle(untilMs: number): void {
    if (this.timers.everyTick || this.recordsSinceTick) return;
    if (this.idleUpdates < 2 || this.lastIdleUpdate < this.idleFrom + this.settleMs) return;
    // Settled update ticks are skipped up to the next expire tick that may still remove flows
    // (which it writes with their LastUpdateMetric); connection ticks neither read nor change
    // what they do.
    const horizon = this.idleExpires < 2 ? Math.min(untilMs, this.expire) : untilMs;
    this.update = keepLast(this.update, this.updateMs, horizon, 2);
    if (this.idleConnDone) this.conn = keepLast(this.conn, CONNECTION_TICK_MS, horizon, 1);
    if (this.idleExpires >= 2) this.expire = keepLast(this.expire, this.expireMs, horizon, 1);
  }
}

/** The tick of a schedule (next at `next`, every `period`) from which `keep` are left at or before `horizon`. */
function keepLast(next: number, period: number, horizon: number, keep: number): number {
  if (next > horizon) return next;
  const due = Math.floor((horizon - next) / period) + 1;
  return due > keep ? next + (due - keep) * period : next;
}
