/**
 * CaptureReader tests. Every capture is built byte by byte here (see the builders below), so
 * each expected timestamp, length and link type is known exactly; the corpus test at the end
 * cross-checks packet counts on real captures from other projects.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeAddon } from '../../src/native-addon.js';
import {
  CaptureReader,
  FRAMES_BATCH,
  FRAMES_PCAP_BE,
  FRAMES_PCAP_LE,
  frameTimeMs,
  RECORD_HEADER_SIZE,
  recordSize,
  type ReadResult,
} from '../../src/capture/pcapfile.js';

// ---------------------------------------------------------------------------------------------
// Byte builders

const u16 = (v: number, le: boolean): Buffer => {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
};
const u32 = (v: number, le: boolean): Buffer => {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v);
  else b.writeUInt32BE(v);
  return b;
};
const i64 = (v: bigint, le: boolean): Buffer => {
  const b = Buffer.alloc(8);
  if (le) b.writeBigInt64LE(v);
  else b.writeBigInt64BE(v);
  return b;
};
const pad4 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
/** Deterministic packet data: `len` bytes starting at `seed`. */
const payload = (len: number, seed: number): Buffer => Buffer.from(Array.from({ length: len }, (_, i) => (seed + i * 7) & 0xff));

interface PcapPacket {
  sec: number;
  frac: number;
  data: Buffer;
  wirelen?: number;
}

/** Classic pcap: 24-byte file header, then per packet ts_sec, ts_frac, incl_len, orig_len, data. */
function pcapFile(o: { le: boolean; nano: boolean; linkType: number; packets: PcapPacket[] }): Buffer {
  const { le } = o;
  const header = Buffer.concat([
    u32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4, le),
    u16(2, le), u16(4, le), // version 2.4
    u32(0, le), u32(0, le), // reserved
    u32(65535, le), // snaplen
    u32(o.linkType, le),
  ]);
  const records = o.packets.map((p) =>
    Buffer.concat([u32(p.sec, le), u32(p.frac, le), u32(p.data.length, le), u32(p.wirelen ?? p.data.length, le), p.data]),
  );
  return Buffer.concat([header, ...records]);
}

/** pcapng block: type, total length, body padded to 32 bits, total length. */
function block(type: number, body: Buffer, le: boolean): Buffer {
  const padded = pad4(body);
  const len = 12 + padded.length;
  return Buffer.concat([u32(type, le), u32(len, le), padded, u32(len, le)]);
}
const option = (code: number, value: Buffer, le: boolean): Buffer => pad4(Buffer.concat([u16(code, le), u16(value.length, le), value]));
const endOfOptions = Buffer.alloc(4);

/** Section Header Block, version 1.0, section length -1 (unknown). */
const shb = (le: boolean): Buffer => block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d, le), u16(1, le), u16(0, le), i64(-1n, le)]), le);

/** Interface Description Block; options are already-encoded option() buffers. */
const idb = (le: boolean, linkType: number, snapLen: number, options: Buffer[] = []): Buffer =>
  block(1, Buffer.concat([u16(linkType, le), u16(0, le), u32(snapLen, le), ...options, ...(options.length ? [endOfOptions] : [])]), le);
const tsresol = (code: number, le: boolean): Buffer => option(9, Buffer.from([code]), le);
const tsoffset = (seconds: bigint, le: boolean): Buffer => option(14, i64(seconds, le), le);

const tsWords = (ts: bigint, le: boolean): Buffer => Buffer.concat([u32(Number(ts >> 32n), le), u32(Number(ts & 0xffffffffn), le)]);

/** Enhanced Packet Block; ts is in the interface's units. */
const epb = (le: boolean, ifIndex: number, ts: bigint, data: Buffer, wirelen = data.length, options: Buffer[] = []): Buffer =>
  block(
    6,
    Buffer.concat([u32(ifIndex, le), tsWords(ts, le), u32(data.length, le), u32(wirelen, le), pad4(data), ...options, ...(options.length ? [endOfOptions] : [])]),
    le,
  );

/** Obsolete Packet Block (type 2): 16-bit interface id and drop count. */
const pb = (le: boolean, ifIndex: number, ts: bigint, data: Buffer): Buffer =>
  block(2, Buffer.concat([u16(ifIndex, le), u16(0, le), tsWords(ts, le), u32(data.length, le), u32(data.length, le), data]), le);

/** Simple Packet Block: original length, then the (snaplen-cut) data. */
const spb = (le: boolean, wirelen: number, data: Buffer): Buffer => block(3, Buffer.concat([u32(wirelen, le), data]), le);

// ---------------------------------------------------------------------------------------------
// Reading helpers

