// TCP reassembly counters (spec §4.6, §4.9): a port of what gopacket v1.1.17's
// `tcpassembly` does with sequence numbers, lengths, flags and timestamps, plus
// the per-direction stream Skydive plugs into it. Payload bytes are never kept:
// the counters only need how many bytes each delivery carries.
//
// Model. gopacket keys a connection by the directional (network, TCP) flow;
// here a flow owns one record holding both directions ("dir 0" = packets sent
// from (Network.A, Transport.A), written to the AB fields; "dir 1" = the
// others, written to BA). A direction is "open" while gopacket would hold a
// connection for it; closing it writes its stream counters into the flow
// (Skydive's ReassemblyComplete) and a later packet may open it again with
// fresh counters.
//
// Per direction (a gopacket connection plus its stream):
// * nextSeq: the next expected sequence number, -1 until a SYN is seen;
// * a sorted, doubly-linked list of buffered pages (out-of-order data, or any
//   data before the first SYN). A segment is cut into pages of at most 1900
//   bytes; only its last page carries FIN/RST ("End");
// * every "reassembly" handed to the stream (the segment that just arrived,
//   then each buffered page that became contiguous) updates the counters; the
//   direction closes when the LAST reassembly of one call carries End.
//
// Memory: connection records and page records come from pools that grow in
// chunks through heapAlloc and recycle freed records; nothing is allocated per
// packet unless a segment has to be buffered. A cap on buffered pages (default
// 1,000,000) behaves like gopacket's MaxBufferedPagesTotal.

import { heapAlloc } from '../alloc';
import { FL_BITS, FL_TCP_AB, FL_TCP_BA, FLB_TCP_METRIC } from './layout';

// ---- sequence arithmetic (gopacket's Sequence: an int64 holding a u32) ----

const SEQ_SPACE: i64 = 1 << 32;
const SEQ_LOW: i64 = SEQ_SPACE / 4;                // first quarter
const SEQ_HIGH: i64 = SEQ_SPACE - SEQ_SPACE / 4;   // start of the last quarter
const SEQ_INVALID: i64 = -1;

/** How far `t` is after `s` (negative: before); the first quarter of the space counts as after the last quarter. */
@inline function seqDiff(s: i64, t: i64): i64 {
  if (s > SEQ_HIGH && t < SEQ_LOW) t += SEQ_SPACE;
  else if (t > SEQ_HIGH && s < SEQ_LOW) s += SEQ_SPACE;
  return t - s;
}

@inline function seqAdd(s: i64, n: i64): i64 {
  return (s + n) & (SEQ_SPACE - 1);
}

// ---- flags (TCP header bits) ----

const F_FIN: u32 = 1;
const F_SYN: u32 = 2;
const F_RST: u32 = 4;

/** Largest number of payload bytes one page describes (gopacket pageBytes). */
const PAGE_BYTES: u32 = 1900;

// ---- page records ----
// seen i64 | seq u32 | len u32 | prev u32 | next u32 | end u32 | pad

const PG_SEEN: usize = 0;
const PG_SEQ: usize = 8;
const PG_LEN: usize = 12;
const PG_PREV: usize = 16;
const PG_NEXT: usize = 20;
const PG_END: usize = 24;
const PAGE_SIZE: usize = 32;
const PAGE_CHUNK: u32 = 4096;

// ---- direction records (connection + stream) ----

const D_NEXT_SEQ: usize = 0;    // i64, SEQ_INVALID before the first SYN
const D_LAST_SEEN: usize = 8;   // i64 ns, latest packet time (FlushOlderThan)
const D_FIRST: usize = 16;      // u32 page with the lowest sequence
const D_LAST: usize = 20;       // u32 page with the highest sequence
const D_LAST_SEQ: usize = 24;   // u32 that page's sequence (so that appending need not read it)
const D_OPEN: usize = 28;       // u8 connection exists
const D_STARTED: usize = 29;    // u8 the stream has seen a reassembly
const D_SAW_START: usize = 30;  // u8
const D_SAW_END: usize = 31;    // u8
const D_END_TS: usize = 32;     // i64 ns, latest Seen delivered
const D_PACKETS: usize = 40;    // i64 stream counters, written on completion
const D_BYTES: usize = 48;
const D_OOO: usize = 56;
const D_SKIPPED: usize = 64;
const D_SKIPPED_BYTES: usize = 72;
const DIR_SIZE: usize = 80;

