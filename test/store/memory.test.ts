import t from 'tap';
import type { Flow } from '../../src/flow/types.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import { INDEXED_FIELDS, type IndexedField, type IndexKey } from '../../src/store/types.js';
import { BASE_MS, baseFlow, makeFlows, metric } from '../query/flow-fixture.js';

/** What the index of `field` should hold for `flow`: its value, except "" (never indexed). */
function indexKeyOf(field: IndexedField, f: Flow): IndexKey | undefined {
  const [block, member] = field.split('.') as [string, string | undefined];
  const v = member === undefined
    ? (f as unknown as Record<string, IndexKey | undefined>)[block]
    : (f as unknown as Record<string, Record<string, IndexKey> | undefined>)[block]?.[member];
  return v === '' ? undefined : v;
}

/** UUIDs of an iterable of stored flows, sorted. */
function uuids(it: Iterable<{ flow: Flow }>): string[] {
  return [...it].map((e) => e.flow.UUID).sort();
}

/**
 * Compares every index of `store` with a brute-force scan of its flows: each value's posting
 * must hold exactly the flows with that value. Returns the disagreements (none expected).
 */
function indexMismatches(store: MemoryFlowStore): string[] {
  const flows = [...store.scan()].map((e) => e.flow);
  const bad: string[] = [];
  for (const field of INDEXED_FIELDS) {
    const expected = new Map<IndexKey, string[]>();
    for (const f of flows) {
      const key = indexKeyOf(field, f);
      if (key !== undefined) expected.set(key, [...(expected.get(key) ?? []), f.UUID]);
    }
    for (const [key, ids] of expected) {
      const got = uuids(store.lookup(field, key));
      if (JSON.stringify(got) !== JSON.stringify(ids.sort()) || store.lookupSize(field, key) !== ids.length) {
        bad.push(`${field}=${String(key)}: got ${got.join(' ')}, want ${ids.join(' ')}`);
      }
    }
  }
  return bad;
}

/** Index entries that still point at flows no longer in the store. */
function ghosts(store: MemoryFlowStore, removed: readonly Flow[]): string[] {
  const bad: string[] = [];
  for (const f of removed) {
    for (const field of INDEXED_FIELDS) {
      const key = indexKeyOf(field, f);
      if (key === undefined) continue;
      for (const e of store.lookup(field, key)) if (store.get(e.flow.UUID)?.seq !== e.seq) bad.push(`${field}=${String(key)} -> ${e.flow.UUID}`);
    }
  }
  return bad;
}

t.test('upsert keeps the latest state by UUID, in first-insertion order', (t) => {
  const store = new MemoryFlowStore();
  const flows = makeFlows(300);
  store.upsert(flows);
  t.equal(store.size, flows.length);
  t.same([...store.scan()].map((e) => e.flow.UUID), flows.map((f) => f.UUID), 'scan order = insertion order');
  const updated = { ...flows[10], Last: Number(flows[10].Last) + 5000, Metric: metric(99, 99, 0, 1) };
  store.upsert([updated]);
  t.equal(store.size, flows.length, 'an update does not add a flow');
  t.strictSame(store.get(flows[10].UUID)?.flow, updated, 'the latest state is kept');
  t.equal([...store.scan()][10].flow.UUID, flows[10].UUID, 'an update keeps the flow in its place');
  const s = store.stats();
  t.equal(s.inserted, flows.length);
  t.equal(s.updated, 1);
  t.equal(s.flows, flows.length);
  t.same(indexMismatches(store), [], 'indexes agree with a scan');
  t.end();
});

t.test('every indexed field is looked up correctly', (t) => {
  const store = new MemoryFlowStore();
  const flows = makeFlows(400);
  store.upsert(flows);
  for (const field of INDEXED_FIELDS) {
    const f = flows[37];
    const key = indexKeyOf(field, f);
    if (key === undefined) continue;
    const expected = flows.filter((g) => indexKeyOf(field, g) === key).map((g) => g.UUID).sort();
    t.same(uuids(store.lookup(field, key)), expected, `${field} = ${String(key)}`);
  }
  t.same(uuids(store.lookup('UUID', flows[3].UUID)), [flows[3].UUID], 'UUID lookup');
  t.same([...store.lookup('UUID', 'nope')], [], 'unknown UUID');
  t.same([...store.lookup('Transport.B', 999)], [], 'unknown port');
  t.equal(store.lookupSize('Network.A', 'no-such-ip'), 0);
  t.end();
});

