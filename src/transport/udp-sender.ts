/**
 * Flows to the analyzer over UDP (Skydive's default `flow.protocol: udp`): `flow.Message`s to
 * the analyzer's host and port, Stats in datagrams of their own. Skydive's agent puts one flow
 * in a datagram; here consecutive flows share a datagram up to `maxDatagramBytes`
 * (agent.flow.udp_datagram_bytes, docs/compat.md#udp-datagrams): the receiving side's cost is
 * mostly per datagram, so at one flow a datagram an analyzer tops out (and the kernel drops
 * what it cannot take) far below what it stores. 0 sends one flow a datagram, as Skydive.
 *
 * Pacing: an update tick hands over a whole table's flows at once, and UDP has no flow control:
 * sent as fast as the socket takes them, they overflow the analyzer's receive buffer (a few MB)
 * within milliseconds and the kernel drops the rest. So flows leave at most at `maxFlowsPerSecond`
 * (agent.flow.udp_max_rate, docs/compat.md#udp-datagrams), in bursts of 20 ms worth; 0 sends
 * as fast as the socket takes them, as Skydive.
 *
 * UDP says nothing about delivery. What can be known is when the analyzer's port is closed: the
 * kernel then answers ICMP "port unreachable", which the connected socket reports as
 * ECONNREFUSED. From then on flows are held (bounded, like the WebSocket sender) and the port
 * is probed with empty datagrams (an empty Message: no flow for any analyzer) until it answers
 * no more refusals; then the held flows go. The datagrams sent between the analyzer's going
 * away and the first refusal (one round trip) are lost without anyone knowing: use
 * `flow.protocol: websocket` where every flow must arrive.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Stats } from '../flow/types.js';
import { messageOfRecords, messageOfStats } from '../format/message-frame.js';
import { formatHostPort } from '../net/host-port.js';
import { SendBuffer } from './send-buffer.js';
import { backoffDelay, DropReporter, firstAnalyzer, type FlowSender, type SenderCounters, type SenderOptions } from './sender.js';

/** Datagrams handed to the socket and not yet sent, at most. */
const IN_FLIGHT = 64;
/** How long a probe waits for a refusal before the port counts as open again. */
const PROBE_WAIT_MS = 250;

export interface UDPSenderOptions extends SenderOptions {
  /** Largest datagram payload holding several flows; 0: one flow a datagram. */
  maxDatagramBytes?: number;
  /** Flows sent per second at most; 0: no pacing. */
  maxFlowsPerSecond?: number;
}

/** Pacing bursts: this many milliseconds' worth of flows at once. */
const PACE_BURST_MS = 20;

export class UDPFlowSender implements FlowSender {
  private readonly buffer: SendBuffer;
  private socket: dgram.Socket | undefined;
  private target: number;
  /** The socket is connected and no refusal came since the last probe. */
  private up = false;
  /** The socket's connect succeeded (its address resolved). */
  private connected = false;
  /** Bumped at every refusal: send callbacks of an older epoch do not acknowledge. */
  private epoch = 0;
  private inFlight = 0;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Flows that may leave now (pacing), and when that was computed. */
  private tokens = 0;
  private tokensAt = 0;
  private paceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private connections = 0;
  private messagesSent = 0;
  private readonly drops: DropReporter;

  constructor(private readonly opts: UDPSenderOptions) {
    if (opts.analyzers.length === 0) throw new Error('no analyzer to send flows to');
    this.buffer = new SendBuffer(opts.maxBufferedFlows, opts.surgeFlows);
    this.drops = new DropReporter(opts, this.buffer, () => this.targetText());
    this.target = firstAnalyzer(opts.analyzers.length);
    this.open();
  }

  get counters(): SenderCounters {
    return {
      ...this.buffer.counters, connected: this.up, connections: this.connections,
      messagesSent: this.messagesSent, held: this.buffer.held,
    };
  }

  sendRecords(records: readonly Uint8Array[]): void {
    if (this.closed) return;
    const max = this.opts.maxDatagramBytes ?? 0;
    let dropped = 0;
    // Each record costs its bytes and a field key byte (message-frame.ts).
    for (let i = 0; i < records.length;) {
      let end = i + 1;
      let size = records[i].length + 1;
      while (end < records.length && size + records[end].length + 1 <= max) size += records[end++].length + 1;
      dropped += this.buffer.push(messageOfRecords(end === i + 1 ? [records[i]] : records.slice(i, end)), end - i);
      i = end;
    }
    this.drops.add(dropped);
    this.pump();
  }

