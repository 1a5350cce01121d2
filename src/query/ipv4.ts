/**
 * IPv4 ranges for the Ipv4Range() predicate.
 *
 * Skydive turns the CIDR into a regular expression over dotted quads, with an optional `/NN`
 * suffix on the value (skydive-api.md §4.2); comparing the numbers gives the same answers
 * without a regex. Octets are decimal 0-255 without leading zeros, as the regex accepts.
 */

export interface IPv4Range {
  /** First address of the range, as an unsigned 32-bit number. */
  readonly base: number;
  /** Number of leading bits that must match (0-32). */
  readonly bits: number;
}

/** "a.b.c.d" to an unsigned 32-bit number, or undefined when it is not a strict dotted quad. */
export function parseIPv4(text: string): number | undefined {
  let value = 0;
  let octets = 0;
  let i = 0;
  while (octets < 4) {
    const start = i;
    let octet = 0;
    while (i < text.length && i - start < 3) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      octet = octet * 10 + (c - 0x30);
      i++;
    }
    const len = i - start;
    if (len === 0 || octet > 255 || (len > 1 && text.charCodeAt(start) === 0x30)) return undefined;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (text.charCodeAt(i) !== 0x2e) return undefined;
      i++;
    }
  }
  return i === text.length ? value : undefined;
}

/** Parses "a.b.c.d/n"; undefined when malformed. Host bits set in the address are ignored. */
export function parseIPv4Range(cidr: string): IPv4Range | undefined {
  const slash = cidr.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIPv4(cidr.slice(0, slash));
  const bitsText = cidr.slice(slash + 1);
  if (addr === undefined || bitsText.length === 0 || bitsText.length > 2) return undefined;
  let bits = 0;
  for (let i = 0; i < bitsText.length; i++) {
    const c = bitsText.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    bits = bits * 10 + (c - 0x30);
  }
  if (bits > 32) return undefined;
  return { base: maskOf(addr, bits), bits };
}

function maskOf(addr: number, bits: number): number {
  if (bits === 0) return 0;
  const size = 2 ** (32 - bits);
  return addr - (addr % size);
}

/** Whether `value` ("a.b.c.d", optionally followed by "/N" or "/NN") lies in `range`. */
export function inIPv4Range(value: string, range: IPv4Range): boolean {
  let addrText = value;
  const slash = value.indexOf('/');
  if (slash >= 0) {
    const suffix = value.slice(slash + 1);
    if (suffix.length < 1 || suffix.length > 2) return false;
    for (let i = 0; i < suffix.length; i++) {
      const c = suffix.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return false;
    }
    addrText = value.slice(0, slash);
  }
  const addr = parseIPv4(addrText);
  return addr !== undefined && maskOf(addr, range.bits) === range.base;
}
