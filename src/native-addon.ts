/**
 * The project's native addon (native/, built by `npm run build` when libpcap-dev is there): live
 * capture (pcapbatch.c), the reading of classic pcap chunks (pcapread.c) and their dealing out to
 * several flow tables (pcapshard.c), and the analyzer's flow UDP socket (udprecv.c).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { projectRoot } from './project-files.js';

export interface NativeOpenResult { handle: object; linkType: number; ifIndex: number; nanosecond: boolean; snaplen: number }
export interface NativeStats { recv: number; drop: number; ifdrop: number; ringDropped: number; packets: number; bytes: number; batches: number }
/** What readRecords found: bytes read, whole records at the start and their bytes, the first corrupt record (-1: none). */
export interface NativeChunk { bytesRead: number; records: number; bytes: number; corrupt: number }

export interface NativeAddon {
  open(opts: object, ring: Uint8Array, cb: (err: (Error & { code?: string }) | null, slot: number, bytes: number, packets: number) => void): NativeOpenResult;
  release(handle: object, slot: number): void;
  stats(handle: object): NativeStats;
  close(handle: object): void;
  /**
   * Reads `dst` full at file offset `position` (-1: in order, from a stream: up to full, or to what
   * the stream has at once when a record is whole), after the `prefix` bytes already at its
   * start, and finds the whole records from its start; `bytesRead` counts the prefix.
   */
  readRecords(fd: number, dst: Uint8Array, position: number, maxRecords: number, bigEndian: boolean, maxCaplen: number, prefix?: number): Promise<NativeChunk>;
  /** Set by builds whose readRecords reads streams (position -1, prefix). */
  readRecordsInOrder?: boolean;
  /** A reader that deals a classic pcap file's records out to `shards` flow tables (pcapshard.c), from `position`. */
  shardReaderOpen?(fd: number, position: number, bigEndian: boolean, fracToNs: number, linkType: number, shards: number, maxCaplen: number): object;
  /** The next records into one slot per table (pcapshard.c says where a read stops). */
  shardReaderRead?(reader: object, slots: Uint8Array[], maxRecords: number, limitNs: bigint): Promise<NativeShardChunk>;
  /** Binds a UDP socket to a numeric address (udprecv.c); throws an Error whose code is the errno name. */
  udpOpen?(address: string, port: number, ipv6: boolean, receiveBufferBytes: number): NativeUDPSocket;
  /** Datagrams written into `out` as entries (UDP_ENTRY_HEADER bytes, then the payload); waits at most `timeoutMs` for a first one. */
  udpRecv?(handle: object, out: Uint8Array, timeoutMs: number): number;
  udpClose?(handle: object): void;
}

/** What shardReaderRead consumed from the file and wrote into each slot; -1 (-1n) where it does not apply. */
export interface NativeShardChunk {
  records: number;
  bytes: number;
  shardBytes: number[];
  shardRecords: number[];
  firstTs: bigint;
  nextTs: bigint;
  corrupt: number;
  tooBig: number;
  tailBytes: number;
}

export interface NativeUDPSocket { handle: object; port: number; receiveBufferBytes: number }
/** An entry of udpRecv's `out`: length u32, port u16, family u8, text length u8, address[16], text[48], then the payload padded to 4. */
export const UDP_ENTRY_HEADER = 72;
/** Room udpRecv asks of `out`: the largest datagram's entry. */
export const UDP_MIN_OUT = UDP_ENTRY_HEADER + 65536;

export const ADDON_PATH = join('native', 'build', 'Release', 'pcapbatch.node');
const HINT = 'install libpcap-dev and build-essential (apt-get install libpcap-dev build-essential), then run `npm run build`';

/** Why the addon could not be loaded: `code` is ERR_ADDON_MISSING or ERR_ADDON_LOAD. */
export class NativeAddonError extends Error {
  override readonly name = 'NativeAddonError';
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

let loaded: NativeAddon | NativeAddonError | undefined;

/** The addon; throws a NativeAddonError saying how to build it when it cannot be loaded. */
export function nativeAddon(): NativeAddon {
  if (loaded === undefined) {
    const file = join(projectRoot(), ADDON_PATH);
    if (!existsSync(file)) {
      loaded = new NativeAddonError('ERR_ADDON_MISSING', `the native addon ${ADDON_PATH} is not built: ${HINT}`);
    } else {
      try {
        loaded = createRequire(import.meta.url)(file) as NativeAddon;
      } catch (e) {
        loaded = new NativeAddonError('ERR_ADDON_LOAD', `cannot load ${file} (${(e as Error).message}): ${HINT}`, { cause: e });
      }
    }
  }
  if (loaded instanceof NativeAddonError) throw loaded;
  return loaded;
}
