/**
 * A fast reader of `flow.Message`, the analyzer's intake format: the protobuf agents send over
 * UDP and WebSocket (proto/flow.proto). It gives exactly what `decodeMessage` of protobuf.ts
 * gives (the same Flow objects, with the same optional parts present), about ten times faster:
 * fields are read straight from the bytes into the model, without protobufjs' intermediate
 * objects and without a BigInt per int64 field.
 *
 * Flows that carry the rare parts (LastRawPackets, DHCPv4, DNS, VRRPv2) are handed whole to
 * protobuf.ts' `decodeFlow`. Unknown fields are skipped, and so are known fields that arrive
 * with another wire type (as Go's decoder treats them). Input from the network is untrusted:
 * every length is checked against the bytes left, and any malformed input throws a
 * `MessageFormatError` (never reads out of range, never loops on bad data).
 */
import type {
  FlowLayer, Flow, FlowMetric, ICMPLayer, ICMPTypeName, Int64, IPMetric, Stats, TCPMetric, TransportLayer,
} from '../flow/types.js';
import { decodeFlow } from './protobuf.js';
import {
  asBuffer, Cursor, FLOW_PROTOCOLS, ICMP_TYPES, int64, key, length, MessageFormatError, isRareFlowField, skip, sub,
  varint32, WIRE_LEN, WIRE_VARINT,
} from './proto-cursor.js';

export { MessageFormatError } from './proto-cursor.js';

function string(c: Cursor): string {
  const n = length(c);
  const s = c.buf.toString('utf8', c.pos, c.pos + n);
  c.pos += n;
  return s;
}

/**
 * Strings that many flows share (addresses, LayersPath, Application, NodeTID, CaptureID), as
 * one object each: an analyzer holding a million flows would otherwise hold a million copies
 * of "Ethernet/IPv4/TCP" (about 200 bytes a flow in all, and as many objects for the garbage
 * collector to mark), and the store's indexes then compare them by identity.
 *
 * A direct-mapped cache keyed by a hash of the bytes: a hit costs no string at all (the bytes
 * are compared with the cached string's characters), a miss decodes and takes the slot. Only
 * strings of one byte per character are cached, so a match of characters and bytes is exact.
 */
const SHARED_SLOTS = 1 << 14;
const SHARED_MAX_BYTES = 64;
const shared: string[] = new Array<string>(SHARED_SLOTS).fill('');

function sharedString(c: Cursor): string {
  const n = length(c);
  const b = c.buf;
  const start = c.pos;
  const end = start + n;
  c.pos = end;
  if (n > SHARED_MAX_BYTES) return b.toString('utf8', start, end);
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 16777619);
  const slot = (h ^ (h >>> 15)) & (SHARED_SLOTS - 1);
  const held = shared[slot];
  if (held.length === n) {
    let i = 0;
    while (i < n && held.charCodeAt(i) === b[start + i]) i++;
    if (i === n) return held;
  }
  const s = b.toString('utf8', start, end);
  if (s.length === n) shared[slot] = s;
  return s;
}

function enumName<T extends string>(names: readonly T[], value: number, what: string): T {
  const name = names[value];
  if (name === undefined) throw new MessageFormatError(`${what} has no value ${value}`);
  return name;
}

function flowLayer(c: Cursor): FlowLayer {
  let protocol = 0, a = '', b = '';
  let id: Int64 = 0;
  for (let k = key(c); k !== 0; k = key(c)) {
    const wire = k & 7;
    switch (k >>> 3) {
      case 1: if (wire === WIRE_VARINT) { protocol = varint32(c) | 0; continue; } break;
      case 3: if (wire === WIRE_LEN) { a = sharedString(c); continue; } break;
      case 4: if (wire === WIRE_LEN) { b = sharedString(c); continue; } break;
      case 5: if (wire === WIRE_VARINT) { id = int64(c); continue; } break;
    }
    skip(c, wire);
  }
  return { Protocol: enumName(FLOW_PROTOCOLS, protocol, 'FlowProtocol') as FlowLayer['Protocol'], A: a, B: b, ID: id };
}

