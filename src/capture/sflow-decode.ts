/**
 * sFlow v5 datagrams decoded by the WASM core (assembly/sflow/), read back as plain objects.
 *
 * One small core instance serves as the decoder: its flow table is never used. A datagram is
 * copied into the core's input region; the core writes the raw packet headers it carries as
 * batch records (src/capture/pcapfile.ts layout, marked so that feeding them counts
 * frame_length - stripped bytes per packet) and its samples and counters as list entries, which
 * are read here. A datagram the core rejects gives no packet and no sample, only its reason.
 */
import { loadCore, type CoreExports } from '../wasm/module.js';
import type { Int64 } from '../flow/types.js';

/** Rejection reasons, indexed by the core's codes (assembly/sflow/reasons.ts, same order). */
export const SFLOW_REJECT_REASONS = [
  'ok',
  'short_header',        // shorter than the datagram header
  'version',             // not sFlow version 5
  'agent_address_type',  // agent address type not 0, 1 or 2
  'sample_count',        // more samples announced than the datagram can hold
  'sample_length',       // a sample runs past the end of the datagram
  'sample_too_short',    // a flow or counter sample shorter than its own fields
  'record_count',        // more records announced than the sample can hold
  'record_length',       // a record runs past the end of its sample
  'record_too_short',    // a raw header longer than its record, a counter record cut short
  'no_room',             // the decoder's output regions are too small (a bug, never input)
] as const;
export type SFlowRejectReason = Exclude<(typeof SFLOW_REJECT_REASONS)[number], 'ok'>;

// List entry kinds and their fields (assembly/sflow/out.ts, same order).
const E_DATAGRAM = 1;
const E_FLOW_SAMPLE = 2;
const E_COUNTER_SAMPLE = 3;

/** Counter record kinds and their fields in wire order (sflow_version_5.txt, sflow_host.txt, sflow_openvswitch.txt). */
export const SFLOW_COUNTER_FIELDS = {
  /** 4: generic interface counters (format 1). */
  generic: ['ifIndex', 'ifType', 'ifSpeed', 'ifDirection', 'ifStatus', 'ifInOctets', 'ifInUcastPkts',
    'ifInMulticastPkts', 'ifInBroadcastPkts', 'ifInDiscards', 'ifInErrors', 'ifInUnknownProtos', 'ifOutOctets',
    'ifOutUcastPkts', 'ifOutMulticastPkts', 'ifOutBroadcastPkts', 'ifOutDiscards', 'ifOutErrors', 'ifPromiscuousMode'],
  /** 5: Ethernet interface counters (format 2). */
  ethernet: ['dot3StatsAlignmentErrors', 'dot3StatsFCSErrors', 'dot3StatsSingleCollisionFrames',
    'dot3StatsMultipleCollisionFrames', 'dot3StatsSQETestErrors', 'dot3StatsDeferredTransmissions',
    'dot3StatsLateCollisions', 'dot3StatsExcessiveCollisions', 'dot3StatsInternalMacTransmitErrors',
    'dot3StatsCarrierSenseErrors', 'dot3StatsFrameTooLongs', 'dot3StatsInternalMacReceiveErrors', 'dot3StatsSymbolErrors'],
  /** 6: VLAN counters (format 5). */
  vlan: ['vlanId', 'octets', 'ucastPkts', 'multicastPkts', 'broadcastPkts', 'discards'],
  /** 7: application resources (format 2202, Open vSwitch sends it). */
  appResources: ['userTime', 'systemTime', 'memUsed', 'memMax', 'fdOpen', 'fdMax', 'connOpen', 'connMax'],
  /** 8: Open vSwitch datapath (format 2207). */
  ovsDp: ['nHit', 'nMissed', 'nLost', 'nMaskHit', 'nFlows', 'nMasks'],
} as const;
export type SFlowCounterType = keyof typeof SFLOW_COUNTER_FIELDS;
const COUNTER_KINDS: Record<number, SFlowCounterType> = { 4: 'generic', 5: 'ethernet', 6: 'vlan', 7: 'appResources', 8: 'ovsDp' };

/** A counter record: its type and its fields by name (u64 values are numbers below 2^53, bigints above). */
export interface SFlowCounterRecord {
  type: SFlowCounterType;
  values: Record<string, Int64>;
}

/** sFlow interface as sent: format 0 = ifIndex (0x3FFFFFFF unknown), 1 = dropped (value: reason), 2 = several (value: count). */
export interface SFlowInterface { format: number; value: number }

export interface SFlowFlowSample {
  kind: 'flow';
  expanded: boolean;
  sequence: number;
  /** Data source: type 0 = ifIndex, 1 = smonVlanDataSource, 2 = entPhysicalEntry; index. */
  sourceIdType: number;
  sourceIdIndex: number;
  samplingRate: number;
  samplePool: number;
  drops: number;
  input: SFlowInterface;
  output: SFlowInterface;
  /** Flow records in the sample (of every format). */
  records: number;
  /** Raw packet headers that became packets, and their frame_length - stripped bytes. */
  headers: number;
  headerBytes: number;
}

export interface SFlowCounterSample {
  kind: 'counter';
  expanded: boolean;
  sequence: number;
  sourceIdType: number;
  sourceIdIndex: number;
  /** Counter records in the sample (of every format); `counters` holds those decoded. */
  records: number;
  counters: SFlowCounterRecord[];
}

export type SFlowSample = SFlowFlowSample | SFlowCounterSample;

