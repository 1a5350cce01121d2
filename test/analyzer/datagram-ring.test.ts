/**
 * The ring between the UDP receiving thread and the analyzer's event loop: datagrams come out
 * whole and in order across any number of wraps, a full ring refuses and counts, names come
 * before the datagrams they name, and a waiting reader is woken by the writer.
 */
import t from 'tap';
import { createDatagramRing, DatagramRingReader, DatagramRingWriter } from '../../src/analyzer/datagram-ring.js';

/** Deterministic bytes: datagram `i` of length `n`. */
function datagram(i: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) b[k] = (i * 31 + k * 7) & 255;
  return b;
}

t.test('sizes it refuses', async (t) => {
  t.throws(() => createDatagramRing(1000), /at least 4096/);
  t.throws(() => createDatagramRing(4098), /multiple of 4/);
});

t.test('every datagram comes out whole and in order across wraps; refusals are counted', async (t) => {
  const ring = createDatagramRing(16384);
  const writer = new DatagramRingWriter(ring);
  const reader = new DatagramRingReader(ring);
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const queued: { sender: number; bytes: Uint8Array }[] = [];
  let pushed = 0, pushedBytes = 0, refused = 0, read = 0, mismatches = 0;
  for (let round = 0; round < 400; round++) {
    // Push until the ring refuses, with sizes from empty (a probe) to 3 KB.
    for (;;) {
      const bytes = datagram(pushed + refused, next() % 3000);
      const sender = next() % 5;
      if (!writer.push(sender, bytes)) {
        refused++;
        break;
      }
      pushed++;
      pushedBytes += bytes.length;
      queued.push({ sender, bytes });
    }
    // Take a part of what is there, so that the next round writes around the reader's place.
    const took = reader.drain(1 + (next() % 6), (sender, payload) => {
      const want = queued.shift();
      if (want === undefined || want.sender !== sender || Buffer.compare(Buffer.from(want.bytes), payload) !== 0) mismatches++;
      read++;
    }, () => t.fail('no names were written'));
    t.ok(took <= 6, 'drain hands at most what it is asked');
  }
  reader.drain(Infinity, (sender, payload) => {
    const want = queued.shift();
    if (want === undefined || want.sender !== sender || Buffer.compare(Buffer.from(want.bytes), payload) !== 0) mismatches++;
    read++;
  }, () => undefined);
  t.equal(mismatches, 0, 'each datagram as written, with its sender');
  t.equal(read, pushed, 'nothing accepted is lost');
  t.ok(pushedBytes > 50 * 16384, `the ring was written round many times (${pushed} datagrams, ${pushedBytes} bytes)`);
  t.equal(reader.dropped, refused, 'every refusal is counted');
  t.ok(reader.empty);
});

t.test('going on at 0 never catches up with the reader: equal places would read as empty', async (t) => {
  const ring = createDatagramRing(4096);
  const writer = new DatagramRingWriter(ring);
  const reader = new DatagramRingReader(ring);
  // Entries of 20 + 1000 bytes at 0, 1020 and 2040; the reader then stands at 2040.
  for (let i = 0; i < 3; i++) t.ok(writer.push(0, datagram(i, 1000)));
  t.equal(reader.drain(2, () => undefined, () => undefined), 2);
  // 2040 bytes do not fit before the end (3060 + 2040): at 0 they would end exactly at the reader.
  t.notOk(writer.push(0, datagram(9, 2020)), 'refused');
  t.ok(writer.push(0, datagram(10, 2016)), 'one word less fits, at 0');
  const got: number[] = [];
  reader.drain(10, (_s, payload) => got.push(payload.length), () => undefined);
  t.same(got, [1000, 2016], 'the third entry, then the one written at 0');
  t.equal(reader.dropped, 1);
});

t.test('a name comes before the datagrams it names; names do not count as datagrams', async (t) => {
  const ring = createDatagramRing(4096);
  const writer = new DatagramRingWriter(ring);
  const reader = new DatagramRingReader(ring);
  t.ok(writer.name(3, Buffer.from('192.0.2.1:4000')));
  t.ok(writer.push(3, datagram(1, 10)));
  t.ok(writer.name(0, Buffer.from('[2001:db8::1]:53')));
  t.ok(writer.push(0, datagram(2, 0)));
  t.ok(writer.push(3, datagram(3, 5)));
  const seen: string[] = [];
  const names = new Map<number, string>();
  const n = reader.drain(10, (sender, payload) => seen.push(`${names.get(sender)} ${payload.length}`), (sender, name) => names.set(sender, name));
  t.equal(n, 3);
  t.same(seen, ['192.0.2.1:4000 10', '[2001:db8::1]:53 0', '192.0.2.1:4000 5']);
});

t.test('a full ring refuses a name too, and a datagram counted as dropped without one', async (t) => {
  const ring = createDatagramRing(4096);
  const writer = new DatagramRingWriter(ring);
  const reader = new DatagramRingReader(ring);
  while (writer.push(0, datagram(0, 500)));
  t.equal(reader.dropped, 1);
  t.notOk(writer.name(1, Buffer.alloc(600)));
  writer.countDrop();
  t.equal(reader.dropped, 2);
});

t.test('a waiting reader wakes when the writer writes, and at wake()', async (t) => {
  const ring = createDatagramRing(4096);
  const writer = new DatagramRingWriter(ring);
  const reader = new DatagramRingReader(ring);
  let woke = false;
  const waiting = reader.whenNotEmpty().then(() => { woke = true; });
  await new Promise((r) => setImmediate(r));
  t.notOk(woke, 'nothing to read: it waits');
  writer.push(0, datagram(0, 100));
  await waiting;
  t.ok(woke);
  await reader.whenNotEmpty();
  t.pass('resolves at once when there is something to read');
  reader.drain(1, () => undefined, () => undefined);
  const closing = reader.whenNotEmpty();
  reader.wake();
  await closing;
  t.ok(reader.empty, 'wake() releases a reader with nothing to read');
});

t.test('a reader about to sleep on an empty ring that was closed meanwhile does not sleep', async (t) => {
  const ring = createDatagramRing(4096);
  const writer = new DatagramRingWriter(ring);
  const reader = new DatagramRingReader(ring);
  t.ok(reader.empty && !reader.closed);
  // The close comes after the reader's last look and before its wait: nothing else will wake it.
  writer.close();
  const woke = await Promise.race([reader.whenNotEmpty().then(() => true), new Promise((r) => setTimeout(() => r(false), 2000))]);
  t.ok(woke, 'whenNotEmpty resolves for a closed ring');
  t.ok(reader.closed && reader.empty);
});
