/**
 * The one error a flow query gives for bad input: syntax errors, unknown steps, predicates or
 * fields, wrong arguments, and the data-dependent errors of Values and Aggregates. Anything
 * else escaping the evaluator is a bug.
 */

/** Characters of the query shown on each side of the error position. */
const EXCERPT_RADIUS = 60;

export class QueryError extends Error {
  override readonly name = 'QueryError';
  /** HTTP status for the REST reply: always 400, the query is at fault. */
  readonly status = 400;
  /** 0-based offset in the query text (UTF-16 units), when the error has a place. */
  readonly position: number | undefined;
  /**
   * Two lines: the query (or a window of it around the position) and a caret under the
   * position. Empty when there is no position.
   */
  readonly caret: string;

  /**
   * `what` says what is wrong; with a `position`, the message reads
   * "<what> at position N: <expected>" (or "<what> at position N" without `expected`).
   */
  constructor(what: string, opts: { query?: string; position?: number; expected?: string } = {}) {
    const where = opts.position === undefined ? '' : ` at position ${opts.position}`;
    super(`${what}${where}${opts.expected ? ': ' + opts.expected : ''}`);
    this.position = opts.position;
    this.caret = opts.query !== undefined && opts.position !== undefined ? caretLines(opts.query, opts.position) : '';
  }

  /** The reply body for HTTP 400: the message, then the caret lines when there are some. */
  toHTTPBody(): string {
    return this.caret ? `${this.message}\n${this.caret}` : this.message;
  }
}

/**
 * The query with a caret under `position`. Control characters become spaces so the caret lines
 * up; a long query is cut to a window around the position, with "..." on the cut sides.
 */
export function caretLines(query: string, position: number): string {
  const from = Math.max(0, position - EXCERPT_RADIUS);
  const to = Math.min(query.length, position + EXCERPT_RADIUS);
  const prefix = from > 0 ? '...' : '';
  const suffix = to < query.length ? '...' : '';
  let line = '';
  for (let i = from; i < to; i++) {
    const c = query.charCodeAt(i);
    line += c < 0x20 || c === 0x7f ? ' ' : query[i];
  }
  const caretAt = prefix.length + (position - from);
  return `${prefix}${line}${suffix}\n${' '.repeat(caretAt)}^`;
}
