// Per-packet and per-batch processing: decode, defragment, split into
// sub-packets, key, and create or update one flow per sub-packet (Skydive
// Table.processPacketSeq), plus the table timers (update, expire, stop).

import * as ids from '../ids';
import { C_FLOWS_CREATED, C_NO_FLOW, C_ORPHAN_SUBPACKETS, C_PACKETS, C_PACKETS_WITH_FLOW, C_TABLE_NO_MEMORY, count } from '../counters';
import { decodePacket } from '../decode';
import { hashWrite, hashWriteBE64, hashReset, hashSum64 } from '../hash/xxhash64';
import { fieldsOf, layerType, linkLayer, networkLayer, rec, transportLayer } from '../packet';
import { TCP_FIN, TCP_FLAGS, TCP_RST, TCP_SEQ, TCP_SRC, TCP_SYN } from '../layers/tcp';
import { addrEqual, computeKeys, keyFlow, keyL2, keyL3, selectLayers, selLink, selNet, netAddr, netAddrLen } from './keys';
import { initFlow, initExtraLayer, macEqual, updateFlow, updatePlainFlow, releaseFlowExtras, FINISH_NOT_FINISHED, FINISH_TIMEOUT } from './flow';
import { nSubs, splitPacket, subEnd, subStart } from './subpacket';
import { tableFirst, tableGet, tableInsert, tableNext, tablePromote, tableRemove, tableSlotOf } from './table';
import {
  plainFlags, plainFlow, plainFrame, plainIPv4, plainPayload, plainRemember, plainSeq, plainSrc, plainSrcPort, plainTCP, readPlainFrame,
} from './plain';
import { ETH_DST_OFF, ETH_SRC_OFF } from '../layers/ethernet';
import { emitFlow } from './emit';
import { defragIdle, defragPacket, defragMetricErrors, defragMetricFragments, DEFRAG_DROP, defragFlushOlderThan } from './defrag';
import { tcpAssemble, tcpConnNew, tcpIgnores, tcpConnRelease, tcpFlushAll, tcpFlushOlderThan } from './tcpassembly';
import * as o from './options';
import {
  EMIT_APP_TIMEOUT, EMIT_END, EMIT_EVICTED, EMIT_EXPIRE, EMIT_EXPIRE_FINISHED, EMIT_HOLD, EMIT_UPDATE,
  FL_AB_BYTES, FL_AB_PACKETS, FL_APP, FL_BA_BYTES, FL_BA_PACKETS, FL_BITS, FL_FINISH, FL_L2KEY, FL_L3KEY,
  FL_LAST, FL_LUM, FL_NET_A, FL_NET_A_NIL, FL_NET_PROTO, FL_PATH, FL_PATH_LEN, FL_PORT_A, FL_RTT, FL_SNAP, FL_START,
  FL_TCP_CONN, FL_UPDATE_VER, FL_UUID, FLB_LUM, FLB_PLAIN,
} from './layout';
import { nodeTID, nodeTIDLen } from './options';

const HOLD_TIMEOUT_MS: i64 = 15000;
let currentTsNs: i64 = 0;

let updateVersion: u32 = 0;
let lastUpdateMs: i64 = 0;
let lastExpireMs: i64 = 0;

function evicted(f: usize): void { removeFlow(f, EMIT_EVICTED); }

function removeFlow(f: usize, why: u8): void {
  emitFlow(f, why);
  const conn = load<u32>(f + FL_TCP_CONN);
  if (conn != 0) tcpConnRelease(conn);
  releaseFlowExtras(f);
  tableRemove(f);
}

const uuidBuf = memory.data(8 + 256, 8);

/** UUID = XXH64(seed = key, BE64(Start ms) ‖ NodeTID), a fresh standard hash. */
function flowUUID(key: u64, startMs: i64): u64 {
  hashReset(key);
  hashWriteBE64(<u64>startMs);
  if (nodeTIDLen > 0) hashWrite(nodeTID, nodeTIDLen);
  return hashSum64();
}

