// The decoded form of one packet: gopacket's ordered layer list, kept in a
// static table of fixed-size records so that decoding allocates nothing.
//
// Record layout (LREC bytes each):
//   +0  type u8          layer id (ids.ts)
//   +1  flags u8         per-decoder bits (e.g. "addresses were parsed")
//   +4  start u32        address of the layer's first byte (its Contents)
//   +8  contents u32     header length (gopacket LayerContents)
//   +12 payload u32      payload length (gopacket LayerPayload), starting at start+contents
//   +16 fields[48]       per-protocol fields, layout in each layers/*.ts file
// Addresses are absolute because a reassembled IPv4 datagram (defrag.ts) lives
// in its own buffer while its outer layers stay in the frame.

import { L_DECODE_FAILURE } from './ids';

export const MAX_LAYERS: u32 = 64;
export const LREC: u32 = 64;
export const F: u32 = 16;

const layerTable = memory.data(<i32>(MAX_LAYERS * LREC));

/** Number of layers decoded so far. */
export let nLayers: u32 = 0;
/** gopacket's first link / network / transport layer index, or -1. */
export let linkLayer: i32 = -1;
export let networkLayer: i32 = -1;
export let transportLayer: i32 = -1;
/** A length field claimed more bytes than were captured. */
export let truncated: bool = false;
/** The decode stopped on an error (a DecodeFailure layer ends the list). */
export let failed: bool = false;
/** Bounds of the data the next decoder will see. */
export let nextStart: usize = 0;
export let nextEnd: usize = 0;

export function resetPacket(): void {
  nLayers = 0;
  linkLayer = -1;
  networkLayer = -1;
  transportLayer = -1;
  truncated = false;
  failed = false;
}

@inline export function rec(i: u32): usize { return layerTable + <usize>(i * LREC); }
@inline export function layerType(i: u32): u8 { return load<u8>(rec(i)); }
@inline export function layerFlags(i: u32): u8 { return load<u8>(rec(i), 1); }
@inline export function layerStart(i: u32): usize { return <usize>load<u32>(rec(i), 4); }
@inline export function layerContents(i: u32): u32 { return load<u32>(rec(i), 8); }
@inline export function layerPayload(i: u32): u32 { return load<u32>(rec(i), 12); }
@inline export function fieldsOf(i: u32): usize { return rec(i) + F; }

/**
 * Appends a layer of `contents` header bytes at `start` followed by `payload`
 * bytes, clears its fields, and points the next decoder at that payload.
 * Returns the layer index, or -1 when the table is full (the caller stops).
 */
export function pushLayer(type: u8, start: usize, contents: u32, payload: u32): i32 {
  if (nLayers >= MAX_LAYERS) return -1;
  const r = rec(nLayers);
  // The header words, then the 48 field bytes cleared with plain stores (a
  // memory.fill is a call into the engine, once per layer).
  store<u32>(r, <u32>type);
  store<u32>(r, <u32>start, 4);
  store<u32>(r, contents, 8);
  store<u32>(r, payload, 12);
  store<u64>(r, 0, 16);
  store<u64>(r, 0, 24);
  store<u64>(r, 0, 32);
  store<u64>(r, 0, 40);
  store<u64>(r, 0, 48);
  store<u64>(r, 0, 56);
  nextStart = start + contents;
  nextEnd = nextStart + payload;
  return <i32>(nLayers++);
}

@inline export function setFlags(i: i32, f: u8): void { store<u8>(rec(<u32>i), load<u8>(rec(<u32>i), 1) | f, 1); }

/** Shrinks or moves the payload of layer i (e.g. IPv4 cutting to its total length). */
export function setPayload(i: i32, payload: u32): void {
  const r = rec(<u32>i);
  store<u32>(r, payload, 12);
  nextStart = <usize>load<u32>(r, 4) + load<u32>(r, 8);
  nextEnd = nextStart + payload;
}

/** Sets the header and payload lengths of layer i once they are known. */
export function setHeader(i: i32, contents: u32, payload: u32): void {
  store<u32>(rec(<u32>i), contents, 8);
  setPayload(i, payload);
}

/** Points the next decoder at [s, e) without adding a layer (ERSPAN II, guessers). */
export function setNext(s: usize, e: usize): void { nextStart = s; nextEnd = e; }

// gopacket keeps the first layer that declared itself link/network/transport.
@inline export function setLinkLayer(i: i32): void { if (linkLayer < 0) linkLayer = i; }
@inline export function setNetworkLayer(i: i32): void { if (networkLayer < 0) networkLayer = i; }
@inline export function setTransportLayer(i: i32): void { if (transportLayer < 0) transportLayer = i; }
export function markTruncated(): void { truncated = true; }

/** Ends the layer list with a DecodeFailure over [s, e), as gopacket does on an error. */
export function pushFailure(s: usize, e: usize): void {
  failed = true;
  if (nLayers >= MAX_LAYERS) {
    // Keep the failure visible even when the table is full: overwrite the last slot.
    nLayers = MAX_LAYERS - 1;
  }
  pushLayer(L_DECODE_FAILURE, s, <u32>(e - s), 0);
}

/** First layer of `type` in [from, to), or -1. */
export function findLayer(type: u8, from: u32, to: u32): i32 {
  for (let i = from; i < to; i++) if (load<u8>(rec(i)) == type) return <i32>i;
  return -1;
}