t.test('empty strings are not indexed', (t) => {
  const store = new MemoryFlowStore();
  store.upsert([baseFlow('a', { ParentUUID: '' }), baseFlow('b', { ParentUUID: 'a' })]);
  t.same([...store.lookup('ParentUUID', '')], [], 'ParentUUID "" has no posting');
  t.same(uuids(store.lookup('ParentUUID', 'a')), ['b']);
  t.end();
});

t.test('indexes follow a flow whose indexed values change', (t) => {
  const store = new MemoryFlowStore();
  const flows = makeFlows(200);
  store.upsert(flows);
  const r = flows.slice(0, 50).map((f, i) => ({
    ...f,
    NodeTID: i % 2 ? 'moved-node' : f.NodeTID,
    CaptureID: i % 3 ? 'cap-9' : f.CaptureID,
    ParentUUID: i % 5 === 0 ? 'parent-x' : '',
    Network: f.Network ? { ...f.Network, A: '10.99.0.' + (i % 4) } : undefined,
    Transport: f.Transport ? { ...f.Transport, B: 7000 + (i % 3) } : undefined,
  }));
  store.upsert(r);
  t.same(indexMismatches(store), [], 'indexes agree with a scan');
  t.equal(store.lookupSize('CaptureID', 'cap-9'), r.filter((f) => f.CaptureID === 'cap-9').length);
  const seqs = (it: Iterable<{ seq: number }>): number[] => [...it].map((e) => e.seq);
  const ascending = (xs: number[]): boolean => xs.every((x, i) => i === 0 || xs[i - 1] < x);
  t.ok(ascending(seqs(store.lookup('CaptureID', 'cap-1'))), 'a lookup stays in insertion order after values moved');
  t.ok(ascending(seqs(store.lookup('Network.A', '10.99.0.1'))));
  // And back again.
  store.upsert(flows.slice(0, 50));
  t.same(indexMismatches(store), [], 'indexes agree with a scan');
  t.equal(store.lookupSize('CaptureID', 'cap-9'), 0, 'old values leave the index');
  t.end();
});

t.test('on-demand indexes (L3TrackingID, Link.A/B): built by the first lookup from the flows held, then kept up to date', (t) => {
  const store = new MemoryFlowStore({ maxFlows: 500 });
  const flows = makeFlows(600);
  const seqs = (it: Iterable<{ seq: number }>): number[] => [...it].map((e) => e.seq);
  const ascending = (xs: number[]): boolean => xs.every((x, i) => i === 0 || xs[i - 1] < x);
  const moved = (f: Flow, i: number): Flow => ({
    ...f,
    L3TrackingID: i % 2 ? 'l3-shared-' + (i % 5) : f.L3TrackingID,
    Link: f.Link ? { ...f.Link, A: '02:00:00:00:00:0' + (i % 4), B: i % 3 ? f.Link.B : '' } : undefined,
  });
  // Before any lookup: inserts, evictions (600 flows for 500 places) and values that change.
  store.upsert(flows);
  const held = [...store.scan()].map((e) => e.flow);
  store.upsert(held.slice(0, 120).map(moved));
  const mac = '02:00:00:00:00:01';
  const withMac = [...store.scan()].filter((e) => e.flow.Link?.A === mac).map((e) => e.flow.UUID).sort();
  t.ok(withMac.length > 10, 'the changed values are shared by many flows');
  t.same(uuids(store.lookup('Link.A', mac)), withMac, 'the first lookup sees the values held now');
  t.ok(ascending(seqs(store.lookup('Link.A', mac))), 'in insertion order');
  t.equal(store.lookupSize('L3TrackingID', 'l3-shared-1'), [...store.scan()].filter((e) => e.flow.L3TrackingID === 'l3-shared-1').length);
  t.same(indexMismatches(store), [], 'every index agrees with a scan');
  // Once built, kept: more evictions, values moving again and back.
  const more = makeFlows(300, 11).map((f) => ({ ...f, UUID: 'more-' + f.UUID }));
  store.upsert(more);
  const now = [...store.scan()].map((e) => e.flow);
  store.upsert(now.slice(0, 200).map((f, i) => moved(f, i + 1)));
  store.upsert(now.slice(0, 60));
  t.same(indexMismatches(store), [], 'every index agrees with a scan after more changes');
  const gone = [...flows, ...more].filter((f) => store.get(f.UUID) === undefined);
  t.ok(gone.length >= 400, 'flows were evicted');
  t.same(ghosts(store, gone), [], 'evicted flows left every index');
  t.end();
});

