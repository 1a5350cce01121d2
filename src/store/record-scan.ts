/**
 * What the flow store needs from a `flow.Message`, read in one pass over its bytes without
 * building Flow objects: where each Flow record lies, where its indexed strings lie, its ports,
 * Start, Last and LastUpdateMetric. The store keeps the record bytes as they came and decodes a
 * Flow only when a query or a subscriber asks for it (format/message-reader.ts).
 *
 * The scan accepts exactly what `readFlowMessage` accepts: it walks every field with the same
 * wire primitives and checks the same enum ranges, so a message is refused whole (throws
 * MessageFormatError) before the store is touched, and a record it kept always decodes later.
 * Flows with the rare parts (LastRawPackets, DHCPv4, DNS, VRRPv2) are checked, as by the reader,
 * with the reference decoder.
 */
import type { Stats } from '../flow/types.js';
import { readStats, readTransportNumbers, TRANSPORT_A, TRANSPORT_B } from '../format/message-reader.js';
import { decodeFlow } from '../format/protobuf.js';
import { hashBytes, hashNumber } from './hash-index.js';
import { SECONDARY_FIELDS } from './types.js';
import {
  asBuffer, Cursor, FLOW_PROTOCOLS, ICMP_TYPES, int64, key, length, MessageFormatError, isRareFlowField, skip,
  varint32, WIRE_LEN, WIRE_VARINT,
} from '../format/proto-cursor.js';

/**
 * The indexed text fields, in the order of the store's key columns. UUID first; the others in
 * SECONDARY_FIELDS order (index-keys.ts) minus the two ports.
 */
export const TEXT_KEYS = [
  'UUID', 'TrackingID', 'L3TrackingID', 'ParentUUID', 'NodeTID', 'CaptureID', 'Link.A', 'Link.B',
  'Network.A', 'Network.B', 'LayersPath', 'Application',
] as const;
export const K_UUID = 0;
const K_TRACKING = 1, K_L3 = 2, K_PARENT = 3, K_NODE = 4, K_CAPTURE = 5, K_LINK_A = 6, K_LINK_B = 7;
const K_NET_A = 8, K_NET_B = 9, K_LAYERS = 10, K_APP = 11;
export const TEXT_KEY_COUNT = TEXT_KEYS.length;

/** Order of a metric's numbers in the scan's `lum` and `readMetricInto`'s output (FlowMetric fields 2..8). */
export const M_AB_PACKETS = 0, M_AB_BYTES = 1, M_BA_PACKETS = 2, M_BA_BYTES = 3, M_START = 4, M_LAST = 5, M_RTT = 6;
export const METRIC_NUMBERS = 7;

/**
 * Sub-messages whose place the scan notes, for queries that read them from many records
 * (record-view.ts): Link, Network, Transport, Metric, in this order.
 */
export const PLACED_FIELDS = [20, 21, 22, 32] as const;
export const PLACED_COUNT = PLACED_FIELDS.length;

/** Hashes kept per row: the UUID's, then one per secondary index (SECONDARY_FIELDS order). */
export const HASHES_PER_RECORD = 1 + SECONDARY_FIELDS.length;
/** What each secondary index reads: a text key column (TEXT_KEYS), or a port column. */
export const PORT_A = -1;
export const PORT_B = -2;
export const SOURCE_OF: readonly number[] = SECONDARY_FIELDS.map((f) =>
  f === 'Transport.A' ? PORT_A : f === 'Transport.B' ? PORT_B : TEXT_KEYS.indexOf(f));

/** The columns of a scan, with the elements each takes per row. */
const COLUMNS = [
  ['recStart', Int32Array, 1], ['recEnd', Int32Array, 1], ['keyStart', Int32Array, TEXT_KEY_COUNT],
  ['keyLen', Int32Array, TEXT_KEY_COUNT], ['portA', Float64Array, 1], ['portB', Float64Array, 1],
  ['start', Float64Array, 1], ['last', Float64Array, 1], ['lumStart', Int32Array, 1], ['lumEnd', Int32Array, 1],
  ['lum', Float64Array, METRIC_NUMBERS], ['placedStart', Int32Array, PLACED_COUNT], ['placedLen', Int32Array, PLACED_COUNT],
  ['hashes', Int32Array, HASHES_PER_RECORD], ['rare', Uint8Array, 1],
] as const;
type ColumnName = (typeof COLUMNS)[number][0];

