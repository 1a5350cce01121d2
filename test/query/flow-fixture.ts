/**
 * A few hundred varied flows for the store and query tests, built from a seeded generator:
 * IPv4 and IPv6, TCP, UDP and ICMP, GRE tunnels with their inner flows (ParentUUID), flows seen
 * at two capture points (same TrackingID, other UUID and CaptureID), several captures and nodes.
 */
import type { Flow, FlowMetric, TCPMetric } from '../../src/flow/types.js';

import { prng as rng } from '../../bench/query-flows.js';

/** Deterministic PRNG: the query bench's (mulberry32). */
export { rng };

export const BASE_MS = 1_763_700_000_000;

export function metric(ab: number, ba: number, start: number, last: number, rtt = 0): FlowMetric {
  return { ABPackets: ab, ABBytes: ab * 100, BAPackets: ba, BABytes: ba * 60, Start: start, Last: last, RTT: rtt };
}

function tcpMetric(start: number): TCPMetric {
  return {
    ABSynStart: start, BASynStart: start + 1, ABSynTTL: 64, BASynTTL: 0, ABFinStart: 0, BAFinStart: 0,
    ABRstStart: 0, BARstStart: 0, ABSegmentOutOfOrder: 0, ABSegmentSkipped: 0, ABSegmentSkippedBytes: 0,
    ABPackets: 0, ABBytes: 0, ABSawStart: 0, ABSawEnd: 0, BASegmentOutOfOrder: 0, BASegmentSkipped: 0,
    BASegmentSkippedBytes: 0, BAPackets: 0, BABytes: 0, BASawStart: 0, BASawEnd: 0,
  };
}

/** A flow with every required field; tests override what they need. */
export function baseFlow(uuid: string, over: Partial<Flow> = {}): Flow {
  return {
    UUID: uuid, LayersPath: 'Ethernet/IPv4/TCP', Application: 'TCP',
    Metric: metric(1, 1, BASE_MS, BASE_MS + 1000), Start: BASE_MS, Last: BASE_MS + 1000,
    TrackingID: 't-' + uuid, L3TrackingID: 'l3-' + uuid, ParentUUID: '', NodeTID: 'node-a', CaptureID: 'cap-1',
    RawPacketsCaptured: 0, FinishType: 0, ...over,
  };
}

const V4_HOSTS = ['10.0.0.1', '10.0.0.2', '10.0.1.7', '192.168.1.10', '192.168.1.11', '172.16.5.4', '8.8.8.8', '10.0.0.254'];
const V6_HOSTS = ['fe80::1', 'fe80::2', '2001:db8::10', '2001:db8::11'];
const MACS = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03', '02:00:00:00:00:04'];
const SERVER_PORTS = [80, 443, 53, 22, 8080, 443, 443];
const CAPTURES = ['cap-1', 'cap-2', 'cap-3', 'cap-4'];
const NODES = ['node-a', 'node-b', ''];

