/**
 * The documents waiting for Elasticsearch, oldest first: a bounded list in memory, and files on
 * disk ("segments") for what does not fit while Elasticsearch is down or slow.
 *
 * Order is kept end to end, so an older update of a flow is never written after a newer one:
 * memory only ever holds documents newer than every segment (when it is full, its content goes
 * to new segments, at the end), and batches are taken from the oldest segment first, then from
 * memory. Segments left by a previous run are read back at start-up and written first.
 *
 * A segment is written to a temporary name and renamed, so a crash never leaves half a segment
 * under a real name. Its name holds its sequence number and how many documents it has.
 */
import { closeSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeDirs } from '../../make-dirs.js';
import type { DocOp } from './documents.js';

export interface SpillQueueOptions {
  dir: string;
  /** Documents held in memory; one more sends them all to disk. */
  maxMemoryDocs: number;
  /** Documents per segment: one batch for the writer. */
  segmentDocs: number;
  /** Bytes the segments may take; beyond, the oldest are deleted (counted as dropped). 0: no disk. */
  maxDiskBytes: number;
  /** Documents given up, with why. */
  onDrop(count: number, why: string): void;
  /** Problems that lose nothing (e.g. a written segment that cannot be deleted). */
  log?: (line: string) => void;
}

/** Held in the spill directory while a queue uses it (see SpillQueue's constructor). */
export const LOCK_FILE = 'analyzer.lock';
/** Spill directories this process holds: its own lock file is stale only when not listed here. */
const heldDirs = new Set<string>();

/** Whether process `pid` exists (EPERM: it does, under another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When process `pid` started, in clock ticks since boot (/proc/PID/stat's 22nd field): with its
 * pid, it names one process, where a pid alone may since name another. Undefined off Linux or
 * when there is no such process.
 */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether the lock file's holder, "PID START" (START: processStart's; older lock files hold the
 * pid only), still runs: its pid is alive and, when both starts are known, started then. A pid
 * reused by an unrelated process since (a reboot, a container restart) is not the holder.
 */
function holderAlive(pid: number, start: string | undefined): boolean {
  if (!processAlive(pid)) return false;
  const now = processStart(pid);
  return start === undefined || now === undefined || now === start;
}

/**
 * Takes the directory's lock file. Two analyzers sharing a spill directory would number their
 * segments alike and overwrite each other's, so the second one must not start. A lock left by a
 * process that is gone (a crash, or this same pid in a restarted container, or its pid reused by
 * another process) is taken over, so a restart still drains what the previous run left.
 */
function lockDir(dir: string): string {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        const start = processStart(process.pid);
        writeSync(fd, start === undefined ? `${process.pid}\n` : `${process.pid} ${start}\n`);
      } finally {
        closeSync(fd);
      }
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let pid = NaN;
    let start: string | undefined;
    try {
      const [p, st] = readFileSync(file, 'utf8').trim().split(/\s+/);
      pid = Number.parseInt(p, 10);
      start = st;
    } catch {
      // Removed meanwhile: try again.
    }
    const ours = pid === process.pid;
    if (Number.isInteger(pid) && pid > 0 && (ours ? heldDirs.has(resolve(dir)) : holderAlive(pid, start))) {
      throw new Error(`another analyzer (pid ${pid}) uses this directory (lock file ${file}); give each analyzer its own storage.elasticsearch.spill_dir`);
    }
    try {
      unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`cannot take the lock file ${file}`);
}

/** Documents taken for writing; `ack` once they are written (or given up). */
export interface Batch {
  readonly ops: DocOp[];
  /** Where they came from: kept on disk until acknowledged, or taken out of memory. */
  readonly segment?: string;
  /** The segment's sequence number. */
  readonly seq?: number;
}

interface Segment {
  readonly file: string;
  readonly seq: number;
  readonly docs: number;
  readonly bytes: number;
}

const SEGMENT_NAME = /^(\d{16})-(\d+)\.ndjson$/;
/** New runs number their segments from here up; batches put back go below the lowest. */
const FIRST_SEQ = 5e14;

