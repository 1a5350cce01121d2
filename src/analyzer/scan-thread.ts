/**
 * The thread that scans agents' WebSocket messages for the store (ws-intake.ts starts it): each
 * flow.Message the event loop received comes in through one ring and goes out, scanned, through
 * another (datagram-ring.ts), in the order it came. Scanning is a third of what storing a flow
 * costs the event loop; here it runs beside it, on the other core.
 *
 * Nothing is dropped: when the way out is full, the thread waits for the event loop to take
 * entries. It ends once the way in is closed and read, closing the way out; `DONE` in the
 * shared flags says it ended, whatever the reason, so the event loop never waits for a thread
 * that is gone.
 */
import { workerData } from 'node:worker_threads';
import { DatagramRingReader, DatagramRingWriter } from './datagram-ring.js';
import { DONE_FLAG, type ScanThreadData } from './ws-intake.js';

/** Longest blocking wait (ms): the thread looks at the rings again at least this often. */
const WAIT_MS = 100;
/** Entries taken from the way in per round. */
const BATCH = 64;

if (workerData === null) throw new Error('scan-thread.ts runs as a worker thread');
const data = workerData as ScanThreadData;
const input = new DatagramRingReader(data.input);
const output = new DatagramRingWriter(data.output);
const flags = new Int32Array(data.flags);

const forward = (sender: number, payload: Buffer): void => {
  while (!output.tryPush(sender, payload)) output.waitForRoom(2);
};

try {
  for (;;) {
    if (input.drain(BATCH, forward, () => undefined) > 0) continue;
    if (input.closed && input.empty) break;
    input.waitNotEmpty(WAIT_MS);
  }
} finally {
  output.close();
  Atomics.store(flags, DONE_FLAG, 1);
  Atomics.notify(flags, DONE_FLAG);
}
