// Benchmark entry points (bench/core.ts): the pieces of the per-packet path
// run alone, so that their cost can be told apart from the flow table's.

import { C_BAD_RECORDS, count } from './counters';
import { decodePacket } from './decode';

/**
 * Decodes `n` records of a batch at `base` (processBatch's format) and does
 * nothing else: no defragmentation, no flow. Returns the records consumed.
 */
export function benchDecodeBatch(base: usize, bytes: u32, n: u32): u32 {
  let p = base;
  const end = base + bytes;
  let done: u32 = 0;
  while (done < n && p + 24 <= end) {
    const caplen = load<u32>(p, 8);
    const data = p + 24;
    if (data + caplen > end) { count(C_BAD_RECORDS); break; }
    decodePacket(data, caplen, load<u32>(p, 16));
    p = data + ((caplen + 7) & ~7);
    done++;
  }
  return done;
}
