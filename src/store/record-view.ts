/**
 * A stored flow seen through its record, one field at a time: what a filter or a sort key over
 * many flows reads. Decoding a whole Flow for each of a million flows to test one field took
 * seconds; here each field read walks the record once and decodes that field alone
 * (message-reader.ts' `readFlowRecord(..., only)`); Start and Last come from the store's
 * columns, and Link, Network, Transport and Metric from where the scan placed them
 * (record-scan.ts' PLACED_FIELDS), without a walk. The values are those of the whole decode:
 * the same defaults, the same objects.
 */
import type {
  DHCPv4, DNS, Flow, FlowLayer, FlowMetric, ICMPLayer, Int64, IPMetric, RawPacket, TCPMetric, TransportLayer, VRRPv2,
} from '../flow/types.js';
import { readFlowPart, readFlowRecord } from '../format/message-reader.js';

export class RecordView implements Flow {
  /**
   * `start`, `last`: the flow's Start and Last as numbers (the store's columns); a value that is
   * not a safe integer stood for a bigint and is decoded instead.
   */
  constructor(
    private readonly buf: Buffer, private readonly from: number, private readonly to: number,
    private readonly start: number, private readonly last: number,
    /** `placedOff[placedAt + i]`: PLACED_FIELDS[i]'s offset in the record (-1: absent; any, when rare). */
    private readonly placedOff: Int32Array, private readonly placedLen: Int32Array, private readonly placedAt: number,
    /** Whether the record has a rare part: read whole, as the reader does. */
    private readonly rare: boolean,
  ) {}

  /** The placed sub-message i (field `field`), or undefined when absent. */
  private placed(i: number, field: 20 | 21 | 22 | 32): FlowLayer | TransportLayer | FlowMetric | undefined {
    const off = this.placedOff[this.placedAt + i];
    if (off < 0) return undefined;
    const at = this.from + off;
    return readFlowPart(this.buf, at, at + this.placedLen[this.placedAt + i], field);
  }

  private part(field: number): Flow {
    return readFlowRecord(this.buf, this.from, this.to, field);
  }

  get UUID(): string { return this.part(1).UUID; }
  get LayersPath(): string { return this.part(2).LayersPath; }
  get Application(): string { return this.part(3).Application; }
  get ParentUUID(): string { return this.part(6).ParentUUID; }
  get Start(): Int64 { return Number.isSafeInteger(this.start) ? this.start : this.part(10).Start; }
  get Last(): Int64 { return Number.isSafeInteger(this.last) ? this.last : this.part(11).Last; }
  get Link(): FlowLayer | undefined { return this.rare ? this.part(20).Link : this.placed(0, 20) as FlowLayer | undefined; }
  get Network(): FlowLayer | undefined { return this.rare ? this.part(21).Network : this.placed(1, 21) as FlowLayer | undefined; }
  get Transport(): TransportLayer | undefined {
    return this.rare ? this.part(22).Transport : this.placed(2, 22) as TransportLayer | undefined;
  }
  get ICMP(): ICMPLayer | undefined { return this.part(23).ICMP; }
  get LastUpdateMetric(): FlowMetric | undefined { return this.part(31).LastUpdateMetric; }
  get Metric(): FlowMetric {
    // Absent: the reader's default, a zero metric.
    return (this.rare ? undefined : this.placed(3, 32) as FlowMetric | undefined) ?? this.part(32).Metric;
  }
  get NodeTID(): string { return this.part(33).NodeTID; }
  get CaptureID(): string { return this.part(34).CaptureID; }
  get LastRawPackets(): RawPacket[] | undefined { return this.part(36).LastRawPackets; }
  get RawPacketsCaptured(): number { return this.part(37).RawPacketsCaptured; }
  get TCPMetric(): TCPMetric | undefined { return this.part(38).TCPMetric; }
  get IPMetric(): IPMetric | undefined { return this.part(39).IPMetric; }
  get TrackingID(): string { return this.part(50).TrackingID; }
  get L3TrackingID(): string { return this.part(51).L3TrackingID; }
  get FinishType(): number { return this.part(60).FinishType; }
  get DHCPv4(): DHCPv4 | undefined { return this.part(1000).DHCPv4; }
  get DNS(): DNS | undefined { return this.part(1001).DNS; }
  get VRRPv2(): VRRPv2 | undefined { return this.part(1002).VRRPv2; }
}
