/**
 * Deterministic synthetic traffic, written as a classic pcap (Ethernet, µs timestamps).
 *
 *   node dist/bench/generate.js --packets N --seed S --out FILE [--verify]
 *
 * Conversations start as a Poisson process and each one schedules its own packets, so many
 * flows are in progress at once and the packets of all of them come out interleaved, in time
 * order, from one heap. Memory depends on how many conversations are open at a time (a rate
 * times a duration, both fixed), never on N: packets go to disk through one reusable chunk.
 *
 * The mix: TCP connections (SYN, SYN/ACK, ACK, request/response data with advancing sequence
 * numbers, FIN handshake or RST), DNS queries and answers on port 53, other UDP on high ports,
 * ICMP echo request/reply, over IPv4 and IPv6; some conversations 802.1Q or QinQ tagged; about
 * 13% tunnelled: VXLAN, GRE (IP inside), GRE with Ethernet inside, GENEVE, MPLS over GRE, MPLS
 * over UDP port 6635, and VXLAN inside GRE. Conversation sizes are heavy-tailed (Pareto).
 * Lengths are exact; IPv4 header checksums are computed, TCP/UDP/ICMP checksums are 0.
 *
 * FILE.json (beside the capture) records the parameters, the SHA-256 of the packet records
 * and the mix actually produced. --verify reads the file back with the project's CaptureReader
 * and regenerates it without writing, and checks the packet counts and digests agree.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CaptureReader } from '../src/capture/pcapfile.js';

/** Bumped whenever the output for a given (packets, seed) changes; invalidates cached files. */
export const GENERATOR_VERSION = 1;

/** Aggregate conversation arrival rate (per second) and the capture's start time. */
const CONVERSATIONS_PER_SECOND = 600;
const START_US = 1_700_000_000_000_000;
/**
 * Traffic is simulated from this long before the capture starts (the longest conversations
 * last about a minute), so the capture opens on a steady state, in the middle of connections,
 * and a short capture has the same mix as a long one.
 */
const WARMUP_US = 60_000_000;
const MAX_FRAME = 1514;
const MIN_FRAME = 60;
const PCAP_RECORD_HEADER = 16;
const CHUNK = 8 << 20;

