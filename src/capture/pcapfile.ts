/**
 * Streaming reader for pcap and pcapng capture files that copies packets, in batches, into a
 * caller-owned byte array (normally a view of a WebAssembly module's linear memory).
 *
 * Formats: classic pcap (draft-ietf-opsawg-pcap) and pcapng (draft-ietf-opsawg-pcapng).
 *
 * The file is read `chunkSize` bytes at a time (the next chunk is read ahead while the current
 * one is parsed) into one reusable window, so memory use depends on the chunk size and the
 * largest record, never on the file size. Headers are read with a DataView and packet data is
 * copied straight into the batch: no object per packet, except the short-lived view that
 * `Uint8Array.set` needs for packets over 128 bytes and BigInt maths for rare pcapng
 * timestamp resolutions.
 *
 * A regular file is read at offsets; anything else (a pipe, a FIFO, stdin, a process
 * substitution's /dev/fd/N) in order, once: what was read ahead and not used yet is carried
 * over to the next read instead of being read again. `-` names stdin. Both give the same records.
 *
 * A corrupt record is reported once the records before it have been delivered: the batch ends
 * before it, and the next read throws.
 *
 * One readBatch call at a time per reader.
 *
 * Batch record layout (little-endian, every record starts on an 8-byte boundary):
 *
 *   offset 0   ts_ns     i64   nanoseconds since the Unix epoch
 *   offset 8   caplen    u32   captured bytes, i.e. the data that follows
 *   offset 12  wirelen   u32   original length on the wire
 *   offset 16  linktype  u32   LINKTYPE_* of this packet (or the override)
 *   offset 20  ifindex   u32   pcapng interface id (0 for classic pcap)
 *                              bit 31 set (sFlow raw headers): wirelen is the length to count
 *                              whatever the top layer (assembly/flow/feed.ts BATCH_FORCED_LENGTH)
 *                              bit 30 set (records a dealer placed, see dealer()): the table
 *                              whose slot holds the record owns it (BATCH_OWNED)
 *   offset 24  data[caplen], zero padding up to the next 8-byte boundary
 */
import { fstatSync, read as readFd } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { nativeAddon, NativeAddonError, type NativeAddon, type NativeChunk, type NativeShardChunk } from '../native-addon.js';

/** Size of the fixed header in front of each record's data. */
export const RECORD_HEADER_SIZE = 24;

/** Bytes a record with `caplen` captured bytes takes in a batch, padding included. */
export function recordSize(caplen: number): number {
  return (RECORD_HEADER_SIZE + caplen + 7) & ~7;
}

/** The file is not a capture, or a header in it is corrupt. */
/** Record layouts of readFrames, as assembly/flow/feed.ts numbers them (FMT_*). */
export const FRAMES_BATCH = 0;
export const FRAMES_PCAP_LE = 1;
export const FRAMES_PCAP_BE = 2;
export type FramesFormat = typeof FRAMES_BATCH | typeof FRAMES_PCAP_LE | typeof FRAMES_PCAP_BE;

/** Timestamp in ms (floored) of the record at `at`, in `format` (pcap: ts_frac times `fracToNs` ns). */
export function frameTimeMs(format: FramesFormat, view: DataView, at: number, fracToNs: number): number {
  if (format === FRAMES_BATCH) return Number(view.getBigInt64(at, true) / 1_000_000n);
  const le = format === FRAMES_PCAP_LE;
  return view.getUint32(at, le) * 1000 + Math.floor((view.getUint32(at + 4, le) * fracToNs) / 1_000_000);
}

export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
}

export interface ReadResult {
  /** Records written; 0 means end of file. */
  packets: number;
  /** Bytes of `dst` used, padding included. */
  bytes: number;
}

export interface CaptureStats {
  /** Records delivered so far. */
  packets: number;
  /** Bytes read from the file so far. */
  bytesRead: number;
  /** The file ended in the middle of a record or block. */
  truncatedTail: boolean;
  /** pcapng blocks skipped because they carry no packet and no interface (NRB, ISB, DSB, custom...). */
  skippedBlocks: number;
}

/**
 * Deals a capture's records out to flow tables (native/pcapshard.c): each table's slot gets
 * batch records, those it owns marked BATCH_OWNED, the others for it to look at.
 */
export interface RecordDealer {
  /** The next records, at most `maxPackets`, stopping before one stamped at or after `limitNs`. */
  read(slots: Uint8Array[], maxPackets: number, limitNs: bigint): Promise<DealtChunk>;
}

/** What a dealer's read gave: `packets` 0 means the capture ends. */
export interface DealtChunk {
  packets: number;
  /** Per table: the bytes and records written in its slot. */
  bytes: number[];
  records: number[];
  /** Stamps (ns) of the chunk's first record, and of the record after its last (-1n: none, the file ends). */
  firstTs: bigint;
  nextTs: bigint;
}

/** The end of a capture cut inside a record (or pcapng block): where that record starts, and its bytes there. */
export interface CaptureTail {
  /** Offset in the file (or stream) of the incomplete record. */
  offset: number;
  /** Bytes of it the capture holds (ignored). */
  bytes: number;
}

/** The file name that means stdin. */
export const STDIN_NAME = '-';

export interface CaptureOpenOptions {
  /** Link type written into every record instead of the one the file declares. */
  linkTypeOverride?: number;
  /** Bytes per file read (default 1 MiB). The buffer grows past it only for a larger record. */
  chunkSize?: number;
  /**
   * readFrames of a classic pcap reads and counts records through the native addon when it is
   * built (default true); false counts them in JavaScript. Both give the same records.
   */
  nativeRead?: boolean;
}

