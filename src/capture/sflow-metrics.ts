/**
 * What Skydive keeps of sFlow counter samples (spec flow-semantics §7): the node metadata
 * `SFlow = {IfMetrics: {ifIndex: IfMetric}, Metric, LastUpdateMetric}`, updated once per
 * datagram, with Skydive's rules:
 *
 * - generic interface counters keep their last value per ifIndex; a reported 0 or all-ones
 *   ("unknown") keeps the previous value;
 * - Ethernet and VLAN counters replace the value in Metric, with the same 0/all-ones rule;
 * - Open vSwitch datapath counters and application resources (fd, connections, memory in use)
 *   are added to the running value (Skydive's oddity, kept); fd, connection and memory maxima
 *   are replaced;
 * - Metric.If* is the sum over the ifIndexes;
 * - a datagram that leaves Metric all zero changes nothing; otherwise LastUpdateMetric =
 *   Metric - previous Metric (when not zero), from the previous Metric.Last to now, and
 *   Metric.Last = now. Metric.Start is never set (Skydive never sets it).
 *
 * Values are Go int64: kept as bigint here (wrapping like Go), given as numbers when they fit in
 * 2^53; fields that are 0 are left out, as Skydive's JSON (omitempty) does.
 */
import type { Int64 } from '../flow/types.js';
import type { SFlowCounterRecord } from './sflow-decode.js';

export const IF_METRIC_FIELDS = [
  'IfInOctets', 'IfInUcastPkts', 'IfInMulticastPkts', 'IfInBroadcastPkts', 'IfInDiscards', 'IfInErrors',
  'IfInUnknownProtos', 'IfOutOctets', 'IfOutUcastPkts', 'IfOutMulticastPkts', 'IfOutBroadcastPkts', 'IfOutDiscards', 'IfOutErrors',
] as const;
export const OVS_METRIC_FIELDS = [
  'OvsDpNHit', 'OvsDpNMissed', 'OvsDpNLost', 'OvsDpNMaskHit', 'OvsDpNFlows', 'OvsDpNMasks',
  'OvsAppFdOpen', 'OvsAppFdMax', 'OvsAppConnOpen', 'OvsAppConnMax', 'OvsAppMemUsed', 'OvsAppMemMax',
] as const;
export const VLAN_METRIC_FIELDS = ['VlanOctets', 'VlanUcastPkts', 'VlanMulticastPkts', 'VlanBroadcastPkts', 'VlanDiscards'] as const;
export const ETH_METRIC_FIELDS = [
  'EthAlignmentErrors', 'EthFCSErrors', 'EthSingleCollisionFrames', 'EthMultipleCollisionFrames', 'EthSQETestErrors',
  'EthDeferredTransmissions', 'EthLateCollisions', 'EthExcessiveCollisions', 'EthInternalMacReceiveErrors',
  'EthInternalMacTransmitErrors', 'EthCarrierSenseErrors', 'EthFrameTooLongs', 'EthSymbolErrors',
] as const;
/** Skydive's SFMetric fields, in its JSON order (Start and Last follow). */
export const SF_METRIC_FIELDS = [...IF_METRIC_FIELDS, ...OVS_METRIC_FIELDS, ...VLAN_METRIC_FIELDS, ...ETH_METRIC_FIELDS] as const;

type IfField = (typeof IF_METRIC_FIELDS)[number];
type SFField = (typeof SF_METRIC_FIELDS)[number];

/** IfMetric / SFMetric as Skydive's JSON gives them: fields at 0 are absent. */
export type IfMetric = Partial<Record<IfField, Int64>>;
export type SFMetric = Partial<Record<SFField | 'Start' | 'Last', Int64>>;
export interface SFlowMetadata {
  IfMetrics?: Record<string, IfMetric>;
  Metric?: SFMetric;
  LastUpdateMetric?: SFMetric;
}

type Values = Record<SFField, bigint> & { Start: bigint; Last: bigint };

