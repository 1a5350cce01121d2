/**
 * The plain-JavaScript baseline: the simplest reasonable flow counter, no WebAssembly.
 *
 *   node dist/bench/js-baseline.js FILE      (prints {"packets":..,"flows":..,"bytes":..})
 *
 * Reads a classic pcap (Ethernet) with fs in 8 MiB chunks, parses Ethernet, 802.1Q/QinQ tags,
 * IPv4 or IPv6 and the TCP/UDP ports with a DataView, and counts packets and bytes per
 * symmetric 5-tuple in a Map keyed by a string. Outer headers only: a tunnel is one flow.
 */
import { closeSync, openSync, readSync } from 'node:fs';

interface Counter { packets: number; bytes: number }

const CHUNK = 8 << 20;

/** The flow key of one frame, or undefined for non-IP frames. */
function flowKey(dv: DataView, o: number, end: number): string | undefined {
  if (end - o < 14) return undefined;
  let type = dv.getUint16(o + 12);
  o += 14;
  while ((type === 0x8100 || type === 0x88a8) && end - o >= 4) {
    type = dv.getUint16(o + 2);
    o += 4;
  }
  let proto: number;
  let src: string;
  let dst: string;
  if (type === 0x0800 && end - o >= 20) {
    proto = dv.getUint8(o + 9);
    src = String(dv.getUint32(o + 12));
    dst = String(dv.getUint32(o + 16));
    o += (dv.getUint8(o) & 0x0f) * 4;
  } else if (type === 0x86dd && end - o >= 40) {
    proto = dv.getUint8(o + 6);
    src = ip6(dv, o + 8);
    dst = ip6(dv, o + 24);
    o += 40;
  } else {
    return undefined;
  }
  if ((proto === 6 || proto === 17) && end - o >= 4) {
    src += ':' + dv.getUint16(o);
    dst += ':' + dv.getUint16(o + 2);
  }
  return src < dst ? `${proto} ${src} ${dst}` : `${proto} ${dst} ${src}`;
}

function ip6(dv: DataView, o: number): string {
  return `${dv.getUint32(o).toString(16)}.${dv.getUint32(o + 4).toString(16)}.${dv.getUint32(o + 8).toString(16)}.${dv.getUint32(o + 12).toString(16)}`;
}

export function countFlows(file: string): { packets: number; flows: number; bytes: number } {
  const fd = openSync(file, 'r');
  const flows = new Map<string, Counter>();
  let buf = Buffer.alloc(2 * CHUNK);
  let dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let start = 0;
  let end = 0;
  let packets = 0;
  let bytes = 0;
  let littleEndian = true;
  let header = true;
  try {
    for (;;) {
      // Keep the unparsed tail, then read the next chunk after it.
      buf.copy(buf, 0, start, end);
      end -= start;
      start = 0;
      if (buf.length - end < CHUNK) {
        const grown = Buffer.alloc(end + 2 * CHUNK);
        buf.copy(grown, 0, 0, end);
        buf = grown;
        dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      }
      const n = readSync(fd, buf, end, CHUNK, null);
      if (n === 0) break;
      end += n;
      if (header) {
        if (end < 24) continue;
        const magic = dv.getUint32(0, true);
        if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) littleEndian = false;
        start = 24;
        header = false;
      }
      while (end - start >= 16) {
        const caplen = dv.getUint32(start + 8, littleEndian);
        if (end - start < 16 + caplen) break;
        const wirelen = dv.getUint32(start + 12, littleEndian);
        const data = start + 16;
        start = data + caplen;
        packets++;
        bytes += wirelen;
        const key = flowKey(dv, data, start);
        if (key === undefined) continue;
        const c = flows.get(key);
        if (c) { c.packets++; c.bytes += wirelen; } else flows.set(key, { packets: 1, bytes: wirelen });
      }
    }
  } finally {
    closeSync(fd);
  }
  return { packets, flows: flows.size, bytes };
}

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: js-baseline FILE\n');
  process.exitCode = 2;
} else {
  process.stdout.write(JSON.stringify(countFlows(file)) + '\n');
}
