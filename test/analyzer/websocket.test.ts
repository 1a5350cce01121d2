/**
 * The analyzer's WebSocket endpoints on loopback:
 * - /ws/subscriber/flow: Skydive's envelopes with the flows in Skydive JSON, in bulks; Stats on
 *   `stats`; a Gremlin filter and `flow/<CaptureID>` namespaces narrow what a subscriber gets;
 *   a bad filter or namespace refuses the upgrade with a 400 saying why;
 * - both: a host ID connects once per endpoint (409 for a second handshake);
 * - /ws/agent/flow: malformed messages are counted and the connection goes on; with
 *   X-Flow-Session/X-Flow-Seq the analyzer acknowledges what it stored and skips what an agent
 *   sends again after reconnecting.
 */
import t from 'tap';
import WebSocket from 'ws';
import { encodeMessage } from '../../src/format/protobuf.js';
import { flowToJSON } from '../../src/format/json.js';
import type { Stats } from '../../src/flow/types.js';
import { makeFlows } from '../query/flow-fixture.js';
import { collect, openSocket, sendDatagrams, testAnalyzer, until } from '../helpers/analyzer.js';

const flows = makeFlows(250, 33);
const analyzer = await testAnalyzer({ bulkMaxFlows: 100, bulkMaxDelayMs: 50 });
t.teardown(() => analyzer.close());
const port = analyzer.address.port;
const url = (path: string) => `ws://127.0.0.1:${port}${path}`;

async function subscribe(headers: Record<string, string> = {}, path = '/ws/subscriber/flow') {
  const ws = await openSocket(url(path), headers);
  if (!(ws instanceof WebSocket)) throw new Error(`refused: ${ws.status} ${ws.body}`);
  return { ws, got: collect(ws) };
}

const storeFlows = (messages: Record<string, any>[], ns = 'flow') =>
  messages.filter((m) => m.Namespace === ns && m.Type === 'store').flatMap((m) => m.Obj as Record<string, unknown>[]);

t.test('subscribers get the flows as they are stored, filtered as they asked', async (t) => {
  const all = await subscribe();
  const udpOnly = await subscribe({ 'X-Gremlin-Filter': "G.Flows().Has('Transport.B', 53)" });
  const cap2 = await subscribe({ 'X-Websocket-Namespace': 'flow/cap-2' });
  const byQuery = await subscribe({}, `/ws/subscriber/flow?x-gremlin-filter=${encodeURIComponent("G.Flows().HasEither('Network.A', '10.0.0.1', 'Network.B', '10.0.0.1')")}&x-websocket-namespace=flow`);
  const statsOnly = await subscribe({ 'X-Websocket-Namespace': 'stats' });
  await until(() => analyzer.stream.size === 5, 'five subscribers');

  await sendDatagrams(port, [encodeMessage(flows.slice(0, 130)), encodeMessage(flows.slice(130))]);
  const stats: Stats = { CaptureID: 'cap-1', FlowCount: 12, FlowDropped: 0, KernelFlowDropped: 0, PacketsReceived: 99, PacketsDropped: 1 };
  await sendDatagrams(port, [encodeMessage([], stats)]);
  await until(() => storeFlows(all.got.messages).length === flows.length, 'every flow at the plain subscriber');

  const first = all.got.messages.find((m) => m.Type === 'store')!;
  t.strictSame(Object.keys(first), ['Namespace', 'Type', 'UUID', 'Status', 'Obj'], 'Skydive\'s envelope, in order');
  t.match(first, { Namespace: 'flow', Type: 'store', Status: 200 });
  t.ok(all.got.messages.filter((m) => m.Type === 'store').every((m) => m.Obj.length <= 100), 'bulks of at most 100 flows');
  t.strictSame(storeFlows(all.got.messages), flows.map((f) => JSON.parse(flowToJSON(f))), 'every flow, in order, in Skydive JSON');

  const want = (keep: (f: (typeof flows)[number]) => boolean) => flows.filter(keep).map((f) => f.UUID);
  await until(() => storeFlows(udpOnly.got.messages).length === want((f) => f.Transport?.B === 53).length, 'the filtered flows');
  t.strictSame(storeFlows(udpOnly.got.messages).map((f) => f.UUID), want((f) => f.Transport?.B === 53), 'X-Gremlin-Filter');
  await until(() => storeFlows(cap2.got.messages, 'flow/cap-2').length === want((f) => f.CaptureID === 'cap-2').length, 'the cap-2 flows');
  t.strictSame(storeFlows(cap2.got.messages, 'flow/cap-2').map((f) => f.UUID), want((f) => f.CaptureID === 'cap-2'), 'flow/<CaptureID>');
  t.equal(storeFlows(cap2.got.messages).length, 0, 'nothing on "flow" for it');
  const on1 = want((f) => f.Network?.A === '10.0.0.1' || f.Network?.B === '10.0.0.1');
  t.ok(on1.length > 0);
  await until(() => storeFlows(byQuery.got.messages).length === on1.length, 'the query-parameter filter');
  t.strictSame(storeFlows(byQuery.got.messages).map((f) => f.UUID), on1);
  t.equal(byQuery.got.messages.filter((m) => m.Namespace === 'stats').length, 0, 'it asked for flow only');

  await until(() => statsOnly.got.messages.length === 1, 'the stats message');
  t.match(statsOnly.got.messages[0], {
    Namespace: 'stats', Type: 'stats', Status: 200,
    Obj: { CaptureID: 'cap-1', FlowCount: 12, FlowDropped: 0, KernelFlowDropped: 0, PacketsDropped: 1, PacketsReceived: 99 },
  });
  t.equal(all.got.messages.filter((m) => m.Namespace === 'stats').length, 1, 'the default namespaces include stats');
  const status = await (await fetch(`${analyzer.base}/api/status`)).json() as Record<string, any>;
  t.equal(Object.keys(status.Subscribers).length, 5);
  for (const s of [all, udpOnly, cap2, byQuery, statsOnly]) s.ws.close();
  await until(() => analyzer.stream.size === 0, 'subscribers gone');
});

