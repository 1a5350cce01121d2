/**
 * Flows to the analyzer over WebSocket (`flow.protocol: websocket`): binary messages on
 * `/ws/agent/flow`, each a `flow.Message` of up to `batchFlows` flows (Skydive sends 10; more
 * cost less per flow, see bench/ingest.ts), Stats in messages of their own.
 *
 * Delivery: the agent announces its session and the number of its first message
 * (`X-Flow-Session`, `X-Flow-Seq`). An analyzer that answers `X-Flow-Ack: 1` (skydive-ts)
 * acknowledges what it stored; unacknowledged messages are sent again after a reconnection and
 * the analyzer skips those it already had, so a restart of the connection or of the analyzer
 * loses nothing and stores nothing twice. A Skydive analyzer does not acknowledge: a message
 * then counts as delivered once written to the socket.
 *
 * The connection is retried forever, with a doubling delay; a connection silent for longer than
 * `silenceMs` (no ping, no acknowledgement) is dropped and retried.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { Stats } from '../flow/types.js';
import { messageOfRecords, messageOfStats } from '../format/message-frame.js';
import { formatHostPort } from '../net/host-port.js';
import { SendBuffer } from './send-buffer.js';
import { backoffDelay, DropReporter, firstAnalyzer, type FlowSender, type SenderCounters, type SenderOptions } from './sender.js';

export interface WebSocketSenderOptions extends SenderOptions {
  batchFlows: number;
  /** Silence after which a connection is given up (default 14 s: twice Skydive's ping_delay + pong_timeout). */
  silenceMs?: number;
  /** Basic auth (a Skydive analyzer with auth on); ours accepts any. */
  username?: string;
  password?: string;
}

/** Bytes handed to the socket and not yet written, at most. */
const WRITE_WINDOW = 4 << 20;
/** Minimum time between two "still unreachable" lines. */
const RETRY_LOG_MS = 60_000;
/** Minimum time between two "buffer full" lines. */

export class WebSocketFlowSender implements FlowSender {
  private readonly buffer: SendBuffer;
  private readonly session = randomUUID();
  private ws: WebSocket | undefined;
  /** Identifies the current connection: callbacks of an older one are ignored. */
  private conn = 0;
  private open = false;
  private acking = false;
  private writing = 0;
  private attempt = 0;
  private target: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly watchdog: NodeJS.Timeout;
  private lastHeard = 0;
  private lastError = '';
  private lastRetryLog = 0;
  private closed = false;
  private connections = 0;
  private messagesSent = 0;
  private readonly drops: DropReporter;

  constructor(private readonly opts: WebSocketSenderOptions) {
    if (opts.analyzers.length === 0) throw new Error('no analyzer to send flows to');
    this.buffer = new SendBuffer(opts.maxBufferedFlows, opts.surgeFlows);
    this.drops = new DropReporter(opts, this.buffer, () => this.targetText());
    this.target = firstAnalyzer(opts.analyzers.length);
    const silence = opts.silenceMs ?? 14_000;
    this.watchdog = setInterval(() => {
      if (this.open && Date.now() - this.lastHeard > silence) {
        this.lastError = `no ping nor acknowledgement for ${silence} ms`;
        this.ws?.terminate();
      }
    }, Math.min(1000, silence));
    this.watchdog.unref();
    this.connect();
  }

  get counters(): SenderCounters {
    return {
      ...this.buffer.counters, connected: this.open, connections: this.connections,
      messagesSent: this.messagesSent, held: this.buffer.held,
    };
  }