const DEFAULT_CHUNK_SIZE = 1 << 20;

/**
 * Largest pcap captured length or pcapng block length accepted. Anything bigger is a corrupt
 * header rather than a packet, and honouring it would make the window buffer that large.
 */
const MAX_LENGTH = 256 << 20;

const NS_PER_S = 1_000_000_000;
const TWO_POW_32 = 4294967296;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;

/** The native addon, or undefined when it is not built (or cannot load): readers then do without. */
function loadedAddon(): NativeAddon | undefined {
  try {
    return nativeAddon();
  } catch (e) {
    if (e instanceof NativeAddonError) return undefined;
    throw e;
  }
}

/**
 * The addon's readRecords, or undefined when the addon is not built (readFrames then counts in
 * JavaScript), or is an older build that cannot read a stream and `inOrder` asks for one.
 */
function nativeReadRecords(inOrder: boolean): NativeAddon['readRecords'] | undefined {
  const lib = loadedAddon();
  if (lib === undefined || (inOrder && lib.readRecordsInOrder !== true)) return undefined;
  return lib.readRecords.bind(lib);
}

/** Block types (pcapng §4): the SHB type reads the same in both byte orders. */
const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_PB = 0x00000002;
const BT_SPB = 0x00000003;
const BT_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Block type + total length at the start, total length again at the end. */
const BLOCK_FRAMING = 12;

/** IDB option codes (pcapng §4.2). */
const OPT_ENDOFOPT = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

/**
 * What a capture is read from: a file read at offsets (`seekable`), or a stream read in order
 * (a pipe, a FIFO, a socket, a terminal).
 */
interface CaptureInput {
  readonly fd: number;
  readonly seekable: boolean;
  /** Reads up to `length` bytes into `buf` at `offset`: at `position`, or next in order (null). 0 at the end. */
  read(buf: Uint8Array, offset: number, length: number, position: number | null): Promise<number>;
  close(): Promise<void>;
}

/** Names of an open descriptor: /dev/stdin, /dev/fd/N, /proc/self/fd/N. */
const FD_PATH = /^\/(?:dev\/fd|proc\/self\/fd)\/(\d+)$/;

/** Opens `path` (`-`: stdin). */
async function openInput(path: string): Promise<CaptureInput> {
  const stdin = path === STDIN_NAME;
  const fdText = stdin || path === '/dev/stdin' ? '0' : FD_PATH.exec(path)?.[1];
  try {
    // A pipe or a file on stdin opened again: a descriptor of our own, in blocking mode.
    return await openPath(stdin ? '/dev/stdin' : path);
  } catch (e) {
    // A socket (ENXIO: Linux does not open one by name), or no /dev/stdin: read the descriptor itself.
    const code = (e as NodeJS.ErrnoException).code;
    if (fdText === undefined || !(code === 'ENXIO' || (stdin && code === 'ENOENT'))) throw e;
  }
  const fd = Number(fdText);
  fstatSync(fd);
  return {
    fd,
    seekable: false,
    read: (buf, offset, length) => retryAgain(() => new Promise<number>((resolve, reject) => {
      readFd(fd, buf, offset, length, null, (err, n) => (err ? reject(err) : resolve(n)));
    })),
    close: async () => {},
  };
}

async function openPath(path: string): Promise<CaptureInput> {
  const fh = await openFile(path, 'r');
  let seekable: boolean;
  try {
    const st = await fh.stat();
    seekable = st.isFile() || st.isBlockDevice();
  } catch (e) {
    await fh.close();
    throw e;
  }
  return {
    fd: fh.fd,
    seekable,
    read: (buf, offset, length, position) => retryAgain(async () => (await fh.read(buf, offset, length, position)).bytesRead),
    close: () => fh.close(),
  };
}

/** A descriptor left in non-blocking mode by whoever shares it answers EAGAIN while it has nothing: wait, read again. */
async function retryAgain(read: () => Promise<number>): Promise<number> {
  for (;;) {
    try {
      return await read();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await sleep(5);
    }
  }
}

/**
 * Sliding window over a file: `buf[pos, end)` holds bytes read but not consumed yet.
 * The next chunk is always being read ahead into a spare buffer, so the file system works
 * while the current chunk is parsed; taking it costs one memcpy per chunk.
 */
class FileWindow {
  buf: Uint8Array;
  view: DataView;
  pos = 0;
  end = 0;
  /** File offset just past `buf[end - 1]`. */
  private filePos = 0;
  /** Receives the read-ahead chunk. */
  private readonly ahead: Uint8Array;
  private pending: Promise<number> | undefined;