/** Bytes one column's block takes for `rows` rows, 8-byte aligned so that the next one is. */
function columnBytes(kind: (typeof COLUMNS)[number][1], per: number, rows: number): number {
  return Math.ceil((rows * per * kind.BYTES_PER_ELEMENT) / 8) * 8;
}

/** Bytes the columns of a scan of `rows` rows take. */
function sharedBytes(rows: number): number {
  let bytes = 0;
  for (const [, kind, per] of COLUMNS) bytes += columnBytes(kind, per, rows);
  return bytes;
}

/**
 * The scan's rows ran out of room: a shared scan (`MessageScan.over`) has a fixed number of rows,
 * and a message is scanned into rows below the limit its writer gave.
 */
export class ScanRowsFull extends Error {
  override readonly name = 'ScanRowsFull';
}

/**
 * The scan of one message: a row per Flow record, in message order, rows [first, first + count).
 * Reused from message to message. A scan made by `read` starts at row 0 and grows as needed;
 * a shared one (`over`) lies in a SharedArrayBuffer that another thread scans into (see
 * analyzer/datagram-ring.ts), its rows a ring that messages take in turn.
 */
export class MessageScan {
  buf: Buffer = Buffer.alloc(0);
  /** Row of the message's first record. */
  first = 0;
  count = 0;
  stats: Stats | undefined = undefined;
  /** Whether `hashes` holds every row's hashes (`hashRows` ran: a scanning thread does). */
  hashesReady = false;
  private capacity = 0;
  /** Rows at and past this one are refused (ScanRowsFull): a shared scan's free rows end there. */
  private limit = Infinity;
  private readonly shared: boolean;
  /** Record bytes [recStart, recEnd) in `buf`. */
  recStart: Int32Array<ArrayBuffer> = new Int32Array(0);
  recEnd: Int32Array<ArrayBuffer> = new Int32Array(0);
  /** Text keys: TEXT_KEY_COUNT per record, absolute offsets in `buf`; length 0 for "" or absent. */
  keyStart: Int32Array<ArrayBuffer> = new Int32Array(0);
  keyLen: Int32Array<ArrayBuffer> = new Int32Array(0);
  /** Transport.A and .B; NaN when the flow has no Transport. */
  portA: Float64Array<ArrayBuffer> = new Float64Array(0);
  portB: Float64Array<ArrayBuffer> = new Float64Array(0);
  start: Float64Array<ArrayBuffer> = new Float64Array(0);
  last: Float64Array<ArrayBuffer> = new Float64Array(0);
  /** LastUpdateMetric sub-message [lumStart, lumEnd) in `buf`; lumStart -1 when absent. */
  lumStart: Int32Array<ArrayBuffer> = new Int32Array(0);
  lumEnd: Int32Array<ArrayBuffer> = new Int32Array(0);
  /** LastUpdateMetric's numbers, METRIC_NUMBERS per record (M_* order); zeros when absent. */
  lum: Float64Array<ArrayBuffer> = new Float64Array(0);
  /** PLACED_COUNT per record: each placed sub-message's bytes (absolute start; -1 when absent) and length. */
  placedStart: Int32Array<ArrayBuffer> = new Int32Array(0);
  placedLen: Int32Array<ArrayBuffer> = new Int32Array(0);
  /** 1 when the record has a rare part (the reader decodes it whole). */
  rare: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  /** HASHES_PER_RECORD per row: the UUID's hash, then each secondary value's (see `hashRows`). */
  hashes: Int32Array<ArrayBuffer> = new Int32Array(0);

