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
 * Messages: in, `{ close: true }`; out, `{ listening: port }`, `{ error: text }` (bind failed)
 * and `{ log: text }` (the socket failed later), `{ closed: true }`.
 */
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { DatagramRingWriter, type DatagramRingBuffers } from './datagram-ring.js';

export interface UDPReceiverData {
  host: string;
  port: number;
  ipv6: boolean;
  receiveBufferBytes: number;
  ring: DatagramRingBuffers;
}

/** Senders named at most before the numbering starts over (spoofed sources cannot grow it). */
const MAX_SENDERS = 4096;
/**
 * Each datagram is published at once and scanned afterwards, in the thread's spare time, if the
 * event loop has not taken it yet (datagram-ring.ts). Reading comes first: the socket's buffer
 * overflows in tens of milliseconds. libuv reads at most READS_PER_TURN datagrams a turn of this
 * thread's loop; a turn that read that many left some in the socket, and scans nothing. Other
 * turns scan up to SCANNED_PER_TURN (a tenth of a millisecond or so).
 */
const READS_PER_TURN = 32;
const SCANNED_PER_TURN = 32;

const port = parentPort;
if (port === null) throw new Error('udp-receiver.ts runs as a worker thread');
const data = workerData as UDPReceiverData;
const ring = new DatagramRingWriter(data.ring);
const senders = new Map<string, number>();
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
  let id = senders.get(name);
  if (id === undefined) {
    if (senders.size === MAX_SENDERS) senders.clear();
    id = senders.size;
    // A datagram whose sender could not be named is dropped (and counted) with it.
    if (!ring.name(id, Buffer.from(name))) {
      ring.countDrop();
      return;
    }
    senders.set(name, id);
  }
  readThisTurn++;
  ring.push(id, msg, 'later');
  if (!scanning) {
    scanning = true;
    setImmediate(scanTurn);
  }
});
socket.once('error', (err) => port.postMessage({ error: err.message }));
socket.bind(data.port, data.host, () => {
  socket.removeAllListeners('error');
  socket.on('error', (err) => port.postMessage({ log: err.message }));
  port.postMessage({ listening: socket.address().port });
});
port.on('message', (m: { close?: boolean }) => {
  if (m.close) socket.close(() => port.postMessage({ closed: true }));
});
