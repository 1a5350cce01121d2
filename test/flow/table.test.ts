/**
 * Flow table behaviour on hand-built packets: direction, counters, RTT, TCP
 * flag times, key symmetry, key modes, tunnels and ParentUUID, VLAN link IDs,
 * LRU eviction and the update / expire / hold / application timers.
 */
import t from 'tap';
import { TestTable } from '../helpers/engine.js';
import { dot1q, ethernet, icmpEcho, ipv4, tcp, TCP_FLAGS as F, udp, vxlan } from '../helpers/packets.js';

const A = '02:00:00:00:00:0a', B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:09';
const IPA = '10.0.0.1', IPB = '10.0.0.2';

const tcpFrame = (src: string, dst: string, ipSrc: string, ipDst: string, sp: number, dp: number, flags: number, payload: number[] = [], ttl = 64) =>
  ethernet(src, dst, 0x0800, ipv4(ipSrc, ipDst, 6, tcp(sp, dp, flags, payload), { ttl }));

t.test('a TCP conversation is one flow, A is the first sender', (t) => {
  const tt = new TestTable();
  tt.feed([
    { data: tcpFrame(A, B, IPA, IPB, 40000, 80, F.SYN, [], 61), tsMs: 1000 },
    { data: tcpFrame(B, A, IPB, IPA, 80, 40000, F.SYN | F.ACK, [], 62), tsMs: 1002 },
    { data: tcpFrame(A, B, IPA, IPB, 40000, 80, F.ACK, [1, 2, 3]), tsMs: 1003 },
    { data: tcpFrame(B, A, IPB, IPA, 80, 40000, F.FIN | F.ACK), tsMs: 1010 },
  ]);
  const [e] = tt.stop();
  const f = e.flow;
  t.equal(e.event, 'end');
  t.equal(f.LayersPath, 'Ethernet/IPv4/TCP');
  t.equal(f.Application, 'TCP');
  t.same(f.Link, { Protocol: 'ETHERNET', A, B, ID: 0 });
  t.same(f.Network, { Protocol: 'IPV4', A: IPA, B: IPB, ID: 0 });
  t.same(f.Transport, { Protocol: 'TCP', A: 40000, B: 80, ID: 0 });
  t.same([f.Metric.ABPackets, f.Metric.ABBytes, f.Metric.BAPackets, f.Metric.BABytes], [2, 54 + 57, 2, 108]);
  t.equal(f.Metric.RTT, 2_000_000, 'RTT = SYN/ACK - SYN in ns');
  t.equal(f.Start, 1000);
  t.equal(f.Last, 1010);
  t.equal(f.TCPMetric?.ABSynStart, 1000);
  t.equal(f.TCPMetric?.ABSynTTL, 61);
  t.equal(f.TCPMetric?.BASynStart, 1002);
  t.equal(f.TCPMetric?.BASynTTL, 62);
  t.equal(f.TCPMetric?.BAFinStart, 1010);
  t.equal(f.FinishType, 1, 'a FIN after the first packet does not finish the flow: TIMEOUT at stop');
  t.equal(f.ParentUUID, '');
  t.match(f.UUID, /^[0-9a-f]{1,16}$/);
  t.end();
});

t.test('FinishType comes from the first packet only', (t) => {
  const tt = new TestTable();
  tt.feed([{ data: tcpFrame(A, B, IPA, IPB, 1, 2, F.RST), tsMs: 5 }, { data: tcpFrame(A, B, IPA, IPB, 3, 4, F.FIN | F.ACK), tsMs: 6 }]);
  const flows = tt.stop().map((e) => e.flow);
  t.same(flows.map((f) => f.FinishType).sort(), [2, 3]);
  t.end();
});

