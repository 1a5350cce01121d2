/**
 * The writer's queue: first in, first out across memory and disk; documents put back on
 * shutdown come first at the next start; the disk budget drops the oldest, counted.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DocOp } from '../../../src/store/elasticsearch/documents.js';
import { LOCK_FILE, SpillQueue, type SpillQueueOptions } from '../../../src/store/elasticsearch/spill-queue.js';

const ops = (from: number, n: number): DocOp[] =>
  Array.from({ length: n }, (_, i) => ({ kind: (from + i) % 2 ? 'metric' : 'flow', id: `d${from + i}`, version: (from + i) % 2 ? undefined : from + i, doc: `{"n":${from + i}}` }));
const segments = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.ndjson')).sort();
const ids = (list: DocOp[]): string[] => list.map((o) => o.id);

function queue(t: Test, over: Partial<SpillQueueOptions> = {}): { q: SpillQueue; dir: string; drops: Array<[number, string]> } {
  const dir = over.dir ?? mkdtempSync(join(tmpdir(), 'spill-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const drops: Array<[number, string]> = [];
  const q = new SpillQueue({ dir, maxMemoryDocs: 10, segmentDocs: 4, maxDiskBytes: 1 << 20, onDrop: (n, why) => drops.push([n, why]), ...over });
  return { q, dir, drops };
}

function drain(q: SpillQueue): DocOp[] {
  const out: DocOp[] = [];
  for (let b = q.take(4); b !== undefined; b = q.take(4)) {
    out.push(...b.ops);
    q.ack(b);
  }
  return out;
}

t.test('memory overflow spills to disk and order is kept', async (t) => {
  const { q, dir } = queue(t);
  q.push(ops(0, 8));
  const first = q.take(4)!;
  t.strictSame(ids(first.ops), ['d0', 'd1', 'd2', 'd3']);
  q.ack(first);
  q.push(ops(8, 9));
  t.equal(q.memoryDocs, 0, 'over 10 in memory: all went to disk');
  t.equal(q.diskDocs, 13);
  t.equal(segments(dir).length, 4, 'segments of 4 documents');
  q.push(ops(17, 3));
  const rest = drain(q);
  t.strictSame(ids(rest), ids(ops(4, 16)), 'disk first, then memory, oldest first');
  t.strictSame(rest[0], ops(4, 1)[0], 'documents come back whole (kind, id, version, text)');
  t.equal(segments(dir).length, 0, 'acknowledged segments are deleted');
});

t.test('persist on shutdown; the next start reads the documents first', async (t) => {
  const { q, dir } = queue(t);
  q.push(ops(0, 6));
  const inflight = q.take(4)!;
  q.push(ops(6, 2));
  q.persist([inflight]);
  q.close();
  const { q: next } = queue(t, { dir });
  t.equal(next.diskDocs, 8);
  t.strictSame(ids(drain(next)), ids(ops(0, 8)), 'the unacknowledged batch first, then the rest, in order');
});

t.test('persist with several batches in flight, from memory and from disk', async (t) => {
  const { q, dir } = queue(t);
  q.push(ops(0, 6));
  const first = q.take(3)!;
  const second = q.take(3)!;
  // Memory overflows while both are in flight: segments of 4, one of them then taken too.
  q.push(ops(6, 11));
  const fromDisk = q.take(4)!;
  t.ok(fromDisk.segment !== undefined);
  q.push(ops(17, 2));
  q.persist([first, second, fromDisk]);
  q.close();
  const { q: next } = queue(t, { dir });
  t.equal(next.diskDocs, 19, 'nothing lost, nothing twice');
  t.strictSame(ids(drain(next)), ids(ops(0, 19)), 'memory batches, then the segment in flight, then the rest, in order');
});

t.test('the disk budget drops the oldest documents, counted', async (t) => {
  const { q, drops } = queue(t, { maxDiskBytes: 200 });
  q.push(ops(0, 11));
  t.ok(q.diskBytes <= 200);
  const dropped = drops.reduce((n, [c]) => n + c, 0);
  t.ok(dropped > 0);
  t.match(drops[0][1], /spill_max_bytes/);
  const left = drain(q);
  t.strictSame(ids(left), ids(ops(dropped, 11 - dropped)), 'the newest are kept');
});

t.test('no disk: a full memory drops its documents, counted', async (t) => {
  const { q, drops } = queue(t, { maxDiskBytes: 0 });
  q.push(ops(0, 11));
  t.strictSame(drops, [[11, 'the memory buffer is full and spill_max_bytes is 0']]);
  t.equal(q.take(4), undefined);
});

t.test('a segment deleted behind the queue is counted as dropped, the rest still goes', async (t) => {
  const { q, dir, drops } = queue(t);
  q.push(ops(0, 12));
  t.strictSame(segments(dir).length, 3);
  unlinkSync(join(dir, segments(dir)[1]));
  let out: DocOp[] = [];
  t.doesNotThrow(() => { out = drain(q); });
  t.strictSame(ids(out), ids([...ops(0, 4), ...ops(8, 4)]), 'the segments left come out, in order');
  t.equal(drops.length, 1);
  t.equal(drops[0][0], 4, 'the missing documents are counted');
  t.match(drops[0][1], /cannot read the spill segment/);
  t.equal(q.diskDocs, 0);
});

t.test('a segment deleted while its batch is in flight: ack does not throw, nothing counted', async (t) => {
  const { q, dir, drops } = queue(t);
  q.push(ops(0, 12));
  const b = q.take(4)!;
  unlinkSync(b.segment!);
  t.doesNotThrow(() => q.ack(b));
  t.strictSame(drops, [], 'its documents were read and sent');
  t.equal(drain(q).length, 8);
  t.equal(segments(dir).length, 0);
});

t.test('a second queue on the same directory is refused until the first closes', async (t) => {
  const { q, dir } = queue(t);
  q.push(ops(0, 12));
  t.throws(() => queue(t, { dir }), /storage\.elasticsearch\.spill_dir/, 'names the setting');
  t.equal(segments(dir).length, 3, 'the first queue\'s segments are untouched');
  q.close();
  const { q: next } = queue(t, { dir });
  t.strictSame(ids(drain(next)), ids(ops(0, 12)), 'the next run drains them');
});

t.test('a lock left by a process that is gone (or whose pid another process took since) is taken over', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spill-test-'));
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
  writeFileSync(join(dir, LOCK_FILE), `${gone}\n`);
  t.doesNotThrow(() => queue(t, { dir }).q.close(), 'dead pid');
  writeFileSync(join(dir, LOCK_FILE), `${process.pid}\n`);
  t.doesNotThrow(() => queue(t, { dir }).q.close(), 'our own pid (a restarted container) while we do not hold it');
  writeFileSync(join(dir, LOCK_FILE), `${process.ppid}\n`);
  t.throws(() => queue(t, { dir }), /another analyzer \(pid \d+\)/, 'a live process holds it');
  // The pid of a live process, with the start time of another: the holder is gone, its pid reused.
  const parentStart = readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
  writeFileSync(join(dir, LOCK_FILE), `${process.ppid} ${Number(parentStart) + 1}\n`);
  t.doesNotThrow(() => queue(t, { dir }).q.close(), 'a live pid that started at another time (reused)');
  writeFileSync(join(dir, LOCK_FILE), `${process.ppid} ${parentStart}\n`);
  t.throws(() => queue(t, { dir }), /another analyzer \(pid \d+\)/, 'the live process that wrote it');
  const held = queue(t);
  const ownStart = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[19];
  t.equal(readFileSync(join(held.dir, LOCK_FILE), 'utf8'), `${process.pid} ${ownStart}\n`, 'a queue\'s lock names its process by pid and start time');
  held.q.close();
});
