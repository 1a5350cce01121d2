/**
 * An agent's flow senders against a real analyzer on loopback, through outages:
 * - WebSocket: the analyzer stops while flows keep coming and starts again (a new process
 *   would have a new store: here a new analyzer on the same port); every flow reaches one of
 *   the two, none both, none twice; with a full buffer the oldest unsent flows are dropped and
 *   counted, and exactly the others arrive;
 * - UDP: an analyzer not there yet costs nothing (flows are held until its port answers); one
 *   that goes away is noticed at the first refusal, and what follows is held and delivered.
 */
import t from 'tap';
import type { Flow } from '../../src/flow/types.js';
import { encodeFlowDelimited } from '../../src/format/protobuf.js';
import { WebSocketFlowSender } from '../../src/transport/ws-sender.js';
import { UDPFlowSender } from '../../src/transport/udp-sender.js';
import type { FlowSender } from '../../src/transport/sender.js';
import { baseFlow } from '../query/flow-fixture.js';
import { testAnalyzer, until, type TestAnalyzer } from '../helpers/analyzer.js';

let counter = 0;
function batch(n: number): Flow[] {
  return Array.from({ length: n }, () => baseFlow(`flow-${(counter++).toString().padStart(6, '0')}`));
}
const send = (s: FlowSender, flows: Flow[]) => s.sendRecords(flows.map(encodeFlowDelimited));
const uuids = (a: TestAnalyzer) => [...a.store.scan()].map((e) => e.flow.UUID);
const logs: string[] = [];
const log = (l: string) => logs.push(l);

t.test('WebSocket: an analyzer restart loses nothing and stores nothing twice', async (t) => {
  const a1 = await testAnalyzer();
  const port = a1.address.port;
  const sender = new WebSocketFlowSender({
    analyzers: [{ host: '127.0.0.1', port }], hostId: 'agent-ws', maxBufferedFlows: 100000, batchFlows: 7, log,
    backoffMinMs: 50, backoffMaxMs: 200,
  });
  t.teardown(() => sender.close(0));
  const sent: Flow[] = [];
  const go = (n: number) => { const b = batch(n); sent.push(...b); send(sender, b); };
  for (let i = 0; i < 20; i++) go(50);
  await until(() => a1.store.size === 1000, 'the first 1000 flows');
  // Flows keep coming while the analyzer stops: some go to the old one, the rest are held.
  go(300);
  const closing = a1.close();
  for (let i = 0; i < 10; i++) { go(40); await new Promise((r) => setTimeout(r, 10)); }
  await closing;
  for (let i = 0; i < 10; i++) { go(40); await new Promise((r) => setTimeout(r, 20)); }
  t.equal(sender.counters.connected, false, 'the analyzer is away');
  t.ok(sender.counters.held > 0, `${sender.counters.held} flows held meanwhile`);
  const a2 = await testAnalyzer({ listen: { host: '127.0.0.1', port } });
  t.teardown(() => a2.close());
  await until(() => sender.counters.held === 0, 'every held flow delivered');
  go(100);
  await until(() => sender.counters.held === 0, 'the last flows');
  await sender.close(1000);

  const first = uuids(a1);
  const second = uuids(a2);
  const both = new Set(first.filter((u) => second.includes(u)));
  t.equal(both.size, 0, 'no flow in both analyzers');
  t.strictSame([...first, ...second].sort(), sent.map((f) => f.UUID).sort(), `all ${sent.length} flows arrived`);
  t.equal(a1.store.stats().updated + a2.store.stats().updated, 0, 'none stored twice');
  t.match(sender.counters, { flowsIn: sent.length, flowsDelivered: sent.length, flowsDropped: 0, connections: 2 });
  t.match(logs.join('\n'), /connection lost .*holding flows/);
  t.match(logs.join('\n'), /connected after \d+ attempt\(s\)/);
});

