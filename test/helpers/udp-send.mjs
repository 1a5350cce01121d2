/**
 * Sends UDP datagrams, one after the other (each send awaited), for the live capture tests.
 * Run inside a namespace: ip netns exec NS node udp-send.mjs HOST PORT COUNT SIZES [FOREVER]
 *
 * SIZES is a comma-separated list of payload sizes used in turn. A payload starts with the
 * datagram's 32-bit big-endian sequence number (when it has room for it), then repeats the
 * sequence number's low byte. With FOREVER=1 it sends until killed (COUNT is ignored).
 * Prints "sent N" at the end.
 */
import dgram from 'node:dgram';

const [host, portText, countText, sizesText, forever] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const sizes = sizesText.split(',').map(Number);
const sock = dgram.createSocket('udp4');
const send = (buf) => new Promise((resolve, reject) => sock.send(buf, port, host, (e) => (e ? reject(e) : resolve())));

let n = 0;
for (; forever === '1' || n < count; n++) {
  const size = sizes[n % sizes.length];
  const buf = Buffer.alloc(size, n & 255);
  if (size >= 4) buf.writeUInt32BE(n >>> 0, 0);
  await send(buf);
}
sock.close();
console.log(`sent ${n}`);