  constructor(
    readonly input: CaptureInput,
    private readonly chunkSize: number,
    readonly stats: CaptureStats,
  ) {
    this.ahead = new Uint8Array(chunkSize);
    // Room for a partial record plus a whole chunk, so compaction rarely has to grow it.
    this.buf = new Uint8Array(2 * chunkSize);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes at least `need` unconsumed bytes available; false when the file ends first. */
  async fill(need: number): Promise<boolean> {
    while (this.end - this.pos < need) {
      const n = await (this.pending ?? this.readAhead());
      this.pending = undefined;
      if (n === 0) return false;
      this.append(n, need);
      this.pending = this.readAhead();
      // Marks a failed read-ahead as handled; the error is rethrown where it is awaited.
      this.pending.catch(() => {});
    }
    return true;
  }

  /** File offset of window position `pos`, for error messages. */
  fileOffset(pos: number): number {
    return this.filePos - (this.end - pos);
  }

  /**
   * The bytes read and not consumed, those being read ahead included, in a buffer of their own;
   * the window is not used any more (a stream cannot be read again where the window was).
   */
  async takeRest(): Promise<Uint8Array> {
    const n = this.pending ? await this.pending : 0;
    this.pending = undefined;
    const kept = this.end - this.pos;
    const rest = new Uint8Array(kept + n);
    rest.set(this.buf.subarray(this.pos, this.end));
    rest.set(this.ahead.subarray(0, n), kept);
    this.filePos += n;
    this.pos = this.end = 0;
    return rest;
  }

  private readAhead(): Promise<number> {
    return this.input.read(this.ahead, 0, this.chunkSize, this.input.seekable ? this.filePos : null);
  }

  /** Appends the `n` read-ahead bytes, first compacting (or growing, up to `need`) the window. */
  private append(n: number, need: number): void {
    if (this.buf.length - this.end < n) {
      const kept = this.end - this.pos;
      if (kept + n > this.buf.length) {
        const grown = new Uint8Array(need + this.chunkSize);
        grown.set(this.buf.subarray(this.pos, this.end));
        this.buf = grown;
        this.view = new DataView(grown.buffer);
      } else {
        this.buf.copyWithin(0, this.pos, this.end);
      }
      this.pos = 0;
      this.end = kept;
    }
    this.buf.set(this.ahead.subarray(0, n), this.end);
    this.end += n;
    this.filePos += n;
    this.stats.bytesRead += n;
  }
}

/** The batch being filled by one readBatch call. */
class Batch {
  readonly view: DataView;
  used = 0;
  packets = 0;

  constructor(
    readonly dst: Uint8Array,
    readonly max: number,
  ) {
    this.view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  }
}

/**
 * Writes (hi·2^32 + lo)·mul + add as a little-endian u64, wrapping modulo 2^64, with exact
 * double arithmetic only (no BigInt, so nothing is allocated). Needs mul < 2^32, add < 2^48.
 * The 32-bit `lo` is split in 16-bit halves so every partial product stays below 2^53, and
 * carries are taken with floor/multiply because `%` on doubles is a slow runtime call in V8.
 */
function storeScaled64(view: DataView, at: number, hi: number, lo: number, mul: number, add: number): void {
  const lowProduct = (lo & 0xffff) * mul;
  const midProduct = (lo >>> 16) * mul;
  const midCarry = Math.floor(midProduct / 65536);
  const low = lowProduct + (midProduct - midCarry * 65536) * 65536 + add;
  const lowCarry = Math.floor(low / TWO_POW_32);
  view.setUint32(at, low - lowCarry * TWO_POW_32, true);
  view.setUint32(at + 4, (Math.imul(hi, mul) + midCarry + lowCarry) >>> 0, true);
}

/** Largest multiplier + 1 for storeScaled64Small: 16-bit halves times it stay below 2^31. */
const SMALL_MUL = 1 << 15;

/**
 * storeScaled64 for mul < SMALL_MUL (pcapng's default µs resolution, ns, 10 ns...) and no
 * addend, in int32 arithmetic only; about 4 ns less per packet than the float version.
 */
function storeScaled64Small(view: DataView, at: number, hi: number, lo: number, mul: number): void {
  const lowProduct = (lo & 0xffff) * mul;
  const midProduct = (lo >>> 16) * mul;
  const mid = (lowProduct >>> 16) + (midProduct & 0xffff);
  view.setUint32(at, ((mid << 16) | (lowProduct & 0xffff)) >>> 0, true);
  view.setUint32(at + 4, (Math.imul(hi, mul) + (mid >>> 16) + (midProduct >>> 16)) >>> 0, true);
}

/**
 * Up to this size a word loop beats `Uint8Array.set`, whose fixed cost (a view object and a
 * builtin call, ~45 ns on Node 20 here) dominates for small packets; at 64 bytes the loop
 * takes ~27 ns. Both cost the same around 128 bytes.
 */
const SMALL_COPY = 128;

function copyBytes(dst: Uint8Array, dstView: DataView, to: number, src: Uint8Array, srcView: DataView, from: number, n: number): void {
  if (n > SMALL_COPY) {
    dst.set(new Uint8Array(src.buffer, src.byteOffset + from, n), to);
    return;
  }
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    dstView.setUint32(to + i, srcView.getUint32(from + i, true), true);
    dstView.setUint32(to + i + 4, srcView.getUint32(from + i + 4, true), true);
  }
  for (; i < n; i++) dst[to + i] = src[from + i];
}

/**
 * Appends one record after its timestamp (which the caller has already stored at `out.used`,
 * since each format computes it differently).
 */
function putRecord(out: Batch, win: FileWindow, from: number, caplen: number, wirelen: number, linkType: number, ifIndex: number): void {
  const { view, dst } = out;
  const at = out.used;
  view.setUint32(at + 8, caplen, true);
  view.setUint32(at + 12, wirelen, true);
  view.setUint32(at + 16, linkType, true);
  view.setUint32(at + 20, ifIndex, true);
  copyBytes(dst, view, at + RECORD_HEADER_SIZE, win.buf, win.view, from, caplen);
  const next = at + recordSize(caplen);
  for (let i = at + RECORD_HEADER_SIZE + caplen; i < next; i++) dst[i] = 0;
  out.used = next;
  out.packets++;
}

