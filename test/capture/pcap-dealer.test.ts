/**
 * The record dealer of classic pcap files (native/pcapshard.c through
 * CaptureReader.dealer): every record reaches the tables in file order, whole
 * and stamped as readBatch gives it; one it marks as a table's own is one that
 * assembly/shard.ts's shardOf gives to that table, and one it leaves unmarked
 * reaches every table. Checked on frames of every kind the placement looks at,
 * and on the same frames with bytes of their headers changed at random.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CaptureFormatError, CaptureReader } from '../../src/capture/pcapfile.js';
import { nativeAddon } from '../../src/native-addon.js';
import { dot1q, ethernet, gre, icmpEcho, ipv4, mpls, tcp, TCP_FLAGS as F, udp, vxlan } from '../helpers/packets.js';
import { pcapngBytes, writePcap } from '../helpers/pcap.js';
import { testCore } from '../helpers/wasm.js';

const dir = mkdtempSync(path.join(tmpdir(), 'dealer-'));
const BATCH_OWNED = 0x40000000;

let seed = 11;
// The high bits: the low bits of this generator repeat with short periods.
const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };

function ipv6(src: number, dst: number, next: number, payload: number[]): number[] {
  const addr = (x: number) => [0x20, 0x01, 0x0d, 0xb8, ...new Array(10).fill(0), (x >> 8) & 255, x & 255];
  return [0x60, 0, 0, 0, (payload.length >> 8) & 255, payload.length & 255, next, 64, ...addr(src), ...addr(dst), ...payload];
}

/** Frames of every kind: plain, tagged twice and thrice, IPv6, tunnels, fragments, options, ARP, LLC, MPLS, truncated. */
function frame(i: number): number[] {
  const a = `10.0.${rnd(4)}.${rnd(50)}`, b = `10.1.${rnd(4)}.${rnd(50)}`;
  const m1 = '02:00:00:00:00:01', m2 = '02:00:00:00:00:02';
  const seg = tcp(1000 + rnd(9), 80, F.ACK, [1, 2, 3]);
  switch (i % 12) {
    case 0: return ethernet(m1, m2, 0x0800, ipv4(a, b, 6, seg));
    case 1: return ethernet(m1, m2, 0x8100, dot1q(10, 0x0800, ipv4(a, b, 17, udp(53, 5353, [i & 255]))));
    case 2: return ethernet(m1, m2, 0x88a8, dot1q(10, 0x8100, dot1q(20, 0x0800, ipv4(a, b, 6, seg))));
    case 3: return ethernet(m1, m2, 0x8100, dot1q(1, 0x8100, dot1q(2, 0x8100, dot1q(3, 0x0800, ipv4(a, b, 6, seg)))));
    case 4: return ethernet(m1, m2, 0x86dd, ipv6(rnd(40), rnd(40), 17, udp(4000, 4001, [1, 2])));
    case 5: return ethernet(m1, m2, 0x0800, ipv4(a, b, 17, udp(30000 + rnd(99), 4789, vxlan(7, ethernet(m2, m1, 0x0800, ipv4(b, a, 1, icmpEcho(8, 1, i)))))));
    case 6: return ethernet(m1, m2, 0x0800, ipv4(a, b, 47, gre(0x0800, ipv4('192.168.0.1', '192.168.0.2', 1, icmpEcho(0, 2, i)))));
    case 7: return ethernet(m1, m2, 0x0800, ipv4(a, b, 17, udp(7000, 7001, new Array(20).fill(1)), { id: i, flags: 1 }));
    case 8: { // IPv4 options: the decoder's business
      const h = ipv4(a, b, 6, seg);
      return ethernet(m1, m2, 0x0800, [0x46, ...h.slice(1, 20), 1, 1, 1, 0, ...h.slice(20)].map((x, k) => (k === 3 ? (h[3] + 4) & 255 : x)));
    }
    case 9: return ethernet(m1, m2, 0x0806, new Array(28).fill(i & 255));
    case 10: return ethernet(m1, m2, 0x8847, mpls(100, true, ipv4(a, b, 1, icmpEcho(8, 3, i))));
    default: return ethernet(m1, m2, 0x0800, ipv4(a, b, 6, seg)).slice(0, 14 + rnd(40));
  }
}

