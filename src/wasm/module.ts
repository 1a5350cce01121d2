/**
 * Loads the AssemblyScript core (build/skydive.wasm) and gives typed access
 * to its raw exports. One instance per worker; callers keep it for the life
 * of the worker (flow state lives in its linear memory).
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../project-files.js';

/** Raw exports of the core; see assembly/index.ts. */
export interface CoreExports {
  memory: WebAssembly.Memory;
  init(maxEntries: number): number;
  layerNameInto(id: number, dst: number): number;
  layerCount(): number;
  counterValue(c: number): bigint;
  resetCounters(): void;
  decodePacket(ptr: number, caplen: number, linkType: number): void;
  inputBuffer(): number;
  inputCapacity(): number;
  /** assembly/io.ts: `bytes` more of input room from the heap; its address, 0 when memory cannot grow. */
  inputAlloc(bytes: number): number;
  outputBuffer(): number;
  outputCapacity(): number;
  testLayerCount(): number;
  testLayerRecord(i: number): number;
  testLinkLayer(): number;
  testNetworkLayer(): number;
  testTransportLayer(): number;
  testTruncated(): number;
  setOptions(l3: number, tcpMetric: number, reassemble: number, defrag: number, extra: number): void;
  nodeTIDBuffer(): number;
  setNodeTIDLength(n: number): void;
  setMPLSUDPPort(port: number): void;
  setApplicationPort(udp: number, port: number, app: number): void;
  setLayerTimeout(layer: number, ms: bigint): void;
  setAppTimeout(app: number, ms: bigint): void;
  processBatch(base: number, bytes: number, n: number, linkOverride: number): number;
  /**
   * assembly/flow/feed.ts: walks records of `format` (0 batch, 1 pcap LE, 2 pcap BE), feeds one shard's packets
   * (with `split`, copies the others' to their regions); returns bytes consumed.
   */
  feedRecords(format: number, base: number, bytes: number, maxRecords: number, fracToNs: number, linkType: number,
              limitNs: bigint, shard: number, shards: number, split: number): number;
  feedRecordCount(): number;
  /** assembly/shard.ts: which of `shards` tables owns the frame at [data, data+caplen). */
  shardOf(data: number, caplen: number, linkType: number, shards: number): number;
  setERSPANTypeI(on: number): void;
  /**
   * assembly/sflow/datagram.ts: decodes the sFlow datagram at [src, src+len) received at `tsNs`:
   * raw headers as batch records into `packets`, samples and counters as list entries into `list`
   * (assembly/sflow/out.ts); 0, or the reason it was rejected (nothing written then).
   */
  sflowDecode(src: number, len: number, tsNs: bigint, packets: number, packetsCap: number, list: number, listCap: number): number;
  sflowPacketBytes(): number;
  sflowPacketCount(): number;
  sflowListBytes(): number;
  sflowRejectOffset(): number;
  dnsExtract(msg: number, len: number, out: number, cap: number): number;
  /** assembly/format/json.ts: JSON of the flow record at `rec` into `out`; bytes, -1 extra layer (host), -2 no room. */
  jsonEncodeFlow(rec: number, out: number, cap: number, dropLastUpdateMetric: number): number;
  jsonFlowBound(): number;
  /**
   * assembly/format/jsonrun.ts: the emitted records' JSON in runs (text back to back, an index entry
   * of RUN_ENTRY bytes each: u32 text end, u32 key length, sort key); jsonRunHostRecord: a record
   * with an extra layer the last run stopped after, for the host to encode (0: none).
   */
  jsonRunBegin(): void;
  jsonRun(index: number, indexCap: number, text: number, textCap: number, keep: number, dropLastUpdateMetric: number): number;
  jsonRunHostRecord(): number;
  /** assembly/format/host-text.ts: JSON string literals (quoted, escaped, UTF-8) of the configuration; 0 = out of memory. */
  setJSONNodeTID(src: number, len: number): number;
  setJSONCaptureID(src: number, len: number): number;
  setJSONApplication(app: number, src: number, len: number): number;
  /** assembly/flow/sortkey.ts: the sort key of the flow record at `rec` into `out`; its length. */
  flowSortKeyInto(rec: number, out: number): number;
  /** assembly/flow/stoporder.ts: the table's flows in canonical order, as u32 addresses at stopOrderAddress(); -1 out of memory. */
  stopOrderBuild(): number;
  stopOrderAddress(): number;
  defragEvictions(): bigint;
  tcpCapFlushes(): bigint;
  tcpDroppedSegments(): bigint;
  updateTick(nowMs: bigint): void;
  expireTick(nowMs: bigint): void;
  connectionTick(nowNs: bigint): void;
  stopTable(): void;
  stopBegin(): void;
  stopFlow(flow: number): void;
  tableFirst(): number;
  tableNext(flow: number): number;
  tableSize(): number;
  emitChunkCount(): number;
  emitChunkAddr(i: number): number;
  emitChunkLength(i: number): number;
  emitRelease(): void;
  emitLost(): number;
  [name: string]: unknown;
}

