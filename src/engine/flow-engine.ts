/**
 * One flow table in one WASM instance: configuration, batch feeding, the
 * Skydive timers, and draining of the flows it emits. This is what a worker
 * of the pipeline owns; pcap2flows drives one directly.
 */
import { loadCore, layerNames, type CoreExports } from '../wasm/module.js';
import { FlowRecordReader, type EmittedFlow, type JSONOut } from '../flow/record.js';
import { COUNTER_NAMES } from '../flow/counters.js';
import type { FlowEvent } from '../flow/types.js';
import { quoteGo } from '../format/json.js';

export type LayerKeyMode = 'L2' | 'L3';

/** Skydive capture ExtraLayers bits. */
export const EXTRA_LAYERS = { VRRP: 1, DNS: 2, DHCPv4: 4 } as const;

export interface EngineOptions {
  /** flow.max_entries (Skydive default 500000). */
  maxEntries?: number;
  layerKeyMode?: LayerKeyMode;
  extraTCPMetric?: boolean;
  reassembleTCP?: boolean;
  ipDefrag?: boolean;
  /** Bitmask of EXTRA_LAYERS. */
  extraLayers?: number;
  nodeTID?: string;
  captureID?: string;
  /** UDP port decoded as MPLS (Skydive's per-capture MPLSUDPPort); none by default. */
  mplsUDPPort?: number;
  /** Decode ERSPAN type I frames as type I (Skydive reads them as type II and loses 8 bytes). */
  erspanTypeI?: boolean;
  /** flow.application_ports: port -> name (upper-cased like Skydive). */
  applicationPorts?: { tcp?: Record<string, string>; udp?: Record<string, string> };
  /** flow.application_timeout: application name -> seconds (keys upper-cased). Skydive defaults ARP 10, DNS 10. */
  applicationTimeouts?: Record<string, number>;
  /** Use the debug build (assertions on). */
  debug?: boolean;
  /** Run in this memory (wasm/module.ts sharedCoreMemory), whose input region others may fill. */
  memory?: WebAssembly.Memory;
  /** The core compiled by another thread (wasm/module.ts compiledCore), of the build that `memory` selects. */
  module?: WebAssembly.Module;
}

export const SKYDIVE_DEFAULT_APP_TIMEOUTS: Record<string, number> = { ARP: 10, DNS: 10 };

/** A finished flow leaves the table at the first update tick this long after its last packet (assembly/flow/process.ts). */
export const HOLD_TIMEOUT_MS = 15_000;

/**
 * How long after its last packet an update tick may still remove a flow: the longest
 * application timeout, or the hold of finished flows. Past it, with no packet, only the expire
 * ticks remove flows (pipeline/tick-clock.ts skips the update ticks between).
 */
export function updateRemovalMs(opts: EngineOptions): number {
  let ms = HOLD_TIMEOUT_MS;
  for (const seconds of Object.values(opts.applicationTimeouts ?? SKYDIVE_DEFAULT_APP_TIMEOUTS)) {
    const t = Math.ceil(seconds * 1000);
    if (Number.isNaN(t)) return Infinity;
    ms = Math.max(ms, t);
  }
  return ms;
}

export class FlowEngine {
  readonly core: CoreExports;
  private readonly reader: FlowRecordReader;
  private readonly appNames: string[] = [''];

  constructor(opts: EngineOptions = {}) {
    const maxEntries = opts.maxEntries ?? 500000;
    this.core = loadCore(opts.debug ?? false, maxEntries, opts.memory, opts.module);
    const c = this.core;
    c.setOptions(
      opts.layerKeyMode === 'L3' ? 1 : 0,
      (opts.extraTCPMetric ?? true) ? 1 : 0,
      (opts.reassembleTCP ?? true) ? 1 : 0,
      (opts.ipDefrag ?? true) ? 1 : 0,
      opts.extraLayers ?? 0,
    );
    const tid = Buffer.from(opts.nodeTID ?? '', 'utf8');
    if (tid.length > 256) throw new Error('NodeTID longer than 256 bytes');
    new Uint8Array(c.memory.buffer, c.nodeTIDBuffer(), tid.length).set(tid);
    c.setNodeTIDLength(tid.length);
    if (opts.mplsUDPPort) c.setMPLSUDPPort(opts.mplsUDPPort);
    if (opts.erspanTypeI) c.setERSPANTypeI(1);
    this.configureApplications(opts);
    this.registerJSONText(opts);
    this.reader = new FlowRecordReader(c, { nodeTID: opts.nodeTID ?? '', captureID: opts.captureID ?? '', appNames: this.appNames });
  }

