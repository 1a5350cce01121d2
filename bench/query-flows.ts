/**
 * Deterministic flows for the store and query bench (bench/query.ts): what a busy analyzer
 * holds, spread the way traffic is.
 *
 * - 50,000 client addresses (10.0.0.0/8, 10% IPv6) talking to 2,000 servers, the popular ones
 *   far more (a power law), so a client has about 20 flows and a big server tens of thousands;
 * - server ports: 443 for a third, then 53, 80, 8080, 22, 123, and a long tail of 2,000
 *   service ports; client ports ephemeral; TCP 70%, UDP 25%, ICMP 5%;
 * - 8 captures on 16 nodes; 15% of the flows are one connection seen at a second capture point
 *   (same TrackingID); 5% are inner flows of a tunnel (ParentUUID);
 * - each flow as an agent sends it at its first update tick: Metric, LastUpdateMetric, and
 *   TCPMetric on TCP flows, IPMetric on IP flows (Skydive's defaults).
 */
import type { Flow, FlowMetric, TCPMetric } from '../src/flow/types.js';

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const BENCH_T0 = 1_763_700_000_000;
const SPAN_MS = 3_600_000;
const CLIENTS = 50_000;
const SERVERS = 2_000;
const TAIL_PORTS = 2_000;

function hex(r: () => number): string {
  // Skydive's hex IDs have no zero padding.
  return (Math.floor(r() * 2 ** 32) * 2 ** 20 + Math.floor(r() * 2 ** 20)).toString(16);
}

function clientAddress(i: number, v6: boolean): string {
  return v6 ? `2001:db8:${(i >> 8).toString(16)}::${(i & 255).toString(16)}` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

function serverAddress(i: number, v6: boolean): string {
  return v6 ? `2001:db8:ffff::${i.toString(16)}` : `172.${16 + ((i >> 16) & 15)}.${(i >> 8) & 255}.${i & 255}`;
}

function mac(i: number): string {
  const b = (n: number): string => (n & 255).toString(16).padStart(2, '0');
  return `02:00:${b(i >> 24)}:${b(i >> 16)}:${b(i >> 8)}:${b(i)}`;
}

function metric(ab: number, ba: number, start: number, last: number): FlowMetric {
  return { ABPackets: ab, ABBytes: ab * 700, BAPackets: ba, BABytes: ba * 300, Start: start, Last: last, RTT: 0 };
}

function tcpMetric(start: number): TCPMetric {
  return {
    ABSynStart: start, BASynStart: start + 1, ABSynTTL: 64, BASynTTL: 64, ABFinStart: 0, BAFinStart: 0,
    ABRstStart: 0, BARstStart: 0, ABSegmentOutOfOrder: 0, ABSegmentSkipped: 0, ABSegmentSkippedBytes: 0,
    ABPackets: 0, ABBytes: 0, ABSawStart: 0, ABSawEnd: 0, BASegmentOutOfOrder: 0, BASegmentSkipped: 0,
    BASegmentSkippedBytes: 0, BAPackets: 0, BABytes: 0, BASawStart: 0, BASawEnd: 0,
  };
}

/** A server port: a third 443, then the usual services, then a long tail. */
function serverPort(r: () => number, udp: boolean): number {
  const x = r();
  if (udp) return x < 0.6 ? 53 : x < 0.7 ? 123 : x < 0.8 ? 443 : 10_000 + Math.floor(r() * TAIL_PORTS);
  return x < 0.45 ? 443 : x < 0.58 ? 80 : x < 0.62 ? 8080 : x < 0.65 ? 22 : 10_000 + Math.floor(r() * TAIL_PORTS);
}

/** Generates flows one by one; the same seed gives the same sequence. */
export class FlowGenerator {
  private readonly r: () => number;
  private last: Flow | undefined;
  private n = 0;

  constructor(seed: number) {
    this.r = prng(seed);
  }

  next(): Flow {
    const r = this.r;
    const i = this.n++;
    const prev = this.last;
    // The same connection seen at a second capture point: same TrackingID, another UUID.
    if (prev !== undefined && r() < 0.15 && prev.ParentUUID === '') {
      const capture = (Number(prev.CaptureID.slice(4)) + 1) % 8;
      const f: Flow = { ...prev, UUID: hex(r), CaptureID: `cap-${capture}`, NodeTID: `node-${capture * 2 + (i & 1)}` };
      this.last = undefined;
      return f;
    }
    const v6 = r() < 0.1;
    const kind = r();
    const client = Math.floor(r() * CLIENTS);
    const server = Math.floor(SERVERS * r() ** 3);
    const start = BENCH_T0 + Math.floor(r() * SPAN_MS);
    const last = start + Math.floor(r() * 120_000);
    const ab = 1 + Math.floor(r() ** 4 * 10_000);
    const ba = Math.floor(ab * r());
    const capture = Math.floor(r() * 8);
    const ip = v6 ? 'IPv6' : 'IPv4';
    const f: Flow = {
      UUID: hex(r), LayersPath: '', Application: '',
      Link: { Protocol: 'ETHERNET', A: mac(client), B: mac(100_000 + server), ID: 0 },
      Network: { Protocol: v6 ? 'IPV6' : 'IPV4', A: clientAddress(client, v6), B: serverAddress(server, v6), ID: 0 },
      LastUpdateMetric: metric(ab, ba, start, last),
      Metric: metric(ab, ba, start, last),
      IPMetric: { Fragments: 0, FragmentErrors: 0 },
      Start: start, Last: last, TrackingID: hex(r), L3TrackingID: hex(r),
      ParentUUID: r() < 0.05 ? hex(r) : '', NodeTID: `node-${capture * 2 + (i & 1)}`, CaptureID: `cap-${capture}`,
      RawPacketsCaptured: 0, FinishType: 0,
    };
    if (kind < 0.7) {
      f.LayersPath = `Ethernet/${ip}/TCP`;
      f.Application = 'TCP';
      f.Transport = { Protocol: 'TCP', A: 32768 + Math.floor(r() * 28_000), B: serverPort(r, false), ID: 0 };
      f.TCPMetric = tcpMetric(start);
    } else if (kind < 0.95) {
      f.Transport = { Protocol: 'UDP', A: 32768 + Math.floor(r() * 28_000), B: serverPort(r, true), ID: 0 };
      f.Application = f.Transport.B === 53 ? 'DNS' : 'UDP';
      f.LayersPath = `Ethernet/${ip}/UDP${f.Application === 'DNS' ? '/DNS' : ''}`;
    } else {
      f.Application = v6 ? 'ICMPv6' : 'ICMPv4';
      f.LayersPath = `Ethernet/${ip}/${f.Application}`;
      f.ICMP = { Type: 'ECHO', Code: 0, ID: Math.floor(r() * 65536) };
    }
    this.last = f;
    return f;
  }
}

/** The state of `f` at its next update tick, 60 s later: LastUpdateMetric = what arrived since. */
export function nextUpdate(f: Flow, r: () => number): Flow {
  const last = Number(f.Last) + 60_000;
  const ab = 1 + Math.floor(r() * 100);
  const ba = Math.floor(r() * 100);
  const m = f.Metric;
  return {
    ...f, Last: last,
    LastUpdateMetric: metric(ab, ba, Number(f.Last), last),
    Metric: { ...m, ABPackets: Number(m.ABPackets) + ab, ABBytes: Number(m.ABBytes) + ab * 700,
      BAPackets: Number(m.BAPackets) + ba, BABytes: Number(m.BABytes) + ba * 300, Last: last },
  };
}
