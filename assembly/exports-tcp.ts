// TCP reassembly API (flow/tcpassembly.ts) as module exports, for the host and
// the tests. assembly/index.ts re-exports this file.
import { heapAlloc } from './alloc';
import { FLOW_SIZE } from './flow/layout';

export {
  tcpConnNew, tcpConnSetFlow, tcpAssemble, tcpFlushAll, tcpFlushOlderThan, tcpConnRelease, tcpSetMaxPages,
  tcpPagesInUse, tcpPagesAllocated, tcpConnsInUse, tcpCapFlushes, tcpDroppedSegments,
} from './flow/tcpassembly';

/** Test helper: a zeroed, detached flow record (never freed) for driving the assembler directly. */
export function tcpTestFlowRecord(): usize {
  return heapAlloc(<usize>FLOW_SIZE);
}