/** The sub-packet that holds the packet's first TCP layer, where reassembly attaches. */
function tcpSubPacket(): i32 {
  if (transportLayer < 0 || layerType(<u32>transportLayer) != ids.L_TCP) return -1;
  for (let k: u32 = 0; k < nSubs; k++) {
    if (<u32>transportLayer >= subStart(k) && <u32>transportLayer < subEnd(k)) return <i32>k;
  }
  return -1;
}

/**
 * Processes one frame. `outer` >= 0 forces the outer length (sFlow
 * frame_length - stripped), else the wire length rules apply.
 */
export function processPacket(data: usize, caplen: u32, wireLen: u32, linkType: u32, tsNs: i64, outer: i64): void {
  currentTsNs = tsNs;
  count(C_PACKETS);
  // A plain frame (plain.ts) finds its flow without hashing its key, and a
  // plain frame of an established flow is mostly processed without decoding.
  const plain = !o.layerKeyModeL3 && readPlainFrame(data, caplen, linkType);
  const plainF = plain ? plainFlow() : 0;
  if (plainF != 0 && processPlain(plainF, caplen, wireLen, tsNs, outer)) { count(C_PACKETS_WITH_FLOW); return; }
  decodePacket(data, caplen, linkType);

  let fragments: i64 = 0, fragErrors: i64 = 0;
  let haveMetric = false;
  if (o.ipDefrag) {
    const r = defragPacket(tsNs);
    if (r == DEFRAG_DROP) { count(C_NO_FLOW); return; }
    fragments = defragMetricFragments;
    fragErrors = defragMetricErrors;
    haveMetric = true;
  }
  if (linkLayer < 0 && networkLayer < 0) { count(C_NO_FLOW); return; }

  splitPacket(wireLen, outer);
  const tsMs = tsNs / 1000000;
  const tcpK = o.reassembleTCP ? tcpSubPacket() : -1;
  let parent: u64 = 0;
  let parentFlow: usize = 0;
  let hasParent = false;
  for (let k: u32 = 0; k < nSubs; k++) {
    selectLayers(k);
    // Skydive dereferences nil (and crashes) on a sub-packet with neither an
    // Ethernet nor an IP layer, e.g. the middle label of an MPLS stack: we
    // skip it and keep the chain, the next level's parent being the last flow.
    if (selLink < 0 && selNet < 0) { count(C_ORPHAN_SUBPACKETS); continue; }
    // Read only now: the UUID is not on the lines every packet touches.
    if (hasParent) parent = load<u64>(parentFlow + FL_UUID);
    let f: usize;
    if (k == 0 && plainF != 0) {
      f = plainF;
      tablePromote(f);
    } else {
      computeKeys(k, parent, hasParent, false);
      f = tableGet(keyFlow);
    }
    if (f == 0) {
      computeKeys(k, parent, hasParent, true); // the TrackingIDs of the new flow
      f = tableInsert(keyFlow, evicted);
      if (f == 0) { count(C_TABLE_NO_MEMORY); break; }
      count(C_FLOWS_CREATED);
      const last = k == nSubs - 1;
      initFlow(f, k, tsMs, parent, hasParent, haveMetric && last, fragments, fragErrors);
      store<u64>(f + FL_L2KEY, keyL2);
      store<u64>(f + FL_L3KEY, keyL3);
      store<u64>(f + FL_UUID, flowUUID(keyFlow, tsMs));
      initExtraLayer(f, k, tsNs);
      if (<i32>k == tcpK) store<u32>(f + FL_TCP_CONN, tcpConnNew(f));
      if (k == 0 && plain) store<u16>(f + FL_BITS, load<u16>(f + FL_BITS) | <u16>FLB_PLAIN);
    }
    if (k == 0 && plain && plainF == 0) plainRemember(tableSlotOf(f));
    if (<i32>k == tcpK) assemble(f);
    updateFlow(f, k, tsNs, tsMs);
    store<u32>(f + FL_UPDATE_VER, updateVersion + 1);
    parentFlow = f;
    hasParent = true;
  }
  count(hasParent ? C_PACKETS_WITH_FLOW : C_NO_FLOW);
}

/**
 * The rest of processPacket for a plain frame (plain.ts) of flow f, where
 * that is little and needs no decoding; false, having changed nothing, when
 * it is more (then the frame goes the general way).
 */