/** Reads a capture file as batches of fixed-layout records (see the file comment). */
export abstract class CaptureReader {
  abstract readonly format: 'pcap' | 'pcapng';
  readonly stats: CaptureStats;
  /** Set at end of file, clean or truncated, and on close: later batches are empty. */
  protected done = false;
  /** The addon's readRecords, when readFrames may use it (CaptureOpenOptions.nativeRead). */
  protected native: NativeAddon['readRecords'] | undefined;
  /** Where the capture ends inside a record, once it has (stats.truncatedTail). */
  protected tail_: CaptureTail | undefined;
  /** A corrupt record met after others in a batch: thrown by the next read. */
  protected deferred: unknown;

  protected constructor(
    protected readonly path: string,
    protected readonly input: CaptureInput,
    protected readonly win: FileWindow,
    protected readonly linkTypeOverride: number | undefined,
  ) {
    this.stats = win.stats;
  }

  /** Where the capture ends inside a record, and the bytes of it ignored; undefined unless it does. */
  get tail(): CaptureTail | undefined { return this.tail_; }

  /**
   * Opens a capture (`-`: stdin) and reads its header. Throws CaptureFormatError when the file is
   * not a pcap or pcapng capture; file system errors (ENOENT...) propagate unchanged.
   */
  static async open(path: string, opts: CaptureOpenOptions = {}): Promise<CaptureReader> {
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
    const override = opts.linkTypeOverride;
    if (override !== undefined && !(Number.isInteger(override) && override >= 0 && override < TWO_POW_32)) {
      throw new RangeError(`linkTypeOverride must be a u32, got ${override}`);
    }
    const input = await openInput(path);
    const name = path === STDIN_NAME ? 'stdin' : path;
    try {
      const win = new FileWindow(input, chunkSize, { packets: 0, bytesRead: 0, truncatedTail: false, skippedBlocks: 0 });
      const reader = await CaptureReader.forMagic(name, input, win, override);
      await reader.readHeader();
      if (opts.nativeRead ?? true) reader.native = nativeReadRecords(!input.seekable);
      return reader;
    } catch (err) {
      await input.close();
      throw err;
    }
  }

  /** Whether the capture is read in order, once (a pipe, a FIFO, stdin), rather than at file offsets. */
  get inOrder(): boolean { return !this.input.seekable; }

  /** Picks the reader from the first four bytes of the file. */
  private static async forMagic(path: string, fh: CaptureInput, win: FileWindow, override: number | undefined): Promise<CaptureReader> {
    if (!(await win.fill(4))) {
      throw new CaptureFormatError(win.end === 0 ? `empty capture file: ${path}` : `too short for a capture header: ${path} (${win.end} bytes)`);
    }
    const magic = win.view.getUint32(0, false);
    if (magic === BT_SHB) return new PcapngReader(path, fh, win, override);
    for (const littleEndian of [true, false]) {
      const m = win.view.getUint32(0, littleEndian);
      if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS) return new PcapReader(path, fh, win, override, littleEndian, m === PCAP_MAGIC_NS ? 1 : 1000);
    }
    throw new CaptureFormatError(`not a pcap or pcapng capture: ${path} (magic 0x${magic.toString(16).padStart(8, '0')})`);
  }

  /** Link type of the file (pcap) or of the first interface (pcapng); -1 if none yet. The override wins when set. */
  abstract get linkType(): number;

  /** Fills `dst` from offset 0 with as many whole records as fit, at most `maxPackets`; `packets` 0 means end of file. */
  async readBatch(dst: Uint8Array, maxPackets: number): Promise<ReadResult> {
    if (!(Number.isInteger(maxPackets) && maxPackets >= 1)) throw new RangeError(`maxPackets must be a positive integer, got ${maxPackets}`);
    if (this.deferred !== undefined) throw this.deferred;
    if (this.done) return { packets: 0, bytes: 0 };
    const out = new Batch(dst, maxPackets);
    await this.readRecords(out);
    this.stats.packets += out.packets;
    return { packets: out.packets, bytes: out.used };
  }

  /** Layout of the records readFrames writes: FRAMES_BATCH, or raw classic pcap records. */
  get framesFormat(): FramesFormat { return FRAMES_BATCH; }

  /** ns per ts_frac unit of raw pcap records (1000 for µs captures, 1 for ns). */
  get fracToNs(): number { return 0; }

  /**
   * Like readBatch, but in the cheapest layout the file allows: a classic pcap
   * hands its own records over as they are on disk, read straight into `dst`
   * (no copy per packet in JS); pcapng gives batch records. Read a capture
   * with readBatch or with readFrames, not both.
   */
  async readFrames(dst: Uint8Array, maxPackets: number): Promise<ReadResult> {
    return this.readBatch(dst, maxPackets);
  }

  /**
   * A dealer of this capture's records to `shards` flow tables, when it can have one (a classic
   * pcap file, not a stream, read from its first record, with the native addon); else undefined.
   * Read a capture with readFrames or with its dealer, not both.
   */
  dealer(shards: number): RecordDealer | undefined {
    return undefined;
  }

  async close(): Promise<void> {
    this.done = true;
    await this.input.close();
  }

  /** Parses the file header; runs once, from open(). */
  protected abstract readHeader(): Promise<void>;

  /**
   * Appends the records already in the window to `out`. Returns 0 once `out` is full (by count
   * or bytes), otherwise how many window bytes the next record or block needs.
   * Synchronous on purpose: locals of an async function live in its heap context, which
   * costs the per-packet loop dearly.
   */
  protected abstract walk(out: Batch): number;

  /**
   * Appends records to `out` until it is full or the file ends; at end of file marks the reader
   * done. A corrupt record after others ends the batch; the next read throws its error.
   */
  protected async readRecords(out: Batch): Promise<void> {
    for (;;) {
      let need: number;
      try {
        need = this.walk(out);
      } catch (err) {
        if (out.packets === 0) throw err;
        this.deferred = err;
        return;
      }
      if (need === 0) return;
      if (!(await this.win.fill(need))) {
        this.done = true;
        const win = this.win;
        if (win.end > win.pos) this.endsInside(win.fileOffset(win.pos), win.end - win.pos);
        return;
      }
    }
  }

  /** The capture ends with `bytes` of an incomplete record at `offset`. */
  protected endsInside(offset: number, bytes: number): void {
    this.stats.truncatedTail = true;
    this.tail_ = { offset, bytes };
  }

  /**
   * Whether a record of `caplen` bytes fits in what is left of the batch. A record that could
   * never fit in `out.dst` throws (waiting for the next batch would loop forever), but only once
   * the records already in the batch have been delivered.
   */
  protected fits(out: Batch, caplen: number): boolean {
    if (out.packets >= out.max) return false;
    const size = recordSize(caplen);
    if (size > out.dst.length && out.packets === 0) {
      throw new CaptureFormatError(
        `${this.path}: packet ${this.packetNumber(out)} has ${caplen} captured bytes; its ${size}-byte record cannot fit in a ${out.dst.length}-byte batch`,
      );
    }
    return out.used + size <= out.dst.length;
  }

  /** 1-based number of the packet being read, for error messages. */
  protected packetNumber(out: Batch): number {
    return this.stats.packets + out.packets + 1;
  }
}

