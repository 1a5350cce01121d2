/**
 * Sorted runs of flow records on disk, for a replay whose finished flows outgrow the memory
 * kept for them (sorted-output.ts): the output order is known only at the end of the file, so
 * what leaves the tables before then waits somewhere, and past a bound it waits here. A run is
 * written once, sorted, and read back once, in order, as a GroupSource of the final merge.
 *
 * The file is unlinked as soon as it is open: it lives as long as its descriptor, so nothing
 * is left behind whatever way the process ends.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GroupSource } from './merge.js';
import type { FlowGroup } from './shard-task.js';

/** Bytes read back at a time, per run. */
const READ_BYTES = 1 << 20;
/** A record's header in a run: key length, record length (u32 LE each). */
const HEADER = 8;

/** One record to spill: its sort key and its bytes. */
export interface SpillRecord { key: string; bytes: Uint8Array }

export class SpillRun {
  private constructor(private fd: number, readonly records: number, private readonly size: number) {}

  /** Writes `records`, already in key order, to a new run under `dir` (TMPDIR by default). */
  static write(records: Iterable<SpillRecord>, dir = tmpdir()): SpillRun {
    const home = mkdtempSync(join(dir, 'skydive-spill-'));
    const path = join(home, 'run');
    const fd = openSync(path, 'w+');
    unlinkSync(path);
    rmdirSync(home);
    let out = Buffer.allocUnsafe(READ_BYTES);
    let used = 0;
    let size = 0;
    let count = 0;
    const flush = (): void => {
      for (let at = 0; at < used;) at += writeSync(fd, out, at, used - at);
      size += used;
      used = 0;
    };
    try {
      for (const { key, bytes } of records) {
        const keyBytes = Buffer.byteLength(key);
        const need = HEADER + keyBytes + bytes.length;
        if (need > out.length - used) {
          flush();
          if (need > out.length) out = Buffer.allocUnsafe(need);
        }
        out.writeUInt32LE(keyBytes, used);
        out.writeUInt32LE(bytes.length, used + 4);
        out.write(key, used + HEADER);
        out.set(bytes, used + HEADER + keyBytes);
        used += need;
        count++;
      }
      flush();
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return new SpillRun(fd, count, size);
  }

  /** The run's records in order, a group per read; the run is closed after its last group. */
  source(): GroupSource {
    let pos = 0;
    let carry: Buffer = Buffer.alloc(0);
    return async () => {
      if (this.fd < 0) return undefined;
      if (pos >= this.size) {
        this.close();
        return undefined;
      }
      let block = Buffer.allocUnsafe(Math.max(READ_BYTES, carry.length));
      carry.copy(block, 0);
      let filled = carry.length;
      // Until the block holds at least one whole record (one larger than the block grows it).
      for (;;) {
        const room = Math.min(block.length - filled, this.size - pos);
        const n = room > 0 ? readSync(this.fd, block, filled, room, pos) : 0;
        pos += n;
        filled += n;
        if (filled >= HEADER) {
          const need = HEADER + block.readUInt32LE(0) + block.readUInt32LE(4);
          if (filled >= need) break;
          if (need > block.length) {
            const bigger = Buffer.allocUnsafe(need);
            block.copy(bigger, 0, 0, filled);
            block = bigger;
            continue;
          }
        }
        if (n === 0) break;
      }
      return this.parse(block.subarray(0, filled), (rest) => { carry = rest; });
    };
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** The whole records of `bytes` as a group; what follows the last whole one goes to `keep`. */
  private parse(bytes: Buffer, keep: (rest: Buffer) => void): FlowGroup {
    const keys: string[] = [];
    const ends: number[] = [];
    const data = Buffer.allocUnsafe(bytes.length);
    let at = 0;
    let out = 0;
    while (at + HEADER <= bytes.length) {
      const keyLen = bytes.readUInt32LE(at);
      const len = bytes.readUInt32LE(at + 4);
      if (at + HEADER + keyLen + len > bytes.length) break;
      keys.push(bytes.toString('utf8', at + HEADER, at + HEADER + keyLen));
      out += bytes.copy(data, out, at + HEADER + keyLen, at + HEADER + keyLen + len);
      ends.push(out);
      at += HEADER + keyLen + len;
    }
    if (at === 0 && bytes.length > 0) throw new Error('spilled flows: a record runs past the end of its run (the file was damaged)');
    keep(Buffer.from(bytes.subarray(at)));
    return { keys, ends, data: data.subarray(0, out) };
  }
}
