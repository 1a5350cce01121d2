/**
 * The analyzer's REST API on loopback, with flows ingested the way agents send them (UDP
 * datagrams of one flow, WebSocket messages of several): GET /api, /api/status, /metrics, and
 * POST /api/topology, whose replies are exactly what the query engine gives over a store loaded
 * directly with the same flows; every bad request is a 400 (or 204/404/501) whose text says
 * what to change.
 */
import t from 'tap';
import WebSocket from 'ws';
import { encodeMessage } from '../../src/format/protobuf.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import { runFlowQueryJSON } from '../../src/query/index.js';
import { packageVersion } from '../../src/version.js';
import type { Flow, Stats } from '../../src/flow/types.js';
import { makeFlows } from '../query/flow-fixture.js';
import { openSocket, postQuery, sendDatagrams, testAnalyzer, until } from '../helpers/analyzer.js';

const flows = makeFlows(300, 21);
const viaUDP = flows.slice(0, 120);
const viaWS = flows.slice(120);
const reference = new MemoryFlowStore({ retentionMs: Infinity });
reference.upsert(flows);

const analyzer = await testAnalyzer();
t.teardown(() => analyzer.close());
const { base } = analyzer;

t.test('flows arrive over UDP (one a datagram) and WebSocket (batches)', async (t) => {
  await sendDatagrams(analyzer.address.port, viaUDP.map((f) => encodeMessage([f])));
  await until(() => analyzer.store.size === viaUDP.length, 'the UDP flows');
  const ws = await openSocket(`ws://127.0.0.1:${analyzer.address.port}/ws/agent/flow`, { 'X-Host-ID': 'agent-1', 'X-Client-Type': 'agent' }) as WebSocket;
  for (let i = 0; i < viaWS.length; i += 25) ws.send(encodeMessage(viaWS.slice(i, i + 25)));
  await until(() => analyzer.store.size === flows.length, 'the WebSocket flows');
  const status = await (await fetch(`${base}/api/status`)).json() as Record<string, any>;
  t.match(status.Agents['agent-1'], { ServiceType: 'agent', ClientProtocol: 'protobuf', Addr: '127.0.0.1', IsConnected: true, RemoteHost: 'agent-1' });
  t.match(status.Agents['agent-1'].ConnectTime, /^\d{4}-\d\d-\d\dT/);
  t.match(status, { Peers: { Incomers: {}, Outgoers: {} }, Alerts: { IsMaster: true }, Flows: { Stored: flows.length, Received: flows.length } });
  ws.close();
  await until(async () => Object.keys(((await (await fetch(`${base}/api/status`)).json()) as any).Agents).length === 0, 'the agent to leave the status');
  // The fixture writes some absent parts as `undefined`; the wire has no such thing.
  const sent = (f: Flow): Flow => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as Flow;
  for (const f of flows) {
    if (!t.strictSame(analyzer.store.get(f.UUID)?.flow, sent(f), `flow ${f.UUID} stored as sent`)) break;
  }
});

t.test('GET /api', async (t) => {
  const r = await fetch(`${base}/api`);
  t.equal(r.status, 200);
  t.strictSame(await r.json(), { Host: 'test-analyzer', Version: packageVersion(), Service: 'analyzer' });
  t.equal((await fetch(`${base}/api/`)).status, 200, 'a trailing slash is fine');
});

t.test('POST /api/topology: the query engine\'s replies, in Skydive JSON', async (t) => {
  const a = flows.find((f) => f.Network?.Protocol === 'IPV4')!.Network!.A;
  const withHistory = flows.find((f) => f.LastUpdateMetric)!.UUID;
  const queries = [
    'G.Flows()',
    'G.Flows().Count()',
    `G.Flows().Has('Network.A', '${a}')`,
    `G.Flows().Has('Network', '${a}').Count()`,
    "G.Flows().Has('Transport.B', Within(53, 443)).Sort(DESC, 'Last').Limit(5)",
    "G.Flows().Has('Application', 'TCP', 'Metric.ABPackets', Gt(20)).Sort('Metric.ABBytes')",
    "G.Flows().Dedup('TrackingID').Count()",
    "G.Flows().Has('CaptureID', 'cap-2').Dedup('Network.A').Values('Network.A')",
    "G.Flows().HasEither('Transport.A', 53, 'Transport.B', 53).Count()",
    "G.Flows().Has('LayersPath', Regex('Ethernet/IPv4/.*')).Count()",
    `G.Flows().Has('UUID', '${withHistory}').Metrics()`,
    "G.Flows().Has('NodeTID', 'node-b').Metrics().Sum()",
    "g.flows().has('ParentUUID', NE('')).count()",
    'G.Flows().Keys()',
    "G.Flows().Sum('Metric.ABBytes')",
  ];
  for (const q of queries) {
    const r = await postQuery(base, JSON.stringify({ GremlinQuery: q }));
    t.equal(r.status, 200, q);
    t.equal(r.type, 'application/json; charset=UTF-8');
    t.equal(r.text, runFlowQueryJSON(reference, q), q);
  }
  t.equal((await postQuery(base, '{"GremlinQuery": "G.Flows().Count()"}', 'application/x-www-form-urlencoded')).text, String(flows.length), 'curl -d sends form-urlencoded: read all the same');
  t.equal((await postQuery(base, '{"GremlinQuery": "G.Flows().Count()"}', 'text/plain')).text, String(flows.length));
  t.equal((await postQuery(base, '{"gremlinquery": "G.Flows().Count()"}')).text, String(flows.length), 'the key in any case, as Go reads JSON');
  t.equal((await postQuery(base, '{"GremlinQuery": "G.Flows().Has(", "gremlinQuery": "G.Flows().Count()"}')).text, String(flows.length), 'the last one wins');
});

