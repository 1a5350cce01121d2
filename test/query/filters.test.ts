/**
 * Has, HasEither, HasKey, HasNot and every predicate, against plain filtering of the flows the
 * test built. Expected results never go through the query code.
 */
import t from 'tap';
import type { Flow } from '../../src/flow/types.js';
import { runFlowQuery, runFlowQueryJSON } from '../../src/query/index.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import { makeFlows } from './flow-fixture.js';

const flows = makeFlows(600);
const store = new MemoryFlowStore();
store.upsert(flows);

/** UUIDs a query returns, in reply order. */
function ids(query: string): string[] {
  const reply = runFlowQuery(store, query) as Array<{ UUID: string }>;
  return reply.map((f) => f.UUID);
}

/** UUIDs of the flows `keep` accepts, in insertion order: what a filter query must return. */
function expect(keep: (f: Flow) => boolean): string[] {
  return flows.filter(keep).map((f) => f.UUID);
}

const num = (v: unknown): number => Number(v);

t.test('the fixture is varied enough for the tests to mean something', (t) => {
  t.ok(flows.length >= 600);
  t.ok(flows.some((f) => f.Network?.Protocol === 'IPV6') && flows.some((f) => f.Network?.Protocol === 'IPV4'));
  t.ok(flows.some((f) => f.Transport?.Protocol === 'UDP') && flows.some((f) => f.ICMP !== undefined));
  t.ok(flows.some((f) => f.ParentUUID !== ''), 'inner flows of tunnels');
  t.ok(new Set(flows.map((f) => f.TrackingID)).size < flows.length, 'shared TrackingIDs');
  t.end();
});

t.test('G.Flows() gives every flow, in insertion order', (t) => {
  t.same(ids('G.Flows()'), flows.map((f) => f.UUID));
  t.same(ids('g.flows()'), flows.map((f) => f.UUID), 'steps are case-insensitive');
  t.end();
});

t.test('Has on every indexed field equals a plain filter', (t) => {
  const sample = flows[123];
  const inner = flows.find((f) => f.ParentUUID !== '') as Flow;
  const cases: Array<[string, (f: Flow) => boolean]> = [
    [`Has('UUID', '${sample.UUID}')`, (f) => f.UUID === sample.UUID],
    [`Has('TrackingID', '${sample.TrackingID}')`, (f) => f.TrackingID === sample.TrackingID],
    [`Has('L3TrackingID', '${sample.L3TrackingID}')`, (f) => f.L3TrackingID === sample.L3TrackingID],
    [`Has('ParentUUID', '${inner.ParentUUID}')`, (f) => f.ParentUUID === inner.ParentUUID],
    ["Has('ParentUUID', '')", (f) => f.ParentUUID === ''],
    ["Has('NodeTID', 'node-b')", (f) => f.NodeTID === 'node-b'],
    ["Has('NodeTID', '')", (f) => f.NodeTID === ''],
    ["Has('CaptureID', 'cap-3')", (f) => f.CaptureID === 'cap-3'],
    ["Has('Network.A', '10.0.0.1')", (f) => f.Network?.A === '10.0.0.1'],
    ["Has('Network.B', 'fe80::2')", (f) => f.Network?.B === 'fe80::2'],
    ["Has('IPV6.B', 'fe80::2')", (f) => f.Network?.B === 'fe80::2'],
    ["Has('Link.A', '02:00:00:00:00:03')", (f) => f.Link?.A === '02:00:00:00:00:03'],
    ["Has('ETHERNET.B', '02:00:00:00:00:01')", (f) => f.Link?.B === '02:00:00:00:00:01'],
    ['Has(\'Transport.B\', 443)', (f) => f.Transport?.B === 443],
    ['Has(\'TCP.A\', 32770)', (f) => f.Transport?.A === 32770],
    ["Has('LayersPath', 'Ethernet/IPv4/UDP/DNS')", (f) => f.LayersPath === 'Ethernet/IPv4/UDP/DNS'],
    ["Has('Application', 'ICMPv6')", (f) => f.Application === 'ICMPv6'],
  ];
  for (const [step, keep] of cases) {
    const want = expect(keep);
    t.same(ids(`G.Flows().${step}`), want, step);
    t.same(ids(`G.Flows(${step.slice(4, -1)})`), want, `G.Flows(...) with the pair of ${step}`);
  }
  t.end();
});