t.test('history: one delta per update, in time order, duplicates replaced, zero deltas skipped', (t) => {
  const store = new MemoryFlowStore();
  const f0 = baseFlow('h', { LastUpdateMetric: metric(1, 2, BASE_MS, BASE_MS + 60_000) });
  store.upsert([f0]);
  store.upsert([{ ...f0, LastUpdateMetric: metric(3, 4, BASE_MS + 120_000, BASE_MS + 180_000) }]);
  // The same update delivered twice.
  store.upsert([{ ...f0, LastUpdateMetric: metric(3, 4, BASE_MS + 120_000, BASE_MS + 180_000) }]);
  // An idle tick: zero counters.
  store.upsert([{ ...f0, LastUpdateMetric: metric(0, 0, BASE_MS + 180_000, BASE_MS + 240_000) }]);
  // A late delta (an agent replaying its buffer) goes in its place in time.
  store.upsert([{ ...f0, LastUpdateMetric: metric(5, 6, BASE_MS + 60_000, BASE_MS + 120_000) }]);
  // A flow sent without LastUpdateMetric adds nothing.
  store.upsert([{ ...f0, LastUpdateMetric: undefined }]);
  const h = store.get('h')?.history() ?? [];
  t.same(h.map((m) => [m.ABPackets, m.Start - BASE_MS, m.Last - BASE_MS]), [
    [1, 0, 60_000], [5, 60_000, 120_000], [3, 120_000, 180_000],
  ]);
  t.same(h[0], { ABPackets: 1, ABBytes: 100, BAPackets: 2, BABytes: 120, Start: BASE_MS, Last: BASE_MS + 60_000, RTT: 0 });
  t.equal(store.stats().historyEntries, 3);
  t.end();
});

t.test('an update older than the state held keeps that state and adds only its delta', (t) => {
  const store = new MemoryFlowStore();
  const newer = baseFlow('s', { Last: BASE_MS + 120_000, LastUpdateMetric: metric(4, 0, BASE_MS + 60_000, BASE_MS + 120_000) });
  store.upsert([newer]);
  const older = baseFlow('s', { Last: BASE_MS + 60_000, NodeTID: 'other', LastUpdateMetric: metric(2, 0, BASE_MS, BASE_MS + 60_000) });
  store.upsert([older]);
  t.strictSame(store.get('s')?.flow, newer, 'the newer state stays');
  t.same(store.get('s')?.history().map((m) => m.ABPackets), [2, 4], 'the late delta is in its place');
  t.same([...store.lookup('NodeTID', 'other')], [], 'indexes keep the newer state');
  store.upsert([older]);
  t.same(store.get('s')?.history().map((m) => m.ABPackets), [2, 4], 'and only once');
  t.equal(store.stats().historyEntries, 2);
  t.end();
});

t.test('history is bounded per flow; drops are counted', (t) => {
  const store = new MemoryFlowStore({ maxHistoryPerFlow: 4, retentionMs: Infinity });
  const f = baseFlow('h');
  for (let i = 0; i < 10; i++) {
    store.upsert([{ ...f, Last: BASE_MS + (i + 1) * 1000, LastUpdateMetric: metric(i + 1, 0, BASE_MS + i * 1000, BASE_MS + (i + 1) * 1000) }]);
  }
  t.same(store.get('h')?.history().map((m) => m.ABPackets), [7, 8, 9, 10], 'the newest four');
  t.equal(store.stats().historyDropped, 6);
  t.equal(store.stats().historyEntries, 4);
  t.end();
});

