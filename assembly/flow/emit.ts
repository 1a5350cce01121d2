// Flow records leaving the table (or reported by an update tick) are copied
// into output chunks that the host reads in bulk and then releases. Each
// record: u32 total length, u32 reserved, the FLOW_SIZE-byte flow record,
// then its extra-layer blob (FL_EXTRA_LEN bytes), padded to 8 bytes.
// Chunks are recycled, so memory is bounded by the flows emitted between two
// drains, itself bounded by the table size.

import { heapAlloc } from '../alloc';
import { FL_EMIT, FL_EXTRA_LEN, FL_EXTRA_PTR, FLOW_SIZE } from './layout';

const CHUNK_SIZE: u32 = 1 << 20;
const MAX_CHUNKS: u32 = 4096;
const chunks = memory.data(<i32>(MAX_CHUNKS * 4), 4);
const chunkUsed = memory.data(<i32>(MAX_CHUNKS * 4), 4);
let nChunks: u32 = 0;   // allocated
let current: u32 = 0;   // being filled
let records: u32 = 0;
let lost: u32 = 0;

export const EMIT_HEADER: u32 = 8;

/** Copies flow `f` into the output with reason `why` (EMIT_*). */
export function emitFlow(f: usize, why: u8): void {
  const extraLen = load<u32>(f + FL_EXTRA_LEN);
  const len = (EMIT_HEADER + FLOW_SIZE + extraLen + 7) & ~7;
  if (len > CHUNK_SIZE) { lost++; return; }
  if (nChunks == 0 || load<u32>(chunkUsed + (current << 2)) + len > CHUNK_SIZE) {
    if (nChunks > 0) current++;
    if (current >= MAX_CHUNKS) { current = MAX_CHUNKS - 1; lost++; return; }
    if (current >= nChunks) {
      const c = heapAlloc(CHUNK_SIZE);
      if (c == 0) { lost++; return; }
      store<u32>(chunks + (current << 2), <u32>c);
      nChunks = current + 1;
    }
    store<u32>(chunkUsed + (current << 2), 0);
  }
  const base = <usize>load<u32>(chunks + (current << 2));
  const used = load<u32>(chunkUsed + (current << 2));
  const p = base + used;
  store<u32>(p, len);
  store<u32>(p, 0, 4);
  memory.copy(p + EMIT_HEADER, f, FLOW_SIZE);
  store<u8>(p + EMIT_HEADER + FL_EMIT, why);
  if (extraLen > 0) memory.copy(p + EMIT_HEADER + FLOW_SIZE, <usize>load<u32>(f + FL_EXTRA_PTR), extraLen);
  store<u32>(chunkUsed + (current << 2), used + len);
  records++;
}

/** Number of chunks holding records since the last release. */
export function emitChunkCount(): u32 { return nChunks == 0 || records == 0 ? 0 : current + 1; }
export function emitChunkAddr(i: u32): usize { return <usize>load<u32>(chunks + (i << 2)); }
export function emitChunkLength(i: u32): u32 { return load<u32>(chunkUsed + (i << 2)); }
/** Records that could not be written (memory exhausted): counted, never silent. */
export function emitLost(): u32 { return lost; }

/** The host has read every chunk: start filling from the first one again. */
export function emitRelease(): void {
  current = 0;
  records = 0;
  if (nChunks > 0) store<u32>(chunkUsed, 0);
}
