/**
 * A queue of datagrams between two threads, in shared memory: one writer (the thread that
 * reads the UDP socket, udp-receiver.ts), one reader (the analyzer's event loop). Each entry is
 * a datagram and a number naming its sender; the names themselves travel as entries of their
 * own, once per sender, so that a datagram costs no string on either side.
 *
 * A ring made with scan rows also carries each datagram's scan (store/record-scan.ts), so that
 * the reader's thread (the one that stores flows) need not scan. The writer scans a message
 * either before it publishes it (`push(..., 'now')`) or later, while the reader has not taken it
 * yet (`'later'`, then `scanLater`): a thread whose first duty is to read a socket publishes at
 * once and scans in its spare time. Who scans a message published for later is settled by
 * compare-and-swap on its header: the writer claims it to scan it, or the reader claims it to
 * scan it itself; a reader that meets a message being scanned waits the few microseconds that
 * takes. The rows are a second ring, taken message by message in the order of the entries; a
 * message that does not scan there (malformed, with Stats, more records than the free rows)
 * goes unscanned, and its reader scans it itself and finds what is wrong with it.
 *
 * Layout: entries of a 20-byte header (kind, sender number, payload length, first scan row,
 * scan state) and the payload, each starting on a 4-byte boundary. The scan state is the
 * number of rows the scan took, or UNSCANNED, LATER or SCANNING. An entry never straddles the
 * end: when it does not fit there, a WRAP entry says "go on at 0". The write and read offsets
 * live in a small Int32Array; the ring is empty when they are equal, and the writer never lets
 * them meet from behind (it keeps one header's room free), so a full ring is never mistaken for
 * an empty one. The rows follow the same rule with their own offsets.
 */
import { MessageScan, ScanRowsFull } from '../store/record-scan.js';

/** Kinds of entries. */
const DATAGRAM = 1;
const NAME = 2;
const WRAP = 3;

const HEADER = 20;

/** Scan states of a datagram entry (else: the rows its scan took). */
const UNSCANNED = -1;
const LATER = -2;
const SCANNING = -3;

/** When to scan a datagram (rings with scan rows): before publishing it, or in `scanLater`. */
export type ScanWhen = 'now' | 'later';

/** Int32 slots of the control array. */
const WRITE = 0;
const READ = 1;
/** 1 while the reader waits for an entry (the writer then wakes it). */
const SLEEPING = 2;
/** Datagrams the writer dropped because the ring was full. */
const DROPPED = 3;
/** The scan row after the last one the reader is done with. */
const ROW_READ = 4;
/** 1 once the writer wrote its last entry (`close`). */
const CLOSED = 5;
/** 1 while the writer waits for room (the reader then wakes it). */
const WRITER_WAITING = 6;
/** 1 while the reader waits for the writer to finish scanning an entry (the writer then wakes it). */
const READER_WAITING = 7;
/**
 * Counts what wakes a sleeping reader (an entry, the close, `wake`). The reader reads it before
 * it looks at the ring, and sleeps only while it is unchanged: a wake-up given between its look
 * and its sleep is not lost.
 */
const EVENTS = 8;
const CONTROL_SLOTS = 9;

export interface DatagramRingBuffers {
  data: SharedArrayBuffer;
  control: SharedArrayBuffer;
  /** The scan rows, when the writer scans: `scanRows` rows in `scan`. */
  scan?: SharedArrayBuffer;
  scanRows: number;
}

export function createDatagramRing(bytes: number, scanRows = 0): DatagramRingBuffers {
  if (!Number.isInteger(bytes) || bytes < 4096 || bytes % 4 !== 0) throw new RangeError(`a datagram ring needs a size of at least 4096 bytes, a multiple of 4 (got ${bytes})`);
  return {
    data: new SharedArrayBuffer(bytes),
    control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
    scan: scanRows > 0 ? MessageScan.sharedMemory(scanRows) : undefined,
    scanRows,
  };
}

const align4 = (n: number): number => (n + 3) & ~3;

