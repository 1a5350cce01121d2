/**
 * Skydive's JSON for a flow, byte for byte.
 *
 * Skydive marshals its gogo-generated Go structs with encoding/json, so the shape is fixed by the
 * struct field order and the `json` tags (flow-semantics.md section 9):
 * - keys come in Go struct order, which is not the protobuf number order (`ParentUUID` is late);
 * - `omitempty` fields are left out when zero, empty or nil; the others are always written
 *   (`ParentUUID`, `Start`, `Last`, `RawPacketsCaptured`, `Link.ID`, every Transport field, the
 *   six FlowMetric counters, every TCPMetric int64, both IPMetric fields, ICMP `Type`);
 * - `FlowProtocol` and `ICMPType` have a MarshalJSON that writes their names; `FinishType` has
 *   none, so it is a number;
 * - the extra layers use their protobuf JSON names. For DNS they are the ones the golden files
 *   show (`op_code`, `q_d_count`, `c_name`, `m_name`, ...), with `timestamp` written as a
 *   protobuf Timestamp `{"seconds":…,"nanos":…}`;
 * - int64 values are plain JSON numbers, exact even above 2^53 (bigint in the model).
 *
 * Strings are escaped like Go's encoding/json (Go 1.22 and later): `"` and `\` get a backslash,
 * \b \f \n \r \t their short forms, the other control characters `\u00XX`, and, because Skydive
 * keeps HTML escaping on, `<` `>` `&` become `\u003c` `\u003e` `\u0026`. U+2028 and U+2029 become
 * `\u2028` and `\u2029`. An invalid UTF-8 byte becomes the six characters `\ufffd`: the model
 * keeps such bytes as lone surrogates (see `bytesToGoString`), and any lone surrogate is written
 * that way. Go before 1.22 wrote \b and \f as `\u0008` and `\u000c`; no golden file holds either,
 * so they do not show which Go built Skydive.
 */
import type {
  DHCPv4, DNS, DNSQuestion, DNSResourceRecord, Flow, FlowLayer, FlowMetric, ICMPLayer, Int64, IPMetric,
  TCPMetric, TransportLayer, VRRPv2,
} from '../flow/types.js';

const HEX = '0123456789abcdef';

/** True for the code units that Go writes as they are (no escape, no UTF-16 pairing). */
const PLAIN = /^[^"\\<>&\u0000-\u001f\u2028\u2029\ud800-\udfff]*$/;

/** A JSON string literal escaped exactly as Go's encoding/json does with HTML escaping on. */
export function quoteGo(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
      switch (c) {
        case 0x22: out += '\\"'; break;
        case 0x5c: out += '\\\\'; break;
        case 0x08: out += '\\b'; break;
        case 0x0c: out += '\\f'; break;
        case 0x0a: out += '\\n'; break;
        case 0x0d: out += '\\r'; break;
        case 0x09: out += '\\t'; break;
        default: out += '\\u00' + HEX[c >> 4] + HEX[c & 15];
      }
    } else if (c === 0x2028 || c === 0x2029) {
      out += c === 0x2028 ? '\\u2028' : '\\u2029';
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      out += s[i] + s[i + 1];
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += '\\ufffd';
    } else {
      out += s[i];
    }
  }
  return out + '"';
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * Bytes to a "Go string": what Go's `string(b)` holds, in a form that keeps every byte.
 *
 * Decoding follows Go's utf8.DecodeRune: a well-formed sequence (no overlong forms, no
 * surrogates, nothing above U+10FFFF) gives its character; otherwise the first byte alone is
 * invalid and decoding resumes at the next byte. Each invalid byte b (always >= 0x80) becomes the
 * lone surrogate U+DC00 + b, so `goStringToBytes` restores the input exactly and `quoteGo`
 * writes `\ufffd` for it, like Go.
 */
export function bytesToGoString(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i];
    const size = utf8SequenceSize(bytes, i);
    if (size === 1) {
      out += String.fromCharCode(b0 < 0x80 ? b0 : 0xdc00 + b0);
    } else if (size === 2) {
      out += String.fromCharCode(((b0 & 0x1f) << 6) | (bytes[i + 1] & 0x3f));
    } else if (size === 3) {
      out += String.fromCharCode(((b0 & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f));
    } else {
      out += String.fromCodePoint(
        ((b0 & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f));
    }
    i += size;
  }
  return out;
}

