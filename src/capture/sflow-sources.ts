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
  /** Datagram sequence numbers never seen (lost on the way, most likely; late ones are seen). */
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
/** How far back a late datagram or sample still finds its number among the missed ones. */
const REORDER_WINDOW = 1024;

/**
 * The sequence numbers of one stream (32-bit, wrapping) never seen: a number skipped counts as
 * missed until it arrives late (UDP reorders), within REORDER_WINDOW of the newest. A number far
 * behind the newest is a restart of the agent's counter.
 */
class SequenceGaps {
  last: number;
  missed = 0;
  /** Skipped numbers within the window, which a late arrival takes back. */
  private readonly open = new Set<number>();

  constructor(first: number) {
    this.last = first;
  }

  see(seq: number): void {
    const ahead = (seq - this.last + U32) % U32;
    if (ahead === 0) return;
    if (ahead < U32 / 2) {
      this.missed += ahead - 1;
      for (let k = Math.max(1, ahead - REORDER_WINDOW); k < ahead; k++) this.open.add((this.last + k) % U32);
      this.last = seq;
      for (const n of this.open) if ((this.last - n + U32) % U32 > REORDER_WINDOW) this.open.delete(n);
    } else if (this.open.delete(seq)) {
      this.missed--;
    } else if (U32 - ahead > REORDER_WINDOW) {
      this.last = seq;
      this.open.clear();
    }
  }
}

export class SFlowSources {
  private readonly agentMap = new Map<string, SFlowAgentInfo>();
  private readonly sourceMap = new Map<string, SFlowDataSource>();
  private readonly agentSeq = new Map<string, SequenceGaps>();
  private readonly sourceSeq = new Map<string, SequenceGaps>();

  /** Takes in a decoded datagram. */
  add(d: SFlowDatagram): void {
    const agentKey = `${d.agent}/${d.subAgentId}`;
    let a = this.agentMap.get(agentKey);
    if (!a) {
      a = { Agent: d.agent, SubAgentID: d.subAgentId, Datagrams: 0, MissedDatagrams: 0, LastSequence: d.sequence, Uptime: d.uptime };
      this.agentMap.set(agentKey, a);
      this.agentSeq.set(agentKey, new SequenceGaps(d.sequence));
    }
    const seq = this.agentSeq.get(agentKey)!;
    seq.see(d.sequence);
    a.Datagrams++;
    a.MissedDatagrams = seq.missed;
    a.LastSequence = seq.last;
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
      let gaps = this.sourceSeq.get(key);
      if (!gaps) this.sourceSeq.set(key, (gaps = new SequenceGaps(s.sequence)));
      gaps.see(s.sequence);
      src.MissedSamples = gaps.missed;
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
