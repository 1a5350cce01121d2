/**
 * Totals per agent and capture, from the Stats messages agents send (each carries the counts
 * since the previous one) and from the flows they send. For /metrics and /api/status.
 *
 * Label values come from the network (an agent's X-Host-ID, a UDP source, a CaptureID), so the
 * registry is bounded: past `maxEntries`, the entry seen least recently is forgotten (counted).
 */
import type { Int64, Stats } from '../flow/types.js';

export interface CaptureTotals {
  agent: string;
  captureID: string;
  /** Flows in the capture's table at its last Stats. */
  flowCount: number;
  flowDropped: number;
  kernelFlowDropped: number;
  packetsReceived: number;
  packetsDropped: number;
  decodeFailures: number;
  /** Stats messages received. */
  reports: number;
  lastSeenMs: number;
}

export interface AgentTotals {
  agent: string;
  transport: string;
  flows: number;
  /** Stats messages among `messages`. */
  stats: number;
  messages: number;
  lastSeenMs: number;
}

const num = (v: Int64 | undefined): number => Number(v ?? 0);

/** A Map kept in least-recently-touched order, bounded. */
class Bounded<V> {
  private readonly map = new Map<string, V>();
  /** The entry touched last, already last in `map`: an agent's messages come in runs. */
  private lastKey: string | undefined = undefined;
  private lastValue: V | undefined = undefined;
  forgotten = 0;
  constructor(private readonly max: number) {}

  touch(key: string, create: () => V): V {
    if (key === this.lastKey) return this.lastValue as V;
    let v = this.map.get(key);
    if (v === undefined) {
      v = create();
      if (this.map.size >= this.max) {
        this.map.delete(this.map.keys().next().value as string);
        this.forgotten++;
      }
    } else {
      this.map.delete(key);
    }
    this.map.set(key, v);
    this.lastKey = key;
    this.lastValue = v;
    return v;
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}

export class CaptureStatsRegistry {
  private readonly captures: Bounded<CaptureTotals>;
  private readonly agents: Bounded<AgentTotals>;

  constructor(maxEntries = 1024, private readonly now: () => number = Date.now) {
    this.captures = new Bounded(maxEntries);
    this.agents = new Bounded(maxEntries);
  }

  addStats(agent: string, s: Stats): void {
    const c = this.captures.touch(`${agent}\u0000${s.CaptureID}`, () => ({
      agent, captureID: s.CaptureID, flowCount: 0, flowDropped: 0, kernelFlowDropped: 0, packetsReceived: 0,
      packetsDropped: 0, decodeFailures: 0, reports: 0, lastSeenMs: 0,
    }));
    c.flowCount = num(s.FlowCount);
    c.flowDropped += num(s.FlowDropped);
    c.kernelFlowDropped += num(s.KernelFlowDropped);
    c.packetsReceived += num(s.PacketsReceived);
    c.packetsDropped += num(s.PacketsDropped);
    c.decodeFailures += num(s.DecodeFailures);
    c.reports++;
    c.lastSeenMs = this.now();
  }

  addMessage(agent: string, transport: string, flows: number, stats: boolean): void {
    const a = this.agents.touch(`${transport}\u0000${agent}`, () => ({ agent, transport, flows: 0, stats: 0, messages: 0, lastSeenMs: 0 }));
    a.flows += flows;
    if (stats) a.stats++;
    a.messages++;
    a.lastSeenMs = this.now();
  }

  captureTotals(): CaptureTotals[] {
    return [...this.captures.values()];
  }

  agentTotals(): AgentTotals[] {
    return [...this.agents.values()];
  }

  /** Entries forgotten because the registry was full. */
  get forgotten(): number {
    return this.captures.forgotten + this.agents.forgotten;
  }
}
