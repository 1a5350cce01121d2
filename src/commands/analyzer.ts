/**
 * `skydive analyzer`: the flow analyzer (skydive-api.md §1.2) on `analyzer.listen` (default
 * 127.0.0.1:8082, or --listen): REST and WebSocket over HTTP, and flows from agents over UDP
 * on the same port number. Flows are kept in memory (analyzer.flow.max_flows, retention).
 * SIGINT/SIGTERM stop it cleanly.
 */
import { accessSync, constants } from 'node:fs';
import { hostname } from 'node:os';
import { makeDirs } from '../make-dirs.js';
import { ConfigError, type Config } from '../config/load.js';
import { loadCommandConfig } from '../cli/config.js';
import { UsageError } from '../cli/errors.js';
import { configFiles, parseOptions } from '../cli/options.js';
import { AddressError, formatHostPort, parseHostPort, type HostPort } from '../net/host-port.js';
import { startAnalyzer, type AnalyzerOptions, type RunningAnalyzer } from '../analyzer/server.js';
import { elasticsearchSettings } from '../store/elasticsearch/settings.js';
import { allTransports } from '../analyzer/intake.js';
import { flowTableOptions } from '../config/flow-table.js';

export const ANALYZER_USAGE = `usage: skydive analyzer [-c FILE]... [--listen HOST:PORT] [--host-id ID]
  -c, --conf FILE   configuration (YAML, Skydive's keys; repeatable, merged in order; - = stdin).
                    Default /etc/skydive/skydive.yml when it exists. SKYDIVE_* variables override.
  --listen ADDR     address and port of the REST/WebSocket API and of the UDP flow intake
                    (default analyzer.listen, 127.0.0.1:8082)
  --host-id ID      host_id, the Host of GET /api (default: the hostname)`;

export interface AnalyzerArgs { files: string[]; listen?: string; hostId?: string }

export function parseAnalyzerArgs(argv: string[]): AnalyzerArgs {
  const o = parseOptions(argv, { values: { conf: ['-c', '--conf'], listen: ['--listen'], hostId: ['--host-id'] }, repeatable: ['conf'] }, ANALYZER_USAGE);
  if (o.positional.length > 0) throw new UsageError(`unexpected argument ${o.positional[0]}\n${ANALYZER_USAGE}`);
  return { files: configFiles(o.values.conf), listen: o.values.listen?.[0], hostId: o.values.hostId?.[0] };
}

export function listenAddress(text: string, what: string): HostPort {
  try {
    return parseHostPort(text, '0.0.0.0');
  } catch (err) {
    if (err instanceof AddressError) throw new UsageError(`${what}: ${err.message}`);
    throw err;
  }
}

/** The analyzer's settings from the configuration. */
export function analyzerOptions(config: Config, args: AnalyzerArgs, log: (line: string) => void): AnalyzerOptions {
  const retention = config.get<number>('analyzer.flow.retention');
  return {
    listen: listenAddress(args.listen ?? config.get<string>('analyzer.listen'), args.listen ? '--listen' : 'analyzer.listen'),
    hostId: args.hostId ?? config.get<string | undefined>('host_id') ?? hostname(),
    store: {
      maxFlows: config.get<number>('analyzer.flow.max_flows'),
      retentionMs: retention === 0 ? Infinity : retention * 1000,
      maxHistoryPerFlow: config.get<number>('analyzer.flow.max_history'),
    },
    flowExpireMs: config.get<number>('flow.expire') * 1000,
    pcapEngine: flowTableOptions(config),
    pingDelayMs: config.get<number>('http.ws.ping_delay') * 1000,
    pongTimeoutMs: config.get<number>('http.ws.pong_timeout') * 1000,
    queueSize: config.get<number>('http.ws.queue_size'),
    bulkMaxFlows: config.get<number>('analyzer.flow.stream.bulk_max_flows'),
    bulkMaxDelayMs: config.get<number>('analyzer.flow.stream.bulk_max_delay') * 1000,
    elasticsearch: storageSettings(config),
    log,
  };
}

/** analyzer.flow.backend's settings; a bad storage value is a UsageError naming its key. */
function storageSettings(config: Config) {
  let settings;
  try {
    settings = elasticsearchSettings(config);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (settings === undefined) return undefined;
  // Checked now rather than when Elasticsearch first fails and documents need the disk.
  try {
    makeDirs(settings.spillDir);
    accessSync(settings.spillDir, constants.W_OK);
  } catch (err) {
    throw new UsageError(`storage.elasticsearch.spill_dir: cannot write to ${settings.spillDir}: ${(err as Error).message}`);
  }
  return settings;
}

/** Starts the analyzer; a port already taken or an address that is not ours is a UsageError. */
export async function startAnalyzerCommand(opts: AnalyzerOptions): Promise<RunningAnalyzer> {
  try {
    return await startAnalyzer(opts);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES' || code === 'ENOTFOUND' || /cannot listen/.test((err as Error).message)) {
      throw new UsageError(`cannot listen on ${formatHostPort(opts.listen)}: ${(err as Error).message}`);
    }
    throw err;
  }
}

/** Runs until `signal` aborts. */
export async function runAnalyzer(args: AnalyzerArgs, log: (line: string) => void, signal: AbortSignal,
                                  env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadCommandConfig(args.files, env);
  for (const w of config.warnings) log(`warning: ${w}`);
  const analyzer = await startAnalyzerCommand(analyzerOptions(config, args, log));
  log(`listening on ${formatHostPort(analyzer.address)} (http, websocket, udp flows)`);
  // allinone, our parent then, waits for this rather than for an answer on the port: another
  // process may already answer there.
  process.send?.({ type: 'listening', address: formatHostPort(analyzer.address) });
  await new Promise<void>((resolve) => { if (signal.aborted) resolve(); else signal.addEventListener('abort', () => resolve(), { once: true }); });
  await analyzer.close();
  log(`stopped: ${allTransports(analyzer.intake.counters.flows)} flows received, ${analyzer.store.size} stored`);
}
