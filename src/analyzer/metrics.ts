/**
 * `GET /metrics`: the analyzer's counters in the Prometheus text format (version 0.0.4).
 * Names start with `skydive_`; per-capture figures come from the Stats messages agents send
 * (summed: each Stats holds the counts since the previous one), per-agent ones from the
 * flows they send.
 */
import type { ElasticsearchStats } from '../store/elasticsearch/backend.js';
import type { MemoryStoreStats } from '../store/types.js';
import type { CaptureStatsRegistry } from './capture-stats.js';
import type { FlowStream } from './flow-stream.js';
import { TRANSPORTS, type IntakeCounters, type Transport } from './intake.js';
import type { UDPDrops } from './udp-intake.js';

export interface MetricsSnapshot {
  intake: IntakeCounters;
  registry: CaptureStatsRegistry;
  ingestRate: number;
  store: MemoryStoreStats;
  stream: FlowStream;
  agentConnections: number;
  /** Datagrams lost on the way into the analyzer's UDP intake, when it has one. */
  udpDrops?: UDPDrops;
  /** The elasticsearch flow backend's counters, when configured. */
  elasticsearch?: ElasticsearchStats;
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      this.lines.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 0}`);
    }
    return this;
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

const perTransport = (r: Record<Transport, number>): [Record<string, string>, number][] =>
  TRANSPORTS.map((t) => [{ transport: t }, r[t]]);

export function renderMetrics(m: MetricsSnapshot): string {
  const captures = m.registry.captureTotals();
  const agents = m.registry.agentTotals();
  const byCapture = (pick: (c: (typeof captures)[number]) => number): [Record<string, string>, number][] =>
    captures.map((c) => [{ agent: c.agent, capture: c.captureID }, pick(c)]);
  const e = new Exposition()
    .family('skydive_analyzer_messages_received_total', 'counter', 'flow.Message messages received from agents.', perTransport(m.intake.messages))
    .family('skydive_analyzer_flows_received_total', 'counter', 'Flows received from agents.', perTransport(m.intake.flows))
    .family('skydive_analyzer_stats_received_total', 'counter', 'Stats messages received from agents.', perTransport(m.intake.stats))
    .family('skydive_analyzer_probes_received_total', 'counter', 'Empty datagrams: agents checking that the UDP port is open (not messages).', perTransport(m.intake.probes))
    .family('skydive_analyzer_bad_messages_total', 'counter', 'Messages refused because they were not a valid flow.Message.', perTransport(m.intake.badMessages))
    .family('skydive_analyzer_duplicate_messages_total', 'counter', 'WebSocket messages an agent sent again after reconnecting, already stored, skipped.', [[{}, m.intake.duplicateMessages]])
    .family('skydive_analyzer_internal_errors_total', 'counter', 'Messages whose handling failed (a bug, logged).', [[{}, m.intake.internalErrors]])
    .family('skydive_analyzer_ingest_flows_per_second', 'gauge', 'Flows received per second over the last 10 seconds.', [[{}, m.ingestRate]])
    .family('skydive_analyzer_agent_connections', 'gauge', 'Agents connected on /ws/agent/flow.', [[{}, m.agentConnections]])
    .family('skydive_agent_flows_received_total', 'counter', 'Flows received per agent (X-Host-ID, or the UDP source address).',
      agents.map((a) => [{ agent: a.agent, transport: a.transport }, a.flows]))
    .family('skydive_agent_stats_received_total', 'counter', 'Stats messages received per agent: who sends them, and how often.',
      agents.map((a) => [{ agent: a.agent, transport: a.transport }, a.stats]))
    .family('skydive_capture_packets_received_total', 'counter', 'Packets a capture received (its Stats).', byCapture((c) => c.packetsReceived))
    .family('skydive_capture_packets_dropped_total', 'counter', 'Packets a capture dropped (its Stats).', byCapture((c) => c.packetsDropped))
    .family('skydive_capture_decode_failures_total', 'counter', 'Packets a capture could not decode (its Stats, when the agent reports them).', byCapture((c) => c.decodeFailures))
    .family('skydive_capture_flow_dropped_total', 'counter', 'Flows a capture\'s full table pushed out (its Stats FlowDropped).', byCapture((c) => c.flowDropped))
    .family('skydive_capture_kernel_flow_dropped_total', 'counter', 'Flows the kernel could not hold (its Stats KernelFlowDropped).', byCapture((c) => c.kernelFlowDropped))
    .family('skydive_capture_active_flows', 'gauge', 'Flows in a capture\'s table at its last Stats.', byCapture((c) => c.flowCount))
    .family('skydive_store_flows', 'gauge', 'Flows held by the in-memory store.', [[{}, m.store.flows]])
    .family('skydive_store_history_entries', 'gauge', 'Metric deltas held for Metrics().', [[{}, m.store.historyEntries]])
    .family('skydive_store_estimated_bytes', 'gauge', 'Estimated memory held by the store.', [[{}, m.store.estimatedBytes]])
    .family('skydive_store_flows_inserted_total', 'counter', 'Flows stored for the first time.', [[{}, m.store.inserted]])
    .family('skydive_store_flows_updated_total', 'counter', 'Updates of a flow already stored.', [[{}, m.store.updated]])
    .family('skydive_store_flows_evicted_total', 'counter', 'Flows removed because the store was full (analyzer.flow.max_flows).', [[{}, m.store.evicted]])
    .family('skydive_store_flows_expired_total', 'counter', 'Flows removed by retention (analyzer.flow.retention).', [[{}, m.store.expired]])
    .family('skydive_store_flows_rejected_total', 'counter', 'Flows refused (no UUID, or older than every flow of a full store).', [[{}, m.store.rejected]])
    .family('skydive_store_history_dropped_total', 'counter', 'Metric deltas dropped because a flow\'s history was full.', [[{}, m.store.historyDropped]])
    .family('skydive_stream_subscribers', 'gauge', 'WebSocket flow subscribers.', [[{}, m.stream.size]])
    .family('skydive_stream_flows_sent_total', 'counter', 'Flows sent to subscribers.', [[{}, m.stream.totals.sentFlows]])
    .family('skydive_stream_flows_dropped_total', 'counter', 'Flows not sent to a subscriber that was too far behind (http.ws.queue_size).', [[{}, m.stream.totals.droppedFlows]])
    .family('skydive_analyzer_registry_forgotten_total', 'counter', 'Agents or captures forgotten by the metrics registry (more than 1024 seen).', [[{}, m.registry.forgotten]])
    .family('process_resident_memory_bytes', 'gauge', 'Resident memory of the analyzer process.', [[{}, process.memoryUsage.rss()]]);
  const udp = m.udpDrops;
  if (udp?.kernel !== undefined) {
    e.family('skydive_analyzer_udp_kernel_drops_total', 'counter', 'Datagrams the kernel dropped on the flow UDP socket (receive buffer full).', [[{}, udp.kernel]]);
  }
  if (udp !== undefined) {
    e.family('skydive_analyzer_udp_queue_drops_total', 'counter', 'Datagrams dropped because the queue from the UDP receiving thread to the intake was full.', [[{}, udp.queue]]);
  }
  const es = m.elasticsearch;
  if (es !== undefined) {
    e.family('skydive_elasticsearch_documents_written_total', 'counter', 'Documents Elasticsearch stored, by index kind.',
      [[{ kind: 'flow' }, es.written.flow], [{ kind: 'metric' }, es.written.metric]])
      .family('skydive_elasticsearch_documents_stale_total', 'counter', 'Flow updates not written because a newer one of the flow was stored.', [[{}, es.stale]])
      .family('skydive_elasticsearch_documents_dropped_total', 'counter', 'Documents given up: refused by the mapping, or beyond spill_max_bytes (logged).', [[{}, es.dropped]])
      .family('skydive_elasticsearch_bulk_failures_total', 'counter', 'Bulk writes that failed as a whole (Elasticsearch down, slow, 5xx) and were retried.', [[{}, es.failedAttempts]])
      .family('skydive_elasticsearch_documents_retried_total', 'counter', 'Documents sent again after a failure or a 429/5xx answer.', [[{}, es.retriedDocs]])
      .family('skydive_elasticsearch_buffered_documents', 'gauge', 'Documents waiting for Elasticsearch, in memory and on disk.',
        [[{ where: 'memory' }, es.memoryDocs], [{ where: 'disk' }, es.diskDocs]])
      .family('skydive_elasticsearch_spill_bytes', 'gauge', 'Bytes of documents waiting on disk (storage.elasticsearch.spill_dir).', [[{}, es.diskBytes]])
      .family('skydive_elasticsearch_up', 'gauge', '1 when the last write reached Elasticsearch.', [[{}, es.connected ? 1 : 0]])
      .family('skydive_elasticsearch_rollovers_total', 'counter', 'Index rollovers done.', [[{}, es.rollovers]])
      .family('skydive_elasticsearch_indices_deleted_total', 'counter', 'Indices deleted beyond indices_to_keep.', [[{}, es.deletedIndices]]);
  }
  return e.text();
}
