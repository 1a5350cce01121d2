/**
 * `skydive pcap2flows FILE`: replays a capture file through the flow table
 * (one, or one per worker) with Skydive's defaults (TCP metrics and
 * reassembly on, defragmentation on, L2 key mode, NodeTID ""), then flushes
 * and expires every flow as a capture Stop does, and prints each flow once,
 * when it leaves the table.
 *
 * FILE `-` is stdin; a pipe or a FIFO is read as it comes. A capture cut inside
 * a record gives the flows of the whole records and a warning; a corrupt record
 * or a read error stops the input there: the flows of the records before it are
 * printed, then the error (Pcap2FlowsInputError).
 */
import type { Writable } from 'node:stream';
import { CaptureFormatError, STDIN_NAME } from '../capture/pcapfile.js';
import { EXTRA_LAYERS, type EngineOptions, type LayerKeyMode } from '../engine/flow-engine.js';
import { replayCapture, workersLimit, WORKERS_PER_CPU, MAX_WORKERS, type ReplayTimers } from '../pipeline/replay.js';
import { FlowWriter, FLOW_FORMATS, type FlowFormat } from '../format/writer.js';
import { UsageError } from '../cli/errors.js';

export interface Pcap2FlowsOptions {
  file: string;
  linkType?: number;
  format: FlowFormat;
  engine: EngineOptions;
  /** Print the core's counters as one JSON line on stderr at the end. */
  stats: boolean;
  /** Flow tables run in parallel (1: in this thread). */
  workers: number;
  /** Run even one table in a worker thread (tests compare both paths). */
  threads?: boolean;
  batchPackets?: number;
  /** Skydive's update/expire ticks on packet time; off = one table for the whole file, as Skydive's pcap tests. */
  timers?: ReplayTimers;
  /** Bound of the finished flows held in memory until they can be written (beyond: sorted runs in TMPDIR). */
  spillBytes?: number;
}

export const PCAP2FLOWS_USAGE = `usage: skydive pcap2flows [options] FILE   (FILE - : stdin)
  --format jsonl|json|protobuf   output format (default jsonl: one flow per line)
  --linktype N                   decode with link type N instead of the file's
  --mpls-udp-port P              decode UDP port P as MPLS (Skydive registers none by default)
  --erspan-type1                 decode ERSPAN type I frames as type I (Skydive skips 8 bytes of them)
  --no-defrag                    do not reassemble IPv4 fragments
  --no-tcp-metric                no TCPMetric from SYN/FIN/RST (Skydive ExtraTCPMetric off)
  --no-reassembly                no TCP reassembly counters (Skydive ReassembleTCP off)
  --layer-key-mode L2|L3         flow key mode (default L2)
  --extra-layers LIST|ALL        decode extra layers into flows: DNS,DHCPv4,VRRP or ALL
  --node-tid T                   NodeTID of the flows (enters the UUID)
  --max-entries N                flow table size (default 500000; a full table drops its oldest flow)
  --workers N                    flow tables in parallel threads (default 1; same output for any N;
                                 at most ${WORKERS_PER_CPU} per CPU and ${MAX_WORKERS}: ${workersLimit().max} on this machine)
  --timers                       run Skydive's update/expire ticks on packet time (flows idle past
                                 the expiry leave the table and may start again as new flows)
  --update S, --expire S         tick periods in seconds with --timers (Skydive: 60 and 600)
  --stats                        print the decoder and table counters on stderr at the end

Flows are printed when they leave the table, ordered by Start, UUID, ParentUUID, LayersPath
(with --timers, in that order within each update period). A capture cut inside a record gives
its flows and a warning; a corrupt record stops the input there: the flows before it are
printed, then the error (exit status 2).`;