/** `n` frames; with `mutate`, a few header bytes of each changed at random. */
function frames(n: number, mutate: boolean): { data: number[]; tsUs: number }[] {
  return Array.from({ length: n }, (_, i) => {
    const data = frame(i);
    // Mostly the bytes placement reads: types, tags, IP version, lengths, fragment fields.
    if (mutate) for (let k = rnd(4); k > 0; k--) data[Math.min(data.length - 1, rnd(2) ? 12 + rnd(30) : rnd(64))] = rnd(4) === 0 ? 0 : rnd(256);
    return { data, tsUs: 1_700_000_000_000_000 + i * 1000 };
  });
}

interface Record { ts: bigint; wire: number; data: Buffer }

/** The records as readBatch gives them. */
async function batchRecords(file: string): Promise<Record[]> {
  const reader = await CaptureReader.open(file);
  const out: Record[] = [];
  const dst = new Uint8Array(1 << 20);
  for (;;) {
    const r = await reader.readBatch(dst, 1 << 16);
    if (r.packets === 0) break;
    walk(Buffer.from(dst.buffer, 0, r.bytes), (rec) => out.push(rec));
  }
  await reader.close();
  return out;
}

function walk(b: Buffer, each: (r: Record, flags: number) => void): void {
  for (let p = 0; p < b.length;) {
    const caplen = b.readUInt32LE(p + 8);
    each({ ts: b.readBigInt64LE(p), wire: b.readUInt32LE(p + 12), data: Buffer.from(b.subarray(p + 24, p + 24 + caplen)) }, b.readUInt32LE(p + 20));
    p += 24 + ((caplen + 7) & ~7);
  }
}

/** Deals `file` to `n` tables with slots of `slotBytes`, at most `max` records a read; the records of each table, with their marks. */
async function deal(file: string, n: number, slotBytes: number, max: number): Promise<{ tables: { rec: Record; owned: boolean }[][]; reads: number }> {
  const reader = await CaptureReader.open(file);
  const dealer = reader.dealer(n);
  if (!dealer) throw new Error('no dealer');
  const slots = Array.from({ length: n }, () => new Uint8Array(slotBytes));
  const tables: { rec: Record; owned: boolean }[][] = slots.map(() => []);
  let reads = 0;
  for (;;) {
    const c = await dealer.read(slots, max, 2n ** 63n - 1n);
    if (c.packets === 0) break;
    reads++;
    slots.forEach((s, k) => {
      let count = 0;
      walk(Buffer.from(s.buffer, 0, c.bytes[k]), (rec, flags) => { tables[k].push({ rec, owned: (flags & BATCH_OWNED) !== 0 }); count++; });
      if (count !== c.records[k]) throw new Error(`table ${k}: ${count} records walked, ${c.records[k]} said`);
    });
  }
  await reader.close();
  return { tables, reads };
}

/** Which of `n` tables shardOf gives the frame. */
function shardOf(data: Buffer, n: number): number {
  const core = testCore();
  const at = core.inputBuffer();
  new Uint8Array(core.memory.buffer, at, data.length).set(data);
  return core.shardOf(at, data.length, 1, n);
}

