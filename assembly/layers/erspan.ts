// ERSPAN (draft-foschiano-erspan-03), as Skydive decodes it.
//
// Type II, GRE protocol 0x88BE with the S bit (8-byte header):
//  0       4                16    19 21 22        32
//  +-------+----------------+-----+--+-+----------+
//  |  Ver  |      VLAN      | COS |En|T|Session ID|
//  +-------+----------------+-----+--+-+----------+
//  |      Reserved          |        Index        |
//  +------------------------+---------------------+
// Type I: GRE 0x88BE without the S bit and no ERSPAN header at all.
// Type III: GRE 0x22EB, 12-byte header (+8-byte platform sub-header when the
// O bit, the last bit of byte 11, is set), frame type in bits 6..10 of byte 10.
//
// Skydive (flow/decoder.go) registers its own decoder on EtherType 0x88BE and
// it replaces gopacket's ERSPAN handling:
// - it adds NO ERSPAN layer: it decodes an Ethernet layer from data[8:]
//   (fewer than 8 bytes panics: DecodeFailure, no layer);
// - that Ethernet layer is added even when it is shorter than 14 bytes (then
//   empty, followed by the DecodeFailure), and it is not made the packet's
//   link layer (no SetLinkLayer);
// - the next layer comes from the Ethernet's EtherType (an unknown type is an
//   error, below 0x0600 it is 802.3/LLC with the payload cut to the length).
// So every 0x88BE payload is treated as type II: type I frames lose their
// first 8 bytes (tcpdump/erspan-type-i-1.pcap gives Ethernet/LLC + failure),
// and type III (0x22EB) is an unknown GRE protocol: GRE ends the decoding and
// Skydive then crashes on the empty inner packet. We decode type III through
// decodeERSPAN3 (header skipped, no layer, the inner frame decoded as Ethernet
// when its frame type is 0); see docs/compat.md.
//
// Option, off by default: setERSPANTypeI(true) makes GRE decode type I as
// plain Ethernet.

import * as ids from '../ids';
import { L_ETHERNET, L_LLC, L_NONE } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, layerPayload, pushLayer, setNext } from '../packet';
import { etherTypeDecoder, NO_DECODER } from '../registry';
import { ETH_TYPE, pushEthernet } from './ethernet';

/** Decode ERSPAN type I as type I (GRE reads it); off = Skydive's behaviour. */
export let erspanTypeI: bool = false;
export function setERSPANTypeI(on: bool): void { erspanTypeI = on; }


/** Skydive's decodeERSpanIILayer. */
export function decodeERSPAN2(s: usize, e: usize): i32 {
  if (e - s < 8) return -1;
  return decodeSkydiveEthernet(s + 8, e);
}

/**
 * ERSPAN type III: skips the 12-byte header and, with the O bit, the
 * 8-byte platform-specific sub-header; frame type 0 is Ethernet, any other
 * frame type ends the decoding. A header longer than the data is an error.
 */
export function decodeERSPAN3(s: usize, e: usize): i32 {
  if (e - s < 12) return -1;
  const b11 = <u32>load<u8>(s + 11);
  const hlen: u32 = (b11 & 1) != 0 ? 20 : 12;
  if (<u32>(e - s) < hlen) return -1;
  const frameType = (rd16(s + 10) >> 10) & 0x1f;
  if (frameType != 0) return L_NONE;
  setNext(s + hlen, e);
  return <i32>L_ETHERNET;
}

/**
 * Skydive's "decode data as Ethernet" step, shared by ERSPAN-II and the MPLS
 * fallback: gopacket's Ethernet.DecodeFromBytes, then AddLayer whatever the
 * result, no SetLinkLayer, then NextDecoder(NextLayerType()).
 */
export function decodeSkydiveEthernet(s: usize, e: usize): i32 {
  const len = <u32>(e - s);
  if (len < 14) {
    pushLayer(L_ETHERNET, s, 0, 0); // the empty layer gopacket keeps
    return -1;
  }
  const i = pushEthernet(s, len);
  if (i < 0) return -1;
  const type = <u32>load<u16>(fieldsOf(<u32>i) + ETH_TYPE);
  if (type == 0) return L_LLC;
  const next = etherTypeDecoder(type);
  if (next != NO_DECODER) return <i32>next;
  // LayerTypeZero's decoder errors, but NextDecoder skips an empty payload.
  return layerPayload(<u32>i) > 0 ? -1 : L_NONE;
}
