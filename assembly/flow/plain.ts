// Plain frames: Ethernet, up to two 802.1Q/802.1ad tags, IPv4 without
// options or IPv6 without extension headers, then TCP or UDP, all whole and
// valid. Most of a capture is such frames, and for them the full decode
// (decode.ts and the decoders) only establishes what this file reads
// straight from the bytes: readPlainFrame accepts a frame only when the
// decoders would decode it into exactly Ethernet [Dot1Q...] IPv4|IPv6 TCP|UDP
// [Payload], nothing truncated and no error, so that the fields below are
// the ones those layers would hold. Anything else is refused and goes the
// general way: the checks mirror ethernet.ts, dot1q.ts, ipv4.ts, ipv6.ts,
// tcp.ts and udp.ts, and must change with them.
//
// Such a frame's outermost flow key hashes its MACs, addresses and ports
// (keys.ts), and a flow created from a plain frame holds those same fields
// as its Link, Network and Transport A/B (flow.ts initFlow; FLB_PLAIN marks
// it). So a plain frame whose endpoints are a plain flow's, in either
// direction, has that flow's key: plainFlow finds the flow that way, through
// an index from a hash of the endpoints to the slot last seen with them,
// without hashing the key or walking the table.

import { L_DOT1Q, L_IPV4, L_IPV6, L_PAYLOAD, L_TCP, L_UDP } from '../ids';
import { rd16, rd32 } from '../mem';
import { heapAlloc } from '../alloc';
import { etherTypeDecoder, ipProtocolDecoder, udpNextDecoder } from '../registry';
import { flowAt, tableLiveSlot } from './table';
import {
  FL_BITS, FL_MAC_A, FL_MAC_B, FL_NET_A, FL_NET_B, FL_NET_PROTO, FL_PORT_A, FL_PORT_B, FL_TRANSPORT,
  FLB_PLAIN, TRANSPORT_TCP, TRANSPORT_UDP,
} from './layout';

const MAX_TAGS: u32 = 2;

/** The frame readPlainFrame last accepted: the destination MAC is at plainFrame, the source at +6. */
export let plainFrame: usize = 0;
export let plainIPv4: bool = false;
export let plainSrc: usize = 0;         // source address (4 or 16 bytes), the destination follows
export let plainTCP: bool = false;      // else UDP
export let plainSrcPort: u32 = 0;
export let plainDstPort: u32 = 0;
export let plainFlags: u32 = 0;         // TCP flags as tcp.ts keeps them
export let plainSeq: u32 = 0;
export let plainPayload: u32 = 0;       // TCP payload bytes (the TCP layer's payload)

/** Reads the frame at [data, data+caplen) of `linkType` if it is plain. */
export function readPlainFrame(data: usize, caplen: u32, linkType: u32): bool {
  if (linkType != 1 || caplen < 14) return false;
  // Ethernet II (802.3 lengths lead to LLC), then the tags: a layer with
  // nothing after it ends the decode, a type without decoder too (Dot1Q)
  // or fails it (Ethernet).
  let off: u32 = 14;
  let next = rd16(data + 12) < 0x0600 ? L_PAYLOAD : etherTypeDecoder(rd16(data + 12));
  for (let tags: u32 = 0; next == L_DOT1Q; tags++) {
    if (tags == MAX_TAGS || off + 4 > caplen) return false;
    next = etherTypeDecoder(rd16(data + off + 2));
    off += 4;
  }
  if (off >= caplen) return false;
  const ip = data + off;
  const dlen = caplen - off;
  let proto: u32;
  let l4: usize;
  let l4len: u32; // the transport layer's data: the IP payload, cut to the IP length
  if (next == L_IPV4) {
    if (dlen < 20) return false;
    const length = rd16(ip + 2);
    // IHL 5 exactly (options are parsed by the decoder), a length that is
    // set (0 means TSO) and whole, no fragment, something after the header.
    if (load<u8>(ip) != 0x45 || length <= 20 || length > dlen || (rd16(ip + 6) & 0x3fff) != 0) return false;
    proto = load<u8>(ip, 9);
    l4 = ip + 20;
    l4len = length - 20;
  } else if (next == L_IPV6) {
    if (dlen < 40) return false;
    const length = rd16(ip + 4);
    proto = load<u8>(ip, 6);
    // Hop-by-hop options (0) are decoded inside IPv6; a zero length is an error.
    if (proto == 0 || length == 0 || length > dlen - 40) return false;
    l4 = ip + 40;
    l4len = length;
  } else {
    return false;
  }
  const t = ipProtocolDecoder(proto);
  if (t == L_TCP) {
    if (l4len < 20) return false;
    const hlen = (<u32>load<u8>(l4, 12) >> 4) << 2;
    if (hlen < 20 || hlen > l4len) return false;
    // Options as tcp.ts walks them: every byte, even after an end-of-list.
    let o = l4 + 20;
    const oe = l4 + hlen;
    while (o < oe) {
      const k = load<u8>(o);
      if (k == 0 || k == 1) { o++; continue; }
      if (oe - o < 2) return false;
      const ol = <usize>load<u8>(o, 1);
      if (ol < 2 || ol > oe - o) return false;
      o += ol;
    }
    plainTCP = true;
    plainFlags = ((<u32>load<u8>(l4, 12) & 1) << 8) | <u32>load<u8>(l4, 13);
    plainSeq = rd32(l4 + 4);
    plainPayload = l4len - hlen;
  } else if (t == L_UDP) {
    if (l4len < 8) return false;
    const length = rd16(l4 + 4);
    // A length beyond the data is a truncation, below 8 an error (0 is a jumbogram).
    if ((length != 0 && length < 8) || length > l4len) return false;
    if (udpNextDecoder(rd16(l4), rd16(l4 + 2)) != L_PAYLOAD) return false;
    plainTCP = false;
  } else {
    return false;
  }
  plainFrame = data;
  plainIPv4 = next == L_IPV4;
  plainSrc = ip + (plainIPv4 ? 12 : 8);
  plainSrcPort = rd16(l4);
  plainDstPort = rd16(l4 + 2);
  return true;
}