  sendRecords(records: readonly Uint8Array[]): void {
    if (this.closed) return;
    const n = Math.max(1, this.opts.batchFlows);
    let dropped = 0;
    for (let i = 0; i < records.length; i += n) {
      const batch = records.slice(i, i + n);
      dropped += this.buffer.push(messageOfRecords(batch), batch.length);
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
    clearInterval(this.watchdog);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const dropped = this.buffer.dropAll();
    if (dropped > 0) this.opts.log(`analyzer ${this.targetText()}: ${dropped} flow(s) not delivered at stop (${this.lastError || 'no acknowledgement'})`);
    const ws = this.ws;
    this.ws = undefined;
    this.conn++;
    if (ws && ws.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { ws.terminate(); resolve(); }, 1000);
        ws.once('close', () => { clearTimeout(timer); resolve(); });
        ws.close(1000, 'agent stopping');
      });
    } else {
      ws?.terminate();
    }
  }

  private targetText(): string {
    return formatHostPort(this.opts.analyzers[this.target % this.opts.analyzers.length]);
  }

  private connect(): void {
    if (this.closed) return;
    const conn = ++this.conn;
    const url = `ws://${this.targetText()}/ws/agent/flow`;
    const headers: Record<string, string> = {
      'X-Host-ID': this.opts.hostId, 'X-Client-Type': 'agent', 'X-Client-Protocol': 'protobuf',
      'X-Flow-Session': this.session, 'X-Flow-Seq': String(this.buffer.firstSeq),
    };
    if (this.opts.username !== undefined) {
      headers.Authorization = 'Basic ' + Buffer.from(`${this.opts.username}:${this.opts.password ?? ''}`).toString('base64');
    }
    const ws = new WebSocket(url, {
      headers, perMessageDeflate: false, handshakeTimeout: 5000, maxPayload: 1 << 20,
      // A zero masking key: XOR-ing every byte of every frame cost the agent and the analyzer
      // (which skips unmasking a zero key) about a microsecond per flow each. Masking keeps
      // scripts in browsers from steering proxies with chosen bytes; an agent's protobuf is
      // not that (docs/compat.md).
      generateMask: (mask: Buffer) => { mask.fill(0); },
    });
    this.ws = ws;
    let offersAcks = false;
    ws.on('upgrade', (res) => { offersAcks = res.headers['x-flow-ack'] === '1'; });
    ws.on('open', () => {
      if (conn !== this.conn) return;
      this.open = true;
      this.buffer.accepting = true;
      this.acking = offersAcks;
      this.writing = 0;
      this.lastHeard = Date.now();
      this.connections++;
      if (this.attempt > 0) {
        this.opts.log(`analyzer ${this.targetText()}: connected after ${this.attempt} attempt(s); ${this.buffer.held} flow(s) held are being sent`);
      }
      this.attempt = 0;
      this.lastRetryLog = 0;
      this.buffer.restart();
      this.pump();
    });
    ws.on('ping', () => { this.lastHeard = Date.now(); });
    ws.on('message', (data, isBinary) => {
      if (conn !== this.conn) return;
      this.lastHeard = Date.now();
      if (isBinary || !this.acking) return;
      const seq = ackSeq(data.toString());
      if (seq !== undefined) {
        this.buffer.ack(seq);
        this.pump();
      }
    });
    ws.on('error', (err) => { this.lastError = err.message; });
    ws.on('close', () => {
      if (conn !== this.conn) return;
      const wasOpen = this.open;
      this.open = false;
      this.buffer.accepting = false;
      this.ws = undefined;
      if (this.closed) return;
      this.attempt++;
      const now = Date.now();
      if (wasOpen || this.lastRetryLog === 0 || now - this.lastRetryLog > RETRY_LOG_MS) {
        this.opts.log(`analyzer ${this.targetText()}: ${wasOpen ? 'connection lost' : 'unreachable'} (${this.lastError || 'closed'}); ` +
          `holding flows (at most ${this.opts.maxBufferedFlows}) and retrying`);
        this.lastRetryLog = now;
      }
      // The next attempt goes to the next analyzer (named above: the one that failed).
      this.target++;
      this.retryTimer = setTimeout(() => this.connect(), backoffDelay(this.attempt, this.opts.backoffMinMs ?? 200, this.opts.backoffMaxMs ?? 5000));
    });
  }

  private pump(): void {
    const ws = this.ws;
    const conn = this.conn;
    while (this.open && ws && this.writing < WRITE_WINDOW) {
      const m = this.buffer.next();
      if (!m) break;
      this.writing += m.data.length;
      ws.send(m.data, { binary: true }, (err) => {
        if (conn !== this.conn) return;
        this.writing -= m.data.length;
        if (err) return;
        this.messagesSent++;
        if (!this.acking) this.buffer.ack(m.seq);
        this.pump();
      });
    }
    this.buffer.settleDrained();
  }
}

/** The sequence number of an acknowledgement `{"Namespace":"flow","Type":"ack","Obj":{"Seq":n}}`. */
function ackSeq(text: string): number | undefined {
  try {
    const m = JSON.parse(text) as { Namespace?: unknown; Type?: unknown; Obj?: { Seq?: unknown } };
    if (m.Namespace === 'flow' && m.Type === 'ack' && typeof m.Obj?.Seq === 'number') return m.Obj.Seq;
  } catch {
    // Not an acknowledgement: ignored.
  }
  return undefined;
}
