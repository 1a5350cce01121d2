/**
 * The typed-array hash index against a plain Map of lists, through random adds, moves and
 * removals (growth, deletion with backward shift, lists of one and of thousands), for each way
 * of keeping keys: text bytes in the index, numbers in the slots, values read from the records.
 */
import t from 'tap';
import { EMPTY, hashBytes, hashNumber, HashIndex, type KeyKind } from '../../src/store/hash-index.js';
import { INDEXED_FIELDS, SECONDARY_FIELDS, type IndexKey } from '../../src/store/types.js';
import { rng } from '../query/flow-fixture.js';

function hashOf(key: IndexKey): number {
  if (typeof key === 'number') return hashNumber(key);
  const b = Buffer.from(key);
  return hashBytes(b, 0, b.length);
}

/**
 * Records' current values, as the store keeps them, and the index over them: each call sets the
 * value it is about (the probe), as the store does.
 */
class Model {
  readonly values: Array<IndexKey | undefined> = [];
  readonly index: HashIndex;
  private probe: IndexKey = '';

  constructor(capacity: number, slots?: number, readonly kind: KeyKind = 'record') {
    this.index = new HashIndex(kind, capacity, (id) => this.values[id] === this.probe, slots);
  }

  private at(key: IndexKey): number {
    this.probe = key;
    if (typeof key === 'number') {
      this.index.probeNumber(key);
    } else {
      const b = Buffer.from(key);
      this.index.probeText(b, 0, b.length);
    }
    return hashOf(key);
  }

  add(key: IndexKey, id: number): void { this.index.add(this.at(key), id); }
  move(key: IndexKey, id: number): void { this.index.move(this.at(key), id); }
  remove(key: IndexKey, id: number): void { this.index.remove(this.at(key), id); }
  count(key: IndexKey): number { return this.index.count(this.at(key)); }

  ids(key: IndexKey): number[] {
    const out: number[] = [];
    for (let id = this.index.first(this.at(key)); id !== EMPTY; id = this.index.after(id)) out.push(id);
    return out;
  }
}

for (const kind of ['record', 'text', 'number'] as const) t.test(`random adds, moves and removals agree with a Map of lists (${kind} keys)`, (t) => {
  const r = rng(99);
  const capacity = 4096;
  const m = new Model(16, undefined, kind);
  m.index.growRecords(capacity);
  const expected = new Map<IndexKey, number[]>();
  const text = Array.from({ length: 300 }, (_, i) => `k${i}`);
  const numbers = Array.from({ length: 300 }, (_, i) => i * 7);
  const keys: IndexKey[] = kind === 'text' ? [...text, ...text.map((k) => k + '-long-enough-to-fill-the-key-bytes')]
    : kind === 'number' ? [...numbers, ...numbers.map((n) => -n - 0.5)] : [...text, ...numbers];
  const pickKey = (): IndexKey => (r() < 0.2 ? keys[Math.floor(r() * 5)] : keys[Math.floor(r() * keys.length)]);
  const free: number[] = Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
  const live = new Set<number>();
  for (let step = 0; step < 30000; step++) {
    const op = r();
    if (op < 0.5 && free.length > 0) {
      const id = free.pop() as number;
      const key = pickKey();
      m.values[id] = key;
      m.add(key, id);
      expected.set(key, [...(expected.get(key) ?? []), id]);
      live.add(id);
    } else if (op < 0.6 && live.size > 0) {
      const id = [...live][Math.floor(r() * live.size)];
      const was = m.values[id] as IndexKey;
      const now = pickKey();
      if (was === now) continue;
      m.remove(was, id);
      m.values[id] = now;
      m.move(now, id);
      expected.set(was, (expected.get(was) ?? []).filter((x) => x !== id));
      expected.set(now, [...(expected.get(now) ?? []), id]);
    } else if (live.size > 0) {
      const id = [...live][Math.floor(r() * live.size)];
      const key = m.values[id] as IndexKey;
      m.remove(key, id);
      m.values[id] = undefined;
      expected.set(key, (expected.get(key) ?? []).filter((x) => x !== id));
      live.delete(id);
      free.push(id);
    }
  }
  let bad = 0;
  for (const key of keys) {
    const want = expected.get(key) ?? [];
    if (JSON.stringify(m.ids(key)) !== JSON.stringify(want) || m.count(key) !== want.length) {
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
  const m = new Model(1 << 16, undefined, 'text');
  for (let id = 0; id < 50000; id++) {
    m.values[id] = `v${id}`;
    m.add(`v${id}`, id);
  }
  t.equal(m.index.distinct, 50000);
  t.same(m.ids('v12345'), [12345]);
  t.equal(m.count('nope'), 0);
  for (let id = 0; id < 50000; id += 2) m.remove(`v${id}`, id);
  let ok = 0;
  for (let id = 1; id < 50000; id += 2) if (m.ids(`v${id}`)[0] === id) ok++;
  t.equal(ok, 25000, 'the remaining values are still found after backward-shift deletions');
  t.same(m.ids('v2'), []);
  m.index.clear();
  t.equal(m.index.distinct, 0);
  t.equal(m.index.unordered, false);
  t.end();
});

t.test('colliding hashes: values are told apart by the records, not the hash', (t) => {
  // Every value hashes alike: each probe walks one long run and compares through the records.
  const values: string[] = [];
  let probe = '';
  const index = new HashIndex('record', 64, (id) => values[id] === probe);
  const at = (v: string): number => { probe = v; return 7; };
  for (let id = 0; id < 40; id++) {
    values[id] = `v${id % 10}`;
    index.add(at(values[id]), id);
  }
  t.equal(index.distinct, 10);
  t.equal(index.count(at('v3')), 4);
  index.remove(at('v3'), 3);
  t.equal(index.first(at('v3')), 13, 'the list lost its head');
  t.equal(index.count(at('v11')), 0);
  t.end();
});

t.test('the secondary fields are every indexed field but UUID', (t) => {
  t.same([...SECONDARY_FIELDS, 'UUID'].sort(), [...INDEXED_FIELDS].sort());
  t.end();
});

t.test('hashes: numbers and text bytes, stable', (t) => {
  t.equal(hashOf('abc'), hashOf('abc'));
  t.not(hashOf('abc'), hashOf('abd'));
  t.not(hashNumber(80), hashNumber(81));
  t.equal(hashNumber(443), hashNumber(443));
  t.equal(typeof hashNumber(2 ** 40), 'number');
  t.end();
});

t.test('text keys: values coming and going many times over stay found (key bytes reclaimed)', (t) => {
  const m = new Model(64, undefined, 'text');
  let bad = 0;
  for (let v = 0; v < 20000; v++) {
    const id = v % 32;
    const key = `value-number-${v}`;
    if (v >= 32) m.remove(`value-number-${v - 32}`, id);
    m.values[id] = key;
    m.add(key, id);
    if (m.ids(key)[0] !== id || (v >= 1 && m.ids(`value-number-${v - 1}`)[0] !== (v - 1) % 32)) bad++;
  }
  t.equal(bad, 0);
  t.equal(m.index.distinct, 32);
  t.equal(m.count('value-number-19999'), 1);
  t.equal(m.count('value-number-0'), 0);
  t.end();
});
