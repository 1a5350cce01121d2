/**
 * Where a running agent's flows go: to the analyzers of its configuration (protobuf
 * `flow.Message`s over UDP or WebSocket, src/transport), or, standalone, as JSON lines to
 * `agent.flow.output`. The flow tables encode their records in the output's format, so
 * neither path decodes a flow again.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Config } from '../config/load.js';
import type { Stats } from '../flow/types.js';
import { FlowWriter } from '../format/writer.js';
import { AddressError, formatHostPort, parseHostPort } from '../net/host-port.js';
import { groupRecords, type FlowGroup } from '../pipeline/shard-task.js';
import type { FlowSender } from '../transport/sender.js';
import { UDPFlowSender } from '../transport/udp-sender.js';
import { WebSocketFlowSender } from '../transport/ws-sender.js';
import { UsageError } from '../cli/errors.js';

export interface FlowOutput {
  /** Record format the flow tables produce for this output. */
  readonly format: 'jsonl' | 'protobuf';
  /** For the start-up line. */
  readonly description: string;
  /** Flows that left a table (or were updated), as records of `format`. */
  add(group: FlowGroup): void;
  /** A capture's Stats (sent to analyzers; a standalone agent has no one to tell). */
  stats(s: Stats): void;
  /** Once every table has stopped: delivers what is left; gives counters for the last log line. */
  close(): Promise<Record<string, number | boolean>>;
}

/** How long a stopping agent tries to deliver the flows it still holds. */
const STOP_DELIVERY_MS = 5000;

/** JSON lines to agent.flow.output (`-`: `out`), pushed out at least once a second. */
export function standaloneOutput(config: Config, out: Writable): FlowOutput {
  const output = config.get<string>('agent.flow.output');
  const stream = output === '-' ? out : createWriteStream(output, { flags: 'a' });
  // A file stream, and process.stdout, are done with a chunk when they call back.
  const writer = new FlowWriter(stream, 'jsonl', { end: output !== '-', reuseBlocks: stream !== out || out === process.stdout });
  // Writes are chained: one record at a time, in the order the tables gave them.
  let writing = Promise.resolve();
  const flusher = setInterval(() => { writing = writing.then(() => writer.flush()); }, 1000);
  return {
    format: 'jsonl',
    description: 'standalone',
    add: (group) => { for (const r of groupRecords(group)) writing = writing.then(() => writer.writeRecord(r)); },
    stats: () => {},
    close: async () => {
      clearInterval(flusher);
      await writing;
      await writer.end();
      return { FlowsWritten: writer.written };
    },
  };
}

/** The `analyzers` list, parsed; a bad entry is a UsageError naming it. */
export function analyzerAddresses(list: string[]) {
  return list.map((a) => {
    try {
      return parseHostPort(a, '127.0.0.1');
    } catch (err) {
      if (err instanceof AddressError) throw new UsageError(`analyzers: ${err.message}`);
      throw err;
    }
  });
}

/** The most flows the tables of `captures` captures may hand over at one tick: every table full. */
export function tickFlows(config: Config, captures: number): number {
  return captures * config.get<number>('agent.flow.workers') * config.get<number>('flow.max_entries');
}

/**
 * Flows to the configured analyzers, with Skydive's flow.protocol. `surgeFlows` (tickFlows):
 * room beyond agent.flow.send_buffer while an analyzer takes the flows.
 */
export function analyzerOutput(config: Config, hostId: string, log: (line: string) => void, surgeFlows = 0): FlowOutput {
  const analyzers = analyzerAddresses(config.get<string[]>('analyzers'));
  const protocol = config.get<'udp' | 'websocket'>('flow.protocol');
  const common = { analyzers, hostId, maxBufferedFlows: config.get<number>('agent.flow.send_buffer'), surgeFlows, log };
  const sender: FlowSender = protocol === 'websocket'
    ? new WebSocketFlowSender({
      ...common, batchFlows: config.get<number>('agent.flow.websocket_batch'),
      silenceMs: 2 * 1000 * (config.get<number>('http.ws.ping_delay') + config.get<number>('http.ws.pong_timeout')),
    })
    : new UDPFlowSender({
      ...common, maxDatagramBytes: config.get<number>('agent.flow.udp_datagram_bytes'),
      maxFlowsPerSecond: config.get<number>('agent.flow.udp_max_rate'),
    });
  return {
    format: 'protobuf',
    description: `sending flows over ${protocol} to ${analyzers.map(formatHostPort).join(', ')}`,
    add: (group) => sender.sendRecords(groupRecords(group)),
    stats: (s) => sender.sendStats(s),
    close: async () => {
      await sender.close(STOP_DELIVERY_MS);
      const c = sender.counters;
      return { FlowsSent: c.flowsIn, FlowsDelivered: c.flowsDelivered, FlowsDropped: c.flowsDropped, StatsDropped: c.statsDropped, Connections: c.connections };
    },
  };
}
