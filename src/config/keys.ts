/**
 * Every configuration key skydive-ts reads, with its type and default —
 * Skydive's names and defaults (skydive-api.md §9), plus a few of our own,
 * marked as extensions (they are listed in docs/compat.md). The loader
 * (load.ts) validates files and SKYDIVE_* variables against this table, and
 * etc/skydive.yml.default documents each of them.
 */

export type KeyType =
  | { kind: 'string'; choices?: readonly string[] }
  | { kind: 'number'; min?: number; max?: number; integer?: boolean }
  | { kind: 'boolean' }
  | { kind: 'string[]' }
  /** A free-form mapping (e.g. port -> name); `values` types its leaves. */
  | { kind: 'map'; values: 'string' | 'number' }
  /** A list of objects validated by their own schema (captures). */
  | { kind: 'list'; item: Record<string, KeyType>; required?: readonly string[] };

export interface KeySpec {
  type: KeyType;
  default?: unknown;
  /** Our own key (not in Skydive). */
  extension?: boolean;
}

const str = (choices?: readonly string[]): KeyType => ({ kind: 'string', choices });
const int = (min?: number, max?: number): KeyType => ({ kind: 'number', min, max, integer: true });
const num = (min?: number): KeyType => ({ kind: 'number', min });
const bool: KeyType = { kind: 'boolean' };
const port = int(1, 65535);

/** One capture run by the agent from its configuration (until the capture API exists). */
export const CAPTURE_KEYS: Record<string, KeyType> = {
  /** pcap (live libpcap), sflow (sFlow v5 collector), pcapsocket (pcap stream over TCP). */
  type: str(['pcap', 'afpacket', 'sflow', 'pcapsocket']),
  name: str(),
  /** Interface to capture (pcap/afpacket). */
  interface: str(),
  /** Network namespace of the interface: a name under /var/run/netns or a path. */
  netns: str(),
  bpf: str(),
  /** Snap length; Skydive's HeaderSize (0 = 256). */
  header_size: int(0, 262144),
  promiscuous: bool,
  /** sflow / pcapsocket: listen address and port. */
  bind_address: str(),
  port: int(0, 65535),
  /** Flow attributes: NodeTID and CaptureID of the flows (CaptureID defaults to a fresh UUID). */
  node_tid: str(),
  capture_id: str(),
  extra_tcp_metric: bool,
  ip_defrag: bool,
  reassemble_tcp: bool,
  layer_key_mode: str(['L2', 'L3']),
  /** Names: DNS, DHCPv4, VRRP or ALL. */
  extra_layers: { kind: 'string[]' },
  mpls_udp_port: int(0, 65535),
};

