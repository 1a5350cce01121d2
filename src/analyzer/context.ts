/**
 * What the analyzer's HTTP and WebSocket routes share: the store they read, the intake agents
 * write to, the live stream, the connection lists, and settings. Built by server.ts.
 */
import type { ElasticsearchBackend } from '../store/elasticsearch/backend.js';
import type { MemoryFlowStore } from '../store/memory.js';
import type { AgentSessions } from './agent-sessions.js';
import type { Connections } from './connections.js';
import type { FlowStream } from './flow-stream.js';
import type { FlowIntake } from './intake.js';
import type { PcapImporter } from './pcap-import.js';
import type { UDPDrops } from './udp-intake.js';
import type { WebSocketIntake } from './ws-intake.js';

export interface AnalyzerContext {
  /** `host_id` (default: the hostname): GET /api's Host. */
  hostId: string;
  version: string;
  store: MemoryFlowStore;
  intake: FlowIntake;
  /** Where /ws/agent/flow hands its messages: on to `intake`, scanned by a thread of its own. */
  wsIntake: WebSocketIntake;
  stream: FlowStream;
  /** POST /api/pcap's imports, into `intake`. */
  pcap: PcapImporter;
  /** The elasticsearch flow backend, when configured: it answers history queries. */
  elasticsearch?: ElasticsearchBackend;
  connections: Connections;
  sessions: AgentSessions;
  /** flow.expire in ms: which flows a query's time window includes. */
  flowExpireMs: number;
  /** http.ws.ping_delay and pong_timeout + ping_delay, in ms. */
  pingDelayMs: number;
  pongTimeoutMs: number;
  /** Datagrams lost on the way into the UDP intake, when there is one. */
  udpDrops(): UDPDrops | undefined;
  /**
   * One entry per open WebSocket: closes it cleanly (a final acknowledgement to an agent, then
   * a close frame) and resolves once the client has answered or a short time has passed.
   */
  closers: Set<() => Promise<void>>;
  log(line: string): void;
}