/** Operation kinds in segment files. */
const KIND_CODE = { flow: 'f', metric: 'm' } as const;

function encode(ops: readonly DocOp[]): string {
  let text = '';
  for (const op of ops) {
    const meta: { k: string; id: string; v?: number } = { k: KIND_CODE[op.kind], id: op.id };
    if (op.version !== undefined) meta.v = op.version;
    // Documents are JSON without raw newlines: one line each.
    text += JSON.stringify(meta) + '\n' + op.doc + '\n';
  }
  return text;
}

function decode(text: string): DocOp[] {
  const lines = text.split('\n');
  const ops: DocOp[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const meta = JSON.parse(lines[i]) as { k: string; id: string; v?: number };
    const kind = meta.k === 'f' ? 'flow' : 'metric';
    ops.push(meta.v === undefined ? { kind, id: meta.id, doc: lines[i + 1] } : { kind, id: meta.id, version: meta.v, doc: lines[i + 1] });
  }
  return ops;
}

export class SpillQueue {
  private memory: DocOp[] = [];
  private readonly segments: Segment[] = [];
  private nextSeq = FIRST_SEQ;
  private diskBytesHeld = 0;
  private diskDocsHeld = 0;
  /** When the oldest document in memory arrived (ms), for the writer's time flush. */
  private oldestAt = 0;
  private lockFile: string | undefined;
  /** Problems already logged, by kind: a disk that keeps failing logs once, not per segment. */
  private readonly logged = new Set<string>();

  constructor(private readonly o: SpillQueueOptions, private readonly now: () => number = Date.now) {
    makeDirs(o.dir);
    this.lockFile = lockDir(o.dir);
    heldDirs.add(resolve(o.dir));
    for (const name of readdirSync(o.dir)) {
      const m = SEGMENT_NAME.exec(name);
      const file = join(o.dir, name);
      if (m === null) {
        // A segment whose write was interrupted: its documents were still in memory then,
        // and that run counted them as dropped when it could not finish.
        if (name.endsWith('.tmp')) this.remove(file);
        continue;
      }
      let bytes: number;
      try {
        bytes = statSync(file).size;
      } catch (err) {
        this.lost(Number(m[2]), file, err);
        continue;
      }
      this.segments.push({ file, seq: Number(m[1]), docs: Number(m[2]), bytes });
    }
    this.segments.sort((a, b) => a.seq - b.seq);
    for (const s of this.segments) {
      this.diskBytesHeld += s.bytes;
      this.diskDocsHeld += s.docs;
      if (s.seq >= this.nextSeq) this.nextSeq = s.seq + 1;
    }
  }

  get memoryDocs(): number {
    return this.memory.length;
  }

  get diskDocs(): number {
    return this.diskDocsHeld;
  }

  get diskBytes(): number {
    return this.diskBytesHeld;
  }

  get hasSegments(): boolean {
    return this.segments.length > 0;
  }

  /** Age of the oldest document in memory, 0 when memory is empty. */
  memoryAgeMs(): number {
    return this.memory.length === 0 ? 0 : this.now() - this.oldestAt;
  }

  push(ops: readonly DocOp[]): void {
    if (ops.length === 0) return;
    if (this.memory.length === 0) this.oldestAt = this.now();
    for (const op of ops) this.memory.push(op);
    if (this.memory.length > this.o.maxMemoryDocs) this.spillMemory();
  }

  /** The next batch: the oldest segment, else up to `max` documents out of memory. */
  take(max: number): Batch | undefined {
    for (let seg = this.segments.shift(); seg !== undefined; seg = this.segments.shift()) {
      this.diskBytesHeld -= seg.bytes;
      this.diskDocsHeld -= seg.docs;
      try {
        return { ops: decode(readFileSync(seg.file, 'utf8')), segment: seg.file, seq: seg.seq };
      } catch (err) {
        // Deleted or damaged by someone else: its documents are lost, the rest still go.
        this.lost(seg.docs, seg.file, err);
        this.remove(seg.file);
      }
    }
    if (this.memory.length === 0) return undefined;
    const ops = this.memory.length <= max ? this.memory : this.memory.slice(0, max);
    this.memory = this.memory.length <= max ? [] : this.memory.slice(max);
    // What stays in memory arrived later; restarting its clock delays it by at most one delay.
    if (this.memory.length > 0) this.oldestAt = this.now();
    return { ops };
  }