export interface SFlowDatagram {
  version: number;
  /** Agent address as text ('' when the agent sent type 0, unknown). */
  agent: string;
  subAgentId: number;
  sequence: number;
  /** Agent uptime in ms. */
  uptime: number;
  /** Samples announced. */
  sampleCount: number;
  samples: SFlowSample[];
  /** Samples and records of formats nobody reads (other enterprises, extended records...). */
  samplesSkipped: number;
  recordsSkipped: number;
  /** Raw headers whose stripped bytes exceed frame_length: no packet. */
  headersBadLength: number;
  /** Raw headers of a protocol other than Ethernet, IPv4 or IPv6: decoded as Ethernet, as Skydive does. */
  headersOtherProtocol: number;
}

export type SFlowDecodeResult =
  | { ok: true; datagram: SFlowDatagram; packets: Uint8Array; packetCount: number }
  | { ok: false; reason: SFlowRejectReason; offset: number; message: string };

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const int64 = (v: bigint): Int64 => (v <= MAX_SAFE ? Number(v) : v);

function agentText(type: number, words: number[]): string {
  if (type === 1) return [words[0] >>> 24, (words[0] >>> 16) & 255, (words[0] >>> 8) & 255, words[0] & 255].join('.');
  if (type !== 2) return '';
  const groups: string[] = [];
  for (const w of words) groups.push((w >>> 16).toString(16), (w & 0xffff).toString(16));
  // RFC 5952: the longest run of two or more zero groups becomes "::".
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Decodes sFlow datagrams with a core instance of its own (no flow table is used). */
export class SFlowDecoder {
  readonly core: CoreExports;
  private u8!: Uint8Array;
  private dv!: DataView;

  constructor(opts: { debug?: boolean } = {}) {
    this.core = loadCore(opts.debug ?? false, 1);
    this.views();
  }

  private views(): void {
    if (this.u8 && this.u8.buffer === this.core.memory.buffer) return;
    this.u8 = new Uint8Array(this.core.memory.buffer);
    this.dv = new DataView(this.core.memory.buffer);
  }

  /**
   * Decodes one datagram (a UDP payload) received at `tsNs` (ns since the epoch). On success,
   * `packets` holds the batch records of its raw headers: a view of the core's memory, valid until
   * the next decode.
   */
  decode(data: Uint8Array, tsNs: bigint): SFlowDecodeResult {
    const c = this.core;
    this.views();
    const src = c.inputBuffer();
    const room = c.inputCapacity();
    const at = (data.length + 7) & ~7;
    if (at * 2 > room) return { ok: false, reason: 'no_room', offset: 0, message: `datagram of ${data.length} bytes: larger than the decoder takes` };
    this.u8.set(data, src);
    const r = c.sflowDecode(src, data.length, tsNs, src + at, room - at, c.outputBuffer(), c.outputCapacity()) >>> 0;
    if (r !== 0) {
      const reason = (SFLOW_REJECT_REASONS[r] ?? 'no_room') as SFlowRejectReason;
      const offset = c.sflowRejectOffset();
      return { ok: false, reason, offset, message: `sFlow datagram rejected (${reason}) at byte ${offset} of ${data.length}` };
    }
    const datagram = this.readList(c.outputBuffer(), c.sflowListBytes());
    const bytes = c.sflowPacketBytes();
    return { ok: true, datagram, packets: this.u8.subarray(src + at, src + at + bytes), packetCount: c.sflowPacketCount() };
  }

  private readList(base: number, bytes: number): SFlowDatagram {
    const dv = this.dv;
    let p = base;
    const end = base + bytes;
    let d: SFlowDatagram | undefined;
    let counterSample: SFlowCounterSample | undefined;
    while (p + 8 <= end) {
      const kind = dv.getUint32(p, true), n = dv.getUint32(p + 4, true);
      const f = (i: number): bigint => dv.getBigUint64(p + 8 + i * 8, true);
      const u = (i: number): number => Number(f(i));
      if (kind === E_DATAGRAM) {
        const type = u(1);
        d = {
          version: u(0), agent: agentText(type, [u(2), u(3), u(4), u(5)]), subAgentId: u(6), sequence: u(7), uptime: u(8),
          sampleCount: u(9), samples: [], samplesSkipped: u(10), recordsSkipped: u(11), headersBadLength: u(12), headersOtherProtocol: u(13),
        };
      } else if (kind === E_FLOW_SAMPLE) {
        d!.samples.push({
          kind: 'flow', expanded: u(0) === 1, sequence: u(1), sourceIdType: u(2), sourceIdIndex: u(3),
          samplingRate: u(4), samplePool: u(5), drops: u(6), input: { format: u(7), value: u(8) }, output: { format: u(9), value: u(10) },
          records: u(11), headers: u(12), headerBytes: u(13),
        });
        counterSample = undefined;
      } else if (kind === E_COUNTER_SAMPLE) {
        counterSample = { kind: 'counter', expanded: u(0) === 1, sequence: u(1), sourceIdType: u(2), sourceIdIndex: u(3), records: u(4), counters: [] };
        d!.samples.push(counterSample);
      } else {
        const type = COUNTER_KINDS[kind];
        const names = SFLOW_COUNTER_FIELDS[type];
        if (!type || names.length !== n || !counterSample) throw new Error(`sFlow decoder: unexpected list entry ${kind} (${n} fields)`);
        const values: Record<string, Int64> = {};
        names.forEach((name, i) => { values[name] = int64(f(i)); });
        counterSample.counters.push({ type, values });
      }
      p += 8 + n * 8;
    }
    if (!d) throw new Error('sFlow decoder: no datagram entry');
    return d;
  }
}