// ---- connection records (one per flow, both directions) ----

const C_FLOW: usize = 0;        // u32 flow record address, 0 = detached
const C_PREV: usize = 4;        // u32 live list
const C_NEXT: usize = 8;        // u32 live list / free list
const C_LIVE: usize = 12;       // u32 1 while handed out
const C_DIR0: usize = 16;
const C_DIR1: usize = C_DIR0 + DIR_SIZE;
const CONN_SIZE: usize = C_DIR1 + DIR_SIZE;
const CONN_CHUNK: u32 = 1024;

// ---- state ----

let maxPages: u32 = 1000000;    // 0 = unlimited
let freePages: usize = 0;
// Pages never used yet are taken from the current chunk in address order:
// writing a new page then reads nothing (a free list would be read first).
let chunkNext: usize = 0;
let chunkEnd: usize = 0;
let pagesInUse: u32 = 0;
let pagesAllocated: u32 = 0;
let freeConns: usize = 0;
let liveHead: usize = 0;
let connsInUse: u32 = 0;
let capFlushes: u64 = 0;        // times the page cap forced out the oldest page
let droppedSegments: u64 = 0;   // segments not buffered because memory ran out

// The reassemblies of the current call (gopacket's Assembler.ret): they are
// counted as they are produced; only their number and the End of the last
// one decide whether the connection closes.
let retCount: u32 = 0;
let retLastEnd: bool = false;
// Second result of byteSpan.
let spanNext: i64 = 0;

// ---- pools ----

function pageGet(): usize {
  let p = freePages;
  if (p != 0) {
    freePages = <usize>load<u32>(p + PG_NEXT);
  } else {
    if (chunkNext == chunkEnd) {
      const chunk = heapAlloc(<usize>PAGE_CHUNK * PAGE_SIZE);
      if (chunk == 0) return 0;
      chunkNext = chunk;
      chunkEnd = chunk + <usize>PAGE_CHUNK * PAGE_SIZE;
      pagesAllocated += PAGE_CHUNK;
    }
    p = chunkNext;
    chunkNext += PAGE_SIZE;
  }
  store<u32>(p + PG_PREV, 0);
  store<u32>(p + PG_NEXT, 0);
  store<u32>(p + PG_END, 0);
  pagesInUse++;
  return p;
}

@inline function pagePut(p: usize): void {
  store<u32>(p + PG_NEXT, <u32>freePages);
  freePages = p;
  pagesInUse--;
}

function connGet(): usize {
  if (freeConns == 0) {
    const chunk = heapAlloc(<usize>CONN_CHUNK * CONN_SIZE);
    if (chunk == 0) return 0;
    for (let i: u32 = 0; i < CONN_CHUNK; i++) {
      const c = chunk + <usize>i * CONN_SIZE;
      store<u32>(c + C_NEXT, <u32>freeConns);
      freeConns = c;
    }
  }
  const c = freeConns;
  freeConns = <usize>load<u32>(c + C_NEXT);
  return c;
}

// ---- stream (Skydive's TCPAssemblerStream) ----

/** One Reassembly handed to the stream. */
function deliver(d: usize, len: i64, skip: i64, start: bool, end: bool, seen: i64): void {
  if (load<u8>(d + D_STARTED) == 0) {
    store<u8>(d + D_STARTED, 1);
    store<i64>(d + D_END_TS, seen);
  }
  if (seen < load<i64>(d + D_END_TS)) store<i64>(d + D_OOO, load<i64>(d + D_OOO) + 1);
  else store<i64>(d + D_END_TS, seen);
  store<i64>(d + D_BYTES, load<i64>(d + D_BYTES) + len);
  store<i64>(d + D_PACKETS, load<i64>(d + D_PACKETS) + 1);
  if (skip != 0) {
    store<i64>(d + D_SKIPPED, load<i64>(d + D_SKIPPED) + 1);
    store<i64>(d + D_SKIPPED_BYTES, load<i64>(d + D_SKIPPED_BYTES) + skip);
  }
  if (start) store<u8>(d + D_SAW_START, 1);
  if (end) store<u8>(d + D_SAW_END, 1);
  retCount++;
  retLastEnd = end;
}

