// IEEE 802.1Q / 802.1ad VLAN tag (gopacket layers/dot1q.go semantics).
//
//  0     3 4           16              32
//  +-----+-+-----------+---------------+
//  | PCP |D|  VLAN ID  | inner type    |
//  +-----+-+-----------+---------------+
// Both 0x8100 and 0x88A8 (QinQ) lead here; tags stack to any depth, bounded
// only by the layer table. An inner type without a decoder ends decoding
// quietly (gopacket returns LayerTypeZero there, not an error).

import { L_DOT1Q, L_NONE } from '../ids';
import { rd16 } from '../mem';
import { fieldsOf, markTruncated, pushLayer } from '../packet';
import { etherTypeDecoder, NO_DECODER } from '../registry';

export const DOT1Q_VLAN: u32 = 0; // u16: 12-bit VLAN identifier
export const DOT1Q_TYPE: u32 = 2; // u16: inner EtherType

export function decodeDot1Q(s: usize, e: usize): i32 {
  if (e - s < 4) { markTruncated(); return -1; }
  const i = pushLayer(L_DOT1Q, s, 4, <u32>(e - s) - 4);
  if (i < 0) return -1;
  const type = rd16(s + 2);
  const f = fieldsOf(<u32>i);
  store<u16>(f + DOT1Q_VLAN, <u16>(rd16(s) & 0x0fff));
  store<u16>(f + DOT1Q_TYPE, <u16>type);
  const next = etherTypeDecoder(type);
  return next == NO_DECODER ? L_NONE : <i32>next;
}
