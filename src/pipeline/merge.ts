/**
 * The end of a replay: every shard's flows come out of its table in key
 * order, a bounded group at a time, and are merged here into one ordered
 * stream. Memory holds a group or two per shard, not the whole table.
 */
import type { FlowGroup } from './shard-task.js';

/**
 * Next group of a sorted stream (each group sorted, groups in order); undefined at the end.
 * mergeSorted asks a source for a group only when it is done with every group that source gave,
 * but the last one: `stopSource` relies on it to hand the buffers back.
 */
export type GroupSource = () => Promise<FlowGroup | undefined>;

/**
 * The groups a table gives at a capture stop, as a GroupSource: `next(recycle)` runs one stop
 * task; `recycle` holds the buffer of a group already written, for the table to fill again.
 */
export function stopSource(next: (recycle: ArrayBuffer[]) => Promise<{ group: FlowGroup; done: boolean }>): GroupSource {
  const given: FlowGroup[] = [];
  let done = false;
  return async () => {
    if (done) return undefined;
    // Of the groups given, all but the last are written (see GroupSource).
    const written = given.length === 2 ? given.shift()!.data.buffer as ArrayBuffer : undefined;
    const recycle = written === undefined || written.byteLength === 0 ? [] : [written];
    const r = await next(recycle);
    done = r.done;
    given.push(r.group);
    return r.group;
  };
}

interface Cursor {
  group: FlowGroup;
  i: number;
  start: number;
  source: GroupSource;
  /** The next group, asked for as soon as this one arrived, so the shard works while we write. */
  ahead: Promise<FlowGroup | undefined>;
}

/**
 * Writes the records of every source in key order; returns how many. When a write or a source
 * fails, the groups already asked for are left to settle on their own (their sources' tasks may
 * be cancelled next: that is no second failure).
 */
export async function mergeSorted(sources: GroupSource[], write: (record: Uint8Array) => Promise<void> | undefined): Promise<number> {
  const cursors: Cursor[] = [];
  try {
    return await merge(sources, write, cursors);
  } catch (err) {
    for (const c of cursors) c.ahead.catch(() => {});
    throw err;
  }
}

async function merge(sources: GroupSource[], write: (record: Uint8Array) => Promise<void> | undefined, cursors: Cursor[]): Promise<number> {
  for (const source of sources) {
    const group = await nonEmpty(source, source());
    if (group) cursors.push({ group, i: 0, start: 0, source, ahead: source() });
  }
  let n = 0;
  while (cursors.length > 0) {
    let best = 0;
    for (let k = 1; k < cursors.length; k++) {
      if (cursors[k].group.keys[cursors[k].i] < cursors[best].group.keys[cursors[best].i]) best = k;
    }
    const c = cursors[best];
    const end = c.group.ends[c.i];
    const writing = write(c.group.data.subarray(c.start, end));
    if (writing) await writing;
    n++;
    c.start = end;
    if (++c.i < c.group.keys.length) continue;
    const next = await nonEmpty(c.source, c.ahead);
    if (!next) { cursors.splice(best, 1); continue; }
    Object.assign(c, { group: next, i: 0, start: 0, ahead: c.source() });
  }
  return n;
}

/** The first non-empty group from `pending` on. */
async function nonEmpty(source: GroupSource, pending: Promise<FlowGroup | undefined>): Promise<FlowGroup | undefined> {
  for (let g = await pending; g; g = await source()) {
    if (g.keys.length > 0) return g;
  }
  return undefined;
}
