/**
 * Test packet builders: headers byte by byte, lengths filled in, checksums
 * left at zero (nothing here verifies them).
 */
export type Bytes = number[];

const be16 = (v: number): Bytes => [(v >> 8) & 255, v & 255];
const be32 = (v: number): Bytes => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
export const mac = (s: string): Bytes => s.split(':').map((x) => parseInt(x, 16));
export const ip4 = (s: string): Bytes => s.split('.').map(Number);

export function ethernet(src: string, dst: string, type: number, payload: Bytes): Bytes {
  return [...mac(dst), ...mac(src), ...be16(type), ...payload];
}

export function dot1q(vlan: number, type: number, payload: Bytes): Bytes {
  return [...be16(vlan & 0xfff), ...be16(type), ...payload];
}

export function ipv4(src: string, dst: string, proto: number, payload: Bytes, opts: { ttl?: number; id?: number; flags?: number; frag?: number } = {}): Bytes {
  const total = 20 + payload.length;
  return [0x45, 0, ...be16(total), ...be16(opts.id ?? 1), ...be16(((opts.flags ?? 0) << 13) | (opts.frag ?? 0)),
    opts.ttl ?? 64, proto, 0, 0, ...ip4(src), ...ip4(dst), ...payload];
}

export const TCP_FLAGS = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;

export function tcp(sport: number, dport: number, flags: number, payload: Bytes = [], seq = 1000, ack = 0): Bytes {
  return [...be16(sport), ...be16(dport), ...be32(seq), ...be32(ack), 0x50, flags, ...be16(65535), 0, 0, 0, 0, ...payload];
}

export function udp(sport: number, dport: number, payload: Bytes): Bytes {
  return [...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0, ...payload];
}

export function icmpEcho(type: 8 | 0, id: number, seq: number, payload: Bytes = []): Bytes {
  return [type, 0, 0, 0, ...be16(id), ...be16(seq), ...payload];
}

export function vxlan(vni: number, inner: Bytes): Bytes {
  return [0x08, 0, 0, 0, ...be32(vni << 8), ...inner];
}

/** GRE header (RFC 2784/2890) for `protocol`; with `seq`, the S bit and a sequence number. */
export function gre(protocol: number, payload: Bytes, seq?: number): Bytes {
  return seq === undefined ? [0, 0, ...be16(protocol), ...payload] : [0x10, 0, ...be16(protocol), ...be32(seq), ...payload];
}

/** ERSPAN type II header (version 1, 8 bytes) before the mirrored `frame`: what GRE 0x88BE carries. */
export function erspan2(session: number, frame: Bytes, vlan = 0): Bytes {
  return [0x10 | ((vlan >> 8) & 0xf), vlan & 255, (session >> 8) & 3, session & 255, 0, 0, 0, 0, ...frame];
}

/** One MPLS label stack entry; `bottom` sets the S bit. */
export function mpls(label: number, bottom: boolean, payload: Bytes, ttl = 64): Bytes {
  return [...be32(((label & 0xfffff) << 12) | (bottom ? 0x100 : 0) | (ttl & 255)), ...payload];
}
