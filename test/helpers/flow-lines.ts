/** Test helper: the JSON lines of a group of flows that left a table (jsonl shard format). */
import { groupRecords, type FlowGroup } from '../../src/pipeline/shard-task.js';

export function groupLines(group: FlowGroup): string[] {
  return groupRecords(group).map((r) => Buffer.from(r).toString());
}
