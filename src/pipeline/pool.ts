/**
 * Shard threads: each shard a piscina pool of exactly one thread that holds
 * its WASM flow table for its whole life (minThreads = maxThreads = 1, no
 * idle timeout), so a shard's state never moves and its tasks run in order.
 */
import type { Piscina } from 'piscina';
import { FlowGroups, Shard, withInput, type SharedInput, type ShardConfig, type ShardReply, type ShardTask } from './shard-task.js';
import type { WorkerTask } from './worker.js';
import { compiledCore } from '../wasm/module.js';
import { compiledScript } from '../project-files.js';

/** A shard behind a uniform async interface. */
export interface ShardHandle {
  run(task: ShardTask, input?: SharedInput): Promise<ShardReply>;
  close(): Promise<void>;
}

export function threadShard(config: ShardConfig): ShardHandle {
  // The thread instantiates the core this one compiled: it neither compiles it again nor waits for its own tier-up.
  const { debug, memory } = config.engine;
  const module = compiledCore(debug ?? false, memory !== undefined);
  // piscina is loaded with the first thread: a table in the calling thread alone (pcap2flows'
  // default) does without it, and its loading was a fortieth of a small replay.
  const pool: Promise<Piscina> = import('piscina').then(({ Piscina }) => new Piscina({
    filename: compiledScript('pipeline/worker.js'),
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: Number.MAX_SAFE_INTEGER,
    recordTiming: false,
    workerData: { ...config, engine: { ...config.engine, module } } satisfies ShardConfig,
  }));
  // A failure to start surfaces at the first run or close; not also as an unhandled rejection.
  pool.catch(() => {});
  return {
    run: async (task, input) => (await pool).run({ ...task, input } satisfies WorkerTask,
      task.op === 'stop' && task.recycle ? { transferList: task.recycle } : {}) as Promise<ShardReply>,
    close: async () => (await pool).destroy(),
  };
}

/** A shard in the calling thread behind the same interface (one table, no thread to feed). */
export function localShard(config: ShardConfig): ShardHandle {
  const shard = new Shard(config);
  return {
    run: async (task, input) => {
      const out = new FlowGroups();
      const status = shard.handle(withInput(task, input), out);
      return { groups: out.finish(), ticks: out.ticks, ...status };
    },
    close: async () => {},
  };
}
