// The canonical output order of flows, (Start, UUID, ParentUUID, LayersPath)
// as Skydive's golden files list them, as a short byte string: comparing two
// keys byte by byte (memcmp, a strict prefix first; or JS string order of
// their latin1 text) gives exactly the order of the text key
//   Start zero-padded to 20 digits \0 UUID \0 ParentUUID \0 LayersPath
// where the IDs are unpadded lowercase hex, so that "10" < "9".
//
//   bytes 0-8    Start: a tag, then a u64 big-endian (see writeStart)
//   bytes 9-17   UUID: its hex digits left-aligned in a u64 big-endian, then
//                the digit count. Comparing aligned digits decides unless one
//                string is a prefix of the other ("1" and "10" align alike),
//                and then the shorter, with the smaller count, comes first.
//   bytes 18-26  ParentUUID the same way; none is count 0, below any ID
//   bytes 27-    LayersPath: 1 for a leading slash, then one byte per layer,
//                its name's rank among the names (initRanks)
//
// The text key's "\0" separators sort below every character of the fields,
// so the text compares field by field, as these fixed-width fields do. The
// key is SORT_KEY_FIXED + 1 + PATH_MAX bytes at most; padded with zeros to
// SORT_KEY_MAX it keeps its order (0 is below every path byte), for sorting
// fixed-size keys.
import {
  FL_BITS, FL_PARENT, FL_PATH, FL_PATH_LEN, FL_START, FL_UUID, FLB_LEADING_SLASH, FLB_PARENT, PATH_MAX,
} from './layout';
import { layerCount } from '../ids';
import { bytesCompare, wr64 } from '../mem';
import { layerNameAddr, layerNameLen, layerNamesInit } from '../format/names';
import { decimalDigits, hexDigits } from '../format/text';

export const SORT_KEY_FIXED: u32 = 27;
export const SORT_KEY_MAX: u32 = SORT_KEY_FIXED + 1 + PATH_MAX;

/** Path byte of a leading slash, and of an unknown (nameless) layer id. */
const RANK_SLASH: u8 = 1;
/** Tag of a Start >= 0; negative ones get 20 - digit count (1..19), all below it. */
const TAG_NON_NEGATIVE: u8 = 20;

const ranks = memory.data(256);
let ready = false;

/**
 * rank(id) = 2 + the number of layer ids whose name sorts below the name of
 * `id` (equal names, equal ranks). Paths then compare as their joined text
 * does: names hold no "/", and a name that is a prefix of another ("IPv6",
 * "IPv6Fragment") is followed by "/" or by the end, both below the letter or
 * digit that continues the longer one (the one space, in "Linux SLL", follows
 * "Linux", which is not a name), so the shorter sorts first either way. A
 * leading slash sorts below every name. Records only hold ids of ids.ts; an
 * unknown id has no name and shares the slash's byte.
 */
function initRanks(): void {
  layerNamesInit();
  const n = layerCount() < 256 ? layerCount() : 256;
  for (let id: u32 = 0; id < 256; id++) {
    const len = layerNameLen(id);
    let rank: u32 = RANK_SLASH;
    if (len > 0) {
      rank = 2;
      for (let other: u32 = 0; other < n; other++) {
        const olen = layerNameLen(other);
        if (olen > 0 && bytesCompare(layerNameAddr(other), olen, layerNameAddr(id), len) < 0) rank++;
      }
    }
    store<u8>(ranks + id, <u8>rank);
  }
  ready = true;
}

/**
 * Start's text is String(Start) padded to 20 characters with "0": all
 * digits when Start >= 0, else zeros, "-", then the digits. A "-" sorts
 * below every digit, so every negative comes first, those with more digits
 * earlier (their "-" is further left), and among equal lengths the smaller
 * magnitude first: tag (20 - digit count, or 20 when >= 0), then the
 * magnitude or the value.
 */
@inline function writeStart(out: usize, start: i64): void {
  if (start >= 0) {
    store<u8>(out, TAG_NON_NEGATIVE);
    wr64(out + 1, <u64>start);
  } else {
    const mag = <u64>0 - <u64>start;
    store<u8>(out, <u8>(TAG_NON_NEGATIVE - decimalDigits(mag)));
    wr64(out + 1, mag);
  }
}

/** A hex ID as its digits left-aligned in a u64, then the digit count (0 and no digits for none). */
@inline function writeID(out: usize, v: u64, present: bool): void {
  if (!present) {
    store<u64>(out, 0);
    store<u8>(out + 8, 0);
    return;
  }
  const digits = hexDigits(v);
  wr64(out, v << (<u64>(64 - (digits << 2)) & 63));
  store<u8>(out + 8, <u8>digits);
}

/**
 * Writes the sort key of the flow record at `rec` (in the table or emitted)
 * at `out`; returns its length, at most SORT_KEY_MAX.
 */
export function flowSortKeyInto(rec: usize, out: usize): u32 {
  if (!ready) initRanks();
  const bits = <u32>load<u16>(rec + FL_BITS);
  writeStart(out, load<i64>(rec + FL_START));
  writeID(out + 9, load<u64>(rec + FL_UUID), true);
  writeID(out + 18, load<u64>(rec + FL_PARENT), (bits & FLB_PARENT) != 0);
  let p = out + SORT_KEY_FIXED;
  if (bits & FLB_LEADING_SLASH) {
    store<u8>(p, RANK_SLASH);
    p++;
  }
  let pathLen = <u32>load<u8>(rec + FL_PATH_LEN);
  if (pathLen > PATH_MAX) pathLen = PATH_MAX;
  for (let i: u32 = 0; i < pathLen; i++) store<u8>(p + i, load<u8>(ranks + load<u8>(rec + FL_PATH + i)));
  return <u32>(p + pathLen - out);
}