t.test('WebSocket: a full buffer drops the oldest unsent flows, counted; the others arrive', async (t) => {
  const probe = await testAnalyzer();
  const port = probe.address.port;
  await probe.close();
  const sender = new WebSocketFlowSender({
    analyzers: [{ host: '127.0.0.1', port }], hostId: 'agent-full', maxBufferedFlows: 100, batchFlows: 10, log,
    backoffMinMs: 50, backoffMaxMs: 100,
  });
  t.teardown(() => sender.close(0));
  const sent: Flow[] = [];
  for (let i = 0; i < 25; i++) { const b = batch(10); sent.push(...b); send(sender, b); }
  t.match(sender.counters, { flowsIn: 250, flowsDropped: 150, held: 100 });
  const a = await testAnalyzer({ listen: { host: '127.0.0.1', port } });
  t.teardown(() => a.close());
  await until(() => a.store.size === 100, 'the 100 flows kept');
  t.strictSame(uuids(a).sort(), sent.slice(150).map((f) => f.UUID).sort(), 'the newest 100');
  await sender.close(1000);
  t.match(sender.counters, { flowsDelivered: 100, flowsDropped: 150 });
  t.match(logs.join('\n'), /send buffer full \(agent.flow.send_buffer 100 flows\): \d+ flow\(s\) dropped/);
});

t.test('WebSocket: what cannot be delivered at stop is counted and logged', async (t) => {
  const probe = await testAnalyzer();
  const port = probe.address.port;
  await probe.close();
  const mine: string[] = [];
  const sender = new WebSocketFlowSender({
    analyzers: [{ host: '127.0.0.1', port }], hostId: 'agent-stop', maxBufferedFlows: 1000, batchFlows: 10, log: (l) => mine.push(l),
    backoffMinMs: 50, backoffMaxMs: 100,
  });
  t.teardown(() => sender.close(0));
  send(sender, batch(30));
  await sender.close(300);
  t.match(sender.counters, { flowsIn: 30, flowsDelivered: 0, flowsDropped: 30, held: 0 });
  t.match(mine.join('\n'), /30 flow\(s\) not delivered at stop/);
});

t.test('UDP: held until the analyzer\'s port answers, then delivered once each', async (t) => {
  const probe = await testAnalyzer();
  const port = probe.address.port;
  await probe.close();
  const mine: string[] = [];
  const sender = new UDPFlowSender({ analyzers: [{ host: '127.0.0.1', port }], hostId: 'agent-udp', maxBufferedFlows: 10000, log: (l) => mine.push(l), backoffMinMs: 50, backoffMaxMs: 100 });
  t.teardown(() => sender.close(0));
  await until(() => mine.some((l) => /UDP port is closed/.test(l)), 'the refusal of the first probe');
  const early = batch(300);
  send(sender, early);
  t.equal(sender.counters.held, 300, 'held while the port is closed');
  const a = await testAnalyzer({ listen: { host: '127.0.0.1', port } });
  t.teardown(() => a.close());
  await until(() => a.store.size === 300, 'the held flows');
  t.strictSame(uuids(a).sort(), early.map((f) => f.UUID).sort());
  t.equal(a.store.stats().updated, 0, 'none twice');

  // The analyzer goes away: the first flow after it is lost (UDP learns it from that flow's
  // refusal); what comes next is held, then delivered to the analyzer that comes back.
  await a.close();
  send(sender, batch(1));
  await until(() => !sender.counters.connected, 'the refusal');
  const late = batch(200);
  send(sender, late);
  const b = await testAnalyzer({ listen: { host: '127.0.0.1', port } });
  t.teardown(() => b.close());
  await until(() => b.store.size === 200, 'the flows held during the outage');
  t.strictSame(uuids(b).sort(), late.map((f) => f.UUID).sort());
  await sender.close(1000);
  t.match(mine.join('\n'), /UDP port answers again/);
});