/** Classic pcap: a 24-byte file header, then 16-byte record headers each followed by data. */
class PcapReader extends CaptureReader {
  readonly format = 'pcap';
  private fileLinkType = -1;
  /** File offset of the next raw record (readFrames). */
  private rawPos: number | undefined;
  /** A stream's bytes read and not delivered yet (readFrames): they start the next chunk. */
  private carry: Uint8Array = new Uint8Array(0);

  constructor(
    path: string,
    fh: CaptureInput,
    win: FileWindow,
    override: number | undefined,
    private readonly littleEndian: boolean,
    /** ts_frac unit in ns: 1000 for µs captures, 1 for ns captures. */
    private readonly fracToNs_: number,
  ) {
    super(path, fh, win, override);
  }

  get linkType(): number {
    return this.linkTypeOverride ?? this.fileLinkType;
  }

  protected async readHeader(): Promise<void> {
    const win = this.win;
    if (!(await win.fill(PCAP_FILE_HEADER))) {
      throw new CaptureFormatError(`too short for a pcap header: ${this.path} (${win.end} bytes)`);
    }
    // Only the low 16 bits are the link type; the upper bits carry FCS-length information.
    this.fileLinkType = win.view.getUint32(20, this.littleEndian) & 0xffff;
    win.pos = PCAP_FILE_HEADER;
  }

  override get framesFormat(): FramesFormat { return this.littleEndian ? FRAMES_PCAP_LE : FRAMES_PCAP_BE; }

  override dealer(shards: number): RecordDealer | undefined {
    if (this.native === undefined || !this.input.seekable || this.rawPos !== undefined) return undefined;
    const lib = loadedAddon();
    if (lib?.shardReaderOpen === undefined || lib.shardReaderRead === undefined) return undefined;
    this.rawPos = this.win.fileOffset(this.win.pos);
    this.stats.bytesRead = this.rawPos;
    const handle = lib.shardReaderOpen(this.input.fd, this.rawPos, !this.littleEndian, this.fracToNs_, this.linkType, shards, MAX_LENGTH);
    const read = lib.shardReaderRead.bind(lib);
    return { read: (slots, max, limitNs) => this.deal(read(handle, slots, max, limitNs)) };
  }

  /** Accounts for what the dealer read; its errors are readFrames's. */
  private async deal(reading: Promise<NativeShardChunk>): Promise<DealtChunk> {
    const c = await reading;
    if (this.done) return { packets: 0, bytes: [], records: [], firstTs: -1n, nextTs: -1n };
    if (c.records === 0) {
      if (c.corrupt >= 0) this.corruptCaplen(0, c.corrupt);
      if (c.tooBig >= 0) {
        throw new CaptureFormatError(`${this.path}: packet ${this.stats.packets + 1} has ${c.tooBig} captured bytes; its record cannot fit in a chunk of a flow table`);
      }
      // A read that stops at its limit before any record would look like the end: the caller's error.
      if (c.nextTs >= 0n) throw new RangeError('limitNs: at or before the stamp of the next record');
      this.done = true;
      if (c.tailBytes > 0) this.endsInside(this.rawPos!, c.tailBytes);
    }
    this.rawPos! += c.bytes;
    this.stats.bytesRead += c.bytes;
    this.stats.packets += c.records;
    return { packets: c.records, bytes: c.shardBytes, records: c.shardRecords, firstTs: c.firstTs, nextTs: c.nextTs };
  }

  override get fracToNs(): number { return this.fracToNs_; }

