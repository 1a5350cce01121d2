// Skydive's JSON for one emitted flow record, written in the module: the
// same bytes as src/format/json.ts flowToJSON gives for the Flow that
// src/flow/record.ts reads from the record (flow-semantics.md section 9).
// It saves the host an object, a dozen BigInts and a string per flow.
//
// Records with an extra layer (DNS, DHCPv4, VRRP: FL_EXTRA_KIND != 0) are
// left to the host, whose DNS parser and base64 live in JS.
//
// Key order and omission follow Skydive's Go structs: omitempty fields are
// left out when zero, the others always written (see json.ts on the JS side
// for the list). Constant text is copied from a table of pieces, converted
// once from the literals below, a word at a time.
import {
  FL_AB_PACKETS, FL_APP, FL_BITS, FL_EXTRA_KIND, FL_FINISH, FL_ICMP_CODE, FL_ICMP_ID, FL_ICMP_TYPE, FL_IP_FRAG_ERRORS,
  FL_IP_FRAGMENTS, FL_L2KEY, FL_L3KEY, FL_LAST, FL_LINK_ID, FL_LUM, FL_MAC_A, FL_MAC_B, FL_NET_A, FL_NET_A_NIL, FL_NET_B,
  FL_NET_ID, FL_NET_PROTO, FL_PARENT, FL_PATH, FL_PATH_LEN, FL_PORT_A, FL_PORT_B, FL_RTT, FL_START, FL_SYN_TTL_AB,
  FL_SYN_TTL_BA, FL_TCP, FL_TCP_AB, FL_TCP_BA, FL_TRANSPORT, FL_UUID, FLB_IP_METRIC, FLB_LEADING_SLASH, FLB_LINK, FLB_LINK_NIL, FLB_LUM,
  FLB_PARENT, FLB_TCP_METRIC, PATH_MAX, TRANSPORT_TCP, TRANSPORT_UDP,
} from '../flow/layout';
import {
  applicationText, applicationTextLen, captureIDText, captureIDTextLen, hostTextBound, nodeTIDText, nodeTIDTextLen,
} from './host-text';
import { layerNameAddr, layerNameLen, layerNamesInit, NAME_MAX } from './names';
import { writeHex64, writeI64, writeIPv4, writeIPv6, writeMAC, writeU64 } from './text';

/** jsonEncodeFlow result: the record has an extra layer; encode it on the host. */
export const JSON_USE_HOST: i32 = -1;
/** jsonEncodeFlow result: `cap` is below jsonFlowBound(). */
export const JSON_NO_ROOM: i32 = -2;

/**
 * Most bytes of everything but LayersPath, Application and the host
 * strings, plus the 7 bytes a word copy may write past the end. The longest
 * such text is about 2000 bytes: 47 integers of up to 20 characters, five
 * hex IDs, two MACs, two IPv6 addresses, the longest ICMP type and about 850
 * bytes of keys (the tests build that record and check it fits).
 */
const FIXED_BOUND: u32 = 3072;

// Pieces of constant text, in the order they are written. Members that are
// written in a run (runI64) must stay consecutive.
enum K {
  OPEN_UUID, LAYERS_PATH, APPLICATION,
  LINK, MAC_B, ADDR_ID, LINK_NIL,
  NETWORK_V4, NETWORK_V6, NIL,
  TRANSPORT_TCP, TRANSPORT_UDP, TRANSPORT_SCTP, PORT_B, TRANSPORT_END,
  ICMP_CODE, ICMP_ID,
  LAST_UPDATE_METRIC, METRIC,
  M_AB_BYTES, M_BA_PACKETS, M_BA_BYTES, M_START, M_LAST, M_RTT,
  TCP_METRIC, TCP_BA_SYN_START, TCP_AB_SYN_TTL, TCP_BA_SYN_TTL,
  TCP_AB_FIN_START, TCP_BA_FIN_START, TCP_AB_RST_START, TCP_BA_RST_START,
  TCP_AB_OOO, TCP_AB_SKIPPED, TCP_AB_SKIPPED_BYTES, TCP_AB_PACKETS, TCP_AB_BYTES, TCP_AB_SAW_START, TCP_AB_SAW_END,
  TCP_BA_OOO, TCP_BA_SKIPPED, TCP_BA_SKIPPED_BYTES, TCP_BA_PACKETS, TCP_BA_BYTES, TCP_BA_SAW_START, TCP_BA_SAW_END,
  IP_METRIC, FRAGMENT_ERRORS,
  START, LAST, TRACKING_ID, L3_TRACKING_ID, PARENT_UUID, NODE_TID, CAPTURE_ID, RAW_PACKETS, FINISH_TYPE,
  ICMP_TYPE, // ICMP_TYPE + n: the object opening for ICMPType enum value n (0..12)
  COUNT = ICMP_TYPE + 13,
}

