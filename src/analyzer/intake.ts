/**
 * Where agents' messages enter the analyzer, whatever carried them (UDP datagram, WebSocket
 * frame): store the `flow.Message`'s flows, hand them to the live stream, account for them. A
 * malformed message is counted and dropped; nothing in a message can throw out of `ingest`.
 *
 * The store takes the message's bytes as they are; Flow objects are decoded from it only when
 * `wantsFlows` says someone takes them (decoding costs more than storing).
 */
import type { Flow, Stats } from '../flow/types.js';
import { MessageFormatError, readFlowMessage } from '../format/message-reader.js';
import type { IngestResult, MemoryFlowStore } from '../store/memory.js';
import type { MessageScan } from '../store/record-scan.js';
import { CaptureStatsRegistry } from './capture-stats.js';
import { RateMeter } from './rate-meter.js';

/** What carried a message: an agent's UDP datagram or WebSocket frame, or a capture posted to /api/pcap. */
export type Transport = 'udp' | 'websocket' | 'pcap';
export const TRANSPORTS: readonly Transport[] = ['udp', 'websocket', 'pcap'];

/** Who sent a message: the transport and the agent (X-Host-ID, or the source address). */
export interface Source {
  transport: Transport;
  agent: string;
}

export interface IntakeCounters {
  messages: Record<Transport, number>;
  flows: Record<Transport, number>;
  stats: Record<Transport, number>;
  /**
   * Empty messages: UDP senders probe the analyzer's port with them (transport/udp-sender.ts).
   * Not counted as messages, so that `messages` is what agents sent as flows or Stats.
   */
  probes: Record<Transport, number>;
  /** Messages that were not a valid flow.Message. */
  badMessages: Record<Transport, number>;
  /** WebSocket messages an agent sent again after a reconnection, already stored (skipped). */
  duplicateMessages: number;
  /** Decoded messages whose handling failed (a bug; each one is logged). */
  internalErrors: number;
}

export interface IntakeOptions {
  /** Flows just stored, for the live stream. */
  onFlows?: (flows: Flow[], source: Source) => void;
  /** Whether onFlows has anyone to give flows to now (default: always). */
  wantsFlows?: () => boolean;
  onStats?: (stats: Stats, source: Source) => void;
  /** Why a message was refused (rate-limited by the caller). */
  onBadMessage?: (err: Error, source: Source) => void;
  onInternalError?: (err: Error, source: Source) => void;
  now?: () => number;
}

const perTransport = (): Record<Transport, number> => ({ udp: 0, websocket: 0, pcap: 0 });

/** Sum of a per-transport count. */
export function allTransports(r: Record<Transport, number>): number {
  return TRANSPORTS.reduce((sum, t) => sum + r[t], 0);
}

export class FlowIntake {
  readonly counters: IntakeCounters = {
    messages: perTransport(), flows: perTransport(), stats: perTransport(), probes: perTransport(), badMessages: perTransport(),
    duplicateMessages: 0, internalErrors: 0,
  };
  readonly registry: CaptureStatsRegistry;
  readonly rate: RateMeter;
  private readonly now: () => number;

  constructor(private readonly store: MemoryFlowStore, private readonly opts: IntakeOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.registry = new CaptureStatsRegistry(1024, this.now);
    this.rate = new RateMeter(10, this.now);
  }

  /**
   * Takes one message; returns how many flows it held, or -1 when it was refused. `scan`: the
   * message as a thread that received it scanned it (a well-formed one, without Stats).
   */
  ingest(bytes: Uint8Array, source: Source, scan?: MessageScan): number {
    if (bytes.length === 0) {
      this.counters.probes[source.transport]++;
      return 0;
    }
    let got: IngestResult;
    try {
      got = scan === undefined ? this.store.ingest(bytes, this.now()) : this.store.ingestScan(scan, this.now());
    } catch (err) {
      if (err instanceof MessageFormatError) {
        this.counters.badMessages[source.transport]++;
        this.opts.onBadMessage?.(err, source);
      } else {
        this.internalError(err as Error, source);
      }
      return -1;
    }
    this.counters.messages[source.transport]++;
    const n = got.flows;
    const stats = got.stats;
    try {
      if (n > 0) {
        this.counters.flows[source.transport] += n;
        this.rate.add(n);
        const onFlows = this.opts.onFlows;
        if (onFlows !== undefined && (this.opts.wantsFlows?.() ?? true)) onFlows(readFlowMessage(bytes).flows, source);
      }
      this.registry.addMessage(source.agent, source.transport, n, stats !== undefined);
      if (stats) {
        this.counters.stats[source.transport]++;
        this.registry.addStats(source.agent, stats);
        this.opts.onStats?.(stats, source);
      }
    } catch (err) {
      this.internalError(err as Error, source);
    }
    return n;
  }

  /** A bug, not bad input (the message was well-formed): reported, and the analyzer goes on. */
  private internalError(err: Error, source: Source): void {
    this.counters.internalErrors++;
    this.opts.onInternalError?.(err, source);
  }

  /** A message that could not be a flow.Message at all (a text frame). */
  refuse(source: Source, why: string): void {
    this.counters.badMessages[source.transport]++;
    this.opts.onBadMessage?.(new Error(why), source);
  }
}