t.test('history older than the retention is trimmed on update', (t) => {
  const store = new MemoryFlowStore({ retentionMs: 100_000 });
  const f = baseFlow('h');
  store.upsert([{ ...f, LastUpdateMetric: metric(1, 0, BASE_MS, BASE_MS + 60_000) }], BASE_MS + 60_000);
  store.upsert([{ ...f, LastUpdateMetric: metric(2, 0, BASE_MS + 200_000, BASE_MS + 260_000) }], BASE_MS + 260_000);
  t.same(store.get('h')?.history().map((m) => m.ABPackets), [2]);
  t.equal(store.stats().historyEntries, 1);
  t.end();
});

t.test('eviction: a full store drops the flow with the oldest Last, and counts it', (t) => {
  const store = new MemoryFlowStore({ maxFlows: 100 });
  const flows = Array.from({ length: 150 }, (_, i) =>
    baseFlow('e' + i, { Last: BASE_MS + ((i * 37) % 150) * 1000, CaptureID: 'cap-' + (i % 3), NodeTID: 'n' + (i % 7) }));
  store.upsert(flows);
  t.equal(store.size, 100);
  const stats = store.stats();
  t.equal(stats.evicted + stats.rejected, 50, 'each extra flow evicts one or is refused');
  const kept = new Set([...store.scan()].map((e) => e.flow.UUID));
  const newest = [...flows].sort((a, b) => Number(b.Last) - Number(a.Last)).slice(0, 100).map((f) => f.UUID);
  t.same([...kept].sort(), newest.sort(), 'the 100 newest flows remain');
  t.same(indexMismatches(store), [], 'indexes agree with a scan');
  t.same(ghosts(store, flows.filter((f) => !kept.has(f.UUID))), [], 'evicted flows left every index');
  t.end();
});

t.test('eviction follows updates of Last', (t) => {
  const store = new MemoryFlowStore({ maxFlows: 3 });
  store.upsert([baseFlow('a', { Last: 1 }), baseFlow('b', { Last: 2 }), baseFlow('c', { Last: 3 })]);
  store.upsert([baseFlow('a', { Last: 10 })]); // a is now the newest
  store.upsert([baseFlow('d', { Last: 11 })]); // evicts b
  t.same(uuids(store.scan()), ['a', 'c', 'd']);
  store.upsert([baseFlow('old', { Last: 0 })]); // older than everything held: refused
  t.same(uuids(store.scan()), ['a', 'c', 'd']);
  t.equal(store.stats().evicted, 1);
  t.equal(store.stats().rejected, 1);
  t.end();
});

t.test('retention: expire() drops flows whose Last is too old, and counts them', (t) => {
  const store = new MemoryFlowStore({ retentionMs: 60_000 });
  const flows = makeFlows(300);
  store.upsert(flows);
  const now = BASE_MS + 1_800_000;
  const removed = store.expire(now);
  const expected = flows.filter((f) => Number(f.Last) >= now - 60_000).map((f) => f.UUID).sort();
  t.same(uuids(store.scan()), expected);
  t.equal(removed, flows.length - expected.length);
  t.equal(store.stats().expired, removed);
  t.equal(store.expire(now), 0, 'nothing more to drop at the same time');
  t.same(indexMismatches(store), [], 'indexes agree with a scan');
  t.same(ghosts(store, flows.filter((f) => Number(f.Last) < now - 60_000)), [], 'expired flows left every index');
  t.end();
});

t.test('retention and eviction count from when a flow was last received, when that is later than its Last', (t) => {
  // The flows of an old capture imported now (POST /api/pcap): their Last is a year back.
  const year = 365 * 86_400_000;
  const now = BASE_MS + year;
  const store = new MemoryFlowStore({ retentionMs: 60_000, maxFlows: 3 });
  store.upsert([baseFlow('old-1', { Last: BASE_MS }), baseFlow('old-2', { Last: BASE_MS + 1 })], now);
  t.equal(store.expire(now + 30_000), 0, 'an hour-old Last does not expire a flow received 30 s ago');
  t.same(uuids(store.scan()), ['old-1', 'old-2']);
  // Received later, with a Last still older: old-1 was heard of least recently, so it goes first.
  store.upsert([baseFlow('old-3', { Last: BASE_MS - 5 })], now + 10_000);
  store.upsert([baseFlow('new', { Last: now + 20_000 })], now + 20_000);
  t.same(uuids(store.scan()), ['new', 'old-2', 'old-3'], 'a full store evicted the flow received first');
  // A flow received now whose Last is later than that: Last counts.
  store.upsert([baseFlow('ahead', { Last: now + 200_000 })], now + 30_000);
  t.same(uuids(store.scan()), ['ahead', 'new', 'old-3']);
  t.equal(store.expire(now + 75_000), 1, 'old-3: received 65 s before');
  t.equal(store.expire(now + 200_000), 1, 'new: its Last and its receipt 180 s before');
  t.same(uuids(store.scan()), ['ahead'], 'ahead: its Last is within the retention of the check');
  t.same(indexMismatches(store), [], 'indexes agree with a scan');
  t.end();
});