/** Length of the valid UTF-8 sequence at bytes[i], or 1 when the byte there is invalid or ASCII. */
function utf8SequenceSize(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0xc2 || b0 > 0xf4) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean =>
    i + k < bytes.length && bytes[i + k] >= lo && bytes[i + k] <= hi;
  if (b0 < 0xe0) return cont(1) ? 2 : 1;
  if (b0 < 0xf0) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 1;
  }
  const lo = b0 === 0xf0 ? 0x90 : 0x80;
  const hi = b0 === 0xf4 ? 0x8f : 0xbf;
  return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 1;
}

const SURROGATE = /[\ud800-\udfff]/;
const utf8Encoder = new TextEncoder();

/**
 * A Go string back to its bytes: the inverse of `bytesToGoString`. Lone surrogates
 * U+DC80..U+DCFF are raw bytes; any other lone surrogate (which no decoder produces) is written
 * as U+FFFD.
 */
export function goStringToBytes(s: string): Uint8Array {
  if (!SURROGATE.test(s)) return utf8Encoder.encode(s);
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      out.push(c - 0xdc00);
      continue;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      c = 0xfffd;
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

function isZero(v: Int64): boolean {
  return v === 0 || v === 0n;
}

/** Builds one JSON object; keys are trusted ASCII literals and are not escaped. */
class ObjectWriter {
  private text = '{';

  raw(key: string, json: string): this {
    this.text += (this.text.length === 1 ? '"' : ',"') + key + '":' + json;
    return this;
  }

  string(key: string, value: string): this {
    return this.raw(key, quoteGo(value));
  }

  stringOmitEmpty(key: string, value: string | undefined): this {
    return value ? this.string(key, value) : this;
  }

  int(key: string, value: Int64): this {
    return this.raw(key, String(value));
  }

  intOmitZero(key: string, value: Int64): this {
    return isZero(value) ? this : this.int(key, value);
  }

  boolOmitFalse(key: string, value: boolean): this {
    return value ? this.raw(key, 'true') : this;
  }

  /** Go `[]byte` with omitempty: base64 (standard alphabet, padded), left out when empty. */
  bytesOmitEmpty(key: string, goString: string): this {
    return goString ? this.raw(key, `"${Buffer.from(goStringToBytes(goString)).toString('base64')}"`) : this;
  }

  objectOmitNil<T>(key: string, value: T | undefined, toJSON: (v: T) => string): this {
    return value === undefined ? this : this.raw(key, toJSON(value));
  }

  arrayOmitEmpty<T>(key: string, values: readonly T[] | undefined, toJSON: (v: T) => string): this {
    return values && values.length > 0 ? this.raw(key, '[' + values.map(toJSON).join(',') + ']') : this;
  }

  end(): string {
    return this.text + '}';
  }
}

function flowLayerJSON(l: FlowLayer): string {
  return new ObjectWriter()
    .string('Protocol', l.Protocol).stringOmitEmpty('A', l.A).stringOmitEmpty('B', l.B).int('ID', l.ID)
    .end();
}

function transportJSON(l: TransportLayer): string {
  return new ObjectWriter().string('Protocol', l.Protocol).int('A', l.A).int('B', l.B).int('ID', l.ID).end();
}

function icmpJSON(l: ICMPLayer): string {
  return new ObjectWriter().string('Type', l.Type).intOmitZero('Code', l.Code).intOmitZero('ID', l.ID).end();
}

function metricJSON(m: FlowMetric): string {
  return new ObjectWriter()
    .int('ABPackets', m.ABPackets).int('ABBytes', m.ABBytes).int('BAPackets', m.BAPackets).int('BABytes', m.BABytes)
    .int('Start', m.Start).int('Last', m.Last).intOmitZero('RTT', m.RTT)
    .end();
}

function tcpMetricJSON(m: TCPMetric): string {
  return new ObjectWriter()
    .int('ABSynStart', m.ABSynStart).int('BASynStart', m.BASynStart)
    .intOmitZero('ABSynTTL', m.ABSynTTL).intOmitZero('BASynTTL', m.BASynTTL)
    .int('ABFinStart', m.ABFinStart).int('BAFinStart', m.BAFinStart)
    .int('ABRstStart', m.ABRstStart).int('BARstStart', m.BARstStart)
    .int('ABSegmentOutOfOrder', m.ABSegmentOutOfOrder).int('ABSegmentSkipped', m.ABSegmentSkipped)
    .int('ABSegmentSkippedBytes', m.ABSegmentSkippedBytes).int('ABPackets', m.ABPackets).int('ABBytes', m.ABBytes)
    .int('ABSawStart', m.ABSawStart).int('ABSawEnd', m.ABSawEnd)
    .int('BASegmentOutOfOrder', m.BASegmentOutOfOrder).int('BASegmentSkipped', m.BASegmentSkipped)
    .int('BASegmentSkippedBytes', m.BASegmentSkippedBytes).int('BAPackets', m.BAPackets).int('BABytes', m.BABytes)
    .int('BASawStart', m.BASawStart).int('BASawEnd', m.BASawEnd)
    .end();
}

function ipMetricJSON(m: IPMetric): string {
  return new ObjectWriter().int('Fragments', m.Fragments).int('FragmentErrors', m.FragmentErrors).end();
}

/** DHCPv4 in proto field order; `contents`, `payload` and `xid` are never filled by Skydive. */
function dhcpv4JSON(d: DHCPv4): string {
  return new ObjectWriter()
    .intOmitZero('hardware_len', d.HardwareLen).intOmitZero('hardware_opts', d.HardwareOpts)
    .intOmitZero('secs', d.Secs).intOmitZero('flags', d.Flags)
    .bytesOmitEmpty('server_name', d.ServerName).bytesOmitEmpty('file', d.File)
    .end();
}

/**
 * VRRPv2 in proto field order. `VirtualRtrID` keeps the JSON tag of Skydive's vrrpv2.proto; no
 * golden output exercises it. `contents`, `payload`, `count_ipaddr`, `checksum` are never filled.
 */
function vrrpv2JSON(v: VRRPv2): string {
  return new ObjectWriter()
    .intOmitZero('version', v.Version).intOmitZero('VirtualRtrID', v.VirtualRtrID)
    .intOmitZero('priority', v.Priority).intOmitZero('adver_int', v.AdverInt)
    .end();
}

function questionJSON(q: DNSQuestion): string {
  return new ObjectWriter().stringOmitEmpty('name', q.Name).stringOmitEmpty('type', q.Type)
    .stringOmitEmpty('class', q.Class).end();
}

/**
 * One resource record. Names not seen in the golden files (`TXTs`, `SRV`, `MX`, `OPT` and their
 * members) follow the same conventions; an OPT record with options crashes Skydive, so `OPT` never
 * appears in its real output.
 */
function recordJSON(r: DNSResourceRecord): string {
  return new ObjectWriter()
    .stringOmitEmpty('name', r.Name).stringOmitEmpty('type', r.Type).stringOmitEmpty('class', r.Class)
    .intOmitZero('TTL', r.TTL).intOmitZero('data_length', r.DataLength)
    .stringOmitEmpty('IP', r.IP).stringOmitEmpty('NS', r.NS).stringOmitEmpty('c_name', r.CNAME)
    .stringOmitEmpty('PTR', r.PTR)
    .arrayOmitEmpty('TXTs', r.TXTs, quoteGo)
    .objectOmitNil('SOA', r.SOA, (s) => new ObjectWriter()
      .stringOmitEmpty('m_name', s.MName).stringOmitEmpty('r_name', s.RName)
      .intOmitZero('serial', s.Serial).intOmitZero('refresh', s.Refresh).intOmitZero('retry', s.Retry)
      .intOmitZero('expire', s.Expire).intOmitZero('minimum', s.Minimum)
      .end())
    .objectOmitNil('SRV', r.SRV, (s) => new ObjectWriter()
      .intOmitZero('priority', s.Priority).intOmitZero('weight', s.Weight).intOmitZero('port', s.Port)
      .stringOmitEmpty('name', s.Name)
      .end())
    .objectOmitNil('MX', r.MX, (m) => new ObjectWriter()
      .intOmitZero('preference', m.Preference).stringOmitEmpty('name', m.Name).end())
    .arrayOmitEmpty('OPT', r.OPT, (o) => new ObjectWriter()
      .stringOmitEmpty('code', o.Code).stringOmitEmpty('data', bytesToGoString(o.Data)).end())
    .end();
}

const NS_PER_S = 1_000_000_000n;

function dnsJSON(d: DNS): string {
  let seconds = d.TimestampNs / NS_PER_S;
  let nanos = d.TimestampNs % NS_PER_S;
  if (nanos < 0n) {
    seconds -= 1n;
    nanos += NS_PER_S;
  }
  return new ObjectWriter()
    .intOmitZero('ID', d.ID).boolOmitFalse('QR', d.QR).stringOmitEmpty('op_code', d.OpCode)
    .boolOmitFalse('AA', d.AA).boolOmitFalse('TC', d.TC).boolOmitFalse('RD', d.RD).boolOmitFalse('RA', d.RA)
    .intOmitZero('z', d.Z).stringOmitEmpty('response_code', d.ResponseCode)
    .intOmitZero('q_d_count', d.QDCount).intOmitZero('a_n_count', d.ANCount)
    .intOmitZero('n_s_count', d.NSCount).intOmitZero('a_r_count', d.ARCount)
    .arrayOmitEmpty('questions', d.Questions, questionJSON)
    .arrayOmitEmpty('answers', d.Answers, recordJSON)
    .arrayOmitEmpty('authorities', d.Authorities, recordJSON)
    .arrayOmitEmpty('additionals', d.Additionals, recordJSON)
    .raw('timestamp', new ObjectWriter().intOmitZero('seconds', seconds).intOmitZero('nanos', nanos).end())
    .end();
}

/** One flow as Skydive's JSON object, without whitespace. `LastRawPackets` is never written. */
export function flowToJSON(flow: Flow): string {
  return new ObjectWriter()
    .stringOmitEmpty('UUID', flow.UUID)
    .stringOmitEmpty('LayersPath', flow.LayersPath)
    .stringOmitEmpty('Application', flow.Application)
    .objectOmitNil('Link', flow.Link, flowLayerJSON)
    .objectOmitNil('Network', flow.Network, flowLayerJSON)
    .objectOmitNil('Transport', flow.Transport, transportJSON)
    .objectOmitNil('ICMP', flow.ICMP, icmpJSON)
    .objectOmitNil('DHCPv4', flow.DHCPv4, dhcpv4JSON)
    .objectOmitNil('DNS', flow.DNS, dnsJSON)
    .objectOmitNil('VRRPv2', flow.VRRPv2, vrrpv2JSON)
    .objectOmitNil('LastUpdateMetric', flow.LastUpdateMetric, metricJSON)
    .raw('Metric', metricJSON(flow.Metric))
    .objectOmitNil('TCPMetric', flow.TCPMetric, tcpMetricJSON)
    .objectOmitNil('IPMetric', flow.IPMetric, ipMetricJSON)
    .int('Start', flow.Start)
    .int('Last', flow.Last)
    .stringOmitEmpty('TrackingID', flow.TrackingID)
    .stringOmitEmpty('L3TrackingID', flow.L3TrackingID)
    .string('ParentUUID', flow.ParentUUID)
    .stringOmitEmpty('NodeTID', flow.NodeTID)
    .stringOmitEmpty('CaptureID', flow.CaptureID)
    .int('RawPacketsCaptured', flow.RawPacketsCaptured)
    .intOmitZero('FinishType', flow.FinishType)
    .end();
}

/** Several flows as one JSON array, built in memory (an API reply); `FlowWriter` streams instead. */
export function flowsToJSONArray(flows: Iterable<Flow>): string {
  const parts: string[] = [];
  for (const flow of flows) parts.push(flowToJSON(flow));
  return '[' + parts.join(',') + ']';
}