/** A TransportLayer's numbers (TRANSPORT_* order), read and checked without an object. */
export const TRANSPORT_PROTOCOL = 0, TRANSPORT_A = 1, TRANSPORT_B = 2, TRANSPORT_ID = 3;
const transportNumbers = new Float64Array(4);

/**
 * Reads the Transport sub-message at [c.pos, c.end) into `transportNumbers` (Protocol, A, B,
 * ID) and checks its Protocol; the store's scan takes the ports from there, `transport` makes
 * the object.
 */
export function readTransportNumbers(c: Cursor): Float64Array {
  let protocol = 0, a = 0, b = 0, id = 0;
  for (let k = key(c); k !== 0; k = key(c)) {
    const wire = k & 7;
    if (wire === WIRE_VARINT) {
      switch (k >>> 3) {
        case 1: protocol = varint32(c) | 0; continue;
        case 2: a = Number(int64(c)); continue;
        case 3: b = Number(int64(c)); continue;
        case 4: id = Number(int64(c)); continue;
      }
    }
    skip(c, wire);
  }
  enumName(FLOW_PROTOCOLS, protocol, 'FlowProtocol');
  const out = transportNumbers;
  out[TRANSPORT_PROTOCOL] = protocol;
  out[TRANSPORT_A] = a;
  out[TRANSPORT_B] = b;
  out[TRANSPORT_ID] = id;
  return out;
}

function transport(c: Cursor): TransportLayer {
  const n = readTransportNumbers(c);
  return {
    Protocol: FLOW_PROTOCOLS[n[TRANSPORT_PROTOCOL]] as TransportLayer['Protocol'],
    A: n[TRANSPORT_A], B: n[TRANSPORT_B], ID: n[TRANSPORT_ID],
  };
}

function icmp(c: Cursor): ICMPLayer {
  let type = 0, code = 0, id = 0;
  for (let k = key(c); k !== 0; k = key(c)) {
    const wire = k & 7;
    if (wire === WIRE_VARINT) {
      switch (k >>> 3) {
        case 1: type = varint32(c) | 0; continue;
        case 2: code = varint32(c); continue;
        case 3: id = varint32(c); continue;
      }
    }
    skip(c, wire);
  }
  return { Type: enumName(ICMP_TYPES, type, 'ICMPType'), Code: code, ID: id };
}

function metric(c: Cursor): FlowMetric {
  let abp: Int64 = 0, abb: Int64 = 0, bap: Int64 = 0, bab: Int64 = 0, start: Int64 = 0, last: Int64 = 0, rtt: Int64 = 0;
  for (let k = key(c); k !== 0; k = key(c)) {
    const wire = k & 7;
    if (wire === WIRE_VARINT) {
      switch (k >>> 3) {
        case 2: abp = int64(c); continue;
        case 3: abb = int64(c); continue;
        case 4: bap = int64(c); continue;
        case 5: bab = int64(c); continue;
        case 6: start = int64(c); continue;
        case 7: last = int64(c); continue;
        case 8: rtt = int64(c); continue;
      }
    }
    skip(c, wire);
  }
  return { ABPackets: abp, ABBytes: abb, BAPackets: bap, BABytes: bab, Start: start, Last: last, RTT: rtt };
}

const ZERO_METRIC: FlowMetric = { ABPackets: 0, ABBytes: 0, BAPackets: 0, BABytes: 0, Start: 0, Last: 0, RTT: 0 };

/** TCPMetric field numbers 1..22 in order; 3 and 4 (the TTLs) are uint32, the rest int64. */
const TCP_FIELDS = [
  '', 'ABSynStart', 'BASynStart', 'ABSynTTL', 'BASynTTL', 'ABFinStart', 'BAFinStart', 'ABRstStart', 'BARstStart',
  'ABSegmentOutOfOrder', 'ABSegmentSkipped', 'ABSegmentSkippedBytes', 'ABPackets', 'ABBytes', 'ABSawStart',
  'ABSawEnd', 'BASegmentOutOfOrder', 'BASegmentSkipped', 'BASegmentSkippedBytes', 'BAPackets', 'BABytes',
  'BASawStart', 'BASawEnd',
] as const;