t.test('a bad filter or namespace refuses the upgrade with a 400 saying why', async (t) => {
  const bad = await openSocket(url('/ws/subscriber/flow'), { 'X-Gremlin-Filter': "G.Flows().Has('Network.A'," });
  t.match(bad, { status: 400, body: /^bad X-Gremlin-Filter: unexpected end of query at position 26: expected a value\n.*\n +\^\n$/ });
  t.match(await openSocket(url('/ws/subscriber/flow'), { 'X-Gremlin-Filter': 'G.Flows().Count()' }), { status: 400, body: /Count\(\) is not allowed in a flow filter/ });
  t.match(await openSocket(url('/ws/subscriber/flow'), { 'X-Gremlin-Filter': 'G.V()' }), { status: 400, body: /bad X-Gremlin-Filter/ });
  t.match(await openSocket(url('/ws/subscriber/flow'), { 'X-Websocket-Namespace': 'Graph' }), { status: 400, body: /unknown namespace "Graph".*use flow, flow\/<CaptureID>, stats or \*/ });
  t.equal(analyzer.stream.size, 0, 'no subscriber was added');
});

const agentsConnected = async (): Promise<Record<string, unknown>> =>
  ((await (await fetch(`${analyzer.base}/api/status`)).json()) as { Agents: Record<string, unknown> }).Agents;

t.test('a host ID connects once per endpoint: a second handshake gets a 409', async (t) => {
  const first = await openSocket(url('/ws/agent/flow'), { 'X-Host-ID': 'twin', 'X-Client-Type': 'agent' });
  t.ok(first instanceof WebSocket, 'the first connects');
  const second = await openSocket(url('/ws/agent/flow'), { 'X-Host-ID': 'twin', 'X-Client-Type': 'agent' });
  t.match(second, { status: 409, body: 'a client with X-Host-ID "twin" is already connected to /ws/agent/flow\n' });
  t.strictSame(Object.keys(await agentsConnected()), ['twin'], 'status lists the first one only');
  const sub = await openSocket(url('/ws/subscriber/flow?x-host-id=twin'));
  t.ok(sub instanceof WebSocket, 'the same host ID on another endpoint is another client');
  const sub2 = await openSocket(url('/ws/subscriber/flow'), { 'X-Host-ID': 'twin' });
  t.match(sub2, { status: 409, body: /already connected to \/ws\/subscriber\/flow/ });
  const anon = await Promise.all([openSocket(url('/ws/subscriber/flow')), openSocket(url('/ws/subscriber/flow'))]);
  t.ok(anon.every((w) => w instanceof WebSocket), 'clients without a host ID are told apart by their address');
  for (const w of [first, sub, ...anon]) (w as WebSocket).close();
  await until(async () => Object.keys(await agentsConnected()).length === 0, 'the agent gone');
  const again = await openSocket(url('/ws/agent/flow'), { 'X-Host-ID': 'twin', 'X-Client-Type': 'agent' });
  t.ok(again instanceof WebSocket, 'once the first has gone, the host ID connects again');
  (again as WebSocket).close();
  await until(() => analyzer.stream.size === 0, 'subscribers gone');
});