t.test('POST /api/topology: mistakes get a 400 that says what to change', async (t) => {
  const cases: [string, number, RegExp][] = [
    ['{"GremlinQuery": "G.Flows().Has("', 400, /not valid JSON/],
    ['{bad', 400, /the body is not valid JSON \(.*\): send \{"GremlinQuery": "G.Flows\(\)"\}/],
    ['', 400, /the request has no body: send \{"GremlinQuery"/],
    ['[1, 2]', 400, /must be a JSON object/],
    ['{"Query": "G.Flows()"}', 400, /the body has no "GremlinQuery"/],
    ['{"GremlinQuery": 3}', 400, /"GremlinQuery" must be a string, not number/],
    ['{"GremlinQuery": null}', 400, /must be a string, not null/],
    ['{"GremlinQuery": "G.Flows().Has(\'Network.A\',"}', 400, /^unexpected end of query at position \d+: expected a value\nG.Flows\(\)\.Has\('Network\.A',\n +\^\n$/],
    ['{"GremlinQuery": "G.Flows().Hass(\'UUID\', 1)"}', 400, /position 10/],
    ['{"GremlinQuery": "G.Flows().Has(\'Nope\', 1)"}', 400, /unknown flow field 'Nope'/],
    ['{"GremlinQuery": "G.Flows().Has(\'Start\', Gt(\'x\'))"}', 400, /^Gt\(\) compares numbers at position 26: expected a number\n/],
    ['{"GremlinQuery": "G.Flows().Has(\'Network.A\', Gt(5))"}', 400, /^Gt\(\) compares numbers; 'Network\.A' holds text at position 27: on text use .*\nG\.Flows/],
    ['{"GremlinQuery": "G.Flows().Has(\'Transport.B\', Regex(\'44.*\'))"}', 400, /^Regex\(\) matches text; 'Transport\.B' holds numbers at position 29/],
    ['{"GremlinQuery": "G.Flows().Has(\'Metric\', 1)"}', 400, /^'Metric' is a block, not a value at position 14: compare one of its fields \(such as 'Metric\.ABPackets'\)/],
    ['{"GremlinQuery": "G.Flows().Limit(\'5\')"}', 400, /Limit\(\) takes whole numbers >= 0 at position 16/],
    ['{"GremlinQuery": "G.Flows().Count().Values(\'UUID\')"}', 400, /Values\(\) cannot follow Count\(\)/],
    ['{"GremlinQuery": "G.V().Has(\'Name\', \'eth0\')"}', 400, /topology graph/],
    ['{"GremlinQuery": "G"}', 400, /start with G.Flows\(\)/],
  ];
  for (const [body, status, text] of cases) {
    const r = await postQuery(base, body);
    t.equal(r.status, status, body);
    t.match(r.type, /^text\/plain/, body);
    t.match(r.text, text, body);
  }
  const empty = await postQuery(base, '{"GremlinQuery": ""}');
  t.equal(empty.status, 204, 'an empty query: 204, as Skydive');
  t.equal(empty.text, '');
  const get = await fetch(`${base}/api/topology`);
  t.equal(get.status, 501);
  t.match(await get.text(), /keeps flows, not the topology graph/);
  t.equal((await fetch(`${base}/api/nothing`)).status, 404);
  const huge = await postQuery(base, JSON.stringify({ GremlinQuery: 'G.Flows()' + '.Limit(1)'.repeat(200000) }));
  t.equal(huge.status, 413, 'a body over 1 MiB is refused');
  t.equal((await fetch(`${base}/api`)).status, 200, 'and the analyzer still answers');
});

t.test('GET /metrics: Prometheus text with intake, per-capture, store and stream figures', async (t) => {
  const stats: Stats = { CaptureID: 'cap-9', FlowCount: 42, FlowDropped: 2, KernelFlowDropped: 0, PacketsReceived: 1000, PacketsDropped: 7, DecodeFailures: 3 };
  // Empty datagrams are the UDP sender's port probes: neither messages nor Stats.
  await sendDatagrams(analyzer.address.port, Array.from({ length: 10 }, () => Buffer.alloc(0)));
  await sendDatagrams(analyzer.address.port, [encodeMessage([], stats),
    encodeMessage([], { ...stats, FlowCount: 40, PacketsReceived: 500, DecodeFailures: undefined }), Buffer.from('not protobuf \xff\xff')]);
  await until(() => analyzer.intake.counters.badMessages.udp === 1, 'the bad datagram');
  const r = await fetch(`${base}/metrics`);
  t.equal(r.status, 200);
  t.match(r.headers.get('content-type'), /^text\/plain; version=0.0.4/);
  const text = await r.text();
  const value = (line: string): number => {
    const m = new RegExp(`^${line.replace(/[{}()[\].*+?^$|\\]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
    if (!m) throw new Error(`no ${line} in\n${text}`);
    return Number(m[1]);
  };
  t.equal(value('skydive_analyzer_flows_received_total{transport="udp"}'), viaUDP.length);
  t.equal(value('skydive_analyzer_flows_received_total{transport="websocket"}'), viaWS.length);
  t.equal(value('skydive_analyzer_messages_received_total{transport="websocket"}'), Math.ceil(viaWS.length / 25));
  t.equal(value('skydive_analyzer_bad_messages_total{transport="udp"}'), 1);
  t.equal(value('skydive_analyzer_messages_received_total{transport="udp"}'), viaUDP.length + 2, 'one a flow, plus the two Stats');
  t.equal(value('skydive_analyzer_stats_received_total{transport="udp"}'), 2);
  t.equal(value('skydive_analyzer_probes_received_total{transport="udp"}'), 10);
  t.match(text, /^skydive_agent_stats_received_total\{agent="127\.0\.0\.1:\d+",transport="udp"\} 2$/m, 'who sent the Stats');
  t.equal(text.match(/^skydive_agent_flows_received_total\{agent="[^"]+",transport="udp"\}/gm)?.length, 2,
    'two UDP agents: the flows\' socket and the Stats\' (the probes\' is none)');
  t.equal(value('skydive_store_flows'), flows.length);
  t.equal(value('skydive_store_flows_inserted_total'), flows.length);
  t.equal(value('skydive_store_flows_evicted_total'), 0);
  t.equal(value('skydive_agent_flows_received_total{agent="agent-1",transport="websocket"}'), viaWS.length);
  t.match(text, /^skydive_capture_packets_received_total\{agent="127\.0\.0\.1:\d+",capture="cap-9"\} 1500$/m, 'Stats add up');
  t.match(text, /^skydive_capture_packets_dropped_total\{agent="127\.0\.0\.1:\d+",capture="cap-9"\} 14$/m);
  t.match(text, /^skydive_capture_decode_failures_total\{agent="127\.0\.0\.1:\d+",capture="cap-9"\} 3$/m);
  t.match(text, /^skydive_capture_flow_dropped_total\{agent="127\.0\.0\.1:\d+",capture="cap-9"\} 4$/m);
  t.match(text, /^skydive_capture_active_flows\{agent="127\.0\.0\.1:\d+",capture="cap-9"\} 40$/m, 'the last FlowCount');
  t.ok(value('skydive_analyzer_ingest_flows_per_second') >= 0);
  t.ok(value('process_resident_memory_bytes') > 1e6);
  t.match(text, /^skydive_analyzer_udp_kernel_drops_total \d+$/m);
  t.match(text, /^skydive_analyzer_udp_queue_drops_total 0$/m, 'no datagram lost between the receiving thread and the intake');
  for (const line of text.trim().split('\n')) t.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+]+)$/, 'exposition syntax');
  t.equal(analyzer.logs.filter((l) => /refused 1 message/.test(l)).length, 1, 'the bad datagram is logged');
});

t.test('a bounded store: the oldest flows leave first, counted', async (t) => {
  const small = await testAnalyzer({ store: { maxFlows: 50, retentionMs: Infinity } });
  t.teardown(() => small.close());
  const sorted: Flow[] = [...flows].sort((x, y) => Number(x.Last) - Number(y.Last));
  await sendDatagrams(small.address.port, [encodeMessage(sorted.slice(0, 100)), encodeMessage(sorted.slice(100, 200))]);
  await until(() => small.intake.counters.flows.udp === 200, 'the flows');
  t.equal(small.store.size, 50);
  const m = await (await fetch(`${small.base}/metrics`)).text();
  t.match(m, /^skydive_store_flows_evicted_total 150$/m);
  const count = await postQuery(small.base, JSON.stringify({ GremlinQuery: `G.Flows().Has('Last', Gte(${Number(sorted[150].Last)})).Count()` }));
  t.equal(count.text, '50', 'the 50 most recent flows stay');
});
