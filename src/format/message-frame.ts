/**
 * Building `flow.Message`s from the flow tables' protobuf records without re-encoding them.
 *
 * A record of the `protobuf` format is a varint byte length followed by one encoded Flow
 * (`encodeFlowDelimited`). `Message.Flows` is field 1, length-delimited, so a Message holding
 * some flows is, for each of them, the key byte 0x0a followed by its record: the bytes an agent
 * sends are the records the tables gave, plus one byte a flow.
 */
import type { Stats } from '../flow/types.js';
import { encodeMessage } from './protobuf.js';

/** Key of Message field 1 (Flows), wire type 2 (length-delimited). */
const FLOWS_KEY = 0x0a;

/** A Message whose Flows are `records` (length-delimited Flow records), in order. */
export function messageOfRecords(records: readonly Uint8Array[]): Buffer {
  let size = records.length;
  for (const r of records) size += r.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of records) {
    out[at++] = FLOWS_KEY;
    out.set(r, at);
    at += r.length;
  }
  return out;
}

/** A Message holding only `stats`, as Skydive's agents send them. */
export function messageOfStats(stats: Stats): Buffer {
  const bytes = encodeMessage([], stats);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
