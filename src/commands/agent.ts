/**
 * `skydive agent`: runs the captures listed in its configuration
 * (`agent.captures`, until the capture API exists), each with its own flow
 * table(s), and sends the flows Skydive's agent sends (each update tick's
 * updated flows with their LastUpdateMetric, expired flows, and every flow at
 * stop), with each capture's Stats every agent.flow.stats_interval seconds,
 * to the `analyzers` of the configuration: protobuf flow.Messages over UDP or
 * WebSocket (`flow.protocol`, src/agent/outputs.ts). Standalone (no
 * analyzer), it writes the flows as JSON lines to `agent.flow.output` (`-` =
 * stdout). SIGINT/SIGTERM stop the captures, flush the tables (the last flows
 * still go out) and print each capture's counters on stderr.
 */
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import { loadConfig, ConfigError, type Config } from '../config/load.js';
import type { EngineOptions } from '../engine/flow-engine.js';
import { flowTableOptions } from '../config/flow-table.js';
import { LivePipeline } from '../pipeline/live.js';
import { DEFAULT_HEADER_SIZE, LiveCapture, LiveCaptureError } from '../capture/live.js';
import { PcapSocketServer } from '../capture/pcapsocket.js';
import { SFlowCollector, SFLOW_DEFAULT_PORT } from '../capture/sflow.js';
import { parseExtraLayers } from './pcap2flows.js';
import { UsageError } from '../cli/errors.js';
import { analyzerOutput, standaloneOutput, tickFlows, type FlowOutput } from '../agent/outputs.js';
import { StatsReporter, type CaptureCounters } from '../agent/stats-reporter.js';

export const AGENT_USAGE = `usage: skydive agent [-c FILE]... [--host-id ID]
  -c, --conf FILE   configuration (YAML, Skydive's keys; repeatable, merged in order; - = stdin).
                    Default /etc/skydive/skydive.yml when it exists. SKYDIVE_* variables override.
  --host-id ID      host_id (default: the hostname)

The captures to run are listed under agent.captures (see etc/skydive.yml.default).
Flows go to the analyzers of the configuration (analyzers, or SKYDIVE_ANALYZERS="host:port")
over flow.protocol (udp or websocket); with no analyzers, they are written as JSON lines to
agent.flow.output.`;

/** One capture as configured (keys of CAPTURE_KEYS in src/config/keys.ts). */
interface CaptureConf {
  type: 'pcap' | 'afpacket' | 'sflow' | 'pcapsocket';
  name?: string; interface?: string; netns?: string; bpf?: string; header_size?: number; promiscuous?: boolean;
  bind_address?: string; port?: number; node_tid?: string; capture_id?: string;
  extra_tcp_metric?: boolean; ip_defrag?: boolean; reassemble_tcp?: boolean; layer_key_mode?: 'L2' | 'L3';
  extra_layers?: string[]; mpls_udp_port?: number;
}

/** A running capture: its source and its tables. */
interface Running {
  name: string;
  pipeline: LivePipeline;
  /** The capture's Stats for the analyzer. */
  reporter: StatsReporter;
  /** Stops the source (no more batches). */
  stopSource(): Promise<void>;
  /** Source counters in Skydive's names. */
  sourceStats(): Record<string, number | string>;
}

export interface AgentOptions { files: string[]; hostId?: string }

export function parseAgentArgs(argv: string[]): AgentOptions {
  const files: string[] = [];
  let hostId: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-c' || a === '--conf') {
      const f = argv[++i];
      if (f === undefined) throw new UsageError(`${a} needs a file`);
      files.push(f);
    } else if (a.startsWith('--conf=')) files.push(a.slice(7));
    else if (a === '--host-id') {
      hostId = argv[++i];
      if (hostId === undefined) throw new UsageError('--host-id needs a value');
    } else throw new UsageError(`unknown option ${a}\n${AGENT_USAGE}`);
  }
  if (files.length === 0 && existsSync('/etc/skydive/skydive.yml')) files.push('/etc/skydive/skydive.yml');
  return { files, hostId };
}