t.test('/ws/agent/flow: malformed messages are counted, the connection goes on', async (t) => {
  const before = analyzer.intake.counters.badMessages.websocket;
  const ws = await openSocket(url('/ws/agent/flow'), { 'X-Host-ID': 'noisy' }) as WebSocket;
  ws.send('{"not": "protobuf"}');
  ws.send(Buffer.from([0x0a, 0x7f, 0x01]));
  ws.send(encodeMessage([{ ...flows[0], UUID: 'after-garbage' }]));
  await until(() => analyzer.store.get('after-garbage') !== undefined, 'the good message after the bad ones');
  t.equal(analyzer.intake.counters.badMessages.websocket - before, 2);
  t.equal(ws.readyState, WebSocket.OPEN);
  ws.close();
});

t.test('/ws/agent/flow acknowledgements: what an agent sends again is stored once', async (t) => {
  const session = 'session-' + Math.random().toString(36).slice(2);
  const msg = (i: number) => encodeMessage([{ ...flows[0], UUID: `acked-${i}` }]);
  const connect = async (firstSeq: number) => {
    let ackHeader: string | undefined;
    const ws = new WebSocket(url('/ws/agent/flow'), { headers: { 'X-Host-ID': 'acker', 'X-Flow-Session': session, 'X-Flow-Seq': String(firstSeq) } });
    ws.on('upgrade', (res) => { ackHeader = res.headers['x-flow-ack'] as string; });
    const got = collect(ws);
    await new Promise((r) => ws.once('open', r));
    return { ws, got, ackHeader: () => ackHeader };
  };
  const lastAck = (got: { messages: Record<string, any>[] }) => got.messages.filter((m) => m.Type === 'ack').at(-1)?.Obj.Seq;

  const c1 = await connect(1);
  t.equal(c1.ackHeader(), '1', 'the upgrade reply offers acknowledgements');
  await until(() => lastAck(c1.got) === 0, 'the first acknowledgement: nothing stored yet');
  for (let i = 1; i <= 3; i++) c1.ws.send(msg(i));
  await until(() => lastAck(c1.got) === 3, 'messages 1-3 acknowledged');
  c1.ws.close();
  // Its host ID is free again once the analyzer has seen it go.
  await until(async () => !('acker' in (await agentsConnected())), 'the first connection gone');
  const dupBefore = analyzer.intake.counters.duplicateMessages;
  // The agent did not see the acknowledgement of 2 and 3: it sends them again, then 4.
  const c2 = await connect(2);
  for (const i of [2, 3, 4]) c2.ws.send(msg(i));
  await until(() => lastAck(c2.got) === 4, 'message 4 acknowledged');
  t.equal(c2.got.messages.find((m) => m.Type === 'ack')!.Obj.Seq, 3, 'on connection, what was already stored');
  t.equal(analyzer.intake.counters.duplicateMessages - dupBefore, 2, 'two messages skipped');
  t.equal(analyzer.store.stats().updated, 0, 'no flow stored twice');
  for (let i = 1; i <= 4; i++) t.ok(analyzer.store.get(`acked-${i}`), `acked-${i} stored`);
  c2.ws.close();

  const plain = new WebSocket(url('/ws/agent/flow'));
  let header: string | undefined = 'unset';
  plain.on('upgrade', (res) => { header = res.headers['x-flow-ack'] as string | undefined; });
  const got = collect(plain);
  await new Promise((r) => plain.once('open', r));
  plain.send(msg(9));
  await until(() => analyzer.store.get('acked-9') !== undefined, 'a Skydive agent\'s message');
  t.equal(header, undefined, 'no acknowledgement offered to an agent that did not ask');
  t.equal(got.messages.length, 0, 'nor sent');
  plain.close();
});

t.test('closing: agents get a last acknowledgement, subscribers a close frame', async (t) => {
  const a = await testAnalyzer();
  const sub = await openSocket(`ws://127.0.0.1:${a.address.port}/ws/subscriber/flow`) as WebSocket;
  const agent = new WebSocket(`ws://127.0.0.1:${a.address.port}/ws/agent/flow`, { headers: { 'X-Flow-Session': 's', 'X-Flow-Seq': '1' } });
  const got = collect(agent);
  await new Promise((r) => agent.once('open', r));
  agent.send(encodeMessage([flows[1]]));
  await until(() => a.store.size === 1, 'the flow');
  const codes: number[] = [];
  sub.on('close', (code) => codes.push(code));
  agent.on('close', (code) => codes.push(code));
  await a.close();
  await until(() => codes.length === 2, 'both closed');
  t.strictSame(codes.sort(), [1001, 1001], 'going away');
  t.equal(got.messages.filter((m) => m.Type === 'ack').at(-1)?.Obj.Seq, 1, 'the last acknowledgement came first');
});
