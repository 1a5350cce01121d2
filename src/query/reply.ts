/**
 * Query replies (skydive-api.md §4.5) and their two renderings: a JSON-ready JavaScript value,
 * and JSON text exactly as Skydive writes it (flows through `flowToJSON`, Go's string escaping,
 * int64 values exact even beyond 2^53, map keys sorted as Go sorts them).
 */
import type { Flow, FlowMetric, FlowLayer, ICMPLayer, Int64, IPMetric, TCPMetric, TransportLayer } from '../flow/types.js';
import { flowToJSON, quoteGo } from '../format/json.js';
import type { MetricDelta } from '../store/types.js';
import { TCP_METRIC_KEYS } from './fields.js';

/**
 * A whole flow in a reply, rendered with Skydive's flow JSON. It holds what it reads the flow
 * from (a store's StoredFlow): the memory store decodes a flow from its record only when the
 * reply is rendered.
 */
export class FlowItem {
  constructor(private readonly from: { readonly flow: Flow }) {}

  get flow(): Flow {
    return this.from.flow;
  }
}

/** A Go map in a reply (Metrics results): keys are written sorted. */
export class MapReply {
  readonly entries: ReadonlyArray<readonly [string, ReplyValue]>;

  constructor(entries: Iterable<readonly [string, ReplyValue]>) {
    this.entries = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

/** A JSON object whose keys keep the order given (a Go struct). */
export type StructReply = { readonly [key: string]: ReplyValue };

export type ReplyValue =
  | null | boolean | number | bigint | string | FlowItem | MapReply | readonly ReplyValue[] | StructReply;

function int(v: Int64): number | bigint {
  return v;
}

/** FlowMetric / metric delta as Skydive's JSON object: RTT only when non-zero. */
export function metricReply(m: FlowMetric | MetricDelta): StructReply {
  const out: Record<string, ReplyValue> = {
    ABPackets: int(m.ABPackets), ABBytes: int(m.ABBytes), BAPackets: int(m.BAPackets), BABytes: int(m.BABytes),
    Start: int(m.Start), Last: int(m.Last),
  };
  if (m.RTT !== 0 && m.RTT !== 0n) out.RTT = int(m.RTT);
  return out;
}

function layerReply(l: FlowLayer): StructReply {
  const out: Record<string, ReplyValue> = { Protocol: l.Protocol };
  if (l.A) out.A = l.A;
  if (l.B) out.B = l.B;
  out.ID = int(l.ID);
  return out;
}

function transportReply(l: TransportLayer): StructReply {
  return { Protocol: l.Protocol, A: l.A, B: l.B, ID: l.ID };
}

function icmpReply(l: ICMPLayer): StructReply {
  const out: Record<string, ReplyValue> = { Type: l.Type };
  if (l.Code) out.Code = l.Code;
  if (l.ID) out.ID = l.ID;
  return out;
}

function tcpMetricReply(m: TCPMetric): StructReply {
  const out: Record<string, ReplyValue> = {};
  for (const k of TCP_METRIC_KEYS) {
    const v: Int64 = m[k];
    if ((k === 'ABSynTTL' || k === 'BASynTTL') && v === 0) continue;
    out[k] = v;
  }
  return out;
}

function ipMetricReply(m: IPMetric): StructReply {
  return { Fragments: int(m.Fragments), FragmentErrors: int(m.FragmentErrors) };
}

/** A block of a flow (Values('Network') and the like) as its JSON object. */
export function blockReply(name: string, value: object): ReplyValue {
  switch (name) {
    case 'Link': case 'Network': return layerReply(value as FlowLayer);
    case 'Transport': return transportReply(value as TransportLayer);
    case 'ICMP': return icmpReply(value as ICMPLayer);
    case 'Metric': case 'LastUpdateMetric': return metricReply(value as FlowMetric);
    case 'TCPMetric': return tcpMetricReply(value as TCPMetric);
    case 'IPMetric': return ipMetricReply(value as IPMetric);
    default: throw new Error(`no JSON shape for block ${name}`);
  }
}

function isStruct(v: ReplyValue): v is StructReply {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof FlowItem) && !(v instanceof MapReply);
}

/**
 * The reply as a value JSON.stringify accepts. int64 values beyond 2^53 become the nearest
 * double (only Link.ID of deep QinQ stacks gets there); `replyToJSON` keeps them exact.
 */
export function replyToValue(r: ReplyValue): unknown {
  if (r === null || typeof r === 'boolean' || typeof r === 'number' || typeof r === 'string') return r;
  if (typeof r === 'bigint') return Number(r);
  if (r instanceof FlowItem) return JSON.parse(flowToJSON(r.flow));
  if (r instanceof MapReply) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of r.entries) out[k] = replyToValue(v);
    return out;
  }
  if (Array.isArray(r)) return r.map(replyToValue);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r as StructReply)) out[k] = replyToValue(v);
  return out;
}

/** The reply as Skydive's JSON text. */
export function replyToJSON(r: ReplyValue): string {
  if (r === null) return 'null';
  if (typeof r === 'boolean') return r ? 'true' : 'false';
  if (typeof r === 'number') return Number.isFinite(r) ? JSON.stringify(r) : 'null';
  if (typeof r === 'bigint') return r.toString();
  if (typeof r === 'string') return quoteGo(r);
  if (r instanceof FlowItem) return flowToJSON(r.flow);
  if (r instanceof MapReply) return '{' + r.entries.map(([k, v]) => quoteGo(k) + ':' + replyToJSON(v)).join(',') + '}';
  if (Array.isArray(r)) {
    // Built in pieces: a reply can hold hundreds of thousands of flows.
    const parts: string[] = new Array(r.length);
    for (let i = 0; i < r.length; i++) parts[i] = replyToJSON(r[i]);
    return '[' + parts.join(',') + ']';
  }
  if (isStruct(r)) return '{' + Object.entries(r).map(([k, v]) => quoteGo(k) + ':' + replyToJSON(v)).join(',') + '}';
  throw new Error('unknown reply value');
}
