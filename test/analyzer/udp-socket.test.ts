/**
 * The native addon's UDP socket (native/udprecv.c), which the analyzer's receiving thread reads:
 * datagrams come out in the order sent, whole, with their senders; those that do not fit in the
 * caller's buffer wait for the next call; errors say what failed and carry the errno name.
 */
import t from 'tap';
import { createSocket } from 'node:dgram';
import { nativeAddon, UDP_ENTRY_HEADER, UDP_MIN_OUT } from '../../src/native-addon.js';

const addon = nativeAddon();

interface Entry { payload: Buffer; family: number; address: string; port: number }

/** The entries udpRecv wrote into `out`. */
function entries(out: Uint8Array, n: number): Entry[] {
  const buf = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  const got: Entry[] = [];
  for (let i = 0, at = 0; i < n; i++) {
    const length = buf.readUInt32LE(at);
    got.push({
      payload: Buffer.from(buf.subarray(at + UDP_ENTRY_HEADER, at + UDP_ENTRY_HEADER + length)),
      family: buf[at + 6], address: buf.toString('latin1', at + 24, at + 24 + buf[at + 7]), port: buf.readUInt16LE(at + 4),
    });
    at += UDP_ENTRY_HEADER + ((length + 3) & ~3);
  }
  return got;
}

t.test('datagrams queued in the socket come out in order, whole, a bounded buffer at a time', async (t) => {
  const socket = addon.udpOpen!('127.0.0.1', 0, false, 4 << 20);
  t.teardown(() => addon.udpClose!(socket.handle));
  t.ok(socket.port > 0, `bound to port ${socket.port}`);
  t.ok(socket.receiveBufferBytes >= 1 << 20, `the kernel granted ${socket.receiveBufferBytes} bytes`);
  const sender = createSocket('udp4');
  await new Promise<void>((ok) => sender.bind(0, '127.0.0.1', ok));
  t.teardown(() => sender.close());
  // 80 datagrams of 1 to 20,000 bytes, all queued before the first read: more than one
  // recvmmsg takes (64), and more bytes than the smallest buffer udpRecv accepts holds.
  const sent = Array.from({ length: 80 }, (_, i) => Buffer.alloc(i % 4 === 0 ? 20_000 : 1 + i * 7, i + 1));
  for (const d of sent) await new Promise<void>((ok, ko) => sender.send(d, socket.port, '127.0.0.1', (e) => (e ? ko(e) : ok())));

  const out = new Uint8Array(UDP_MIN_OUT);
  const got: Entry[] = [];
  let calls = 0;
  while (got.length < sent.length && calls < 200) {
    const n = addon.udpRecv!(socket.handle, out, 100);
    calls++;
    t.ok(n > 0, 'each call gives datagrams while some wait');
    got.push(...entries(out, n));
  }
  t.ok(calls > 2, `the datagrams took ${calls} calls of a ${UDP_MIN_OUT}-byte buffer`);
  t.same(got.map((e) => e.payload), sent, 'every datagram, whole, in the order sent');
  const port = sender.address().port;
  t.ok(got.every((e) => e.family === 4 && e.address === '127.0.0.1' && e.port === port), 'each from the sender, by address and port');
  t.equal(addon.udpRecv!(socket.handle, out, 0), 0, 'nothing more: no wait with a timeout of 0');
});

t.test('IPv6, and an empty datagram', async (t) => {
  const socket = addon.udpOpen!('::1', 0, true, 1 << 20);
  t.teardown(() => addon.udpClose!(socket.handle));
  const sender = createSocket('udp6');
  await new Promise<void>((ok) => sender.bind(0, '::1', ok));
  t.teardown(() => sender.close());
  await new Promise<void>((ok, ko) => sender.send(Buffer.alloc(0), socket.port, '::1', (e) => (e ? ko(e) : ok())));
  await new Promise<void>((ok, ko) => sender.send(Buffer.from('flows'), socket.port, '::1', (e) => (e ? ko(e) : ok())));
  const out = new Uint8Array(UDP_MIN_OUT);
  const got: Entry[] = [];
  for (let calls = 0; got.length < 2 && calls < 20; calls++) got.push(...entries(out, addon.udpRecv!(socket.handle, out, 100)));
  t.same(got.map((e) => [e.payload.toString(), e.family, e.address, e.port]), [['', 6, '::1', sender.address().port], ['flows', 6, '::1', sender.address().port]]);
});

t.test('errors: a port taken, bad arguments, a closed socket', async (t) => {
  const first = addon.udpOpen!('127.0.0.1', 0, false, 0);
  t.teardown(() => addon.udpClose!(first.handle));
  t.throws(() => addon.udpOpen!('127.0.0.1', first.port, false, 0), { code: 'EADDRINUSE', message: `bind 127.0.0.1:${first.port}: Address already in use (EADDRINUSE)` });
  t.throws(() => addon.udpOpen!('localhost', 0, false, 0), { code: 'ERR_INVALID_ARG', message: /numeric IPv4/ });
  t.throws(() => addon.udpRecv!(first.handle, new Uint8Array(1000), 0), { code: 'ERR_INVALID_ARG', message: /at least 65,608 bytes/ });
  t.throws(() => addon.udpRecv!({}, new Uint8Array(UDP_MIN_OUT), 0), { code: 'ERR_INVALID_ARG', message: /handle/ });
  const second = addon.udpOpen!('127.0.0.1', 0, false, 0);
  addon.udpClose!(second.handle);
  t.throws(() => addon.udpRecv!(second.handle, new Uint8Array(UDP_MIN_OUT), 0), { message: /closed/ });
});
