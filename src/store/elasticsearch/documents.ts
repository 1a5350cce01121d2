/**
 * What the backend writes (flow-semantics.md §8) and how it reads it back.
 *
 * - A flow document is the flow's Skydive JSON (§9), with the flow UUID as document id: every
 *   update of a flow overwrites its document in the current index. Its version is the flow's
 *   Last (`external_gte`), so an older update replayed after a newer one (from the disk spill,
 *   or a retried request) cannot overwrite it.
 * - A metric document is a flow's LastUpdateMetric at the root plus a `Flow` summary. Skydive
 *   lets Elasticsearch pick its id; ours is UUID_Start_Last, so a batch written twice (a
 *   request that timed out but had succeeded) still leaves one document per update.
 *
 * Reading back fills every field the JSON leaves out when empty or zero, so a stored flow is
 * the same object as the one the agent sent (int64 values above 2^53 excepted: they come back
 * as the nearest double).
 */
import type {
  DHCPv4, DNS, DNSQuestion, DNSResourceRecord, Flow, FlowLayer, FlowMetric, ICMPLayer, ICMPTypeName, IPMetric,
  TCPMetric, TransportLayer, VRRPv2,
} from '../../flow/types.js';
import { bytesToGoString, flowToJSON, goStringToBytes } from '../../format/json.js';
import { currentDelta } from '../history.js';
import type { MetricDelta } from '../types.js';

/** One document waiting to be written. */
export interface DocOp {
  readonly kind: 'flow' | 'metric';
  readonly id: string;
  /** External version (flow documents only): the flow's Last in ms. */
  readonly version?: number;
  /** The document as JSON text. */
  readonly doc: string;
}

/** Flow fields copied into a metric document's `Flow` (§8); the strings are always written. */
const METRIC_FLOW_STRINGS = ['UUID', 'LayersPath', 'Application', 'TrackingID', 'L3TrackingID', 'ParentUUID', 'NodeTID'] as const;
const METRIC_FLOW_BLOCKS = ['Link', 'Network', 'Transport', 'ICMP', 'DHCPv4', 'DNS', 'VRRPv2'] as const;

function metricDocument(flowJSON: Record<string, unknown>, m: FlowMetric): string {
  const summary: Record<string, unknown> = {};
  for (const k of METRIC_FLOW_STRINGS) summary[k] = flowJSON[k] ?? '';
  for (const k of METRIC_FLOW_BLOCKS) if (flowJSON[k] !== undefined) summary[k] = flowJSON[k];
  summary.Start = flowJSON.Start;
  summary.Last = flowJSON.Last;
  const doc: Record<string, unknown> = {
    ABPackets: Number(m.ABPackets), ABBytes: Number(m.ABBytes), BAPackets: Number(m.BAPackets), BABytes: Number(m.BABytes),
    Start: Number(m.Start), Last: Number(m.Last),
  };
  if (Number(m.RTT) !== 0) doc.RTT = Number(m.RTT);
  doc.Flow = summary;
  return JSON.stringify(doc);
}

/** The documents one flow update gives: its flow document, and a metric document when it carries a delta. */
export function flowOps(flow: Flow, out: DocOp[]): void {
  const text = flowToJSON(flow);
  out.push({ kind: 'flow', id: flow.UUID, version: Number(flow.Last), doc: text });
  const m = currentDelta(flow);
  if (m === undefined) return;
  out.push({ kind: 'metric', id: `${flow.UUID}_${m.Start}_${m.Last}`, doc: metricDocument(JSON.parse(text) as Record<string, unknown>, m) });
}

type Json = Record<string, unknown>;

const str = (o: Json | undefined, k: string): string => (typeof o?.[k] === 'string' ? (o[k] as string) : '');
const num = (o: Json | undefined, k: string): number => (typeof o?.[k] === 'number' ? (o[k] as number) : 0);
const bool = (o: Json | undefined, k: string): boolean => o?.[k] === true;
const obj = (o: Json | undefined, k: string): Json | undefined =>
  typeof o?.[k] === 'object' && o[k] !== null && !Array.isArray(o[k]) ? (o[k] as Json) : undefined;