  override async readFrames(dst: Uint8Array, maxPackets: number): Promise<ReadResult> {
    if (!(Number.isInteger(maxPackets) && maxPackets >= 1)) throw new RangeError(`maxPackets must be a positive integer, got ${maxPackets}`);
    if (this.done) return { packets: 0, bytes: 0 };
    if (this.rawPos === undefined) {
      // From here on the file is read in place of the window: count what was consumed, not what it read ahead.
      this.rawPos = this.win.fileOffset(this.win.pos);
      this.stats.bytesRead = this.rawPos;
      // A stream is not read again: what the window holds starts the first chunk.
      if (!this.input.seekable) this.carry = await this.win.takeRest();
    }
    const [n, p, bytesRead] = this.input.seekable
      ? await this.readWholeRecords(dst, maxPackets, this.rawPos)
      : await this.readWholeRecordsInOrder(dst, maxPackets);
    if (n === 0) {
      // Nothing whole is left: the file ends here, cleanly or in the middle of a record.
      this.done = true;
      if (bytesRead > 0) this.endsInside(this.rawPos, bytesRead);
      return { packets: 0, bytes: 0 };
    }
    this.rawPos += p;
    this.stats.bytesRead += p;
    this.stats.packets += n;
    return { packets: n, bytes: p };
  }

  /**
   * Reads `dst` full from `position`; returns the number of whole records at its start (at most
   * `max`), their bytes, and the bytes read. The native addon, when built, does both in libuv's
   * thread pool (native/pcapread.c says why); otherwise the records are counted here.
   */
  private async readWholeRecords(dst: Uint8Array, max: number, position: number): Promise<[number, number, number]> {
    const native = this.native;
    if (native === undefined) {
      const bytesRead = await this.input.read(dst, 0, dst.length, position);
      const [n, p] = this.wholeRecords(new DataView(dst.buffer, dst.byteOffset, bytesRead), max, bytesRead === dst.length);
      return [n, p, bytesRead];
    }
    const c = await native(this.input.fd, dst, position, max, !this.littleEndian, MAX_LENGTH);
    return this.nativeChunk(dst, c);
  }

  /** The records the addon found; a corrupt one throws once it is first in its chunk (the records before it go first). */
  private nativeChunk(dst: Uint8Array, c: NativeChunk): [number, number, number] {
    if (c.corrupt === 0) this.corruptCaplen(0, new DataView(dst.buffer, dst.byteOffset, PCAP_RECORD_HEADER).getUint32(8, this.littleEndian));
    if (c.records === 0 && c.bytesRead === dst.length) this.tooBig(dst, c.bytesRead);
    return [c.records, c.bytes, c.bytesRead];
  }

  /**
   * readWholeRecords for a stream: `dst` starts with the bytes carried over from the last read,
   * then what the stream gives, up to `dst` full or, once a record is whole, up to what it has
   * at once; the bytes after the whole records are carried over to the next call. Returns the
   * bytes `dst` holds as the bytes read.
   */
  private async readWholeRecordsInOrder(dst: Uint8Array, max: number): Promise<[number, number, number]> {
    const k = Math.min(this.carry.length, dst.length);
    dst.set(this.carry.subarray(0, k));
    const rest = this.carry.subarray(k);
    let r: [number, number, number];
    const native = this.native;
    if (k === dst.length) {
      const view = new DataView(dst.buffer, dst.byteOffset, k);
      r = [...this.wholeRecords(view, max, k === dst.length), k] as [number, number, number];
    } else if (native !== undefined) {
      r = this.nativeChunk(dst, await native(this.input.fd, dst, -1, max, !this.littleEndian, MAX_LENGTH, k));
    } else {
      let got = k;
      while (got < dst.length) {
        const n = await this.input.read(dst, got, dst.length - got, null);
        if (n === 0) break;
        got += n;
        // A stream gives what it has: once a record is whole, do not wait for it to fill dst.
        if (got < dst.length && this.firstRecordWhole(dst, got)) break;
      }
      r = [...this.wholeRecords(new DataView(dst.buffer, dst.byteOffset, got), max, got === dst.length), got] as [number, number, number];
    }
    const [, p, bytes] = r;
    const left = new Uint8Array(bytes - p + rest.length);
    left.set(dst.subarray(p, bytes));
    left.set(rest, bytes - p);
    this.carry = left;
    return r;
  }

  /** Whether the first of the `size` bytes of `dst` make a whole record (or a corrupt header: no use waiting). */
  private firstRecordWhole(dst: Uint8Array, size: number): boolean {
    if (size < PCAP_RECORD_HEADER) return false;
    const caplen = new DataView(dst.buffer, dst.byteOffset, PCAP_RECORD_HEADER).getUint32(8, this.littleEndian);
    return caplen > MAX_LENGTH || PCAP_RECORD_HEADER + caplen <= size;
  }

  private corruptCaplen(index: number, caplen: number): never {
    throw new CaptureFormatError(`${this.path}: packet ${this.stats.packets + index + 1} claims ${caplen} captured bytes (limit ${MAX_LENGTH}): corrupt record header`);
  }

  /** The first record does not fit in a whole `dst`. */
  private tooBig(dst: Uint8Array, size: number): never {
    const caplen = new DataView(dst.buffer, dst.byteOffset, PCAP_RECORD_HEADER).getUint32(8, this.littleEndian);
    throw new CaptureFormatError(`${this.path}: packet ${this.stats.packets + 1} has ${caplen} captured bytes; its record cannot fit in a ${size}-byte batch`);
  }