  /**
   * `memory` and `rows`: a shared scan of that many rows in `memory` (from `sharedMemory`), fixed;
   * without: a scan of this thread's own that grows as needed. Both keep their columns in a
   * SharedArrayBuffer: a store given scans of both kinds then reads one kind of typed array (two
   * kinds made its loops polymorphic, and slower).
   */
  constructor(memory?: SharedArrayBuffer, rows = 0) {
    this.shared = memory !== undefined;
    if (memory !== undefined) this.layOut(memory, rows, false);
    else this.layOut(new SharedArrayBuffer(sharedBytes(128)), 128, false);
  }

  /** Points the columns into `memory`, for `rows` rows; `keep`: copying what they held. */
  private layOut(memory: SharedArrayBuffer, rows: number, keep: boolean): void {
    let at = 0;
    const self = this as unknown as Record<ColumnName, Int32Array | Float64Array | Uint8Array>;
    for (const [name, kind, per] of COLUMNS) {
      const column = new (kind as unknown as new (b: SharedArrayBuffer, at: number, n: number) => Int32Array)(memory, at, rows * per);
      if (keep) column.set(self[name] as Int32Array);
      self[name] = column;
      at += columnBytes(kind, per, rows);
    }
    this.capacity = rows;
  }

  /**
   * The reading side of a shared scan: the message another thread scanned (and hashed) into
   * rows [first, first + count), its offsets in `buf`.
   */
  scanned(buf: Buffer, first: number, count: number): void {
    this.buf = buf;
    this.first = first;
    this.count = count;
    this.stats = undefined;
    this.hashesReady = true;
  }

  /** Memory for a shared scan of `rows` rows: give it to `new MessageScan` on both sides. */
  static sharedMemory(rows: number): SharedArrayBuffer {
    return new SharedArrayBuffer(sharedBytes(rows));
  }

  /** Scans `bytes` (a whole flow.Message) into rows from 0. Throws MessageFormatError on malformed input. */
  read(bytes: Uint8Array): void {
    const buf = asBuffer(bytes);
    this.readAt(buf, 0, buf.length, 0, Infinity);
  }

  /**
   * Scans the flow.Message at [start, end) of `buf` into rows from `first`, below `limit`
   * (ScanRowsFull past it). Offsets in the columns are offsets in `buf`.
   */
  readAt(buf: Buffer, start: number, end: number, first: number, limit: number): void {
    this.buf = buf;
    this.first = first;
    this.limit = limit;
    this.count = 0;
    this.stats = undefined;
    this.hashesReady = false;
    const c = new Cursor(buf, start, end);
    for (let k = key(c); k !== 0; k = key(c)) {
      const wire = k & 7;
      const field = k >>> 3;
      if (wire === WIRE_LEN && field === 1) {
        const n = length(c);
        const end = c.end;
        c.end = c.pos + n;
        this.record(c);
        c.pos = c.end;
        c.end = end;
      } else if (wire === WIRE_LEN && field === 2) {
        this.stats = readStats(c);
      } else {
        skip(c, wire);
      }
    }
  }

  private row(): number {
    const r = this.first + this.count;
    if (r >= this.limit) throw new ScanRowsFull(`no room for row ${r} (rows below ${this.limit})`);
    if (r >= this.capacity) {
      if (this.shared) throw new ScanRowsFull(`a shared scan has ${this.capacity} rows`);
      this.grow(Math.max(128, 2 * this.capacity));
    }
    this.count++;
    return r;
  }

  /** Hashes row `r`'s UUID into `hashes`: what the store's UUID index is probed with. */
  hashUUID(r: number): void {
    const kb = r * TEXT_KEY_COUNT;
    const u = this.keyStart[kb + K_UUID];
    this.hashes[r * HASHES_PER_RECORD] = hashBytes(this.buf, u, u + this.keyLen[kb + K_UUID]);
  }

  /** Hashes each secondary value of row `r` (an absent one: the hash of nothing) into `hashes`. */
  hashSecondary(r: number): void {
    const buf = this.buf;
    const at = r * HASHES_PER_RECORD;
    const kb = r * TEXT_KEY_COUNT;
    for (let i = 0; i < SOURCE_OF.length; i++) {
      const src = SOURCE_OF[i];
      let h = 0;
      if (src < 0) {
        const v = src === PORT_A ? this.portA[r] : this.portB[r];
        if (!Number.isNaN(v)) h = hashNumber(v);
      } else {
        const s = this.keyStart[kb + src];
        h = hashBytes(buf, s, s + this.keyLen[kb + src]);
      }
      this.hashes[at + 1 + i] = h;
    }
  }

