/**
 * The Elasticsearch backend's settings, read from Skydive's `storage.elasticsearch.*` keys and
 * our extensions (src/config/keys.ts). Every value is checked here so that a bad one stops the
 * analyzer at start-up with the key's name, not later on the first write.
 */
import { ConfigError, type Config } from '../../config/load.js';

export interface ElasticsearchSettings {
  /** Node URLs, e.g. http://127.0.0.1:9200. */
  hosts: string[];
  username?: string;
  password?: string;
  /** Accept any TLS certificate (Skydive's ssl_insecure). */
  sslInsecure: boolean;
  /** Index and alias names start with it (`skydive_` gives `skydive_flow`). */
  indexPrefix: string;
  /** index.mapping.total_fields.limit of every index created. */
  totalFieldsLimit: number;
  /** A bulk request is sent when this many documents wait, or bulkMaxDelayMs after the first. */
  bulkMaxDocs: number;
  bulkMaxBytes: number;
  bulkMaxDelayMs: number;
  /** Bulk requests in flight at once. */
  bulkConcurrency: number;
  requestTimeoutMs: number;
  /** Rollover conditions (0 = none) and how many indices of each kind survive one (0 = all). */
  indexEntriesLimit: number;
  indexAgeLimitMs: number;
  indicesToKeep: number;
  rolloverIntervalMs: number;
  /** Documents held in memory; beyond, they wait on disk under spillDir, up to spillMaxBytes. */
  maxBufferDocs: number;
  spillDir: string;
  spillMaxBytes: number;
  /** Flows one history query lists at most (aggregations read every matching flow). */
  historyMaxFlows: number;
}

const KEY = 'storage.elasticsearch';

/** A host of `hosts` as a URL; Skydive also accepts a bare host:port. */
function hostURL(text: string, key: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`${key}: ${JSON.stringify(text)} is not a host URL such as http://127.0.0.1:9200`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${key}: ${JSON.stringify(text)} must use http or https`);
  }
  return withScheme.replace(/\/+$/, '');
}

/** The settings when `analyzer.flow.backend` is elasticsearch; undefined for the memory backend. */
export function elasticsearchSettings(config: Config): ElasticsearchSettings | undefined {
  if (config.get<string>('analyzer.flow.backend') !== 'elasticsearch') return undefined;
  const get = <T>(name: string): T => config.get<T>(`${KEY}.${name}`);
  const legacyHost = get<string | undefined>('host');
  let hosts = get<string[]>('hosts');
  // Skydive still honours the single `host` when `hosts` keeps its default.
  if (legacyHost !== undefined && hosts.length === 1 && hosts[0] === 'http://127.0.0.1:9200') hosts = [legacyHost];
  if (hosts.length === 0) throw new ConfigError(`${KEY}.hosts: at least one Elasticsearch URL is needed`);
  const prefix = get<string>('index_prefix');
  // Index names must be lower case and cannot hold these characters (Elasticsearch's rules).
  if (prefix !== prefix.toLowerCase() || /[\\/*?"<>| ,#:]/.test(prefix) || /^[-_+]/.test(prefix)) {
    throw new ConfigError(`${KEY}.index_prefix: ${JSON.stringify(prefix)} cannot start an index name (lower case, no \\/*?"<>| ,#:, not starting with -, _ or +)`);
  }
  const username = get<string | undefined>('auth.username');
  const password = get<string | undefined>('auth.password');
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError(`${KEY}.auth: give both username and password, or neither`);
  }
  const spillDir = get<string>('spill_dir');
  if (spillDir === '') throw new ConfigError(`${KEY}.spill_dir: a directory is needed`);
  return {
    hosts: hosts.map((h) => hostURL(h, `${KEY}.hosts`)),
    username, password,
    sslInsecure: get<boolean>('ssl_insecure'),
    indexPrefix: prefix,
    totalFieldsLimit: get<number>('total_fields_limit'),
    bulkMaxDocs: get<number>('bulk_max_docs'),
    bulkMaxBytes: get<number>('bulk_max_bytes'),
    bulkMaxDelayMs: get<number>('bulk_maxdelay') * 1000,
    bulkConcurrency: get<number>('bulk_concurrency'),
    requestTimeoutMs: get<number>('request_timeout') * 1000,
    indexEntriesLimit: get<number>('index_entries_limit'),
    // Minutes, as Skydive documents it (Skydive itself reads it as nanoseconds: docs/compat.md).
    indexAgeLimitMs: get<number>('index_age_limit') * 60_000,
    indicesToKeep: get<number>('indices_to_keep'),
    rolloverIntervalMs: get<number>('rollover_interval') * 1000,
    maxBufferDocs: config.get<number>('analyzer.flow.max_buffer_size'),
    spillDir,
    spillMaxBytes: get<number>('spill_max_bytes'),
    historyMaxFlows: get<number>('history_max_flows'),
  };
}
