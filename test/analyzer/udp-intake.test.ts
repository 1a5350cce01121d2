/**
 * The UDP intake, through either socket of the receiving thread (the native addon's, node:dgram's):
 * while the event loop cannot take datagrams, the thread keeps the socket read, the ring holds
 * what it can, and every datagram sent is accounted for, stored or counted as dropped; the flows
 * stored are whole datagrams', in the order sent. Senders are named by address and port, IPv4 or
 * IPv6, and datagrams of any size up to UDP's largest arrive whole.
 */
import t from 'tap';
import { createSocket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { FlowIntake } from '../../src/analyzer/intake.js';
import { listenUDP } from '../../src/analyzer/udp-intake.js';
import { encodeMessage } from '../../src/format/protobuf.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import { makeFlows } from '../query/flow-fixture.js';
import { until } from '../helpers/analyzer.js';

/** Sends `datagrams` to 127.0.0.1:`port` from a thread of its own, then sets done[0] to 1. */
const SENDER = `
const { workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const { port, datagrams, done } = workerData;
const s = dgram.createSocket('udp4');
s.connect(port, '127.0.0.1', async () => {
  for (const d of datagrams) await new Promise((ok, ko) => s.send(d, (e) => (e ? ko(e) : ok())));
  s.close(() => { Atomics.store(done, 0, 1); Atomics.notify(done, 0); });
});
`;

const SOCKETS = ['native', 'dgram'] as const;

for (const socket of SOCKETS) t.test(`${socket}: a blocked event loop: what the ring cannot hold is dropped and counted, nothing else is lost`, async (t) => {
  const flows = makeFlows(2000, 5);
  // Two flows a datagram: about 600 bytes each, 1,000 datagrams against a ring of 64 KB.
  const datagrams = Array.from({ length: flows.length / 2 }, (_, i) => encodeMessage(flows.slice(2 * i, 2 * i + 2)));
  const store = new MemoryFlowStore({ retentionMs: Infinity });
  const intake = new FlowIntake(store);
  const logs: string[] = [];
  const udp = await listenUDP('127.0.0.1', 0, intake, (l) => logs.push(l), { ringBytes: 64 << 10, socket });
  t.teardown(() => udp.close());

  const done = new Int32Array(new SharedArrayBuffer(4));
  const sender = new Worker(SENDER, { eval: true, workerData: { port: udp.port, datagrams, done } });
  // The event loop stops here until every datagram is sent: only the receiving thread runs.
  Atomics.wait(done, 0, 0, 60_000);
  t.equal(Atomics.load(done, 0), 1, 'all datagrams were sent while the event loop was blocked');
  await sender.terminate();

  const accounted = (): number => {
    const d = udp.drops();
    return intake.counters.messages.udp + d.queue + (d.kernel ?? 0);
  };
  await until(() => accounted() === datagrams.length, 'every datagram stored or counted');
  const { queue, kernel } = udp.drops();
  const received = intake.counters.messages.udp;
  t.ok(queue > 0, `the 64 KB ring overflowed (${queue} dropped)`);
  t.ok(received > 0 && received < datagrams.length, `the ring kept ${received} datagrams`);
  t.equal(kernel ?? 0, 0, 'the receiving thread kept the kernel buffer from overflowing');
  t.equal(store.size, 2 * received, 'each datagram kept gave its two flows');
  // In the order sent, whole datagrams. Mostly the first ones; but the receiving thread may still
  // be reading the socket's backlog when the event loop wakes and makes room, so later ones too.
  const sentAt = new Map(flows.map((f, i) => [f.UUID, i]));
  const order = [...store.scan()].map((e) => sentAt.get(e.flow.UUID) ?? -1);
  t.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1])), 'the flows kept come in the order sent');
  t.ok(order.every((i, k) => (k % 2 === 0 ? i % 2 === 0 && order[k + 1] === i + 1 : true)), 'each datagram kept whole');
  t.same(logs, []);
});

for (const socket of SOCKETS) t.test(`${socket}: a port taken is a clear error, and no thread stays behind`, async (t) => {
  const intake = new FlowIntake(new MemoryFlowStore());
  const first = await listenUDP('127.0.0.1', 0, intake, () => undefined, { socket });
  t.teardown(() => first.close());
  await t.rejects(listenUDP('127.0.0.1', first.port, intake, () => undefined, { socket }), /EADDRINUSE/);
});

for (const socket of SOCKETS) t.test(`${socket}: senders by address and port (IPv4 and IPv6), datagrams of every size whole`, async (t) => {
  const flows = makeFlows(1500, 9);
  // Datagrams of one flow up to 60 KB (UDP's largest is 65,507 bytes), and more of them than
  // one native read takes (64), so that some wait for the next.
  const targets = [60_000, 1, 1400, 20_000, 1, 1, 3000, 1, 1, 1, 45_000, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  const datagrams: Uint8Array[] = [];
  for (let at = 0, i = 0; at < flows.length; i++) {
    let n = 1;
    while (at + n < flows.length && encodeMessage(flows.slice(at, at + n + 1)).length <= targets[i % targets.length]) n++;
    datagrams.push(encodeMessage(flows.slice(at, at + n)));
    at += n;
  }
  t.ok(Math.max(...datagrams.map((d) => d.length)) > 50_000, 'some datagrams are tens of KB');
  for (const [host, type] of [['127.0.0.1', 'udp4'], ['::1', 'udp6']] as const) {
    const store = new MemoryFlowStore({ retentionMs: Infinity });
    const intake = new FlowIntake(store);
    const logs: string[] = [];
    const udp = await listenUDP(host, 0, intake, (l) => logs.push(l), { socket });
    const sender = createSocket(type);
    await new Promise<void>((ok) => sender.bind(0, host, ok));
    for (const d of datagrams) await new Promise<void>((ok, ko) => sender.send(d, udp.port, host, (e) => (e ? ko(e) : ok())));
    await until(() => intake.counters.messages.udp === datagrams.length, `${host}: every datagram stored`);
    t.equal(store.size, flows.length, `${host}: every flow stored`);
    t.same(store.get(flows[250].UUID)?.flow, flows[250], `${host}: a flow of a large datagram, as sent`);
    t.same(intake.registry.agentTotals().map((a) => [a.agent, a.transport, a.messages]),
      [[`${host}:${sender.address().port}`, 'udp', datagrams.length]], `${host}: one agent, named by its address and port`);
    t.same(udp.drops(), { kernel: 0, queue: 0 });
    t.same(logs, []);
    sender.close();
    await udp.close();
  }
});