// Bytes of the pieces; each starts on a word so it can be copied by words.
const PIECE_AREA: u32 = 4096;
const pieceBytes = memory.data(<i32>PIECE_AREA, 8);
// Per piece: offset << 8 | length.
const pieceRefs = memory.data(<i32>(K.COUNT * 4), 4);
let pieceTop: u32 = 0;
let ready = false;

// Literals only: the stub runtime must not allocate (alloc.ts owns the heap).
function def(k: i32, s: string): void {
  const n = <u32>s.length;
  assert(n < 256 && pieceTop + n + 8 <= PIECE_AREA);
  for (let i: u32 = 0; i < n; i++) store<u8>(pieceBytes + pieceTop + i, <u8>s.charCodeAt(i));
  store<u32>(pieceRefs + (<usize>k << 2), (pieceTop << 8) | n);
  pieceTop = (pieceTop + n + 7) & ~7;
}

function init(): void {
  layerNamesInit();
  def(K.OPEN_UUID, '{"UUID":"');
  def(K.LAYERS_PATH, ',"LayersPath":"');
  def(K.APPLICATION, ',"Application":');
  def(K.LINK, ',"Link":{"Protocol":"ETHERNET","A":"');
  def(K.MAC_B, '","B":"');
  def(K.ADDR_ID, '","ID":');
  // Nil MACs (FLB_LINK_NIL): A and B are empty strings, left out (omitempty).
  def(K.LINK_NIL, ',"Link":{"Protocol":"ETHERNET","ID":');
  def(K.NETWORK_V4, ',"Network":{"Protocol":"IPV4","A":"');
  def(K.NETWORK_V6, ',"Network":{"Protocol":"IPV6","A":"');
  // quoteGo("<nil>"): Go's encoding/json escapes < and > for HTML.
  def(K.NIL, '\\u003cnil\\u003e');
  def(K.TRANSPORT_TCP, ',"Transport":{"Protocol":"TCP","A":');
  def(K.TRANSPORT_UDP, ',"Transport":{"Protocol":"UDP","A":');
  def(K.TRANSPORT_SCTP, ',"Transport":{"Protocol":"SCTP","A":');
  def(K.PORT_B, ',"B":');
  def(K.TRANSPORT_END, ',"ID":0}');
  def(K.ICMP_CODE, ',"Code":');
  def(K.ICMP_ID, ',"ID":');
  def(K.LAST_UPDATE_METRIC, ',"LastUpdateMetric":{"ABPackets":');
  def(K.METRIC, ',"Metric":{"ABPackets":');
  def(K.M_AB_BYTES, ',"ABBytes":');
  def(K.M_BA_PACKETS, ',"BAPackets":');
  def(K.M_BA_BYTES, ',"BABytes":');
  def(K.M_START, ',"Start":');
  def(K.M_LAST, ',"Last":');
  def(K.M_RTT, ',"RTT":');
  def(K.TCP_METRIC, ',"TCPMetric":{"ABSynStart":');
  def(K.TCP_BA_SYN_START, ',"BASynStart":');
  def(K.TCP_AB_SYN_TTL, ',"ABSynTTL":');
  def(K.TCP_BA_SYN_TTL, ',"BASynTTL":');
  def(K.TCP_AB_FIN_START, ',"ABFinStart":');
  def(K.TCP_BA_FIN_START, ',"BAFinStart":');
  def(K.TCP_AB_RST_START, ',"ABRstStart":');
  def(K.TCP_BA_RST_START, ',"BARstStart":');
  def(K.TCP_AB_OOO, ',"ABSegmentOutOfOrder":');
  def(K.TCP_AB_SKIPPED, ',"ABSegmentSkipped":');
  def(K.TCP_AB_SKIPPED_BYTES, ',"ABSegmentSkippedBytes":');
  def(K.TCP_AB_PACKETS, ',"ABPackets":');
  def(K.TCP_AB_BYTES, ',"ABBytes":');
  def(K.TCP_AB_SAW_START, ',"ABSawStart":');
  def(K.TCP_AB_SAW_END, ',"ABSawEnd":');
  def(K.TCP_BA_OOO, ',"BASegmentOutOfOrder":');
  def(K.TCP_BA_SKIPPED, ',"BASegmentSkipped":');
  def(K.TCP_BA_SKIPPED_BYTES, ',"BASegmentSkippedBytes":');
  def(K.TCP_BA_PACKETS, ',"BAPackets":');
  def(K.TCP_BA_BYTES, ',"BABytes":');
  def(K.TCP_BA_SAW_START, ',"BASawStart":');
  def(K.TCP_BA_SAW_END, ',"BASawEnd":');
  def(K.IP_METRIC, ',"IPMetric":{"Fragments":');
  def(K.FRAGMENT_ERRORS, ',"FragmentErrors":');
  def(K.START, ',"Start":');
  def(K.LAST, ',"Last":');
  def(K.TRACKING_ID, ',"TrackingID":"');
  def(K.L3_TRACKING_ID, '","L3TrackingID":"');
  def(K.PARENT_UUID, '","ParentUUID":"');
  def(K.NODE_TID, ',"NodeTID":');
  def(K.CAPTURE_ID, ',"CaptureID":');
  def(K.RAW_PACKETS, ',"RawPacketsCaptured":0');
  def(K.FINISH_TYPE, ',"FinishType":');
  // ICMPType names in enum order (flow-semantics.md 4.7; ICMP_TYPES in src/flow/record.ts).
  def(K.ICMP_TYPE + 0, ',"ICMP":{"Type":"UNKNOWN"');
  def(K.ICMP_TYPE + 1, ',"ICMP":{"Type":"DESTINATION_UNREACHABLE"');
  def(K.ICMP_TYPE + 2, ',"ICMP":{"Type":"ECHO"');
  def(K.ICMP_TYPE + 3, ',"ICMP":{"Type":"NEIGHBOR"');
  def(K.ICMP_TYPE + 4, ',"ICMP":{"Type":"ADDRESS_MASK"');
  def(K.ICMP_TYPE + 5, ',"ICMP":{"Type":"INFO"');
  def(K.ICMP_TYPE + 6, ',"ICMP":{"Type":"PARAMETER_PROBLEM"');
  def(K.ICMP_TYPE + 7, ',"ICMP":{"Type":"REDIRECT"');
  def(K.ICMP_TYPE + 8, ',"ICMP":{"Type":"ROUTER"');
  def(K.ICMP_TYPE + 9, ',"ICMP":{"Type":"SOURCE_QUENCH"');
  def(K.ICMP_TYPE + 10, ',"ICMP":{"Type":"TIME_EXCEEDED"');
  def(K.ICMP_TYPE + 11, ',"ICMP":{"Type":"TIMESTAMP"');
  def(K.ICMP_TYPE + 12, ',"ICMP":{"Type":"PACKET_TOO_BIG"');
  ready = true;
}