/** deliver() of the next expected bytes: the stream has started, no skip, no start or end. */
@inline function deliverNext(d: usize, len: i64, seen: i64): void {
  if (seen < load<i64>(d + D_END_TS)) store<i64>(d + D_OOO, load<i64>(d + D_OOO) + 1);
  else store<i64>(d + D_END_TS, seen);
  store<i64>(d + D_BYTES, load<i64>(d + D_BYTES) + len);
  store<i64>(d + D_PACKETS, load<i64>(d + D_PACKETS) + 1);
}

/** ReassemblyComplete: the stream's counters replace the flow's AB or BA side (SawStart/SawEnd are only ever set). */
function complete(c: usize, d: usize): void {
  const f = <usize>load<u32>(c + C_FLOW);
  if (f == 0) return;
  const m = f + <usize>(d == c + C_DIR0 ? FL_TCP_AB : FL_TCP_BA);
  store<i64>(m, load<i64>(d + D_OOO));
  store<i64>(m + 8, load<i64>(d + D_SKIPPED));
  store<i64>(m + 16, load<i64>(d + D_SKIPPED_BYTES));
  store<i64>(m + 24, load<i64>(d + D_PACKETS));
  store<i64>(m + 32, load<i64>(d + D_BYTES));
  if (load<u8>(d + D_SAW_START) != 0) store<i64>(m + 40, 1);
  if (load<u8>(d + D_SAW_END) != 0) store<i64>(m + 48, 1);
  store<u16>(f + FL_BITS, load<u16>(f + FL_BITS) | <u16>FLB_TCP_METRIC);
}

// ---- connection (gopacket's connection + Assembler internals) ----

function dirOpen(d: usize): void {
  store<i64>(d + D_NEXT_SEQ, SEQ_INVALID);
  store<i64>(d + D_LAST_SEEN, i64.MIN_VALUE);
  store<u32>(d + D_FIRST, 0);
  store<u32>(d + D_LAST, 0);
  store<u8>(d + D_OPEN, 1);
  store<u8>(d + D_STARTED, 0);
  store<u8>(d + D_SAW_START, 0);
  store<u8>(d + D_SAW_END, 0);
  store<i64>(d + D_END_TS, 0);
  store<i64>(d + D_PACKETS, 0);
  store<i64>(d + D_BYTES, 0);
  store<i64>(d + D_OOO, 0);
  store<i64>(d + D_SKIPPED, 0);
  store<i64>(d + D_SKIPPED_BYTES, 0);
}

/** Returns the direction's pages to the pool and marks it closed, without completing it. */
function dirDrop(d: usize): void {
  let p = <usize>load<u32>(d + D_FIRST);
  while (p != 0) {
    const n = <usize>load<u32>(p + PG_NEXT);
    pagePut(p);
    p = n;
  }
  store<u32>(d + D_FIRST, 0);
  store<u32>(d + D_LAST, 0);
  store<u8>(d + D_OPEN, 0);
}

/** closeConnection: complete the stream, then forget the connection and its pages. */
function dirClose(c: usize, d: usize): void {
  complete(c, d);
  dirDrop(d);
}

/**
 * byteSpan: how many of `len` bytes starting at `received` are new when
 * `expected` is next; sets spanNext to the following expected sequence.
 */
function byteSpan(expected: i64, received: i64, len: i64): i64 {
  if (expected == SEQ_INVALID) {
    spanNext = seqAdd(received, len);
    return len;
  }
  const span = seqDiff(received, expected);
  if (span <= 0) {
    spanNext = seqAdd(received, len);
    return len;
  }
  if (len < span) {
    spanNext = expected;
    return 0;
  }
  spanNext = seqAdd(expected, len - span);
  return len - span;
}