  /**
   * Number of whole records at the start of `view` (at most `max`) and their
   * bytes. Synchronous, like walk(), to keep the per-record loop fast.
   */
  private wholeRecords(view: DataView, max: number, full: boolean): [number, number] {
    const le = this.littleEndian;
    const size = view.byteLength;
    let p = 0, n = 0;
    while (n < max && p + PCAP_RECORD_HEADER <= size) {
      const caplen = view.getUint32(p + 8, le);
      if (caplen > MAX_LENGTH) {
        // The records before it go first; the next call starts with it.
        if (n === 0) this.corruptCaplen(n, caplen);
        break;
      }
      const next = p + PCAP_RECORD_HEADER + caplen;
      if (next > size) {
        if (n === 0 && full) this.tooBig(new Uint8Array(view.buffer, view.byteOffset, size), size);
        break;
      }
      p = next;
      n++;
    }
    return [n, p];
  }

  protected walk(out: Batch): number {
    const win = this.win;
    const view = win.view;
    const le = this.littleEndian;
    const linkType = this.linkType;
    for (;;) {
      const pos = win.pos;
      const avail = win.end - pos;
      if (avail < PCAP_RECORD_HEADER) return PCAP_RECORD_HEADER;
      const caplen = view.getUint32(pos + 8, le);
      if (caplen > MAX_LENGTH) {
        throw new CaptureFormatError(`${this.path}: packet ${this.packetNumber(out)} claims ${caplen} captured bytes (limit ${MAX_LENGTH}): corrupt record header`);
      }
      if (!this.fits(out, caplen)) return 0;
      const need = PCAP_RECORD_HEADER + caplen;
      if (avail < need) return need;
      storeScaled64(out.view, out.used, 0, view.getUint32(pos, le), NS_PER_S, view.getUint32(pos + 4, le) * this.fracToNs_);
      putRecord(out, win, pos + PCAP_RECORD_HEADER, caplen, view.getUint32(pos + 12, le), linkType, 0);
      win.pos = pos + need;
    }
  }
}

/** One pcapng interface (IDB), with its timestamp conversion precomputed. */
class PcapngInterface {
  /** ns per timestamp unit when that is an integer and there is no offset (the fast path), else 0. */
  readonly tsMul: number;

  constructor(
    readonly linkType: number,
    /** 0 means unlimited. */
    readonly snapLen: number,
    /** Timestamp units per second (if_tsresol). */
    readonly unitsPerSecond: bigint,
    /** if_tsoffset in ns. */
    readonly offsetNs: bigint,
  ) {
    const exact = offsetNs === 0n && BigInt(NS_PER_S) % unitsPerSecond === 0n;
    this.tsMul = exact ? NS_PER_S / Number(unitsPerSecond) : 0;
  }

  /** Stores the block's 64-bit timestamp (hi, lo) as ns since the epoch. */
  storeTimestamp(view: DataView, at: number, hi: number, lo: number): void {
    const mul = this.tsMul;
    if (mul !== 0) {
      if (mul < SMALL_MUL) storeScaled64Small(view, at, hi, lo, mul);
      else storeScaled64(view, at, hi, lo, mul, 0);
      return;
    }
    // Sub-ns or binary resolutions and offsets are rare: exact BigInt arithmetic is fine there.
    const units = (BigInt(hi) << 32n) | BigInt(lo);
    view.setBigInt64(at, BigInt.asIntN(64, (units * BigInt(NS_PER_S)) / this.unitsPerSecond + this.offsetNs), true);
  }
}

/** pcapng: a sequence of blocks; each Section Header Block sets the byte order and starts a new interface list. */
class PcapngReader extends CaptureReader {
  readonly format = 'pcapng';
  private littleEndian = true;
  private interfaces: PcapngInterface[] = [];
  private firstLinkType = -1;

  constructor(path: string, fh: CaptureInput, win: FileWindow, override: number | undefined) {
    super(path, fh, win, override);
  }

  get linkType(): number {
    return this.linkTypeOverride ?? this.firstLinkType;
  }

  /** Checks the first SHB and reads the blocks before the first packet, so linkType is known after open(). */
  protected async readHeader(): Promise<void> {
    const win = this.win;
    if (!(await win.fill(BLOCK_FRAMING))) {
      throw new CaptureFormatError(`too short for a pcapng header: ${this.path} (${win.end} bytes)`);
    }
    await this.readRecords(new Batch(new Uint8Array(0), 0));
  }

  protected walk(out: Batch): number {
    const win = this.win;
    for (;;) {
      const pos = win.pos;
      const avail = win.end - pos;
      if (avail < BLOCK_FRAMING) return BLOCK_FRAMING;
      const type = win.view.getUint32(pos, this.littleEndian);
      if (type === BT_SHB) this.littleEndian = this.sectionByteOrder(pos);
      const len = this.blockLength(pos);
      if (avail < len) return len;
      if (!this.readBlock(out, type, pos, len)) return 0;
      win.pos = pos + len;
    }
  }

  /** Handles one complete block; false when it is a packet that does not fit in `out`. */
  private readBlock(out: Batch, type: number, pos: number, len: number): boolean {
    const view = this.win.view;
    const le = this.littleEndian;
    if (view.getUint32(pos + len - 4, le) !== len) {
      throw this.corrupt(pos, `trailing length ${view.getUint32(pos + len - 4, le)} differs from the leading length ${len}`);
    }
    switch (type) {
      case BT_EPB:
        return this.packetBlock(out, pos, len, view.getUint32(pos + 8, le));
      case BT_PB:
        return this.packetBlock(out, pos, len, view.getUint16(pos + 8, le));
      case BT_SPB:
        return this.simplePacketBlock(out, pos, len);
      case BT_SHB:
        this.sectionHeader(pos, len);
        return true;
      case BT_IDB:
        this.interfaceDescription(pos, len);
        return true;
      default:
        this.stats.skippedBlocks++;
        return true;
    }
  }