/**
 * Copies `n` bytes a word at a time. Writes up to 7 bytes past `dst + n`
 * (the bound leaves room; later writes cover them) and reads up to 7 past
 * `src + n` (every source keeps that slack).
 */
@inline function copyWords(dst: usize, src: usize, n: u32): usize {
  for (let i: u32 = 0; i < n; i += 8) store<u64>(dst + i, load<u64>(src + i));
  return dst + n;
}

@inline function put(p: usize, k: i32): usize {
  const ref = load<u32>(pieceRefs + (<usize>k << 2));
  return copyWords(p, pieceBytes + (ref >> 8), ref & 0xff);
}

@inline function putByte(p: usize, b: u8): usize {
  store<u8>(p, b);
  return p + 1;
}

/** Pieces `first` .. `first + n - 1`, each followed by the i64 at `src + 8 i`. */
function runI64(p: usize, first: i32, src: usize, n: i32): usize {
  for (let i: i32 = 0; i < n; i++) {
    p = put(p, first + i);
    p = writeI64(p, load<i64>(src + (<usize>i << 3)));
  }
  return p;
}

/** FlowMetric body after its opening piece (which names ABPackets). RTT is omitempty. */
function metric(p: usize, counters: usize, start: i64, last: i64, rtt: i64): usize {
  p = writeI64(p, load<i64>(counters));
  p = runI64(p, K.M_AB_BYTES, counters + 8, 3);
  p = put(p, K.M_START);
  p = writeI64(p, start);
  p = put(p, K.M_LAST);
  p = writeI64(p, last);
  if (rtt != 0) {
    p = put(p, K.M_RTT);
    p = writeI64(p, rtt);
  }
  return putByte(p, 0x7d);
}

