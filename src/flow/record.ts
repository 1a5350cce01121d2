/**
 * Turns the flow records the core emits (assembly/flow/emit.ts) into Flow
 * objects. Offsets come from the module's exported layout globals, so the
 * two sides cannot drift apart.
 */
import type { CoreExports } from '../wasm/module.js';
import { layerNames } from '../wasm/module.js';
import type { DNS, Flow, FlowEvent, FlowMetric, ICMPTypeName, Int64, TCPMetric } from './types.js';

const EXTRA_DHCPV4 = 1, EXTRA_DNS = 2, EXTRA_VRRP = 3;
import { hex64, ipv4Text, ipv6Text, macText } from './text.js';
import { readDNSExtract } from './dns.js';
import { bytesToGoString, flowToJSON } from '../format/json.js';

const ICMP_TYPES: ICMPTypeName[] = [
  'UNKNOWN', 'DESTINATION_UNREACHABLE', 'ECHO', 'NEIGHBOR', 'ADDRESS_MASK', 'INFO', 'PARAMETER_PROBLEM',
  'REDIRECT', 'ROUTER', 'SOURCE_QUENCH', 'TIME_EXCEEDED', 'TIMESTAMP', 'PACKET_TOO_BIG',
];

const EVENTS: FlowEvent[] = ['update', 'update', 'expire', 'app-timeout', 'end', 'hold-removed', 'expire', 'evicted'];

/** A flow as it left the table, with the reason. */
export interface EmittedFlow {
  flow: Flow;
  event: FlowEvent;
  /** EMIT_* code of the core (1 update ... 7 evicted). */
  reason: number;
  /** Raw extra-layer bytes (DNS/DHCPv4/VRRP message) and their kind (1 DHCPv4, 2 DNS, 3 VRRP). */
  extraKind: number;
  extra?: Uint8Array;
  extraTimestampNs: bigint;
  /** Address of the flow record in the module's memory; valid during the visit only (sortKey takes it). */
  address: number;
}

/** Where sortKey writes its key in the core's output region. */
const KEY_SCRATCH = 0;
/** The index of drainJSON's runs, at the start of the output region (the text follows). */
const RUN_INDEX_BYTES = 256 << 10;

/** Where drainJSON puts the flows: runs of records, or one record. */
export interface JSONOut {
  /**
   * One record and its sort key (plain string order of the keys is the
   * canonical order). `record` may be a view of memory that the next record
   * overwrites: keep a copy, not the view.
   */
  add(key: string, record: Uint8Array | string): void;
  /** Records back to back in `bytes`, record i ending at ends[i], with their keys; `bytes` as `add`'s `record`. */
  addRun(keys: string[], ends: number[], bytes: Uint8Array): void;
  /** Where, modulo 8, the next bytes added will be copied to. */
  phase(): number;
}

