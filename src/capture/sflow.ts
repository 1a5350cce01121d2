/**
 * Skydive's sFlow capture: a UDP listener for sFlow v5 datagrams (default 0.0.0.0:6343, the
 * capture's Port). Each datagram is decoded by the WASM core (sflow-decode.ts):
 *
 * - raw packet headers become batch records stamped with the reception time, as Skydive stamps
 *   them, and marked so that the flow tables count frame_length - stripped bytes per packet;
 *   the records of the datagrams read in one turn of the event loop are handed over together
 *   (`onPackets`, e.g. a LivePipeline's offer);
 * - counter samples update the SFlow metadata Skydive keeps (sflow-metrics.ts);
 * - flow samples feed the per-agent and per-data-source figures with estimated totals
 *   (sflow-sources.ts), which Skydive does not have.
 *
 * A datagram that is not sFlow v5, or whose lengths or counts do not hold, is rejected whole and
 * counted by reason; nothing in a datagram can throw or stop the collector.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { SFlowDecoder, SFLOW_REJECT_REASONS, type SFlowCounterRecord, type SFlowDatagram, type SFlowRejectReason } from './sflow-decode.js';
import { SFlowMetrics, type SFlowMetadata } from './sflow-metrics.js';
import { SFlowSources, type SFlowAgentInfo, type SFlowDataSource } from './sflow-sources.js';

/** Skydive's default sFlow capture port. */
export const SFLOW_DEFAULT_PORT = 6343;

export interface SFlowCollectorOptions {
  /** Listen address (Skydive: the node's IPv4, or 0.0.0.0); default 0.0.0.0. */
  address?: string;
  /** UDP port; default 6343, 0 picks a free one. */
  port?: number;
  /**
   * Receives batch records (pcapfile.ts layout) and their count; the bytes may be reused after
   * the call. Returning false means they were dropped (counted in PacketsDropped).
   */
  onPackets: (data: Uint8Array, records: number) => boolean | void;
  /** Largest batch handed over at once (default 1 MiB; a LivePipeline takes its slotBytes). */
  batchBytes?: number;
  /** Kernel receive buffer in bytes (SO_RCVBUF; default: the system's). */
  receiveBufferBytes?: number;
  /** Wall clock in ms (tests). */
  now?: () => number;
  /** Called for each rejected datagram (default: nothing; they are counted). */
  onReject?: (reason: SFlowRejectReason, message: string, from: string) => void;
  /** Socket errors after the bind (default: a line on stderr). */
  onError?: (err: Error) => void;
  /** Decode with the debug build of the core (assertions on). */
  debug?: boolean;
}

export interface SFlowCollectorStats {
  DatagramsReceived: number;
  DatagramsRejected: number;
  /** Rejected datagrams by reason (see SFLOW_REJECT_REASONS). */
  Rejected: Record<SFlowRejectReason, number>;
  FlowSamples: number;
  CounterSamples: number;
  /** Samples and records of formats the collector does not read, skipped by their length. */
  SamplesSkipped: number;
  RecordsSkipped: number;
  /** Raw headers whose stripped bytes exceed frame_length: not made into packets. */
  HeadersBadLength: number;
  /** Raw headers of a protocol other than Ethernet, IPv4 and IPv6 (decoded as Ethernet, as Skydive does). */
  HeadersOtherProtocol: number;
  /** Packets (raw headers) handed to the flow tables, and those the tables refused. */
  PacketsReceived: number;
  PacketsDropped: number;
}

function emptyStats(): SFlowCollectorStats {
  const rejected = {} as Record<SFlowRejectReason, number>;
  for (const r of SFLOW_REJECT_REASONS.slice(1) as SFlowRejectReason[]) rejected[r] = 0;
  return {
    DatagramsReceived: 0, DatagramsRejected: 0, Rejected: rejected, FlowSamples: 0, CounterSamples: 0,
    SamplesSkipped: 0, RecordsSkipped: 0, HeadersBadLength: 0, HeadersOtherProtocol: 0, PacketsReceived: 0, PacketsDropped: 0,
  };
}

export class SFlowCollector {
  readonly stats: SFlowCollectorStats = emptyStats();
  private readonly decoder: SFlowDecoder;
  private readonly counters = new SFlowMetrics();
  private readonly sourcesSeen = new SFlowSources();
  private readonly now: () => number;
  private readonly batch: Buffer;
  private batchUsed = 0;
  private batchRecords = 0;
  private flushPending: NodeJS.Immediate | undefined;
  private socket: Socket | undefined;

