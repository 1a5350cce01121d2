// Undecoded application data: gopacket's terminal Payload layer. LayersPath
// stops before it.

import { L_NONE, L_PAYLOAD } from '../ids';
import { pushLayer } from '../packet';

export function decodePayload(s: usize, e: usize): i32 {
  if (pushLayer(L_PAYLOAD, s, <u32>(e - s), 0) < 0) return -1;
  return L_NONE;
}
