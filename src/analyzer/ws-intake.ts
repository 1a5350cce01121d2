/**
 * Agents' WebSocket messages on their way to the store. The event loop receives them; a thread
 * of their own (scan-thread.ts) scans them; the event loop stores them, in the order they came,
 * from the scan (FlowIntake.ingest). At a few hundred thousand flows a second the event loop is
 * what limits the intake, and scanning was a third of its work per flow.
 *
 * Each message is copied into a shared ring on its way in and again on its way out; the
 * messages waiting between the two are listed here with whom they came from and what to do once
 * they are stored (an acknowledgement). Nothing is dropped: when the rings are full, `submit`
 * stores what is scanned, and waits for the thread, before it returns. Should the thread stop
 * (it never does but through a bug), the event loop takes what it left and goes on alone.
 */
import { Worker } from 'node:worker_threads';
import { compiledScript } from '../project-files.js';
import type { MessageScan } from '../store/record-scan.js';
import { createDatagramRing, DatagramRingReader, DatagramRingWriter, type DatagramRingBuffers } from './datagram-ring.js';
import type { FlowIntake, Source } from './intake.js';

/**
 * The way in: about 150 messages of 100 flows (the thread scans faster than the event loop
 * stores, so this ring stays nearly empty). The way out: about 300, with as many scan rows as
 * its bytes hold flows (9 MB). Their pages cost memory once written: 21 MB in all.
 */
const INPUT_BYTES = 4 << 20;
const OUTPUT_BYTES = 8 << 20;
const SCAN_ROWS = 1 << 15;
/** Messages stored per turn of the event loop (a few ms of work at 100 flows each). */
const MESSAGES_PER_TURN = 32;

/** What the scanning thread is given. */
export interface ScanThreadData {
  input: DatagramRingBuffers;
  output: DatagramRingBuffers;
  /** Int32 flags: DONE_FLAG is 1 once the thread stopped. */
  flags: SharedArrayBuffer;
}

export const DONE_FLAG = 0;

interface Waiting {
  source: Source;
  stored: (() => void) | undefined;
}

export class WebSocketIntake {
  private readonly input: DatagramRingWriter;
  private readonly output: DatagramRingReader;
  private readonly inputBuffers: DatagramRingBuffers;
  private readonly flags: Int32Array;
  private readonly worker: Worker | undefined;
  /** Messages in the rings, oldest first from `head`. */
  private readonly waiting: Waiting[] = [];
  private head = 0;
  private idleWaiters: (() => void)[] = [];
  /** The thread is gone (or never started): messages are stored as they come. */
  private alone = false;
  private closing = false;
  private readonly pump: Promise<void>;

  constructor(private readonly intake: FlowIntake, private readonly log: (line: string) => void) {
    const input = createDatagramRing(INPUT_BYTES);
    const output = createDatagramRing(OUTPUT_BYTES, SCAN_ROWS);
    const flags = new SharedArrayBuffer(4);
    this.inputBuffers = input;
    this.input = new DatagramRingWriter(input);
    this.output = new DatagramRingReader(output);
    this.flags = new Int32Array(flags);
    let worker: Worker | undefined;
    try {
      const data: ScanThreadData = { input, output, flags };
      worker = new Worker(compiledScript('analyzer/scan-thread.js'), { workerData: data });
      worker.on('error', (err) => this.threadFailed(`the scanning thread failed: ${err.stack ?? err.message}`));
      worker.on('exit', (code) => {
        if (!this.closing) this.threadFailed(`the scanning thread exited (code ${code})`);
      });
      // Referenced only while messages wait (submit): an idle intake keeps no process alive.
      worker.unref();
    } catch (err) {
      this.log(`websocket intake: no scanning thread (${(err as Error).message}); messages are scanned by the event loop`);
      this.alone = true;
    }
    this.worker = worker;
    this.pump = this.alone ? Promise.resolve() : this.run();
  }

  /** Queues one message from `source`; `stored` is called once it is stored (or refused as malformed). */
  submit(bytes: Uint8Array, source: Source, stored?: () => void): void {
    // Closing, the thread may be gone: a message submitted then (there should be none) is stored at once.
    if (this.alone || this.closing) {
      this.intake.ingest(bytes, source);
      stored?.();
      return;
    }
    // While messages wait, the thread keeps the process alive (a waiting event loop does not).
    if (this.head === this.waiting.length) this.worker?.ref();
    this.waiting.push({ source, stored });
    while (!this.input.tryPush(0, bytes)) {
      // Both rings full: the thread waits for the event loop to take what it scanned.
      if (this.storeScanned(Infinity) > 0) continue;
      if (this.threadDone()) this.takeOver();
      if (this.alone) {
        // takeOver stored everything before this message, which is the last one waiting.
        this.storeNext(bytes, undefined);
        return;
      }
      this.input.waitForRoom(2);
    }
  }

  /** Resolves once every message submitted so far is stored. */
  idle(): Promise<void> {
    if (this.head === this.waiting.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stores what is queued and stops the thread; what is submitted after is stored at once. */
  async close(): Promise<void> {
    this.closing = true;
    // Unreferenced so that it keeps no process alive; until it has ended, it must.
    this.worker?.ref();
    this.input.close();
    await this.pump;
    await this.worker?.terminate();
    this.alone = true;
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.output.empty) {
        if (this.output.closed || this.alone) return;
        await this.output.whenNotEmpty();
        continue;
      }
      this.storeScanned(MESSAGES_PER_TURN);
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Stores at most `max` scanned messages; returns how many. */
  private storeScanned(max: number): number {
    return this.output.drain(max, this.onScanned, () => undefined);
  }

  private readonly onScanned = (_sender: number, payload: Buffer, scan: MessageScan | undefined): void => {
    this.storeNext(payload, scan);
  };

  /** Stores the oldest message waiting, `bytes` (scanned as `scan`, or to be scanned). */
  private storeNext(bytes: Uint8Array, scan: MessageScan | undefined): void {
    const w = this.waiting[this.head++];
    this.intake.ingest(bytes, w.source, scan);
    w.stored?.();
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
      if (!this.closing) this.worker?.unref();
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    } else if (this.head > 4096 && 2 * this.head > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }

  private threadDone(): boolean {
    return Atomics.load(this.flags, DONE_FLAG) === 1;
  }

  private threadFailed(why: string): void {
    if (this.alone) return;
    this.log(`websocket intake: ${why}; messages are scanned by the event loop from now on`);
    this.takeOver();
    this.output.wake();
  }

  /** The thread is gone: stores what it scanned, then what it left on the way in, and goes on alone. */
  private takeOver(): void {
    this.alone = true;
    this.storeScanned(Infinity);
    // The thread no longer reads the way in: the event loop is its one reader now.
    new DatagramRingReader(this.inputBuffers).drain(Infinity, (_s, payload) => this.storeNext(payload, undefined), () => undefined);
  }
}