t.test('UDP: flows share datagrams up to the size given, paced, and all arrive', async (t) => {
  const a = await testAnalyzer();
  t.teardown(() => a.close());
  const sizes: number[] = [];
  const sender = new UDPFlowSender({
    analyzers: [{ host: '127.0.0.1', port: a.address.port }], hostId: 'agent-packed', maxBufferedFlows: 10000, log,
    maxDatagramBytes: 1400, maxFlowsPerSecond: 20000,
  });
  t.teardown(() => sender.close(0));
  await until(() => sender.counters.connected, 'the port to answer');
  const flows = batch(500);
  const records = flows.map(encodeFlowDelimited);
  for (const r of records) sizes.push(r.length + 1);
  sender.sendRecords(records);
  await until(() => a.store.size === flows.length, 'every flow');
  t.strictSame(uuids(a).sort(), flows.map((f) => f.UUID).sort(), 'each flow once');
  // Greedy packing: a datagram takes records while they fit in 1400 bytes.
  let datagrams = 0;
  for (let i = 0, size = Infinity; i < sizes.length; i++) {
    if (size + sizes[i] > 1400) { datagrams++; size = 0; }
    size += sizes[i];
  }
  t.ok(datagrams < flows.length / 3, `${datagrams} datagrams for ${flows.length} flows`);
  t.equal(sender.counters.messagesSent, datagrams);
  t.equal(a.intake.counters.messages.udp, datagrams, 'the analyzer read them all');
});

t.test('UDP: an analyzer that refuses gives way to the next one; a name that does not resolve is said', async (t) => {
  const closed = await Promise.all([testAnalyzer(), testAnalyzer()]);
  const ports = closed.map((a) => a.address.port);
  await Promise.all(closed.map((a) => a.close()));
  const live = await testAnalyzer();
  t.teardown(() => live.close());
  const mine: string[] = [];
  const analyzers = [...ports, live.address.port].map((port) => ({ host: '127.0.0.1', port }));
  // Every starting point (the first analyzer is picked at random): the flows end at the live one.
  for (let start = 0; start < 3; start++) {
    const sender = new UDPFlowSender({ analyzers: [...analyzers.slice(start), ...analyzers.slice(0, start)], hostId: 'agent-failover', maxBufferedFlows: 10000, log: (l) => mine.push(l), backoffMinMs: 20, backoffMaxMs: 40 });
    const flows = batch(50);
    send(sender, flows);
    await until(() => flows.every((f) => live.store.get(f.UUID) !== undefined), `the flows, first analyzer ${start}`);
    await sender.close(1000);
    t.equal(sender.counters.flowsDropped, 0, `nothing dropped, first analyzer ${start}`);
  }

  const lines: string[] = [];
  const nowhere = new UDPFlowSender({ analyzers: [{ host: 'nosuchhost.invalid', port: 8082 }], hostId: 'agent-dns', maxBufferedFlows: 100, log: (l) => lines.push(l), backoffMinMs: 200, backoffMaxMs: 400 });
  await until(() => lines.length > 0, 'a word about the name');
  t.match(lines[0], /analyzer nosuchhost\.invalid:8082: cannot reach it: .*(ENOTFOUND|EAI_AGAIN)/);
  await new Promise((r) => setTimeout(r, 500));
  await nowhere.close(0);
  t.ok(lines.length <= 2, `one word, not a line per attempt (${lines.length})`);
});

t.test('a tick larger than the send buffer reaches an analyzer that takes it whole; the bound holds while it does not', async (t) => {
  for (const kind of ['udp', 'websocket'] as const) {
    const a = await testAnalyzer();
    const common = { analyzers: [{ host: '127.0.0.1', port: a.address.port }], hostId: `agent-surge-${kind}`, maxBufferedFlows: 100, surgeFlows: 1000, log, backoffMinMs: 20, backoffMaxMs: 40 };
    const sender: FlowSender = kind === 'udp' ? new UDPFlowSender(common) : new WebSocketFlowSender({ ...common, batchFlows: 50 });
    await until(() => sender.counters.connected, `${kind}: connected`);
    const tick = batch(800);
    send(sender, tick);
    await until(() => a.store.size === tick.length, `${kind}: the whole tick`);
    t.equal(sender.counters.flowsDropped, 0, `${kind}: 800 flows through a buffer of 100, none dropped`);
    await a.close();
    send(sender, batch(1));
    await until(() => !sender.counters.connected, `${kind}: the analyzer gone`);
    send(sender, batch(300));
    t.ok(sender.counters.held <= 100, `${kind}: without an analyzer, at most send_buffer held (${sender.counters.held})`);
    t.ok(sender.counters.flowsDropped >= 200, `${kind}: the rest dropped and counted (${sender.counters.flowsDropped})`);
    await sender.close(0);
  }
});