t.test('keys are symmetric and depend on the key mode', (t) => {
  const frames = [
    { data: ethernet(A, B, 0x0800, ipv4(IPA, IPB, 1, icmpEcho(8, 7, 1))), tsMs: 1 },
    { data: ethernet(B, A, 0x0800, ipv4(IPB, IPA, 1, icmpEcho(0, 7, 1))), tsMs: 2 },
    { data: ethernet(C, B, 0x0800, ipv4(IPA, IPB, 1, icmpEcho(8, 7, 2))), tsMs: 3 },
  ];
  const l2 = new TestTable();
  l2.feed(frames);
  const f2 = l2.stop().map((e) => e.flow);
  t.equal(f2.length, 2, 'L2: another source MAC is another flow');
  const pingPong = f2.find((f) => f.Link?.A === A)!;
  t.same([pingPong.Metric.ABPackets, pingPong.Metric.BAPackets], [1, 1], 'request and reply in one flow');
  t.same(pingPong.ICMP, { Type: 'ECHO', Code: 0, ID: 7 });
  t.equal(pingPong.Metric.RTT, 1_000_000);
  t.not(f2[0].TrackingID, f2[1].TrackingID);
  t.equal(f2[0].L3TrackingID, f2[1].L3TrackingID, 'same L3 tracking ID across MACs ordered alike');

  const l3 = new TestTable({ layerKeyMode: 'L3' });
  l3.feed(frames);
  const f3 = l3.stop().map((e) => e.flow);
  t.equal(f3.length, 1, 'L3: one flow');
  t.equal(f3[0].TrackingID, f3[0].L3TrackingID);
  t.same([f3[0].Metric.ABPackets, f3[0].Metric.BAPackets], [2, 1]);
  t.end();
});

t.test('VLAN tags make the link ID but are not in the key', (t) => {
  const icmp = (vlans: number[], ts: number) => {
    let inner = ipv4(IPA, IPB, 1, icmpEcho(8, 9, ts));
    let type = 0x0800;
    for (let i = vlans.length - 1; i >= 0; i--) { inner = dot1q(vlans[i], type, inner); type = 0x8100; }
    return { data: ethernet(A, B, type, inner), tsMs: ts };
  };
  const tt = new TestTable();
  tt.feed([icmp([8, 10], 1), icmp([20], 2)]);
  const flows = tt.stop().map((e) => e.flow);
  t.equal(flows.length, 1, 'the same conversation on other VLANs merges (Skydive keys ignore VLANs)');
  t.equal(flows[0].LayersPath, 'Ethernet/Dot1Q/Dot1Q/IPv4/ICMPv4', 'LayersPath from the first packet');
  t.equal(flows[0].Link?.ID, 8 + (10 << 12), 'Link.ID from the first packet, outermost tag in the low bits');
  t.equal(flows[0].Metric.ABPackets, 2);
  t.end();
});

t.test('VXLAN: an outer and an inner flow linked by ParentUUID', (t) => {
  const inner = ethernet(C, B, 0x0800, ipv4('192.168.0.1', '192.168.0.2', 1, icmpEcho(8, 1, 1, new Array(56).fill(0))));
  const frame = ethernet(A, B, 0x0800, ipv4(IPA, IPB, 17, udp(50000, 4789, vxlan(42, inner))));
  const tt = new TestTable();
  tt.feed([{ data: frame, tsMs: 10 }]);
  const flows = tt.stop().map((e) => e.flow);
  t.equal(flows.length, 2);
  const outer = flows.find((f) => f.LayersPath === 'Ethernet/IPv4/UDP/VXLAN')!;
  const innerFlow = flows.find((f) => f.LayersPath === 'Ethernet/IPv4/ICMPv4')!;
  t.equal(innerFlow.ParentUUID, outer.UUID);
  t.equal(outer.Network?.ID, 42, 'outer Network.ID is the VNI');
  t.equal(innerFlow.Network?.ID, 0);
  t.equal(outer.Metric.ABBytes, frame.length);
  t.equal(innerFlow.Metric.ABBytes, frame.length - 50, 'inner length = wire length - outer headers');
  t.end();
});

