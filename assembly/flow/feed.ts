// Feeds the frames of a chunk to the flow table: the one place that walks
// frame records. A chunk is either a batch (the pipeline's own layout, from
// live sources and pcapng files) or raw classic-pcap records read straight
// from a file into linear memory, so a replay copies no packet in JS.
//
// Every worker of a pool receives the same chunks and keeps the packets of
// its shard (shard.ts): records are walked by each worker, which costs a few
// loads per record, instead of split and copied by the reader. A file replay
// hands each shard its own records instead: a classic pcap's reader deals
// them out (native/pcapshard.c) and marks those it placed (BATCH_OWNED), so
// only the others are looked at; other files are split by the first shard
// (`split`), which walks every record, keeps its own and copies the others'
// into one region per shard.
//
// Walking stops before the first record stamped at or after `limitNs`: the
// host runs the timer tick due then and calls again, so ticks fall between
// the same packets whatever the chunk and shard boundaries.

import { C_BAD_RECORDS, count } from '../counters';
import { shardOf } from '../shard';
import { processPacket } from './process';

/** Batch records: i64 ts_ns, u32 caplen, u32 wirelen, u32 linktype, u32 ifindex, data padded to 8. */
export const FMT_BATCH: u32 = 0;
/** Classic pcap records, little-endian headers: u32 ts_sec, u32 ts_frac, u32 caplen, u32 wirelen, data. */
export const FMT_PCAP_LE: u32 = 1;
/** Classic pcap records with big-endian headers. */
export const FMT_PCAP_BE: u32 = 2;

/**
 * Flag in a batch record's ifindex word: count `wirelen` as the packet's
 * outer length whatever its top layer (sFlow raw headers: frame_length -
 * stripped, spec §7), instead of the wire-length rules of processPacket.
 */
export const BATCH_FORCED_LENGTH: u32 = 0x80000000;

/**
 * Flag in a batch record's ifindex word: the reader that dealt the records
 * out to the shards put this one here, its own (native/pcapshard.c), so it
 * is processed without shardOf.
 */
export const BATCH_OWNED: u32 = 0x40000000;

const BATCH_HEADER: u32 = 24;
const PCAP_HEADER: u32 = 16;

let fedRecords: u32 = 0;
// Where the look-ahead loads of feedRecords go, so that they are kept.
let prefetched: u32 = 0;

/** Records consumed by the last feedRecords call (of every shard). */
export function feedRecordCount(): u32 { return fedRecords; }

@inline function u32At(p: usize, bigEndian: bool): u32 {
  const v = load<u32>(p);
  return bigEndian ? bswap<u32>(v) : v;
}

/** Bytes a record's data takes: a batch pads it to 8. */
@inline function dataBytes(caplen: u32, pcap: bool): u32 {
  return pcap ? caplen : (caplen + 7) & ~7;
}

/** A split region's entry: u32 base address, u32 bytes used, u32 records, per shard. */
const SPLIT_ENTRY: usize = 12;

/**
 * Walks at most `maxRecords` records of `format` in [base, base+bytes) and
 * processes those that belong to `shard` of `shards`. Pcap timestamps are
 * ts_sec * 1e9 + ts_frac * `fracToNs`; `linkType` >= 0 replaces (batch) or
 * gives (pcap) the link type. With `split` (the address of `shards` entries
 * of SPLIT_ENTRY), each other shard's records are appended, as they are, to
 * its region. Returns the bytes consumed; the number of records is in
 * feedRecordCount().
 */
export function feedRecords(format: u32, base: usize, bytes: u32, maxRecords: u32, fracToNs: u32, linkType: i32,
                            limitNs: i64, shard: u32, shards: u32, split: usize): u32 {
  let p = base;
  const end = base + bytes;
  let done: u32 = 0;
  const pcap = format != FMT_BATCH;
  const be = format == FMT_PCAP_BE;
  const header = pcap ? PCAP_HEADER : BATCH_HEADER;
  while (done < maxRecords && p + header <= end) {
    let ts: i64, caplen: u32, wire: u32, lt: u32;
    let outer: i64 = -1;
    let owned = shards <= 1;
    if (pcap) {
      ts = <i64>u32At(p, be) * 1000000000 + <i64>u32At(p + 4, be) * fracToNs;
      caplen = u32At(p + 8, be);
      wire = u32At(p + 12, be);
      lt = <u32>linkType;
    } else {
      ts = load<i64>(p);
      caplen = load<u32>(p, 8);
      wire = load<u32>(p, 12);
      lt = linkType >= 0 ? <u32>linkType : load<u32>(p, 16);
      const flags = load<u32>(p, 20);
      if (flags & BATCH_FORCED_LENGTH) outer = <i64>wire;
      if (flags & BATCH_OWNED) owned = true;
    }
    const data = p + header;
    if (<u64>data + caplen > <u64>end) {
      // Every shard of a pool walks the same chunk (unless the first splits
      // it): the first shard alone counts the record.
      if (shard == 0 || shards <= 1) count(C_BAD_RECORDS);
      break;
    }
    if (ts >= limitNs) break;
    const next = data + dataBytes(caplen, pcap);
    // Records are read one after the other, each at an address only the
    // previous one gives. The next record's header was loaded during the
    // last frame, so the one after it is known now: load its first two
    // lines, which then have this frame and the next to arrive.
    if (next + header <= end) {
      const after = next + header + dataBytes(pcap ? u32At(next + 8, be) : load<u32>(next, 8), pcap);
      if (after + 128 <= end) prefetched ^= load<u32>(after) ^ load<u32>(after, 64);
    }
    if (owned) {
      processPacket(data, caplen, wire, lt, ts, outer);
    } else {
      const s = shardOf(data, caplen, lt, shards);
      if (s == shard) processPacket(data, caplen, wire, lt, ts, outer);
      else if (split != 0) copyToRegion(split + <usize>s * SPLIT_ENTRY, p, <u32>(next - p));
    }
    p = next;
    done++;
  }
  fedRecords = done;
  return <u32>(p - base);
}

/** Appends the record [p, p+size) to the split region whose entry is at `entry`. */
@inline function copyToRegion(entry: usize, p: usize, size: u32): void {
  const used = load<u32>(entry, 4);
  memory.copy(<usize>load<u32>(entry) + used, p, size);
  store<u32>(entry, used + size, 4);
  store<u32>(entry, load<u32>(entry, 8) + 1, 8);
}

/** The batch-only entry point kept for the core bench and tests: every record, one table. */
export function processBatch(base: usize, bytes: u32, n: u32, linkOverride: i32): u32 {
  feedRecords(FMT_BATCH, base, bytes, n, 0, linkOverride, I64.MAX_VALUE, 0, 1, 0);
  return fedRecords;
}
