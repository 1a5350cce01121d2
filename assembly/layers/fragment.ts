// A non-reassembled IP fragment: gopacket's terminal Fragment layer holding
// the whole fragment payload. With defragmentation on (defrag.ts), the
// fragment that completes a datagram has the reassembled layers appended.

import { L_FRAGMENT, L_NONE } from '../ids';
import { pushLayer } from '../packet';

export function decodeFragment(s: usize, e: usize): i32 {
  if (pushLayer(L_FRAGMENT, s, <u32>(e - s), 0) < 0) return -1;
  return L_NONE;
}
