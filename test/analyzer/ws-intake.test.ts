/**
 * The WebSocket intake: messages go through the scanning thread and are stored in the order
 * they were submitted, each one's `stored` called in that order once it is; the store ends up as
 * one fed the same bytes directly. Nothing is lost when the rings are full (submit stores as it
 * goes), nor when the thread is gone (the event loop takes over what it left).
 */
import t from 'tap';
import type { Worker } from 'node:worker_threads';
import { FlowIntake, type Source } from '../../src/analyzer/intake.js';
import { WebSocketIntake } from '../../src/analyzer/ws-intake.js';
import { encodeMessage } from '../../src/format/protobuf.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import { FlowGenerator, nextUpdate, prng } from '../../bench/query-flows.js';

const A: Source = { transport: 'websocket', agent: 'a' };
const B: Source = { transport: 'websocket', agent: 'b' };

/** `count` messages of `per` flows, every third one updating the flows of the one before. */
function messages(count: number, per: number): Uint8Array[] {
  const gen = new FlowGenerator(5);
  const r = prng(5);
  const out: Uint8Array[] = [];
  let last: ReturnType<FlowGenerator['next']>[] = [];
  for (let i = 0; i < count; i++) {
    last = i % 3 === 2 ? last.map((f) => nextUpdate(f, r)) : Array.from({ length: per }, () => gen.next());
    out.push(encodeMessage(last));
  }
  return out;
}

/** Each flow's JSON and history, in insertion order, and the counters. */
function snapshot(store: MemoryFlowStore): string {
  return JSON.stringify({ flows: [...store.scan()].map((e) => [e.flow, e.history()]), stats: store.stats() });
}

function setup(maxFlows: number): { store: MemoryFlowStore; intake: FlowIntake; ws: WebSocketIntake; logs: string[] } {
  const store = new MemoryFlowStore({ maxFlows, retentionMs: Infinity });
  const intake = new FlowIntake(store);
  const logs: string[] = [];
  return { store, intake, ws: new WebSocketIntake(intake, (l) => logs.push(l)), logs };
}

t.test('stored in the order submitted, each acknowledged in that order, as if stored directly', async (t) => {
  const { store, intake, ws, logs } = setup(100_000);
  const all = messages(300, 20);
  const direct = new MemoryFlowStore({ maxFlows: 100_000, retentionMs: Infinity });
  const done: number[] = [];
  all.forEach((m, i) => {
    direct.ingest(m, 0);
    ws.submit(m, i % 2 ? A : B, () => done.push(i));
  });
  ws.submit(Uint8Array.from([0x0a, 0x40]), A, () => done.push(-1));
  await ws.idle();
  t.same(done, [...all.keys(), -1], 'every stored callback, in order; the malformed one too');
  t.equal(intake.counters.messages.websocket, all.length);
  t.equal(intake.counters.badMessages.websocket, 1, 'the malformed message is counted');
  t.equal(snapshot(store), snapshot(direct));
  t.equal(store.stats().updated, direct.stats().updated);
  await ws.close();
  const late = messages(1, 3)[0];
  ws.submit(late, A, () => done.push(99));
  t.equal(done[done.length - 1], 99, 'a message submitted after close is stored at once');
  t.equal(intake.counters.messages.websocket, all.length + 1);
  t.same(logs, []);
});

t.test('more than both rings hold, submitted without a pause: nothing lost, order kept', async (t) => {
  const { store, ws } = setup(1_000_000);
  // 200 messages of 300 flows: about 16 MB, against rings of 4 and 8 MB.
  const all = messages(200, 300);
  t.ok(all.reduce((n, m) => n + m.length, 0) > 12 << 20);
  const direct = new MemoryFlowStore({ maxFlows: 1_000_000, retentionMs: Infinity });
  for (const m of all) direct.ingest(m, 0);
  let next = 0, outOfOrder = 0;
  for (let i = 0; i < all.length; i++) {
    ws.submit(all[i], A, () => {
      if (next++ !== i) outOfOrder++;
    });
  }
  await ws.close();
  t.equal(next, all.length, 'every message stored');
  t.equal(outOfOrder, 0);
  t.equal(store.size, direct.size);
  t.equal(snapshot(store), snapshot(direct));
});

t.test('the thread gone: what it left is stored, in order, and the event loop goes on alone', async (t) => {
  const { store, ws, logs } = setup(100_000);
  const all = messages(120, 50);
  const direct = new MemoryFlowStore({ maxFlows: 100_000, retentionMs: Infinity });
  for (const m of all) direct.ingest(m, 0);
  const done: number[] = [];
  for (let i = 0; i < 60; i++) ws.submit(all[i], A, () => done.push(i));
  // What a crash of the thread would leave (the test reaches into the intake for its thread).
  await (ws as unknown as { worker: Worker }).worker.terminate();
  await new Promise((r) => setImmediate(r));
  for (let i = 60; i < all.length; i++) ws.submit(all[i], A, () => done.push(i));
  await ws.idle();
  t.same(done, [...all.keys()], 'every message stored once, in order');
  t.equal(snapshot(store), snapshot(direct));
  t.match(logs.join('\n'), /the scanning thread exited .*scanned by the event loop/);
  await ws.close();
});
