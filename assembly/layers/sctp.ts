// SCTP (RFC 9260) common header and chunks, gopacket v1.1.17 layers/sctp.go.
//
//  Common header (12 bytes):            Chunk:
//  +----------------+----------------+  +------+-------+----------------+
//  | source port    | dest port      |  | type | flags | length         |
//  |        verification tag         |  | value (length - 4 bytes) ...   |
//  |        checksum (CRC32c)        |  | padding to a 4-byte boundary   |
//  +---------------------------------+  +--------------------------------+
//
// gopacket adds the SCTP layer and declares it the transport layer before
// checking anything: fewer than 12 bytes gives an SCTP layer with ports 0,
// then an error (not marked truncated). Each chunk then becomes one layer,
// chosen by its type byte: 0 SCTPData, 1 SCTPInit, 2 SCTPInitAck, 3 SCTPSack,
// 4 SCTPHeartbeat, 5 SCTPHeartbeatAck, 6 SCTPAbort, 7 SCTPShutdown,
// 8 SCTPShutdownAck, 9 SCTPError, 10 SCTPCookieEcho, 11 SCTPCookieAck,
// 14 SCTPShutdownComplete; any other type is an error (gopacket's enum has
// no decoder for it, so SCTPUnknownChunkType never appears).
// A chunk's Contents is its length rounded up to 4 (the padding), its
// Payload the rest of the data: the next chunk. Failures (all without a
// layer): fewer than 4 bytes; length < 4; padded length beyond the data;
// Init/InitAck shorter than 20 or with parameters that do not tile the
// padded chunk; Sack whose gap/duplicate lists overrun the data (they are
// read from the whole rest, not the chunk); Heartbeat(Ack)/Abort/Error
// parameters that do not tile [4, length) when padded; Shutdown < 8 bytes.
// A DATA chunk is special: Contents = its 16-byte header, Payload = the rest
// of the data minus this chunk's padding (later chunks included), decoded as
// Payload: nothing after a DATA chunk becomes a chunk layer.
// Known gap: gopacket slices up to a slice's capacity, so a chunk that
// overruns the IP payload into Ethernet padding can decode there; here the
// data end is always the limit.

import {
  L_NONE, L_PAYLOAD, L_SCTP, L_SCTP_ABORT, L_SCTP_COOKIE_ACK, L_SCTP_COOKIE_ECHO, L_SCTP_DATA, L_SCTP_ERROR,
  L_SCTP_HEARTBEAT, L_SCTP_HEARTBEAT_ACK, L_SCTP_INIT, L_SCTP_INIT_ACK, L_SCTP_SACK, L_SCTP_SHUTDOWN,
  L_SCTP_SHUTDOWN_ACK, L_SCTP_SHUTDOWN_COMPLETE, L_SCTP_UNKNOWN,
} from '../ids';
import { rd16, rd32 } from '../mem';
import { fieldsOf, pushLayer, setFlags, setTransportLayer } from '../packet';
import { PORTS_PARSED } from './fields';

/** SCTP common header fields. */
export const SCTP_SRC: u32 = 0;       // u16
export const SCTP_DST: u32 = 2;       // u16
export const SCTP_VTAG: u32 = 4;      // u32: verification tag
export const SCTP_CHECKSUM: u32 = 8;  // u32

/** Chunk fields (every chunk layer). */
export const SCTPC_TYPE: u32 = 0;     // u8
export const SCTPC_FLAGS: u32 = 1;    // u8
export const SCTPC_LENGTH: u32 = 2;   // u16: length field (unpadded)
/** SCTPData. */
export const SCTPC_TSN: u32 = 4;      // u32
export const SCTPC_STREAM: u32 = 8;   // u16: stream identifier
export const SCTPC_SSN: u32 = 10;     // u16: stream sequence number
export const SCTPC_PPID: u32 = 12;    // u32: payload protocol identifier
/** SCTPInit / SCTPInitAck. */
export const SCTPC_INIT_TAG: u32 = 4;      // u32: initiate tag
export const SCTPC_INIT_TSN: u32 = 8;      // u32: initial TSN
/** SCTPSack / SCTPShutdown. */
export const SCTPC_CUM_TSN: u32 = 4;       // u32: cumulative TSN ack

/** Layer id for chunk type t (L_SCTP_UNKNOWN: no gopacket decoder, an error). */
function chunkId(t: u32): u8 {
  switch (t) {
    case 0: return L_SCTP_DATA;
    case 1: return L_SCTP_INIT;
    case 2: return L_SCTP_INIT_ACK;
    case 3: return L_SCTP_SACK;
    case 4: return L_SCTP_HEARTBEAT;
    case 5: return L_SCTP_HEARTBEAT_ACK;
    case 6: return L_SCTP_ABORT;
    case 7: return L_SCTP_SHUTDOWN;
    case 8: return L_SCTP_SHUTDOWN_ACK;
    case 9: return L_SCTP_ERROR;
    case 10: return L_SCTP_COOKIE_ECHO;
    case 11: return L_SCTP_COOKIE_ACK;
    case 14: return L_SCTP_SHUTDOWN_COMPLETE;
  }
  return L_SCTP_UNKNOWN;
}