t.test('a full table evicts the least recently used flow and counts it', (t) => {
  const tt = new TestTable({ maxEntries: 2 });
  const udpFrame = (sp: number, ts: number) => ({ data: ethernet(A, B, 0x0800, ipv4(IPA, IPB, 17, udp(sp, 9999, [1]))), tsMs: ts });
  tt.feed([udpFrame(1, 1), udpFrame(2, 2), udpFrame(1, 3), udpFrame(3, 4)]);
  const ev = tt.emitted.filter((e) => e.event === 'evicted');
  t.equal(ev.length, 1);
  t.equal(ev[0].flow.Transport?.A, 2, 'port 1 was used again, so port 2 was the oldest');
  t.equal(tt.engine.counters().flow_dropped, 1n);
  t.equal(tt.engine.tableSize(), 2);
  t.end();
});

t.test('timers: update deltas, expiry after one to two periods, hold and application timeouts', (t) => {
  const tt = new TestTable({ applicationPorts: { udp: { 5555: 'myapp' } }, applicationTimeouts: { MYAPP: 5 } });
  const u = (sp: number, dp: number, ts: number) => ({ data: ethernet(A, B, 0x0800, ipv4(IPA, IPB, 17, udp(sp, dp, [1, 2]))), tsMs: ts });
  tt.feed([u(1000, 2000, 1000), u(1000, 2000, 1500), u(7, 5555, 1600), { data: tcpFrame(A, B, IPA, IPB, 9, 10, F.FIN), tsMs: 1700 }]);
  tt.engine.updateTick(2000);
  let got = tt.collect();
  t.equal(got.length, 3, 'three flows updated since the start');
  const plain = got.find((e) => e.flow.Transport?.B === 2000)!.flow;
  t.same(plain.LastUpdateMetric, { ABPackets: 2, ABBytes: 88, BAPackets: 0, BABytes: 0, Start: 1000, Last: 2000, RTT: 0 });
  t.equal(got.find((e) => e.flow.Transport?.B === 5555)!.flow.Application, 'MYAPP');

  tt.feed([u(1000, 2000, 2500)]);
  tt.engine.updateTick(8000);
  got = tt.collect();
  const app = got.find((e) => e.event === 'app-timeout');
  t.equal(app?.flow.Application, 'MYAPP', 'idle MYAPP flow times out after 5 s');
  t.equal(app?.flow.FinishType, 1);
  t.same(got.find((e) => e.event === 'update')?.flow.LastUpdateMetric?.ABPackets, 1, 'delta since the previous tick');
  tt.engine.updateTick(20000);
  got = tt.collect();
  t.ok(got.some((e) => e.event === 'hold-removed' && e.flow.FinishType === 2), 'a finished flow goes 15 s after its last packet');

  tt.engine.expireTick(30000);
  t.equal(tt.collect().length, 0, 'the first expire tick expires nothing');
  tt.engine.expireTick(40000);
  got = tt.collect();
  t.equal(got.length, 1);
  t.equal(got[0].event, 'expire');
  t.equal(got[0].flow.FinishType, 1);
  t.equal(tt.engine.tableSize(), 0);
  t.end();
});

t.test('same addresses on both sides: Skydive inverts the port test', (t) => {
  const Z = '00:00:00:00:00:00', LO = '127.0.0.1';
  const tt = new TestTable();
  tt.feed([
    { data: tcpFrame(Z, Z, LO, LO, 40000, 5001, F.SYN), tsMs: 1 },
    { data: tcpFrame(Z, Z, LO, LO, 5001, 40000, F.SYN | F.ACK), tsMs: 2 },
    { data: tcpFrame(Z, Z, LO, LO, 40000, 5001, F.ACK), tsMs: 3 },
  ]);
  const [e] = tt.stop();
  t.equal(e.flow.Transport?.A, 40000);
  t.same([e.flow.Metric.ABPackets, e.flow.Metric.BAPackets], [1, 2], 'AB when the source port is below Transport.A: the client counts as BA');
  t.end();
});