const list = (o: Json | undefined, k: string): Json[] => (Array.isArray(o?.[k]) ? (o[k] as Json[]) : []);
const fromBase64 = (o: Json | undefined, k: string): string =>
  typeof o?.[k] === 'string' ? bytesToGoString(Buffer.from(o[k] as string, 'base64')) : '';

function flowLayer(o: Json): FlowLayer {
  return { Protocol: str(o, 'Protocol') as FlowLayer['Protocol'], A: str(o, 'A'), B: str(o, 'B'), ID: num(o, 'ID') };
}

function transport(o: Json): TransportLayer {
  return { Protocol: str(o, 'Protocol') as TransportLayer['Protocol'], A: num(o, 'A'), B: num(o, 'B'), ID: num(o, 'ID') };
}

function icmp(o: Json): ICMPLayer {
  return { Type: str(o, 'Type') as ICMPTypeName, Code: num(o, 'Code'), ID: num(o, 'ID') };
}

function metric(o: Json): FlowMetric {
  return {
    ABPackets: num(o, 'ABPackets'), ABBytes: num(o, 'ABBytes'), BAPackets: num(o, 'BAPackets'), BABytes: num(o, 'BABytes'),
    Start: num(o, 'Start'), Last: num(o, 'Last'), RTT: num(o, 'RTT'),
  };
}

const TCP_METRIC_KEYS: readonly (keyof TCPMetric)[] = [
  'ABSynStart', 'BASynStart', 'ABSynTTL', 'BASynTTL', 'ABFinStart', 'BAFinStart', 'ABRstStart', 'BARstStart',
  'ABSegmentOutOfOrder', 'ABSegmentSkipped', 'ABSegmentSkippedBytes', 'ABPackets', 'ABBytes', 'ABSawStart', 'ABSawEnd',
  'BASegmentOutOfOrder', 'BASegmentSkipped', 'BASegmentSkippedBytes', 'BAPackets', 'BABytes', 'BASawStart', 'BASawEnd',
];

function tcpMetric(o: Json): TCPMetric {
  const m: Record<string, number> = {};
  for (const k of TCP_METRIC_KEYS) m[k] = num(o, k);
  return m as unknown as TCPMetric;
}

function ipMetric(o: Json): IPMetric {
  return { Fragments: num(o, 'Fragments'), FragmentErrors: num(o, 'FragmentErrors') };
}

function dhcpv4(o: Json): DHCPv4 {
  return {
    File: fromBase64(o, 'file'), Flags: num(o, 'flags'), HardwareLen: num(o, 'hardware_len'),
    HardwareOpts: num(o, 'hardware_opts'), ServerName: fromBase64(o, 'server_name'), Secs: num(o, 'secs'),
  };
}

function vrrpv2(o: Json): VRRPv2 {
  return { AdverInt: num(o, 'adver_int'), Priority: num(o, 'priority'), Version: num(o, 'version'), VirtualRtrID: num(o, 'VirtualRtrID') };
}

function question(o: Json): DNSQuestion {
  return { Name: str(o, 'name'), Type: str(o, 'type'), Class: str(o, 'class') };
}

function record(o: Json): DNSResourceRecord {
  const r: DNSResourceRecord = {
    Name: str(o, 'name'), Type: str(o, 'type'), Class: str(o, 'class'), TTL: num(o, 'TTL'), DataLength: num(o, 'data_length'),
  };
  // Optional members stay absent when empty, as the decoder leaves them.
  if (str(o, 'IP')) r.IP = str(o, 'IP');
  if (str(o, 'NS')) r.NS = str(o, 'NS');
  if (str(o, 'c_name')) r.CNAME = str(o, 'c_name');
  if (str(o, 'PTR')) r.PTR = str(o, 'PTR');
  if (Array.isArray(o.TXTs)) r.TXTs = (o.TXTs as unknown[]).map(String);
  const soa = obj(o, 'SOA');
  if (soa) {
    r.SOA = {
      MName: str(soa, 'm_name'), RName: str(soa, 'r_name'), Serial: num(soa, 'serial'), Refresh: num(soa, 'refresh'),
      Retry: num(soa, 'retry'), Expire: num(soa, 'expire'), Minimum: num(soa, 'minimum'),
    };
  }
  const srv = obj(o, 'SRV');
  if (srv) r.SRV = { Priority: num(srv, 'priority'), Weight: num(srv, 'weight'), Port: num(srv, 'port'), Name: str(srv, 'name') };
  const mx = obj(o, 'MX');
  if (mx) r.MX = { Preference: num(mx, 'preference'), Name: str(mx, 'name') };
  if (Array.isArray(o.OPT)) r.OPT = (o.OPT as Json[]).map((x) => ({ Code: str(x, 'code'), Data: goStringToBytes(str(x, 'data')) }));
  return r;
}