function tcpMetric(p: usize, rec: usize): usize {
  p = put(p, K.TCP_METRIC);
  p = writeI64(p, load<i64>(rec + FL_TCP));
  p = put(p, K.TCP_BA_SYN_START);
  p = writeI64(p, load<i64>(rec + FL_TCP + 8));
  const ttlAB = load<u32>(rec + FL_SYN_TTL_AB), ttlBA = load<u32>(rec + FL_SYN_TTL_BA);
  if (ttlAB != 0) { p = put(p, K.TCP_AB_SYN_TTL); p = writeU64(p, ttlAB); }
  if (ttlBA != 0) { p = put(p, K.TCP_BA_SYN_TTL); p = writeU64(p, ttlBA); }
  p = runI64(p, K.TCP_AB_FIN_START, rec + FL_TCP + 16, 4);
  p = runI64(p, K.TCP_AB_OOO, rec + FL_TCP_AB, 7);
  p = runI64(p, K.TCP_BA_OOO, rec + FL_TCP_BA, 7);
  return putByte(p, 0x7d);
}

/** The Network object: protocol, both addresses (or gopacket's nil ones), ID. */
function network(p: usize, rec: usize, proto: u32): usize {
  p = put(p, proto == 4 ? K.NETWORK_V4 : K.NETWORK_V6);
  if (load<u8>(rec + FL_NET_A_NIL) != 0) {
    // gopacket nil addresses: net.IP(nil).String() is "<nil>".
    p = put(p, K.NIL);
    p = put(p, K.MAC_B);
    p = put(p, K.NIL);
  } else if (proto == 4) {
    p = writeIPv4(p, rec + FL_NET_A);
    p = put(p, K.MAC_B);
    p = writeIPv4(p, rec + FL_NET_B);
  } else {
    p = writeIPv6(p, rec + FL_NET_A);
    p = put(p, K.MAC_B);
    p = writeIPv6(p, rec + FL_NET_B);
  }
  p = put(p, K.ADDR_ID);
  p = writeI64(p, load<i64>(rec + FL_NET_ID));
  return putByte(p, 0x7d);
}

/** The largest output of jsonEncodeFlow with the host strings registered so far. */
export function jsonFlowBound(): u32 {
  // LayersPath: a slash, then PATH_MAX names and separators; Application: the longest name, quoted.
  return FIXED_BOUND + 1 + PATH_MAX * (NAME_MAX + 1) + NAME_MAX + 2 + hostTextBound();
}

/**
 * Writes the JSON object of the flow record at `rec` (the FLOW_SIZE bytes
 * after an emitted record's EMIT_HEADER) at `out`, without a newline.
 * `dropLastUpdateMetric` leaves LastUpdateMetric out, as a file replay does.
 * Returns the byte length, JSON_USE_HOST (-1) for a record with an extra
 * layer, or JSON_NO_ROOM (-2) when `cap` is below jsonFlowBound().
 */
