// sFlow v5 datagram as a UDP 6343 layer (sflow.org/sflow_version_5.txt;
// gopacket layers/sflow.go SFlowDatagram semantics). Validation only: the
// collector (task 7 of the spec) re-reads the datagram itself.
//
//  +-------------------------------------------+
//  | version | agent addr type (1=v4, 2=v6)    |   addr is 4, 16, or 0 bytes
//  | agent address | sub-agent id | sequence   |   (any other type: 0 bytes)
//  | uptime | number of samples                |
//  +-------------------------------------------+
//  | sample: format (enterprise<<12 | type) | length | ...  x n
//  +-------------------------------------------+
//
// How gopacket parses (and so when a datagram becomes a DecodeFailure, with
// no SFlow layer):
// * the sample count must be >= 1 (else an error);
// * the sample/record LENGTH fields are never used to skip: each sample and
//   record is consumed field by field, with fixed sizes per type. Running
//   past the data is a Go slice panic, i.e. a decode error;
// * sample types (low 12 bits; the enterprise is ignored): 1 flow, 2 counter,
//   3 expanded flow, 4 expanded counter; anything else is an error;
// * flow records, enterprise 0: 1 raw header, 2 Ethernet frame, 3 IPv4,
//   4 IPv6, 1001 switch, 1002 router, 1003 gateway, 1004 user, 1005 URL,
//   1023-1030 tunnel/decap/VNI; 1006-1012 (MPLS, NAT, VLAN tunnel...) and
//   unknown types are errors. A non-zero enterprise is skipped by its length,
//   rounded with Go's (4 - len) % 4 (which rounds DOWN for len > 4);
// * counter records (enterprise ignored): 1 generic, 2 Ethernet, 5 VLAN,
//   7 LACP, 1001 processor, 1004 OpenFlow port, 1005 port name, 2202 app
//   resources, 2207 OVS DP; 3, 4 and anything else (e.g. the host-sflow
//   2000-2006 records in tcpdump/sflow_multiple_counter_30_pdus.pcap) are
//   errors;
// * the IPv4/IPv6 flow records (3, 4) do NOT consume their own 8-byte
//   record header (the parser reads "length" from the format word), so they
//   take 32 / 56 bytes; tunnel records 1023-1026 take 8 + 32 / 8 + 56;
// * strings (user, URL, port name) and raw headers are padded to 4 bytes with
//   uint32 arithmetic: a length within 3 of 2^32 wraps to a tiny padded
//   length but the string slice then panics (error);
// * bytes after the last sample are ignored.
// On success the layer has EMPTY Contents and Payload (gopacket never sets
// them for SFlowDatagram) and nothing follows it.

import { L_NONE, L_SFLOW } from '../ids';
import { rd32 } from '../mem';
import { fieldsOf, pushLayer } from '../packet';

export const SFLOW_VERSION: u32 = 0;        // u32
export const SFLOW_AGENT_ADDR_TYPE: u32 = 4; // u32
export const SFLOW_SAMPLES: u32 = 8;        // u32: sample count
export const SFLOW_AGENT_OFF: u32 = 12;     // u32: agent address offset from the layer start (8)
export const SFLOW_FLOW_SAMPLES: u32 = 16;    // u32: flow samples (1, 3) parsed
export const SFLOW_COUNTER_SAMPLES: u32 = 20; // u32: counter samples (2, 4) parsed

let cur: usize = 0;
let end: usize = 0;

/** Consumes n bytes; false (a Go slice panic) when fewer are left. */
@inline function take(n: u32): bool {
  if (<usize>n > end - cur) return false;
  cur += n;
  return true;
}

/** Reads a u32 and consumes it; returns false through ok when short. */
let ok = true;
@inline function u32at(): u32 {
  if (end - cur < 4) { ok = false; return 0; }
  const v = rd32(cur);
  cur += 4;
  return v;
}

/** XDR opaque/string of length n padded to 4 with uint32 arithmetic. */
function takePadded(n: u32): bool {
  const padded = n + ((4 - n) % 4); // u32 wrap as in Go
  if (padded < n) return false;      // wrapped: the [:n] slice panics
  return take(padded);
}

/** gopacket skipRecord: length at +4, int arithmetic (len > 4 rounds down). */
function skipRecord(): bool {
  if (end - cur < 8) return false;
  const r = <u64>rd32(cur + 4);
  let skip: u64;
  if (r == 0) skip = 0;
  else if (r < 4) skip = 4;
  else skip = r - (r & 3);
  skip += 8;
  if (skip > <u64>(end - cur)) return false;
  cur += <usize>skip;
  return true;
}

/** SFlowIPType.Length(): 1 -> 4, 2 -> 16, other -> 0. */
@inline function ipLen(t: u32): u32 { return t == 1 ? 4 : t == 2 ? 16 : 0; }

