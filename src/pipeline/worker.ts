/**
 * piscina worker: owns one shard (a WASM flow table) for the life of the
 * thread. Chunks of frames arrive in a shared buffer (the first table's core
 * memory in a file replay, a SharedArrayBuffer of the live pipeline) and are
 * copied into this core's memory; flows go back in bulk, encoded, in
 * transferred buffers.
 */
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { FlowGroups, Shard, withInput, type SharedInput, type ShardConfig, type ShardReply, type ShardTask } from './shard-task.js';

const shard = new Shard(workerData as ShardConfig);

/** A ShardTask whose frames may be in a shared buffer (a view does not cross threads). */
export type WorkerTask = ShardTask & { input?: SharedInput };

export default function handle(task: WorkerTask): unknown {
  const out = new FlowGroups();
  const status = shard.handle(withInput(task, task.input), out);
  const reply: ShardReply = { groups: out.finish(), ticks: out.ticks, ...status };
  // A Transferable marked by move(): the encoded flows are transferred, not copied.
  const transfer = reply.groups.map((g) => g.data.buffer);
  return move({ [transferableSymbol]: transfer, [valueSymbol]: reply } as never);
}