  sendStats(stats: Stats): void {
    if (this.closed) return;
    this.buffer.push(messageOfStats(stats), 0);
    this.pump();
  }

  async close(timeoutMs: number): Promise<void> {
    await this.buffer.whenDrained(timeoutMs);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.paceTimer) clearTimeout(this.paceTimer);
    const dropped = this.buffer.dropAll();
    if (dropped > 0) this.opts.log(`analyzer ${this.targetText()}: ${dropped} flow(s) not sent at stop (its UDP port refused them)`);
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private targetText(): string {
    return formatHostPort(this.opts.analyzers[this.target % this.opts.analyzers.length]);
  }

  /** A new socket connected to the current target, probed at once. */
  private open(): void {
    if (this.closed) return;
    const { host, port } = this.opts.analyzers[this.target % this.opts.analyzers.length];
    const socket = dgram.createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    this.socket = socket;
    this.connected = false;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (socket !== this.socket) return;
      this.down(err.code === 'ECONNREFUSED' ? 'its UDP port is closed' : err.message);
    });
    // The port is probed before the first flow goes: an analyzer not there yet costs no flow.
    socket.connect(port, host, (err?: Error) => {
      if (socket !== this.socket) return;
      // A name that does not resolve: said, and tried again after the backoff (with the next analyzer).
      if (err) {
        this.down(`cannot reach it: ${err.message}`);
        return;
      }
      this.connected = true;
      this.probe();
    });
  }

  /**
   * The analyzer refused (or the socket failed): hold flows, try again after a backoff: the next
   * analyzer when there are several (README: flows go to the next one when one fails), else the
   * same port, probed again.
   */
  private down(why: string): void {
    this.epoch++;
    this.buffer.restart();
    if (!this.up && this.timer) return;
    const wasUp = this.up;
    this.up = false;
    this.buffer.accepting = false;
    if (wasUp || this.attempt === 0) this.opts.log(`analyzer ${this.targetText()}: ${why}; holding flows (at most ${this.opts.maxBufferedFlows}) and retrying`);
    this.attempt++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.retry(), backoffDelay(this.attempt, this.opts.backoffMinMs ?? 200, this.opts.backoffMaxMs ?? 5000));
  }

  private retry(): void {
    this.timer = undefined;
    if (this.closed) return;
    if (this.opts.analyzers.length === 1 && this.connected) {
      this.probe();
      return;
    }
    if (this.opts.analyzers.length > 1) this.target++;
    this.socket?.close();
    this.open();
  }

  /** An empty datagram; if no refusal follows, the port is open again. */
  private probe(): void {
    this.timer = undefined;
    if (this.closed) return;
    const socket = this.socket;
    if (!socket) return;
    const epoch = this.epoch;
    try {
      socket.send(Buffer.alloc(0));
    } catch (err) {
      this.down((err as Error).message);
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      if (this.epoch !== epoch) {
        this.down('its UDP port is closed');
        return;
      }
      if (this.attempt > 0) this.opts.log(`analyzer ${this.targetText()}: its UDP port answers again after ${this.attempt} probe(s); ${this.buffer.held} flow(s) held are being sent`);
      this.attempt = 0;
      this.buffer.restart();
      this.up = true;
      this.buffer.accepting = true;
      this.connections++;
      this.pump();
    }, PROBE_WAIT_MS);
  }

  private pump(): void {
    const socket = this.socket;
    const epoch = this.epoch;
    while (this.up && socket && this.inFlight < IN_FLIGHT) {
      if (!this.paced()) break;
      const m = this.buffer.next();
      if (!m) break;
      this.tokens -= m.flows;
      this.inFlight++;
      socket.send(m.data, (err) => {
        this.inFlight--;
        if (err) {
          if (socket === this.socket) this.down(err.message);
          return;
        }
        this.messagesSent++;
        if (epoch === this.epoch) this.buffer.ack(m.seq);
        this.pump();
      });
    }
    this.buffer.settleDrained();
  }

  /** Whether a message may leave now; if not, the pump runs again when it may. */
  private paced(): boolean {
    const rate = this.opts.maxFlowsPerSecond ?? 0;
    if (rate <= 0) return true;
    const now = performance.now();
    const burst = Math.max(1, (rate * PACE_BURST_MS) / 1000);
    this.tokens = Math.min(burst, this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    if (this.tokens > 0) return true;
    this.paceTimer ??= setTimeout(() => {
      this.paceTimer = undefined;
      this.pump();
    }, Math.max(1, Math.ceil((-this.tokens * 1000) / rate)));
    return false;
  }
}