function flowRecord(): bool {
  if (end - cur < 4) return false; // every path below slices [4:] first
  const fmt = rd32(cur);
  const ent = fmt >> 12;
  const type = fmt & 0xfff;
  if (ent != 0) return skipRecord();
  switch (type) {
    case 1: { // raw packet header
      if (!take(20)) return false;
      ok = true;
      const hl = u32at();
      if (!ok) return false;
      return takePadded(hl);
    }
    case 2: return take(32);   // Ethernet frame: 8 + 4 + 8 + 8 + 4
    case 3: return take(32);   // IPv4 (no own record header)
    case 4: return take(56);   // IPv6 (no own record header)
    case 1001: return take(24); // extended switch
    case 1002: { // extended router
      if (!take(8)) return false;
      ok = true;
      const t = u32at();
      if (!ok) return false;
      return take(ipLen(t) + 8);
    }
    case 1003: { // extended gateway
      if (!take(8)) return false;
      ok = true;
      const t = u32at();
      if (!ok || !take(ipLen(t) + 12)) return false;
      const paths = u32at();
      if (!ok) return false;
      for (let i: u32 = 0; i < paths; i++) {
        u32at(); // segment type
        const count = u32at();
        if (!ok) return false;
        if (<u64>count * 4 > <u64>(end - cur)) return false;
        cur += <usize>count * 4;
      }
      const communities = u32at();
      if (!ok) return false;
      if (<u64>communities * 4 > <u64>(end - cur)) return false;
      cur += <usize>communities * 4;
      return take(4); // local pref
    }
    case 1004: { // extended user
      if (!take(12)) return false;
      ok = true;
      const srcLen = u32at();
      if (!ok || !takePadded(srcLen) || !take(4)) return false;
      const dstLen = u32at();
      if (!ok) return false;
      return takePadded(dstLen);
    }
    case 1005: { // extended URL
      if (!take(12)) return false;
      ok = true;
      const urlLen = u32at();
      if (!ok || !takePadded(urlLen)) return false;
      const hostLen = u32at();
      if (!ok) return false;
      return takePadded(hostLen);
    }
    case 1023: case 1024: return take(40); // IPv4 tunnel egress / ingress
    case 1025: case 1026: return take(64); // IPv6 tunnel egress / ingress
    case 1027: case 1028: case 1029: case 1030: return take(12); // decap / VNI
  }
  return false; // 1006..1012 (skipped then an error) and unknown types
}

function counterRecord(): bool {
  if (end - cur < 4) return false;
  const type = rd32(cur) & 0xfff;
  switch (type) {
    case 1: return take(96);    // generic interface
    case 2: return take(60);    // Ethernet
    case 5: return take(36);    // VLAN
    case 7: return take(64);    // LACP
    case 1001: return take(36); // processor
    case 1004: return take(20); // OpenFlow port
    case 1005: { // port name
      if (!take(8)) return false;
      ok = true;
      const n = u32at();
      if (!ok) return false;
      return takePadded(n);
    }
    case 2202: return take(48); // app resources
    case 2207: return take(32); // OVS DP
  }
  return false;
}

export function decodeSFlow(s: usize, e: usize): i32 {
  cur = s;
  end = e;
  ok = true;
  const version = u32at();
  const addrType = u32at();
  if (!ok || !take(ipLen(addrType) + 12)) return -1;
  const n = u32at();
  if (!ok || n < 1) return -1;
  let flows: u32 = 0, counters: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    if (end - cur < 4) return -1;
    const st = rd32(cur) & 0xfff;
    let records: u32 = 0;
    if (st == 1 || st == 3) {
      // format, length, sequence, source (4 | 8), rate, pool, drops,
      // interfaces (8 | 16), record count
      if (!take(st == 1 ? 40 : 52)) return -1;
      records = rd32(cur - 4);
      for (let r: u32 = 0; r < records; r++) if (!flowRecord()) return -1;
      flows++;
    } else if (st == 2 || st == 4) {
      // format, length, sequence, source (4 | 8), record count
      if (!take(st == 2 ? 20 : 24)) return -1;
      records = rd32(cur - 4);
      for (let r: u32 = 0; r < records; r++) if (!counterRecord()) return -1;
      counters++;
    } else {
      return -1;
    }
  }
  const i = pushLayer(L_SFLOW, s, 0, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u32>(f + SFLOW_VERSION, version);
  store<u32>(f + SFLOW_AGENT_ADDR_TYPE, addrType);
  store<u32>(f + SFLOW_SAMPLES, n);
  store<u32>(f + SFLOW_AGENT_OFF, 8);
  store<u32>(f + SFLOW_FLOW_SAMPLES, flows);
  store<u32>(f + SFLOW_COUNTER_SAMPLES, counters);
  return L_NONE;
}
