/**
 * Skydive's protobuf encoding of flows (schema: proto/flow.proto).
 *
 * The schema is loaded with protobufjs at run time, field names kept as written. protobufjs
 * writes fields in field-number order and, for proto3 scalars, leaves out default values, which is
 * what Skydive's gogo-generated code does; a sub-message that is set is written even when empty
 * (Go writes every non-nil pointer), so `Metric` is always on the wire.
 *
 * int64 values are taken from the model as number (safe integers) or bigint, and decoded back to
 * a number when they fit in 2^53, to a bigint otherwise. Byte-derived text (DNS names, TXT
 * strings, DHCPv4 ServerName/File) is a Go string in the model and raw bytes on the wire, see
 * `bytesToGoString`.
 *
 * Framings:
 * - `encodeMessage`: a `Message{Flows, Stats}`, what a Skydive agent sends to the analyzer (one
 *   UDP datagram or one WebSocket frame, unframed);
 * - `encodeFlowDelimited` / `decodeFlowStream`: the `--format protobuf` file and pipe output, a
 *   sequence of records, each a varint byte length followed by one encoded `Flow` (the usual
 *   length-delimited protobuf stream, as protobufjs `encodeDelimited` and Java
 *   `writeDelimitedTo` write it).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type protobuf from 'protobufjs';
import type {
  DHCPv4, DNS, DNSQuestion, DNSResourceRecord, Flow, FlowLayer, FlowMetric, ICMPLayer,
  ICMPTypeName, Int64, IPMetric, RawPacket, Stats, TCPMetric, TransportLayer, VRRPv2,
} from '../flow/types.js';
import { bytesToGoString, goStringToBytes } from './json.js';

/** The schema file: `proto/flow.proto` in the first ancestor directory that has one, so the same
 * lookup works from `src/format/` (tests, ts loaders) and from `dist/src/format/` (build). */