function intArg(name: string, v: string | undefined, min: number, max: number): number {
  if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`${name} needs an integer, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function parseExtraLayers(v: string): number {
  let mask = 0;
  for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    const key = part.toUpperCase();
    if (key === 'ALL') { mask = 255; continue; }
    const hit = Object.entries(EXTRA_LAYERS).find(([name]) => name.toUpperCase() === key);
    if (!hit) throw new UsageError(`unknown extra layer ${JSON.stringify(part)} (use DNS, DHCPv4, VRRP or ALL)`);
    mask |= hit[1];
  }
  return mask;
}

export function parsePcap2FlowsArgs(argv: string[]): Pcap2FlowsOptions {
  const engine: EngineOptions = {};
  let format: FlowFormat = 'jsonl';
  let linkType: number | undefined;
  let file: string | undefined;
  let stats = false;
  let workers = 1;
  let threads = false;
  let batchPackets: number | undefined;
  let timers = false;
  let updateSeconds = 60;
  let expireSeconds = 600;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--format': {
        const f = value();
        if (!FLOW_FORMATS.includes(f as FlowFormat)) throw new UsageError(`--format must be one of ${FLOW_FORMATS.join(', ')}, got ${JSON.stringify(f)}`);
        format = f as FlowFormat;
        break;
      }
      case '--linktype': linkType = intArg('--linktype', value(), 0, 0xffffffff); break;
      case '--mpls-udp-port': engine.mplsUDPPort = intArg('--mpls-udp-port', value(), 1, 65535); break;
      case '--erspan-type1': engine.erspanTypeI = true; break;
      case '--no-defrag': engine.ipDefrag = false; break;
      case '--no-tcp-metric': engine.extraTCPMetric = false; break;
      case '--no-reassembly': engine.reassembleTCP = false; break;
      case '--layer-key-mode': {
        const m = value();
        if (m !== 'L2' && m !== 'L3') throw new UsageError(`--layer-key-mode must be L2 or L3, got ${JSON.stringify(m)}`);
        engine.layerKeyMode = m as LayerKeyMode;
        break;
      }
      case '--extra-layers': {
        const v = value();
        if (v === undefined) throw new UsageError('--extra-layers needs a list');
        engine.extraLayers = parseExtraLayers(v);
        break;
      }
      case '--node-tid': {
        const v = value();
        if (v === undefined) throw new UsageError('--node-tid needs a value');
        engine.nodeTID = v;
        break;
      }
      case '--max-entries': engine.maxEntries = intArg('--max-entries', value(), 1, 4 << 20); break;
      case '--stats': stats = true; break;
      case '--workers': {
        const { max, cpus } = workersLimit();
        const n = intArg('--workers', value(), 1, Number.MAX_SAFE_INTEGER);
        if (n > max) {
          throw new UsageError(`--workers must be between 1 and ${max} on this machine (at most ${WORKERS_PER_CPU} per CPU and ${MAX_WORKERS} in all; ${cpus} CPU${cpus === 1 ? '' : 's'}), got ${n}`);
        }
        workers = n;
        break;
      }
      case '--threads': threads = true; break;
      case '--batch-packets': batchPackets = intArg('--batch-packets', value(), 1, 1 << 20); break;
      case '--timers': timers = true; break;
      case '--update': updateSeconds = intArg('--update', value(), 1, 86400); break;
      case '--expire': expireSeconds = intArg('--expire', value(), 1, 86400 * 30); break;
      default:
        if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
        if (file !== undefined) throw new UsageError(`one capture file only (got ${file} and ${a})`);
        file = a;
    }
  }
  if (file === undefined) throw new UsageError('missing capture FILE');
  return {
    file, linkType, format, engine, stats, workers, threads, batchPackets,
    timers: timers ? { updateSeconds, expireSeconds } : undefined,
  };
}

/**
 * The input stopped at a corrupt record (exit status 2, as any capture that is not one) or a
 * read error (1), after the flows of the records before it were written: `counters` are those
 * of the whole run.
 */
export class Pcap2FlowsInputError extends Error {
  override readonly name = 'Pcap2FlowsInputError';
  constructor(message: string, readonly counters: Record<string, bigint>, readonly status: 1 | 2) {
    super(message);
  }
}

/** Prints a warning: one line on stderr. */
const stderrWarning = (line: string): void => { process.stderr.write(`skydive pcap2flows: warning: ${line}\n`); };

/**
 * Runs pcap2flows, writing to `out` (left open); returns the summed core counters. Warnings
 * (a capture cut inside a record) go to `warn`.
 */
export async function pcap2flows(opts: Pcap2FlowsOptions, out: Writable, warn: (line: string) => void = stderrWarning): Promise<Record<string, bigint>> {
  // process.stdout (a file, a pipe or a terminal) is done with a chunk when it calls back.
  const writer = new FlowWriter(out, opts.format, { end: false, reuseBlocks: out === process.stdout });
  let result;
  try {
    result = await replayCapture({
      file: opts.file,
      linkType: opts.linkType,
      workers: opts.workers,
      threads: opts.threads,
      batchPackets: opts.batchPackets,
      timers: opts.timers,
      spillBytes: opts.spillBytes,
      shard: {
        engine: opts.engine,
        format: opts.format,
        // Each flow once, when it leaves the table: updates are not printed.
        events: ['expire', 'app-timeout', 'end', 'hold-removed', 'evicted'],
        dropLastUpdateMetric: true,
      },
    }, writer);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UsageError(`cannot open ${opts.file}: no such file`);
    if (e.code === 'EISDIR') throw new UsageError(`cannot read ${opts.file}: it is a directory`);
    if (e.code === 'EACCES') throw new UsageError(`cannot open ${opts.file}: permission denied`);
    if (err instanceof CaptureFormatError) throw new UsageError(err.message);
    throw err;
  }
  await writer.end();
  const counters = result.counters;
  const name = opts.file === STDIN_NAME ? 'stdin' : opts.file;
  if (result.tail) {
    counters.capture_truncated_tail = 1n;
    const { offset, bytes } = result.tail;
    warn(`${name} ends inside a record: its last ${bytes} byte${bytes === 1 ? '' : 's'} (from offset ${offset}) ignored`);
  }
  if (result.inputError !== undefined) {
    const err = result.inputError;
    if (err instanceof CaptureFormatError) throw new Pcap2FlowsInputError(err.message, counters, 2);
    throw new Pcap2FlowsInputError(`cannot read ${name}: ${(err as Error)?.message ?? String(err)}`, counters, 1);
  }
  return counters;
}
