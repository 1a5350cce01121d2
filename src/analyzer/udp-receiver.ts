/**
 * The thread that reads the analyzer's flow UDP socket (udp-intake.ts starts it): each datagram
 * goes into the shared ring as it arrives, whatever the event loop of the analyzer is doing.
 *
 * Why a thread: the kernel keeps a few MB of datagrams for a socket (net.core.rmem_max) and
 * drops the rest. Read by the analyzer's event loop, that is some tens of milliseconds of
 * agents' traffic: a pause longer than that (a burst of queries, a collection of the heap, the
 * first seconds of a fresh analyzer whose code is not optimised yet) lost flows. This thread
 * does little but read and copy, so the kernel's buffer stays empty, and the ring (tens of MB)
 * absorbs the pause. Reading here also takes the socket's per-datagram cost off the event loop,
 * and so does scanning each flow.Message for the store (datagram-ring.ts) in the thread's spare
 * time.
 *
 * The socket is the native addon's (udprecv.c: up to 64 datagrams a system call, no object per
 * datagram, 40% less CPU a datagram) when the addon is built, else node:dgram's (said once in
 * the log).
 *
 * Messages: out, `{ listening: port }`, `{ error: text }` (bind failed) and `{ log: text }`,
 * `{ closed: true }`. In: `{ close: true }`, and the same as CLOSE_FLAG in `control` (the
 * native socket's loop never returns to the thread's event loop to read messages).
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { endianness } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { nativeAddon, UDP_ENTRY_HEADER, UDP_MIN_OUT, type NativeAddon } from '../native-addon.js';
import { DatagramRingWriter } from './datagram-ring.js';
import { CLOSE_FLAG, type UDPReceiverData } from './udp-intake.js';

/** Senders named at most before the numbering starts over (spoofed sources cannot grow it). */
const MAX_SENDERS = 4096;
/**
 * Each datagram is published at once and scanned afterwards, in the thread's spare time, if the
 * event loop has not taken it yet (datagram-ring.ts). Reading comes first: the socket's buffer
 * overflows in tens of milliseconds. node:dgram: libuv reads at most READS_PER_TURN datagrams a
 * turn of this thread's loop; a turn that read that many left some in the socket, and scans
 * nothing. Other turns, and each round of the native loop, scan up to SCANNED_PER_TURN (a tenth
 * of a millisecond or so).
 */
const READS_PER_TURN = 32;
const SCANNED_PER_TURN = 32;
/** The native loop: the longest wait for a datagram (the close flag is looked at this often), and the room for one round's datagrams. */
const WAIT_MS = 20;
const OUT_BYTES = 1 << 20;

const port = parentPort;
if (port === null) throw new Error('udp-receiver.ts runs as a worker thread');
const data = workerData as UDPReceiverData;
const control = new Int32Array(data.control);
const ring = new DatagramRingWriter(data.ring);
const ids = new Map<number | string, number>();

/**
 * Queues a datagram from the sender `key` names (an IPv4 address and port as one number, or a
 * string); `name` gives its text for the sender's first datagram. A datagram whose sender
 * could not be named is dropped (and counted) with it.
 */
function accept(key: number | string, name: () => string, payload: Uint8Array): void {
  let id = ids.get(key);
  if (id === undefined) {
    if (ids.size === MAX_SENDERS) ids.clear();
    id = ids.size;
    if (!ring.name(id, Buffer.from(name()))) {
      ring.countDrop();
      return;
    }
    ids.set(key, id);
  }
  ring.push(id, payload, 'later');
}

function nativeSocket(): NativeAddon | string {
  try {
    const addon = nativeAddon();
    return typeof addon.udpOpen === 'function' ? addon : 'the native addon predates its UDP socket: run `npm run build`';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Reads through the addon until the close flag is set. */
async function runNative(addon: NativeAddon): Promise<void> {
  const { address } = await lookup(data.host, { family: data.ipv6 ? 6 : 4 });
  const socket = addon.udpOpen!(address, data.port, data.ipv6, data.receiveBufferBytes);
  port!.postMessage({ listening: socket.port });
  const out = new Uint8Array(Math.max(OUT_BYTES, UDP_MIN_OUT));
  const buf = Buffer.from(out.buffer);
  const view = new DataView(out.buffer);
  const le = endianness() === 'LE';
  let backlog = false;
  let lastError = '';
  while (Atomics.load(control, CLOSE_FLAG) === 0) {
    let n: number;
    try {
      n = addon.udpRecv!(socket.handle, out, backlog ? 0 : WAIT_MS);
    } catch (err) {
      // Said once per kind of failure; the socket is tried again after a pause.
      if ((err as Error).message !== lastError) port!.postMessage({ log: (lastError = (err as Error).message) });
      Atomics.wait(control, CLOSE_FLAG, 0, 100);
      continue;
    }
    for (let i = 0, at = 0; i < n; i++) {
      const length = view.getUint32(at, le);
      const from = view.getUint16(at + 4, le);
      const text = at + 24;
      const name = (): string => `${buf.toString('latin1', text, text + out[at + 7])}:${from}`;
      // IPv4: address and port as one number (48 bits), no string a datagram.
      const key = out[at + 6] === 4 ? view.getUint32(at + 8) * 65536 + from : name();
      accept(key, name, out.subarray(at + UDP_ENTRY_HEADER, at + UDP_ENTRY_HEADER + length));
      at += UDP_ENTRY_HEADER + ((length + 3) & ~3);
    }
    backlog = ring.scanLater(SCANNED_PER_TURN) === SCANNED_PER_TURN;
  }
  addon.udpClose!(socket.handle);
  port!.postMessage({ closed: true });
}

/** Reads through node:dgram until told to close; `note`: said once listening. */
function runDgram(note: string | undefined): void {
  let scanning = false;
  let readThisTurn = 0;
  const scanTurn = (): void => {
    const backlog = readThisTurn >= READS_PER_TURN;
    readThisTurn = 0;
    if (backlog || ring.scanLater(SCANNED_PER_TURN) === SCANNED_PER_TURN) setImmediate(scanTurn);
    else scanning = false;
  };
  const socket = dgram.createSocket({ type: data.ipv6 ? 'udp6' : 'udp4', recvBufferSize: data.receiveBufferBytes });
  socket.on('message', (msg, rinfo) => {
    const name = `${rinfo.address}:${rinfo.port}`;
    readThisTurn++;
    accept(name, () => name, msg);
    if (!scanning) {
      scanning = true;
      setImmediate(scanTurn);
    }
  });
  socket.once('error', (err) => port!.postMessage({ error: err.message }));
  socket.bind(data.port, data.host, () => {
    socket.removeAllListeners('error');
    socket.on('error', (err) => port!.postMessage({ log: err.message }));
    port!.postMessage({ listening: socket.address().port });
    if (note !== undefined) port!.postMessage({ log: note });
  });
  port!.on('message', (m: { close?: boolean }) => {
    if (m.close) socket.close(() => port!.postMessage({ closed: true }));
  });
}

const addon = data.socket === 'dgram' ? undefined : nativeSocket();
if (typeof addon === 'object') {
  runNative(addon).catch((err: unknown) => port.postMessage({ error: (err as Error).message }));
} else {
  runDgram(addon === undefined ? undefined : `reading through node:dgram, which costs more CPU a datagram than the native addon (${addon})`);
}
