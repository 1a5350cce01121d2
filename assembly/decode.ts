// The decoding loop: runs decoders in turn over one frame until one stops,
// fails, or the payload is empty (gopacket's eager DecodingLayer chain).
// Two guards that gopacket leaves to Go's panic recovery are enforced here:
// a cap on layers (MAX_LAYERS) and on steps, so no input can loop or overrun.

import { C_DECODE_FAILURES, C_TOO_MANY_LAYERS, C_TRUNCATED, C_UNKNOWN_LINKTYPE, count } from './counters';
import { L_NONE } from './ids';
import { failed, MAX_LAYERS, networkLayer, nextEnd, nextStart, nLayers, pushFailure, resetPacket, truncated } from './packet';
import { decodeLayer, linkTypeDecoder, NO_DECODER } from './registry';
import { D_MPLS_ETH_FALLBACK } from './ids';
import { popMPLSFallback, resetMPLSFallbacks } from './layers/mpls';

const MAX_STEPS: u32 = MAX_LAYERS * 2;

/**
 * Stop as soon as a layer declared itself gopacket's network layer: all the
 * sharding step needs (shard.ts), at a fraction of a full decode. Such a
 * decode counts nothing: with several workers, every packet is decoded that
 * way to route it and then again, fully, by the worker that owns it, whose
 * decode alone counts (each counter counts each packet once whatever the
 * number of workers).
 */
let stopAtNetwork = false;
export function setStopAtNetwork(on: bool): void { stopAtNetwork = on; }

/** Counts a decode event, unless this is the sharding step's decode. */
@inline function event(c: u32): void { if (!stopAtNetwork) count(c); }

/** Decodes the frame at [data, data+caplen) captured with `linkType` into the layer table. */
export function decodePacket(data: usize, caplen: u32, linkType: u32): void {
  resetPacket();
  const first = linkTypeDecoder(linkType);
  if (first == NO_DECODER) {
    event(C_UNKNOWN_LINKTYPE);
    pushFailure(data, data + caplen);
    event(C_DECODE_FAILURES);
    return;
  }
  decodeFrom(first, data, data + caplen);
}

/** Runs the chain from decoder `id` over [s, e), appending to the current layer table. */
export function decodeFrom(id: u8, s: usize, e: usize): void {
  let steps: u32 = 0;
  let start = true;
  resetMPLSFallbacks();
  while (true) {
    // gopacket stops quietly when a layer leaves no payload (NextDecoder on
    // empty data), but the first decoder always runs, even on nothing.
    if (!start && s >= e) break;
    start = false;
    if (nLayers >= MAX_LAYERS - 1 || ++steps > MAX_STEPS) {
      event(C_TOO_MANY_LAYERS);
      pushFailure(s, e);
      break;
    }
    const next = decodeLayer(id, s, e);
    if (next < 0) {
      // Skydive's MPLS payload guesser retries a failed IP chain as Ethernet.
      if (popMPLSFallback()) { id = D_MPLS_ETH_FALLBACK; s = nextStart; e = nextEnd; continue; }
      pushFailure(s, e);
      break;
    }
    if (next == L_NONE || (stopAtNetwork && networkLayer >= 0)) break;
    id = <u8>next;
    s = nextStart;
    e = nextEnd;
  }
  if (failed) event(C_DECODE_FAILURES);
  if (truncated) event(C_TRUNCATED);
}