/** Next chunk decoder for the data [s, e) after a chunk or the common header. */
@inline function nextChunk(s: usize, e: usize): i32 {
  return s < e ? <i32>chunkId(<u32>load<u8>(s)) : <i32>L_NONE;
}

export function decodeSCTP(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 12) {
    const j = pushLayer(L_SCTP, s, 0, 0);
    if (j >= 0) setTransportLayer(j);
    return -1;
  }
  const i = pushLayer(L_SCTP, s, 12, len - 12);
  if (i < 0) return -1;
  setTransportLayer(i);
  const f = fieldsOf(<u32>i);
  store<u16>(f + SCTP_SRC, <u16>rd16(s));
  store<u16>(f + SCTP_DST, <u16>rd16(s + 2));
  setFlags(i, PORTS_PARSED);
  store<u32>(f + SCTP_VTAG, rd32(s + 4));
  store<u32>(f + SCTP_CHECKSUM, rd32(s + 8));
  return nextChunk(s + 12, e);
}

/** gopacket's parameter walk: each parameter padded to 4 must fit what is left of [p, end). */
function paramsOK(p: usize, end: usize): bool {
  while (p < end) {
    const rem = <u32>(end - p);
    if (rem < 4) return false;
    const length = rd16(p + 2);
    if (length < 4) return false;
    const padded = (length + 3) & ~3;
    if (padded > rem) return false;
    p += padded;
  }
  return true;
}

/** One chunk layer over [s, e); its type byte picks the layer. */
export function decodeSCTPChunk(s: usize, e: usize): i32 {
  if (s >= e) return L_NONE;
  const len = <u32>(e - s);
  const t = <u32>load<u8>(s);
  const id = chunkId(t);
  if (id == L_SCTP_UNKNOWN) return -1;
  if (len < 4) return -1;
  const length = rd16(s + 2);
  if (length < 4) return -1;
  const padded = (length + 3) & ~3;
  if (id == L_SCTP_DATA) {
    const delta = padded - length;
    if (len < 16 || len - delta < 16) return -1;
    const i = pushLayer(L_SCTP_DATA, s, 16, len - delta - 16);
    if (i < 0) return -1;
    const f = fieldsOf(<u32>i);
    store<u8>(f + SCTPC_TYPE, <u8>t);
    store<u8>(f + SCTPC_FLAGS, load<u8>(s + 1));
    store<u16>(f + SCTPC_LENGTH, <u16>length);
    store<u32>(f + SCTPC_TSN, rd32(s + 4));
    store<u16>(f + SCTPC_STREAM, <u16>rd16(s + 8));
    store<u16>(f + SCTPC_SSN, <u16>rd16(s + 10));
    store<u32>(f + SCTPC_PPID, rd32(s + 12));
    return len - delta > 16 ? <i32>L_PAYLOAD : <i32>L_NONE;
  }
  if (padded > len) return -1;
  switch (id) {
    case L_SCTP_INIT: case L_SCTP_INIT_ACK:
      if (padded < 20) return -1;
      if (!paramsOK(s + 20, s + padded)) return -1;
      break;
    case L_SCTP_SACK: {
      if (len < 16) return -1;
      const need = <u32>16 + rd16(s + 12) * 2 + rd16(s + 14) * 4;
      if (need > len) return -1;
      break;
    }
    case L_SCTP_HEARTBEAT: case L_SCTP_HEARTBEAT_ACK: case L_SCTP_ABORT: case L_SCTP_ERROR:
      if (!paramsOK(s + 4, s + length)) return -1;
      break;
    case L_SCTP_SHUTDOWN:
      if (len < 8) return -1;
      break;
  }
  const i = pushLayer(id, s, padded, len - padded);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + SCTPC_TYPE, <u8>t);
  store<u8>(f + SCTPC_FLAGS, load<u8>(s + 1));
  store<u16>(f + SCTPC_LENGTH, <u16>length);
  if (id == L_SCTP_INIT || id == L_SCTP_INIT_ACK) {
    store<u32>(f + SCTPC_INIT_TAG, rd32(s + 4));
    store<u32>(f + SCTPC_INIT_TSN, rd32(s + 16));
  } else if (id == L_SCTP_SACK || id == L_SCTP_SHUTDOWN) {
    store<u32>(f + SCTPC_CUM_TSN, rd32(s + 4));
  }
  return nextChunk(s + padded, e);
}
