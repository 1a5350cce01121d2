// sFlow v5 flow and counter records (sflow.org/sflow_version_5.txt §5,
// sflow.org/sflow_host.txt for 2202, sflow.org/sflow_openvswitch.txt for 2207).
// Each decoder takes the record's body [s, e), its length already checked
// against the sample, and returns R_OK or a reason (reasons.ts).
//
// Raw packet header (flow record, enterprise 0, format 1):
//  +----------------------+
//  | header_protocol      |  1 Ethernet, 11 IPv4, 12 IPv6, ...
//  | frame_length         |  bytes of the original frame (L2: FCS included)
//  | stripped             |  bytes removed from it (FCS, ...)
//  | header length        |  then the header bytes, XDR-padded to 4
//  +----------------------+
//
// Counter records are fixed runs of u32/u64 fields; a longer record is fine
// (later versions may append), a shorter one is a lie.

import { rd32, rd64 } from '../mem';
import { R_NO_ROOM, R_OK, R_RECORD_TOO_SHORT } from './reasons';
import {
  addField, outEntry, outPacket, setField,
  E_APP_RESOURCES, E_ETHERNET, E_GENERIC_IF, E_OVS_DP, E_VLAN,
} from './out';

// Skydive decodes every header as Ethernet; we decode what the header says
// for IPv4 and IPv6 (docs/compat.md#sflow-collector) and keep Ethernet for
// every other protocol, as Skydive does.
const HP_ETHERNET: u32 = 1;
const HP_IPV4: u32 = 11;
const HP_IPV6: u32 = 12;
const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_IPV4: u32 = 228;
const LINKTYPE_IPV6: u32 = 229;

// Datagram entry fields counted here (out.ts E_DATAGRAM).
const D_RECORDS_SKIPPED: u32 = 11;
const D_HEADERS_BAD_LENGTH: u32 = 12;
const D_HEADERS_OTHER_PROTOCOL: u32 = 13;
// Flow sample entry fields filled here (out.ts E_FLOW_SAMPLE).
const F_HEADERS: u32 = 12;
const F_HEADER_BYTES: u32 = 13;

let tsNs: i64 = 0;
let datagramEntry: usize = 0;
let sampleEntry: usize = 0;

/** The reception time and datagram entry of the records that follow. */
export function recordContext(ts: i64, datagram: usize): void {
  tsNs = ts;
  datagramEntry = datagram;
}

/** The flow sample entry the raw headers that follow belong to. */
export function recordSample(entry: usize): void { sampleEntry = entry; }

/** A record nobody reads (another enterprise or format): counted, skipped by its length. */
export function skipRecord(): void { addField(datagramEntry, D_RECORDS_SKIPPED, 1); }

function decodeRawHeader(s: usize, e: usize): u32 {
  if (e - s < 16) return R_RECORD_TOO_SHORT;
  const protocol = rd32(s), frameLength = rd32(s + 4), stripped = rd32(s + 8), headerLength = rd32(s + 12);
  // Skydive decodes the header with its XDR padding (gopacket slices it so).
  const padded = (<u64>headerLength + 3) & ~<u64>3;
  if (padded > <u64>(e - s - 16)) return R_RECORD_TOO_SHORT;
  if (stripped > frameLength) {
    // Skydive's uint32 subtraction would count ~4 GB for this packet.
    addField(datagramEntry, D_HEADERS_BAD_LENGTH, 1);
    return R_OK;
  }
  let linkType = LINKTYPE_ETHERNET;
  if (protocol == HP_IPV4) linkType = LINKTYPE_IPV4;
  else if (protocol == HP_IPV6) linkType = LINKTYPE_IPV6;
  else if (protocol != HP_ETHERNET) addField(datagramEntry, D_HEADERS_OTHER_PROTOCOL, 1);
  const length = frameLength - stripped;
  if (!outPacket(tsNs, s + 16, <u32>padded, length, linkType)) return R_NO_ROOM;
  addField(sampleEntry, F_HEADERS, 1);
  addField(sampleEntry, F_HEADER_BYTES, <u64>length);
  return R_OK;
}

/** Flow record `format` (enterprise << 12 | type) with body [s, e). */
export function decodeFlowRecord(format: u32, s: usize, e: usize): u32 {
  if (format == 1) return decodeRawHeader(s, e);
  skipRecord(); // extended switch/router/gateway/..., sampled Ethernet/IPv4/IPv6: Skydive reads none
  return R_OK;
}

// Field widths (4 or 8 bytes) of the fixed counter records, in wire order.
const GENERIC_IF = memory.data<u8>([4, 4, 8, 4, 4, 8, 4, 4, 4, 4, 4, 4, 8, 4, 4, 4, 4, 4, 4]);
const GENERIC_IF_N: u32 = 19;
const ETHERNET = memory.data<u8>([4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]);
const ETHERNET_N: u32 = 13;
const VLAN = memory.data<u8>([4, 8, 4, 4, 4, 4]);
const VLAN_N: u32 = 6;
const APP_RESOURCES = memory.data<u8>([4, 4, 8, 8, 4, 4, 4, 4]);
const APP_RESOURCES_N: u32 = 8;
const OVS_DP = memory.data<u8>([4, 4, 4, 4, 4, 4]);
const OVS_DP_N: u32 = 6;

/** Copies a fixed record of `n` fields of `widths` into a list entry of `kind`. */
function fixedRecord(kind: u32, widths: usize, n: u32, s: usize, e: usize): u32 {
  let need: u32 = 0;
  for (let i: u32 = 0; i < n; i++) need += <u32>load<u8>(widths + i);
  if (<usize>need > e - s) return R_RECORD_TOO_SHORT;
  const entry = outEntry(kind, n);
  if (entry == 0) return R_NO_ROOM;
  let p = s; // p + width <= s + need <= e for every field
  for (let i: u32 = 0; i < n; i++) {
    const w = <u32>load<u8>(widths + i);
    setField(entry, i, w == 8 ? rd64(p) : <u64>rd32(p));
    p += w;
  }
  return R_OK;
}

/** Counter record `format` (enterprise << 12 | type) with body [s, e). */
export function decodeCounterRecord(format: u32, s: usize, e: usize): u32 {
  switch (format) {
    case 1: return fixedRecord(E_GENERIC_IF, GENERIC_IF, GENERIC_IF_N, s, e);
    case 2: return fixedRecord(E_ETHERNET, ETHERNET, ETHERNET_N, s, e);
    case 5: return fixedRecord(E_VLAN, VLAN, VLAN_N, s, e);
    case 2202: return fixedRecord(E_APP_RESOURCES, APP_RESOURCES, APP_RESOURCES_N, s, e);
    case 2207: return fixedRecord(E_OVS_DP, OVS_DP, OVS_DP_N, s, e);
  }
  skipRecord(); // processor, port name, host and vendor records: Skydive reads none of them
  return R_OK;
}