  private configureApplications(opts: EngineOptions): void {
    const c = this.core;
    const index = (name: string): number => {
      const up = name.toUpperCase();
      let i = this.appNames.indexOf(up);
      if (i < 0) {
        if (this.appNames.length >= 256) throw new Error('too many application names (max 255)');
        i = this.appNames.push(up) - 1;
      }
      return i;
    };
    for (const [proto, ports] of Object.entries(opts.applicationPorts ?? {})) {
      for (const [port, name] of Object.entries(ports ?? {})) {
        const p = Number(port);
        if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`flow.application_ports.${proto}: bad port ${port}`);
        c.setApplicationPort(proto === 'udp' ? 1 : 0, p, index(name));
      }
    }
    // Timeouts match the upper-cased key against Application, which is a
    // layer name or a port name: mixed-case layer names (ICMPv4) never match.
    const names = layerNames(c);
    for (const [app, seconds] of Object.entries(opts.applicationTimeouts ?? SKYDIVE_DEFAULT_APP_TIMEOUTS)) {
      const key = app.toUpperCase();
      const ms = BigInt(Math.round(seconds * 1000));
      names.forEach((n, id) => { if (n === key) c.setLayerTimeout(id, ms); });
      const ai = this.appNames.indexOf(key);
      if (ai > 0) c.setAppTimeout(ai, ms);
    }
  }

  /**
   * Gives the core the strings of the configuration that its JSON encoder
   * (jsonEncodeFlow) writes, each escaped once here as Go would (quoteGo),
   * in UTF-8 as the host writes its own JSON; empty ones are left out.
   */
  private registerJSONText(opts: EngineOptions): void {
    const c = this.core;
    const give = (text: string, set: (src: number, len: number) => number): void => {
      const bytes = Buffer.from(text ? quoteGo(text) : '', 'utf8');
      if (bytes.length > c.outputCapacity()) throw new Error(`configuration string too long for the JSON encoder: ${text.slice(0, 40)}…`);
      new Uint8Array(c.memory.buffer, c.outputBuffer(), bytes.length).set(bytes);
      if (!set(c.outputBuffer(), bytes.length)) throw new Error('skydive-ts: out of memory registering JSON strings');
    };
    give(opts.nodeTID ?? '', (src, len) => c.setJSONNodeTID(src, len));
    give(opts.captureID ?? '', (src, len) => c.setJSONCaptureID(src, len));
    this.appNames.forEach((name, i) => { if (i > 0) give(name, (src, len) => c.setJSONApplication(i, src, len)); });
  }

  /** The input region, as a view to fill with batch records (rebuilt after memory growth). */
  inputView(): Uint8Array {
    return new Uint8Array(this.core.memory.buffer, this.core.inputBuffer(), this.core.inputCapacity());
  }

  /** Processes `packets` records occupying `bytes` of the input region from `offset` on. */
  process(bytes: number, packets: number, linkTypeOverride = -1, offset = 0): number {
    return this.core.processBatch(this.core.inputBuffer() + offset, bytes, packets, linkTypeOverride);
  }

  updateTick(nowMs: number): void { this.core.updateTick(BigInt(nowMs)); }
  expireTick(nowMs: number): void { this.core.expireTick(BigInt(nowMs)); }
  connectionTick(nowMs: number): void { this.core.connectionTick(BigInt(nowMs) * 1000000n); }
  /** Capture stop: flush reassembly and expire every flow. */
  stop(): void { this.core.stopTable(); }

  /**
   * Capture stop in canonical order (sortKey), step 1: flushes reassembly
   * and returns the addresses of the flows still in the table, sorted by
   * the core. Each then leaves with stopFlow(address), emitted in that order.
   */
  stopBegin(): Uint32Array {
    const c = this.core;
    c.stopBegin();
    const n = c.stopOrderBuild();
    if (n < 0) throw new Error('flow table stop: no memory left to order the flows');
    return new Uint32Array(c.memory.buffer, c.stopOrderAddress(), n).slice();
  }

  stopFlow(address: number): void { this.core.stopFlow(address); }

  /** Sort key of the flow at `address` (in the table or emitted): see FlowRecordReader.sortKey. */
  sortKey(address: number): string { return this.reader.sortKey(address); }

  /** The flow record at `address` (emitted, in the table, or built by a test) as the host reads it. */
  flowAt(address: number): EmittedFlow { return this.reader.flowAt(address); }

  /** Hands every emitted flow to `visit` and frees the output. */
  drain(visit: (e: EmittedFlow) => void): number { return this.reader.drain(visit); }

  /**
   * Gives the sort key and Skydive JSON of every emitted flow whose event is
   * in `keep` to `out` (see FlowRecordReader.drainJSON: runs of records as
   * views valid during the call only) and frees the output.
   */
  drainJSON(keep: ReadonlySet<FlowEvent>, dropLastUpdateMetric: boolean, out: JSONOut): number {
    return this.reader.drainJSON(keep, dropLastUpdateMetric, out);
  }

  tableSize(): number { return this.core.tableSize(); }

  counters(): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    COUNTER_NAMES.forEach((name, i) => { out[name] = BigInt.asUintN(64, this.core.counterValue(i)); });
    out.emit_lost = BigInt(this.core.emitLost());
    out.defrag_evicted = BigInt.asUintN(64, this.core.defragEvictions());
    out.tcp_page_cap_flushes = BigInt.asUintN(64, this.core.tcpCapFlushes());
    out.tcp_dropped_segments = BigInt.asUintN(64, this.core.tcpDroppedSegments());
    return out;
  }
}
