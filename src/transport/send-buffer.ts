/**
 * What an agent holds for the analyzer: messages not yet sent, and messages sent but not yet
 * acknowledged (they go again after a reconnection). Bounded by a number of flows: when a new
 * message would pass the bound, the oldest messages not yet sent are dropped to make room (the
 * newest state of the flows is what matters), and only if that is not enough is the new
 * message itself dropped. Every dropped flow is counted. While the analyzer takes flows, the
 * bound is higher by a tick's worth (`surge`): an update tick hands over a whole table at once,
 * faster than any link drains it, and none of it should be lost while the analyzer is there.
 *
 * Sent messages carry a sequence number, given when they are first sent: 1, 2, 3... for the
 * life of the buffer, with no gaps, so that an analyzer acknowledging "everything up to n"
 * (transport/ws-sender.ts) identifies them exactly.
 */
import { Deque } from './deque.js';

export interface Outgoing {
  data: Buffer;
  /** Flows in the message (a Stats message counts as 1 towards the bound, 0 flows). */
  flows: number;
  weight: number;
  /** 0 until first sent. */
  seq: number;
}

export interface SendBufferCounters {
  /** Flows given to the buffer. */
  flowsIn: number;
  /** Flows acknowledged by the analyzer (or written, when it does not acknowledge). */
  flowsDelivered: number;
  /** Flows dropped because the buffer was full. */
  flowsDropped: number;
  /** Stats messages dropped for the same reason. */
  statsDropped: number;
}

export class SendBuffer {
  /** Sent, waiting for acknowledgement, in sequence order. */
  private readonly sent = new Deque<Outgoing>();
  private readonly unsent = new Deque<Outgoing>();
  private weight = 0;
  private nextSeq = 1;
  /** Index in `sent` of the next message to send again on the current connection. */
  private resendAt = 0;
  readonly counters: SendBufferCounters = { flowsIn: 0, flowsDelivered: 0, flowsDropped: 0, statsDropped: 0 };

  /** Callers of whenDrained, woken by settleDrained once nothing is held. */
  private drainWaiters: (() => void)[] = [];

  /**
   * Whether the analyzer takes what is sent (the senders set it): then the buffer holds up to
   * `surge` flows more (a tick's flows, being sent), and drops only beyond that.
   */
  accepting = false;

  constructor(readonly maxWeight: number, private readonly surge = 0) {}

  /** Resolves once nothing is held (see settleDrained), or after `timeoutMs`. */
  whenDrained(timeoutMs: number): Promise<void> {
    if (this.empty) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drainWaiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  /** Wakes the whenDrained callers if nothing is held; the senders call it after each delivery. */
  settleDrained(): void {
    if (this.empty) for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /** Flows (and Stats) held, sent or not. */
  get held(): number {
    return this.weight;
  }

  get empty(): boolean {
    return this.sent.length === 0 && this.unsent.length === 0;
  }

  /** Sequence number of the first message the next connection sends. */
  get firstSeq(): number {
    return this.sent.peek()?.seq ?? this.nextSeq;
  }

  /** Adds a message of `flows` flows (0: a Stats message). Returns the flows dropped to make room. */
  push(data: Buffer, flows: number): number {
    const weight = Math.max(flows, 1);
    this.counters.flowsIn += flows;
    let dropped = 0;
    const bound = this.accepting ? this.maxWeight + this.surge : this.maxWeight;
    while (this.weight + weight > bound && this.unsent.length > 0) dropped += this.drop(this.unsent.shift()!);
    if (this.weight + weight > bound) return dropped + this.drop({ data, flows, weight, seq: 0 }, false);
    this.unsent.push({ data, flows, weight, seq: 0 });
    this.weight += weight;
    return dropped;
  }

  /** A new connection: every unacknowledged message will be sent again, in order. */
  restart(): void {
    this.resendAt = 0;
  }

  /** The next message to send on this connection (numbered on its first sending), or undefined. */
  next(): Outgoing | undefined {
    if (this.resendAt < this.sent.length) return this.sent.at(this.resendAt++);
    const m = this.unsent.shift();
    if (!m) return undefined;
    m.seq = this.nextSeq++;
    this.sent.push(m);
    this.resendAt++;
    return m;
  }

  /** The analyzer has every message up to `seq`. */
  ack(seq: number): void {
    for (let m = this.sent.peek(); m && m.seq <= seq; m = this.sent.peek()) {
      this.sent.shift();
      this.resendAt = Math.max(0, this.resendAt - 1);
      this.weight -= m.weight;
      this.counters.flowsDelivered += m.flows;
    }
  }

  /** Drops everything held (at stop); returns the flows dropped. */
  dropAll(): number {
    let n = 0;
    for (let m = this.sent.shift(); m; m = this.sent.shift()) n += this.drop(m);
    for (let m = this.unsent.shift(); m; m = this.unsent.shift()) n += this.drop(m);
    this.resendAt = 0;
    return n;
  }

  private drop(m: Outgoing, held = true): number {
    if (held) this.weight -= m.weight;
    if (m.flows === 0) this.counters.statsDropped++;
    this.counters.flowsDropped += m.flows;
    return m.flows;
  }
}