export const KEYS: Record<string, KeySpec> = {
  host_id: { type: str() },
  analyzers: { type: { kind: 'string[]' }, default: [] },
  'analyzer.listen': { type: str(), default: '127.0.0.1:8082' },

  'flow.expire': { type: int(1), default: 600 },
  'flow.update': { type: int(1), default: 60 },
  'flow.protocol': { type: str(['udp', 'websocket']), default: 'udp' },
  'flow.max_entries': { type: int(1, 4 << 20), default: 500000 },
  'flow.default_layer_key_mode': { type: str(['L2', 'L3']), default: 'L2' },
  'flow.application_ports.tcp': { type: { kind: 'map', values: 'string' }, default: {} },
  'flow.application_ports.udp': { type: { kind: 'map', values: 'string' }, default: {} },
  'flow.application_timeout': { type: { kind: 'map', values: 'number' }, default: { arp: 10, dns: 10 } },

  'agent.flow.sflow.bind_address': { type: str(), default: '127.0.0.1' },
  'agent.flow.sflow.port_min': { type: port, default: 6345 },
  'agent.flow.sflow.port_max': { type: port, default: 6355 },
  'agent.flow.pcapsocket.bind_address': { type: str(), default: '127.0.0.1' },
  'agent.flow.pcapsocket.min_port': { type: port, default: 8100 },
  'agent.flow.pcapsocket.max_port': { type: port, default: 8132 },

  // WebSocket keep-alive and per-client queue (Skydive's http.ws.*): the analyzer pings every
  // ping_delay s and drops a client silent for pong_timeout + ping_delay s; a flow subscriber
  // more than queue_size messages behind loses the next ones (counted).
  'http.ws.ping_delay': { type: num(0.1), default: 2 },
  'http.ws.pong_timeout': { type: num(0.1), default: 5 },
  'http.ws.queue_size': { type: int(1), default: 10000 },

  // Flow storage (skydive-api.md §9.6, §9.7): `analyzer.flow.backend` names the storage section.
  'analyzer.flow.backend': { type: str(['memory', 'elasticsearch']), default: 'memory' },
  /** Flow and metric documents held in memory for Elasticsearch; beyond, they spill to disk. */
  'analyzer.flow.max_buffer_size': { type: int(1, 50_000_000), default: 100000 },
  'storage.elasticsearch.driver': { type: str(['elasticsearch']), default: 'elasticsearch' },
  'storage.elasticsearch.hosts': { type: { kind: 'string[]' }, default: ['http://127.0.0.1:9200'] },
  /** Skydive's legacy single `host: ip:port`, used when `hosts` is not set. */
  'storage.elasticsearch.host': { type: str() },
  'storage.elasticsearch.ssl_insecure': { type: bool, default: false },
  'storage.elasticsearch.auth.username': { type: str() },
  'storage.elasticsearch.auth.password': { type: str() },
  'storage.elasticsearch.bulk_maxdelay': { type: num(0.01), default: 5 },
  'storage.elasticsearch.index_entries_limit': { type: int(0), default: 0 },
  'storage.elasticsearch.index_age_limit': { type: int(0), default: 0 },
  'storage.elasticsearch.indices_to_keep': { type: int(0), default: 0 },
  'storage.elasticsearch.index_prefix': { type: str(), default: 'skydive_' },
  'storage.elasticsearch.total_fields_limit': { type: int(1), default: 1000 },

  // Extensions.
  /** Documents per bulk request at most (Skydive's bulk processor has no such key). */
  'storage.elasticsearch.bulk_max_docs': { type: int(1, 100000), default: 1000, extension: true },
  /** Bytes per bulk request at most (the client's bulk helper flushBytes). */
  'storage.elasticsearch.bulk_max_bytes': { type: int(1024), default: 5_000_000, extension: true },
  /** Bulk requests in flight at once (Skydive's bulk processor: 1 worker). */
  'storage.elasticsearch.bulk_concurrency': { type: int(1, 64), default: 4, extension: true },
  /** Seconds one request to Elasticsearch may take before it counts as failed and is retried. */
  'storage.elasticsearch.request_timeout': { type: num(0.1), default: 30, extension: true },
  /** Seconds between two rollover checks (Skydive: 60, fixed). */
  'storage.elasticsearch.rollover_interval': { type: num(0.1), default: 60, extension: true },
  /** Where documents wait on disk while Elasticsearch is unreachable, and how much they may take. */
  'storage.elasticsearch.spill_dir': { type: str(), default: '/var/lib/skydive/elasticsearch-spill', extension: true },
  'storage.elasticsearch.spill_max_bytes': { type: int(0), default: 1 << 30, extension: true },
  /** Flows a history query returns at most as a list (Flows(), Sort without Limit, Metrics()); aggregating steps read all. */
  'storage.elasticsearch.history_max_flows': { type: int(1, 1_000_000), default: 10000, extension: true },
  'agent.captures': { type: { kind: 'list', item: CAPTURE_KEYS, required: ['type'] }, default: [], extension: true },
  'agent.flow.output': { type: str(), default: '-', extension: true },
  'agent.flow.workers': { type: int(1, 64), default: 1, extension: true },
  'agent.flow.max_in_flight': { type: int(1, 1024), default: 8, extension: true },
  /** Flows an agent holds while no analyzer takes them; beyond, the oldest unsent are dropped (counted). */
  'agent.flow.send_buffer': { type: int(1, 50_000_000), default: 100000, extension: true },
  /** Flows per WebSocket message to the analyzer (Skydive: 10). */
  'agent.flow.websocket_batch': { type: int(1, 100000), default: 100, extension: true },
  /** Flows share a UDP datagram up to this many bytes (0: one flow a datagram, as Skydive). */
  'agent.flow.udp_datagram_bytes': { type: int(0, 65000), default: 1400, extension: true },
  /** Flows per second at most over UDP, so that a tick's burst does not overflow the analyzer (0: no limit, as Skydive). */
  'agent.flow.udp_max_rate': { type: int(0), default: 100000, extension: true },
  /** Seconds between two Stats messages of a capture (Skydive: 10, fixed). */
  'agent.flow.stats_interval': { type: num(0.1), default: 10, extension: true },
  /** The analyzer's in-memory flow store: most flows held, retention (s, 0 = until evicted), deltas kept per flow. */
  'analyzer.flow.max_flows': { type: int(1, 50_000_000), default: 1000000, extension: true },
  'analyzer.flow.retention': { type: int(0), default: 3600, extension: true },
  'analyzer.flow.max_history': { type: int(1, 100000), default: 60, extension: true },
  /** Flows go to WebSocket subscribers in bulks of at most bulk_max_flows, at least every bulk_max_delay s. */
  'analyzer.flow.stream.bulk_max_flows': { type: int(1, 100000), default: 100, extension: true },
  'analyzer.flow.stream.bulk_max_delay': { type: num(0.01), default: 5, extension: true },
};