function dns(o: Json): DNS {
  const ts = obj(o, 'timestamp');
  return {
    ID: num(o, 'ID'), QR: bool(o, 'QR'), OpCode: str(o, 'op_code'), AA: bool(o, 'AA'), TC: bool(o, 'TC'),
    RD: bool(o, 'RD'), RA: bool(o, 'RA'), Z: num(o, 'z'), ResponseCode: str(o, 'response_code'),
    QDCount: num(o, 'q_d_count'), ANCount: num(o, 'a_n_count'), NSCount: num(o, 'n_s_count'), ARCount: num(o, 'a_r_count'),
    Questions: list(o, 'questions').map(question), Answers: list(o, 'answers').map(record),
    Authorities: list(o, 'authorities').map(record), Additionals: list(o, 'additionals').map(record),
    TimestampNs: BigInt(num(ts, 'seconds')) * 1_000_000_000n + BigInt(num(ts, 'nanos')),
  };
}

/** A flow document's `_source` back to the flow it was written from. */
export function flowFromDocument(src: Json): Flow {
  const flow: Flow = {
    UUID: str(src, 'UUID'), LayersPath: str(src, 'LayersPath'), Application: str(src, 'Application'),
    Metric: metric(obj(src, 'Metric') ?? {}),
    Start: num(src, 'Start'), Last: num(src, 'Last'),
    TrackingID: str(src, 'TrackingID'), L3TrackingID: str(src, 'L3TrackingID'), ParentUUID: str(src, 'ParentUUID'),
    NodeTID: str(src, 'NodeTID'), CaptureID: str(src, 'CaptureID'),
    RawPacketsCaptured: num(src, 'RawPacketsCaptured'), FinishType: num(src, 'FinishType'),
  };
  const blocks: Array<[string, (o: Json) => void]> = [
    ['Link', (o) => { flow.Link = flowLayer(o); }],
    ['Network', (o) => { flow.Network = flowLayer(o); }],
    ['Transport', (o) => { flow.Transport = transport(o); }],
    ['ICMP', (o) => { flow.ICMP = icmp(o); }],
    ['DHCPv4', (o) => { flow.DHCPv4 = dhcpv4(o); }],
    ['DNS', (o) => { flow.DNS = dns(o); }],
    ['VRRPv2', (o) => { flow.VRRPv2 = vrrpv2(o); }],
    ['LastUpdateMetric', (o) => { flow.LastUpdateMetric = metric(o); }],
    ['TCPMetric', (o) => { flow.TCPMetric = tcpMetric(o); }],
    ['IPMetric', (o) => { flow.IPMetric = ipMetric(o); }],
  ];
  for (const [key, set] of blocks) {
    const o = obj(src, key);
    if (o !== undefined) set(o);
  }
  return flow;
}

/** A metric document's `_source` as a delta. */
export function deltaFromDocument(src: Json): MetricDelta {
  return {
    ABPackets: num(src, 'ABPackets'), ABBytes: num(src, 'ABBytes'), BAPackets: num(src, 'BAPackets'), BABytes: num(src, 'BABytes'),
    Start: num(src, 'Start'), Last: num(src, 'Last'), RTT: num(src, 'RTT'),
  };
}
