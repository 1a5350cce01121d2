/**
 * The typed-array hash index against a plain Map of lists, through random adds, moves and
 * removals (growth, deletion with backward shift, lists of one and of thousands).
 */
import t from 'tap';
import { EMPTY, hashKey, HashIndex } from '../../src/store/hash-index.js';
import { indexKeyOf, SECONDARY_FIELDS, writeIndexKeys } from '../../src/store/index-keys.js';
import { INDEXED_FIELDS, type IndexKey } from '../../src/store/types.js';
import { makeFlows, rng } from '../query/flow-fixture.js';

/** Records' current values, as the store keeps them. */
class Model {
  readonly values: Array<IndexKey | undefined> = [];
  readonly index: HashIndex;

  constructor(capacity: number, slots?: number) {
    this.index = new HashIndex(capacity, slots);
  }

  ids(key: IndexKey): number[] {
    const out: number[] = [];
    for (let id = this.index.first(key); id !== EMPTY; id = this.index.after(id)) out.push(id);
    return out;
  }
}

t.test('random adds, moves and removals agree with a Map of lists', (t) => {
  const r = rng(99);
  const capacity = 4096;
  const m = new Model(16);
  m.index.growRecords(capacity);
  const expected = new Map<IndexKey, number[]>();
  const keys: IndexKey[] = [...Array.from({ length: 300 }, (_, i) => `k${i}`), ...Array.from({ length: 300 }, (_, i) => i * 7)];
  const pickKey = (): IndexKey => (r() < 0.2 ? keys[Math.floor(r() * 5)] : keys[Math.floor(r() * keys.length)]);
  const free: number[] = Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
  const live = new Set<number>();
  for (let step = 0; step < 30000; step++) {
    const op = r();
    if (op < 0.5 && free.length > 0) {
      const id = free.pop() as number;
      const key = pickKey();
      m.values[id] = key;
      m.index.add(key, id);
      expected.set(key, [...(expected.get(key) ?? []), id]);
      live.add(id);
    } else if (op < 0.6 && live.size > 0) {
      const id = [...live][Math.floor(r() * live.size)];
      const was = m.values[id] as IndexKey;
      const now = pickKey();
      if (was === now) continue;
      m.index.remove(was, id);
      m.values[id] = now;
      m.index.move(now, id);
      expected.set(was, (expected.get(was) ?? []).filter((x) => x !== id));
      expected.set(now, [...(expected.get(now) ?? []), id]);
    } else if (live.size > 0) {
      const id = [...live][Math.floor(r() * live.size)];
      const key = m.values[id] as IndexKey;
      m.index.remove(key, id);
      m.values[id] = undefined;
      expected.set(key, (expected.get(key) ?? []).filter((x) => x !== id));
      live.delete(id);
      free.push(id);
    }
  }
  let bad = 0;
  for (const key of keys) {
    const want = expected.get(key) ?? [];
    if (JSON.stringify(m.ids(key)) !== JSON.stringify(want) || m.index.count(key) !== want.length) {
      bad++;
      t.same(m.ids(key), want, `key ${String(key)}`);
    }
  }
  t.equal(bad, 0, 'every list holds exactly its records, in the order they were added');
  t.equal(m.index.distinct, [...expected.values()].filter((l) => l.length > 0).length, 'distinct values');
  t.ok(m.index.unordered, 'moves mark the index unordered');
  t.end();
});

t.test('growth: many distinct values, then all removed', (t) => {
  const m = new Model(1 << 16);
  for (let id = 0; id < 50000; id++) {
    m.values[id] = `v${id}`;
    m.index.add(`v${id}`, id);
  }
  t.equal(m.index.distinct, 50000);
  t.same(m.ids('v12345'), [12345]);
  t.equal(m.index.count('nope'), 0);
  for (let id = 0; id < 50000; id += 2) m.index.remove(`v${id}`, id);
  let ok = 0;
  for (let id = 1; id < 50000; id += 2) if (m.ids(`v${id}`)[0] === id) ok++;
  t.equal(ok, 25000, 'the remaining values are still found after backward-shift deletions');
  t.same(m.ids('v2'), []);
  m.index.clear();
  t.equal(m.index.distinct, 0);
  t.equal(m.index.unordered, false);
  t.end();
});

t.test('writeIndexKeys gives what indexKeyOf gives, field by field', (t) => {
  const out: Array<IndexKey | undefined> = [];
  let checked = 0;
  for (const f of makeFlows(200)) {
    writeIndexKeys(f, out);
    SECONDARY_FIELDS.forEach((field, i) => {
      if (out[i] !== indexKeyOf(field, f)) t.fail(`${f.UUID} ${field}: ${String(out[i])} vs ${String(indexKeyOf(field, f))}`);
      checked++;
    });
  }
  t.ok(checked > 2000);
  t.same([...SECONDARY_FIELDS, 'UUID'].sort(), [...INDEXED_FIELDS].sort(), 'every indexed field but UUID');
  t.end();
});

t.test('hashKey: numbers and text, stable', (t) => {
  t.equal(hashKey('abc'), hashKey('abc'));
  t.not(hashKey('abc'), hashKey('abd'));
  t.not(hashKey(80), hashKey(81));
  t.equal(hashKey(443), hashKey(443));
  t.equal(typeof hashKey(2 ** 40), 'number');
  t.end();
});
