// Ethernet II and IEEE 802.3 (gopacket layers/ethernet.go semantics).
//
//  0                   6                   12      14
//  +-------------------+-------------------+-------+----------
//  | destination MAC   | source MAC        | type  | payload
//  +-------------------+-------------------+-------+----------
// A type below 0x0600 is an 802.3 length: the payload is LLC and is cut to
// that length (the rest is padding), or the frame is marked truncated.

import { L_ETHERNET, L_LLC, L_NONE } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, layerContents, layerPayload, markTruncated, pushLayer, setLinkLayer } from '../packet';
import { etherTypeDecoder, NO_DECODER } from '../registry';

/** Field offsets (from fieldsOf). */
export const ETH_TYPE: u32 = 0;   // u16: EtherType, 0 for 802.3/LLC
export const ETH_LENGTH: u32 = 2; // u16: 802.3 length field, 0 for Ethernet II
/** MACs are read in place: destination at +0, source at +6 of the layer start. */
export const ETH_DST_OFF: u32 = 0;
export const ETH_SRC_OFF: u32 = 6;

/**
 * Whether Ethernet layer i holds its MACs. Skydive's ERSPAN-II and MPLS
 * decoders (erspan.ts decodeSkydiveEthernet) keep an Ethernet layer of fewer
 * than 14 bytes, with 0 header bytes here: its MACs are gopacket's nil
 * addresses (empty text, nothing hashed), and the bytes at its start are not
 * its own (they may lie past the end of the packet).
 */
@inline export function ethHasMACs(i: u32): bool { return layerContents(i) != 0; }

/**
 * Pushes the Ethernet layer of the `len` (at least 14) bytes at `s`, with its
 * fields: an 802.3 length cuts the payload to it. Its index, or -1.
 */
@inline export function pushEthernet(s: usize, len: u32): i32 {
  let type = rd16(s + 12);
  let payload = len - 14;
  let length: u32 = 0;
  if (type < 0x0600) {
    length = type;
    type = 0;
    if (payload < length) markTruncated();
    else payload = length;
  }
  const i = pushLayer(L_ETHERNET, s, 14, payload);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u16>(f + ETH_TYPE, <u16>type);
  store<u16>(f + ETH_LENGTH, <u16>length);
  return i;
}

// Inlined: the decode loop runs it without a call (registry.ts decodeLayer).
@inline export function decodeEthernet(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 14) return -1; // error before the layer exists: no Ethernet layer
  const i = pushEthernet(s, len);
  if (i < 0) return -1;
  setLinkLayer(i);
  const type = <u32>load<u16>(fieldsOf(<u32>i) + ETH_TYPE);
  if (type == 0) return L_LLC;
  // gopacket's NextDecoder stops on an empty payload before looking the type up.
  if (layerPayload(<u32>i) == 0) return L_NONE;
  const next = etherTypeDecoder(type);
  return next == NO_DECODER ? -1 : <i32>next; // unknown EtherType: a decode error
}