for (const mutate of [false, true]) {
  t.test(`every record in file order, placed as shardOf places it${mutate ? ' (headers changed at random)' : ''}`, async (t) => {
    const file = path.join(dir, `kinds-${mutate}.pcap`);
    writePcap(file, frames(2400, mutate));
    const all = await batchRecords(file);
    for (const [n, slotBytes, max] of [[2, 1 << 20, 1 << 16], [3, 4096, 1 << 16], [4, 1 << 20, 7]]) {
      const { tables, reads } = await deal(file, n, slotBytes, max);
      let owned = 0, undecided = 0, misplaced = 0, disordered = 0;
      const next = tables.map(() => 0);
      all.forEach((rec, i) => {
        // The record is the next one of exactly one table (its own), or of every table (undecided).
        const holders = tables.map((tab, k) => tab[next[k]]?.rec.data.equals(rec.data) && tab[next[k]].rec.ts === rec.ts && tab[next[k]].rec.wire === rec.wire);
        const own = tables.findIndex((tab, k) => holders[k] && tab[next[k]].owned);
        if (own >= 0) {
          owned++;
          if (shardOf(rec.data, n) !== own) misplaced++;
          next[own]++;
        } else if (holders.every((h, k) => h && !tables[k][next[k]].owned)) {
          undecided++;
          next.forEach((_, k) => next[k]++);
        } else if (disordered++ === 0) {
          t.fail(`${n} tables: record ${i} is not where it should be`);
        }
      });
      t.equal(misplaced, 0, `${n} tables: ${owned} records placed, each where shardOf puts it`);
      t.equal(disordered, 0, `${n} tables: every record in file order`);
      t.same(next, tables.map((tab) => tab.length), `${n} tables: nothing else in the slots`);
      t.ok(owned > 0 && undecided > 0, `${n} tables: ${undecided} left to the tables`);
      t.ok(reads >= (max < 100 ? all.length / max : slotBytes < 1e5 ? 10 : 1), `${n} tables: ${reads} reads`);
    }
  });
}

t.test('big-endian, nanosecond captures: the same records', async (t) => {
  const le = path.join(dir, 'le.pcap');
  writePcap(le, frames(300, false));
  // The same file with big-endian headers and ns stamps.
  const b = readFileSync(le);
  const out = Buffer.alloc(b.length);
  out.writeUInt32BE(0xa1b23c4d, 0);
  for (let o = 4; o < 24; o += 2) out.writeUInt16BE(b.readUInt16LE(o), o);
  out.writeUInt32BE(b.readUInt32LE(8), 8); out.writeUInt32BE(b.readUInt32LE(12), 12);
  out.writeUInt32BE(b.readUInt32LE(16), 16); out.writeUInt32BE(b.readUInt32LE(20), 20);
  for (let p = 24; p < b.length;) {
    const caplen = b.readUInt32LE(p + 8);
    out.writeUInt32BE(b.readUInt32LE(p), p); out.writeUInt32BE(b.readUInt32LE(p + 4) * 1000, p + 4);
    out.writeUInt32BE(caplen, p + 8); out.writeUInt32BE(b.readUInt32LE(p + 12), p + 12);
    b.copy(out, p + 16, p + 16, p + 16 + caplen);
    p += 16 + caplen;
  }
  const be = path.join(dir, 'be.pcap');
  writeFileSync(be, out);
  const dealt = (await deal(be, 2, 1 << 16, 1000)).tables;
  const mine = (await deal(le, 2, 1 << 16, 1000)).tables;
  t.same(dealt, mine, 'records, stamps and marks as from the little-endian µs file');
  t.equal(dealt[0].length + dealt[1].length - dealt[0].filter((r) => !r.owned).length, 300, 'all 300 records');
});

t.test('a capture of another link type: every record to every table', async (t) => {
  const file = path.join(dir, 'raw.pcap');
  writePcap(file, Array.from({ length: 20 }, (_, i) => ({ data: ipv4('10.0.0.1', `10.0.0.${i + 2}`, 17, udp(1, 2, [i])), tsUs: i })), 101);
  const { tables } = await deal(file, 2, 1 << 16, 1000);
  t.same(tables.map((tab) => [tab.length, tab.filter((r) => r.owned).length]), [[20, 0], [20, 0]]);
});