export function jsonEncodeFlow(rec: usize, out: usize, cap: u32, dropLastUpdateMetric: u32): i32 {
  if (load<u8>(rec + FL_EXTRA_KIND) != 0) return JSON_USE_HOST;
  if (cap < jsonFlowBound()) return JSON_NO_ROOM;
  if (!ready) init();
  const bits = <u32>load<u16>(rec + FL_BITS);
  let p = put(out, K.OPEN_UUID);
  p = writeHex64(p, load<u64>(rec + FL_UUID));
  p = putByte(p, 0x22);

  let pathLen = <u32>load<u8>(rec + FL_PATH_LEN);
  if (pathLen > PATH_MAX) pathLen = PATH_MAX;
  const slash = (bits & FLB_LEADING_SLASH) != 0;
  if (pathLen > 0 || slash) {
    p = put(p, K.LAYERS_PATH);
    if (slash) p = putByte(p, 0x2f);
    for (let i: u32 = 0; i < pathLen; i++) {
      if (i > 0) p = putByte(p, 0x2f);
      const id = <u32>load<u8>(rec + FL_PATH + i);
      p = copyWords(p, layerNameAddr(id), layerNameLen(id));
    }
    p = putByte(p, 0x22);
  }

  // Application: the application-port name, else the last layer of the path.
  const app = <u32>load<u8>(rec + FL_APP);
  if (app != 0) {
    const n = applicationTextLen(app);
    if (n > 0) {
      p = put(p, K.APPLICATION);
      p = copyWords(p, applicationText(app), n);
    }
  } else if (pathLen > 0) {
    const id = <u32>load<u8>(rec + FL_PATH + pathLen - 1);
    const n = layerNameLen(id);
    if (n > 0) {
      p = put(p, K.APPLICATION);
      p = putByte(p, 0x22);
      p = copyWords(p, layerNameAddr(id), n);
      p = putByte(p, 0x22);
    }
  }

  if (bits & FLB_LINK) {
    if (bits & FLB_LINK_NIL) {
      p = put(p, K.LINK_NIL);
    } else {
      p = put(p, K.LINK);
      p = writeMAC(p, rec + FL_MAC_A);
      p = put(p, K.MAC_B);
      p = writeMAC(p, rec + FL_MAC_B);
      p = put(p, K.ADDR_ID);
    }
    p = writeI64(p, load<i64>(rec + FL_LINK_ID));
    p = putByte(p, 0x7d);
  }

  // Transport, ICMP and IPMetric exist only with a network layer (record.ts reads them under it).
  const np = <u32>load<u8>(rec + FL_NET_PROTO);
  if (np != 0) {
    p = network(p, rec, np);
    const tp = load<u8>(rec + FL_TRANSPORT);
    if (tp != 0) {
      p = put(p, tp == TRANSPORT_TCP ? K.TRANSPORT_TCP : tp == TRANSPORT_UDP ? K.TRANSPORT_UDP : K.TRANSPORT_SCTP);
      p = writeU64(p, load<u16>(rec + FL_PORT_A));
      p = put(p, K.PORT_B);
      p = writeU64(p, load<u16>(rec + FL_PORT_B));
      p = put(p, K.TRANSPORT_END);
    }
    const icmp = <u32>load<u8>(rec + FL_ICMP_TYPE);
    if (icmp != 0) {
      // Stored as enum value + 1; values past the enum print as UNKNOWN, as on the host.
      p = put(p, K.ICMP_TYPE + <i32>(icmp <= 13 ? icmp - 1 : 0));
      const code = load<u32>(rec + FL_ICMP_CODE), id = load<u32>(rec + FL_ICMP_ID);
      if (code != 0) { p = put(p, K.ICMP_CODE); p = writeU64(p, code); }
      if (id != 0) { p = put(p, K.ICMP_ID); p = writeU64(p, id); }
      p = putByte(p, 0x7d);
    }
  }

  if ((bits & FLB_LUM) != 0 && dropLastUpdateMetric == 0) {
    p = put(p, K.LAST_UPDATE_METRIC);
    p = metric(p, rec + FL_LUM, load<i64>(rec + FL_LUM + 32), load<i64>(rec + FL_LUM + 40), load<i64>(rec + FL_LUM + 48));
  }
  const start = load<i64>(rec + FL_START), last = load<i64>(rec + FL_LAST);
  p = put(p, K.METRIC);
  p = metric(p, rec + FL_AB_PACKETS, start, last, load<i64>(rec + FL_RTT));
  if (bits & FLB_TCP_METRIC) p = tcpMetric(p, rec);
  if (np != 0 && (bits & FLB_IP_METRIC) != 0) {
    p = put(p, K.IP_METRIC);
    p = writeI64(p, load<i64>(rec + FL_IP_FRAGMENTS));
    p = put(p, K.FRAGMENT_ERRORS);
    p = writeI64(p, load<i64>(rec + FL_IP_FRAG_ERRORS));
    p = putByte(p, 0x7d);
  }

  p = put(p, K.START);
  p = writeI64(p, start);
  p = put(p, K.LAST);
  p = writeI64(p, last);
  p = put(p, K.TRACKING_ID);
  p = writeHex64(p, load<u64>(rec + FL_L2KEY));
  p = put(p, K.L3_TRACKING_ID);
  p = writeHex64(p, load<u64>(rec + FL_L3KEY));
  p = put(p, K.PARENT_UUID);
  if (bits & FLB_PARENT) p = writeHex64(p, load<u64>(rec + FL_PARENT));
  p = putByte(p, 0x22);
  const nodeLen = nodeTIDTextLen();
  if (nodeLen > 0) {
    p = put(p, K.NODE_TID);
    p = copyWords(p, nodeTIDText(), nodeLen);
  }
  const captureLen = captureIDTextLen();
  if (captureLen > 0) {
    p = put(p, K.CAPTURE_ID);
    p = copyWords(p, captureIDText(), captureLen);
  }
  p = put(p, K.RAW_PACKETS);
  const finish = load<u8>(rec + FL_FINISH);
  if (finish != 0) {
    p = put(p, K.FINISH_TYPE);
    p = writeU64(p, finish);
  }
  p = putByte(p, 0x7d);
  return <i32>(p - out);
}
