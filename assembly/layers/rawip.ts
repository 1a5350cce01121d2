// Entry decoders for captures without a link layer.

import { D_IPV6_RAW, L_ARP, L_IPV4, L_IPV6 } from '../ids';
import { setNext } from '../packet';

/** gopacket's LinkTypeRaw (101, 12, 14): the version nibble picks IPv4 or IPv6, anything else is an error. */
export function decodeIPByVersion(s: usize, e: usize): i32 {
  if (s >= e) return -1;
  const v = load<u8>(s) >> 4;
  setNext(s, e);
  if (v == 4) return L_IPV4;
  if (v == 6) return L_IPV6;
  return -1;
}

/** Skydive's LayerTypeRawIP (tunnel interfaces): IPv4/IPv6 by nibble, else ARP. */
export function decodeRawIP(s: usize, e: usize): i32 {
  if (s >= e) return -1;
  const v = load<u8>(s) >> 4;
  setNext(s, e);
  if (v == 4) return L_IPV4;
  if (v == 6) return D_IPV6_RAW;
  return L_ARP;
}

/** LINKTYPE_IPV4 (228): an IPv4 packet, or a decode error when the version says otherwise. */
export function decodeIPv4Link(s: usize, e: usize): i32 {
  if (s >= e || load<u8>(s) >> 4 != 4) return -1;
  setNext(s, e);
  return L_IPV4;
}

/** LINKTYPE_IPV6 (229): an IPv6 packet, or a decode error when the version says otherwise. */
export function decodeIPv6Link(s: usize, e: usize): i32 {
  if (s >= e || load<u8>(s) >> 4 != 6) return -1;
  setNext(s, e);
  return L_IPV6;
}
