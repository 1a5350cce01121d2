/**
 * Counter samples become Skydive's `SFlow` metadata (spec §7): last value per ifIndex with the
 * 0/all-ones rule, sums in Metric, Ethernet and VLAN replaced, OVS datapath and application
 * resources added, LastUpdateMetric as the delta between datagrams; and, beyond Skydive, the
 * per-agent and per-data-source figures with estimated totals (sampled count x rate).
 */
import t from 'tap';
import { SFlowCollector } from '../../src/capture/sflow.js';
import { ethernet, ipv4, udp } from '../helpers/packets.js';
import {
  appResources, counterSample, datagram, ethernetCounters, flowSample, genericCounters, ovsDp, rawHeader, vlanCounters,
} from '../helpers/sflow.js';

function collector() {
  const clock = { now: 1000 };
  const packets: number[] = [];
  const c = new SFlowCollector({ onPackets: (_d, n) => { packets.push(n); }, now: () => clock.now, debug: true });
  return { c, clock, packets };
}

const U32 = 0xffffffff;
const eth13 = (fcs: number, symbol: number) => [0, fcs, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, symbol];

t.test('generic counters per ifIndex, Ethernet and VLAN counters, LastUpdateMetric', async (t) => {
  const { c, clock } = collector();
  t.strictSame(c.sflow(), {}, 'nothing before the first counters');
  c.receive(datagram([
    counterSample([genericCounters({ ifIndex: 1, ifInOctets: 1000, ifInUcastPkts: 10, ifOutOctets: 2000, ifOutErrors: 1 })]),
    counterSample([genericCounters({ ifIndex: 2, ifInOctets: 500, ifInDiscards: 3 }), ethernetCounters(eth13(3, 0))], { sourceIdIndex: 2 }),
    counterSample([vlanCounters(10, 7000, 70, 0, 1, 0)], { sourceIdType: 1, sourceIdIndex: 10 }),
  ]));
  t.strictSame(c.sflow(), {
    IfMetrics: {
      1: { IfInOctets: 1000, IfInUcastPkts: 10, IfOutOctets: 2000, IfOutErrors: 1 },
      2: { IfInOctets: 500, IfInDiscards: 3 },
    },
    Metric: {
      IfInOctets: 1500, IfInUcastPkts: 10, IfInDiscards: 3, IfOutOctets: 2000, IfOutErrors: 1,
      VlanOctets: 7000, VlanUcastPkts: 70, VlanBroadcastPkts: 1, EthFCSErrors: 3, Last: 1000,
    },
    LastUpdateMetric: {
      IfInOctets: 1500, IfInUcastPkts: 10, IfInDiscards: 3, IfOutOctets: 2000, IfOutErrors: 1,
      VlanOctets: 7000, VlanUcastPkts: 70, VlanBroadcastPkts: 1, EthFCSErrors: 3, Last: 1000,
    },
  }, 'first datagram: Metric has no Start (Skydive never sets it), the delta starts at 0');

  clock.now = 2000;
  c.receive(datagram([
    // 0 and all-ones mean "unknown": the previous values stay.
    counterSample([genericCounters({ ifIndex: 1, ifInOctets: 0, ifInUcastPkts: U32, ifOutOctets: 0xffffffffffffffffn, ifOutErrors: 2 })]),
    counterSample([ethernetCounters(eth13(0, 9))], { sourceIdIndex: 2 }),
  ], { sequence: 2 }));
  const md = c.sflow();
  t.strictSame(md.IfMetrics!['1'], { IfInOctets: 1000, IfInUcastPkts: 10, IfOutOctets: 2000, IfOutErrors: 2 });
  t.strictSame(md.LastUpdateMetric, { IfOutErrors: 1, EthSymbolErrors: 9, Start: 1000, Last: 2000 }, 'delta from the previous Last to now');
  t.match(md.Metric, { EthFCSErrors: 3, EthSymbolErrors: 9, IfOutErrors: 2, Last: 2000 });

  clock.now = 3000;
  c.receive(datagram([flowSample([rawHeader(ethernet('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800, ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2, []))))])], { sequence: 3 }));
  const after = c.sflow();
  t.equal(after.Metric!.Last, 3000, 'a datagram without counters still moves Metric.Last');
  t.strictSame(after.LastUpdateMetric, md.LastUpdateMetric, 'and leaves LastUpdateMetric as it was (no change)');
  c.flush();
});

t.test('OVS datapath and app resources: added (Skydive\'s oddity), maxima replaced', async (t) => {
  const { c, clock } = collector();
  const sample = (hit: number, fdOpen: number, fdMax: number) => datagram([counterSample([
    ovsDp([hit, 1, 0, 0, 5, 2]),
    appResources({ memUsed: 100, memMax: 1000, fdOpen, fdMax, connOpen: 1, connMax: 10 }),
  ])]);
  c.receive(sample(5, 3, 64));
  clock.now = 2000;
  c.receive(sample(7, 4, 128));
  t.match(c.sflow().Metric, {
    OvsDpNHit: 12, OvsDpNMissed: 2, OvsDpNFlows: 10, OvsDpNMasks: 4,
    OvsAppFdOpen: 7, OvsAppFdMax: 128, OvsAppConnOpen: 2, OvsAppConnMax: 10, OvsAppMemUsed: 200, OvsAppMemMax: 1000,
  });
  t.equal(c.sflow().Metric!.OvsDpNLost, undefined, '0 is left out (omitempty)');
  clock.now = 3000;
  c.receive(datagram([counterSample([ovsDp([0, 0, 0, 0, 0, 0])])]));
  t.equal(c.sflow().Metric!.OvsDpNHit, 24, 'a 0 is "unknown": the previous value is added again, as Skydive does');
});

t.test('all-zero counters store nothing; 64-bit values beyond 2^53 stay exact', async (t) => {
  const { c } = collector();
  c.receive(datagram([counterSample([genericCounters({ ifIndex: 9 })])]));
  t.strictSame(c.sflow(), {}, 'an all-zero result is not stored (nor its interfaces)');
  c.receive(datagram([counterSample([genericCounters({ ifIndex: 3, ifInOctets: 2n ** 60n + 1n, ifOutOctets: 2n ** 63n + 5n })])]));
  const md = c.sflow();
  t.strictSame(Object.keys(md.IfMetrics!), ['3'], 'ifIndex 9 never appears');
  t.equal(md.IfMetrics!['3'].IfInOctets, 2n ** 60n + 1n);
  t.equal(md.IfMetrics!['3'].IfOutOctets, -(2n ** 63n) + 5n, 'Go int64 wraps above 2^63');
});

t.test('agents and data sources: sampling rate, pool, drops, missed samples, estimated totals', async (t) => {
  const { c, packets } = collector();
  const frame = ethernet('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800, ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2, [])));
  const fs = (seq: number, rate: number, pool: number, n: number, frameLength: number, index = 4) =>
    flowSample(Array.from({ length: n }, () => rawHeader(frame, { frameLength, stripped: 4 })),
      { sequence: seq, samplingRate: rate, samplePool: pool, drops: seq, sourceIdIndex: index });
  c.receive(datagram([fs(1, 100, 100, 1, 1004), fs(2, 100, 200, 2, 504)], { sequence: 1, agent: '192.0.2.7', subAgentId: 1 }));
  c.receive(datagram([fs(5, 200, 900, 1, 104)], { sequence: 2, agent: '192.0.2.7', subAgentId: 1, uptime: 5000 }));
  c.receive(datagram([fs(1, 10, 10, 1, 64, 1)], { sequence: 7, agent: '2001:db8::7' }));
  c.receive(datagram([fs(2, 10, 20, 1, 64, 1)], { sequence: 9, agent: '2001:db8::7' }));
  c.flush();
  t.strictSame(packets, [6], 'the packets of the datagrams read together are handed over together');
  t.strictSame(c.agents(), [
    { Agent: '192.0.2.7', SubAgentID: 1, Datagrams: 2, MissedDatagrams: 0, LastSequence: 2, Uptime: 5000 },
    { Agent: '2001:db8::7', SubAgentID: 0, Datagrams: 2, MissedDatagrams: 1, LastSequence: 9, Uptime: 1000 },
  ]);
  t.strictSame(c.dataSources(), [
    {
      Agent: '192.0.2.7', SubAgentID: 1, SourceIDType: 0, SourceIDIndex: 4, SamplingRate: 200, SamplePool: 900, Drops: 5,
      Samples: 3, MissedSamples: 2, SampledPackets: 4, SampledBytes: 1000 + 500 + 500 + 100,
      EstimatedPackets: 100 + 200 + 200, EstimatedBytes: 1000 * 100 + 1000 * 100 + 100 * 200,
    },
    {
      Agent: '2001:db8::7', SubAgentID: 0, SourceIDType: 0, SourceIDIndex: 1, SamplingRate: 10, SamplePool: 20, Drops: 2,
      Samples: 2, MissedSamples: 0, SampledPackets: 2, SampledBytes: 120, EstimatedPackets: 20, EstimatedBytes: 1200,
    },
  ]);
  t.match(c.stats, { DatagramsReceived: 4, FlowSamples: 5, PacketsReceived: 6 });
});

t.test('missed sequence numbers: a late datagram or sample is seen after all; a counter far behind is a restart', async (t) => {
  const { c } = collector();
  const frame = ethernet('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800, ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2, [])));
  const fs = (seq: number) => flowSample([rawHeader(frame, { frameLength: 64 })], { sequence: seq, samplingRate: 10, samplePool: 10 * seq, drops: 0, sourceIdIndex: 3 });
  const send = (seq: number) => c.receive(datagram([fs(seq)], { sequence: seq, agent: '192.0.2.9' }));
  for (const seq of [1, 3, 2, 4]) send(seq);
  c.flush();
  t.match(c.agents(), [{ MissedDatagrams: 0, LastSequence: 4 }], '1, 3, 2, 4: none missed, the last stays 4');
  t.match(c.dataSources(), [{ MissedSamples: 0 }]);
  for (const seq of [8, 6, 6]) send(seq);
  c.flush();
  t.match(c.agents(), [{ MissedDatagrams: 2, LastSequence: 8 }], '5 and 7 never came (6 twice counts once)');
  const wrap = (seq: number) => c.receive(datagram([], { sequence: seq, agent: '192.0.2.10' }));
  for (const seq of [U32 - 1, 1]) wrap(seq);
  c.flush();
  t.match(c.agents()[1], { MissedDatagrams: 2, LastSequence: 1 }, 'the counter wraps: 2^32 - 1 and 0 not seen yet');
  for (const seq of [U32, 0]) wrap(seq);
  c.flush();
  t.match(c.agents()[1], { MissedDatagrams: 0, LastSequence: 1 }, 'late, across the wrap: seen');
  send(100_000);
  send(3);
  c.flush();
  t.match(c.agents(), [{ LastSequence: 3 }], 'far behind: the agent restarted');
});
