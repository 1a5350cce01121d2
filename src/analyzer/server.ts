/**
 * A running analyzer: the HTTP/WebSocket server and the UDP flow intake on one address and
 * port, the in-memory store with its retention timer, the live stream. `startAnalyzer` takes
 * plain settings (the command maps the configuration onto them; tests and the bench pass
 * their own); `close` stops it cleanly: UDP first, then every WebSocket with a close frame
 * (agents get a last acknowledgement), then the HTTP server.
 *
 * Both intakes run whatever `flow.protocol` says, so agents of either setting can use the
 * same analyzer.
 */
import type { FastifyInstance } from 'fastify';
import type { EngineOptions } from '../engine/flow-engine.js';
import type { ElasticsearchBackend } from '../store/elasticsearch/backend.js';
import type { ElasticsearchSettings } from '../store/elasticsearch/settings.js';
import { MemoryFlowStore } from '../store/memory.js';
import type { MemoryStoreOptions } from '../store/types.js';
import { formatHostPort, type HostPort } from '../net/host-port.js';
import { packageVersion } from '../version.js';
import { AgentSessions } from './agent-sessions.js';
import { buildAnalyzerApp } from './app.js';
import { Connections } from './connections.js';
import type { AnalyzerContext } from './context.js';
import { FlowStream } from './flow-stream.js';
import { FlowIntake } from './intake.js';
import { PcapImporter } from './pcap-import.js';
import { listenUDP, type UDPIntake } from './udp-intake.js';
import { WebSocketIntake } from './ws-intake.js';

export interface AnalyzerOptions {
  /** Port 0 takes a free one (the UDP intake then binds the same number). */
  listen: HostPort;
  hostId: string;
  /** Also listen for flows over UDP (default true). */
  udp?: boolean;
  store?: Partial<MemoryStoreOptions>;
  flowExpireMs?: number;
  pingDelayMs?: number;
  pongTimeoutMs?: number;
  queueSize?: number;
  bulkMaxFlows?: number;
  bulkMaxDelayMs?: number;
  /** Flow table settings of POST /api/pcap's imports (config/flow-table.ts; default: the core's defaults). */
  pcapEngine?: EngineOptions;
  /** Also store every flow update in Elasticsearch, which then answers history queries. */
  elasticsearch?: ElasticsearchSettings;
  log?: (line: string) => void;
}

export interface RunningAnalyzer {
  /** Where it listens (the real port when 0 was asked). */
  readonly address: HostPort;
  readonly store: MemoryFlowStore;
  readonly intake: FlowIntake;
  readonly stream: FlowStream;
  readonly elasticsearch?: ElasticsearchBackend;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** How often flows older than the retention leave the store. */
const RETENTION_CHECK_MS = 5000;
/** At most one line a this often about malformed messages. */
const BAD_MESSAGE_LOG_MS = 10000;

export async function startAnalyzer(o: AnalyzerOptions): Promise<RunningAnalyzer> {
  const log = o.log ?? ((line: string) => process.stderr.write(`skydive analyzer: ${line}\n`));
  const store = new MemoryFlowStore(o.store);
  const stream = new FlowStream({
    bulkMaxFlows: o.bulkMaxFlows ?? 100, bulkMaxDelayMs: o.bulkMaxDelayMs ?? 5000, queueSize: o.queueSize ?? 10000,
  });
  // Loaded only when configured: the Elasticsearch client takes a quarter of a second to load.
  const es = o.elasticsearch === undefined ? undefined
    : (await import('../store/elasticsearch/backend.js')).openElasticsearchBackend(o.elasticsearch, log);
  let lastBadLog = 0;
  let badSinceLog = 0;
  const intake = new FlowIntake(store, {
    onFlows: (flows) => {
      stream.publish(flows);
      es?.writer.write(flows);
    },
    wantsFlows: () => stream.size > 0 || es !== undefined,
    onStats: (stats) => stream.publishStats(stats),
    onBadMessage: (err, source) => {
      badSinceLog++;
      const now = Date.now();
      if (now - lastBadLog < BAD_MESSAGE_LOG_MS) return;
      log(`refused ${badSinceLog} message(s) that are not a flow.Message; last from ${source.transport} ${source.agent}: ${err.message}`);
      lastBadLog = now;
      badSinceLog = 0;
    },
    onInternalError: (err, source) => log(`a message from ${source.transport} ${source.agent} failed: ${err.stack ?? err.message}`),
  });
  let udp: UDPIntake | undefined;
  const wsIntake = new WebSocketIntake(intake, log);
  const pcap = new PcapImporter(intake, o.pcapEngine ?? {});
  const ctx: AnalyzerContext = {
    hostId: o.hostId, version: packageVersion(), store, intake, wsIntake, stream, elasticsearch: es,
    pcap,
    connections: new Connections(), sessions: new AgentSessions(),
    flowExpireMs: o.flowExpireMs ?? 600_000,
    pingDelayMs: o.pingDelayMs ?? 2000,
    pongTimeoutMs: (o.pongTimeoutMs ?? 5000) + (o.pingDelayMs ?? 2000),
    udpDrops: () => udp?.drops(),
    closers: new Set(),
    log,
  };
  const app = await buildAnalyzerApp(ctx);
  const bindUDP = async (at: HostPort): Promise<void> => {
    try {
      udp = await listenUDP(at.host, at.port, intake, log);
    } catch (err) {
      throw new Error(`cannot listen for flows on udp ${formatHostPort(at)}: ${(err as Error).message}`);
    }
  };
  // With a fixed port, UDP is bound first: once GET /api answers (what allinone and scripts
  // wait for), flows over UDP are taken too. Port 0 lets HTTP pick the number UDP then takes.
  const udpFirst = (o.udp ?? true) && o.listen.port !== 0;
  try {
    if (udpFirst) await bindUDP(o.listen);
    await app.listen({ host: o.listen.host, port: o.listen.port });
  } catch (err) {
    await udp?.close();
    await wsIntake.close();
    await es?.close(0);
    throw err;
  }
  const addr = app.server.address();
  const address: HostPort = { host: o.listen.host, port: typeof addr === 'object' && addr ? addr.port : o.listen.port };
  if ((o.udp ?? true) && !udpFirst) {
    try {
      await bindUDP(address);
    } catch (err) {
      await app.close();
      await wsIntake.close();
      await es?.close(0);
      throw err;
    }
  }
  const retention = setInterval(() => store.expire(Date.now()), RETENTION_CHECK_MS);
  retention.unref();
  let closing: Promise<void> | undefined;
  return {
    address, store, intake, stream, app, elasticsearch: es,
    close: () => (closing ??= (async () => {
      clearInterval(retention);
      await udp?.close();
      await pcap.close();
      stream.flush();
      await Promise.all([...ctx.closers].map((c) => c()));
      await app.close();
      await wsIntake.close();
      await es?.close();
      stream.close();
    })()),
  };
}
