// Where a decoded sFlow datagram goes, in two host-given regions:
//
// * packets: batch records (assembly/flow/feed.ts layout: i64 ts_ns, u32
//   caplen, u32 wirelen, u32 linktype, u32 ifindex, data padded to 8), one per
//   raw packet header, marked BATCH_FORCED_LENGTH so that feeding them counts
//   wirelen = frame_length - stripped bytes (Skydive's sFlow length rule);
// * list: entries `u32 kind, u32 n, n x u64` (little-endian, 8-aligned), in
//   datagram order: one DATAGRAM entry, then per sample a FLOW_SAMPLE or
//   COUNTER_SAMPLE entry, each counter sample followed by its counter records.
//   Field orders are listed below and, with names, in src/capture/sflow-decode.ts.
//
// Every write checks its room first; running out is R_NO_ROOM, never a write
// past the region.

import { BATCH_FORCED_LENGTH } from '../flow/feed';

/** version, agent address type, agent address as 4 big-endian words, sub-agent id, sequence, uptime,
 *  samples, samples skipped, records skipped, headers with stripped > frame_length, headers of another protocol */
export const E_DATAGRAM: u32 = 1;
export const DATAGRAM_FIELDS: u32 = 14;
/** expanded, sequence, source id type, source id index, sampling rate, sample pool, drops,
 *  input format, input value, output format, output value, records, headers, header bytes (frame_length - stripped) */
export const E_FLOW_SAMPLE: u32 = 2;
export const FLOW_SAMPLE_FIELDS: u32 = 14;
/** expanded, sequence, source id type, source id index, records */
export const E_COUNTER_SAMPLE: u32 = 3;
export const COUNTER_SAMPLE_FIELDS: u32 = 5;
/** Generic interface counters (format 1): the 19 fields in wire order. */
export const E_GENERIC_IF: u32 = 4;
/** Ethernet interface counters (format 2): the 13 dot3Stats fields in wire order. */
export const E_ETHERNET: u32 = 5;
/** VLAN counters (format 5): vlan id, octets, ucast, multicast, broadcast, discards. */
export const E_VLAN: u32 = 6;
/** Application resources (format 2202): user time, system time, mem used, mem max, fd open, fd max, conn open, conn max. */
export const E_APP_RESOURCES: u32 = 7;
/** Open vSwitch datapath (format 2207): hit, missed, lost, mask hit, flows, masks. */
export const E_OVS_DP: u32 = 8;

let pktBase: usize = 0;
let pktCap: u32 = 0;
let pktUsed: u32 = 0;
let pktCount: u32 = 0;
let listBase: usize = 0;
let listCap: u32 = 0;
let listUsed: u32 = 0;

export function outReset(packets: usize, packetsCap: u32, list: usize, cap: u32): void {
  pktBase = packets;
  pktCap = packetsCap;
  pktUsed = 0;
  pktCount = 0;
  listBase = list;
  listCap = cap;
  listUsed = 0;
}

/** Forgets everything written (a rejected datagram). */
export function outRollback(): void {
  pktUsed = 0;
  pktCount = 0;
  listUsed = 0;
}

export function outPacketBytes(): u32 { return pktUsed; }
export function outPacketCount(): u32 { return pktCount; }
export function outListBytes(): u32 { return listUsed; }

/**
 * Appends a batch record of `caplen` bytes copied from `data`; false when it
 * does not fit. `linkType` is the LINKTYPE_* the bytes are decoded as.
 */
export function outPacket(tsNs: i64, data: usize, caplen: u32, wireLen: u32, linkType: u32): bool {
  const size = (24 + <u64>caplen + 7) & ~<u64>7;
  if (size > <u64>(pktCap - pktUsed)) return false;
  const p = pktBase + pktUsed;
  store<i64>(p, tsNs);
  store<u32>(p, caplen, 8);
  store<u32>(p, wireLen, 12);
  store<u32>(p, linkType, 16);
  store<u32>(p, BATCH_FORCED_LENGTH, 20);
  memory.copy(p + 24, data, caplen);
  const pad = <u32>size - 24 - caplen;
  if (pad > 0) memory.fill(p + 24 + caplen, 0, pad);
  pktUsed += <u32>size;
  pktCount++;
  return true;
}

/** Opens a list entry of `n` u64 fields; returns the address of field 0, or 0 when it does not fit. */
export function outEntry(kind: u32, n: u32): usize {
  const size: u32 = 8 + (n << 3);
  if (size > listCap - listUsed) return 0;
  const p = listBase + listUsed;
  store<u32>(p, kind);
  store<u32>(p, n, 4);
  listUsed += size;
  return p + 8;
}

@inline export function setField(entry: usize, i: u32, v: u64): void { store<u64>(entry + (<usize>i << 3), v); }
@inline export function addField(entry: usize, i: u32, v: u64): void {
  store<u64>(entry + (<usize>i << 3), load<u64>(entry + (<usize>i << 3)) + v);
}
