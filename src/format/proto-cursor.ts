/**
 * The protobuf wire primitives of the analyzer's intake readers: the object reader
 * (message-reader.ts) and the record scanner (store/record-scan.ts) must accept exactly the same
 * input, so they read it with the same functions. Input from the network is untrusted: every
 * length is checked against the bytes left, and malformed input throws a `MessageFormatError`
 * (never reads out of range, never loops on bad data).
 */
import type { ICMPTypeName, Int64 } from '../flow/types.js';

export class MessageFormatError extends Error {
  override readonly name = 'MessageFormatError';
}

/** FlowProtocol and ICMPType names by number (proto/flow.proto). */
export const FLOW_PROTOCOLS = ['ETHERNET', 'IPV4', 'TCP', 'UDP', 'SCTP', 'IPV6', 'ICMPV4', 'ICMPV6'] as const;
export const ICMP_TYPES: readonly ICMPTypeName[] = [
  'UNKNOWN', 'DESTINATION_UNREACHABLE', 'ECHO', 'NEIGHBOR', 'ADDRESS_MASK', 'INFO', 'PARAMETER_PROBLEM',
  'REDIRECT', 'ROUTER', 'SOURCE_QUENCH', 'TIME_EXCEEDED', 'TIMESTAMP', 'PACKET_TOO_BIG',
];

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/**
 * Flow fields (LastRawPackets 36, DHCPv4 1000, DNS 1001, VRRPv2 1002) that send the whole flow
 * to the reference decoder. Compared, not looked up in a Set: readers ask for every field.
 */
export function isRareFlowField(field: number): boolean {
  return field === 36 || (field >= 1000 && field <= 1002);
}

/** A read position over one buffer; `end` bounds the current (sub-)message. */
export class Cursor {
  pos: number;
  end: number;
  constructor(readonly buf: Buffer, pos: number, end: number) {
    this.pos = pos;
    this.end = end;
  }
}

export function truncated(): never {
  throw new MessageFormatError('truncated message');
}

/** A varint's low 32 bits, unsigned (uint32 fields; protobufjs does the same for longer input). */
export function varint32(c: Cursor): number {
  const b = c.buf;
  let pos = c.pos;
  let value = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= c.end) truncated();
    const byte = b[pos++];
    if (shift < 32) value |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      c.pos = pos;
      return value >>> 0;
    }
  }
  throw new MessageFormatError('varint longer than 10 bytes');
}

/** An int64 varint: a number when it is a safe integer, else a bigint (the model's Int64). */
export function int64(c: Cursor): Int64 {
  const b = c.buf;
  const start = c.pos;
  let pos = start;
  let value = 0;
  let mul = 1;
  // Up to 7 bytes (49 bits) adds up exactly in a double: timestamps and counters.
  for (let i = 0; i < 7; i++) {
    if (pos >= c.end) truncated();
    const byte = b[pos++];
    value += (byte & 0x7f) * mul;
    if (byte < 0x80) {
      c.pos = pos;
      return value;
    }
    mul *= 128;
  }
  pos = start;
  let big = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (pos >= c.end) truncated();
    const byte = b[pos++];
    big |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) {
      c.pos = pos;
      const signed = BigInt.asIntN(64, big);
      return signed >= BigInt(Number.MIN_SAFE_INTEGER) && signed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(signed) : signed;
    }
  }
  throw new MessageFormatError('varint longer than 10 bytes');
}

/** The length of a length-delimited field, checked against what is left. */
export function length(c: Cursor): number {
  const n = varint32(c);
  if (n > c.end - c.pos) truncated();
  return n;
}

export function skip(c: Cursor, wire: number): void {
  switch (wire) {
    case WIRE_VARINT: varint32(c); return;
    case WIRE_I64: if (c.end - c.pos < 8) truncated(); c.pos += 8; return;
    case WIRE_LEN: {
      // Not `c.pos += length(c)`: that reads c.pos before length() moves it past the length
      // varint, and lands that many bytes short.
      const n = length(c);
      c.pos += n;
      return;
    }
    case WIRE_I32: if (c.end - c.pos < 4) truncated(); c.pos += 4; return;
    default: throw new MessageFormatError(`unsupported wire type ${wire}`);
  }
}

/** Reads a field key; 0 means the end of the (sub-)message. */
export function key(c: Cursor): number {
  if (c.pos >= c.end) return 0;
  const k = varint32(c);
  if (k >>> 3 === 0) throw new MessageFormatError('field number 0');
  return k;
}

/** Runs `read` over the length-delimited sub-message at the cursor. */
export function sub<T>(c: Cursor, read: (c: Cursor) => T): T {
  const n = length(c);
  const end = c.end;
  c.end = c.pos + n;
  const v = read(c);
  c.pos = c.end;
  c.end = end;
  return v;
}

/** A buffer as a Buffer, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