const compiled = new Map<string, WebAssembly.Module>();

/**
 * Path of the compiled core; `debug` selects the build with assertions, `shared` the build that
 * imports a shared memory (asconfig.json target "shared").
 */
export function wasmPath(debug = false, shared = false): string {
  return join(projectRoot(), 'build', debug ? 'skydive.debug.wasm' : shared ? 'skydive.shared.wasm' : 'skydive.wasm');
}

/** Pages of a shared core memory: what the build declares (asconfig.json initialMemory, maximumMemory). */
const SHARED_INITIAL_PAGES = 256;
const SHARED_MAXIMUM_PAGES = 65536;

/**
 * A memory for `loadCore(..., memory)`: shared, so that other threads can fill or read its
 * chunk slots while its core runs (it never moves: a shared memory grows in place).
 */
export function sharedCoreMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: SHARED_MAXIMUM_PAGES, shared: true });
}

/**
 * The compiled core (once per process). A worker thread given it (EngineOptions.module) does
 * not compile the core again, and its code is optimized as soon as it is in any thread.
 */
export function compiledCore(debug = false, shared = false): WebAssembly.Module {
  const path = wasmPath(debug, shared);
  let mod = compiled.get(path);
  if (!mod) {
    if (!existsSync(path)) throw new Error(`skydive-ts: ${path} is missing; run "npm run build" first`);
    mod = new WebAssembly.Module(readFileSync(path));
    compiled.set(path, mod);
  }
  return mod;
}

/**
 * Instantiates the core (`mod`, or compiledCore's) with a table of `maxEntries` flows; in
 * `memory` (from sharedCoreMemory, used by this instance only) when given.
 */
export function loadCore(debug = false, maxEntries = 500000, memory?: WebAssembly.Memory, mod?: WebAssembly.Module): CoreExports {
  if (memory && debug) throw new Error('skydive-ts: the debug core has no shared-memory build');
  mod ??= compiledCore(debug, memory !== undefined);
  let mem = memory;
  const imports = {
    env: {
      ...(memory ? { memory } : {}),
      abort(msg: number, file: number, line: number, col: number): void {
        throw new Error(`wasm assertion failed at ${readAsString(mem, file)}:${line}:${col}: ${readAsString(mem, msg)}`);
      },
    },
  };
  const instance = new WebAssembly.Instance(mod, imports);
  const ex = instance.exports as unknown as CoreExports;
  mem = ex.memory;
  if (!ex.init(maxEntries)) throw new Error(`skydive-ts: cannot allocate a flow table of ${maxEntries} entries`);
  return ex;
}

/** Reads an AssemblyScript string (UTF-16, length in the header word). */
function readAsString(memory: WebAssembly.Memory | undefined, ptr: number): string {
  if (!memory || !ptr) return '';
  const bytes = new Uint32Array(memory.buffer)[(ptr - 4) >>> 2];
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
}

/** Names of the layer ids, read once from the core (the single source of truth). */
export function layerNames(core: CoreExports): string[] {
  const names: string[] = [];
  const scratch = core.outputBuffer();
  for (let id = 0; id < core.layerCount(); id++) {
    const n = core.layerNameInto(id, scratch);
    names.push(Buffer.from(core.memory.buffer, scratch, n).toString('latin1'));
  }
  return names;
}