t.test('Has on fields without an index, and several pairs (AND)', (t) => {
  const cases: Array<[string, (f: Flow) => boolean]> = [
    ["Has('ICMP.Type', 'ECHO')", (f) => f.ICMP?.Type === 'ECHO'],
    ["Has('Network.Protocol', 'IPV6')", (f) => f.Network?.Protocol === 'IPV6'],
    ["Has('Transport.Protocol', 'UDP')", (f) => f.Transport?.Protocol === 'UDP'],
    ['Has(\'FinishType\', 2)', (f) => f.FinishType === 2],
    ['Has(\'RawPacketsCaptured\', 2)', (f) => f.RawPacketsCaptured === 2],
    ['Has(\'Metric.ABPackets\', 7)', (f) => num(f.Metric.ABPackets) === 7],
    ['Has(\'IPMetric.Fragments\', 1)', (f) => num(f.IPMetric?.Fragments) === 1],
    ["Has('CaptureID', 'cap-1', 'Transport.B', 443)", (f) => f.CaptureID === 'cap-1' && f.Transport?.B === 443],
    ["Has('CaptureID', 'cap-1').Has('Transport.B', 443).Has('Network.Protocol', 'IPV4')",
      (f) => f.CaptureID === 'cap-1' && f.Transport?.B === 443 && f.Network?.Protocol === 'IPV4'],
    ["Has('Network.A', '10.0.0.1', 'Network.B', '10.0.0.2')", (f) => f.Network?.A === '10.0.0.1' && f.Network?.B === '10.0.0.2'],
  ];
  for (const [step, keep] of cases) t.same(ids(`G.Flows().${step}`), expect(keep), step);
  t.end();
});

t.test('Network, Link and Transport match either side', (t) => {
  t.same(ids("G.Flows().Has('Network', '10.0.0.2')"), expect((f) => f.Network?.A === '10.0.0.2' || f.Network?.B === '10.0.0.2'));
  t.same(ids("G.Flows().Has('IPV4', '10.0.0.2')"), expect((f) => f.Network?.A === '10.0.0.2' || f.Network?.B === '10.0.0.2'));
  t.same(ids('G.Flows().Has(\'Transport\', 53)'), expect((f) => f.Transport?.A === 53 || f.Transport?.B === 53));
  t.same(ids("G.Flows().Has('Link', '02:00:00:00:00:04')"),
    expect((f) => f.Link?.A === '02:00:00:00:00:04' || f.Link?.B === '02:00:00:00:00:04'));
  t.same(ids("G.Flows().Has('Network', Within('8.8.8.8', 'fe80::1'))"),
    expect((f) => ['8.8.8.8', 'fe80::1'].includes(f.Network?.A as string) || ['8.8.8.8', 'fe80::1'].includes(f.Network?.B as string)));
  t.end();
});

t.test('values of the wrong type never match (Skydive: ports are numbers, addresses text)', (t) => {
  t.same(ids("G.Flows().Has('Transport.B', '443')"), []);
  t.same(ids("G.Flows().Has('Network.A', 10)"), []);
  t.same(ids("G.Flows().Has('UUID', true)"), []);
  t.same(ids('G.Flows().Has(\'Transport.B\', 443.0)'), expect((f) => f.Transport?.B === 443), 'a float equal to an integer matches');
  t.same(ids('G.Flows().Has(\'Transport.B\', 443.5)'), []);
  t.end();
});

t.test('HasEither is an OR of its pairs', (t) => {
  t.same(ids("G.Flows().HasEither('CaptureID', 'cap-4', 'Transport.B', 22)"), expect((f) => f.CaptureID === 'cap-4' || f.Transport?.B === 22));
  t.same(ids("G.Flows().HasEither('ICMP.Type', 'NEIGHBOR', 'Network.A', '10.0.0.1')"),
    expect((f) => f.ICMP?.Type === 'NEIGHBOR' || f.Network?.A === '10.0.0.1'));
  t.same(ids("G.Flows().HasEither('Application', 'DNS')"), expect((f) => f.Application === 'DNS'), 'a single pair');
  t.end();
});

t.test('HasKey, HasNot and one-argument Has', (t) => {
  t.same(ids("G.Flows().HasKey('ICMP')"), expect((f) => f.ICMP !== undefined));
  t.same(ids("G.Flows().Has('ICMP')"), expect((f) => f.ICMP !== undefined));
  t.same(ids("G.Flows().HasKey('Transport.A')"), expect((f) => f.Transport !== undefined));
  t.same(ids("G.Flows().HasNot('Transport')"), expect((f) => f.Transport === undefined));
  t.same(ids("G.Flows().HasNot('IPMetric')"), expect((f) => f.IPMetric === undefined));
  t.same(ids("G.Flows().HasKey('ParentUUID')"), expect(() => true), 'top-level fields always exist, as in Go');
  t.same(ids("G.Flows().HasNot('ParentUUID')"), []);
  t.end();
});