t.test('a read stops before the first record at or after the limit, and says its stamp', async (t) => {
  const file = path.join(dir, 'limit.pcap');
  writePcap(file, Array.from({ length: 10 }, (_, i) => ({ data: frame(0), tsUs: 5_000_000 + i * 1000 })));
  const reader = await CaptureReader.open(file);
  const dealer = reader.dealer(2)!;
  const slots = [new Uint8Array(1 << 16), new Uint8Array(1 << 16)];
  const first = await dealer.read(slots, 100, 5_004_000_000n);
  t.same([first.packets, first.firstTs, first.nextTs], [4, 5_000_000_000n, 5_004_000_000n]);
  const rest = await dealer.read(slots, 100, 2n ** 63n - 1n);
  t.same([rest.packets, rest.firstTs, rest.nextTs], [6, 5_004_000_000n, -1n]);
  t.equal((await dealer.read(slots, 100, 0n)).packets, 0, 'then the end');
  t.equal(reader.stats.packets, 10);
  await reader.close();
});

t.test('corrupt, truncated and oversized records: the errors and tail of readFrames', async (t) => {
  const good = frames(3, false);
  const file = path.join(dir, 'bad.pcap');
  writePcap(file, good);
  const corrupt = Buffer.concat([readFileSync(file), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0])]);
  writeFileSync(file, corrupt);
  let reader = await CaptureReader.open(file);
  let dealer = reader.dealer(2)!;
  const slots = [new Uint8Array(1 << 16), new Uint8Array(1 << 16)];
  t.equal((await dealer.read(slots, 100, 2n ** 63n - 1n)).packets, 3, 'the records before a corrupt header first');
  await t.rejects(dealer.read(slots, 100, 2n ** 63n - 1n), { name: 'CaptureFormatError', message: /packet 4 claims 2147483647 captured bytes/ });
  await reader.close();

  writeFileSync(file, corrupt.subarray(0, corrupt.length - 16 - 5));
  reader = await CaptureReader.open(file);
  dealer = reader.dealer(2)!;
  t.equal((await dealer.read(slots, 100, 2n ** 63n - 1n)).packets, 2);
  t.equal((await dealer.read(slots, 100, 2n ** 63n - 1n)).packets, 0);
  const lastSize = 16 + good[2].data.length;
  t.same(reader.tail, { offset: corrupt.length - 16 - lastSize, bytes: lastSize - 5 }, 'the incomplete last record is the tail');
  await reader.close();

  writePcap(file, [good[0], { data: new Array(5000).fill(1), tsUs: 1 }]);
  reader = await CaptureReader.open(file);
  const small = [new Uint8Array(4096), new Uint8Array(4096)];
  dealer = reader.dealer(2)!;
  await t.rejects(dealer.read(small, 100, 1n), RangeError, 'a limit before the first record is refused');
  const before = await dealer.read(small, 100, 2n ** 63n - 1n);
  t.same([before.packets, before.nextTs], [1, -1n], 'the record before one too big for a slot, and no stamp to tick on');
  // Whatever the limit (no tick was taken before it), the error.
  await t.rejects(dealer.read(small, 100, 0n), { name: 'CaptureFormatError', message: /packet 2 has 5000 captured bytes/ });
  await reader.close();
});

t.test('no dealer for pcapng, streams or a capture already read by readFrames', async (t) => {
  const file = path.join(dir, 'ng.pcapng');
  writeFileSync(file, pcapngBytes(frames(3, false)));
  const ng = await CaptureReader.open(file);
  t.equal(ng.dealer(2), undefined);
  await ng.close();
  const pcap = path.join(dir, 'read.pcap');
  writePcap(pcap, frames(3, false));
  const read = await CaptureReader.open(pcap);
  await read.readFrames(new Uint8Array(1 << 16), 1);
  t.equal(read.dealer(2), undefined);
  await read.close();
  t.type(nativeAddon().shardReaderOpen, 'function', 'the addon deals');
});