  /** The batch is written (or given up): forget it. */
  ack(batch: Batch): void {
    if (batch.segment !== undefined) this.remove(batch.segment);
  }

  /** Lets another queue (the next run) use the directory. */
  close(): void {
    if (this.lockFile === undefined) return;
    this.remove(this.lockFile);
    this.lockFile = undefined;
    heldDirs.delete(resolve(this.o.dir));
  }

  /** Deletes a file; one already gone is fine, another failure is logged (the documents were written). */
  private remove(file: string): void {
    try {
      unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.logOnce('remove', `elasticsearch: cannot delete ${file}: ${(err as Error).message}`);
    }
  }

  private lost(docs: number, file: string, err: unknown): void {
    this.o.onDrop(docs, `cannot read the spill segment ${file}: ${(err as Error).message}`);
  }

  private logOnce(kind: string, line: string): void {
    if (this.logged.has(kind)) return;
    this.logged.add(kind);
    this.o.log?.(line);
  }

  /**
   * Shutting down with `batches` not written: keep them, ahead of everything else, and
   * everything in memory behind them, on disk for the next run. Batches taken from disk are
   * still there (they were not acknowledged).
   */
  persist(batches: readonly Batch[]): void {
    // A memory batch was taken while no segment was left, so it is older than every segment,
    // including those in flight: it goes below all of them. Newest first, each ahead of the last.
    let lowest = this.segments.length > 0 ? this.segments[0].seq : this.nextSeq;
    for (const b of batches) if (b.seq !== undefined && b.seq < lowest) lowest = b.seq;
    for (const batch of [...batches].reverse()) {
      if (batch.segment !== undefined) continue;
      this.writeSegment(batch.ops, --lowest, true);
    }
    this.spillMemory();
  }

  private spillMemory(): void {
    const ops = this.memory;
    this.memory = [];
    if (this.o.maxDiskBytes === 0) {
      this.o.onDrop(ops.length, 'the memory buffer is full and spill_max_bytes is 0');
      return;
    }
    for (let i = 0; i < ops.length; i += this.o.segmentDocs) {
      this.writeSegment(ops.slice(i, i + this.o.segmentDocs), this.nextSeq++, false);
    }
    // Over the disk budget: the oldest documents go first, the newest are the most useful.
    while (this.diskBytesHeld > this.o.maxDiskBytes && this.segments.length > 0) {
      const old = this.segments.shift() as Segment;
      this.remove(old.file);
      this.diskBytesHeld -= old.bytes;
      this.diskDocsHeld -= old.docs;
      this.o.onDrop(old.docs, `the spill directory is over spill_max_bytes (${this.o.maxDiskBytes})`);
    }
  }

  private writeSegment(ops: readonly DocOp[], seq: number, atFront: boolean): void {
    const name = `${String(seq).padStart(16, '0')}-${ops.length}.ndjson`;
    const file = join(this.o.dir, name);
    const text = encode(ops);
    try {
      writeFileSync(file + '.tmp', text);
      renameSync(file + '.tmp', file);
    } catch (err) {
      this.o.onDrop(ops.length, `cannot write to ${this.o.dir}: ${(err as Error).message}`);
      return;
    }
    const seg: Segment = { file, seq, docs: ops.length, bytes: Buffer.byteLength(text) };
    if (atFront) this.segments.unshift(seg);
    else this.segments.push(seg);
    this.diskBytesHeld += seg.bytes;
    this.diskDocsHeld += seg.docs;
  }
}