  /** Reads the byte-order magic of the SHB at `pos` (the block type alone is palindromic). */
  private sectionByteOrder(pos: number): boolean {
    const view = this.win.view;
    if (view.getUint32(pos + 8, true) === BYTE_ORDER_MAGIC) return true;
    if (view.getUint32(pos + 8, false) === BYTE_ORDER_MAGIC) return false;
    throw this.corrupt(pos, `bad byte-order magic 0x${view.getUint32(pos + 8, false).toString(16).padStart(8, '0')} in section header`);
  }

  /** Validates the total length of the block at `pos` (its first 12 bytes are in the window). */
  private blockLength(pos: number): number {
    const len = this.win.view.getUint32(pos + 4, this.littleEndian);
    if (len < BLOCK_FRAMING || len % 4 !== 0 || len > MAX_LENGTH) {
      throw this.corrupt(pos, `total length ${len} (must be a multiple of 4, at least 12 and at most ${MAX_LENGTH})`);
    }
    return len;
  }

  private sectionHeader(pos: number, len: number): void {
    this.requireLength(pos, len, 28, 'section header');
    const major = this.win.view.getUint16(pos + 12, this.littleEndian);
    if (major !== 1) throw this.corrupt(pos, `unsupported pcapng major version ${major}`);
    this.interfaces = [];
  }

  private interfaceDescription(pos: number, len: number): void {
    this.requireLength(pos, len, 20, 'interface description');
    const view = this.win.view;
    const le = this.littleEndian;
    let unitsPerSecond = 1_000_000n;
    let offsetNs = 0n;
    const end = pos + len - 4;
    for (let opt = pos + 16; opt + 4 <= end; ) {
      const code = view.getUint16(opt, le);
      const size = view.getUint16(opt + 2, le);
      if (code === OPT_ENDOFOPT) break;
      if (opt + 4 + size > end) throw this.corrupt(pos, `option ${code} of ${size} bytes overruns the block`);
      if (code === IF_TSRESOL && size >= 1) unitsPerSecond = tsResolution(view.getUint8(opt + 4));
      if (code === IF_TSOFFSET && size >= 8) offsetNs = view.getBigInt64(opt + 4, le) * BigInt(NS_PER_S);
      opt += 4 + ((size + 3) & ~3);
    }
    const linkType = view.getUint16(pos + 8, le);
    this.interfaces.push(new PcapngInterface(linkType, view.getUint32(pos + 12, le), unitsPerSecond, offsetNs));
    if (this.firstLinkType < 0) this.firstLinkType = linkType;
  }

  /** Enhanced Packet Block and the obsolete Packet Block share this layout from offset 12 on. */
  private packetBlock(out: Batch, pos: number, len: number, ifIndex: number): boolean {
    this.requireLength(pos, len, 32, 'packet');
    const view = this.win.view;
    const le = this.littleEndian;
    const iface = this.interfaceFor(out, pos, ifIndex);
    const caplen = view.getUint32(pos + 20, le);
    if (caplen > len - 32) {
      throw this.corrupt(pos, `packet ${this.packetNumber(out)} claims ${caplen} captured bytes, more than its ${len}-byte block holds`);
    }
    if (!this.fits(out, caplen)) return false;
    iface.storeTimestamp(out.view, out.used, view.getUint32(pos + 12, le), view.getUint32(pos + 16, le));
    putRecord(out, this.win, pos + 28, caplen, view.getUint32(pos + 24, le), this.linkTypeOverride ?? iface.linkType, ifIndex);
    return true;
  }

  /**
   * Simple Packet Block: interface 0, no timestamp (stored as 0). The captured length is the
   * original length cut to the interface snaplen (pcapng §4.4), and never more than the block holds.
   */
  private simplePacketBlock(out: Batch, pos: number, len: number): boolean {
    this.requireLength(pos, len, 16, 'simple packet');
    const iface = this.interfaceFor(out, pos, 0);
    const wirelen = this.win.view.getUint32(pos + 8, this.littleEndian);
    let caplen = Math.min(wirelen, len - 16);
    if (iface.snapLen > 0) caplen = Math.min(caplen, iface.snapLen);
    if (!this.fits(out, caplen)) return false;
    out.view.setBigInt64(out.used, 0n, true);
    putRecord(out, this.win, pos + 12, caplen, wirelen, this.linkTypeOverride ?? iface.linkType, 0);
    return true;
  }

  private interfaceFor(out: Batch, pos: number, ifIndex: number): PcapngInterface {
    const iface = this.interfaces[ifIndex];
    if (iface === undefined) {
      throw this.corrupt(pos, `packet ${this.packetNumber(out)} refers to interface ${ifIndex}, but the section declares ${this.interfaces.length}`);
    }
    return iface;
  }

  private requireLength(pos: number, len: number, min: number, what: string): void {
    if (len < min) throw this.corrupt(pos, `${what} block of ${len} bytes is shorter than its ${min}-byte minimum`);
  }

  private corrupt(pos: number, detail: string): CaptureFormatError {
    return new CaptureFormatError(`corrupt pcapng block at offset ${this.win.fileOffset(pos)} in ${this.path}: ${detail}`);
  }
}

/** if_tsresol: the high bit selects a power of 2, otherwise a power of 10 (pcapng §4.2). */
function tsResolution(code: number): bigint {
  return code & 0x80 ? 1n << BigInt(code & 0x7f) : 10n ** BigInt(code);
}