/** addNextFromConn: pops the lowest buffered page and delivers it (Skip -1 before a SYN, or the gap). */
function popFirst(d: usize): void {
  const p = <usize>load<u32>(d + D_FIRST);
  const next = load<i64>(d + D_NEXT_SEQ);
  const seq = <i64>load<u32>(p + PG_SEQ);
  let skip: i64 = 0;
  if (next == SEQ_INVALID) skip = -1;
  else {
    const gap = seqDiff(next, seq);
    if (gap > 0) skip = gap;
  }
  const n = byteSpan(next, seq, <i64>load<u32>(p + PG_LEN));
  store<i64>(d + D_NEXT_SEQ, spanNext);
  deliver(d, n, skip, false, load<u32>(p + PG_END) != 0, load<i64>(p + PG_SEEN));
  const after = <usize>load<u32>(p + PG_NEXT);
  if (after == 0) {
    store<u32>(d + D_FIRST, 0);
    store<u32>(d + D_LAST, 0);
  } else {
    store<u32>(d + D_FIRST, <u32>after);
    store<u32>(after + PG_PREV, 0);
  }
  pagePut(p);
}

/** addContiguous: delivers every buffered page that no longer leaves a gap. */
function addContiguous(d: usize): void {
  while (true) {
    const p = <usize>load<u32>(d + D_FIRST);
    if (p == 0 || seqDiff(load<i64>(d + D_NEXT_SEQ), <i64>load<u32>(p + PG_SEQ)) > 0) break;
    popFirst(d);
  }
}

/** sendToConnection: after the contiguous pages, close if the last reassembly ended the stream. */
function send(c: usize, d: usize): void {
  addContiguous(d);
  if (retLastEnd) dirClose(c, d);
}

/** insertIntoConn: buffers a segment as pages, in sequence order. */
function insert(c: usize, d: usize, seq: u32, len: u32, end: bool, ts: i64): void {
  // pagesFromTCP: one page per 1900 bytes (at least one), End on the last.
  const first = pageGet();
  if (first == 0) { droppedSegments++; return; }
  let cur = first;
  let s = <i64>seq;
  let rest = len;
  while (true) {
    const l = rest < PAGE_BYTES ? rest : PAGE_BYTES;
    store<i64>(cur + PG_SEEN, ts);
    store<u32>(cur + PG_SEQ, <u32>s);
    store<u32>(cur + PG_LEN, l);
    rest -= l;
    if (rest == 0) break;
    s = seqAdd(s, <i64>l);
    const nx = pageGet();
    if (nx == 0) {
      // Out of memory: give back what this segment took and forget it.
      let p = first;
      while (p != 0) { const q = <usize>load<u32>(p + PG_NEXT); pagePut(p); p = q; }
      droppedSegments++;
      return;
    }
    store<u32>(cur + PG_NEXT, <u32>nx);
    store<u32>(nx + PG_PREV, <u32>cur);
    cur = nx;
  }
  if (end) store<u32>(cur + PG_END, 1);

  // traverseConn: walk back from the highest page while it is after `seq`
  // (its sequence is at hand: in-order segments stop there at once).
  let prev = <usize>load<u32>(d + D_LAST);
  let after: usize = 0;
  if (prev != 0 && seqDiff(<i64>load<u32>(d + D_LAST_SEQ), <i64>seq) < 0) {
    after = prev;
    prev = <usize>load<u32>(after + PG_PREV);
    while (prev != 0 && seqDiff(<i64>load<u32>(prev + PG_SEQ), <i64>seq) < 0) {
      after = prev;
      prev = <usize>load<u32>(after + PG_PREV);
    }
  }
  // pushBetween(prev, after, first, cur)
  if (after == 0 || load<u32>(d + D_LAST) == 0) {
    store<u32>(d + D_LAST, <u32>cur);
    store<u32>(d + D_LAST_SEQ, <u32>s);
  } else {
    store<u32>(cur + PG_NEXT, <u32>after);
    store<u32>(after + PG_PREV, <u32>cur);
  }
  if (prev == 0 || load<u32>(d + D_FIRST) == 0) store<u32>(d + D_FIRST, <u32>first);
  else {
    store<u32>(first + PG_PREV, <u32>prev);
    store<u32>(prev + PG_NEXT, <u32>first);
  }

  // MaxBufferedPagesTotal: past the cap, push out this connection's oldest page.
  if (maxPages > 0 && pagesInUse >= maxPages) {
    capFlushes++;
    popFirst(d);
  }
}