const dir = mkdtempSync(join(tmpdir(), 'pcapfile-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
function writeCapture(bytes: Buffer): string {
  const path = join(dir, `capture-${fileCount++}`);
  writeFileSync(path, bytes);
  return path;
}

interface Rec {
  ts: bigint;
  caplen: number;
  wirelen: number;
  linkType: number;
  ifIndex: number;
  data: string;
}

/** Decodes one batch, walking it by recordSize(); checks the zero padding and the total size. */
function decodeBatch(dst: Uint8Array, res: ReadResult): Rec[] {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  const recs: Rec[] = [];
  let at = 0;
  for (let i = 0; i < res.packets; i++) {
    const caplen = view.getUint32(at + 8, true);
    const next = at + recordSize(caplen);
    for (let p = at + RECORD_HEADER_SIZE + caplen; p < next; p++) if (dst[p] !== 0) throw new Error(`non-zero padding at ${p}`);
    recs.push({
      ts: view.getBigInt64(at, true),
      caplen,
      wirelen: view.getUint32(at + 12, true),
      linkType: view.getUint32(at + 16, true),
      ifIndex: view.getUint32(at + 20, true),
      data: Buffer.from(dst.subarray(at + RECORD_HEADER_SIZE, at + RECORD_HEADER_SIZE + caplen)).toString('hex'),
    });
    at = next;
  }
  if (at !== res.bytes) throw new Error(`records end at ${at}, readBatch said ${res.bytes}`);
  return recs;
}

interface ReadAllOptions {
  linkTypeOverride?: number;
  chunkSize?: number;
  dstSize?: number;
  maxPackets?: number;
  /** Batch into a view of WebAssembly memory at this byte offset instead of a plain array. */
  wasmOffset?: number;
}

function batchArray(size: number, wasmOffset: number | undefined): Uint8Array {
  if (wasmOffset === undefined) return new Uint8Array(size);
  const memory = new WebAssembly.Memory({ initial: Math.ceil((wasmOffset + size) / 65536) });
  return new Uint8Array(memory.buffer, wasmOffset, size);
}

/** Reads every record; dst is pre-filled with 0xff so missing padding writes show up. */
async function readAll(path: string, o: ReadAllOptions = {}): Promise<{ recs: Rec[]; batches: ReadResult[]; reader: CaptureReader }> {
  const reader = await CaptureReader.open(path, { linkTypeOverride: o.linkTypeOverride, chunkSize: o.chunkSize });
  const dst = batchArray(o.dstSize ?? 1 << 16, o.wasmOffset);
  const recs: Rec[] = [];
  const batches: ReadResult[] = [];
  try {
    for (;;) {
      dst.fill(0xff);
      const res = await reader.readBatch(dst, o.maxPackets ?? 1000);
      batches.push(res);
      if (res.packets === 0) break;
      recs.push(...decodeBatch(dst, res));
    }
  } finally {
    await reader.close();
  }
  return { recs, batches, reader };
}

const hex = (b: Buffer): string => b.toString('hex');

/** A copy of `bytes` with a little-endian u32 overwritten, to corrupt one header field. */
function patch(bytes: Buffer, offset: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt32LE(value, offset);
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Classic pcap

t.test('pcap: both byte orders, µs and ns', async (t) => {
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      const frac = nano ? 999_999_999 : 999_999;
      const path = writeCapture(
        pcapFile({
          le,
          nano,
          linkType: 1,
          packets: [
            { sec: 1_700_000_000, frac: nano ? 123_456_789 : 123_456, data: payload(60, 1) },
            // ts_sec * 1e9 is far above 2^53: the low digits must survive.
            { sec: 0xffffffff, frac, data: payload(1, 2), wirelen: 1514 },
            { sec: 0, frac: 0, data: payload(0, 3), wirelen: 0 },
            // incl_len > orig_len is kept as given.
            { sec: 1, frac: 1, data: payload(9, 4), wirelen: 5 },
          ],
        }),
      );
      const { recs, reader } = await readAll(path);
      const name = `${le ? 'LE' : 'BE'} ${nano ? 'ns' : 'µs'}`;
      t.equal(reader.format, 'pcap', name);
      t.equal(reader.linkType, 1, name);
      t.strictSame(
        recs,
        [
          { ts: nano ? 1_700_000_000_123_456_789n : 1_700_000_000_123_456_000n, caplen: 60, wirelen: 60, linkType: 1, ifIndex: 0, data: hex(payload(60, 1)) },
          { ts: nano ? 4_294_967_295_999_999_999n : 4_294_967_295_999_999_000n, caplen: 1, wirelen: 1514, linkType: 1, ifIndex: 0, data: hex(payload(1, 2)) },
          { ts: 0n, caplen: 0, wirelen: 0, linkType: 1, ifIndex: 0, data: '' },
          { ts: nano ? 1_000_000_001n : 1_000_001_000n, caplen: 9, wirelen: 5, linkType: 1, ifIndex: 0, data: hex(payload(9, 4)) },
        ],
        name,
      );
      t.same(reader.stats, { packets: 4, bytesRead: readFileSync(path).length, truncatedTail: false, skippedBlocks: 0 }, name);
    }
  }
});

t.test('pcap: link type is the low 16 bits of the header field (FCS bits above are ignored)', async (t) => {
  const fcsInfo = (2 << 28) | (1 << 26); // FCS length 2, "FCS length present" bit
  const path = writeCapture(pcapFile({ le: true, nano: false, linkType: fcsInfo | 101, packets: [{ sec: 1, frac: 0, data: payload(20, 0) }] }));
  const { recs, reader } = await readAll(path);
  t.equal(reader.linkType, 101);
  t.equal(recs[0]?.linkType, 101);
});

t.test('linkTypeOverride replaces the file link type in every record; bad options are RangeErrors', async (t) => {
  const path = writeCapture(pcapFile({ le: true, nano: false, linkType: 1, packets: [{ sec: 1, frac: 0, data: payload(20, 0) }] }));
  const { recs, reader } = await readAll(path, { linkTypeOverride: 12 });
  t.equal(reader.linkType, 12);
  t.equal(recs[0]?.linkType, 12);
  await t.rejects(CaptureReader.open(path, { linkTypeOverride: -1 }), RangeError);
  await t.rejects(CaptureReader.open(path, { chunkSize: 0 }), RangeError);
});

// ---------------------------------------------------------------------------------------------
// pcapng

t.test('pcapng: two interfaces, if_tsresol=9, SPB, obsolete PB, skipped blocks', async (t) => {
  const le = true;
  const path = writeCapture(
    Buffer.concat([
      shb(le),
      idb(le, 1, 64), // interface 0: Ethernet, default µs resolution, snaplen 64
      // interface 1: raw IP, ns resolution, after options that need padding
      idb(le, 101, 0, [option(2, Buffer.from('eth0'), le), option(3, Buffer.from('abc'), le), tsresol(9, le)]),
      epb(le, 0, 1_700_000_000_123_456n, payload(60, 1), 1514),
      epb(le, 1, 1_700_000_000_123_456_789n, payload(41, 2), 41, [option(2, u32(1, le), le)]), // with epb_flags
      block(0x00000bad, payload(10, 3), le), // unknown type: skipped
      block(5, Buffer.alloc(20), le), // Interface Statistics Block: skipped
      spb(le, 100, payload(64, 4)), // cut to the snaplen 64 of interface 0
      spb(le, 3, payload(3, 5)), // data shorter than the block's 32-bit padding
      pb(le, 1, 42n, payload(5, 6)),
    ]),
  );
  const { recs, reader } = await readAll(path);
  t.equal(reader.format, 'pcapng');
  t.equal(reader.linkType, 1);
  t.strictSame(recs, [
    { ts: 1_700_000_000_123_456_000n, caplen: 60, wirelen: 1514, linkType: 1, ifIndex: 0, data: hex(payload(60, 1)) },
    { ts: 1_700_000_000_123_456_789n, caplen: 41, wirelen: 41, linkType: 101, ifIndex: 1, data: hex(payload(41, 2)) },
    { ts: 0n, caplen: 64, wirelen: 100, linkType: 1, ifIndex: 0, data: hex(payload(64, 4)) },
    { ts: 0n, caplen: 3, wirelen: 3, linkType: 1, ifIndex: 0, data: hex(payload(3, 5)) },
    { ts: 42n, caplen: 5, wirelen: 5, linkType: 101, ifIndex: 1, data: hex(payload(5, 6)) },
  ]);
  t.same(reader.stats, { packets: 5, bytesRead: readFileSync(path).length, truncatedTail: false, skippedBlocks: 2 });
});

t.test('pcapng: link type is known right after open, -1 without any interface', async (t) => {
  const le = false;
  const withIdb = await CaptureReader.open(writeCapture(Buffer.concat([shb(le), idb(le, 113, 0), epb(le, 0, 1n, payload(4, 0))])));
  t.equal(withIdb.linkType, 113);
  await withIdb.close();
  const bare = await CaptureReader.open(writeCapture(shb(le)));
  t.equal(bare.linkType, -1);
  t.same(await bare.readBatch(new Uint8Array(64), 1), { packets: 0, bytes: 0 });
  await bare.close();
});

t.test('pcapng: a new section switches byte order and resets interfaces', async (t) => {
  const path = writeCapture(
    Buffer.concat([
      shb(false),
      idb(false, 1, 0),
      epb(false, 0, 2_000_000n, payload(14, 1)),
      shb(true),
      idb(true, 113, 0, [tsresol(3, true)]), // ms
      epb(true, 0, 5n, payload(16, 2)),
    ]),
  );
  const { recs, reader } = await readAll(path);
  t.equal(reader.linkType, 1, 'the first interface of the file');
  t.strictSame(recs, [
    { ts: 2_000_000_000n, caplen: 14, wirelen: 14, linkType: 1, ifIndex: 0, data: hex(payload(14, 1)) },
    { ts: 5_000_000n, caplen: 16, wirelen: 16, linkType: 113, ifIndex: 0, data: hex(payload(16, 2)) },
  ]);
});

t.test('pcapng: binary and sub-ns resolutions, if_tsoffset', async (t) => {
  const le = true;
  const path = writeCapture(
    Buffer.concat([
      shb(le),
      idb(le, 1, 0, [tsresol(0x80 | 20, le)]), // 2^-20 s
      idb(le, 1, 0, [tsresol(12, le)]), // ps
      idb(le, 1, 0, [tsoffset(1_700_000_000n, le)]), // µs, plus an offset in seconds
      idb(le, 1, 0, [tsresol(0, le)]), // whole seconds
      epb(le, 0, (3n << 20n) | (1n << 19n), payload(1, 0)), // 3.5 s
      epb(le, 1, 1_234_567_890_123_456n, payload(1, 0)),
      epb(le, 2, 1_500_000n, payload(1, 0)),
      epb(le, 3, 4_000_000_000n, payload(1, 0)),
    ]),
  );
  const { recs } = await readAll(path);
  t.strictSame(
    recs.map((r) => r.ts),
    [3_500_000_000n, 1_234_567_890_123n, 1_700_000_001_500_000_000n, 4_000_000_000_000_000_000n],
  );
});

// ---------------------------------------------------------------------------------------------
// Chunking and batching

/** Packets of many sizes, so that records and blocks straddle chunk boundaries in every way. */
const variedSizes = Array.from({ length: 60 }, (_, i) => (i * 37) % 301);

t.test('records spanning chunk boundaries read the same with any chunk size and batch placement', async (t) => {
  const pcapPath = writeCapture(
    pcapFile({ le: false, nano: true, linkType: 1, packets: variedSizes.map((len, i) => ({ sec: i, frac: i * 1000 + 7, data: payload(len, i) })) }),
  );
  const le = true;
  const pcapngPath = writeCapture(
    Buffer.concat([
      shb(le),
      idb(le, 1, 0, [tsresol(9, le)]),
      idb(le, 105, 0),
      ...variedSizes.map((len, i) => (i % 5 === 4 ? spb(le, len, payload(len, i)) : epb(le, i % 2, BigInt(i) * 1_000_000_007n, payload(len, i)))),
    ]),
  );
  for (const path of [pcapPath, pcapngPath]) {
    const reference = (await readAll(path)).recs;
    t.equal(reference.length, variedSizes.length);
    t.strictSame(reference.map((r) => r.caplen), variedSizes);
    for (const chunkSize of [7, 64, 1000]) {
      const { recs, reader } = await readAll(path, { chunkSize, dstSize: 1024 });
      t.strictSame(recs, reference, `${reader.format}, chunkSize ${chunkSize}`);
      t.equal(reader.stats.bytesRead, readFileSync(path).length);
    }
    const { recs, reader } = await readAll(path, { dstSize: 4096, wasmOffset: 1004 });
    t.strictSame(recs, reference, `${reader.format}, into WebAssembly memory at an unaligned offset`);
  }
});

t.test('batches are limited by maxPackets and by dst size', async (t) => {
  const path = writeCapture(
    pcapFile({ le: true, nano: false, linkType: 1, packets: Array.from({ length: 10 }, (_, i) => ({ sec: i, frac: 0, data: payload(40, i) })) }),
  );
  const byCount = await readAll(path, { maxPackets: 3 });
  t.strictSame(byCount.batches.map((b) => b.packets), [3, 3, 3, 1, 0]);
  t.equal(byCount.reader.stats.packets, 10);

  t.equal(recordSize(40), 64);
  const bySize = await readAll(path, { dstSize: 200 }); // room for 3 records of 64 bytes
  t.strictSame(bySize.batches, [
    { packets: 3, bytes: 192 },
    { packets: 3, bytes: 192 },
    { packets: 3, bytes: 192 },
    { packets: 1, bytes: 64 },
    { packets: 0, bytes: 0 },
  ]);
  t.strictSame(bySize.recs.map((r) => r.ts), byCount.recs.map((r) => r.ts));

  const reader = await CaptureReader.open(path);
  await t.rejects(reader.readBatch(new Uint8Array(64), 0), RangeError);
  await reader.close();
});

t.test('a record that can never fit in dst is an error naming the packet', async (t) => {
  const path = writeCapture(
    pcapFile({
      le: true,
      nano: false,
      linkType: 1,
      packets: [
        { sec: 1, frac: 0, data: payload(10, 0) },
        { sec: 2, frac: 0, data: payload(10, 0) },
        { sec: 3, frac: 0, data: payload(200, 0) },
      ],
    }),
  );
  const reader = await CaptureReader.open(path);
  const dst = new Uint8Array(128);
  t.same(await reader.readBatch(dst, 10), { packets: 2, bytes: 80 });
  await t.rejects(reader.readBatch(dst, 10), { name: 'CaptureFormatError', message: /packet 3 has 200 captured bytes/ });
  await reader.close();
});

// ---------------------------------------------------------------------------------------------
// readFrames: classic pcap records as they are on disk, pcapng as batch records

/**
 * Reads every frame with readFrames into a `dstSize` buffer; raw pcap records are turned into Recs here.
 * `nativeRead`: the records of a chunk counted by the native addon, or in JavaScript.
 */
async function readAllFrames(path: string, dstSize: number, maxPackets = 1000, nativeRead = true): Promise<{ recs: Rec[]; reader: CaptureReader; chunks: number }> {
  const reader = await CaptureReader.open(path, { nativeRead });
  const dst = new Uint8Array(dstSize);
  const recs: Rec[] = [];
  let chunks = 0;
  try {
    for (;;) {
      const res = await reader.readFrames(dst, maxPackets);
      if (res.packets === 0) break;
      chunks++;
      if (reader.framesFormat === FRAMES_BATCH) { recs.push(...decodeBatch(dst, res)); continue; }
      const le = reader.framesFormat === FRAMES_PCAP_LE;
      const view = new DataView(dst.buffer, dst.byteOffset, res.bytes);
      let p = 0;
      for (let i = 0; i < res.packets; i++) {
        const caplen = view.getUint32(p + 8, le);
        const ts = BigInt(view.getUint32(p, le)) * 1_000_000_000n + BigInt(view.getUint32(p + 4, le) * reader.fracToNs);
        t.equal(frameTimeMs(reader.framesFormat, view, p, reader.fracToNs), Number(ts / 1_000_000n), 'frameTimeMs');
        recs.push({ ts, caplen, wirelen: view.getUint32(p + 12, le), linkType: reader.linkType, ifIndex: 0, data: hex(Buffer.from(dst.subarray(p + 16, p + 16 + caplen))) });
        p += 16 + caplen;
      }
      t.equal(p, res.bytes, 'whole records only');
    }
  } finally {
    await reader.close();
  }
  return { recs, reader, chunks };
}

/** Both ways of counting a chunk's records; the native one must be there in CI (npm run build makes it). */
const READS: [string, boolean][] = [['native', true], ['JavaScript', false]];

t.test('the native addon that counts records is built', { skip: process.env.CI ? false : 'outside CI, the JavaScript count is the fallback' }, async (t) => {
  t.type(nativeAddon().readRecords, 'function');
});

t.test('readFrames: raw pcap records carry the same packets as readBatch, in any chunk size', async (t) => {
  for (const [how, nativeRead] of READS) for (const le of [true, false]) {
    for (const nano of [false, true]) {
      const packets = Array.from({ length: 25 }, (_, i) => ({ sec: 1_700_000_000 + i, frac: nano ? 999_999_999 - i : 999_999 - i, data: payload(i * 7, i), wirelen: i * 7 + 3 }));
      const path = writeCapture(pcapFile({ le, nano, linkType: 113, packets }));
      const { recs: expected } = await readAll(path);
      for (const dstSize of [200, 4096]) {
        const { recs, reader, chunks } = await readAllFrames(path, dstSize, 7, nativeRead);
        const name = `${how}: ${le ? 'LE' : 'BE'} ${nano ? 'ns' : 'µs'} dst ${dstSize}`;
        t.equal(reader.framesFormat, le ? FRAMES_PCAP_LE : FRAMES_PCAP_BE, name);
        t.equal(reader.fracToNs, nano ? 1 : 1000, name);
        t.strictSame(recs, expected, name);
        t.ok(chunks >= 4, `${name}: ${chunks} chunks`);
        t.same(reader.stats, { packets: 25, bytesRead: readFileSync(path).length, truncatedTail: false, skippedBlocks: 0 }, name);
      }
    }
  }
});

t.test('readFrames: pcapng gives batch records', async (t) => {
  const le = true;
  const path = writeCapture(Buffer.concat([shb(le), idb(le, 1, 0), epb(le, 0, 5n, payload(30, 1)), epb(le, 0, 6n, payload(31, 2))]));
  const { recs: expected } = await readAll(path);
  const { recs, reader } = await readAllFrames(path, 4096);
  t.equal(reader.framesFormat, FRAMES_BATCH);
  t.strictSame(recs, expected);
});

t.test('readFrames: truncated tail, oversized and corrupt records', async (t) => {
  const packets = [0, 1, 2].map((i) => ({ sec: i, frac: 0, data: payload(50, i) }));
  const whole = pcapFile({ le: true, nano: false, linkType: 1, packets });
  for (const [how, nativeRead] of READS) {
    for (const cut of [5, 60]) {
      const { recs, reader } = await readAllFrames(writeCapture(whole.subarray(0, whole.length - cut)), 100, 1000, nativeRead);
      t.equal(recs.length, 2, `${how}: cut by ${cut}`);
      t.equal(reader.stats.truncatedTail, true, `${how}: cut by ${cut}`);
    }
    await t.rejects(readAllFrames(writeCapture(whole), 60, 1000, nativeRead), { name: 'CaptureFormatError', message: /packet 1 has 50 captured bytes; its record cannot fit in a 60-byte batch/ }, how);
    await t.rejects(readAllFrames(writeCapture(patch(whole, 24 + 66 + 8, 0x7fffffff)), 4096, 1000, nativeRead),
      { name: 'CaptureFormatError', message: /packet 2 claims 2147483647 captured bytes .* corrupt record header/ }, how);
    // A corrupt record after whole ones, in a later chunk: its number counts the packets before.
    await t.rejects(readAllFrames(writeCapture(patch(whole, 24 + 2 * 66 + 8, 0x7fffffff)), 70, 1000, nativeRead),
      { name: 'CaptureFormatError', message: /packet 3 claims 2147483647 captured bytes .* corrupt record header/ }, how);
  }
});

// ---------------------------------------------------------------------------------------------
// Truncated and corrupt files

t.test('a file cut inside a record stops cleanly with truncatedTail', async (t) => {
  const packets = [0, 1, 2].map((i) => ({ sec: i, frac: 0, data: payload(50, i) }));
  const le = true;
  const epbs = packets.map((p, i) => epb(le, 0, BigInt(i), p.data));
  const files = [
    { name: 'pcap', whole: pcapFile({ le, nano: false, linkType: 1, packets }), lastSize: 16 + 50 },
    { name: 'pcapng', whole: Buffer.concat([shb(le), idb(le, 1, 0), ...epbs]), lastSize: epbs[2]!.length },
  ];
  for (const { name, whole, lastSize } of files) {
    // Cut in the last record's data, then in its header.
    for (const cut of [5, lastSize - 6]) {
      const { recs, reader } = await readAll(writeCapture(whole.subarray(0, whole.length - cut)), { chunkSize: 64 });
      t.equal(recs.length, 2, `${name} cut by ${cut}`);
      t.equal(reader.stats.truncatedTail, true, `${name} cut by ${cut}`);
    }
    const { recs, reader } = await readAll(writeCapture(whole));
    t.equal(recs.length, 3, `${name} whole`);
    t.equal(reader.stats.truncatedTail, false, `${name} whole`);
  }
});

t.test('not a capture: empty, too short, unknown magic, missing file', async (t) => {
  await t.rejects(CaptureReader.open(writeCapture(Buffer.alloc(0))), { name: 'CaptureFormatError', message: /^empty capture file: / });
  await t.rejects(CaptureReader.open(writeCapture(Buffer.from([0xd4, 0xc3]))), { name: 'CaptureFormatError', message: /too short/ });
  await t.rejects(CaptureReader.open(writeCapture(u32(0xa1b2c3d4, true))), { name: 'CaptureFormatError', message: /too short for a pcap header/ });
  await t.rejects(CaptureReader.open(writeCapture(shb(true).subarray(0, 8))), { name: 'CaptureFormatError', message: /too short for a pcapng header/ });
  const junk = writeCapture(Buffer.from('GET / HTTP/1.1\r\n'));
  await t.rejects(CaptureReader.open(junk), { name: 'CaptureFormatError', message: `not a pcap or pcapng capture: ${junk} (magic 0x47455420)` });
  await t.rejects(CaptureReader.open(join(dir, 'does-not-exist.pcap')), { code: 'ENOENT' });
});

t.test('corrupt headers are CaptureFormatErrors, not allocations', async (t) => {
  const le = true;
  const head = Buffer.concat([shb(le), idb(le, 1, 0)]);
  const good = epb(le, 0, 1n, payload(8, 0)); // 40 bytes
  const emptyPcap = pcapFile({ le, nano: false, linkType: 1, packets: [{ sec: 0, frac: 0, data: Buffer.alloc(0) }] });
  const cases: [string, Buffer, RegExp][] = [
    ['pcap caplen of 2 GiB', patch(emptyPcap, 24 + 8, 0x7fffffff), /claims 2147483647 captured bytes/],
    ['block length not a multiple of 4', Buffer.concat([head, patch(good, 4, 41)]), /total length 41/],
    ['block length below 12', Buffer.concat([head, patch(good, 4, 8)]), /total length 8/],
    ['huge block length', Buffer.concat([head, patch(good, 4, 0x7ffffff0)]), /total length 2147483632/],
    ['trailing length differs', Buffer.concat([head, patch(good, good.length - 4, 44)]), /trailing length 44 differs/],
    ['caplen larger than the block', Buffer.concat([head, patch(good, 20, 9)]), /claims 9 captured bytes, more than its 40-byte block/],
    ['undeclared interface', Buffer.concat([head, patch(good, 8, 3)]), /refers to interface 3/],
    ['bad byte-order magic', Buffer.concat([head, patch(shb(le), 8, 0)]), /bad byte-order magic/],
    ['unsupported version', Buffer.concat([head, patch(shb(le), 12, 2)]), /unsupported pcapng major version 2/], // major 2, minor 0
    ['option overruns its block', Buffer.concat([shb(le), patch(idb(le, 1, 0, [tsresol(9, le)]), 16, (200 << 16) | 9)]), /option 9 of 200 bytes overruns/],
    ['packet block too short', Buffer.concat([head, block(6, Buffer.alloc(16), le)]), /packet block of 28 bytes is shorter than its 32-byte minimum/],
  ];
  for (const [name, bytes, message] of cases) {
    // open() already reads the blocks before the first packet, so either call may throw.
    await t.rejects(readAll(writeCapture(bytes)), { name: 'CaptureFormatError', message }, name);
  }
});

// ---------------------------------------------------------------------------------------------
// Streams, and corrupt records after good ones

/**
 * Reads every frame (readFrames, or readBatch when `batch`) until the end or an error, which is
 * returned rather than thrown, with the records delivered before it.
 */
async function framesUntilError(path: string, o: { dstSize: number; maxPackets?: number; nativeRead?: boolean; batch?: boolean }): Promise<{ recs: Rec[]; error: unknown; reader: CaptureReader }> {
  const reader = await CaptureReader.open(path, { nativeRead: o.nativeRead ?? true, chunkSize: 64 });
  const dst = new Uint8Array(o.dstSize);
  const recs: Rec[] = [];
  let error: unknown;
  try {
    for (;;) {
      const res = o.batch ? await reader.readBatch(dst, o.maxPackets ?? 1000) : await reader.readFrames(dst, o.maxPackets ?? 1000);
      if (res.packets === 0) break;
      if (o.batch || reader.framesFormat === FRAMES_BATCH) { recs.push(...decodeBatch(dst, res)); continue; }
      const le = reader.framesFormat === FRAMES_PCAP_LE;
      const view = new DataView(dst.buffer, dst.byteOffset, res.bytes);
      for (let i = 0, p = 0; i < res.packets; i++) {
        const caplen = view.getUint32(p + 8, le);
        const ts = BigInt(view.getUint32(p, le)) * 1_000_000_000n + BigInt(view.getUint32(p + 4, le) * reader.fracToNs);
        recs.push({ ts, caplen, wirelen: view.getUint32(p + 12, le), linkType: reader.linkType, ifIndex: 0, data: hex(Buffer.from(dst.subarray(p + 16, p + 16 + caplen))) });
        p += 16 + caplen;
      }
    }
  } catch (e) {
    error = e;
  } finally {
    await reader.close();
  }
  return { recs, error, reader };
}

let fifoCount = 0;

/**
 * Runs `read` on a FIFO that `bytes` are written to, in pieces of `piece` bytes with pauses
 * (so that reads come back short, and records are cut between them), as a pipe gives them.
 */
async function viaFifo<T>(bytes: Buffer, piece: number, read: (path: string) => Promise<T>): Promise<T> {
  const fifo = join(dir, `fifo${fifoCount++}`);
  execFileSync('mkfifo', [fifo]);
  const writing = (async () => {
    const fh = await open(fifo, 'w');
    try {
      for (let i = 0; i < bytes.length; i += piece) {
        await fh.write(bytes.subarray(i, i + piece));
        if ((i / piece) % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      await fh.close();
    }
  })();
  try {
    return await read(fifo);
  } finally {
    // A reader that stopped early leaves the writer with EPIPE.
    await writing.catch(() => {});
  }
}

t.test('a pipe (FIFO) gives the same records as the file, read in order, natively or in JavaScript', async (t) => {
  const packets = Array.from({ length: 40 }, (_, i) => ({ sec: 1_700_000_000 + i, frac: i, data: payload((i * 29) % 150, i) }));
  const le = true;
  const files = [
    { name: 'pcap LE', bytes: pcapFile({ le: true, nano: false, linkType: 1, packets }) },
    { name: 'pcap BE ns', bytes: pcapFile({ le: false, nano: true, linkType: 1, packets }) },
    { name: 'pcapng', bytes: Buffer.concat([shb(le), idb(le, 1, 0), ...packets.map((p, i) => epb(le, 0, BigInt(i) * 1000n, p.data))]) },
  ];
  for (const { name, bytes } of files) {
    const path = writeCapture(bytes);
    const { recs: expected } = await readAll(path);
    for (const [how, nativeRead] of READS) {
      for (const [dstSize, piece] of [[4096, 1000], [400, 37], [1 << 16, 1 << 16]]) {
        const what = `${name}, ${how}, dst ${dstSize}, pieces of ${piece}`;
        const got = await viaFifo(bytes, piece, (fifo) => framesUntilError(fifo, { dstSize, maxPackets: 7, nativeRead }));
        t.equal(got.error, undefined, what);
        t.strictSame(got.recs, expected, what);
        t.equal(got.reader.inOrder, true, what);
        t.same(got.reader.stats, { packets: 40, bytesRead: bytes.length, truncatedTail: false, skippedBlocks: 0 }, what);
      }
    }
  }
  t.equal((await CaptureReader.open(writeCapture(files[0]!.bytes))).inOrder, false, 'a file is read at offsets');
});

t.test('a stream cut inside a record, and a corrupt record on a stream', async (t) => {
  const packets = [0, 1, 2, 3].map((i) => ({ sec: i, frac: 0, data: payload(50, i) }));
  const whole = pcapFile({ le: true, nano: false, linkType: 1, packets });
  for (const [how, nativeRead] of READS) {
    const cut = await viaFifo(whole.subarray(0, whole.length - 20), 33, (fifo) => framesUntilError(fifo, { dstSize: 200, nativeRead }));
    t.equal(cut.recs.length, 3, `${how}: the whole records`);
    t.same(cut.reader.tail, { offset: 24 + 3 * 66, bytes: 46 }, `${how}: where the cut record starts, and its bytes`);
    const bad = await viaFifo(patch(whole, 24 + 2 * 66 + 8, 0x7fffffff), 33, (fifo) => framesUntilError(fifo, { dstSize: 4096, nativeRead }));
    t.equal(bad.recs.length, 2, `${how}: the records before the corrupt one`);
    t.match(bad.error, { name: 'CaptureFormatError', message: /packet 3 claims 2147483647 captured bytes/ }, how);
  }
});

t.test('the records before a corrupt one are delivered first; the next read throws', async (t) => {
  const packets = Array.from({ length: 6 }, (_, i) => ({ sec: i, frac: 0, data: payload(50, i) }));
  const le = true;
  const pcap = patch(pcapFile({ le, nano: false, linkType: 1, packets }), 24 + 4 * 66 + 8, 0x7fffffff);
  const epbs = packets.map((p, i) => epb(le, 0, BigInt(i), p.data));
  const at = shb(le).length + idb(le, 1, 0).length + epbs.slice(0, 4).reduce((n, b) => n + b.length, 0);
  // The fifth block's total length: not a multiple of 4.
  const pcapng = patch(Buffer.concat([shb(le), idb(le, 1, 0), ...epbs]), at + 4, 0x7ffffffe);
  for (const [how, nativeRead] of READS) for (const dstSize of [4096, 150]) {
    for (const batch of [false, true]) {
      const what = `pcap, ${how}, dst ${dstSize}${batch ? ', readBatch' : ''}`;
      const r = await framesUntilError(writeCapture(pcap), { dstSize, nativeRead, batch });
      t.equal(r.recs.length, 4, what);
      t.match(r.error, { name: 'CaptureFormatError', message: /packet 5 claims 2147483647 captured bytes .* corrupt record header/ }, what);
    }
    const r = await framesUntilError(writeCapture(pcapng), { dstSize, nativeRead });
    t.equal(r.recs.length, 4, `pcapng, ${how}, dst ${dstSize}`);
    t.match(r.error, { name: 'CaptureFormatError', message: /corrupt pcapng block at offset \d+ .*total length 2147483646/ }, `pcapng, dst ${dstSize}`);
  }
});

t.test('the tail of a cut capture: where its record starts, and its bytes', async (t) => {
  const packets = [0, 1, 2].map((i) => ({ sec: i, frac: 0, data: payload(50, i) }));
  const le = true;
  const pcap = pcapFile({ le, nano: false, linkType: 1, packets });
  const epbs = packets.map((p, i) => epb(le, 0, BigInt(i), p.data));
  const pcapng = Buffer.concat([shb(le), idb(le, 1, 0), ...epbs]);
  for (const [how, nativeRead] of READS) {
    const r = await framesUntilError(writeCapture(pcap.subarray(0, pcap.length - 10)), { dstSize: 4096, nativeRead });
    t.same(r.reader.tail, { offset: 24 + 2 * 66, bytes: 56 }, `pcap, ${how}`);
    const b = await framesUntilError(writeCapture(pcap.subarray(0, pcap.length - 10)), { dstSize: 4096, nativeRead, batch: true });
    t.same(b.reader.tail, { offset: 24 + 2 * 66, bytes: 56 }, `pcap readBatch, ${how}`);
  }
  const ng = await framesUntilError(writeCapture(pcapng.subarray(0, pcapng.length - 10)), { dstSize: 4096 });
  t.same(ng.reader.tail, { offset: pcapng.length - epbs[2]!.length, bytes: epbs[2]!.length - 10 }, 'pcapng');
  const full = await framesUntilError(writeCapture(pcap), { dstSize: 4096 });
  t.equal(full.reader.tail, undefined, 'a whole capture has no tail');
});

// ---------------------------------------------------------------------------------------------
// Real captures

const corpusDir = fileURLToPath(new URL('../../../shared/corpus', import.meta.url));

/** Packet counts from INDEX.md: column 1 is the path in backticks, column 5 the `capinfos -c` count. */
function corpusCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of readFileSync(join(corpusDir, 'INDEX.md'), 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const path = /^`(.+)`$/.exec(cells[1] ?? '')?.[1];
    if (path && /^\d+$/.test(cells[5] ?? '')) counts.set(path, Number(cells[5]));
  }
  return counts;
}

function findCaptures(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.pcap(ng)?$/.test(name))
    .map((name) => join(folder, name))
    .sort();
}

/** Without the corpus the test is skipped locally, but fails under CI, where it must be provided. */
const corpusMissing = existsSync(corpusDir) ? undefined : `capture corpus not found at ${corpusDir}`;
const skipCorpus = corpusMissing !== undefined && !process.env.CI ? `${corpusMissing}; skipping the corpus test` : false;

t.test('corpus: packet counts match INDEX.md', { skip: skipCorpus }, async (t) => {
  if (corpusMissing !== undefined) {
    t.fail(`${corpusMissing}; CI is set, so the corpus must be provided`);
    return;
  }
  const counts = corpusCounts();
  const captures = findCaptures(corpusDir);
  t.ok(captures.length > 0, 'the corpus holds captures');
  for (const path of captures) {
    const name = relative(corpusDir, path);
    const expected = counts.get(name);
    if (expected === undefined) {
      t.fail(`${name} has no row in INDEX.md`);
      continue;
    }
    const { recs } = await readAll(path, { dstSize: 1 << 20 });
    t.equal(recs.length, expected, name);
  }
});
