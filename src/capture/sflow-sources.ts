/**
 * Beyond Skydive: what the collector knows of each sFlow agent and of each data source (an
 * interface, usually) that sends flow samples, so that a user can read estimated totals.
 * Skydive counts one sample as one packet and ignores the sampling rate; these estimates scale
 * each sample by the rate it was taken at (docs/compat.md#sflow-collector).
 *
 * Estimates are kept per data source, not per flow: a flow's own counters stay Skydive's
 * (sampled packets, frame_length - stripped bytes), and every sample of a data source is taken
 * at that source's rate, so a flow seen through one source scales by its SamplingRate.
 */
import type { SFlowDatagram } from './sflow-decode.js';

/** One agent (address and sub-agent id), as its datagrams describe it. */
export interface SFlowAgentInfo {
  Agent: string;
  SubAgentID: number;
  Datagrams: number;
  /** Datagram sequence numbers never seen (lost on the way, most likely). */
  MissedDatagrams: number;
  LastSequence: number;
  /** Agent uptime (ms) in its last datagram. */
  Uptime: number;
}

/** One data source of flow samples. */
export interface SFlowDataSource {
  Agent: string;
  SubAgentID: number;
  /** sFlow source id: type 0 = ifIndex (SourceIDIndex is then the interface), 1 = VLAN, 2 = entPhysicalEntry. */
  SourceIDType: number;
  SourceIDIndex: number;
  /** As in the last sample: 1 sample for SamplingRate packets. */
  SamplingRate: number;
  /** As in the last sample: the agent's count of packets that could have been sampled. */
  SamplePool: number;
  /** As in the last sample: the agent's count of samples dropped for lack of resources. */
  Drops: number;
  /** Flow samples received, and those whose sequence numbers were never seen. */
  Samples: number;
  MissedSamples: number;
  /** Raw packet headers received (packets given to the flow tables) and their frame_length - stripped bytes. */
  SampledPackets: number;
  SampledBytes: number;
  /** Sum over samples of (packets, bytes) x that sample's sampling rate. */
  EstimatedPackets: number;
  EstimatedBytes: number;
}

const U32 = 2 ** 32;

/** Sequence numbers skipped between `last` and `seq` (32-bit, wrapping); 0 for a restart or a reordering. */
function missed(last: number | undefined, seq: number): number {
  if (last === undefined) return 0;
  const gap = (seq - last + U32) % U32;
  return gap > 1 && gap < U32 / 2 ? gap - 1 : 0;
}

export class SFlowSources {
  private readonly agentMap = new Map<string, SFlowAgentInfo>();
  private readonly sourceMap = new Map<string, SFlowDataSource>();
  private readonly sourceSeq = new Map<string, number>();

  /** Takes in a decoded datagram. */
  add(d: SFlowDatagram): void {
    const agentKey = `${d.agent}/${d.subAgentId}`;
    let a = this.agentMap.get(agentKey);
    if (!a) {
      a = { Agent: d.agent, SubAgentID: d.subAgentId, Datagrams: 0, MissedDatagrams: 0, LastSequence: d.sequence, Uptime: d.uptime };
      this.agentMap.set(agentKey, a);
    } else {
      a.MissedDatagrams += missed(a.LastSequence, d.sequence);
    }
    a.Datagrams++;
    a.LastSequence = d.sequence;
    a.Uptime = d.uptime;
    for (const s of d.samples) {
      if (s.kind !== 'flow') continue;
      const key = `${agentKey}/${s.sourceIdType}:${s.sourceIdIndex}`;
      let src = this.sourceMap.get(key);
      if (!src) {
        src = {
          Agent: d.agent, SubAgentID: d.subAgentId, SourceIDType: s.sourceIdType, SourceIDIndex: s.sourceIdIndex,
          SamplingRate: 0, SamplePool: 0, Drops: 0, Samples: 0, MissedSamples: 0,
          SampledPackets: 0, SampledBytes: 0, EstimatedPackets: 0, EstimatedBytes: 0,
        };
        this.sourceMap.set(key, src);
      }
      src.MissedSamples += missed(this.sourceSeq.get(key), s.sequence);
      this.sourceSeq.set(key, s.sequence);
      src.SamplingRate = s.samplingRate;
      src.SamplePool = s.samplePool;
      src.Drops = s.drops;
      src.Samples++;
      src.SampledPackets += s.headers;
      src.SampledBytes += s.headerBytes;
      src.EstimatedPackets += s.headers * s.samplingRate;
      src.EstimatedBytes += s.headerBytes * s.samplingRate;
    }
  }

  agents(): SFlowAgentInfo[] {
    return [...this.agentMap.values()].map((a) => ({ ...a }));
  }

  sources(): SFlowDataSource[] {
    return [...this.sourceMap.values()].map((s) => ({ ...s }));
  }
}