/** skipFlush: deliver the lowest buffered page whatever the gap, or close when nothing is buffered. */
function skipFlush(c: usize, d: usize): void {
  if (load<u32>(d + D_FIRST) == 0) {
    dirClose(c, d);
    return;
  }
  retCount = 0;
  retLastEnd = false;
  popFirst(d);
  addContiguous(d);
  send(c, d);
}

// ---- API ----

/** Allocates a connection pair (both directions) for a flow; returns its id (> 0), 0 if out of memory. */
export function tcpConnNew(flowAddr: usize): u32 {
  const c = connGet();
  if (c == 0) return 0;
  store<u32>(c + C_FLOW, <u32>flowAddr);
  store<u32>(c + C_LIVE, 1);
  store<u8>(c + C_DIR0 + D_OPEN, 0);
  store<u32>(c + C_DIR0 + D_FIRST, 0);
  store<u8>(c + C_DIR1 + D_OPEN, 0);
  store<u32>(c + C_DIR1 + D_FIRST, 0);
  // live list, newest first
  store<u32>(c + C_PREV, 0);
  store<u32>(c + C_NEXT, <u32>liveHead);
  if (liveHead != 0) store<u32>(liveHead + C_PREV, <u32>c);
  liveHead = c;
  connsInUse++;
  return <u32>c;
}

/** Points an existing connection at a flow record (the flow record moved). */
export function tcpConnSetFlow(conn: u32, flowAddr: usize): void {
  if (conn == 0) return;
  store<u32>(<usize>conn + C_FLOW, <u32>flowAddr);
}

/** Segments with neither data nor SYN/FIN/RST change nothing (tcpAssemble returns at once). */
@inline export function tcpIgnores(flags: u32, payloadLen: u32): bool {
  return payloadLen == 0 && (flags & (F_SYN | F_FIN | F_RST)) == 0;
}

/**
 * Assembles one TCP segment of the flow. ab = the packet goes from (Network.A, Transport.A) to B. flags: FIN 1, SYN 2, RST 4 (TCP header bits).
 * Skydive's test is text equality of Network.A with the source of the packet's FIRST network layer
 * (gopacket NetworkLayer(), the outer header of 4in6/6in4) plus source port == Transport.A.
 * payloadLen is gopacket's TCP payload: the captured bytes after the TCP header, within the IP length.
 */
export function tcpAssemble(conn: u32, ab: bool, seq: u32, payloadLen: u32, flags: u32, tsNs: i64): void {
  if (conn == 0 || tcpIgnores(flags, payloadLen)) return;
  const syn = (flags & F_SYN) != 0;
  const end = (flags & (F_FIN | F_RST)) != 0;
  const c = <usize>conn;
  const d = c + (ab ? C_DIR0 : C_DIR1);
  if (load<u8>(d + D_OPEN) == 0) {
    // An empty FIN/RST does not create a connection.
    if (!syn && payloadLen == 0) return;
    dirOpen(d);
  }
  if (load<i64>(d + D_LAST_SEEN) < tsNs) store<i64>(d + D_LAST_SEEN, tsNs);
  const next = load<i64>(d + D_NEXT_SEQ);
  // Most segments are the next expected data, with nothing buffered and no
  // FIN/RST: one reassembly of all their bytes, nothing to complete.
  if (<i64>seq == next && !syn && !end && load<u32>(d + D_FIRST) == 0) {
    store<i64>(d + D_NEXT_SEQ, seqAdd(next, <i64>payloadLen));
    deliverNext(d, <i64>payloadLen, tsNs);
    return;
  }
  retCount = 0;
  retLastEnd = false;
  if (next == SEQ_INVALID) {
    if (syn) {
      deliver(d, <i64>payloadLen, 0, true, false, tsNs);
      store<i64>(d + D_NEXT_SEQ, seqAdd(<i64>seq, <i64>payloadLen + 1));
    } else {
      insert(c, d, seq, payloadLen, end, tsNs);
    }
  } else if (seqDiff(next, <i64>seq) > 0) {
    insert(c, d, seq, payloadLen, end, tsNs);
  } else {
    const n = byteSpan(next, <i64>seq, <i64>payloadLen);
    store<i64>(d + D_NEXT_SEQ, spanNext);
    deliver(d, n, 0, false, end, tsNs);
  }
  if (retCount > 0) send(c, d);
}