t.test('retention Infinity keeps everything', (t) => {
  const store = new MemoryFlowStore({ retentionMs: Infinity });
  store.upsert(makeFlows(50));
  t.equal(store.expire(Number.MAX_SAFE_INTEGER), 0);
  t.equal(store.size, makeFlows(50).length);
  t.end();
});

t.test('many updates of few flows keep the eviction heap bounded and correct', (t) => {
  const store = new MemoryFlowStore({ maxFlows: 10 });
  for (let round = 0; round < 2000; round++) {
    store.upsert(Array.from({ length: 10 }, (_, i) => baseFlow('x' + i, { Last: round * 10 + i })));
  }
  store.upsert([baseFlow('new', { Last: 1e9 })]);
  t.equal(store.size, 10);
  t.notOk(store.get('x0'), 'the flow with the oldest Last was evicted');
  t.ok(store.get('x9'));
  t.end();
});

t.test('flows without a UUID are refused and counted', (t) => {
  const store = new MemoryFlowStore();
  store.upsert([baseFlow(''), { UUID: 5 } as unknown as Flow, null as unknown as Flow]);
  t.equal(store.size, 0);
  t.equal(store.stats().rejected, 3);
  t.end();
});

t.test('bad options are refused with the option name', (t) => {
  t.throws(() => new MemoryFlowStore({ maxFlows: 0 }), /maxFlows/);
  t.throws(() => new MemoryFlowStore({ maxFlows: 1.5 }), /maxFlows/);
  t.throws(() => new MemoryFlowStore({ retentionMs: -1 }), /retentionMs/);
  t.throws(() => new MemoryFlowStore({ maxHistoryPerFlow: 0 }), /maxHistoryPerFlow/);
  t.doesNotThrow(() => new MemoryFlowStore({ retentionMs: Infinity }));
  t.end();
});

t.test('stats: an estimate of the memory held, from the measured per-flow figures', (t) => {
  const store = new MemoryFlowStore();
  t.equal(store.stats().estimatedBytes, 0);
  store.upsert(makeFlows(100));
  const s = store.stats();
  t.ok(s.estimatedBytes > s.flows * 100, 'grows with the flows');
  store.clear();
  t.equal(store.size, 0);
  t.equal(store.stats().historyEntries, 0);
  t.same([...store.lookup('CaptureID', 'cap-1')], []);
  t.end();
});

t.test('topByTime: the k first flows by Start or Last, ties in insertion order', (t) => {
  const store = new MemoryFlowStore({ maxFlows: 50 });
  const flows = makeFlows(80);
  store.upsert(flows);
  const held = [...store.scan()].map((e) => e.flow);
  const order = (key: 'Start' | 'Last', desc: boolean): string[] =>
    held.map((f, i) => ({ f, i })).sort((a, b) => (desc ? -1 : 1) * (Number(a.f[key]) - Number(b.f[key])) || a.i - b.i)
      .map((x) => x.f.UUID);
  for (const key of ['Start', 'Last'] as const) {
    for (const desc of [false, true]) {
      for (const k of [1, 5, 50, 60]) {
        t.same(store.topByTime(key, k, desc).map((e) => e.flow.UUID), order(key, desc).slice(0, k), `${key} ${desc ? 'desc' : 'asc'} ${k}`);
      }
    }
  }
  t.end();
});

t.test('IndexedField list matches what the store indexes', (t) => {
  const fields: IndexedField[] = [...INDEXED_FIELDS];
  t.ok(fields.includes('Network.A') && fields.includes('Transport.B') && fields.includes('UUID'));
  t.end();
});