/** Atomics.waitAsync: ES2024, in V8 since Node 16, not in the ES2022 library the project compiles against. */
type WaitAsync = (a: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** The writing side: owned by one thread. */
export class DatagramRingWriter {
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  private readonly control: Int32Array;
  private readonly size: number;
  private write: number;
  /** Scanning: the ring's bytes as a Buffer (scan offsets are ring offsets), the rows, where the next go. */
  private readonly buf: Buffer;
  private readonly scan: MessageScan | undefined;
  private readonly rows: number;
  private rowWrite: number;
  /** Where `scanLater` looks next: an entry at or after the reader's, at or before `write`. */
  private later: number;

  constructor(buffers: DatagramRingBuffers) {
    this.bytes = new Uint8Array(buffers.data);
    this.words = new Int32Array(buffers.data);
    this.control = new Int32Array(buffers.control);
    this.size = buffers.data.byteLength;
    this.write = Atomics.load(this.control, WRITE);
    this.buf = Buffer.from(buffers.data);
    this.scan = buffers.scan === undefined ? undefined : new MessageScan(buffers.scan, buffers.scanRows);
    this.rows = buffers.scanRows;
    this.rowWrite = Atomics.load(this.control, ROW_READ);
    this.later = this.write;
  }

  /**
   * Queues a datagram from sender `sender`; false (and counted) when the ring is full. `scan`
   * (rings with scan rows): when to scan it (default 'now').
   */
  push(sender: number, payload: Uint8Array, scan: ScanWhen = 'now'): boolean {
    if (this.put(DATAGRAM, sender, payload, scan)) return true;
    this.countDrop();
    return false;
  }

  /** Queues an entry that must not be lost: false when the ring is full (not counted; wait and try again). */
  tryPush(sender: number, payload: Uint8Array): boolean {
    return this.put(DATAGRAM, sender, payload);
  }

  /**
   * Blocks the calling thread, at most `ms`, until the reader frees room (after tryPush refused).
   * Room freed just before the wait began goes unnoticed until `ms` passed: keep `ms` short.
   */
  waitForRoom(ms: number): void {
    Atomics.store(this.control, WRITER_WAITING, 1);
    Atomics.wait(this.control, READ, Atomics.load(this.control, READ), ms);
    Atomics.store(this.control, WRITER_WAITING, 0);
  }

  /** Writes no more: the reader sees `closed` once it has read everything. */
  close(): void {
    Atomics.store(this.control, CLOSED, 1);
    Atomics.add(this.control, EVENTS, 1);
    Atomics.notify(this.control, EVENTS);
  }

  /** Counts a datagram dropped before it reached the ring. */
  countDrop(): void {
    Atomics.add(this.control, DROPPED, 1);
  }

  /** Names sender `sender` for the datagrams that follow; false when the ring is full. */
  name(sender: number, name: Uint8Array): boolean {
    return this.put(NAME, sender, name);
  }

  private put(kind: number, sender: number, payload: Uint8Array, scan: ScanWhen = 'now'): boolean {
    const need = HEADER + align4(payload.length);
    const read = Atomics.load(this.control, READ);
    if (this.scan !== undefined) this.keepLaterAhead(read);
    let at = this.write;
    if (at >= read) {
      // Free: [at, size) then [0, read). One header's room always stays free at the end, for a WRAP.
      if (at + need + HEADER > this.size) {
        // Going on at 0 must leave a gap before `read`: equal offsets would read as empty.
        if (need >= read) return false;
        this.words[at >> 2] = WRAP;
        at = 0;
      }
    } else if (at + need >= read) {
      return false;
    }
    const w = at >> 2;
    this.bytes.set(payload, at + HEADER);
    let rows = UNSCANNED;
    if (kind === DATAGRAM && this.scan !== undefined) {
      rows = scan === 'later' ? LATER : this.scanAt(at + HEADER, payload.length);
    }
    this.words[w] = kind;
    this.words[w + 1] = sender;
    this.words[w + 2] = payload.length;
    this.words[w + 3] = rows < 0 ? 0 : this.scan!.first;
    this.words[w + 4] = rows;
    this.write = at + need;
    Atomics.store(this.control, WRITE, this.write);
    if (Atomics.load(this.control, SLEEPING) === 1) {
      Atomics.store(this.control, SLEEPING, 0);
      Atomics.add(this.control, EVENTS, 1);
      Atomics.notify(this.control, EVENTS);
    }
    return true;
  }

  /**
   * Scans, oldest first, the datagrams pushed for later that the reader has not taken, at most
   * `max` of them; returns how many it scanned (`max`: there may be more).
   */
  scanLater(max: number): number {
    if (this.scan === undefined) return 0;
    this.keepLaterAhead(Atomics.load(this.control, READ));
    const words = this.words;
    let n = 0;
    while (this.later !== this.write && n < max) {
      const w = this.later >> 2;
      if (words[w] === WRAP) {
        this.later = 0;
        continue;
      }
      const length = words[w + 2];
      if (words[w] === DATAGRAM && Atomics.compareExchange(words, w + 4, LATER, SCANNING) === LATER) {
        const rows = this.scanAt(this.later + HEADER, length);
        words[w + 3] = rows < 0 ? 0 : this.scan.first;
        Atomics.store(words, w + 4, rows);
        if (Atomics.load(this.control, READER_WAITING) === 1) Atomics.notify(words, w + 4);
        n++;
      }
      this.later += HEADER + align4(length);
    }
    return n;
  }

  /**
   * Moves `later` up to the reader's entry, `read`, if the reader passed it: the entries it passed
   * are read, and their room is the writer's again (an entry written there would not start
   * where `later` stands). Called before each write and each scanLater.
   */
  private keepLaterAhead(read: number): void {
    const passed = read <= this.write ? this.later < read || this.later > this.write : this.later < read && this.later > this.write;
    if (passed) this.later = read;
  }

  /**
   * Scans the message just copied to [start, start + length) of the ring into free rows;
   * returns how many rows it took, or -1 when it goes unscanned: the reader then scans it
   * itself, and finds what is wrong with it.
   */
  private scanAt(start: number, length: number): number {
    const scan = this.scan!;
    const rowRead = Atomics.load(this.control, ROW_READ);
    let first = this.rowWrite;
    // Rows in use: [rowRead, rowWrite), around the end. As with bytes, the writer never lets
    // rowWrite meet rowRead from behind, so equal offsets mean no row in use.
    let limit = first >= rowRead ? this.rows : rowRead - 1;
    for (;;) {
      try {
        scan.readAt(this.buf, start, start + length, first, limit);
        break;
      } catch (err) {
        // Out of rows at the end: once more from row 0, if the reader is past it.
        if (err instanceof ScanRowsFull && first >= rowRead && first > 0 && rowRead > 1) {
          first = 0;
          limit = rowRead - 1;
          continue;
        }
        return -1;
      }
    }
    // Stats go unscanned: the reader takes them from its own scan (rare: one per capture and tick).
    if (scan.stats !== undefined) return -1;
    scan.hashRows();
    this.rowWrite = first + scan.count;
    return scan.count;
  }
}

/**
 * What the reader is given for each datagram: a view into the ring and, when the writer scanned
 * it, its scan (rows in shared memory); both valid until the callback returns.
 */
export type DatagramHandler = (sender: number, payload: Buffer, scan: MessageScan | undefined) => void;
export type NameHandler = (sender: number, name: string) => void;

/** The reading side: owned by one thread. */
export class DatagramRingReader {
  private readonly data: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly control: Int32Array;
  private read: number;
  private readonly buf: Buffer;
  private readonly scan: MessageScan | undefined;

  constructor(buffers: DatagramRingBuffers) {
    this.data = buffers.data;
    this.words = new Int32Array(buffers.data);
    this.control = new Int32Array(buffers.control);
    this.read = Atomics.load(this.control, READ);
    this.buf = Buffer.from(buffers.data);
    this.scan = buffers.scan === undefined ? undefined : new MessageScan(buffers.scan, buffers.scanRows);
  }

  /** Datagrams the writer dropped so far, the ring being full. */
  get dropped(): number {
    return Atomics.load(this.control, DROPPED);
  }

  get empty(): boolean {
    return Atomics.load(this.control, WRITE) === this.read;
  }

  /** Whether the writer closed the ring (what it wrote before may still wait: see `empty`). */
  get closed(): boolean {
    return Atomics.load(this.control, CLOSED) === 1;
  }

  /**
   * Hands at most `max` datagrams to `onDatagram` (names to `onName`, not counted), oldest
   * first; each entry's room is given back to the writer once its callback returned. Returns
   * the number of datagrams handed.
   */
  drain(max: number, onDatagram: DatagramHandler, onName: NameHandler): number {
    const words = this.words;
    let n = 0;
    let write = Atomics.load(this.control, WRITE);
    while (n < max && this.read !== write) {
      const w = this.read >> 2;
      const kind = words[w];
      if (kind === WRAP) {
        this.read = 0;
        Atomics.store(this.control, READ, 0);
        continue;
      }
      const length = words[w + 2];
      const payload = Buffer.from(this.data, this.read + HEADER, length);
      if (kind === DATAGRAM) {
        const rows = this.claim(w + 4);
        if (rows >= 0 && this.scan !== undefined) {
          this.scan.scanned(this.buf, words[w + 3], rows);
          onDatagram(words[w + 1], payload, this.scan);
          // The rows are the writer's again.
          Atomics.store(this.control, ROW_READ, words[w + 3] + rows);
        } else {
          onDatagram(words[w + 1], payload, undefined);
        }
        n++;
      } else {
        onName(words[w + 1], payload.toString('utf8'));
      }
      this.read += HEADER + align4(length);
      Atomics.store(this.control, READ, this.read);
      if (this.read === write) write = Atomics.load(this.control, WRITE);
    }
    if (Atomics.load(this.control, WRITER_WAITING) === 1) Atomics.notify(this.control, READ);
    return n;
  }

  /**
   * The scan state of the entry whose state word is `at`, settled: the rows the writer's scan
   * took, or UNSCANNED (then this reader scans it). An entry left for later is claimed for the
   * reader; one the writer is scanning is waited for.
   */
  private claim(at: number): number {
    const words = this.words;
    let rows = Atomics.load(words, at);
    if (rows === LATER) {
      rows = Atomics.compareExchange(words, at, LATER, UNSCANNED);
      if (rows === LATER) return UNSCANNED;
    }
    while (rows === SCANNING) {
      Atomics.store(this.control, READER_WAITING, 1);
      Atomics.wait(words, at, SCANNING, 5);
      Atomics.store(this.control, READER_WAITING, 0);
      rows = Atomics.load(words, at);
    }
    return rows;
  }

  /** Blocks the calling thread (a worker's) until the ring holds an entry or is closed, at most `ms`. */
  waitNotEmpty(ms: number): void {
    const events = Atomics.load(this.control, EVENTS);
    Atomics.store(this.control, SLEEPING, 1);
    if (Atomics.load(this.control, WRITE) === this.read && !this.closed) Atomics.wait(this.control, EVENTS, events, ms);
    Atomics.store(this.control, SLEEPING, 0);
  }

  /**
   * Resolves once the ring holds an entry or is closed (at once if it does or is), or `wake` is
   * called. The writer wakes the reader only when it said it sleeps: a busy reader costs the
   * writer nothing.
   */
  async whenNotEmpty(): Promise<void> {
    const events = Atomics.load(this.control, EVENTS);
    Atomics.store(this.control, SLEEPING, 1);
    if (Atomics.load(this.control, WRITE) !== this.read || this.closed) {
      Atomics.store(this.control, SLEEPING, 0);
      return;
    }
    const waited = waitAsync(this.control, EVENTS, events);
    if (waited.async) await waited.value;
  }

  /** Wakes a reader waiting in whenNotEmpty (at close). */
  wake(): void {
    Atomics.add(this.control, EVENTS, 1);
    Atomics.notify(this.control, EVENTS);
  }
}
