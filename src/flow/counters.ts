/** Names of the core's event counters, in the order of assembly/counters.ts. */
export const COUNTER_NAMES = [
  'packets', 'decode_failures', 'truncated', 'packets_without_flow', 'too_many_layers', 'unknown_linktype',
  'flows_created', 'flow_dropped', 'defrag_fragments', 'defrag_errors', 'defrag_reassembled',
  'orphan_subpackets', 'bad_records', 'packets_with_flow', 'table_no_memory',
] as const;
