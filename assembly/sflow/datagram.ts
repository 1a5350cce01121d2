// sFlow v5 datagram, as the collector reads it (sflow.org/sflow_version_5.txt).
// Not the layers/sflow.ts decoder, which reproduces gopacket's SFlow layer
// for sFlow seen inside captured packets: this one reads datagrams sent to
// the collector, skips what it does not use by its length (goflow2's way,
// not gopacket's error on an unknown record) and turns raw packet headers
// into batch records and counters into list entries (out.ts).
//
//  +--------------------------------------------+
//  | version (5)                                |
//  | agent address type (0 none, 1 IPv4, 2 IPv6)|
//  | agent address (0, 4 or 16 bytes)           |
//  | sub-agent id | sequence | uptime (ms)      |
//  | sample count                               |
//  +--------------------------------------------+
//  | sample: format (enterprise:20|type:12),    |  x count
//  |         length, body padded to 4           |
//  +--------------------------------------------+
// Sample types (enterprise 0): 1 flow, 2 counter, 3 expanded flow, 4
// expanded counter; others are skipped. Bytes after the last sample are
// ignored, as gopacket and tcpdump do.
//
// A datagram is taken whole or not at all: any length that runs past its
// container, any count that cannot fit, rejects it with a reason and rolls the
// output back. Every loop is bounded by the bytes, never by a count alone.

import { rd32 } from '../mem';
import {
  R_AGENT_ADDRESS_TYPE, R_NO_ROOM, R_OK, R_SAMPLE_COUNT, R_SAMPLE_LENGTH, R_SHORT_HEADER, R_VERSION,
} from './reasons';
import {
  addField, outEntry, outListBytes, outPacketBytes, outPacketCount, outReset, outRollback, setField,
  DATAGRAM_FIELDS, E_DATAGRAM,
} from './out';
import { recordContext } from './records';
import { decodeCounterSample, decodeExpandedCounterSample, decodeExpandedFlowSample, decodeFlowSample } from './samples';

const D_SAMPLES_SKIPPED: u32 = 10;

let rejectAt: u32 = 0;

/** One sample's body [s, e) by its format (enterprise << 12 | type); unknown formats are skipped. */
function decodeSample(format: u32, s: usize, e: usize, datagram: usize): u32 {
  switch (format) {
    case 1: return decodeFlowSample(s, e);
    case 2: return decodeCounterSample(s, e);
    case 3: return decodeExpandedFlowSample(s, e);
    case 4: return decodeExpandedCounterSample(s, e);
  }
  addField(datagram, D_SAMPLES_SKIPPED, 1);
  return R_OK;
}

function decode(src: usize, e: usize, tsNs: i64): u32 {
  rejectAt = 0;
  if (e - src < 8) return e - src < 4 || rd32(src) == 5 ? R_SHORT_HEADER : R_VERSION;
  const version = rd32(src);
  if (version != 5) return R_VERSION;
  const addrType = rd32(src + 4);
  rejectAt = 4;
  if (addrType > 2) return R_AGENT_ADDRESS_TYPE;
  const addrLen: u32 = addrType == 1 ? 4 : addrType == 2 ? 16 : 0;
  if (e - src < <usize>(24 + addrLen)) return R_SHORT_HEADER;
  const d = outEntry(E_DATAGRAM, DATAGRAM_FIELDS);
  if (d == 0) return R_NO_ROOM;
  setField(d, 0, version);
  setField(d, 1, addrType);
  for (let i: u32 = 0; i < 4; i++) setField(d, 2 + i, i < (addrLen >> 2) ? rd32(src + 8 + (i << 2)) : 0);
  let p = src + 8 + addrLen;
  setField(d, 6, rd32(p));      // sub-agent id
  setField(d, 7, rd32(p + 4));  // sequence
  setField(d, 8, rd32(p + 8));  // uptime
  const n = rd32(p + 12);
  setField(d, 9, n);
  for (let i: u32 = 10; i < DATAGRAM_FIELDS; i++) setField(d, i, 0);
  p += 16;
  rejectAt = <u32>(p - 4 - src);
  if (<u64>n * 8 > <u64>(e - p)) return R_SAMPLE_COUNT;
  recordContext(tsNs, d);
  for (let i: u32 = 0; i < n; i++) {
    rejectAt = <u32>(p - src);
    if (e - p < 8) return R_SAMPLE_LENGTH;
    const format = rd32(p), length = rd32(p + 4);
    const body = p + 8;
    const padded = (<u64>length + 3) & ~<u64>3;
    if (padded > <u64>(e - body)) return R_SAMPLE_LENGTH;
    const r = decodeSample(format, body, body + length, d);
    if (r != R_OK) return r;
    p = body + <usize>padded;
  }
  return R_OK;
}

/**
 * Decodes the datagram at [src, src+len) received at `tsNs`: raw packet
 * headers become batch records in [packets, packets+packetsCap), samples and
 * counters entries in [list, list+listCap) (layouts: out.ts). Returns 0, or
 * the reason (reasons.ts) it was rejected for, in which case nothing was
 * written (sflowPacketCount() and sflowListBytes() are 0).
 */
export function sflowDecode(src: usize, len: u32, tsNs: i64, packets: usize, packetsCap: u32, list: usize, listCap: u32): u32 {
  outReset(packets, packetsCap, list, listCap);
  const r = decode(src, src + len, tsNs);
  if (r != R_OK) outRollback();
  return r;
}

/** Bytes of batch records the last sflowDecode wrote. */
export function sflowPacketBytes(): u32 { return outPacketBytes(); }
/** Batch records (raw packet headers) the last sflowDecode wrote. */
export function sflowPacketCount(): u32 { return outPacketCount(); }
/** Bytes of list entries the last sflowDecode wrote. */
export function sflowListBytes(): u32 { return outListBytes(); }
/** Offset in the datagram of the structure (header, sample) where the last rejection was found. */
export function sflowRejectOffset(): u32 { return rejectAt; }