// ---------------------------------------------------------------------------------------------
// Random numbers: sfc32, integer-only and reproducible.

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = seed >>> 0;
    this.c = (seed / 0x100000000) >>> 0;
    this.d = 1;
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) + t | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number { return this.u32() / 4294967296; }
  /** Uniform integer in [0, n). */
  int(n: number): number { return Math.floor(this.float() * n); }
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  chance(p: number): boolean { return this.float() < p; }
  exp(mean: number): number { return -mean * Math.log(1 - this.float()); }
  /** Pareto with scale `xm` and shape `alpha`, cut at `max`. */
  pareto(xm: number, alpha: number, max: number): number { return Math.min(max, xm * Math.pow(1 - this.float(), -1 / alpha)); }
  /** Pareto shifted to start at 1 (Lomax + 1): mostly small values, mean 1 + scale / (alpha - 1), cut at `max`. */
  lomax(scale: number, alpha: number, max: number): number { return Math.min(max, 1 + scale * (Math.pow(1 - this.float(), -1 / alpha) - 1)); }
  /** Log-uniform in [lo, hi]. */
  logUniform(lo: number, hi: number): number { return lo * Math.pow(hi / lo, this.float()); }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]; }
  /** Index drawn with the given weights. */
  weighted(weights: readonly number[]): number {
    let x = this.float() * weights.reduce((s, w) => s + w, 0);
    for (let i = 0; i < weights.length; i++) if ((x -= weights[i]) < 0) return i;
    return weights.length - 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Headers. A conversation owns a stack of header descriptions, outermost first, written in
// either direction: the `a` side is the client (or the tunnel ingress), `b` the server.

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_TEB = 0x6558;
const ETH_MPLS = 0x8847;
const IP_ICMP = 1;
const IP_TCP = 6;
const IP_UDP = 17;
const IP_GRE = 47;
const IP_ICMPV6 = 58;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;

/** MAC as 16 high bits + 32 low bits. */
interface Mac { hi: number; lo: number }
type Ip6 = readonly [number, number, number, number];

type Hdr =
  | { k: 'eth'; a: Mac; b: Mac; tags: readonly number[]; type: number }
  | { k: 'ip4'; a: number; b: number; proto: number }
  | { k: 'ip6'; a: Ip6; b: Ip6; proto: number }
  /** UDP of a tunnel: the same ports in both directions. */
  | { k: 'udpTunnel'; sport: number; dport: number }
  | { k: 'gre'; proto: number }
  | { k: 'vxlan'; vni: number }
  | { k: 'geneve'; vni: number }
  | { k: 'mpls'; label: number };

function hdrSize(h: Hdr): number {
  switch (h.k) {
    case 'eth': return 14 + 4 * h.tags.length;
    case 'ip4': return 20;
    case 'ip6': return 40;
    case 'udpTunnel': return 8;
    case 'gre': return 4;
    case 'vxlan': case 'geneve': return 8;
    case 'mpls': return 4;
  }
}

/** Transport header of the innermost packet. */
const enum L4 { TCP, UDP, ICMP4, ICMP6 }
const L4_SIZE = [20, 8, 8, 8];

/** What a conversation decides for one packet. */
interface Pkt {
  fromA: boolean;
  /** Ports (TCP/UDP) of the a side and b side. */
  portA: number;
  portB: number;
  flags: number;
  seq: number;
  ack: number;
  icmpType: number;
  icmpId: number;
  icmpSeq: number;
  /** Application bytes; `body` when set, otherwise filler. */
  payload: number;
  body: Uint8Array | undefined;
}

/** Filler bytes for payloads (copied from a random offset). */
const FILLER = (() => {
  const r = new Rng(0xf111e7);
  const b = Buffer.alloc(4096);
  for (let i = 0; i < b.length; i++) b[i] = r.u32() & 0xff;
  return b;
})();

/** Appends packets to the current chunk of the capture. */
class PacketWriter {
  readonly buf = Buffer.alloc(CHUNK);
  private readonly dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  used = 0;
  private lastUs = 0;
  private ipId = 0;

  /** Room left for one more packet? */
  full(): boolean { return this.used + PCAP_RECORD_HEADER + MAX_FRAME > CHUNK; }

  write(timeUs: number, stack: readonly Hdr[], l4: L4, p: Pkt, fillerAt: number): void {
    const ts = Math.max(this.lastUs, Math.round(timeUs));
    this.lastUs = ts;
    let len = L4_SIZE[l4] + p.payload;
    for (const h of stack) len += hdrSize(h);
    if (len > MAX_FRAME) throw new Error(`internal: frame of ${len} bytes`);
    const frame = Math.max(MIN_FRAME, len);
    const dv = this.dv;
    const rec = this.used;
    dv.setUint32(rec, Math.floor(ts / 1e6), true);
    dv.setUint32(rec + 4, ts % 1e6, true);
    dv.setUint32(rec + 8, frame, true);
    dv.setUint32(rec + 12, frame, true);
    let o = rec + PCAP_RECORD_HEADER;
    const end = o + len;
    for (const h of stack) o = this.header(o, end - o, h, p.fromA);
    o = this.transport(o, end - o, l4, p);
    if (p.body) this.buf.set(p.body, o);
    else FILLER.copy(this.buf, o, fillerAt, fillerAt + p.payload);
    this.buf.fill(0, end, rec + PCAP_RECORD_HEADER + frame);
    this.used = rec + PCAP_RECORD_HEADER + frame;
  }

  /** Writes `h` at `o`, where `rest` bytes remain to the end of the IP datagram; returns the next offset. */
  private header(o: number, rest: number, h: Hdr, fromA: boolean): number {
    const dv = this.dv;
    switch (h.k) {
      case 'eth': {
        const [src, dst] = fromA ? [h.a, h.b] : [h.b, h.a];
        dv.setUint16(o, dst.hi); dv.setUint32(o + 2, dst.lo);
        dv.setUint16(o + 6, src.hi); dv.setUint32(o + 8, src.lo);
        o += 12;
        for (const tag of h.tags) { dv.setUint32(o, tag); o += 4; }
        dv.setUint16(o, h.type);
        return o + 2;
      }
      case 'ip4': {
        dv.setUint32(o, 0x45000000 | rest);
        dv.setUint32(o + 4, ((this.ipId++ & 0xffff) << 16) | 0x4000);
        dv.setUint32(o + 8, (64 << 24) | (h.proto << 16));
        dv.setUint32(o + 12, fromA ? h.a : h.b);
        dv.setUint32(o + 16, fromA ? h.b : h.a);
        let sum = 0;
        for (let i = 0; i < 20; i += 2) sum += dv.getUint16(o + i);
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        dv.setUint16(o + 10, ~sum & 0xffff);
        return o + 20;
      }
      case 'ip6': {
        dv.setUint32(o, 0x60000000);
        dv.setUint32(o + 4, ((rest - 40) << 16) | (h.proto << 8) | 64);
        const [src, dst] = fromA ? [h.a, h.b] : [h.b, h.a];
        for (let i = 0; i < 4; i++) { dv.setUint32(o + 8 + 4 * i, src[i]); dv.setUint32(o + 24 + 4 * i, dst[i]); }
        return o + 40;
      }
      case 'udpTunnel':
        dv.setUint16(o, h.sport); dv.setUint16(o + 2, h.dport);
        dv.setUint16(o + 4, rest); dv.setUint16(o + 6, 0);
        return o + 8;
      case 'gre':
        dv.setUint16(o, 0); dv.setUint16(o + 2, h.proto);
        return o + 4;
      case 'vxlan':
        dv.setUint32(o, 0x08000000); dv.setUint32(o + 4, h.vni << 8);
        return o + 8;
      case 'geneve':
        dv.setUint16(o, 0); dv.setUint16(o + 2, ETH_TEB); dv.setUint32(o + 4, h.vni << 8);
        return o + 8;
      case 'mpls':
        dv.setUint32(o, (h.label << 12) | (1 << 8) | 64);
        return o + 4;
    }
  }

  private transport(o: number, rest: number, l4: L4, p: Pkt): number {
    const dv = this.dv;
    const [sport, dport] = p.fromA ? [p.portA, p.portB] : [p.portB, p.portA];
    switch (l4) {
      case L4.TCP:
        dv.setUint16(o, sport); dv.setUint16(o + 2, dport);
        dv.setUint32(o + 4, p.seq >>> 0); dv.setUint32(o + 8, p.ack >>> 0);
        dv.setUint16(o + 12, (5 << 12) | p.flags); dv.setUint16(o + 14, 64240);
        dv.setUint32(o + 16, 0);
        return o + 20;
      case L4.UDP:
        dv.setUint16(o, sport); dv.setUint16(o + 2, dport);
        dv.setUint16(o + 4, rest); dv.setUint16(o + 6, 0);
        return o + 8;
      default:
        dv.setUint16(o, p.icmpType << 8); dv.setUint16(o + 2, 0);
        dv.setUint16(o + 4, p.icmpId); dv.setUint16(o + 6, p.icmpSeq);
        return o + 8;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Addresses: clients, servers, DNS resolvers and tunnel endpoints each in their own range.

const mac = (role: number, index: number): Mac => ({ hi: 0x0200 | role, lo: index >>> 0 });
const ip4 = (prefix: number, index: number): number => (prefix | index) >>> 0;
const ip6 = (net: number, index: number): Ip6 => [0xfd000000 | net, 0, 0, index >>> 0];

interface Endpoint { mac: Mac; v4: number; v6: Ip6 }
const CLIENTS = 40000;
const SERVERS = 3000;
function client(r: Rng): Endpoint {
  const i = r.int(CLIENTS) + 1;
  return { mac: mac(0x01, i), v4: ip4(0x0a000000, i), v6: ip6(0x10000, i) };
}
/** Popular servers get most conversations. */
function server(r: Rng): Endpoint {
  const i = Math.floor(SERVERS * Math.pow(r.float(), 3)) + 1;
  return { mac: mac(0x02, i), v4: ip4(0xac100000, i), v6: ip6(0x20000, i) };
}
function resolver(r: Rng): Endpoint {
  const i = r.int(4) + 1;
  return { mac: mac(0x03, i), v4: ip4(0xc0a83500, i), v6: ip6(0x530000, i) };
}
function tunnelEndpoint(r: Rng): { mac: Mac; v4: number } {
  const i = r.int(64) + 1;
  return { mac: mac(0x04, i), v4: ip4(0x64400000, i) };
}
const ephemeralPort = (r: Rng): number => r.range(32768, 60999);
const TCP_SERVICES = [443, 443, 443, 80, 80, 22, 8080, 3306, 5432, 6379, 9200, 25, 993];
const UDP_SERVICES = [443, 443, 3478, 51820, 27015];

// ---------------------------------------------------------------------------------------------
// Encapsulation: the link and tunnel headers in front of the inner IP packet.

export const TUNNELS = ['vxlan', 'gre', 'gre-eth', 'geneve', 'mpls-gre', 'mpls-udp', 'gre-vxlan'] as const;
type Tunnel = (typeof TUNNELS)[number];
const TUNNEL_WEIGHTS = [30, 14, 10, 14, 10, 10, 12];
/** Share of conversations in a tunnel, and of the others tagged with one or two VLANs. */
const TUNNEL_SHARE = 0.13;
const VLAN_SHARE = 0.1;
const QINQ_SHARE = 0.04;
export const MPLS_UDP_PORT = 6635;

/** The headers before the inner IP header, for a conversation between `a` and `b`. */
function encapsulation(r: Rng, tunnel: Tunnel | undefined, a: Endpoint, b: Endpoint, innerType: number): Hdr[] {
  const inner: Hdr = { k: 'eth', a: a.mac, b: b.mac, tags: [], type: innerType };
  if (tunnel === undefined) {
    const x = r.float();
    const tags = x < VLAN_SHARE ? [(ETH_VLAN << 16) | r.range(1, 4094)]
      : x < VLAN_SHARE + QINQ_SHARE ? [(ETH_QINQ << 16) | r.range(1, 4094), (ETH_VLAN << 16) | r.range(1, 4094)]
        : [];
    return [{ ...inner, tags }];
  }
  const outer = (type: number): Hdr[] => {
    const [ta, tb] = [tunnelEndpoint(r), tunnelEndpoint(r)];
    return [{ k: 'eth', a: ta.mac, b: tb.mac, tags: [], type: ETH_IPV4 }, { k: 'ip4', a: ta.v4, b: tb.v4, proto: type }];
  };
  const entropyPort = r.range(49152, 65535);
  const vni = r.range(1, 4000);
  const vxlan = (): Hdr[] => [...outer(IP_UDP), { k: 'udpTunnel', sport: entropyPort, dport: 4789 }, { k: 'vxlan', vni }, inner];
  switch (tunnel) {
    case 'vxlan': return vxlan();
    case 'gre': return [...outer(IP_GRE), { k: 'gre', proto: innerType }];
    case 'gre-eth': return [...outer(IP_GRE), { k: 'gre', proto: ETH_TEB }, inner];
    case 'geneve': return [...outer(IP_UDP), { k: 'udpTunnel', sport: entropyPort, dport: 6081 }, { k: 'geneve', vni }, inner];
    case 'mpls-gre': return [...outer(IP_GRE), { k: 'gre', proto: ETH_MPLS }, { k: 'mpls', label: r.range(16, 0xfffff) }];
    case 'mpls-udp': return [...outer(IP_UDP), { k: 'udpTunnel', sport: entropyPort, dport: MPLS_UDP_PORT }, { k: 'mpls', label: r.range(16, 0xfffff) }];
    case 'gre-vxlan': {
      // VXLAN between two VTEPs, carried in a GRE tunnel between two routers.
      const [outerEth, outerIp] = outer(IP_GRE);
      return [outerEth, outerIp, { k: 'gre', proto: ETH_IPV4 }, ...vxlan().slice(1)];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Conversations.

export const KINDS = ['tcp4', 'tcp6', 'udp4', 'udp6', 'dns4', 'dns6', 'icmp4', 'icmp6'] as const;
type Kind = (typeof KINDS)[number];
const KIND_WEIGHTS = [46, 10, 11, 3, 15, 4, 8, 3];
/** Pareto parameters of the data segments of a TCP connection and of the datagrams of a UDP conversation. */
const TCP_SIZE = { scale: 20, alpha: 1.25, max: 100000 };
const UDP_SIZE = { scale: 2, alpha: 1.2, max: 100000 };

abstract class Conversation {
  /** Time of the next packet, µs. */
  t: number;
  readonly stack: Hdr[];
  readonly l4: L4;
  /** Largest application payload that keeps the frame within 1514 bytes. */
  readonly mss: number;
  readonly p: Pkt;
  /** Packets written so far. */
  sent = 0;

  constructor(
    readonly id: number,
    readonly kind: Kind,
    readonly tunnel: Tunnel | undefined,
    start: number,
    r: Rng,
    a: Endpoint,
    b: Endpoint,
  ) {
    this.t = start;
    const v6 = kind.endsWith('6');
    const l4 = kind.startsWith('tcp') ? L4.TCP : kind.startsWith('icmp') ? (v6 ? L4.ICMP6 : L4.ICMP4) : L4.UDP;
    const proto = [IP_TCP, IP_UDP, IP_ICMP, IP_ICMPV6][l4];
    this.stack = encapsulation(r, tunnel, a, b, v6 ? ETH_IPV6 : ETH_IPV4);
    this.stack.push(v6 ? { k: 'ip6', a: a.v6, b: b.v6, proto } : { k: 'ip4', a: a.v4, b: b.v4, proto });
    this.l4 = l4;
    this.mss = MAX_FRAME - this.stack.reduce((s, h) => s + hdrSize(h), 0) - L4_SIZE[l4];
    this.p = { fromA: true, portA: 0, portB: 0, flags: 0, seq: 0, ack: 0, icmpType: 0, icmpId: 0, icmpSeq: 0, payload: 0, body: undefined };
  }

  /** Fills `this.p` for the next packet and advances `t` past it; false once the conversation is over. */
  abstract next(r: Rng): boolean;
}

/** A TCP connection: handshake, request/response data, then FIN handshake (or RST). */
class TcpConversation extends Conversation {
  private step = 0;
  private readonly dataPackets: number;
  private readonly rtt: number;
  /** Mean gap between data segments, µs. */
  private readonly gap: number;
  private readonly reset: boolean;
  private seqA: number;
  private seqB: number;
  /** Server segments not acknowledged yet: the client ACKs every second one. */
  private unacked = 0;

  constructor(id: number, kind: Kind, tunnel: Tunnel | undefined, start: number, r: Rng) {
    super(id, kind, tunnel, start, r, client(r), server(r));
    this.p.portA = ephemeralPort(r);
    this.p.portB = r.pick(TCP_SERVICES);
    this.dataPackets = Math.floor(r.lomax(TCP_SIZE.scale, TCP_SIZE.alpha, TCP_SIZE.max));
    this.rtt = r.logUniform(300, 150000);
    // Idle keep-alive connections and bulk transfers alike last seconds to a minute.
    this.gap = Math.max(15, r.logUniform(50e3, 60e6) / this.dataPackets);
    this.reset = r.chance(0.1);
    this.seqA = r.u32();
    this.seqB = r.u32();
  }

  next(r: Rng): boolean {
    const data = this.dataPackets;
    const i = this.step++;
    const handshake = this.rtt / 2;
    if (i === 0) this.send(true, TCP_SYN, 0, handshake);
    else if (i === 1) this.send(false, TCP_SYN | TCP_ACK, 0, handshake);
    else if (i === 2) this.send(true, TCP_ACK, 0, handshake);
    else if (i < 3 + data) this.dataSegment(r, i === 3);
    else if (this.reset) { this.send(r.chance(0.5), TCP_RST | TCP_ACK, 0, 0); return false; }
    else if (i === 3 + data) this.send(true, TCP_FIN | TCP_ACK, 0, handshake);
    else if (i === 4 + data) this.send(false, TCP_FIN | TCP_ACK, 0, handshake);
    else { this.send(true, TCP_ACK, 0, 0); return false; }
    return true;
  }

  /** The client asks (and ACKs every other segment), the server answers with mostly full segments. */
  private dataSegment(r: Rng, first: boolean): void {
    const gap = r.exp(this.gap);
    if (first || this.unacked >= 2 || r.chance(0.02)) {
      const request = first || r.chance(0.2);
      this.unacked = 0;
      this.send(true, request ? TCP_PSH | TCP_ACK : TCP_ACK, request ? r.range(60, Math.min(700, this.mss)) : 0, gap);
    } else {
      this.unacked++;
      this.send(false, TCP_PSH | TCP_ACK, r.chance(0.7) ? this.mss : r.range(1, this.mss), gap);
    }
  }

  /** Sets up a segment from the a (client) or b side and moves the clock `gap` µs on. */
  private send(fromA: boolean, flags: number, payload: number, gap: number): void {
    const p = this.p;
    p.fromA = fromA;
    p.flags = flags;
    p.payload = payload;
    p.seq = fromA ? this.seqA : this.seqB;
    p.ack = flags & TCP_ACK ? (fromA ? this.seqB : this.seqA) : 0;
    const advance = payload + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0);
    if (fromA) this.seqA = (this.seqA + advance) >>> 0;
    else this.seqB = (this.seqB + advance) >>> 0;
    this.t += gap;
  }
}

/** UDP between two high ports (media, games, QUIC-like): both directions, small to full datagrams. */
class UdpConversation extends Conversation {
  private left: number;
  private readonly gap: number;
  private readonly size: number;

  constructor(id: number, kind: Kind, tunnel: Tunnel | undefined, start: number, r: Rng) {
    super(id, kind, tunnel, start, r, client(r), server(r));
    this.p.portA = ephemeralPort(r);
    // QUIC, STUN, WireGuard, game and RTP ports: none is decoded as an application (unlike 53, 4789, 6343...).
    this.p.portB = r.chance(0.5) ? r.pick(UDP_SERVICES) : r.range(10000, 20000);
    this.left = Math.floor(r.lomax(UDP_SIZE.scale, UDP_SIZE.alpha, UDP_SIZE.max));
    this.gap = Math.max(50, r.logUniform(20e3, 60e6) / this.left);
    this.size = r.chance(0.5) ? r.range(20, 200) : 0;
  }

  next(r: Rng): boolean {
    const p = this.p;
    p.fromA = this.sent === 0 || r.chance(0.55);
    p.payload = Math.min(this.mss, this.size || r.range(20, 1400));
    this.t += r.exp(this.gap);
    return --this.left > 0;
  }
}

/** DNS: an A query and its answer, sometimes followed by an AAAA query and answer. */
class DnsConversation extends Conversation {
  private readonly messages: Uint8Array[];
  private step = 0;
  private readonly rtt: number;

  constructor(id: number, kind: Kind, tunnel: Tunnel | undefined, start: number, r: Rng) {
    super(id, kind, tunnel, start, r, client(r), resolver(r));
    this.p.portA = ephemeralPort(r);
    this.p.portB = 53;
    this.rtt = r.logUniform(200, 40000);
    const name = `${r.pick(['www', 'api', 'cdn', 'mail', 'img'])}${r.int(5000)}.${r.pick(['example.com', 'example.net', 'example.org', 'test.local'])}`;
    const id1 = r.int(65536);
    this.messages = [dnsMessage(id1, name, 1, undefined), dnsMessage(id1, name, 1, r)];
    if (r.chance(0.4)) this.messages.push(dnsMessage(id1 ^ 1, name, 28, undefined), dnsMessage(id1 ^ 1, name, 28, r));
  }

  next(): boolean {
    const p = this.p;
    const i = this.step++;
    p.fromA = i % 2 === 0;
    p.body = this.messages[i];
    p.payload = p.body.length;
    this.t += p.fromA ? this.rtt : 150;
    return this.step < this.messages.length;
  }
}

/**
 * A DNS message with one question for `name` (type A = 1 or AAAA = 28); with `answer` (the
 * random source for the address) it is the response carrying one record, otherwise the query.
 */
function dnsMessage(id: number, name: string, type: number, answer: Rng | undefined): Uint8Array {
  const labels = name.split('.');
  const qname = labels.reduce((n, l) => n + 1 + l.length, 1);
  const rdata = type === 1 ? 4 : 16;
  const out = Buffer.alloc(12 + qname + 4 + (answer ? 12 + rdata : 0));
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(answer ? 0x8180 : 0x0100, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(answer ? 1 : 0, 6);
  let o = 12;
  for (const l of labels) { out[o++] = l.length; o += out.write(l, o, 'latin1'); }
  out[o++] = 0;
  out.writeUInt16BE(type, o); out.writeUInt16BE(1, o + 2); o += 4;
  if (answer) {
    out.writeUInt16BE(0xc00c, o); out.writeUInt16BE(type, o + 2); out.writeUInt16BE(1, o + 4);
    out.writeUInt32BE(300, o + 6); out.writeUInt16BE(rdata, o + 10); o += 12;
    for (let i = 0; i < rdata; i++) out[o++] = answer.u32() & 0xff;
  }
  return out;
}

/** Ping: echo requests at a fixed interval, each answered after one round trip. */
class IcmpConversation extends Conversation {
  private step = 0;
  private readonly count: number;
  private readonly rtt: number;
  private readonly interval: number;
  private readonly request: number;
  private readonly reply: number;

  constructor(id: number, kind: Kind, tunnel: Tunnel | undefined, start: number, r: Rng) {
    super(id, kind, tunnel, start, r, client(r), server(r));
    const v6 = kind === 'icmp6';
    this.count = Math.min(20, Math.floor(r.pareto(1, 1.5, 20)));
    this.rtt = r.logUniform(200, 80000);
    this.interval = r.pick([200000, 1000000]);
    this.p.icmpId = r.int(65536);
    this.p.payload = 56;
    this.reply = v6 ? 129 : 0;
    this.request = v6 ? 128 : 8;
  }

  next(): boolean {
    const p = this.p;
    const i = this.step++;
    p.fromA = i % 2 === 0;
    p.icmpType = p.fromA ? this.request : this.reply;
    p.icmpSeq = (i >> 1) + 1;
    this.t += p.fromA ? this.rtt : this.interval - this.rtt;
    return this.step < 2 * this.count;
  }
}

function newConversation(id: number, start: number, r: Rng): Conversation {
  const kind = KINDS[r.weighted(KIND_WEIGHTS)];
  const tunnel = r.chance(TUNNEL_SHARE) ? TUNNELS[r.weighted(TUNNEL_WEIGHTS)] : undefined;
  switch (kind) {
    case 'tcp4': case 'tcp6': return new TcpConversation(id, kind, tunnel, start, r);
    case 'udp4': case 'udp6': return new UdpConversation(id, kind, tunnel, start, r);
    case 'dns4': case 'dns6': return new DnsConversation(id, kind, tunnel, start, r);
    case 'icmp4': case 'icmp6': return new IcmpConversation(id, kind, tunnel, start, r);
  }
}

// ---------------------------------------------------------------------------------------------
// Scheduling: a binary heap of open conversations, ordered by next packet time (then id).

class Heap {
  private readonly items: Conversation[] = [];
  get size(): number { return this.items.length; }
  peek(): Conversation | undefined { return this.items[0]; }

  push(c: Conversation): void {
    const a = this.items;
    let i = a.push(c) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }

  /** Removes the top, or restores the order after its time changed. */
  fixTop(remove: boolean): void {
    const a = this.items;
    if (remove) {
      const last = a.pop()!;
      if (a.length === 0) return;
      a[0] = last;
    }
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const rr = l + 1;
      let m = i;
      if (l < a.length && before(a[l], a[m])) m = l;
      if (rr < a.length && before(a[rr], a[m])) m = rr;
      if (m === i) return;
      [a[i], a[m]] = [a[m], a[i]];
      i = m;
    }
  }
}
const before = (x: Conversation, y: Conversation): boolean => x.t < y.t || (x.t === y.t && x.id < y.id);

// ---------------------------------------------------------------------------------------------
// The generator.

export interface Summary {
  generator: number;
  packets: number;
  seed: number;
  bytes: number;
  /** SHA-256 of the packet records (the file minus its 24-byte header). */
  sha256: string;
  durationSeconds: number;
  /** Conversations with at least one packet in the capture, and the most open at once. */
  conversations: number;
  maxOpenConversations: number;
  /** Packets per conversation kind, and per tunnel ("none" for plain). */
  packetsByKind: Record<string, number>;
  packetsByTunnel: Record<string, number>;
  tunnelledShare: number;
  largestConversation: number;
}

function pcapHeader(): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(65535, 16);
  h.writeUInt32LE(1, 20);
  return h;
}

/** Generates `packets` packets; `sink` receives the file's bytes in order (header first). */
export function generate(packets: number, seed: number, sink: (bytes: Buffer) => void): Summary {
  const r = new Rng(seed);
  const w = new PacketWriter();
  const digest: Hash = createHash('sha256');
  const heap = new Heap();
  const byKind: Record<string, number> = Object.fromEntries(KINDS.map((k) => [k, 0]));
  const byTunnel: Record<string, number> = Object.fromEntries(['none', ...TUNNELS].map((k) => [k, 0]));
  let largest = 0;
  let bytes = 24;
  let started = 0;
  let conversations = 0;
  let maxOpen = 0;
  let nextStart = START_US - WARMUP_US;
  let lastT = START_US;
  const flush = (): void => {
    const chunk = w.buf.subarray(0, w.used);
    digest.update(chunk);
    sink(chunk);
    bytes += w.used;
    w.used = 0;
  };
  sink(pcapHeader());
  for (let n = 0; n < packets; ) {
    while (heap.size === 0 || nextStart <= heap.peek()!.t) {
      heap.push(newConversation(started++, nextStart, r));
      nextStart += r.exp(1e6 / CONVERSATIONS_PER_SECOND);
    }
    const c = heap.peek()!;
    const t = c.t;
    const more = c.next(r);
    if (t >= START_US) {
      w.write(t, c.stack, c.l4, c.p, r.int(FILLER.length - MAX_FRAME));
      n++;
      lastT = t;
      maxOpen = Math.max(maxOpen, heap.size);
      byKind[c.kind]++;
      byTunnel[c.tunnel ?? 'none']++;
      if (c.sent++ === 0) conversations++;
      largest = Math.max(largest, c.sent);
      if (w.full()) flush();
    }
    c.p.body = undefined;
    heap.fixTop(!more);
  }
  flush();
  return {
    generator: GENERATOR_VERSION,
    packets,
    seed,
    bytes,
    sha256: digest.digest('hex'),
    durationSeconds: Math.round((lastT - START_US) / 1e3) / 1e3,
    conversations,
    maxOpenConversations: maxOpen,
    packetsByKind: byKind,
    packetsByTunnel: byTunnel,
    tunnelledShare: Math.round((1 - byTunnel.none / Math.max(1, packets)) * 1e4) / 1e4,
    largestConversation: largest,
  };
}

/** Writes the capture to `out` (through a temporary name) and its summary to `out`.json. */
export function generateFile(packets: number, seed: number, out: string): Summary {
  const tmp = `${out}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let summary: Summary;
  try {
    summary = generate(packets, seed, (b) => { for (let o = 0; o < b.length; ) o += writeSync(fd, b, o); });
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, out);
  writeFileSync(`${out}.json`, JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

/** Reads `file` with CaptureReader and returns its packet count and the SHA-256 of its records, rebuilt as pcap records. */
export async function readBack(file: string): Promise<{ packets: number; sha256: string }> {
  const reader = await CaptureReader.open(file);
  const digest = createHash('sha256');
  const batch = new Uint8Array(4 << 20);
  const dv = new DataView(batch.buffer);
  const out = Buffer.alloc(batch.length + 8192 * PCAP_RECORD_HEADER);
  let packets = 0;
  try {
    for (;;) {
      const r = await reader.readBatch(batch, 8192);
      if (r.packets === 0) break;
      let o = 0;
      let at = 0;
      for (let i = 0; i < r.packets; i++) {
        const ns = dv.getBigUint64(at, true);
        const caplen = dv.getUint32(at + 8, true);
        out.writeUInt32LE(Number(ns / 1_000_000_000n), o);
        out.writeUInt32LE(Number((ns % 1_000_000_000n) / 1000n), o + 4);
        out.writeUInt32LE(caplen, o + 8);
        out.writeUInt32LE(dv.getUint32(at + 12, true), o + 12);
        out.set(batch.subarray(at + 24, at + 24 + caplen), o + 16);
        o += 16 + caplen;
        at += (24 + caplen + 7) & ~7;
      }
      digest.update(out.subarray(0, o));
      packets += r.packets;
    }
  } finally {
    await reader.close();
  }
  return { packets, sha256: digest.digest('hex') };
}

/** Checks `file` against its summary and against a fresh regeneration; throws on any mismatch. */
export async function verify(file: string, summary: Summary): Promise<void> {
  const back = await readBack(file);
  const again = generate(summary.packets, summary.seed, () => {});
  const problems: string[] = [];
  if (back.packets !== summary.packets) problems.push(`CaptureReader read ${back.packets} packets, expected ${summary.packets}`);
  if (back.sha256 !== summary.sha256) problems.push(`records read back hash to ${back.sha256}, expected ${summary.sha256}`);
  if (again.sha256 !== summary.sha256) problems.push(`regeneration hashes to ${again.sha256}, not ${summary.sha256}: not deterministic`);
  if (problems.length) throw new Error(`${file}: ${problems.join('; ')}`);
}

function parseArgs(argv: string[]): { packets: number; seed: number; out: string; verify: boolean } {
  const opts = { packets: 2_000_000, seed: 1, out: '', verify: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--packets') opts.packets = num();
    else if (a === '--seed') opts.seed = num();
    else if (a === '--out') opts.out = argv[++i] ?? '';
    else if (a === '--verify') opts.verify = true;
    else throw new Error(`unknown argument ${a}\nusage: generate --packets N --seed S --out FILE [--verify]`);
  }
  if (!opts.out) throw new Error('--out FILE is required');
  if (opts.packets < 1) throw new Error('--packets must be at least 1');
  return opts;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const summary = generateFile(opts.packets, opts.seed, opts.out);
  process.stderr.write(`wrote ${opts.out}: ${summary.packets} packets, ${(summary.bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1e3).toFixed(1)} s\n`);
  if (opts.verify) {
    await verify(opts.out, summary);
    process.stderr.write('verified: CaptureReader reads the same packets, and regeneration gives the same digest\n');
  }
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`generate: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