/** `count` flows (a little more: tunnels add inner flows); the same seed gives the same flows. */
export function makeFlows(count = 600, seed = 7): Flow[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const flows: Flow[] = [];
  let n = 0;
  while (flows.length < count) {
    const id = (n++).toString(16);
    const kind = r();
    const start = BASE_MS + Math.floor(r() * 3_600_000);
    // Many equal Last values, to exercise sort stability.
    const last = start + Math.floor(r() * 20) * 1000;
    const ab = 1 + Math.floor(r() * 50);
    const ba = Math.floor(r() * 50);
    const common: Partial<Flow> = {
      Link: { Protocol: 'ETHERNET', A: pick(MACS), B: pick(MACS), ID: 0 },
      Metric: metric(ab, ba, start, last, r() < 0.3 ? 1000 + Math.floor(r() * 5000) : 0),
      LastUpdateMetric: r() < 0.9 ? metric(Math.ceil(ab / 2), Math.ceil(ba / 2), last - 1000, last) : undefined,
      Start: start, Last: last, CaptureID: pick(CAPTURES), NodeTID: pick(NODES),
      TrackingID: 'trk' + id, L3TrackingID: 'l3' + id, RawPacketsCaptured: r() < 0.1 ? 2 : 0,
      FinishType: r() < 0.2 ? 1 : r() < 0.1 ? 2 : 0,
    };
    let f: Flow;
    if (kind < 0.35) {
      f = baseFlow('f' + id, {
        ...common, LayersPath: 'Ethernet/IPv4/TCP', Application: 'TCP',
        Network: { Protocol: 'IPV4', A: pick(V4_HOSTS), B: pick(V4_HOSTS), ID: 0 },
        Transport: { Protocol: 'TCP', A: 32768 + Math.floor(r() * 40), B: pick(SERVER_PORTS), ID: 0 },
        TCPMetric: tcpMetric(start),
      });
    } else if (kind < 0.55) {
      f = baseFlow('f' + id, {
        ...common, LayersPath: 'Ethernet/IPv4/UDP/DNS', Application: 'DNS',
        Network: { Protocol: 'IPV4', A: pick(V4_HOSTS), B: pick(V4_HOSTS), ID: 0 },
        Transport: { Protocol: 'UDP', A: 40000 + Math.floor(r() * 40), B: r() < 0.7 ? 53 : 443, ID: 0 },
        IPMetric: r() < 0.3 ? { Fragments: Math.floor(r() * 3), FragmentErrors: 0 } : undefined,
      });
    } else if (kind < 0.68) {
      f = baseFlow('f' + id, {
        ...common, LayersPath: 'Ethernet/IPv6/TCP', Application: 'TCP',
        Network: { Protocol: 'IPV6', A: pick(V6_HOSTS), B: pick(V6_HOSTS), ID: 0 },
        Transport: { Protocol: 'TCP', A: 50000 + Math.floor(r() * 40), B: pick(SERVER_PORTS), ID: 0 },
      });
    } else if (kind < 0.78) {
      f = baseFlow('f' + id, {
        ...common, LayersPath: 'Ethernet/IPv4/ICMPv4', Application: 'ICMPv4',
        Network: { Protocol: 'IPV4', A: pick(V4_HOSTS), B: pick(V4_HOSTS), ID: 0 },
        ICMP: { Type: r() < 0.8 ? 'ECHO' : 'DESTINATION_UNREACHABLE', Code: 0, ID: Math.floor(r() * 100) },
      });
    } else if (kind < 0.84) {
      f = baseFlow('f' + id, {
        ...common, LayersPath: 'Ethernet/IPv6/ICMPv6', Application: 'ICMPv6',
        Network: { Protocol: 'IPV6', A: pick(V6_HOSTS), B: pick(V6_HOSTS), ID: 0 },
        ICMP: { Type: 'NEIGHBOR', Code: 0, ID: 0 },
      });
    } else if (kind < 0.92) {
      // A GRE tunnel: the outer flow and its inner flow, which points at it.
      const outer = baseFlow('g' + id, {
        ...common, LayersPath: 'Ethernet/IPv4/GRE', Application: 'GRE',
        Network: { Protocol: 'IPV4', A: '172.16.0.1', B: '172.16.0.2', ID: 0 },
      });
      flows.push(outer);
      f = baseFlow('i' + id, {
        ...common, LayersPath: 'Ethernet/IPv4/TCP', Application: 'TCP', ParentUUID: outer.UUID,
        TrackingID: 'trk-in' + id, L3TrackingID: 'l3-in' + id,
        Network: { Protocol: 'IPV4', A: pick(V4_HOSTS), B: pick(V4_HOSTS), ID: 0 },
        Transport: { Protocol: 'TCP', A: 33000 + Math.floor(r() * 10), B: pick(SERVER_PORTS), ID: 0 },
      });
    } else {
      // The same connection seen at a second capture point: same TrackingID, another UUID.
      const first = baseFlow('p' + id, {
        ...common, LayersPath: 'Ethernet/IPv4/UDP', Application: 'UDP',
        Network: { Protocol: 'IPV4', A: pick(V4_HOSTS), B: pick(V4_HOSTS), ID: 0 },
        Transport: { Protocol: 'UDP', A: 45000 + Math.floor(r() * 10), B: 8080, ID: 0 },
      });
      flows.push(first);
      f = { ...first, UUID: 'q' + id, CaptureID: first.CaptureID === 'cap-1' ? 'cap-2' : 'cap-1', NodeTID: 'node-b' };
    }
    flows.push(f);
  }
  // One deep QinQ flow whose Link.ID is beyond 2^53 (a bigint in the model).
  flows.push(baseFlow('big-link', {
    Link: { Protocol: 'ETHERNET', A: MACS[0], B: MACS[1], ID: 2n ** 60n + 3n },
    Network: { Protocol: 'IPV4', A: '10.9.9.9', B: '10.9.9.8', ID: 0 },
    Transport: { Protocol: 'TCP', A: 1234, B: 4321, ID: 0 },
    LayersPath: 'Ethernet/Dot1Q/Dot1Q/IPv4/TCP', Start: BASE_MS + 5, Last: BASE_MS + 10,
    Metric: metric(3, 3, BASE_MS + 5, BASE_MS + 10),
  }));
  return flows;
}
