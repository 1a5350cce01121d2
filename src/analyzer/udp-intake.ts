/**
 * The analyzer's UDP flow intake (Skydive's default `flow.protocol: udp`): one `flow.Message`
 * per datagram, on the same address and port number as the HTTP server. A thread of its own
 * reads the socket into a shared ring (udp-receiver.ts says why); the event loop takes the
 * datagrams from the ring to the intake in batches, between which it serves everything else.
 * Whatever datagrams hold, the socket keeps listening.
 */
import { isIPv6 } from 'node:net';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { compiledScript } from '../project-files.js';
import { createDatagramRing, DatagramRingReader, type DatagramRingBuffers } from './datagram-ring.js';
import type { FlowIntake, Source } from './intake.js';
import type { MessageScan } from '../store/record-scan.js';

/**
 * Asked of the kernel: Linux caps it at net.core.rmem_max, except for a privileged analyzer
 * reading through the native addon (SO_RCVBUFFORCE, udprecv.c).
 */
const RECEIVE_BUFFER = 8 << 20;
/**
 * The ring between the receiving thread and the event loop: about 23,000 datagrams of 1400
 * bytes, a second of 100,000 flows a second. Its pages cost memory only once written.
 */
const RING_BYTES = 32 << 20;
/**
 * Scan rows of the ring: the receiving thread scans datagrams' flow.Messages there in its spare
 * time, off the event loop (a third of what storing a flow costs it). 65,536 rows, 18 MB, hold
 * the flows of most of the ring's datagrams at 267 bytes a flow; datagrams beyond go unscanned
 * and are scanned by the event loop.
 */
const SCAN_ROWS = 1 << 16;
/** Datagrams taken from the ring per turn of the event loop (a few ms of work). */
const DATAGRAMS_PER_TURN = 256;

/** What the receiving thread (udp-receiver.ts) is given. */
export interface UDPReceiverData {
  host: string;
  port: number;
  ipv6: boolean;
  receiveBufferBytes: number;
  ring: DatagramRingBuffers;
  /** Int32 flags: CLOSE_FLAG. */
  control: SharedArrayBuffer;
  /** Which socket: the addon's when built (default), or node:dgram's. */
  socket?: 'native' | 'dgram';
}

export const CLOSE_FLAG = 0;

/** Datagrams lost on the way in: by the kernel (its buffer full), by the ring (full). */
export interface UDPDrops {
  /** From /proc/net/udp*; undefined off Linux. */
  kernel?: number;
  queue: number;
}

export interface UDPIntake {
  readonly port: number;
  drops(): UDPDrops;
  close(): Promise<void>;
}

interface ReceiverMessage { listening?: number; error?: string; log?: string; closed?: boolean }

export interface UDPIntakeOptions {
  /** The ring's bytes (default RING_BYTES). */
  ringBytes?: number;
  /** The receiving thread's socket (default: the native addon's when built; udp-receiver.ts). */
  socket?: 'native' | 'dgram';
}

export async function listenUDP(host: string, port: number, intake: FlowIntake, log: (line: string) => void, opts: UDPIntakeOptions = {}): Promise<UDPIntake> {
  const v6 = isIPv6(host);
  const ring = createDatagramRing(opts.ringBytes ?? RING_BYTES, SCAN_ROWS);
  const control = new SharedArrayBuffer(4);
  const data: UDPReceiverData = { host, port, ipv6: v6, receiveBufferBytes: RECEIVE_BUFFER, ring, control, socket: opts.socket };
  const worker = new Worker(compiledScript('analyzer/udp-receiver.js'), { workerData: data });
  // Until the thread says it listens: its bind error, or its end, is listenUDP's error.
  const bound = await new Promise<number>((resolve, reject) => {
    const settle = (): void => {
      // Only these: Worker keeps listeners of its own (its port's reference follows 'message' listeners).
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    };
    const onMessage = (m: ReceiverMessage): void => {
      if (m.listening === undefined && m.error === undefined) return;
      settle();
      if (m.listening !== undefined) resolve(m.listening);
      else reject(new Error(m.error));
    };
    const onError = (err: Error): void => { settle(); reject(err); };
    const onExit = (code: number): void => { settle(); reject(new Error(`the UDP receiving thread exited (code ${code})`)); };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  const where = `udp ${host}:${bound}`;
  const closed = new Promise<void>((resolve) => {
    worker.on('message', (m: ReceiverMessage) => {
      if (m.log !== undefined) log(`${where}: ${m.log}`);
      if (m.error !== undefined) log(`${where}: the receiving thread failed, no more flows over UDP: ${m.error}`);
      if (m.closed) resolve();
    });
    worker.once('exit', () => resolve());
  });
  worker.on('error', (err) => log(`${where}: the receiving thread failed, no more flows over UDP: ${err.stack ?? err.message}`));

  const reader = new DatagramRingReader(ring);
  const sources: Source[] = [];
  const unnamed: Source = { transport: 'udp', agent: 'unknown' };
  const onDatagram = (sender: number, payload: Buffer, scan: MessageScan | undefined): void => {
    intake.ingest(payload, sources[sender] ?? unnamed, scan);
  };
  const onName = (sender: number, name: string): void => {
    sources[sender] = { transport: 'udp', agent: name };
  };
  let open = true;
  const pump = (async () => {
    for (;;) {
      if (reader.empty) {
        if (!open) return;
        await reader.whenNotEmpty();
        continue;
      }
      reader.drain(DATAGRAMS_PER_TURN, onDatagram, onName);
      await new Promise((r) => setImmediate(r));
    }
  })();
  const proc = v6 ? '/proc/net/udp6' : '/proc/net/udp';
  return {
    port: bound,
    drops: () => ({ kernel: socketCounters(proc, bound)?.drops, queue: reader.dropped }),
    close: async () => {
      // Datagrams an agent sent just before its stop may still wait in the receive queue: read
      // them before closing (at most DRAIN_MS), so that a stopping allinone loses none.
      const until = Date.now() + DRAIN_MS;
      while (Date.now() < until && (socketCounters(proc, bound)?.queued ?? 0) > 0) {
        await new Promise((r) => setTimeout(r, 10));
      }
      Atomics.store(new Int32Array(control), CLOSE_FLAG, 1);
      Atomics.notify(new Int32Array(control), CLOSE_FLAG);
      worker.postMessage({ close: true });
      await closed;
      await worker.terminate();
      open = false;
      reader.wake();
      await pump;
    },
  };
}

const DRAIN_MS = 2000;

/**
 * The kernel's counters of the sockets bound to `port` (Linux /proc/net/udp*): datagrams dropped
 * (the `drops` column) and bytes waiting in the receive queues (`rx_queue`); undefined off Linux.
 */
function socketCounters(file: string, port: number): { drops: number; queued: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let drops = 0, queued = 0;
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13 || !cols[1].endsWith(`:${hexPort}`)) continue;
    drops += Number(cols[cols.length - 1]) || 0;
    queued += parseInt(cols[4].split(':')[1] ?? '0', 16) || 0;
  }
  return { drops, queued };
}