t.test('Within and Without', (t) => {
  t.same(ids("G.Flows().Has('CaptureID', Within('cap-1', 'cap-4'))"), expect((f) => f.CaptureID === 'cap-1' || f.CaptureID === 'cap-4'));
  t.same(ids('G.Flows().Has(\'Transport.B\', Within(22, 8080, 9999))'), expect((f) => [22, 8080].includes(f.Transport?.B as number)));
  t.same(ids("G.Flows().Has('CaptureID', Within('cap-1', 2))"), expect((f) => f.CaptureID === 'cap-1'), 'mixed types');
  t.same(ids("G.Flows().Has('CaptureID', Without('cap-1', 'cap-4'))"), expect((f) => f.CaptureID !== 'cap-1' && f.CaptureID !== 'cap-4'));
  t.same(ids('G.Flows().Has(\'Transport.B\', Without(443, 53))'),
    expect((f) => f.Transport?.B !== 443 && f.Transport?.B !== 53), 'flows without Transport pass Without');
  t.end();
});

t.test('Ne (present and different) and Nee (different, absent included)', (t) => {
  t.same(ids('G.Flows().Has(\'Transport.B\', Ne(443))'), expect((f) => f.Transport !== undefined && f.Transport.B !== 443));
  t.same(ids('G.Flows().Has(\'Transport.B\', Nee(443))'), expect((f) => f.Transport?.B !== 443));
  t.same(ids("G.Flows().Has('NodeTID', Ne('node-a'))"), expect((f) => f.NodeTID !== 'node-a'));
  t.end();
});

t.test('Gt, Lt, Gte, Lte, Inside, Between, Outside on numbers', (t) => {
  const ab = (f: Flow): number => num(f.Metric.ABBytes);
  t.same(ids("G.Flows().Has('Metric.ABBytes', Gt(2500))"), expect((f) => ab(f) > 2500));
  t.same(ids("G.Flows().Has('Metric.ABBytes', Gte(2500))"), expect((f) => ab(f) >= 2500));
  t.same(ids("G.Flows().Has('Metric.ABBytes', Lt(1000))"), expect((f) => ab(f) < 1000));
  t.same(ids("G.Flows().Has('Metric.ABBytes', Lte(1000))"), expect((f) => ab(f) <= 1000));
  t.same(ids("G.Flows().Has('Metric.ABBytes', Inside(1000, 2000))"), expect((f) => ab(f) > 1000 && ab(f) < 2000));
  t.same(ids("G.Flows().Has('Metric.ABBytes', Between(1000, 2000))"), expect((f) => ab(f) >= 1000 && ab(f) < 2000));
  t.same(ids("G.Flows().Has('Metric.ABBytes', Outside(1000, 2000))"), expect((f) => ab(f) < 1000 || ab(f) > 2000));
  t.same(ids("G.Flows().Has('Transport.A', Gt(50000))"), expect((f) => (f.Transport?.A ?? 0) > 50000), 'absent fields never match');
  t.same(ids("G.Flows().Has('Metric.ABBytes', Gt(2500.5))"), expect((f) => ab(f) > 2500.5), 'float bound');
  t.same(ids("G.Flows().Has('Start', Gte(-5))"), expect(() => true), 'negative bound');
  t.same(ids("G.Flows().Has('Link.ID', Gt(1152921504606846976))"), ['big-link'], 'int64 beyond 2^53 compares exactly');
  t.same(ids("G.Flows().Has('Link.ID', 1152921504606846979)"), ['big-link']);
  t.same(ids("G.Flows().Has('Link.ID', 1152921504606846978)"), []);
  t.end();
});

t.test('Regex: anchored at both ends, RE2 syntax', (t) => {
  t.same(ids("G.Flows().Has('Network.A', Regex('10\\.0\\.0\\..*'))"),
    expect((f) => /^10\.0\.0\..*$/.test(f.Network?.A ?? '\n')));
  t.same(ids("G.Flows().Has('Network.A', Regex('10'))"), [], 'no partial match');
  t.same(ids("G.Flows().Has('LayersPath', Regex('Ethernet/IPv[46]/(TCP|UDP)'))"),
    expect((f) => /^Ethernet\/IPv[46]\/(TCP|UDP)$/.test(f.LayersPath)));
  t.same(ids("G.Flows().Has('Application', Regex('(?i)icmpv\\d'))"),
    expect((f) => /^icmpv\d$/i.test(f.Application)));
  t.end();
});

