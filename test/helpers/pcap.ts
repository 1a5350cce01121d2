/** Test helpers: write frames as a classic little-endian pcap (µs timestamps), or as a pcapng. */
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

/** The same frames as a little-endian pcapng: a section, one interface of `linkType`, an Enhanced Packet Block each (µs). */
export function pcapngBytes(frames: { data: number[] | Uint8Array; tsUs: number }[], linkType = 1): Buffer {
  const block = (type: number, body: Buffer): Buffer => {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const len = 12 + padded.length;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0); b.writeUInt32LE(len, 4); padded.copy(b, 8); b.writeUInt32LE(len, len - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0); shb.writeUInt16LE(1, 4); shb.writeUInt16LE(0, 6); shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(linkType, 0); idb.writeUInt32LE(0, 4);
  const parts = [block(0x0a0d0d0a, shb), block(1, idb)];
  for (const f of frames) {
    const h = Buffer.alloc(20);
    const ts = BigInt(f.tsUs);
    h.writeUInt32LE(0, 0); h.writeUInt32LE(Number(ts >> 32n), 4); h.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    h.writeUInt32LE(f.data.length, 12); h.writeUInt32LE(f.data.length, 16);
    parts.push(block(6, Buffer.concat([h, Buffer.from(f.data)])));
  }
  return Buffer.concat(parts);
}