/** Closes every stream (gopacket FlushAll): completions write counters into their flows. */
export function tcpFlushAll(): void {
  let c = liveHead;
  while (c != 0) {
    const d0 = c + C_DIR0;
    while (load<u8>(d0 + D_OPEN) != 0) skipFlush(c, d0);
    const d1 = c + C_DIR1;
    while (load<u8>(d1 + D_OPEN) != 0) skipFlush(c, d1);
    c = <usize>load<u32>(c + C_NEXT);
  }
}

function flushOlder(c: usize, d: usize, tNs: i64): void {
  if (load<u8>(d + D_OPEN) == 0) return;
  while (true) {
    const p = <usize>load<u32>(d + D_FIRST);
    if (p == 0 || load<i64>(p + PG_SEEN) >= tNs) break;
    skipFlush(c, d);
    if (load<u8>(d + D_OPEN) == 0) return;
  }
  if (load<u32>(d + D_FIRST) == 0 && load<i64>(d + D_LAST_SEEN) < tNs) dirClose(c, d);
}

/** gopacket FlushOlderThan(t): flush/close streams idle since before t (ns). */
export function tcpFlushOlderThan(tNs: i64): void {
  let c = liveHead;
  while (c != 0) {
    flushOlder(c, c + C_DIR0, tNs);
    flushOlder(c, c + C_DIR1, tNs);
    c = <usize>load<u32>(c + C_NEXT);
  }
}

/** The flow is leaving the table: forget the connection without writing into the flow any more. */
export function tcpConnRelease(conn: u32): void {
  if (conn == 0) return;
  const c = <usize>conn;
  if (load<u32>(c + C_LIVE) == 0) return;
  if (load<u8>(c + C_DIR0 + D_OPEN) != 0) dirDrop(c + C_DIR0);
  if (load<u8>(c + C_DIR1 + D_OPEN) != 0) dirDrop(c + C_DIR1);
  const prev = <usize>load<u32>(c + C_PREV);
  const next = <usize>load<u32>(c + C_NEXT);
  if (prev != 0) store<u32>(prev + C_NEXT, <u32>next);
  else liveHead = next;
  if (next != 0) store<u32>(next + C_PREV, <u32>prev);
  store<u32>(c + C_LIVE, 0);
  store<u32>(c + C_FLOW, 0);
  store<u32>(c + C_NEXT, <u32>freeConns);
  freeConns = c;
  connsInUse--;
}

/** Cap on buffered pages over all connections (gopacket MaxBufferedPagesTotal); 0 = unlimited. */
export function tcpSetMaxPages(n: u32): void {
  maxPages = n;
}

// ---- gauges ----

/** Pages buffered right now. */
export function tcpPagesInUse(): u32 { return pagesInUse; }
/** Page records obtained from the heap so far (in use + free). */
export function tcpPagesAllocated(): u32 { return pagesAllocated; }
/** Connection pairs handed out and not released. */
export function tcpConnsInUse(): u32 { return connsInUse; }
/** Times the page cap forced a connection's oldest page out. */
export function tcpCapFlushes(): u64 { return capFlushes; }
/** Segments that could not be buffered because memory could not grow. */
export function tcpDroppedSegments(): u64 { return droppedSegments; }
