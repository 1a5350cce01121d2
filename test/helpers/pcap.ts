/** Test helper: writes frames as a classic little-endian pcap (µs timestamps). */
import { writeFileSync } from 'node:fs';

/** `wireLen` (default: the data length) is the original length of a frame cut to `data`. */
export function writePcap(file: string, frames: { data: number[] | Uint8Array; tsUs: number; wireLen?: number }[], linkType = 1): void {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6);
  h.writeUInt32LE(65535, 16); h.writeUInt32LE(linkType, 20);
  parts.push(h);
  for (const f of frames) {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(Math.floor(f.tsUs / 1e6), 0); r.writeUInt32LE(f.tsUs % 1e6, 4);
    r.writeUInt32LE(f.data.length, 8); r.writeUInt32LE(f.wireLen ?? f.data.length, 12);
    parts.push(r, Buffer.from(f.data));
  }
  writeFileSync(file, Buffer.concat(parts));
}
