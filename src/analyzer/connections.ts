/**
 * WebSocket clients of the analyzer, as /api/status lists them: agents sending flows on
 * /ws/agent/flow and flow subscribers, each with Skydive's ConnStatus fields
 * (skydive-api.md §2.4).
 */

export interface ConnStatus {
  ServiceType: string;
  ClientProtocol: string;
  Addr: string;
  Port: number;
  IsConnected: boolean;
  /** RFC 3339, as Go writes a time.Time. */
  ConnectTime: string;
  RemoteHost: string;
  RemoteServiceType: string;
}

export interface Connection {
  /** X-Host-ID, or the remote address when the client sent none. */
  host: string;
  status: ConnStatus;
}

export class Connections {
  private readonly agents = new Set<Connection>();
  private readonly subscribers = new Set<Connection>();

  /** Registers a connection; the returned function forgets it. */
  add(kind: 'agent' | 'subscriber', c: Connection): () => void {
    const set = kind === 'agent' ? this.agents : this.subscribers;
    set.add(c);
    return () => { set.delete(c); };
  }

  agentCount(): number {
    return this.agents.size;
  }

  /** host -> ConnStatus; a second connection from the same host gets a `#n` suffix. */
  static byHost(conns: Iterable<Connection>): Record<string, ConnStatus> {
    const out: Record<string, ConnStatus> = {};
    for (const c of conns) {
      let key = c.host;
      for (let n = 2; key in out; n++) key = `${c.host}#${n}`;
      out[key] = c.status;
    }
    return out;
  }

  agentStatus(): Record<string, ConnStatus> {
    return Connections.byHost(this.agents);
  }

  subscriberStatus(): Record<string, ConnStatus> {
    return Connections.byHost(this.subscribers);
  }
}

/** A Go-style RFC 3339 time (UTC, no fractional zeros lost). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