  /** Hashes every row of the message, all values (a scanning thread does, off the store's thread). */
  hashRows(): void {
    for (let r = this.first; r < this.first + this.count; r++) {
      this.hashUUID(r);
      this.hashSecondary(r);
    }
    this.hashesReady = true;
  }

  private grow(capacity: number): void {
    this.layOut(new SharedArrayBuffer(sharedBytes(capacity)), capacity, true);
  }

  /** One Flow record, its bytes at [c.pos, c.end): the checks of message-reader.ts' `flow`. */
  private record(c: Cursor): void {
    const r = this.row();
    const begin = c.pos;
    this.recStart[r] = begin;
    this.recEnd[r] = c.end;
    const kb = r * TEXT_KEY_COUNT;
    const ks = this.keyStart;
    const kl = this.keyLen;
    // Loops, not TypedArray.fill: a call of fill costs more than these few stores.
    for (let i = kb; i < kb + TEXT_KEY_COUNT; i++) {
      ks[i] = 0;
      kl[i] = 0;
    }
    for (let i = r * PLACED_COUNT; i < (r + 1) * PLACED_COUNT; i++) this.placedStart[i] = -1;
    this.portA[r] = NaN;
    this.portB[r] = NaN;
    let fStart = 0, fLast = 0;
    let lum = -1, lumEnd = 0;
    let rare = false;
    for (let k = key(c); k !== 0; k = key(c)) {
      const wire = k & 7;
      const field = k >>> 3;
      if (wire === WIRE_LEN) {
        let slot = -1;
        switch (field) {
          case 1: slot = K_UUID; break;
          case 2: slot = K_LAYERS; break;
          case 3: slot = K_APP; break;
          case 6: slot = K_PARENT; break;
          case 33: slot = K_NODE; break;
          case 34: slot = K_CAPTURE; break;
          case 50: slot = K_TRACKING; break;
          case 51: slot = K_L3; break;
          case 20: this.place(c, r, 0); this.layer(c, kb + K_LINK_A, kb + K_LINK_B); continue;
          case 21: this.place(c, r, 1); this.layer(c, kb + K_NET_A, kb + K_NET_B); continue;
          case 22: this.place(c, r, 2); this.transport(c, r); continue;
          case 23: within(c, icmp); continue;
          case 31: {
            const n = length(c);
            lum = c.pos;
            lumEnd = c.pos + n;
            const end = c.end;
            c.end = lumEnd;
            metricNumbers(c, this.lum, r * METRIC_NUMBERS);
            c.pos = lumEnd;
            c.end = end;
            continue;
          }
          case 32: this.place(c, r, 3); within(c, integers); continue;
          case 38: case 39: within(c, integers); continue;
        }
        if (slot >= 0) {
          const n = length(c);
          ks[kb + slot] = c.pos;
          kl[kb + slot] = n;
          c.pos += n;
          continue;
        }
      } else if (wire === WIRE_VARINT) {
        switch (field) {
          case 10: fStart = Number(int64(c)); continue;
          case 11: fLast = Number(int64(c)); continue;
          case 37: case 60: varint32(c); continue;
        }
      }
      if (isRareFlowField(field)) rare = true;
      skip(c, wire);
    }
    this.rare[r] = rare ? 1 : 0;
    if (rare) {
      try {
        decodeFlow(c.buf.subarray(begin, c.end));
      } catch (err) {
        throw new MessageFormatError(`bad flow: ${(err as Error).message}`);
      }
    }
    this.start[r] = fStart;
    this.last[r] = fLast;
    this.lumStart[r] = lum;
    this.lumEnd[r] = lumEnd;
    if (lum < 0) for (let i = r * METRIC_NUMBERS; i < (r + 1) * METRIC_NUMBERS; i++) this.lum[i] = 0;
  }

