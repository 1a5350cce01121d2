/**
 * A queue of datagrams between two threads, in shared memory: one writer (the thread that
 * reads the UDP socket, udp-receiver.ts), one reader (the analyzer's event loop). Each entry is
 * a datagram and a number naming its sender; the names themselves travel as entries of their
 * own, once per sender, so that a datagram costs no string on either side.
 *
 * Layout: entries of a 12-byte header (kind, sender number, payload length) and the payload,
 * each starting on a 4-byte boundary. An entry never straddles the end: when it does not fit
 * there, a WRAP entry says "go on at 0". The write and read offsets live in a small Int32Array;
 * the ring is empty when they are equal, and the writer never lets them meet from behind (it
 * keeps one header's room free), so a full ring is never mistaken for an empty one.
 */

/** Kinds of entries. */
const DATAGRAM = 1;
const NAME = 2;
const WRAP = 3;

const HEADER = 12;

/** Int32 slots of the control array. */
const WRITE = 0;
const READ = 1;
/** 1 while the reader waits for an entry (the writer then wakes it). */
const SLEEPING = 2;
/** Datagrams the writer dropped because the ring was full. */
const DROPPED = 3;
const CONTROL_SLOTS = 4;

export interface DatagramRingBuffers {
  data: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

export function createDatagramRing(bytes: number): DatagramRingBuffers {
  if (!Number.isInteger(bytes) || bytes < 4096 || bytes % 4 !== 0) throw new RangeError(`a datagram ring needs a size of at least 4096 bytes, a multiple of 4 (got ${bytes})`);
  return { data: new SharedArrayBuffer(bytes), control: new SharedArrayBuffer(CONTROL_SLOTS * 4) };
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

  constructor(buffers: DatagramRingBuffers) {
    this.bytes = new Uint8Array(buffers.data);
    this.words = new Int32Array(buffers.data);
    this.control = new Int32Array(buffers.control);
    this.size = buffers.data.byteLength;
    this.write = Atomics.load(this.control, WRITE);
  }

  /** Queues a datagram from sender `sender`; false (and counted) when the ring is full. */
  push(sender: number, payload: Uint8Array): boolean {
    if (this.put(DATAGRAM, sender, payload)) return true;
    this.countDrop();
    return false;
  }

  /** Counts a datagram dropped before it reached the ring. */
  countDrop(): void {
    Atomics.add(this.control, DROPPED, 1);
  }

  /** Names sender `sender` for the datagrams that follow; false when the ring is full. */
  name(sender: number, name: Uint8Array): boolean {
    return this.put(NAME, sender, name);
  }

  private put(kind: number, sender: number, payload: Uint8Array): boolean {
    const need = HEADER + align4(payload.length);
    const read = Atomics.load(this.control, READ);
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
    this.words[w] = kind;
    this.words[w + 1] = sender;
    this.words[w + 2] = payload.length;
    this.bytes.set(payload, at + HEADER);
    this.write = at + need;
    Atomics.store(this.control, WRITE, this.write);
    if (Atomics.load(this.control, SLEEPING) === 1) {
      Atomics.store(this.control, SLEEPING, 0);
      Atomics.notify(this.control, WRITE);
    }
    return true;
  }
}

/** What the reader is given for each datagram: a view into the ring, valid until the callback returns. */
export type DatagramHandler = (sender: number, payload: Buffer) => void;
export type NameHandler = (sender: number, name: string) => void;

/** The reading side: owned by one thread. */
export class DatagramRingReader {
  private readonly data: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly control: Int32Array;
  private read: number;

  constructor(buffers: DatagramRingBuffers) {
    this.data = buffers.data;
    this.words = new Int32Array(buffers.data);
    this.control = new Int32Array(buffers.control);
    this.read = Atomics.load(this.control, READ);
  }

  /** Datagrams the writer dropped so far, the ring being full. */
  get dropped(): number {
    return Atomics.load(this.control, DROPPED);
  }

  get empty(): boolean {
    return Atomics.load(this.control, WRITE) === this.read;
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
        onDatagram(words[w + 1], payload);
        n++;
      } else {
        onName(words[w + 1], payload.toString('utf8'));
      }
      this.read += HEADER + align4(length);
      Atomics.store(this.control, READ, this.read);
      if (this.read === write) write = Atomics.load(this.control, WRITE);
    }
    return n;
  }

  /**
   * Resolves once the ring holds an entry (at once if it does). The writer wakes the reader only
   * when it said it sleeps: a busy reader costs the writer nothing.
   */
  async whenNotEmpty(): Promise<void> {
    Atomics.store(this.control, SLEEPING, 1);
    const write = Atomics.load(this.control, WRITE);
    if (write !== this.read) {
      Atomics.store(this.control, SLEEPING, 0);
      return;
    }
    const waited = waitAsync(this.control, WRITE, write);
    if (waited.async) await waited.value;
  }

  /** Wakes a reader waiting in whenNotEmpty (at close). */
  wake(): void {
    Atomics.notify(this.control, WRITE);
  }
}