t.test('Regex (?i): a negated class is folded first, as in RE2 (the REST route\'s JSON entry point)', (t) => {
  const count = (q: string): number => JSON.parse(runFlowQueryJSON(store, `G.Flows().${q}.Count()`)) as number;
  const dns = flows.filter((f) => f.Application === 'DNS').length;
  const tcp = flows.filter((f) => f.Application === 'TCP').length;
  t.ok(dns > 0 && tcp > 0, 'the fixture has DNS and TCP flows');
  t.equal(count("Has('Application', Regex('(?i)[^d]NS'))"), 0, '[^d] refuses D too');
  t.equal(count("Has('Application', Regex('[^d]NS'))"), dns, 'without (?i), D is not d');
  t.equal(count("Has('Application', Regex('(?i)[^t]cp'))"), 0);
  t.equal(count("Has('Application', Regex('(?i)[^a-z]+'))"), 0, 'every application name has a letter');
  t.equal(count("Has('Application', Regex('(?i)[a-z]+v\\d'))"), flows.filter((f) => /^ICMPv\d$/.test(f.Application)).length);
  t.equal(count("Has('Application', Regex('(?i)\\W+'))"), 0);
  t.end();
});

t.test('each predicate on its own kind of field still filters (the REST route\'s JSON entry point)', (t) => {
  const count = (q: string): number => JSON.parse(runFlowQueryJSON(store, `G.Flows().${q}.Count()`)) as number;
  const n = (keep: (f: Flow) => boolean): number => flows.filter(keep).length;
  const cases: Array<[string, (f: Flow) => boolean]> = [
    ["Has('Transport.B', Gt(1000))", (f) => num(f.Transport?.B ?? 0) > 1000],
    ["Has('Transport', Between(53, 54))", (f) => f.Transport?.A === 53 || f.Transport?.B === 53],
    ["Has('LastUpdateMetric.ABBytes', Inside(500, 1500))", (f) => f.LastUpdateMetric !== undefined && num(f.LastUpdateMetric.ABBytes) > 500 && num(f.LastUpdateMetric.ABBytes) < 1500],
    ["Has('TCPMetric.ABSynTTL', Gte(64))", (f) => f.TCPMetric !== undefined],
    ["Has('IPMetric.Fragments', Gt(0))", (f) => num(f.IPMetric?.Fragments ?? 0) > 0],
    ["Has('ICMP.Code', Lte(0))", (f) => f.ICMP !== undefined],
    ["Has('Metric.RTT', Outside(0, 3000))", (f) => num(f.Metric.RTT ?? 0) > 3000],
    ["Has('ICMP.Type', Regex('ECHO|NEIGH.*'))", (f) => f.ICMP?.Type === 'ECHO' || f.ICMP?.Type === 'NEIGHBOR'],
    ["Has('Link.A', Regex('02:00:00:00:00:0[12]'))", (f) => f.Link?.A === '02:00:00:00:00:01' || f.Link?.A === '02:00:00:00:00:02'],
    ["Has('IPV4', Ipv4Range('192.168.1.0/24'))", (f) => [f.Network?.A, f.Network?.B].some((ip) => ip?.startsWith('192.168.1.') === true)],
    ["Has('Transport.B', Within(443, '443', 22))", (f) => f.Transport?.B === 443 || f.Transport?.B === 22],
    ["Has('Network.A', Within('8.8.8.8', 8))", (f) => f.Network?.A === '8.8.8.8'],
    ["Has('Transport.B', Without('443'))", () => true],
    ["Has('Transport.B', Ne('443'))", (f) => f.Transport !== undefined],
    ["Has('Network.A', Nee(10))", () => true],
  ];
  for (const [q, keep] of cases) {
    const want = n(keep);
    t.ok(want > 0, `${q}: the fixture has matching flows`);
    t.equal(count(q), want, q);
  }
  t.end();
});

t.test('Ipv4Range on addresses', (t) => {
  const inRange = (ip: string | undefined, prefix: string): boolean => ip !== undefined && ip.startsWith(prefix);
  t.same(ids("G.Flows().Has('Network.A', Ipv4Range('10.0.0.0/24'))"), expect((f) => inRange(f.Network?.A, '10.0.0.')));
  t.same(ids("G.Flows().Has('Network.B', Ipv4Range('192.168.0.0/16'))"), expect((f) => inRange(f.Network?.B, '192.168.')));
  t.same(ids("G.Flows().Has('Network', Ipv4Range('172.16.0.0/12'))"),
    expect((f) => inRange(f.Network?.A, '172.16.') || inRange(f.Network?.B, '172.16.')));
  t.same(ids("G.Flows().Has('Network.A', Ipv4Range('0.0.0.0/0'))"), expect((f) => f.Network?.Protocol === 'IPV4'), 'IPv6 never matches');
  t.end();
});