function tcpMetric(c: Cursor): TCPMetric {
  const m: TCPMetric = {
    ABSynTTL: 0, BASynTTL: 0, ABSynStart: 0, BASynStart: 0, ABFinStart: 0, BAFinStart: 0, ABRstStart: 0, BARstStart: 0,
    ABSegmentOutOfOrder: 0, ABSegmentSkipped: 0, ABSegmentSkippedBytes: 0, ABPackets: 0, ABBytes: 0, ABSawStart: 0,
    ABSawEnd: 0, BASegmentOutOfOrder: 0, BASegmentSkipped: 0, BASegmentSkippedBytes: 0, BAPackets: 0, BABytes: 0,
    BASawStart: 0, BASawEnd: 0,
  };
  for (let k = key(c); k !== 0; k = key(c)) {
    const wire = k & 7;
    const field = k >>> 3;
    if (wire === WIRE_VARINT && field >= 1 && field <= 22) {
      if (field === 3) m.ABSynTTL = varint32(c);
      else if (field === 4) m.BASynTTL = varint32(c);
      else (m as unknown as Record<string, Int64>)[TCP_FIELDS[field]] = int64(c);
      continue;
    }
    skip(c, wire);
  }
  return m;
}

function ipMetric(c: Cursor): IPMetric {
  let fragments: Int64 = 0, errors: Int64 = 0;
  for (let k = key(c); k !== 0; k = key(c)) {
    const wire = k & 7;
    if (wire === WIRE_VARINT) {
      switch (k >>> 3) {
        case 1: fragments = int64(c); continue;
        case 2: errors = int64(c); continue;
      }
    }
    skip(c, wire);
  }
  return { Fragments: fragments, FragmentErrors: errors };
}

/**
 * One Flow, its bytes at [c.pos, c.end). With `only` (a Flow field number), that field alone is
 * read: the others keep their defaults, which is all a reader of one field needs.
 */
function flow(c: Cursor, only = 0): Flow {
  const start = c.pos;
  let uuid = '', layersPath = '', application = '', parentUUID = '', nodeTID = '', captureID = '';
  let trackingID = '', l3TrackingID = '';
  let fStart: Int64 = 0, fLast: Int64 = 0;
  let rawCaptured = 0, finishType = 0;
  let link: FlowLayer | undefined, network: FlowLayer | undefined, tp: TransportLayer | undefined;
  let ic: ICMPLayer | undefined, lum: FlowMetric | undefined, m: FlowMetric | undefined;
  let tcp: TCPMetric | undefined, ip: IPMetric | undefined;
  for (let k = key(c); k !== 0; k = key(c)) {
    const wire = k & 7;
    const field = k >>> 3;
    if (only !== 0 && field !== only && !isRareFlowField(field)) {
      skip(c, wire);
      continue;
    }
    if (wire === WIRE_LEN) {
      switch (field) {
        case 1: uuid = string(c); continue;
        case 2: layersPath = sharedString(c); continue;
        case 3: application = sharedString(c); continue;
        case 6: parentUUID = sharedString(c); continue;
        case 20: link = sub(c, flowLayer); continue;
        case 21: network = sub(c, flowLayer); continue;
        case 22: tp = sub(c, transport); continue;
        case 23: ic = sub(c, icmp); continue;
        case 31: lum = sub(c, metric); continue;
        case 32: m = sub(c, metric); continue;
        case 33: nodeTID = sharedString(c); continue;
        case 34: captureID = sharedString(c); continue;
        case 38: tcp = sub(c, tcpMetric); continue;
        case 39: ip = sub(c, ipMetric); continue;
        case 50: trackingID = string(c); continue;
        case 51: l3TrackingID = string(c); continue;
      }
    } else if (wire === WIRE_VARINT) {
      switch (field) {
        case 10: fStart = int64(c); continue;
        case 11: fLast = int64(c); continue;
        case 37: rawCaptured = Number(int64(c)); continue;
        case 60: finishType = varint32(c) | 0; continue;
      }
    }
    if (isRareFlowField(field)) return rareFlow(c, start);
    skip(c, wire);
  }
  const f: Flow = {
    UUID: uuid, LayersPath: layersPath, Application: application, Metric: m ?? { ...ZERO_METRIC },
    Start: fStart, Last: fLast, TrackingID: trackingID, L3TrackingID: l3TrackingID, ParentUUID: parentUUID,
    NodeTID: nodeTID, CaptureID: captureID, RawPacketsCaptured: rawCaptured, FinishType: finishType,
  };
  if (link) f.Link = link;
  if (network) f.Network = network;
  if (tp) f.Transport = tp;
  if (ic) f.ICMP = ic;
  if (lum) f.LastUpdateMetric = lum;
  if (tcp) f.TCPMetric = tcp;
  if (ip) f.IPMetric = ip;
  return f;
}

