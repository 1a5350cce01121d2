/**
 * Test helper: sFlow v5 datagrams built byte by byte (sflow.org/sflow_version_5.txt). Every
 * length is computed unless a test overrides it to lie; opaque data is XDR-padded to 4.
 */
import type { Bytes } from './packets.js';
import { ip4 } from './packets.js';

export const be32 = (v: number): Bytes => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
export const be64 = (v: bigint | number): Bytes => {
  const b = BigInt(v);
  return [...be32(Number((b >> 32n) & 0xffffffffn)), ...be32(Number(b & 0xffffffffn))];
};
const pad4 = (b: Bytes): Bytes => [...b, ...new Array((4 - (b.length % 4)) % 4).fill(0)];

/** 16 bytes of an IPv6 address in text form (full or with "::"). */
export function ip6(s: string): Bytes {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => { const v = parseInt(g, 16); return [v >> 8, v & 255]; });
}

/** An XDR-framed element: format word, length word (or `length` to lie), body padded to 4. */
export function framed(format: number, body: Bytes, length?: number): Bytes {
  return [...be32(format), ...be32(length ?? body.length), ...pad4(body)];
}

export interface RawHeaderOpts { protocol?: number; frameLength?: number; stripped?: number; headerLength?: number }

/** Raw packet header flow record (format 1): frame_length defaults to the header + 4 (FCS), stripped to 4. */
export function rawHeader(header: Bytes, o: RawHeaderOpts = {}): Bytes {
  const body = [...be32(o.protocol ?? 1), ...be32(o.frameLength ?? header.length + 4), ...be32(o.stripped ?? 4),
    ...be32(o.headerLength ?? header.length), ...pad4(header)];
  return framed(1, body);
}

/** Extended switch flow record (format 1001): skipped by the collector. */
export function extendedSwitch(inVlan = 0, outVlan = 0): Bytes {
  return framed(1001, [...be32(inVlan), ...be32(0), ...be32(outVlan), ...be32(0)]);
}

export interface FlowSampleOpts {
  sequence?: number; sourceIdType?: number; sourceIdIndex?: number; samplingRate?: number; samplePool?: number; drops?: number;
  input?: number; output?: number; inputFormat?: number; outputFormat?: number; expanded?: boolean;
  /** Record count to announce instead of the real one. */
  recordCount?: number;
}

/** A flow sample (format 1) or an expanded one (format 3) holding `records`. */
export function flowSample(records: Bytes[], o: FlowSampleOpts = {}): Bytes {
  const count = be32(o.recordCount ?? records.length);
  const common = [...be32(o.samplingRate ?? 1), ...be32(o.samplePool ?? 1), ...be32(o.drops ?? 0)];
  const body = o.expanded
    ? [...be32(o.sequence ?? 1), ...be32(o.sourceIdType ?? 0), ...be32(o.sourceIdIndex ?? 1), ...common,
      ...be32(o.inputFormat ?? 0), ...be32(o.input ?? 1), ...be32(o.outputFormat ?? 0), ...be32(o.output ?? 2), ...count, ...records.flat()]
    : [...be32(o.sequence ?? 1), ...be32(((o.sourceIdType ?? 0) << 24 | (o.sourceIdIndex ?? 1)) >>> 0), ...common,
      ...be32(((o.inputFormat ?? 0) << 30 | (o.input ?? 1)) >>> 0), ...be32(((o.outputFormat ?? 0) << 30 | (o.output ?? 2)) >>> 0),
      ...count, ...records.flat()];
  return framed(o.expanded ? 3 : 1, body);
}

export interface CounterSampleOpts { sequence?: number; sourceIdType?: number; sourceIdIndex?: number; expanded?: boolean; recordCount?: number }

/** A counter sample (format 2) or an expanded one (format 4) holding `records`. */
export function counterSample(records: Bytes[], o: CounterSampleOpts = {}): Bytes {
  const count = be32(o.recordCount ?? records.length);
  const body = o.expanded
    ? [...be32(o.sequence ?? 1), ...be32(o.sourceIdType ?? 0), ...be32(o.sourceIdIndex ?? 1), ...count, ...records.flat()]
    : [...be32(o.sequence ?? 1), ...be32(((o.sourceIdType ?? 0) << 24 | (o.sourceIdIndex ?? 1)) >>> 0), ...count, ...records.flat()];
  return framed(o.expanded ? 4 : 2, body);
}

