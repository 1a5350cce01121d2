/**
 * Tokens of the Gremlin dialect (skydive-api.md §4.1).
 *
 * - identifiers: a letter or `_`, then letters, digits, `_` (steps, predicates, keywords);
 * - strings in '...' or "...": raw text up to the same quote, no escapes (so a Regex pattern is
 *   written as is; a quote of the other kind goes inside);
 * - numbers: an optional `-`, digits, an optional fraction. Integers are int64 (a `bigint`
 *   beyond 2^53), others are floats;
 * - `.` `(` `)` `,`; spaces, tabs and newlines separate tokens.
 */
import { QueryError } from './errors.js';

export type TokenKind = 'ident' | 'string' | 'number' | 'dot' | 'lparen' | 'rparen' | 'comma' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Offset of the first character in the query. */
  readonly pos: number;
  /** Offset just past the last character. */
  readonly end: number;
  /** Identifier text, or a string's content (without quotes). */
  readonly text: string;
  /** A number's value. */
  readonly num?: number | bigint;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isIdentStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** How a character is shown in a message: printable ASCII as is, anything else by code point. */
export function describeChar(text: string, pos: number): string {
  const cp = text.codePointAt(pos) as number;
  return cp > 0x20 && cp < 0x7f ? `'${String.fromCodePoint(cp)}'` : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Splits `query` into tokens, ending with one 'eof' token. Throws QueryError on a bad character. */
export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = query.length;
  while (i < n) {
    const c = query.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(query.charCodeAt(i))) i++;
      tokens.push({ kind: 'ident', pos: start, end: i, text: query.slice(start, i) });
    } else if (c === 0x27 || c === 0x22) {
      const close = query.indexOf(query[i], i + 1);
      if (close < 0) {
        throw new QueryError('unterminated string', {
          query, position: start, expected: `no closing ${query[i]} after this quote`,
        });
      }
      tokens.push({ kind: 'string', pos: start, end: close + 1, text: query.slice(start + 1, close) });
      i = close + 1;
    } else if (isDigit(c) || (c === 0x2d && i + 1 < n && isDigit(query.charCodeAt(i + 1)))) {
      tokens.push(readNumber(query, start));
      i = tokens[tokens.length - 1].end;
    } else if (c === 0x2e) {
      tokens.push({ kind: 'dot', pos: i, end: ++i, text: '.' });
    } else if (c === 0x28) {
      tokens.push({ kind: 'lparen', pos: i, end: ++i, text: '(' });
    } else if (c === 0x29) {
      tokens.push({ kind: 'rparen', pos: i, end: ++i, text: ')' });
    } else if (c === 0x2c) {
      tokens.push({ kind: 'comma', pos: i, end: ++i, text: ',' });
    } else {
      throw new QueryError(`unexpected character ${describeChar(query, i)}`, { query, position: i });
    }
  }
  tokens.push({ kind: 'eof', pos: n, end: n, text: '' });
  return tokens;
}

function readNumber(query: string, start: number): Token {
  let i = start;
  if (query.charCodeAt(i) === 0x2d) i++;
  while (i < query.length && isDigit(query.charCodeAt(i))) i++;
  let isFloat = false;
  if (query.charCodeAt(i) === 0x2e && isDigit(query.charCodeAt(i + 1))) {
    isFloat = true;
    i++;
    while (i < query.length && isDigit(query.charCodeAt(i))) i++;
  }
  if (i < query.length && isIdentPart(query.charCodeAt(i))) {
    throw new QueryError(`malformed number '${query.slice(start, i + 1)}'`, { query, position: start });
  }
  const text = query.slice(start, i);
  if (isFloat) {
    const num = Number(text);
    if (!Number.isFinite(num)) throw new QueryError(`number ${text} is too large`, { query, position: start });
    return { kind: 'number', pos: start, end: i, text, num };
  }
  // More than 19 digits cannot be an int64; checked first so a huge literal costs no BigInt parse.
  const digits = text.length - (text.startsWith('-') ? 1 : 0);
  const big = digits > 19 ? INT64_MAX + 1n : BigInt(text);
  if (big < INT64_MIN || big > INT64_MAX) {
    throw new QueryError(`integer ${text} is out of the int64 range`, { query, position: start });
  }
  const num = big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  return { kind: 'number', pos: start, end: i, text, num };
}
