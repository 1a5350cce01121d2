// sFlow v5 samples (sflow.org/sflow_version_5.txt §5). Each decoder takes a
// sample's body [s, e), its length already checked against the datagram, and
// returns R_OK or a reason (reasons.ts).
//
// flow sample (1)             expanded flow sample (3)
//  sequence                    sequence
//  source id (type:8|index:24) source id type, source id index
//  sampling rate               sampling rate
//  sample pool                 sample pool
//  drops                       drops
//  input  (format:2|value:30)  input format, input value
//  output (format:2|value:30)  output format, output value
//  record count, records       record count, records
//
// counter sample (2)          expanded counter sample (4)
//  sequence                    sequence
//  source id (type:8|index:24) source id type, source id index
//  record count, records       record count, records
//
// A record is `format (enterprise:20|type:12), length, body padded to 4`.
// The record count is checked against the bytes first (8 bytes per record at
// least), and every record against the sample's end, so the loop is bounded
// by the sample whatever the counts say.

import { rd32 } from '../mem';
import { R_NO_ROOM, R_OK, R_RECORD_COUNT, R_RECORD_LENGTH, R_SAMPLE_TOO_SHORT } from './reasons';
import { outEntry, setField, E_COUNTER_SAMPLE, E_FLOW_SAMPLE, FLOW_SAMPLE_FIELDS, COUNTER_SAMPLE_FIELDS } from './out';
import { decodeCounterRecord, decodeFlowRecord, recordSample } from './records';

/** Walks `n` records in [p, e), flow or counter ones. */
function walkRecords(p: usize, e: usize, n: u32, flow: bool): u32 {
  if (<u64>n * 8 > <u64>(e - p)) return R_RECORD_COUNT;
  for (let i: u32 = 0; i < n; i++) {
    if (e - p < 8) return R_RECORD_LENGTH;
    const format = rd32(p), length = rd32(p + 4);
    const body = p + 8;
    const padded = (<u64>length + 3) & ~<u64>3;
    if (padded > <u64>(e - body)) return R_RECORD_LENGTH;
    const r = flow ? decodeFlowRecord(format, body, body + length) : decodeCounterRecord(format, body, body + length);
    if (r != R_OK) return r;
    p = body + <usize>padded;
  }
  return R_OK;
}

/**
 * Fields 0-3 of a flow or counter sample entry: expanded or not, sequence number, source ID
 * type and index (one word in the compact form, two in the expanded one). Returns where the
 * sample goes on.
 */
function sampleHeader(entry: usize, s: usize, expanded: bool): usize {
  setField(entry, 0, expanded ? 1 : 0);
  setField(entry, 1, rd32(s));
  if (expanded) {
    setField(entry, 2, rd32(s + 4));
    setField(entry, 3, rd32(s + 8));
    return s + 12;
  }
  const source = rd32(s + 4);
  setField(entry, 2, source >>> 24);
  setField(entry, 3, source & 0xffffff);
  return s + 8;
}

function flowSample(s: usize, e: usize, expanded: bool): u32 {
  const fixed: u32 = expanded ? 44 : 32;
  if (e - s < <usize>fixed) return R_SAMPLE_TOO_SHORT;
  const entry = outEntry(E_FLOW_SAMPLE, FLOW_SAMPLE_FIELDS);
  if (entry == 0) return R_NO_ROOM;
  let p = sampleHeader(entry, s, expanded);
  setField(entry, 4, rd32(p));     // sampling rate
  setField(entry, 5, rd32(p + 4)); // sample pool
  setField(entry, 6, rd32(p + 8)); // drops
  p += 12;
  if (expanded) {
    for (let i: u32 = 0; i < 4; i++) setField(entry, 7 + i, rd32(p + (i << 2)));
    p += 16;
  } else {
    const input = rd32(p), output = rd32(p + 4);
    setField(entry, 7, input >>> 30);
    setField(entry, 8, input & 0x3fffffff);
    setField(entry, 9, output >>> 30);
    setField(entry, 10, output & 0x3fffffff);
    p += 8;
  }
  const n = rd32(p);
  setField(entry, 11, n);
  setField(entry, 12, 0);
  setField(entry, 13, 0);
  recordSample(entry);
  return walkRecords(p + 4, e, n, true);
}

function counterSample(s: usize, e: usize, expanded: bool): u32 {
  const fixed: u32 = expanded ? 16 : 12;
  if (e - s < <usize>fixed) return R_SAMPLE_TOO_SHORT;
  const entry = outEntry(E_COUNTER_SAMPLE, COUNTER_SAMPLE_FIELDS);
  if (entry == 0) return R_NO_ROOM;
  let p = sampleHeader(entry, s, expanded);
  const n = rd32(p);
  setField(entry, 4, n);
  return walkRecords(p + 4, e, n, false);
}

export function decodeFlowSample(s: usize, e: usize): u32 { return flowSample(s, e, false); }
export function decodeExpandedFlowSample(s: usize, e: usize): u32 { return flowSample(s, e, true); }
export function decodeCounterSample(s: usize, e: usize): u32 { return counterSample(s, e, false); }
export function decodeExpandedCounterSample(s: usize, e: usize): u32 { return counterSample(s, e, true); }
