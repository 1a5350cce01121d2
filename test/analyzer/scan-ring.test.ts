/**
 * A datagram ring with scan rows: the writer scans each flow.Message in place, the reader hands
 * the scan on, and a store fed those scans ends up exactly as one fed the bytes (flows, history,
 * indexes, counters), across many wraps of the bytes and of the rows. What the writer cannot
 * scan (malformed, with Stats, more records than free rows) goes unscanned, for the reader to
 * scan and judge itself.
 */
import t from 'tap';
import { createDatagramRing, DatagramRingReader, DatagramRingWriter } from '../../src/analyzer/datagram-ring.js';
import type { Flow, Stats } from '../../src/flow/types.js';
import { encodeMessage } from '../../src/format/protobuf.js';
import { MessageFormatError } from '../../src/format/proto-cursor.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import type { MessageScan } from '../../src/store/record-scan.js';
import { INDEXED_FIELDS } from '../../src/store/types.js';
import { nextUpdate, prng } from '../../bench/query-flows.js';
import { makeFlows } from '../query/flow-fixture.js';

/** Everything a store shows: each flow with its history in order, each index's lists, the counters. */
function snapshot(store: MemoryFlowStore): string {
  const flows = [...store.scan()].map((e) => ({ flow: e.flow, history: e.history() }));
  const lists: string[] = [];
  for (const { flow } of flows) {
    for (const field of INDEXED_FIELDS) {
      const [block, member] = field.split('.');
      const v = member === undefined ? (flow as unknown as Record<string, unknown>)[block]
        : ((flow as unknown as Record<string, Record<string, unknown> | undefined>)[block])?.[member];
      if (typeof v !== 'string' && typeof v !== 'number') continue;
      lists.push(`${field}=${v}:${[...store.lookup(field, v)].map((e) => e.flow.UUID).join(',')}`);
    }
  }
  return JSON.stringify({ flows, lists, stats: store.stats() });
}

/** Messages of 1 to 12 flows: new flows, then updates of flows already sent, some out of order. */
function messages(count: number): { bytes: Uint8Array; flows: Flow[] }[] {
  const r = prng(11);
  const flows = makeFlows(600, 3);
  const latest = new Map<string, Flow>();
  const out: { bytes: Uint8Array; flows: Flow[] }[] = [];
  let next = 0;
  for (let i = 0; i < count; i++) {
    const batch: Flow[] = [];
    const n = 1 + Math.floor(r() * 12);
    for (let k = 0; k < n; k++) {
      let f: Flow;
      if (next < flows.length && (latest.size < 20 || r() < 0.5)) {
        f = flows[next++];
      } else {
        const held = [...latest.values()][Math.floor(r() * latest.size)];
        // An update, or now and then a state older than the one sent (a replayed buffer).
        f = r() < 0.9 ? nextUpdate(held, r) : { ...held, Last: Number(held.Last) - 500 };
      }
      latest.set(f.UUID, f);
      batch.push(f);
    }
    out.push({ bytes: encodeMessage(batch), flows: batch });
  }
  return out;
}

/**
 * Two stores of 400 flows: `direct` for the caller to feed the bytes, `viaRing` fed by
 * `onDatagram` what a ring's reader hands out (the writer's scan when there is one).
 */
function storesToCompare(): {
  direct: MemoryFlowStore; viaRing: MemoryFlowStore; counts: { byWriter: number; byReader: number };
  onDatagram: (sender: number, payload: Buffer, scan: MessageScan | undefined) => void;
} {
  const direct = new MemoryFlowStore({ maxFlows: 400 });
  const viaRing = new MemoryFlowStore({ maxFlows: 400 });
  const counts = { byWriter: 0, byReader: 0 };
  const onDatagram = (_s: number, payload: Buffer, scan: MessageScan | undefined): void => {
    if (scan === undefined) {
      counts.byReader++;
      viaRing.ingest(payload, 0);
    } else {
      counts.byWriter++;
      viaRing.ingestScan(scan, 0);
    }
  };
  return { direct, viaRing, counts, onDatagram };
}

/** 1,500 messages to send through a ring of 16 KB and 64 rows (both wrap often), and the stores to compare. */
function ringAndStores() {
  const ring = createDatagramRing(16384, 64);
  return { writer: new DatagramRingWriter(ring), reader: new DatagramRingReader(ring), ...storesToCompare(), all: messages(1500) };
}

