/**
 * A capture's periodic Stats for the analyzer (flow-semantics.md §5, stats tick): the flows in
 * its table now, and the packets received and dropped, flows dropped and (our addition)
 * packets that failed to decode since the previous Stats. Sources and tables keep cumulative
 * counters; this keeps the last values to send differences.
 */
import type { Stats } from '../flow/types.js';

export interface CaptureCounters {
  packetsReceived: number;
  packetsDropped: number;
  kernelFlowDropped: number;
  flowDropped: number;
  decodeFailures: number;
  tableSize: number;
}

export class StatsReporter {
  private last = { packetsReceived: 0, packetsDropped: 0, kernelFlowDropped: 0, flowDropped: 0, decodeFailures: 0 };

  constructor(readonly captureID: string) {}

  /** The Stats since the previous call. */
  next(now: CaptureCounters): Stats {
    const d = (k: keyof typeof this.last): number => Math.max(0, now[k] - this.last[k]);
    const s: Stats = {
      CaptureID: this.captureID, FlowCount: now.tableSize, FlowDropped: d('flowDropped'),
      KernelFlowDropped: d('kernelFlowDropped'), PacketsReceived: d('packetsReceived'), PacketsDropped: d('packetsDropped'),
    };
    const failures = d('decodeFailures');
    if (failures > 0) s.DecodeFailures = failures;
    this.last = {
      packetsReceived: now.packetsReceived, packetsDropped: now.packetsDropped, kernelFlowDropped: now.kernelFlowDropped,
      flowDropped: now.flowDropped, decodeFailures: now.decodeFailures,
    };
    return s;
  }
}