/** Integer that stays exact: a number when it fits in 2^53, else a bigint. */
function int64(v: bigint): Int64 {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

export interface RecordContext {
  nodeTID: string;
  captureID: string;
  /** Application names registered with setApplicationPort, by index. */
  appNames: string[];
}

export class FlowRecordReader {
  private readonly off: Record<string, number> = {};
  private readonly names: string[];
  readonly flowSize: number;
  private readonly runEntry: number;

  constructor(private readonly core: CoreExports, private readonly ctx: RecordContext) {
    for (const [k, v] of Object.entries(core)) {
      if (k.startsWith('FL_') || k.startsWith('FLB_') || k === 'FLOW_SIZE' || k === 'PATH_MAX') {
        this.off[k] = (v as WebAssembly.Global).value as number;
      }
    }
    this.flowSize = this.off.FLOW_SIZE;
    this.runEntry = (core as unknown as { RUN_ENTRY: WebAssembly.Global }).RUN_ENTRY.value as number;
    this.names = layerNames(core);
  }

  /** Reads every record emitted since the last release, then releases the chunks. */
  drain(visit: (e: EmittedFlow) => void): number {
    const core = this.core;
    const chunks = core.emitChunkCount();
    let n = 0;
    for (let c = 0; c < chunks; c++) {
      const base = core.emitChunkAddr(c);
      const len = core.emitChunkLength(c);
      const u8 = new Uint8Array(core.memory.buffer, base, len);
      const dv = new DataView(core.memory.buffer, base, len);
      let p = 0;
      while (p + 8 <= len) {
        const recLen = dv.getUint32(p, true);
        if (recLen === 0) break;
        visit(this.read(u8, dv, p + 8, base));
        p += recLen;
        n++;
      }
    }
    core.emitRelease();
    return n;
  }

  /**
   * drain for the JSON formats: each flow whose event `keep` holds, as its
   * sort key and its JSON, to `out`. The core writes both (assembly/format/
   * jsonrun.ts) into its output region, many flows a call, which go to
   * `out.addRun` as views of that region, valid during the call only. A
   * flow with an extra layer (DNS, DHCPv4, VRRP) is read into a Flow and
   * encoded by flowToJSON (the same bytes, as a string), to `out.add`.
   *
   * A run's text is written at the phase `out.phase()` gives: where, modulo
   * 8, it will be copied to. A copy out of a shared memory (the pipeline's
   * cores) goes by words only when its source and destination are alike
   * aligned, and otherwise byte by byte, three times slower.
   */
  drainJSON(keep: ReadonlySet<FlowEvent>, dropLastUpdateMetric: boolean, out: JSONOut): number {
    const core = this.core;
    let keepBits = 0;
    for (let r = 0; r < 32; r++) if (keep.has(EVENTS[r] ?? 'update')) keepBits |= 1 << r;
    const drop = dropLastUpdateMetric ? 1 : 0;
    const index = core.outputBuffer();
    const textCap = core.outputCapacity() - RUN_INDEX_BYTES - 8;
    let n = 0;
    core.jsonRunBegin();
    for (;;) {
      const text = index + RUN_INDEX_BYTES + (out.phase() & 7);
      const count = core.jsonRun(index, RUN_INDEX_BYTES, text, textCap, keepBits >>> 0, drop);
      if (count > 0) {
        const mem = Buffer.from(core.memory.buffer);
        const keys: string[] = new Array(count);
        const ends: number[] = new Array(count);
        for (let i = 0, e = index; i < count; i++, e += this.runEntry) {
          ends[i] = mem.readUInt32LE(e);
          keys[i] = mem.toString('latin1', e + 8, e + 8 + mem.readUInt32LE(e + 4));
        }
        out.addRun(keys, ends, mem.subarray(text, text + ends[count - 1]));
        n += count;
      }
      const host = core.jsonRunHostRecord();
      if (host !== 0) {
        // Before flowAt: reading a DNS record runs the core's parser, which may use the output region.
        const key = this.sortKey(host);
        const e = this.flowAt(host);
        if (dropLastUpdateMetric) delete e.flow.LastUpdateMetric;
        out.add(key, flowToJSON(e.flow));
        n++;
      } else if (count === 0) {
        break;
      }
    }
    core.emitRelease();
    return n;
  }

  /** Reads the flow record at `address` (emitted, in the table, or hand-built by a test). */
  flowAt(address: number): EmittedFlow {
    const buffer = this.core.memory.buffer;
    return this.read(new Uint8Array(buffer), new DataView(buffer), address, 0);
  }

  /**
   * The canonical output order of the flow at `address` (in the table or
   * emitted) as a string to compare: (Start, UUID, ParentUUID, LayersPath),
   * the order of Skydive's golden files, encoded by the core
   * (assembly/flow/sortkey.ts) as latin1 text.
   */
  sortKey(address: number): string {
    const core = this.core;
    const at = core.outputBuffer() + KEY_SCRATCH;
    const n = core.flowSortKeyInto(address, at);
    return Buffer.from(core.memory.buffer, at, n).toString('latin1');
  }

  private read(u8: Uint8Array, dv: DataView, at: number, base: number): EmittedFlow {
    const o = this.off;
    const u64 = (k: number) => dv.getBigUint64(at + k, true);
    const i64 = (k: number) => int64(dv.getBigInt64(at + k, true));
    const u16 = (k: number) => dv.getUint16(at + k, true);
    const u32 = (k: number) => dv.getUint32(at + k, true);
    const b8 = (k: number) => dv.getUint8(at + k);
    const bits = u16(o.FL_BITS);

    const pathLen = b8(o.FL_PATH_LEN);
    const parts: string[] = [];
    for (let i = 0; i < pathLen; i++) parts.push(this.names[b8(o.FL_PATH + i)]);
    let layersPath = parts.join('/');
    if (bits & o.FLB_LEADING_SLASH) layersPath = '/' + layersPath;
    const app = b8(o.FL_APP);
    const application = app ? this.ctx.appNames[app] ?? '' : parts.length ? parts[parts.length - 1] : '';

    const start = i64(o.FL_START);
    const last = i64(o.FL_LAST);
    const metric: FlowMetric = {
      ABPackets: i64(o.FL_AB_PACKETS), ABBytes: i64(o.FL_AB_BYTES),
      BAPackets: i64(o.FL_BA_PACKETS), BABytes: i64(o.FL_BA_BYTES),
      Start: start, Last: last, RTT: i64(o.FL_RTT),
    };
    const flow: Flow = {
      UUID: hex64(u64(o.FL_UUID)),
      LayersPath: layersPath,
      Application: application,
      Metric: metric,
      Start: start,
      Last: last,
      TrackingID: hex64(u64(o.FL_L2KEY)),
      L3TrackingID: hex64(u64(o.FL_L3KEY)),
      ParentUUID: bits & o.FLB_PARENT ? hex64(u64(o.FL_PARENT)) : '',
      NodeTID: this.ctx.nodeTID,
      CaptureID: this.ctx.captureID,
      RawPacketsCaptured: 0,
      FinishType: b8(o.FL_FINISH),
    };
    if (bits & o.FLB_LINK) {
      // Nil MACs (a short Ethernet after ERSPAN-II or MPLS) print as "" in Go.
      const nil = (bits & o.FLB_LINK_NIL) !== 0;
      flow.Link = {
        Protocol: 'ETHERNET', A: nil ? '' : macText(u8, at + o.FL_MAC_A), B: nil ? '' : macText(u8, at + o.FL_MAC_B), ID: i64(o.FL_LINK_ID),
      };
    }
    const np = b8(o.FL_NET_PROTO);
    if (np) {
      const nil = b8(o.FL_NET_A_NIL) !== 0;
      const text = np === 4 ? ipv4Text : ipv6Text;
      flow.Network = {
        Protocol: np === 4 ? 'IPV4' : 'IPV6',
        A: nil ? '<nil>' : text(u8, at + o.FL_NET_A),
        B: nil ? '<nil>' : text(u8, at + o.FL_NET_B),
        ID: i64(o.FL_NET_ID),
      };
      const icmp = b8(o.FL_ICMP_TYPE);
      if (icmp) flow.ICMP = { Type: ICMP_TYPES[icmp - 1] ?? 'UNKNOWN', Code: u32(o.FL_ICMP_CODE), ID: u32(o.FL_ICMP_ID) };
      const tp = b8(o.FL_TRANSPORT);
      if (tp) flow.Transport = { Protocol: tp === 1 ? 'TCP' : tp === 2 ? 'UDP' : 'SCTP', A: u16(o.FL_PORT_A), B: u16(o.FL_PORT_B), ID: 0 };
      if (bits & o.FLB_IP_METRIC) flow.IPMetric = { Fragments: i64(o.FL_IP_FRAGMENTS), FragmentErrors: i64(o.FL_IP_FRAG_ERRORS) };
    }
    if (bits & o.FLB_LUM) {
      const l = o.FL_LUM;
      flow.LastUpdateMetric = {
        ABPackets: i64(l), ABBytes: i64(l + 8), BAPackets: i64(l + 16), BABytes: i64(l + 24),
        Start: i64(l + 32), Last: i64(l + 40), RTT: i64(l + 48),
      };
    }
    if (bits & o.FLB_TCP_METRIC) flow.TCPMetric = this.tcpMetric(i64, u32);

    const reason = b8(o.FL_EMIT);
    const extraKind = b8(o.FL_EXTRA_KIND);
    const extraLen = u32(o.FL_EXTRA_LEN);
    const e: EmittedFlow = {
      flow, reason, event: EVENTS[reason] ?? 'update', extraKind,
      extraTimestampNs: dv.getBigInt64(at + o.FL_EXTRA_TS, true), address: base + at,
    };
    if (extraKind && extraLen) {
      const blob = at + this.flowSize;
      if (extraKind === EXTRA_DNS) flow.DNS = this.dns(base + blob, extraLen, e.extraTimestampNs);
      else if (extraKind === EXTRA_DHCPV4 && extraLen >= 200) {
        flow.DHCPv4 = {
          Flags: dv.getUint16(blob, true), Secs: dv.getUint16(blob + 2, true),
          HardwareLen: dv.getUint8(blob + 4), HardwareOpts: dv.getUint8(blob + 5),
          ServerName: bytesToGoString(u8.subarray(blob + 8, blob + 72)),
          File: bytesToGoString(u8.subarray(blob + 72, blob + 200)),
        };
      } else if (extraKind === EXTRA_VRRP && extraLen >= 4) {
        flow.VRRPv2 = { Version: dv.getUint8(blob), VirtualRtrID: dv.getUint8(blob + 1), Priority: dv.getUint8(blob + 2), AdverInt: dv.getUint8(blob + 3) };
      }
    }
    return e;
  }

  /** Parses a kept DNS message in the core (dnsExtract) and reads the compact result. */
  private dns(addr: number, len: number, tsNs: bigint): DNS | undefined {
    const core = this.core;
    const out = core.outputBuffer();
    const n = core.dnsExtract(addr, len, out, core.outputCapacity());
    if (n === 0) return undefined;
    return readDNSExtract(new DataView(core.memory.buffer, out, n), 0, n, tsNs);
  }

  private tcpMetric(i64: (k: number) => Int64, u32: (k: number) => number): TCPMetric {
    const o = this.off;
    const t = o.FL_TCP, ab = o.FL_TCP_AB, ba = o.FL_TCP_BA;
    return {
      ABSynStart: i64(t), BASynStart: i64(t + 8),
      ABSynTTL: u32(o.FL_SYN_TTL_AB), BASynTTL: u32(o.FL_SYN_TTL_BA),
      ABFinStart: i64(t + 16), BAFinStart: i64(t + 24), ABRstStart: i64(t + 32), BARstStart: i64(t + 40),
      ABSegmentOutOfOrder: i64(ab), ABSegmentSkipped: i64(ab + 8), ABSegmentSkippedBytes: i64(ab + 16),
      ABPackets: i64(ab + 24), ABBytes: i64(ab + 32), ABSawStart: i64(ab + 40), ABSawEnd: i64(ab + 48),
      BASegmentOutOfOrder: i64(ba), BASegmentSkipped: i64(ba + 8), BASegmentSkippedBytes: i64(ba + 16),
      BAPackets: i64(ba + 24), BABytes: i64(ba + 32), BASawStart: i64(ba + 40), BASawEnd: i64(ba + 48),
    };
  }
}
