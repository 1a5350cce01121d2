/**
 * How an agent's flows reach an analyzer (skydive-api.md §1.3, flow-semantics.md §5): protobuf
 * `flow.Message`s over UDP (one flow a datagram, Skydive's default) or over WebSocket
 * (`/ws/agent/flow`, several flows a message). Both hold what the analyzer cannot take yet in
 * a bounded buffer (send-buffer.ts), keep trying to reach it forever, and count what they drop.
 *
 * The tables' flows arrive as protobuf records (the `protobuf` shard format); they are framed
 * into Messages without being decoded again (format/message-frame.ts).
 */
import type { Stats } from '../flow/types.js';
import type { HostPort } from '../net/host-port.js';
import type { SendBuffer, SendBufferCounters } from './send-buffer.js';

export interface SenderCounters extends SendBufferCounters {
  /** Connected now (WebSocket), or the analyzer's port answering (UDP). */
  connected: boolean;
  /** Successful connections (WebSocket) or returns of the analyzer (UDP). */
  connections: number;
  /** Messages written to the network. */
  messagesSent: number;
  /** Flows held now. */
  held: number;
}

export interface FlowSender {
  /** Length-delimited Flow records, as the flow tables give them. */
  sendRecords(records: readonly Uint8Array[]): void;
  sendStats(stats: Stats): void;
  readonly counters: SenderCounters;
  /**
   * Stops taking flows, tries for at most `timeoutMs` to deliver what is held, then drops the
   * rest (counted and logged) and closes.
   */
  close(timeoutMs: number): Promise<void>;
}

export interface SenderOptions {
  /** The `analyzers` list; one is picked at random, the next one after a failure. */
  analyzers: HostPort[];
  hostId: string;
  /** agent.flow.send_buffer: flows held at most while no analyzer takes them. */
  maxBufferedFlows: number;
  /**
   * While the analyzer takes flows, room for this many more: what the flow tables may hand over
   * at one tick (flow.max_entries per table), so that a tick's flows go whole rather than push
   * each other out of the buffer. 0 by default.
   */
  surgeFlows?: number;
  log: (line: string) => void;
  /** Reconnection delays: doubling from min to max (ms). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

/** Reconnection delay after `attempt` failures: doubling, capped, with ±20% jitter. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(attempt - 1, 0), 20));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Index of the first analyzer to try. */
export function firstAnalyzer(count: number): number {
  return Math.floor(Math.random() * count);
}

const DROP_LOG_MS = 10_000;

/**
 * Logs the flows a full send buffer dropped: at most one line every DROP_LOG_MS, with the
 * count since the last line, so that an analyzer away for long does not flood the log.
 */
export class DropReporter {
  private lastLog = 0;
  private sinceLog = 0;

  constructor(private readonly opts: SenderOptions, private readonly buffer: SendBuffer,
              private readonly target: () => string) {}

  add(flows: number): void {
    if (flows === 0) return;
    this.sinceLog += flows;
    const now = Date.now();
    if (now - this.lastLog < DROP_LOG_MS) return;
    this.opts.log(`analyzer ${this.target()}: send buffer full (agent.flow.send_buffer ${this.opts.maxBufferedFlows} flows): ` +
      `${this.sinceLog} flow(s) dropped, ${this.buffer.counters.flowsDropped} in all`);
    this.lastLog = now;
    this.sinceLog = 0;
  }
}
