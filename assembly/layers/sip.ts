// SIP over UDP 5060 (RFC 3261; gopacket layers/sip.go semantics, v1.1.17).
//
//   INVITE sip:bob@example.com SIP/2.0\r\n      request line, or
//   SIP/2.0 200 OK\r\n                          status line
//   Header-Name: value\r\n                      headers (continuation lines
//    continued value\r\n                         start with SP or HTAB)
//   \r\n                                        blank line
//   body ...                                    (SDP, ...)
//
// The parser of v1.1.17 (before the 2019-10 rewrite that set Contents):
// * it first strips every '\n' from both ends of the data;
// * it reads '\n'-terminated lines; a last line without '\n' is never parsed
//   (so the final header of a message without body is skipped);
// * each line is trimmed of '\r'/'\n' on both sides; an empty line ends the
//   headers, and the rest (after the stripped trailing '\n's) is the Payload;
// * first line: split on ' ' into at most 3 parts, fewer than 3 is an error.
//   If part 1 starts with "SIP" (case-sensitive) it is a response: part 1
//   must be SIP/1.0 or SIP/2.0 and part 2 a Go int (strconv.Atoi). Otherwise
//   part 1 must be a known method and part 3 (the rest of the line) a
//   version. Method and version compare after Go's strings.ToUpper, which
//   also maps U+017F to 'S' and U+0131 to 'I';
// * header lines starting with SP/HTAB append to the previous header: with
//   no previous "name:" header that indexes an empty slice (panic, error);
//   lines without ':' are ignored; "cseq" (name lower-cased, trimmed of
//   spaces) whose value holds a space needs an int64 before the first space
//   and, in a response, a known method after it; "content-length" needs the
//   whole value (trimmed of spaces only) to be an int64;
// * every failure comes before the layer exists. On success Contents is
//   EMPTY (never set in v1.1.17) and Payload is the body; the record keeps
//   0/0 lengths and the body position is in SIP_BODY_OFF/SIP_BODY_LEN.
// decodeSIP never calls NextDecoder: SIP is terminal.

import { L_NONE, L_SIP } from '../ids';
import { fieldsOf, pushLayer } from '../packet';

export const SIP_IS_RESPONSE: u32 = 0; // u8: 1 for a status line
export const SIP_METHOD: u32 = 1;      // u8: gopacket SIPMethod (1 INVITE .. 15 PING), 0 if none
export const SIP_VERSION: u32 = 2;     // u8: 1 (SIP/1.0) or 2 (SIP/2.0)
export const SIP_HAS_BODY: u32 = 3;    // u8: 1 when a blank line was met (gopacket Payload set)
export const SIP_BODY_OFF: u32 = 4;    // u32: body offset from the layer start
export const SIP_BODY_LEN: u32 = 8;    // u32: body length (gopacket LayerPayload length)
export const SIP_LINES: u32 = 12;      // u32: lines parsed (request/status line included)

// Per-decode state (the decoder never recurses; module globals avoid allocation).
let isResponse = false;
let method: u32 = 0;
let version: u32 = 0;
let haveHeader = false;

const METHODS = memory.data<u8>([
  // length-prefixed, in gopacket's SIPMethod order (1..15)
  6, 0x49, 0x4e, 0x56, 0x49, 0x54, 0x45,             // INVITE
  3, 0x41, 0x43, 0x4b,                               // ACK
  3, 0x42, 0x59, 0x45,                               // BYE
  6, 0x43, 0x41, 0x4e, 0x43, 0x45, 0x4c,             // CANCEL
  7, 0x4f, 0x50, 0x54, 0x49, 0x4f, 0x4e, 0x53,       // OPTIONS
  8, 0x52, 0x45, 0x47, 0x49, 0x53, 0x54, 0x45, 0x52, // REGISTER
  5, 0x50, 0x52, 0x41, 0x43, 0x4b,                   // PRACK
  9, 0x53, 0x55, 0x42, 0x53, 0x43, 0x52, 0x49, 0x42, 0x45, // SUBSCRIBE
  6, 0x4e, 0x4f, 0x54, 0x49, 0x46, 0x59,             // NOTIFY
  7, 0x50, 0x55, 0x42, 0x4c, 0x49, 0x53, 0x48,       // PUBLISH
  4, 0x49, 0x4e, 0x46, 0x4f,                         // INFO
  5, 0x52, 0x45, 0x46, 0x45, 0x52,                   // REFER
  7, 0x4d, 0x45, 0x53, 0x53, 0x41, 0x47, 0x45,       // MESSAGE
  6, 0x55, 0x50, 0x44, 0x41, 0x54, 0x45,             // UPDATE
  4, 0x50, 0x49, 0x4e, 0x47,                         // PING
  0,
]);