// Slot last seen per hash of a plain frame's endpoints (0: none): 64 Ki
// slots, 256 KiB, small enough to stay in cache.
const INDEX_BITS: u32 = 16;
let index: usize = 0;
// The index entry of the frame plainFlow last looked up (0: none).
let entry: usize = 0;

/** Hash of one endpoint: MAC, address, port. */
@inline function endpointHash(mac: usize, addr: usize, port: u32): u64 {
  const m = (<u64>load<u32>(mac) << 16) ^ <u64>load<u16>(mac, 4);
  const a = plainIPv4 ? <u64>load<u32>(addr) : load<u64>(addr) ^ rotl<u64>(load<u64>(addr, 8), 29);
  return m * 0x9e3779b97f4a7c15 ^ a * 0xc2b2ae3d27d4eb4f ^ <u64>port * 0x165667b19e3779f9;
}

/** Does the frame have these endpoints, as A then B? */
@inline function endpointsAre(f: usize, macA: usize, macB: usize, addrA: usize, addrB: usize, portA: u32, portB: u32): bool {
  if (load<u16>(f + FL_PORT_A) != portA || load<u16>(f + FL_PORT_B) != portB) return false;
  if (load<u32>(f + FL_MAC_A) != load<u32>(macA) || load<u16>(f + FL_MAC_A, 4) != load<u16>(macA, 4)) return false;
  if (load<u32>(f + FL_MAC_B) != load<u32>(macB) || load<u16>(f + FL_MAC_B, 4) != load<u16>(macB, 4)) return false;
  if (plainIPv4) return load<u32>(f + FL_NET_A) == load<u32>(addrA) && load<u32>(f + FL_NET_B) == load<u32>(addrB);
  return load<u64>(f + FL_NET_A) == load<u64>(addrA) && load<u64>(f + FL_NET_A, 8) == load<u64>(addrA, 8) &&
    load<u64>(f + FL_NET_B) == load<u64>(addrB) && load<u64>(f + FL_NET_B, 8) == load<u64>(addrB, 8);
}

/**
 * The live plain flow whose endpoints are those of the frame readPlainFrame
 * accepted last (same key, see above), or 0; remembers the frame's index
 * entry for plainRemember.
 */
export function plainFlow(): usize {
  entry = 0;
  if (index == 0) {
    index = heapAlloc(<usize>4 << INDEX_BITS);
    if (index == 0) return 0;
  }
  const mac = plainFrame, addr = plainSrc, al: usize = plainIPv4 ? 4 : 16;
  // The same entry for both directions: the two endpoints' hashes commute.
  let h = endpointHash(mac + 6, addr, plainSrcPort) ^ endpointHash(mac, addr + al, plainDstPort);
  h ^= (plainTCP ? 1 : 2) | (plainIPv4 ? 4 : 8);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9;
  entry = index + (<usize>(h >> (64 - INDEX_BITS)) << 2);
  const slot = load<u32>(entry);
  if (!tableLiveSlot(slot)) return 0;
  const f = flowAt(slot);
  if ((load<u16>(f + FL_BITS) & FLB_PLAIN) == 0) return 0;
  if (load<u8>(f + FL_NET_PROTO) != (plainIPv4 ? 4 : 6) || load<u8>(f + FL_TRANSPORT) != (plainTCP ? TRANSPORT_TCP : TRANSPORT_UDP)) return 0;
  const src = mac + 6, dst = mac, srcAddr = addr, dstAddr = addr + al;
  if (endpointsAre(f, src, dst, srcAddr, dstAddr, plainSrcPort, plainDstPort)) return f;
  if (endpointsAre(f, dst, src, dstAddr, srcAddr, plainDstPort, plainSrcPort)) return f;
  return 0;
}

/** Points the index entry of the frame plainFlow last looked up at `slot` (its flow, found the general way). */
export function plainRemember(slot: u32): void {
  if (entry != 0) store<u32>(entry, slot);
}