function processPlain(f: usize, caplen: u32, wireLen: u32, tsNs: i64, outer: i64): bool {
  // SYN, FIN and RST set RTT, flag times and the finish type (updateFlow).
  if (plainTCP && (plainFlags & (TCP_SYN | TCP_FIN | TCP_RST)) != 0) return false;
  // Fragment state gives IPv4 packets metrics, and they change it (defrag.ts).
  if (o.ipDefrag && plainIPv4 && !defragIdle()) return false;
  // Equal MACs leave the direction to the network layer (updateFlow).
  if (macEqual(plainFrame + ETH_SRC_OFF, plainFrame + ETH_DST_OFF)) return false;
  tablePromote(f);
  if (plainTCP && o.reassembleTCP) {
    assembleSegment(f, plainIPv4, plainSrc, plainIPv4 ? 4 : 16, plainSrcPort, plainSeq, plainPayload, plainFlags);
  }
  // The length splitPacket gives the outermost sub-packet; 0 is the Ethernet length (updateFlow).
  let length = outer >= 0 ? outer : <i64>wireLen;
  if (length == 0) length = <i64>caplen;
  updatePlainFlow(f, tsNs / 1000000, length, plainFrame + ETH_SRC_OFF);
  store<u32>(f + FL_UPDATE_VER, updateVersion + 1);
  return true;
}

function assemble(f: usize): void {
  if (networkLayer < 0) return;
  // gopacket's assembler sees the packet's first network and TCP layers, and
  // Skydive's stream calls AB the side whose source IP text is Network.A and
  // source port Transport.A (so a 4-in-6 flow's segments count as BA).
  const ip = networkLayer;
  const fi = fieldsOf(<u32>transportLayer);
  assembleSegment(f, layerType(<u32>ip) == ids.L_IPV4, netAddr(ip, false), netAddrLen(ip), <u32>load<u16>(fi + TCP_SRC),
    load<u32>(fi + TCP_SEQ), load<u32>(recOf(transportLayer) + 12), <u32>load<u16>(fi + TCP_FLAGS));
}

/**
 * Hands a TCP segment of flow f to its reassembly: sent from an IPv4 (`v4`)
 * or IPv6 source `src` of `al` bytes (0: gopacket's nil address) and port
 * `sport`, with `payload` bytes from `seq`.
 */
function assembleSegment(f: usize, v4: bool, src: usize, al: u32, sport: u32, seq: u32, payload: u32, flags: u32): void {
  const conn = load<u32>(f + FL_TCP_CONN);
  if (conn == 0 || tcpIgnores(flags, payload)) return; // a bare ACK: its direction is not needed
  const sameFamily = load<u8>(f + FL_NET_PROTO) == (v4 ? 4 : 6);
  let ab = sameFamily && (load<u8>(f + FL_NET_A_NIL) != 0 ? al == 0 : al > 0 && addrEqual(f + FL_NET_A, src, al));
  ab = ab && <u32>load<u16>(f + FL_PORT_A) == sport;
  tcpAssemble(conn, ab, seq, payload, flags, currentTsNs);
}

@inline function recOf(i: i32): usize { return rec(<u32>i); }

/** LastUpdateMetric = Metric - snapshot, with the given window (Skydive updateMetric). */
function setLastUpdateMetric(f: usize, start: i64, last: i64): void {
  const bitsv = <u32>load<u16>(f + FL_BITS);
  if ((bitsv & FLB_LUM) == 0) { start = load<i64>(f + FL_START); store<u16>(f + FL_BITS, <u16>(bitsv | FLB_LUM)); }
  store<i64>(f + FL_LUM, load<i64>(f + FL_AB_PACKETS) - load<i64>(f + FL_SNAP));
  store<i64>(f + FL_LUM + 8, load<i64>(f + FL_AB_BYTES) - load<i64>(f + FL_SNAP + 8));
  store<i64>(f + FL_LUM + 16, load<i64>(f + FL_BA_PACKETS) - load<i64>(f + FL_SNAP + 16));
  store<i64>(f + FL_LUM + 24, load<i64>(f + FL_BA_BYTES) - load<i64>(f + FL_SNAP + 24));
  store<i64>(f + FL_LUM + 32, start);
  store<i64>(f + FL_LUM + 40, last);
  store<i64>(f + FL_LUM + 48, load<i64>(f + FL_RTT));
}

