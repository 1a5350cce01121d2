// The JSON of emitted flows in runs, for the host's drain of the JSON
// formats: one call encodes many records, each record's JSON back to back
// in a text area and its sort key in an index, so that the host copies a
// run at once. A call per record cost two crossings into the module, and a
// view and a copy on the host side, for each flow a table gives out.
import { EMIT_HEADER, emitChunkAddr, emitChunkCount, emitChunkLength } from '../flow/emit';
import { FL_EMIT, FL_EXTRA_KIND } from '../flow/layout';
import { flowSortKeyInto, SORT_KEY_MAX } from '../flow/sortkey';
import { jsonEncodeFlow, jsonFlowBound } from './json';

/** An index entry: u32 end of the record's JSON in the text area, u32 sort key length, the key. */
export const RUN_ENTRY: u32 = 8 + SORT_KEY_MAX;

// The cursor: the next record is at `offset` in emit chunk `chunk`.
let chunk: u32 = 0;
let offset: u32 = 0;
let hostRecord: usize = 0;

/** Puts the cursor on the first record emitted since the last emitRelease. */
export function jsonRunBegin(): void {
  chunk = 0;
  offset = 0;
  hostRecord = 0;
}

/**
 * From the cursor on, for each record whose reason (FL_EMIT; 31 stands for
 * any above) is a bit of `keep`: its JSON (jsonEncodeFlow) after the last
 * one at `text`, and an index entry at `index`. Stops at the end of the
 * records, when `indexCap` or `textCap` bytes would not hold one more, or
 * after a kept record with an extra layer, which the host encodes:
 * jsonRunHostRecord() then gives it. Returns the number of entries written.
 */
export function jsonRun(index: usize, indexCap: u32, text: usize, textCap: u32, keep: u32, dropLastUpdateMetric: u32): u32 {
  hostRecord = 0;
  const bound = jsonFlowBound();
  const chunks = emitChunkCount();
  let n: u32 = 0;
  let used: u32 = 0;
  while (chunk < chunks) {
    const base = emitChunkAddr(chunk);
    const recLen = offset + EMIT_HEADER <= emitChunkLength(chunk) ? load<u32>(base + offset) : 0;
    if (recLen == 0) {
      chunk++;
      offset = 0;
      continue;
    }
    const rec = base + offset + EMIT_HEADER;
    const reason = <u32>load<u8>(rec + FL_EMIT);
    if (((keep >> min(reason, 31)) & 1) == 0) {
      offset += recLen;
      continue;
    }
    if (load<u8>(rec + FL_EXTRA_KIND) != 0) {
      hostRecord = rec;
      offset += recLen;
      break;
    }
    if ((n + 1) * RUN_ENTRY > indexCap || used + bound > textCap) break;
    used += <u32>jsonEncodeFlow(rec, text + used, textCap - used, dropLastUpdateMetric);
    const entry = index + <usize>n * RUN_ENTRY;
    store<u32>(entry, used);
    store<u32>(entry, flowSortKeyInto(rec, entry + 8), 4);
    offset += recLen;
    n++;
  }
  return n;
}

/** The record (after its EMIT_HEADER) the last jsonRun stopped after, for the host to encode; 0 if none. */
export function jsonRunHostRecord(): usize {
  return hostRecord;
}
