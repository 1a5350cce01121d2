/**
 * The live flow stream of `/ws/subscriber/flow` (skydive-api.md §3.7): flows go to subscribers
 * as the analyzer stores them, in bulks of at most `bulkMaxFlows`, at least every
 * `bulkMaxDelayMs`; each bulk is one envelope `{"Namespace":"flow","Type":"store","Obj":[...]}`
 * per subscriber (and one per `flow/<CaptureID>` namespace it asked for), holding the flows
 * that pass its filter. A capture's Stats go at once on namespace `stats`.
 *
 * Memory is bounded: the pending bulk never exceeds bulkMaxFlows, and a subscriber that has
 * `queueSize` messages not yet written to its socket loses the next ones (counted per
 * subscriber and in total) instead of making the analyzer buffer for it.
 */
import type { Flow, Stats } from '../flow/types.js';
import { flowToJSON } from '../format/json.js';
import { envelope, statsJSON } from './envelope.js';

/** What a subscriber asked for (X-Websocket-Namespace). */
export interface Namespaces {
  flow: boolean;
  stats: boolean;
  /** `flow/<CaptureID>` namespaces. */
  captures: ReadonlySet<string>;
}

export interface SubscriberSink {
  /** Writes one text message; `done` runs once it left (or failed). */
  send(text: string, done: (err?: Error) => void): void;
}

export class Subscriber {
  /** Messages handed to the socket and not yet written. */
  pending = 0;
  /** Messages dropped because `pending` reached the queue size. */
  droppedMessages = 0;
  droppedFlows = 0;
  sentFlows = 0;

  constructor(
    readonly id: string,
    readonly namespaces: Namespaces,
    readonly filter: ((flow: Flow) => boolean) | undefined,
    readonly sink: SubscriberSink,
  ) {}
}

export interface FlowStreamOptions {
  bulkMaxFlows: number;
  bulkMaxDelayMs: number;
  /** Messages a subscriber may have in flight (Skydive's http.ws.queue_size). */
  queueSize: number;
}

export class FlowStream {
  private readonly subscribers = new Set<Subscriber>();
  private bulk: Flow[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Totals over every subscriber, for /metrics. */
  readonly totals = { sentMessages: 0, sentFlows: 0, droppedMessages: 0, droppedFlows: 0 };

  constructor(private readonly opts: FlowStreamOptions) {}

  get size(): number {
    return this.subscribers.size;
  }

  list(): Subscriber[] {
    return [...this.subscribers];
  }

  /** Adds a subscriber; the returned function removes it. */
  add(sub: Subscriber): () => void {
    this.subscribers.add(sub);
    return () => { this.subscribers.delete(sub); };
  }

  /** Flows just stored. */
  publish(flows: readonly Flow[]): void {
    if (this.subscribers.size === 0) return;
    for (const f of flows) {
      this.bulk.push(f);
      if (this.bulk.length >= this.opts.bulkMaxFlows) this.flush();
    }
    if (this.bulk.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.opts.bulkMaxDelayMs);
      this.timer.unref();
    }
  }

  /** A capture's Stats, at once. */
  publishStats(stats: Stats): void {
    let text: string | undefined;
    for (const sub of this.subscribers) {
      if (!sub.namespaces.stats) continue;
      text ??= envelope('stats', 'stats', statsJSON(stats));
      this.deliver(sub, text, 0);
    }
  }

  /** Sends the pending bulk now. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const bulk = this.bulk;
    if (bulk.length === 0) return;
    this.bulk = [];
    // Each flow is written as JSON once per bulk, whatever the number of subscribers.
    const json: (string | undefined)[] = new Array(bulk.length);
    const text = (i: number): string => (json[i] ??= flowToJSON(bulk[i]));
    for (const sub of this.subscribers) {
      if (sub.namespaces.flow) this.sendFlows(sub, 'flow', bulk, text, () => true);
      for (const captureID of sub.namespaces.captures) {
        this.sendFlows(sub, `flow/${captureID}`, bulk, text, (f) => f.CaptureID === captureID);
      }
    }
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.bulk = [];
    this.subscribers.clear();
  }

  private sendFlows(sub: Subscriber, namespace: string, bulk: readonly Flow[], text: (i: number) => string,
                    keep: (f: Flow) => boolean): void {
    const parts: string[] = [];
    for (let i = 0; i < bulk.length; i++) {
      const f = bulk[i];
      if (!keep(f)) continue;
      if (sub.filter && !safeFilter(sub.filter, f)) continue;
      parts.push(text(i));
    }
    if (parts.length === 0) return;
    this.deliver(sub, envelope(namespace, 'store', `[${parts.join(',')}]`), parts.length);
  }

  private deliver(sub: Subscriber, text: string, flows: number): void {
    if (sub.pending >= this.opts.queueSize) {
      sub.droppedMessages++;
      sub.droppedFlows += flows;
      this.totals.droppedMessages++;
      this.totals.droppedFlows += flows;
      return;
    }
    sub.pending++;
    sub.sentFlows += flows;
    this.totals.sentMessages++;
    this.totals.sentFlows += flows;
    sub.sink.send(text, () => { sub.pending--; });
  }
}

/** A filter that throws on some flow (a bug) skips that flow rather than breaking the stream. */
function safeFilter(filter: (f: Flow) => boolean, f: Flow): boolean {
  try {
    return filter(f);
  } catch {
    return false;
  }
}