const MAX32 = 0xffffffffn;
const MAX64 = 0xffffffffffffffffn;
const go64 = (v: bigint): bigint => BigInt.asIntN(64, v);

function zero(): Values {
  const v = { Start: 0n, Last: 0n } as Values;
  for (const k of SF_METRIC_FIELDS) v[k] = 0n;
  return v;
}

function zeroIf(): Record<IfField, bigint> {
  const v = {} as Record<IfField, bigint>;
  for (const k of IF_METRIC_FIELDS) v[k] = 0n;
  return v;
}

/** Skydive's rule: 0 and all-ones mean "not reported" and keep the old value. */
function keep(n: bigint, old: bigint, max: bigint): bigint {
  return n === 0n || n === max ? old : go64(n);
}

// Generic interface counter -> IfMetric field, and whether the sFlow field is 64-bit.
const GENERIC: [string, IfField, boolean][] = [
  ['ifInOctets', 'IfInOctets', true], ['ifInUcastPkts', 'IfInUcastPkts', false], ['ifInMulticastPkts', 'IfInMulticastPkts', false],
  ['ifInBroadcastPkts', 'IfInBroadcastPkts', false], ['ifInDiscards', 'IfInDiscards', false], ['ifInErrors', 'IfInErrors', false],
  ['ifInUnknownProtos', 'IfInUnknownProtos', false], ['ifOutOctets', 'IfOutOctets', true], ['ifOutUcastPkts', 'IfOutUcastPkts', false],
  ['ifOutMulticastPkts', 'IfOutMulticastPkts', false], ['ifOutBroadcastPkts', 'IfOutBroadcastPkts', false],
  ['ifOutDiscards', 'IfOutDiscards', false], ['ifOutErrors', 'IfOutErrors', false],
];
const ETHERNET: [string, SFField][] = [
  ['dot3StatsAlignmentErrors', 'EthAlignmentErrors'], ['dot3StatsFCSErrors', 'EthFCSErrors'],
  ['dot3StatsSingleCollisionFrames', 'EthSingleCollisionFrames'], ['dot3StatsMultipleCollisionFrames', 'EthMultipleCollisionFrames'],
  ['dot3StatsSQETestErrors', 'EthSQETestErrors'], ['dot3StatsDeferredTransmissions', 'EthDeferredTransmissions'],
  ['dot3StatsLateCollisions', 'EthLateCollisions'], ['dot3StatsExcessiveCollisions', 'EthExcessiveCollisions'],
  ['dot3StatsInternalMacReceiveErrors', 'EthInternalMacReceiveErrors'], ['dot3StatsInternalMacTransmitErrors', 'EthInternalMacTransmitErrors'],
  ['dot3StatsCarrierSenseErrors', 'EthCarrierSenseErrors'], ['dot3StatsFrameTooLongs', 'EthFrameTooLongs'],
  ['dot3StatsSymbolErrors', 'EthSymbolErrors'],
];
const VLAN: [string, SFField, boolean][] = [
  ['octets', 'VlanOctets', true], ['ucastPkts', 'VlanUcastPkts', false], ['multicastPkts', 'VlanMulticastPkts', false],
  ['broadcastPkts', 'VlanBroadcastPkts', false], ['discards', 'VlanDiscards', false],
];
const OVS_DP: [string, SFField][] = [
  ['nHit', 'OvsDpNHit'], ['nMissed', 'OvsDpNMissed'], ['nLost', 'OvsDpNLost'],
  ['nMaskHit', 'OvsDpNMaskHit'], ['nFlows', 'OvsDpNFlows'], ['nMasks', 'OvsDpNMasks'],
];
// Application resources: [sFlow field, metric field, 64-bit, added (true) or replaced].
const APP: [string, SFField, boolean, boolean][] = [
  ['fdOpen', 'OvsAppFdOpen', false, true], ['fdMax', 'OvsAppFdMax', false, false],
  ['connOpen', 'OvsAppConnOpen', false, true], ['connMax', 'OvsAppConnMax', false, false],
  ['memUsed', 'OvsAppMemUsed', true, true], ['memMax', 'OvsAppMemMax', true, false],
];