function applicationTimeout(f: usize): i64 {
  const app = load<u8>(f + FL_APP);
  if (app != 0) return o.appTimeout(app);
  const n = load<u8>(f + FL_PATH_LEN);
  return n == 0 ? 0 : o.layerTimeout(load<u8>(f + FL_PATH + n - 1));
}

/** Skydive's update tick at `nowMs` (spec §5). */
export function updateTick(nowMs: i64): void {
  const from = lastUpdateMs;
  let f = tableFirst();
  while (f != 0) {
    const next = tableNext(f);
    if (load<u32>(f + FL_UPDATE_VER) > updateVersion) {
      setLastUpdateMetric(f, from, nowMs);
      emitFlow(f, EMIT_UPDATE);
    } else {
      const to = applicationTimeout(f);
      if (to > 0 && nowMs - load<i64>(f + FL_LAST) > to) {
        store<u8>(f + FL_FINISH, FINISH_TIMEOUT);
        removeFlow(f, EMIT_APP_TIMEOUT);
        f = next;
        continue;
      }
      const bitsv = <u32>load<u16>(f + FL_BITS);
      memory.fill(f + FL_LUM, 0, 32);
      store<i64>(f + FL_LUM + 32, from);
      store<i64>(f + FL_LUM + 40, nowMs);
      store<u16>(f + FL_BITS, <u16>(bitsv | FLB_LUM));
    }
    memory.copy(f + FL_SNAP, f + FL_AB_PACKETS, 32);
    if (load<u8>(f + FL_FINISH) != FINISH_NOT_FINISHED && nowMs - load<i64>(f + FL_LAST) >= HOLD_TIMEOUT_MS) {
      removeFlow(f, EMIT_HOLD);
    }
    f = next;
  }
  lastUpdateMs = nowMs;
  updateVersion++;
}

/** Flow `f` leaves the table on expiry (`why` EMIT_EXPIRE) or at the end of a capture (EMIT_END). */
function expireFlow(f: usize, why: u8): void {
  if (load<u32>(f + FL_UPDATE_VER) > updateVersion) setLastUpdateMetric(f, lastUpdateMs, load<i64>(f + FL_LAST));
  if (load<u8>(f + FL_FINISH) == FINISH_NOT_FINISHED) {
    store<u8>(f + FL_FINISH, FINISH_TIMEOUT);
    removeFlow(f, why);
  } else {
    removeFlow(f, why == EMIT_END ? EMIT_END : EMIT_EXPIRE_FINISHED);
  }
}

function expireBefore(limit: i64, why: u8): void {
  let f = tableFirst();
  while (f != 0) {
    const next = tableNext(f);
    if (load<i64>(f + FL_LAST) < limit) expireFlow(f, why);
    f = next;
  }
}

/** Skydive's expire tick at `nowMs`: flows idle since before the previous tick go. */
export function expireTick(nowMs: i64): void {
  expireBefore(lastExpireMs, EMIT_EXPIRE);
  lastExpireMs = nowMs;
}

/** The 30-second tick: flush reassembly and defragmentation state older than 30 s. */
export function connectionTick(nowNs: i64): void {
  const t = nowNs - 30 * 1000000000;
  if (o.reassembleTCP) tcpFlushOlderThan(t);
  if (o.ipDefrag) defragFlushOlderThan(t);
}

/** Capture stop / end of file: flush reassembly, then expire every flow. */
export function stopTable(): void {
  stopBegin();
  expireBefore(I64.MAX_VALUE, EMIT_END);
}

/**
 * Capture stop in the host's order, step 1: flush reassembly (its counters
 * land in the flows). The flows stay in the table for stopFlow.
 */
export function stopBegin(): void {
  if (o.reassembleTCP) tcpFlushAll();
}

/** Capture stop, step 2: flow `f` leaves the table as stopTable makes it. */
export function stopFlow(f: usize): void {
  expireFlow(f, EMIT_END);
}