/**
 * Skydive settings that skydive-ts does not read: a Skydive file that sets them
 * keeps working, and each one set is reported as ignored. An entry is a key or a
 * whole section (every key under it); `P.*` covers every section under P that
 * skydive-ts does not read (Skydive lets users name them: `storage.myorientdb`).
 *
 * No entry may hold a key of KEYS (the tests check it): under a section skydive-ts
 * reads even in part, the keys it does not read are listed one by one, so that a
 * misspelt key there is an error with a suggestion rather than a warning nobody reads.
 * Any key that is neither in KEYS nor here is an error.
 */
export const UNUSED_SKYDIVE_KEYS: readonly string[] = [
  // Sections skydive-ts reads nothing of (skydive-api.md §9.4, §9.5, §9.8, and deprecated ones).
  'etcd', 'auth', 'tls', 'rbac', 'logging', 'ui', 'ovs', 'opencontrail', 'dpdk', 'k8s', 'istio', 'docker',
  'netns', 'sflow', 'graph', 'webui', 'plugin', 'alert', 'cache',
  'agent.topology', 'agent.metadata', 'agent.metadata_config', 'agent.auth', 'agent.flow.netflow', 'agent.flow.ebpf',
  'analyzer.topology', 'analyzer.startup', 'analyzer.replication', 'analyzer.auth', 'analyzer.cluster',
  'analyzer.peers', 'analyzer.storage',
  'http.rest', 'http.cookie',
  'storage.*',
  // Keys of sections skydive-ts reads in part (§9.1, §9.3, §9.7).
  'agent.X509_cert', 'agent.X509_key', 'agent.X509_insecure', 'agent.X509_servername',
  'analyzer.X509_cert', 'analyzer.X509_key', 'analyzer.X509_servername', 'analyzer.ssh_enabled',
  'agent.flow.probes', 'agent.flow.stats_update',
  // The agent serves no API of its own (its flows go to the analyzer), and reads its capture
  // counters with each Stats message (agent.flow.stats_interval).
  'agent.listen', 'agent.capture.stats_update',
  // Skydive's sample file spells these, but Skydive reads min_port/max_port (§9.3).
  'agent.flow.pcapsocket.port_min', 'agent.flow.pcapsocket.port_max',
  'http.ws.enable_write_compression', 'http.ws.bulk_maxmsgs', 'http.ws.bulk_maxdelay',
  'storage.elasticsearch.exclude_from_mapping', 'storage.elasticsearch.use_flattened',
  'storage.elasticsearch.flattened_ignore_above', 'storage.elasticsearch.disable_sniffing',
  'storage.elasticsearch.disable_healthcheck', 'storage.elasticsearch.debug',
];