t.test('a store fed the writer\'s scans equals one fed the bytes, across wraps of bytes and rows', async (t) => {
  // 64 rows against messages of up to 12 flows: the rows wrap every few messages.
  const { writer, reader, direct, viaRing, counts, onDatagram, all } = ringAndStores();
  let sent = 0;
  while (sent < all.length) {
    // A few in, a few out: the reader stays behind the writer by a varying amount.
    const burst = 1 + (sent % 7);
    for (let i = 0; i < burst && sent < all.length; i++) {
      if (!writer.push(0, all[sent].bytes)) break;
      direct.ingest(all[sent].bytes, 0);
      sent++;
    }
    reader.drain(1 + (sent % 5), onDatagram, () => undefined);
  }
  while (!reader.empty) reader.drain(100, onDatagram, () => undefined);
  t.equal(reader.dropped, 0);
  t.equal(counts.byWriter + counts.byReader, all.length, 'every message came out');
  t.ok(counts.byWriter > 0.9 * all.length, `nearly all were scanned by the writer (${counts.byWriter} of ${all.length})`);
  t.ok(viaRing.stats().evicted > 0 && viaRing.stats().updated > 0, 'evictions and updates happened');
  t.equal(snapshot(viaRing), snapshot(direct), 'same flows, histories, indexes and counters');
});

t.test('datagrams pushed for later: the writer scans those the reader has not taken, the reader the rest', async (t) => {
  const { writer, reader, direct, viaRing, counts, onDatagram, all } = ringAndStores();
  const r = prng(5);
  let sent = 0, scannedLater = 0;
  while (sent < all.length) {
    // Pushes, scans of what waits and reads in random measure: the writer is now ahead of the
    // reader, now behind it, and the bytes and rows wrap many times.
    for (let i = Math.floor(r() * 6); i > 0 && sent < all.length; i--) {
      if (!writer.push(0, all[sent].bytes, 'later')) break;
      direct.ingest(all[sent].bytes, 0);
      sent++;
    }
    scannedLater += writer.scanLater(Math.floor(r() * 5));
    reader.drain(Math.floor(r() * 6), onDatagram, () => undefined);
  }
  scannedLater += writer.scanLater(1000);
  while (!reader.empty) reader.drain(100, onDatagram, () => undefined);
  const { byWriter, byReader } = counts;
  t.equal(byWriter + byReader, all.length, 'every message came out once');
  // A scan may find no free rows (the reader behind): that message goes to the reader unscanned.
  t.ok(byWriter <= scannedLater && byWriter > 0.8 * scannedLater, `the reader was given the scans the writer made (${byWriter} of ${scannedLater})`);
  t.ok(byWriter > 100 && byReader > 100, `each side scanned its share (writer ${byWriter}, reader ${byReader})`);
  t.equal(writer.scanLater(10), 0, 'nothing is left to scan once all is read');
  t.equal(snapshot(viaRing), snapshot(direct), 'same flows, histories, indexes and counters');
});

t.test('what the writer cannot scan goes unscanned, and the reader judges it', async (t) => {
  const ring = createDatagramRing(65536, 16);
  const writer = new DatagramRingWriter(ring);
  const reader = new DatagramRingReader(ring);
  const flows = makeFlows(40, 9);
  const stats: Stats = { CaptureID: 'cap-1', FlowCount: 4, FlowDropped: 0, KernelFlowDropped: 0, PacketsReceived: 10, PacketsDropped: 1, DecodeFailures: 0 };
  const malformed = Uint8Array.from([0x0a, 0x20, 0x01]);
  const sent = [
    encodeMessage(flows.slice(0, 3)),
    encodeMessage(flows.slice(3, 5), stats),
    malformed,
    encodeMessage(flows.slice(5, 25)),
    new Uint8Array(0),
    encodeMessage(flows.slice(25, 27)),
  ];
  for (const m of sent) t.ok(writer.push(1, m));
  const got: { rows: number | undefined; bytes: number }[] = [];
  const store = new MemoryFlowStore();
  let refused = '';
  reader.drain(10, (_s, payload, scan) => {
    got.push({ rows: scan?.count, bytes: payload.length });
    if (scan !== undefined) {
      store.ingestScan(scan);
      return;
    }
    try {
      const r = store.ingest(payload);
      t.equal(r.stats !== undefined, payload.length === sent[1].length, 'Stats only in the message that had them');
    } catch (err) {
      t.ok(err instanceof MessageFormatError);
      refused = (err as Error).message;
    }
  }, () => undefined);
  t.same(got, [
    { rows: 3, bytes: sent[0].length },
    { rows: undefined, bytes: sent[1].length },
    { rows: undefined, bytes: 3 },
    { rows: undefined, bytes: sent[3].length },
    { rows: 0, bytes: 0 },
    { rows: 2, bytes: sent[5].length },
  ], 'Stats, malformed and 20 flows against 16 rows unscanned; the empty probe scanned as no rows');
  t.match(refused, /truncated/);
  t.equal(store.size, 27, 'every flow of the well-formed messages stored');
});