  constructor(private readonly opts: SFlowCollectorOptions) {
    this.decoder = new SFlowDecoder({ debug: opts.debug });
    this.now = opts.now ?? Date.now;
    this.batch = Buffer.alloc(Math.max(opts.batchBytes ?? 1 << 20, 65536 * 2));
  }

  /** Creates a collector listening on `address:port`. */
  static async listen(opts: SFlowCollectorOptions): Promise<SFlowCollector> {
    const c = new SFlowCollector(opts);
    await c.bind(opts.address ?? '0.0.0.0', opts.port ?? SFLOW_DEFAULT_PORT);
    return c;
  }

  private async bind(address: string, port: number): Promise<void> {
    const sock = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', recvBufferSize: this.opts.receiveBufferBytes });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, address, () => { sock.off('error', reject); resolve(); });
    });
    sock.on('message', (msg, rinfo) => this.receive(msg, `${rinfo.address}:${rinfo.port}`));
    sock.on('error', (err) => (this.opts.onError ?? ((e: Error) => process.stderr.write(`skydive: sflow socket: ${e.message}\n`)))(err));
    this.socket = sock;
  }

  /** host:port it listens on (Skydive's SFlowSocket capture attribute). */
  get address(): string {
    const a = this.socket!.address();
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  get port(): number { return this.socket!.address().port; }

  /**
   * Takes one datagram (a UDP payload) as if received now from `from`: what the socket does for
   * each message. Returns the decoded datagram, or undefined when it was rejected.
   */
  receive(msg: Uint8Array, from = ''): SFlowDatagram | undefined {
    const st = this.stats;
    st.DatagramsReceived++;
    const nowMs = this.now();
    const r = this.decoder.decode(msg, BigInt(nowMs) * 1_000_000n);
    if (!r.ok) {
      st.DatagramsRejected++;
      st.Rejected[r.reason]++;
      this.opts.onReject?.(r.reason, from ? `${r.message} from ${from}` : r.message, from);
      return undefined;
    }
    const d = r.datagram;
    st.SamplesSkipped += d.samplesSkipped;
    st.RecordsSkipped += d.recordsSkipped;
    st.HeadersBadLength += d.headersBadLength;
    st.HeadersOtherProtocol += d.headersOtherProtocol;
    const counters: SFlowCounterRecord[] = [];
    for (const s of d.samples) {
      if (s.kind === 'flow') st.FlowSamples++;
      else {
        st.CounterSamples++;
        counters.push(...s.counters);
      }
    }
    this.counters.update(counters, nowMs);
    this.sourcesSeen.add(d);
    if (r.packetCount > 0) this.append(r.packets, r.packetCount);
    return d;
  }

  private append(records: Uint8Array, n: number): void {
    if (this.batchUsed + records.length > this.batch.length) this.flush();
    this.batch.set(records, this.batchUsed);
    this.batchUsed += records.length;
    this.batchRecords += n;
    this.flushPending ??= setImmediate(() => this.flush());
  }

  /** Hands the records gathered so far to onPackets (done after each turn of the event loop). */
  flush(): void {
    if (this.flushPending) {
      clearImmediate(this.flushPending);
      this.flushPending = undefined;
    }
    if (this.batchRecords === 0) return;
    const n = this.batchRecords;
    const taken = this.opts.onPackets(this.batch.subarray(0, this.batchUsed), n);
    this.stats.PacketsReceived += n;
    if (taken === false) this.stats.PacketsDropped += n;
    this.batchUsed = 0;
    this.batchRecords = 0;
  }

  /** Skydive's `SFlow` node metadata: interface counters and their sums, from every agent. */
  sflow(): SFlowMetadata { return this.counters.metadata(); }

  /** The agents heard from. */
  agents(): SFlowAgentInfo[] { return this.sourcesSeen.agents(); }

  /** The data sources of flow samples, with sampling rates and estimated totals. */
  dataSources(): SFlowDataSource[] { return this.sourcesSeen.sources(); }

  /** Stops listening; the records gathered so far are handed over first. */
  async close(): Promise<void> {
    this.flush();
    const sock = this.socket;
    this.socket = undefined;
    if (sock) await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
}