/** The flow engine options of a capture: Skydive's flow.* settings, then the capture's own. */
function engineOptions(config: Config, c: CaptureConf): EngineOptions {
  const table = flowTableOptions(config);
  return {
    ...table,
    layerKeyMode: c.layer_key_mode ?? table.layerKeyMode,
    extraTCPMetric: c.extra_tcp_metric ?? false,
    reassembleTCP: c.reassemble_tcp ?? false,
    ipDefrag: c.ip_defrag ?? false,
    extraLayers: c.extra_layers ? parseExtraLayers(c.extra_layers.join(',')) : 0,
    nodeTID: c.node_tid ?? '',
    captureID: c.capture_id ?? randomUUID(),
    mplsUDPPort: c.mpls_udp_port || undefined,
  };
}

function netnsPath(ns: string | undefined): string | undefined {
  if (!ns) return undefined;
  return ns.includes('/') ? ns : `/var/run/netns/${ns}`;
}

/** Runs the agent until `signal` aborts; resolves with each capture's final counters (and the output's last). */
export async function runAgent(opts: AgentOptions, out: Writable, log: (line: string) => void, signal: AbortSignal,
                               env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>[]> {
  let config: Config;
  try {
    config = loadConfig({ files: opts.files, env });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  for (const w of config.warnings) log(`warning: ${w}`);
  const captures = config.get<CaptureConf[]>('agent.captures');
  if (captures.length === 0) throw new UsageError('no capture configured: list them under agent.captures (see etc/skydive.yml.default)');

  const hostId = opts.hostId ?? config.get<string | undefined>('host_id') ?? hostname();
  // With analyzers, flows go to them (protobuf Messages); standalone, as JSON lines to agent.flow.output.
  const output = config.get<string[]>('analyzers').length > 0 ? analyzerOutput(config, hostId, log, tickFlows(config, captures.length)) : standaloneOutput(config, out);
  const running: Running[] = [];
  let statsTimer: NodeJS.Timeout | undefined;
  try {
    for (const [i, c] of captures.entries()) running.push(await startCapture(config, c, i, output, log));
    log(`agent ${hostId}: ${output.description}, ${running.length} capture(s): ${running.map((r) => r.name).join(', ')}`);
    statsTimer = setInterval(() => { for (const r of running) void sendStats(r, output); }, config.get<number>('agent.flow.stats_interval') * 1000);
    await new Promise<void>((resolve) => { if (signal.aborted) resolve(); else signal.addEventListener('abort', () => resolve(), { once: true }); });
  } catch (err) {
    for (const r of running) { await r.stopSource(); await r.pipeline.stop(); }
    await output.close();
    throw err;
  } finally {
    clearInterval(statsTimer);
  }
  const results: Record<string, unknown>[] = [];
  for (const r of running) {
    await r.stopSource();
    const counters = await r.pipeline.stop();
    output.stats(r.reporter.next(captureCounters(r, counters, 0)));
    results.push({
      capture: r.name, ...r.sourceStats(),
      PipelineDropped: r.pipeline.stats.PacketsDropped,
      Packets: Number(counters.packets ?? 0n), FlowsCreated: Number(counters.flows_created ?? 0n),
    });
  }
  const sent = await output.close();
  if (config.get<string[]>('analyzers').length > 0) results.push({ output: output.description, ...sent });
  return results;
}

/** A capture's counters for its Stats: the source's and the tables'. */
function captureCounters(r: Running, core: Record<string, bigint>, tableSize: number): CaptureCounters {
  const s = r.sourceStats();
  return {
    packetsReceived: Number(s.PacketsReceived ?? 0), packetsDropped: Number(s.PacketsDropped ?? 0),
    kernelFlowDropped: Number(s.KernelFlowDropped ?? 0),
    flowDropped: Number(core.flow_dropped ?? 0n), decodeFailures: Number(core.decode_failures ?? 0n), tableSize,
  };
}

async function sendStats(r: Running, output: FlowOutput): Promise<void> {
  const { counters, tableSize } = await r.pipeline.counters();
  if (Object.keys(counters).length === 0) return;
  output.stats(r.reporter.next(captureCounters(r, counters, tableSize)));
}

async function startCapture(config: Config, c: CaptureConf, index: number, output: FlowOutput,
                            log: (line: string) => void): Promise<Running> {
  const name = c.name ?? `${c.type}${c.interface ? `:${c.interface}` : ''}#${index}`;
  const engine = engineOptions(config, c);
  const reporter = new StatsReporter(engine.captureID ?? '');
  const pipeline = new LivePipeline({
    workers: config.get<number>('agent.flow.workers'),
    maxInFlight: config.get<number>('agent.flow.max_in_flight'),
    shard: {
      engine,
      format: output.format,
      // What Skydive's agent sends: updated flows at each update tick, expired ones, all at stop.
      events: ['update', 'expire', 'app-timeout', 'end'],
      dropLastUpdateMetric: false,
    },
    timers: { updateSeconds: config.get<number>('flow.update'), expireSeconds: config.get<number>('flow.expire') },
    onFlows: (g) => output.add(g),
    onError: (e) => log(`capture ${name}: ${String(e)}`),
  });
  try {
    switch (c.type) {
      case 'pcap':
      case 'afpacket': {
        if (!c.interface) throw new UsageError(`capture ${name}: a ${c.type} capture needs "interface"`);
        const cap = LiveCapture.open({
          interface: c.interface, netns: netnsPath(c.netns), headerSize: c.header_size || DEFAULT_HEADER_SIZE,
          promiscuous: c.promiscuous ?? true, bpf: c.bpf,
        });
        const loop = (async () => {
          for await (const b of cap) pipeline.offer(b.data.subarray(0, b.bytes), b.packets);
        })().catch((e) => log(`capture ${name}: ${String(e)}`));
        return {
          name, pipeline, reporter,
          stopSource: async () => { cap.close(); await loop; },
          sourceStats: () => {
            const s = cap.stats();
            return { PacketsReceived: s.PacketsReceived, PacketsDropped: s.PacketsDropped + pipeline.stats.PacketsDropped, PacketsIfDropped: s.PacketsIfDropped, KernelFlowDropped: s.KernelFlowDropped };
          },
        };
      }
      case 'pcapsocket': {
        const host = c.bind_address ?? config.get<string>('agent.flow.pcapsocket.bind_address');
        const server = await listenInRange(host, c.port, config.get<number>('agent.flow.pcapsocket.min_port'), config.get<number>('agent.flow.pcapsocket.max_port'),
          (port) => PcapSocketServer.listen({
            host, port, chunkBytes: pipeline.slotBytes,
            onRecords: async (data, records, layout) => { await pipeline.offerWait(data, records, layout); },
            onStreamError: (e) => log(`capture ${name}: stream refused: ${e.message}`),
          }));
        log(`capture ${name}: pcapsocket listening on ${server.address}`);
        return {
          name, pipeline, reporter,
          stopSource: () => server.close(),
          sourceStats: () => ({ PCAPSocket: server.address, PacketsReceived: server.stats.packets, PacketsDropped: 0, Connections: server.stats.connections, BadStreams: server.stats.badStreams, TruncatedStreams: server.stats.truncatedStreams }),
        };
      }
      case 'sflow': {
        const collector = await SFlowCollector.listen({
          // Skydive listens on the node's address; with no node, every address unless configured.
          address: c.bind_address ?? '0.0.0.0',
          port: c.port ?? SFLOW_DEFAULT_PORT,
          batchBytes: pipeline.slotBytes,
          onPackets: (data, records) => pipeline.offer(data, records),
          onError: (e) => log(`capture ${name}: ${e.message}`),
        });
        const where = collector.address;
        log(`capture ${name}: sFlow collector listening on ${where}`);
        return {
          name, pipeline, reporter,
          stopSource: () => collector.close(),
          sourceStats: () => {
            const s = collector.stats;
            return {
              SFlowSocket: where, PacketsReceived: s.PacketsReceived, PacketsDropped: s.PacketsDropped,
              DatagramsReceived: s.DatagramsReceived, DatagramsRejected: s.DatagramsRejected, FlowSamples: s.FlowSamples, CounterSamples: s.CounterSamples,
            };
          },
        };
      }
    }
  } catch (err) {
    await pipeline.stop();
    // A capture that cannot start (no such interface, bad filter, port taken) is a configuration problem.
    if (err instanceof LiveCaptureError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE' || (err as NodeJS.ErrnoException).code === 'EACCES') {
      throw new UsageError(`capture ${name}: ${(err as Error).message}`);
    }
    throw err;
  }
}

/** Listens on `port`, or on the first free port of [min, max] (Skydive's pcapsocket range). */
async function listenInRange<T>(host: string, port: number | undefined, min: number, max: number, listen: (port: number) => Promise<T>): Promise<T> {
  if (port) return listen(port);
  for (let p = min; p <= max; p++) {
    try {
      return await listen(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new UsageError(`no free port on ${host} between ${min} and ${max}`);
}