  /**
   * Notes where the length-delimited field at the cursor lies (the last one of a field wins, as
   * in the reader); the cursor does not move.
   */
  private place(c: Cursor, r: number, i: number): void {
    const at = c.pos;
    const n = length(c);
    this.placedStart[r * PLACED_COUNT + i] = c.pos;
    this.placedLen[r * PLACED_COUNT + i] = n;
    c.pos = at;
  }

  /** A FlowLayer (Link, Network): A and B located, the protocol checked. */
  private layer(c: Cursor, at: number, bt: number): void {
    const n = length(c);
    const end = c.end;
    c.end = c.pos + n;
    let protocol = 0;
    let aPos = 0, aLen = 0, bPos = 0, bLen = 0;
    for (let k = key(c); k !== 0; k = key(c)) {
      const wire = k & 7;
      switch (k >>> 3) {
        case 1: if (wire === WIRE_VARINT) { protocol = varint32(c) | 0; continue; } break;
        case 3: if (wire === WIRE_LEN) { aLen = length(c); aPos = c.pos; c.pos += aLen; continue; } break;
        case 4: if (wire === WIRE_LEN) { bLen = length(c); bPos = c.pos; c.pos += bLen; continue; } break;
      }
      skip(c, wire);
    }
    checkEnum(FLOW_PROTOCOLS.length, protocol, 'FlowProtocol');
    this.keyStart[at] = aPos;
    this.keyLen[at] = aLen;
    this.keyStart[bt] = bPos;
    this.keyLen[bt] = bLen;
    c.pos = c.end;
    c.end = end;
  }

  private transport(c: Cursor, r: number): void {
    // The reader's own reading, and its checks.
    const n = length(c);
    const end = c.end;
    c.end = c.pos + n;
    const t = readTransportNumbers(c);
    this.portA[r] = t[TRANSPORT_A];
    this.portB[r] = t[TRANSPORT_B];
    c.pos = c.end;
    c.end = end;
  }
}

function checkEnum(size: number, value: number, what: string): void {
  if (value < 0 || value >= size) throw new MessageFormatError(`${what} has no value ${value}`);
}

/** Checks the length-delimited sub-message at the cursor with `check`. */
function within(c: Cursor, check: (c: Cursor) => void): void {
  const n = length(c);
  const end = c.end;
  c.end = c.pos + n;
  check(c);
  c.pos = c.end;
  c.end = end;
}

function icmp(c: Cursor): void {
  let type = 0;
  for (let k = key(c); k !== 0; k = key(c)) {
    const wire = k & 7;
    if (wire === WIRE_VARINT) {
      switch (k >>> 3) {
        case 1: type = varint32(c) | 0; continue;
      }
    }
    skip(c, wire);
  }
  checkEnum(ICMP_TYPES.length, type, 'ICMPType');
}

/**
 * FlowMetric, TCPMetric, IPMetric: messages of integers only, which the reader takes from any
 * varint of at most 10 bytes (int64 or uint32 alike) and skips with any other wire type; so
 * checking one is skipping each of its fields.
 */
function integers(c: Cursor): void {
  for (let k = key(c); k !== 0; k = key(c)) skip(c, k & 7);
}

/**
 * The FlowMetric at [start, end) of `buf` (a LastUpdateMetric the scan located, so well-formed)
 * into `out` as numbers, without an object: the store compares and keeps deltas as numbers.
 */
export function readMetricInto(buf: Buffer, start: number, end: number, out: Float64Array): void {
  metricNumbers(new Cursor(buf, start, end), out, 0);
}

/** A FlowMetric's numbers (checked as `metric` does) into out[at..at + METRIC_NUMBERS). */
function metricNumbers(c: Cursor, out: Float64Array, at: number): void {
  for (let i = at; i < at + METRIC_NUMBERS; i++) out[i] = 0;
  for (let k = key(c); k !== 0; k = key(c)) {
    const wire = k & 7;
    const field = k >>> 3;
    if (wire === WIRE_VARINT && field >= 2 && field <= 8) out[at + field - 2] = Number(int64(c));
    else skip(c, wire);
  }
}