function findSchema(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'proto', 'flow.proto');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`proto/flow.proto not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

interface Schema {
  lib: typeof protobuf;
  Flow: protobuf.Type;
  Message: protobuf.Type;
  FlowProtocol: protobuf.Enum;
  ICMPType: protobuf.Enum;
}
let loaded: Schema | undefined;

/**
 * protobufjs and the schema, loaded on first use: about 40 ms at start-up
 * (in every worker thread) that the JSON formats never pay.
 */
function schema(): Schema {
  if (!loaded) {
    const lib = createRequire(import.meta.url)('protobufjs') as typeof protobuf;
    const root = new lib.Root().loadSync(findSchema(), { keepCase: true });
    loaded = {
      lib, Flow: root.lookupType('flow.Flow'), Message: root.lookupType('flow.Message'),
      FlowProtocol: root.lookupEnum('flow.FlowProtocol'), ICMPType: root.lookupEnum('flow.ICMPType'),
    };
  }
  return loaded;
}

/** A plain object in the shape protobufjs encodes (keys = proto field names). */
type Wire = Record<string, unknown>;

/** What protobufjs takes for an int64: a number, or the two's complement halves of a bigint. */
type WireLong = number | { low: number; high: number };

function toWireLong(v: Int64): WireLong {
  if (typeof v === 'number') return v;
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0 };
}

/** A decoded int64 (a Long when the `long` package is present, else a number) as an Int64. */
function fromWireLong(v: unknown): Int64 {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return 0;
  const { low, high } = v as { low: number; high: number };
  const big = (BigInt(high | 0) << 32n) | BigInt(low >>> 0);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** For model fields typed `number` that are int64 on the wire. */
function fromWireNumber(v: unknown): number {
  return Number(fromWireLong(v));
}

function enumValue(e: protobuf.Enum, name: string): number {
  const value = e.values[name];
  if (value === undefined) throw new Error(`${e.name} has no value ${name}`);
  return value;
}

function enumName<T extends string>(e: protobuf.Enum, value: unknown): T {
  const name = e.valuesById[Number(value ?? 0)];
  if (name === undefined) throw new Error(`${e.name} has no value ${String(value)}`);
  return name as T;
}

function flowLayerToWire(l: FlowLayer): Wire {
  return { Protocol: enumValue(schema().FlowProtocol, l.Protocol), A: l.A, B: l.B, ID: toWireLong(l.ID) };
}

function transportToWire(l: TransportLayer): Wire {
  return { Protocol: enumValue(schema().FlowProtocol, l.Protocol), A: l.A, B: l.B, ID: l.ID };
}

function icmpToWire(l: ICMPLayer): Wire {
  return { Type: enumValue(schema().ICMPType, l.Type), Code: l.Code, ID: l.ID };
}

function metricToWire(m: FlowMetric): Wire {
  return {
    ABPackets: toWireLong(m.ABPackets), ABBytes: toWireLong(m.ABBytes),
    BAPackets: toWireLong(m.BAPackets), BABytes: toWireLong(m.BABytes),
    Start: toWireLong(m.Start), Last: toWireLong(m.Last), RTT: toWireLong(m.RTT),
  };
}

const TCP_METRIC_INT64 = [
  'ABSynStart', 'BASynStart', 'ABFinStart', 'BAFinStart', 'ABRstStart', 'BARstStart',
  'ABSegmentOutOfOrder', 'ABSegmentSkipped', 'ABSegmentSkippedBytes', 'ABPackets', 'ABBytes', 'ABSawStart',
  'ABSawEnd', 'BASegmentOutOfOrder', 'BASegmentSkipped', 'BASegmentSkippedBytes', 'BAPackets', 'BABytes',
  'BASawStart', 'BASawEnd',
] as const;

function tcpMetricToWire(m: TCPMetric): Wire {
  const w: Wire = { ABSynTTL: m.ABSynTTL, BASynTTL: m.BASynTTL };
  for (const k of TCP_METRIC_INT64) w[k] = toWireLong(m[k]);
  return w;
}

function ipMetricToWire(m: IPMetric): Wire {
  return { Fragments: toWireLong(m.Fragments), FragmentErrors: toWireLong(m.FragmentErrors) };
}

function rawPacketToWire(p: RawPacket): Wire {
  return { Timestamp: toWireLong(p.Timestamp), Index: toWireLong(p.Index), Data: p.Data, LinkType: p.LinkType };
}

function dhcpv4ToWire(d: DHCPv4): Wire {
  return {
    hardware_len: d.HardwareLen, hardware_opts: d.HardwareOpts, secs: d.Secs, flags: d.Flags,
    server_name: goStringToBytes(d.ServerName), file: goStringToBytes(d.File),
  };
}

function vrrpv2ToWire(v: VRRPv2): Wire {
  return { version: v.Version, virtual_rtr_id: v.VirtualRtrID, priority: v.Priority, adver_int: v.AdverInt };
}

function questionToWire(q: DNSQuestion): Wire {
  return { name: goStringToBytes(q.Name), type: q.Type, class: q.Class };
}

/** An optional Go string: absent (undefined) stays absent. */
function optionalBytes(s: string | undefined): Uint8Array | undefined {
  return s === undefined ? undefined : goStringToBytes(s);
}

function recordToWire(r: DNSResourceRecord): Wire {
  return {
    name: goStringToBytes(r.Name), type: r.Type, class: r.Class, ttl: r.TTL, data_length: r.DataLength,
    ip: r.IP, ns: optionalBytes(r.NS), cname: optionalBytes(r.CNAME), ptr: optionalBytes(r.PTR),
    txts: r.TXTs?.map(goStringToBytes),
    soa: r.SOA && {
      mname: goStringToBytes(r.SOA.MName), rname: goStringToBytes(r.SOA.RName), serial: r.SOA.Serial,
      refresh: r.SOA.Refresh, retry: r.SOA.Retry, expire: r.SOA.Expire, minimum: r.SOA.Minimum,
    },
    srv: r.SRV && { priority: r.SRV.Priority, weight: r.SRV.Weight, port: r.SRV.Port, name: goStringToBytes(r.SRV.Name) },
    mx: r.MX && { preference: r.MX.Preference, name: goStringToBytes(r.MX.Name) },
    opt: r.OPT?.map((o) => ({ code: o.Code, data: o.Data })),
  };
}

const NS_PER_S = 1_000_000_000n;

function dnsToWire(d: DNS): Wire {
  let seconds = d.TimestampNs / NS_PER_S;
  let nanos = d.TimestampNs % NS_PER_S;
  if (nanos < 0n) {
    seconds -= 1n;
    nanos += NS_PER_S;
  }
  return {
    id: d.ID, qr: d.QR, op_code: d.OpCode, aa: d.AA, tc: d.TC, rd: d.RD, ra: d.RA, z: d.Z,
    response_code: d.ResponseCode, qdcount: d.QDCount, ancount: d.ANCount, nscount: d.NSCount, arcount: d.ARCount,
    questions: d.Questions.map(questionToWire),
    answers: d.Answers.map(recordToWire),
    authorities: d.Authorities.map(recordToWire),
    additionals: d.Additionals.map(recordToWire),
    timestamp: { seconds: toWireLong(seconds), nanos: Number(nanos) },
  };
}

function flowToWire(f: Flow): Wire {
  return {
    UUID: f.UUID, LayersPath: f.LayersPath, Application: f.Application, ParentUUID: f.ParentUUID,
    Start: toWireLong(f.Start), Last: toWireLong(f.Last),
    Link: f.Link && flowLayerToWire(f.Link),
    Network: f.Network && flowLayerToWire(f.Network),
    Transport: f.Transport && transportToWire(f.Transport),
    ICMP: f.ICMP && icmpToWire(f.ICMP),
    LastUpdateMetric: f.LastUpdateMetric && metricToWire(f.LastUpdateMetric),
    Metric: metricToWire(f.Metric),
    NodeTID: f.NodeTID, CaptureID: f.CaptureID,
    LastRawPackets: f.LastRawPackets?.map(rawPacketToWire),
    RawPacketsCaptured: f.RawPacketsCaptured,
    TCPMetric: f.TCPMetric && tcpMetricToWire(f.TCPMetric),
    IPMetric: f.IPMetric && ipMetricToWire(f.IPMetric),
    TrackingID: f.TrackingID, L3TrackingID: f.L3TrackingID,
    FinishType: f.FinishType,
    DHCPv4: f.DHCPv4 && dhcpv4ToWire(f.DHCPv4),
    DNS: f.DNS && dnsToWire(f.DNS),
    VRRPv2: f.VRRPv2 && vrrpv2ToWire(f.VRRPv2),
  };
}

function statsToWire(s: Stats): Wire {
  return {
    CaptureID: s.CaptureID, FlowCount: toWireLong(s.FlowCount), FlowDropped: toWireLong(s.FlowDropped),
    KernelFlowDropped: toWireLong(s.KernelFlowDropped), PacketsReceived: toWireLong(s.PacketsReceived),
    PacketsDropped: toWireLong(s.PacketsDropped),
    DecodeFailures: s.DecodeFailures === undefined ? undefined : toWireLong(s.DecodeFailures),
  };
}

/** A decoded message: fields are read by name; absent sub-messages are null or undefined. */
type Decoded = Record<string, any>;

const EMPTY_BYTES = new Uint8Array(0);

function goString(bytes: Uint8Array | null | undefined): string {
  return bytesToGoString(bytes ?? EMPTY_BYTES);
}

/** An optional Go-string field: present in the model only when non-empty on the wire. */
function optionalGoString(bytes: Uint8Array | null | undefined): string | undefined {
  return bytes && bytes.length > 0 ? bytesToGoString(bytes) : undefined;
}

function flowLayerFromWire(m: Decoded): FlowLayer {
  return {
    Protocol: enumName<FlowLayer['Protocol']>(schema().FlowProtocol, m.Protocol), A: m.A, B: m.B, ID: fromWireLong(m.ID),
  };
}

function transportFromWire(m: Decoded): TransportLayer {
  return {
    Protocol: enumName<TransportLayer['Protocol']>(schema().FlowProtocol, m.Protocol),
    A: fromWireNumber(m.A), B: fromWireNumber(m.B), ID: fromWireNumber(m.ID),
  };
}

function icmpFromWire(m: Decoded): ICMPLayer {
  return { Type: enumName<ICMPTypeName>(schema().ICMPType, m.Type), Code: m.Code, ID: m.ID };
}

function metricFromWire(m: Decoded): FlowMetric {
  return {
    ABPackets: fromWireLong(m.ABPackets), ABBytes: fromWireLong(m.ABBytes),
    BAPackets: fromWireLong(m.BAPackets), BABytes: fromWireLong(m.BABytes),
    Start: fromWireLong(m.Start), Last: fromWireLong(m.Last), RTT: fromWireLong(m.RTT),
  };
}

function tcpMetricFromWire(m: Decoded): TCPMetric {
  const t = { ABSynTTL: m.ABSynTTL, BASynTTL: m.BASynTTL } as TCPMetric;
  for (const k of TCP_METRIC_INT64) t[k] = fromWireLong(m[k]);
  return t;
}

function recordFromWire(m: Decoded): DNSResourceRecord {
  const r: DNSResourceRecord = {
    Name: goString(m.name), Type: m.type, Class: m.class, TTL: m.ttl, DataLength: m.data_length,
  };
  if (m.ip) r.IP = m.ip;
  const ns = optionalGoString(m.ns);
  if (ns !== undefined) r.NS = ns;
  const cname = optionalGoString(m.cname);
  if (cname !== undefined) r.CNAME = cname;
  const ptr = optionalGoString(m.ptr);
  if (ptr !== undefined) r.PTR = ptr;
  if (m.txts.length > 0) r.TXTs = m.txts.map(goString);
  if (m.soa) {
    r.SOA = {
      MName: goString(m.soa.mname), RName: goString(m.soa.rname), Serial: m.soa.serial, Refresh: m.soa.refresh,
      Retry: m.soa.retry, Expire: m.soa.expire, Minimum: m.soa.minimum,
    };
  }
  if (m.srv) r.SRV = { Priority: m.srv.priority, Weight: m.srv.weight, Port: m.srv.port, Name: goString(m.srv.name) };
  if (m.mx) r.MX = { Preference: m.mx.preference, Name: goString(m.mx.name) };
  if (m.opt.length > 0) r.OPT = m.opt.map((o: Decoded) => ({ Code: o.code, Data: new Uint8Array(o.data) }));
  return r;
}

function dnsFromWire(m: Decoded): DNS {
  const ts = m.timestamp;
  return {
    ID: m.id, QR: m.qr, OpCode: m.op_code, AA: m.aa, TC: m.tc, RD: m.rd, RA: m.ra, Z: m.z,
    ResponseCode: m.response_code, QDCount: m.qdcount, ANCount: m.ancount, NSCount: m.nscount, ARCount: m.arcount,
    Questions: m.questions.map((q: Decoded) => ({ Name: goString(q.name), Type: q.type, Class: q.class })),
    Answers: m.answers.map(recordFromWire),
    Authorities: m.authorities.map(recordFromWire),
    Additionals: m.additionals.map(recordFromWire),
    TimestampNs: ts ? BigInt(fromWireLong(ts.seconds)) * NS_PER_S + BigInt(ts.nanos) : 0n,
  };
}

/** Wire → model. Optional parts are set only when present; a missing Metric decodes as zeros. */
function flowFromWire(m: Decoded): Flow {
  const f: Flow = {
    UUID: m.UUID, LayersPath: m.LayersPath, Application: m.Application,
    Metric: m.Metric ? metricFromWire(m.Metric) : metricFromWire({}),
    Start: fromWireLong(m.Start), Last: fromWireLong(m.Last),
    TrackingID: m.TrackingID, L3TrackingID: m.L3TrackingID, ParentUUID: m.ParentUUID,
    NodeTID: m.NodeTID, CaptureID: m.CaptureID,
    RawPacketsCaptured: fromWireNumber(m.RawPacketsCaptured),
    FinishType: m.FinishType,
  };
  if (m.Link) f.Link = flowLayerFromWire(m.Link);
  if (m.Network) f.Network = flowLayerFromWire(m.Network);
  if (m.Transport) f.Transport = transportFromWire(m.Transport);
  if (m.ICMP) f.ICMP = icmpFromWire(m.ICMP);
  if (m.DHCPv4) {
    const d = m.DHCPv4;
    f.DHCPv4 = {
      File: goString(d.file), Flags: d.flags, HardwareLen: d.hardware_len, HardwareOpts: d.hardware_opts,
      ServerName: goString(d.server_name), Secs: d.secs,
    };
  }
  if (m.DNS) f.DNS = dnsFromWire(m.DNS);
  if (m.VRRPv2) {
    const v = m.VRRPv2;
    f.VRRPv2 = { AdverInt: v.adver_int, Priority: v.priority, Version: v.version, VirtualRtrID: v.virtual_rtr_id };
  }
  if (m.LastUpdateMetric) f.LastUpdateMetric = metricFromWire(m.LastUpdateMetric);
  if (m.TCPMetric) f.TCPMetric = tcpMetricFromWire(m.TCPMetric);
  if (m.IPMetric) f.IPMetric = { Fragments: fromWireLong(m.IPMetric.Fragments), FragmentErrors: fromWireLong(m.IPMetric.FragmentErrors) };
  if (m.LastRawPackets.length > 0) {
    f.LastRawPackets = m.LastRawPackets.map((p: Decoded): RawPacket => ({
      Timestamp: fromWireLong(p.Timestamp), Index: fromWireLong(p.Index), Data: new Uint8Array(p.Data),
      LinkType: p.LinkType,
    }));
  }
  return f;
}

function statsFromWire(m: Decoded): Stats {
  const s: Stats = {
    CaptureID: m.CaptureID, FlowCount: fromWireLong(m.FlowCount), FlowDropped: fromWireLong(m.FlowDropped),
    KernelFlowDropped: fromWireLong(m.KernelFlowDropped), PacketsReceived: fromWireLong(m.PacketsReceived),
    PacketsDropped: fromWireLong(m.PacketsDropped),
  };
  const decodeFailures = fromWireLong(m.DecodeFailures);
  if (decodeFailures !== 0) s.DecodeFailures = decodeFailures;
  return s;
}

/** One `flow.Flow`, unframed. */
export function encodeFlow(flow: Flow): Uint8Array {
  return schema().Flow.encode(flowToWire(flow)).finish();
}

/** One `flow.Flow` preceded by its varint byte length: a record of the `--format protobuf` stream. */
export function encodeFlowDelimited(flow: Flow): Uint8Array {
  return schema().Flow.encodeDelimited(flowToWire(flow)).finish();
}

export function decodeFlow(bytes: Uint8Array): Flow {
  return flowFromWire(schema().Flow.decode(bytes) as Decoded);
}

/** Every flow of a length-delimited stream (see `encodeFlowDelimited`). */
export function decodeFlowStream(bytes: Uint8Array): Flow[] {
  const reader = schema().lib.Reader.create(bytes);
  const flows: Flow[] = [];
  while (reader.pos < reader.len) flows.push(flowFromWire(schema().Flow.decodeDelimited(reader) as Decoded));
  return flows;
}

/** A `flow.Message`, as an agent sends it: flows, or stats alone (Skydive never mixes them). */
export function encodeMessage(flows: Flow[], stats?: Stats): Uint8Array {
  return schema().Message.encode({ Flows: flows.map(flowToWire), Stats: stats && statsToWire(stats) }).finish();
}

export function decodeMessage(bytes: Uint8Array): { flows: Flow[]; stats?: Stats } {
  const m = schema().Message.decode(bytes) as Decoded;
  const flows: Flow[] = m.Flows.map(flowFromWire);
  return m.Stats ? { flows, stats: statsFromWire(m.Stats) } : { flows };
}