const big = (v: Int64 | undefined): bigint => BigInt(v ?? 0);
const out = (v: bigint): Int64 => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

function isZero(v: Values): boolean {
  return SF_METRIC_FIELDS.every((k) => v[k] === 0n);
}

function omitEmpty<K extends string>(v: Record<K, bigint>, keys: readonly K[]): Partial<Record<K, Int64>> {
  const o: Partial<Record<K, Int64>> = {};
  for (const k of keys) if (v[k] !== 0n) o[k] = out(v[k]);
  return o;
}

/** The SFlow metadata of one capture (one node in Skydive). */
export class SFlowMetrics {
  private readonly ifMetrics = new Map<number, Record<IfField, bigint>>();
  private metric: Values | undefined;
  private lastUpdate: Values | undefined;

  /** Applies the counter records of one datagram (in order) received at `nowMs`. */
  update(records: readonly SFlowCounterRecord[], nowMs: number): void {
    const metric = this.metric ?? zero();
    const prev = { ...metric };
    for (const r of records) {
      const v = r.values;
      switch (r.type) {
        case 'generic': {
          const ifIndex = Number(v.ifIndex);
          let m = this.ifMetrics.get(ifIndex);
          if (!m) this.ifMetrics.set(ifIndex, (m = zeroIf()));
          for (const [from, to, wide] of GENERIC) {
            const n = keep(big(v[from]), m[to], wide ? MAX64 : MAX32);
            // Metric.If* is the sum over the interfaces: kept up to date here (in int64, as Go
            // adds), rather than summed again for every datagram.
            metric[to] = go64(metric[to] + n - m[to]);
            m[to] = n;
          }
          break;
        }
        case 'ethernet':
          for (const [from, to] of ETHERNET) metric[to] = keep(big(v[from]), prev[to], MAX32);
          break;
        case 'vlan':
          for (const [from, to, wide] of VLAN) metric[to] = keep(big(v[from]), prev[to], wide ? MAX64 : MAX32);
          break;
        case 'ovsDp':
          for (const [from, to] of OVS_DP) metric[to] = go64(metric[to] + keep(big(v[from]), prev[to], MAX32));
          break;
        case 'appResources':
          for (const [from, to, wide, add] of APP) {
            const n = keep(big(v[from]), prev[to], wide ? MAX64 : MAX32);
            metric[to] = add ? go64(metric[to] + n) : n;
          }
          break;
      }
    }
    if (isZero(metric)) {
      // Skydive stores nothing of this datagram; before the first stored one,
      // that includes the interfaces it saw (they were in a map it drops).
      if (!this.metric) this.ifMetrics.clear();
      return;
    }
    const delta = zero();
    for (const k of SF_METRIC_FIELDS) delta[k] = go64(metric[k] - prev[k]);
    if (!isZero(delta)) {
      delta.Start = metric.Last;
      delta.Last = BigInt(nowMs);
      this.lastUpdate = delta;
    }
    metric.Last = BigInt(nowMs);
    this.metric = metric;
  }

  /** The `SFlow` metadata as Skydive's JSON has it; {} before any non-zero counter. */
  metadata(): SFlowMetadata {
    const md: SFlowMetadata = {};
    if (!this.metric) return md;
    const keys = [...SF_METRIC_FIELDS, 'Start', 'Last'] as const;
    md.IfMetrics = {};
    for (const [ifIndex, m] of [...this.ifMetrics].sort((a, b) => a[0] - b[0])) md.IfMetrics[String(ifIndex)] = omitEmpty(m, IF_METRIC_FIELDS);
    md.Metric = omitEmpty(this.metric, keys);
    if (this.lastUpdate) md.LastUpdateMetric = omitEmpty(this.lastUpdate, keys);
    return md;
  }
}