/**
 * True when strings.ToUpper(bytes [p, p+n)) equals the upper-case ASCII
 * literal at lit (length ln): ASCII letters fold, and the two non-ASCII
 * runes whose upper case is ASCII ('ſ' U+017F -> S, 'ı' U+0131 -> I) match.
 */
function upperEquals(p: usize, n: u32, lit: usize, ln: u32): bool {
  let i: u32 = 0;
  let j: u32 = 0;
  while (j < ln) {
    if (i >= n) return false;
    const c = <u32>load<u8>(lit + j);
    let b = <u32>load<u8>(p + i);
    if (b < 0x80) {
      if (b >= 0x61 && b <= 0x7a) b -= 0x20;
      if (b != c) return false;
      i++;
    } else if (i + 1 < n && b == 0xc5 && <u32>load<u8>(p + i + 1) == 0xbf && c == 0x53) {
      i += 2;
    } else if (i + 1 < n && b == 0xc4 && <u32>load<u8>(p + i + 1) == 0xb1 && c == 0x49) {
      i += 2;
    } else {
      return false;
    }
    j++;
  }
  return i == n;
}

const SIP10 = memory.data<u8>([0x53, 0x49, 0x50, 0x2f, 0x31, 0x2e, 0x30]);
const SIP20 = memory.data<u8>([0x53, 0x49, 0x50, 0x2f, 0x32, 0x2e, 0x30]);

/** gopacket GetSIPVersion: 1, 2, or 0 (error). */
function sipVersion(p: usize, n: u32): u32 {
  if (upperEquals(p, n, SIP10, 7)) return 1;
  if (upperEquals(p, n, SIP20, 7)) return 2;
  return 0;
}

/** gopacket GetSIPMethod: 1..15, or 0 (error). */
function sipMethod(p: usize, n: u32): u32 {
  let q = METHODS;
  let id: u32 = 1;
  while (true) {
    const ln = <u32>load<u8>(q);
    if (ln == 0) return 0;
    if (upperEquals(p, n, q + 1, ln)) return id;
    q += 1 + ln;
    id++;
  }
  return 0;
}

const INT64_MAX = memory.data<u8>([0x39, 0x32, 0x32, 0x33, 0x33, 0x37, 0x32, 0x30, 0x33, 0x36, 0x38, 0x35, 0x34, 0x37, 0x37, 0x35, 0x38, 0x30, 0x37]);

/** strconv.ParseInt(s, 10, 64) (and Atoi on 64-bit) succeeds on [p, p+n). */
function isInt64(p: usize, n: u32): bool {
  if (n == 0) return false;
  let i: u32 = 0;
  let neg = false;
  const c0 = <u32>load<u8>(p);
  if (c0 == 0x2b || c0 == 0x2d) { neg = c0 == 0x2d; i = 1; if (n == 1) return false; }
  for (let k = i; k < n; k++) {
    const c = <u32>load<u8>(p + k);
    if (c < 0x30 || c > 0x39) return false;
  }
  while (i < n && load<u8>(p + i) == 0x30) i++;
  const digits = n - i;
  if (digits < 19) return true;
  if (digits > 19) return false;
  for (let k: u32 = 0; k < 19; k++) {
    let lim = <u32>load<u8>(INT64_MAX + k);
    if (k == 18 && neg) lim++; // -9223372036854775808 fits
    const c = <u32>load<u8>(p + i + k);
    if (c != lim) return c < lim;
  }
  return true;
}

/** ParseFirstLine on [p, p+n); false on error. */
function firstLine(p: usize, n: u32): bool {
  let i1: u32 = 0;
  while (i1 < n && load<u8>(p + i1) != 0x20) i1++;
  if (i1 >= n) return false;
  let i2 = i1 + 1;
  while (i2 < n && load<u8>(p + i2) != 0x20) i2++;
  if (i2 >= n) return false;
  if (i1 >= 3 && load<u8>(p) == 0x53 && load<u8>(p + 1) == 0x49 && load<u8>(p + 2) == 0x50) {
    isResponse = true;
    version = sipVersion(p, i1);
    if (version == 0) return false;
    return isInt64(p + i1 + 1, i2 - i1 - 1);
  }
  method = sipMethod(p, i1);
  if (method == 0) return false;
  version = sipVersion(p + i2 + 1, n - i2 - 1);
  return version != 0;
}

