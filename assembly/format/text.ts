// Text forms of the values in a flow, as Skydive prints them through Go:
// strconv for integers, net.HardwareAddr.String and net.IP.String for
// addresses. Each writer stores bytes at `p` and returns the address just
// past the last one.
//
// No writer checks a bound: the caller reserves the worst case first
// (json.ts jsonFlowBound). The worst cases are: 20 bytes for an i64, 16 for a
// hex u64, 15 for an IPv4 address, 39 for IPv6, 17 for a MAC.

// Powers of ten, for counting digits without a division per digit.
const POW10 = memory.data<u64>([
  1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
  10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000,
  1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000,
  10000000000000000000,
]);

/** Number of decimal digits of `v` (1 for 0). */
@inline export function decimalDigits(v: u64): u32 {
  // From the bit length, with log10(2) ~ 1233/4096, t + 1 is the digit count or one more.
  const x = v | 1; // same digit count, and 0 counts one digit
  const t = (<u32>(64 - clz<u64>(x)) * 1233) >> 12;
  return t + 1 - <u32>(x < load<u64>(POW10 + (<usize>t << 3)));
}

// "00" to "99": two digits per store instead of a division and a remainder
// by 10 each. A static string literal (UTF-16 code units, no allocation).
const DIGIT_PAIRS = '00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899';

/** The two ASCII digits of `r` (0..99) as a little-endian u16, ready to store. */
@inline function digitPair(r: u32): u16 {
  const units = load<u32>(changetype<usize>(DIGIT_PAIRS) + (<usize>r << 2));
  return <u16>((units & 0xff) | ((units >> 8) & 0xff00));
}

/** `v` in decimal, Go strconv.FormatUint(v, 10). */
export function writeU64(p: usize, v: u64): usize {
  if (v < 10) {
    store<u8>(p, <u8>(48 + v));
    return p + 1;
  }
  const end = p + decimalDigits(v);
  let q = end;
  // Eight digits per 64-bit division while the value needs them, then u32 arithmetic.
  while (v > 0xffffffff) {
    const d = v / 100000000;
    let r = <u32>(v - d * 100000000);
    for (let i = 0; i < 4; i++) {
      const r2 = r / 100;
      q -= 2;
      store<u16>(q, digitPair(r - r2 * 100));
      r = r2;
    }
    v = d;
  }
  let w = <u32>v;
  while (w >= 100) {
    const d = w / 100;
    q -= 2;
    store<u16>(q, digitPair(w - d * 100));
    w = d;
  }
  if (w >= 10) store<u16>(q - 2, digitPair(w));
  else store<u8>(q - 1, <u8>(48 + w));
  return end;
}

/** `v` in decimal with its sign, Go strconv.FormatInt(v, 10); int64 min included. */
export function writeI64(p: usize, v: i64): usize {
  if (v >= 0) return writeU64(p, <u64>v);
  store<u8>(p, 0x2d);
  // 0 - v wraps to 2^63 for int64 min, which is its magnitude as a u64.
  return writeU64(p + 1, <u64>0 - <u64>v);
}

@inline function hexDigit(d: u32): u8 {
  return <u8>(d < 10 ? 48 + d : 87 + d);
}

/** Number of hex digits of `v` without leading zeros (1 for 0). */
@inline export function hexDigits(v: u64): u32 {
  return (<u32>(64 - clz<u64>(v | 1)) + 3) >> 2;
}

/** `v` in lowercase hex without padding, Go strconv.FormatUint(v, 16) (Skydive's IDs). */
export function writeHex64(p: usize, v: u64): usize {
  const end = p + hexDigits(v);
  let q = end;
  do {
    q--;
    store<u8>(q, hexDigit(<u32>v & 15));
    v >>= 4;
  } while (q > p);
  return end;
}

/** Dotted quad of the 4 bytes at `a`. */
export function writeIPv4(p: usize, a: usize): usize {
  for (let i: usize = 0; i < 4; i++) {
    if (i > 0) { store<u8>(p, 0x2e); p++; }
    p = writeU64(p, load<u8>(a + i));
  }
  return p;
}

/**
 * The 16 bytes at `a` as Go's net.IP.String prints an IPv6 address: an
 * IPv4-mapped address (::ffff:a.b.c.d) as its dotted quad; otherwise
 * lowercase groups without leading zeros, where the first longest run of two
 * or more zero groups becomes "::" (a single zero group stays "0").
 */
export function writeIPv6(p: usize, a: usize): usize {
  if (load<u64>(a) == 0 && load<u16>(a + 8) == 0 && load<u16>(a + 10) == 0xffff) return writeIPv4(p, a + 12);
  let best: i32 = -1, bestLen: i32 = 0;
  for (let i: i32 = 0; i < 8;) {
    if (load<u16>(a + (<usize>i << 1)) != 0) { i++; continue; }
    let j = i;
    while (j < 8 && load<u16>(a + (<usize>j << 1)) == 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  for (let i: i32 = 0; i < 8; i++) {
    if (i == best) {
      store<u16>(p, 0x3a3a);
      p += 2;
      i += bestLen - 1;
      continue;
    }
    // A colon before every group but the first and the one right after "::".
    if (i > 0 && i != best + bestLen) { store<u8>(p, 0x3a); p++; }
    const at = a + (<usize>i << 1);
    p = writeHex64(p, (<u32>load<u8>(at) << 8) | load<u8>(at + 1)); // a group without leading zeros
  }
  return p;
}

/** The 6 bytes at `a` as "aa:bb:cc:dd:ee:ff", lowercase (net.HardwareAddr.String). */
export function writeMAC(p: usize, a: usize): usize {
  for (let i: usize = 0; i < 6; i++) {
    const b = <u32>load<u8>(a + i);
    if (i > 0) { store<u8>(p, 0x3a); p++; }
    store<u8>(p, hexDigit(b >> 4));
    store<u8>(p + 1, hexDigit(b & 15));
    p += 2;
  }
  return p;
}