export interface GenericCounters {
  ifIndex: number; ifType?: number; ifSpeed?: bigint | number; ifDirection?: number; ifStatus?: number;
  ifInOctets?: bigint | number; ifInUcastPkts?: number; ifInMulticastPkts?: number; ifInBroadcastPkts?: number;
  ifInDiscards?: number; ifInErrors?: number; ifInUnknownProtos?: number; ifOutOctets?: bigint | number;
  ifOutUcastPkts?: number; ifOutMulticastPkts?: number; ifOutBroadcastPkts?: number; ifOutDiscards?: number;
  ifOutErrors?: number; ifPromiscuousMode?: number;
}

/** Generic interface counters record (format 1, 88 bytes). */
export function genericCounters(c: GenericCounters): Bytes {
  return framed(1, [
    ...be32(c.ifIndex), ...be32(c.ifType ?? 6), ...be64(c.ifSpeed ?? 1_000_000_000), ...be32(c.ifDirection ?? 1), ...be32(c.ifStatus ?? 3),
    ...be64(c.ifInOctets ?? 0), ...be32(c.ifInUcastPkts ?? 0), ...be32(c.ifInMulticastPkts ?? 0), ...be32(c.ifInBroadcastPkts ?? 0),
    ...be32(c.ifInDiscards ?? 0), ...be32(c.ifInErrors ?? 0), ...be32(c.ifInUnknownProtos ?? 0),
    ...be64(c.ifOutOctets ?? 0), ...be32(c.ifOutUcastPkts ?? 0), ...be32(c.ifOutMulticastPkts ?? 0), ...be32(c.ifOutBroadcastPkts ?? 0),
    ...be32(c.ifOutDiscards ?? 0), ...be32(c.ifOutErrors ?? 0), ...be32(c.ifPromiscuousMode ?? 0),
  ]);
}

/** Ethernet counters record (format 2): the 13 dot3Stats values in wire order. */
export function ethernetCounters(values: number[]): Bytes {
  if (values.length !== 13) throw new Error('13 Ethernet counters');
  return framed(2, values.flatMap(be32));
}

/** VLAN counters record (format 5). */
export function vlanCounters(vlanId: number, octets: bigint | number, ucast: number, multicast: number, broadcast: number, discards: number): Bytes {
  return framed(5, [...be32(vlanId), ...be64(octets), ...be32(ucast), ...be32(multicast), ...be32(broadcast), ...be32(discards)]);
}

/** Application resources record (format 2202). */
export function appResources(r: { userTime?: number; systemTime?: number; memUsed: bigint | number; memMax: bigint | number; fdOpen: number; fdMax: number; connOpen: number; connMax: number }): Bytes {
  return framed(2202, [...be32(r.userTime ?? 0), ...be32(r.systemTime ?? 0), ...be64(r.memUsed), ...be64(r.memMax),
    ...be32(r.fdOpen), ...be32(r.fdMax), ...be32(r.connOpen), ...be32(r.connMax)]);
}

/** Open vSwitch datapath record (format 2207): hit, missed, lost, mask hit, flows, masks. */
export function ovsDp(values: number[]): Bytes {
  return framed(2207, values.flatMap(be32));
}

export interface DatagramOpts {
  version?: number;
  /** IPv4 or IPv6 text; '' sends address type 0 (unknown). */
  agent?: string;
  /** Address type to send instead of the one `agent` implies. */
  addressType?: number;
  subAgentId?: number;
  sequence?: number;
  uptime?: number;
  /** Sample count to announce instead of the real one. */
  sampleCount?: number;
}

/** A whole datagram holding `samples` (each already framed). */
export function datagram(samples: Bytes[], o: DatagramOpts = {}): Uint8Array {
  const agent = o.agent ?? '192.0.2.1';
  const addr = agent === '' ? [] : agent.includes(':') ? ip6(agent) : ip4(agent);
  const type = o.addressType ?? (agent === '' ? 0 : agent.includes(':') ? 2 : 1);
  return Uint8Array.from([
    ...be32(o.version ?? 5), ...be32(type), ...addr, ...be32(o.subAgentId ?? 0), ...be32(o.sequence ?? 1),
    ...be32(o.uptime ?? 1000), ...be32(o.sampleCount ?? samples.length), ...samples.flat(),
  ]);
}
