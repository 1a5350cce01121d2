/**
 * WebSocket clients of the analyzer, as /api/status lists them: agents sending flows on
 * /ws/agent/flow and flow subscribers, each with Skydive's ConnStatus fields
 * (skydive-api.md §2.4), and the uniqueness of their host IDs (§3.1).
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

export type ConnectionKind = 'agent' | 'subscriber';

/**
 * The clients of each endpoint by host: X-Host-ID, or the remote address when the client sent
 * none. As in Skydive, a host connects once per endpoint: a second handshake with the host ID
 * of a client still connected is refused (409), so that two agents set up with the same
 * host_id are noticed rather than mixed.
 */
export class Connections {
  private readonly hosts: Record<ConnectionKind, Map<string, ConnStatus | undefined>> = {
    agent: new Map(), subscriber: new Map(),
  };

  /**
   * Reserves `host` for a handshake (false: taken). The handshake's `status` comes with
   * `connected`; `release` frees the host, whether the upgrade happened or not.
   */
  claim(kind: ConnectionKind, host: string): boolean {
    const hosts = this.hosts[kind];
    if (hosts.has(host)) return false;
    hosts.set(host, undefined);
    return true;
  }

  connected(kind: ConnectionKind, host: string, status: ConnStatus): void {
    this.hosts[kind].set(host, status);
  }

  release(kind: ConnectionKind, host: string): void {
    this.hosts[kind].delete(host);
  }

  agentCount(): number {
    return this.status('agent').length;
  }

  /** host -> ConnStatus of the connected clients of an endpoint. */
  statusByHost(kind: ConnectionKind): Record<string, ConnStatus> {
    return Object.fromEntries(this.status(kind));
  }

  private status(kind: ConnectionKind): [string, ConnStatus][] {
    return [...this.hosts[kind]].filter((e): e is [string, ConnStatus] => e[1] !== undefined);
  }
}

/** A Go-style RFC 3339 time (UTC, no fractional zeros lost). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
