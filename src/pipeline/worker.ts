/**
 * piscina worker: owns one shard (a WASM flow table) for the life of the
 * thread. Batches arrive in a SharedArrayBuffer the dispatcher filled; flows
 * go back in bulk, encoded, in one transferred buffer.
 */
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { Shard, type ShardConfig, type ShardReply, type ShardTask } from './shard-task.js';

const shard = new Shard(workerData as ShardConfig);

export type WorkerTask = Exclude<ShardTask, { op: 'batch' }> | { op: 'batch'; sab: SharedArrayBuffer; bytes: number; packets: number };

export default function handle(task: WorkerTask): unknown {
  const reply: ShardReply = shard.handle(task.op === 'batch'
    ? { op: 'batch', data: new Uint8Array(task.sab), bytes: task.bytes, packets: task.packets }
    : task);
  // A Transferable marked by move(): the encoded flows are transferred, not copied.
  return move({ [transferableSymbol]: [reply.data.buffer], [valueSymbol]: reply } as never);
}
