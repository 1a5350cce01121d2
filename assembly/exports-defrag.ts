// IPv4 defragmentation API (flow/defrag.ts) as module exports, for the host
// and the tests. assembly/index.ts re-exports this file.
export {
  DEFRAG_PASS, DEFRAG_DROP, DEFRAG_COMPLETE,
  defragPacket, defragMetricFragments, defragMetricErrors, defragFlushOlderThan, defragSetLimits,
  defragDatagrams, defragKeys, defragBytesHeld, defragEvictions, defragMaxDatagrams, defragMaxBytes,
  defragReassembledData, defragReassembledLength,
} from './flow/defrag';