/** A flow with raw packets or extra layers: the whole of it through the reference decoder. */
function rareFlow(c: Cursor, start: number): Flow {
  const bytes = c.buf.subarray(start, c.end);
  try {
    return decodeFlow(bytes);
  } catch (err) {
    throw new MessageFormatError(`bad flow: ${(err as Error).message}`);
  }
}

/** Reads the Stats sub-message at the cursor (Message field 2). */
export function readStats(c: Cursor): Stats {
  return sub(c, stats);
}

function stats(c: Cursor): Stats {
  let captureID = '';
  let flowCount: Int64 = 0, flowDropped: Int64 = 0, kernelFlowDropped: Int64 = 0, received: Int64 = 0, dropped: Int64 = 0;
  let decodeFailures: Int64 = 0;
  for (let k = key(c); k !== 0; k = key(c)) {
    const wire = k & 7;
    const field = k >>> 3;
    if (field === 1 && wire === WIRE_LEN) { captureID = string(c); continue; }
    if (wire === WIRE_VARINT) {
      switch (field) {
        case 2: flowCount = int64(c); continue;
        case 3: flowDropped = int64(c); continue;
        case 4: kernelFlowDropped = int64(c); continue;
        case 5: received = int64(c); continue;
        case 6: dropped = int64(c); continue;
        case 100: decodeFailures = int64(c); continue;
      }
    }
    skip(c, wire);
  }
  const s: Stats = {
    CaptureID: captureID, FlowCount: flowCount, FlowDropped: flowDropped, KernelFlowDropped: kernelFlowDropped,
    PacketsReceived: received, PacketsDropped: dropped,
  };
  if (decodeFailures !== 0) s.DecodeFailures = decodeFailures;
  return s;
}

/** A decoded `flow.Message`: its flows and, in a message of its own, a capture's Stats. */
export interface FlowMessage {
  flows: Flow[];
  stats?: Stats;
}

/** Reads one `flow.Message` (a UDP datagram, a WebSocket frame). Throws MessageFormatError. */
export function readFlowMessage(bytes: Uint8Array): FlowMessage {
  const buf = asBuffer(bytes);
  const c = new Cursor(buf, 0, buf.length);
  const flows: Flow[] = [];
  let st: Stats | undefined;
  for (let k = key(c); k !== 0; k = key(c)) {
    const wire = k & 7;
    const field = k >>> 3;
    if (wire === WIRE_LEN && field === 1) flows.push(sub(c, flow));
    else if (wire === WIRE_LEN && field === 2) st = sub(c, stats);
    else skip(c, wire);
  }
  return st ? { flows, stats: st } : { flows };
}

/**
 * One Flow record, the bytes [start, end) of `buf` (a record the store kept); with `only`, just
 * that Flow field number (and the defaults of the others). Throws MessageFormatError.
 */
export function readFlowRecord(buf: Buffer, start: number, end: number, only = 0): Flow {
  return flow(new Cursor(buf, start, end), only);
}

/**
 * The Link (20), Network (21), Transport (22) or Metric (32) sub-message whose bytes are
 * [start, end) of `buf`, as `readFlowRecord` decodes that field. Throws MessageFormatError.
 */
export function readFlowPart(buf: Buffer, start: number, end: number, field: 20 | 21 | 22 | 32): FlowLayer | TransportLayer | FlowMetric {
  const c = new Cursor(buf, start, end);
  return field === 22 ? transport(c) : field === 32 ? metric(c) : flowLayer(c);
}