/** Case-insensitive ASCII equality with a lower-case literal. */
function lowerEquals(p: usize, n: u32, lit: string): bool {
  if (n != <u32>lit.length) return false;
  for (let i: u32 = 0; i < n; i++) {
    let b = <u32>load<u8>(p + i);
    if (b >= 0x41 && b <= 0x5a) b += 0x20;
    if (b != <u32>lit.charCodeAt(i)) return false;
  }
  return true;
}

/** ParseHeader on a non-empty trimmed line; false on error. */
function header(p: usize, n: u32): bool {
  const c0 = load<u8>(p);
  if (c0 == 0x09 || c0 == 0x20) return haveHeader; // continuation of the previous header
  let colon: u32 = 0;
  while (colon < n && load<u8>(p + colon) != 0x3a) colon++;
  if (colon >= n) return true; // no ':' : ignored
  haveHeader = true;
  // name = Trim(line[:colon], " ")
  let ns: u32 = 0, ne = colon;
  while (ns < ne && load<u8>(p + ns) == 0x20) ns++;
  while (ne > ns && load<u8>(p + ne - 1) == 0x20) ne--;
  // value = Trim(line[colon+1:], " ")
  let vs = colon + 1, ve = n;
  while (vs < ve && load<u8>(p + vs) == 0x20) vs++;
  while (ve > vs && load<u8>(p + ve - 1) == 0x20) ve--;
  if (lowerEquals(p + ns, ne - ns, 'cseq')) {
    let sp = vs;
    while (sp < ve && load<u8>(p + sp) != 0x20) sp++;
    if (sp >= ve) return true; // a single field: nothing parsed
    if (!isInt64(p + vs, sp - vs)) return false;
    if (isResponse) {
      let sp2 = sp + 1;
      while (sp2 < ve && load<u8>(p + sp2) != 0x20) sp2++;
      if (sipMethod(p + sp + 1, sp2 - sp - 1) == 0) return false;
    }
    return true;
  }
  if (lowerEquals(p + ns, ne - ns, 'content-length')) return isInt64(p + vs, ve - vs);
  return true;
}

export function decodeSIP(s: usize, e: usize): i32 {
  isResponse = false;
  method = 0;
  version = 0;
  haveHeader = false;
  // bytes.Trim(data, "\n")
  let a = s, b = e;
  while (a < b && load<u8>(a) == 0x0a) a++;
  while (b > a && load<u8>(b - 1) == 0x0a) b--;
  let p = a;
  let lines: u32 = 0;
  let hasBody = false;
  let bodyOff: usize = 0;
  while (true) {
    let nl = p;
    while (nl < b && load<u8>(nl) != 0x0a) nl++;
    if (nl >= b) break; // io.EOF: the unterminated rest is not parsed
    // bytes.Trim(line, "\r\n") on [p, nl]
    let ls = p, le = nl;
    while (ls < le && (load<u8>(ls) == 0x0d || load<u8>(ls) == 0x0a)) ls++;
    while (le > ls && (load<u8>(le - 1) == 0x0d || load<u8>(le - 1) == 0x0a)) le--;
    p = nl + 1;
    if (le == ls) { hasBody = true; bodyOff = p; break; }
    const ok = lines == 0 ? firstLine(ls, <u32>(le - ls)) : header(ls, <u32>(le - ls));
    if (!ok) return -1;
    lines++;
  }
  const i = pushLayer(L_SIP, s, 0, 0);
  if (i < 0) return -1;
  const f = fieldsOf(<u32>i);
  store<u8>(f + SIP_IS_RESPONSE, isResponse ? 1 : 0);
  store<u8>(f + SIP_METHOD, <u8>method);
  store<u8>(f + SIP_VERSION, <u8>version);
  store<u8>(f + SIP_HAS_BODY, hasBody ? 1 : 0);
  if (hasBody) {
    store<u32>(f + SIP_BODY_OFF, <u32>(bodyOff - s));
    store<u32>(f + SIP_BODY_LEN, <u32>(b - bodyOff));
  }
  store<u32>(f + SIP_LINES, lines);
  return L_NONE;
}
