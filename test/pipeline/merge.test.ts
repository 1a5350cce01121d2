/**
 * The end-of-replay merge and the sink: records come out in key order
 * whatever the group sizes, empty groups and number of sources; groups
 * closed at ticks are written in order, each sorted on its own.
 */
import t from 'tap';
import { PassThrough } from 'node:stream';
import { mergeSorted, stopSource, type GroupSource } from '../../src/pipeline/merge.js';
import { SortedFlowSink } from '../../src/pipeline/sorted-output.js';
import { FlowWriter } from '../../src/format/writer.js';
import type { FlowGroup } from '../../src/pipeline/shard-task.js';

function group(keys: string[]): FlowGroup {
  const data = Buffer.from(keys.join(''), 'latin1');
  let end = 0;
  return { keys, ends: keys.map((k) => (end += k.length)), data };
}

/** A source giving `groups` in order, then undefined. */
function source(groups: string[][]): GroupSource {
  let i = 0;
  return async () => (i < groups.length ? group(groups[i++]) : undefined);
}

async function merge(sources: GroupSource[]): Promise<string[]> {
  const out: string[] = [];
  await mergeSorted(sources, async (r) => { out.push(Buffer.from(r).toString('latin1')); });
  return out;
}

t.test('merges sorted sources of groups into one ordered stream', async (t) => {
  t.strictSame(await merge([source([['a', 'd'], [], ['g']]), source([[], ['b', 'c'], ['h', 'i']]), source([['e', 'f']])]),
    ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
  t.strictSame(await merge([]), []);
  t.strictSame(await merge([source([]), source([[]])]), []);
  // Random sources: the result is the sorted union.
  let seed = 3;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
  const all: string[] = [];
  const sources = Array.from({ length: 4 }, () => {
    const keys = Array.from({ length: rnd(50) }, () => `k${String(rnd(100000)).padStart(6, '0')}`).sort();
    all.push(...keys);
    const groups: string[][] = [];
    for (let i = 0; i < keys.length;) { const n = rnd(6); groups.push(keys.slice(i, i + n)); i += n; }
    return source(groups);
  });
  t.strictSame(await merge(sources), all.sort());
});

t.test('stopSource hands back only buffers of groups already written, and the records stay intact', async (t) => {
  // A table that refills recycled buffers, as a shard does: a buffer handed back too early
  // would overwrite records not yet written.
  const pool: ArrayBuffer[] = [];
  const recycled: string[] = [];
  const batches = [['a', 'c'], [], ['e'], ['g', 'i', 'k'], ['m']];
  let i = 0;
  const table = stopSource(async (recycle) => {
    for (const b of recycle) { recycled.push(Buffer.from(b, 0, 1).toString('latin1')); pool.push(b); }
    const keys = batches[i++];
    const text = keys.join('');
    const buffer = pool.pop() ?? new ArrayBuffer(16);
    const data = Buffer.from(buffer, 0, text.length);
    data.write(text, 'latin1');
    let end = 0;
    return { group: { keys, ends: keys.map((k) => (end += k.length)), data }, done: i === batches.length };
  });
  t.strictSame(await merge([table, source([['b', 'd'], ['f', 'h', 'j', 'l']])]),
    ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm']);
  // Every group but the last two came back, in order (the empty one's buffer too, whatever it held).
  t.equal(recycled.length, 3);
  t.equal(recycled[0], 'a');
  t.equal(recycled[2], 'e');
});

t.test('sink: groups closed at ticks are written in order, each sorted; the open group is taken sorted', async (t) => {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const writer = new FlowWriter(stream, 'jsonl', { end: false });
  const sink = new SortedFlowSink();
  sink.add('b', '"b"');
  sink.add('a', '"a"');
  t.equal(sink.ready, false);
  sink.endGroup();
  sink.add('0', '"0"');
  sink.endGroup();
  sink.endGroup(); // an empty group changes nothing
  sink.add('z', '"z"');
  sink.add('c', '"c"');
  t.equal(sink.ready, true);
  t.equal(await sink.writeTo(writer), 3);
  const sources = sink.takeOpen();
  t.equal(sources.length, 1, 'nothing spilled');
  const open = sources[0];
  t.equal(sink.size, 0);
  const g = await open();
  t.strictSame(g?.keys, ['c', 'z']);
  t.equal(await open(), undefined);
  await writer.end();
  t.equal(Buffer.concat(chunks).toString(), '"a"\n"b"\n"0"\n');
});

/** Adds records to the sink one by one, or in runs (addRun) of 1 to 17 records and, once, a run larger than a chunk of the sink. */
function feeder(sink: SortedFlowSink, runs: boolean): { add(key: string, record: string): void; flush(): void } {
  let keys: string[] = [];
  let texts: string[] = [];
  let size = 0;
  let bigDone = false;
  const flush = (): void => {
    if (keys.length === 0) return;
    let end = 0;
    const ends = texts.map((r) => (end += Buffer.byteLength(r)));
    sink.addRun(keys, ends, Buffer.from(texts.join('')));
    keys = [];
    texts = [];
    size = 0;
  };
  return {
    add: (key, record) => {
      if (!runs) return sink.add(key, record);
      keys.push(key);
      texts.push(record);
      size += record.length;
      if (bigDone ? keys.length >= 1 + (key.length * 7) % 17 : size > 5 << 20) {
        bigDone = true;
        flush();
      }
    },
    flush,
  };
}

for (const runs of [false, true]) {
  t.test(`sink: past its bound, records wait in sorted runs on disk; every group comes out whole and sorted (${runs ? 'addRun' : 'add'})`, async (t) => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const writer = new FlowWriter(stream, 'jsonl', { end: false });
    const sink = new SortedFlowSink({ spillBytes: runs ? 3 << 20 : 1000 });
    const feed = feeder(sink, runs);
    let seed = 3;
    const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed; };
    const groups: string[][] = [[], [], []];
    // With runs: the first group holds a run larger than a chunk of the sink (4 MiB), then small runs, as the last.
    const sizes = runs ? [[0, 1800], [1, 3], [2, 2500]] as const : [[0, 120], [1, 3], [2, 200]] as const;
    for (const [g, n] of sizes) {
      for (let i = 0; i < n; i++) {
        // A few records are large (with runs: many, to pass the bound).
        const key = `${(rnd() % 500).toString().padStart(4, '0')}-${g}-${i.toString().padStart(4, '0')}`;
        const large = runs ? g === 0 || (g === 2 && i % 2 === 0) : i % 37 === 0;
        const record = JSON.stringify(key + (large ? 'x'.repeat(3000) : ''));
        groups[g].push(record);
        feed.add(key, record);
      }
      feed.flush();
      if (g === 2) break;
      if (g === 0) t.ok(sink.spilled > 0, `spilled ${sink.spilled} of ${n}`);
      sink.endGroup();
      t.equal(await sink.writeTo(writer), n, `group ${g} written whole`);
      t.equal(sink.spilled, 0, 'its runs are done with');
    }
    const sources = sink.takeOpen();
    t.ok(sources.length > 1, `the open group: memory and ${sources.length - 1} run(s)`);
    await mergeSorted(sources, (r) => writer.writeRecord(r));
    await writer.end();
    const want = groups.flatMap((g) => [...g].sort()).join('\n') + '\n';
    t.equal(Buffer.concat(chunks).toString(), want, 'each group sorted, groups in order, nothing lost');
  });
}

t.test('a failed write leaves the groups asked for ahead to settle: no unhandled rejection', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => { unhandled.push(e); };
  process.on('unhandledRejection', onUnhandled);
  try {
    // Each source's next group fails a little later, as a task does when its thread is terminated.
    const failing = (keys: string[]): GroupSource => {
      let first = true;
      return () => {
        if (first) { first = false; return Promise.resolve(group(keys)); }
        return new Promise((_, reject) => setTimeout(() => reject(new Error('Terminating worker thread')), 20));
      };
    };
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    await t.rejects(mergeSorted([failing(['a', 'c']), failing(['b'])], () => Promise.reject(epipe)), { code: 'EPIPE' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    t.same(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
