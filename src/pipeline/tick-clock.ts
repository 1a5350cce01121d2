/**
 * Skydive's table timers on packet time (file replay): the update, expire and
 * 30-second connection ticks, scheduled from the first packet on. Every shard
 * runs its own clock over the same stream of records, so all shards tick
 * between the same two packets whatever the batch boundaries.
 */
export interface ReplayTimers {
  /** flow.update in seconds (Skydive default 60). */
  updateSeconds: number;
  /** flow.expire in seconds (Skydive default 600). */
  expireSeconds: number;
}

export interface Tick {
  updateMs?: number;
  expireMs?: number;
  connectionMs?: number;
}

const CONNECTION_TICK_MS = 30_000;

export class TickClock {
  private update = -1;
  private expire = -1;
  private conn = -1;

  constructor(private readonly timers: ReplayTimers) {}

  get started(): boolean { return this.update >= 0; }

  /** Schedules the first ticks from the first packet's time. */
  start(tsMs: number): void {
    if (this.started) return;
    this.update = tsMs + this.timers.updateSeconds * 1000;
    this.expire = tsMs + this.timers.expireSeconds * 1000;
    this.conn = tsMs + CONNECTION_TICK_MS;
  }

  /** Time of the next tick in ms (Infinity before start). */
  get next(): number { return this.started ? Math.min(this.update, this.expire, this.conn) : Infinity; }

  /** The tick due at `next`, advancing the schedule. */
  take(): Tick {
    const at = this.next;
    const tick: Tick = {};
    if (at === this.update) { tick.updateMs = at; this.update += this.timers.updateSeconds * 1000; }
    if (at === this.expire) { tick.expireMs = at; this.expire += this.timers.expireSeconds * 1000; }
    if (at === this.conn) { tick.connectionMs = at; this.conn += CONNECTION_TICK_MS; }
    return tick;
  }
}
