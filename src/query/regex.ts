/**
 * Regular expressions for the Regex() predicate, matched in linear time.
 *
 * Skydive runs Go's RE2, whose matching time is linear in the input; a JavaScript RegExp
 * backtracks, so a pattern like `(a+)+b` could stall the analyzer on one flow. This is a small
 * RE2-syntax subset compiled to a Thompson NFA and run as a state-set simulation: time is
 * O(input length x program size), whatever the pattern.
 *
 * Supported: literals, `.`, classes `[a-z]`, `[^...]`, `[[:alpha:]]`, escapes `\d \D \w \W \s \S`,
 * `\t \n \r \f \v`, `\xHH`, `\x{H...}`, escaped punctuation, groups `(...)`, `(?:...)`,
 * `(?P<name>...)`, `(?<name>...)`, alternation `|`, repetition `* + ? {n} {n,} {n,m}` (a trailing
 * `?` is accepted; it changes nothing for a yes/no match), and a leading `(?i)` (Unicode simple
 * case folding; a class is folded before it is negated, as RE2 does). The whole value must
 * match: patterns are anchored at both ends, and `^` / `$` are refused, as Skydive does
 * (skydive-api.md §4.2). Backreferences and lookaround do not exist in RE2 either.
 */

import { foldRanges, normalizeRanges } from './case-fold.js';

/** A pattern error; `offset` is the offset in the pattern. */
export class RegexSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

/** Upper bounds that keep compile and match time small whatever the pattern. */
const MAX_PROGRAM = 5000;
const MAX_REPEAT = 1000;
const MAX_NESTING = 100;

/**
 * A set of code points: inclusive [lo, hi] pairs, possibly negated. Sets in a parsed pattern are
 * normalized (ascending, disjoint) and already folded under (?i); the parts a class is built
 * from are not.
 */
interface CharSet {
  readonly ranges: readonly number[];
  readonly negated: boolean;
}

type Node =
  | { readonly t: 'set'; readonly set: CharSet }
  | { readonly t: 'cat'; readonly items: readonly Node[] }
  | { readonly t: 'alt'; readonly items: readonly Node[] }
  | { readonly t: 'rep'; readonly node: Node; readonly min: number; readonly max: number };

const DIGIT = [0x30, 0x39];
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];

const POSIX: Readonly<Record<string, readonly number[]>> = {
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  digit: DIGIT,
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  upper: [0x41, 0x5a],
  lower: [0x61, 0x7a],
  space: [0x09, 0x0d, 0x20, 0x20],
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  word: WORD,
};

function single(cp: number): CharSet {
  return { ranges: [cp, cp], negated: false };
}

/** Whether `cp` is in normalized ranges: a binary search, since folded classes can be long. */
function inRanges(ranges: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = ranges.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cp < ranges[2 * mid]) hi = mid;
    else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

function setHas(set: CharSet, cp: number): boolean {
  return inRanges(set.ranges, cp) !== set.negated;
}

class PatternParser {
  private i = 0;
  private depth = 0;
  /** Set by a leading (?i): every set is folded as it is made. */
  private foldCase = false;
  /** Folded literals by code point: a long pattern repeats few letters. */
  private readonly foldedLiterals = new Map<number, Node>();
  readonly cps: number[];
  /** Offsets of each code point in the original pattern (UTF-16), for error messages. */
  private readonly offsets: number[];

  constructor(pattern: string) {
    this.cps = [];
    this.offsets = [];
    for (let k = 0; k < pattern.length;) {
      const cp = pattern.codePointAt(k) as number;
      this.cps.push(cp);
      this.offsets.push(k);
      k += cp > 0xffff ? 2 : 1;
    }
    this.offsets.push(pattern.length);
  }

  private fail(message: string, at = this.i): never {
    throw new RegexSyntaxError(message, this.offsets[Math.min(at, this.offsets.length - 1)]);
  }

  private peek(): number | undefined {
    return this.cps[this.i];
  }

  private eat(cp: number): boolean {
    if (this.cps[this.i] === cp) {
      this.i++;
      return true;
    }
    return false;
  }

  parse(): Node {
    if (this.startsWith('(?i)')) {
      this.foldCase = true;
      this.i += 4;
    }
    const node = this.alternation();
    if (this.i < this.cps.length) this.fail("unmatched ')'");
    return node;
  }

  /**
   * A finished set for the program: normalized, and under (?i) folded while still positive, so
   * that a negation (`[^d]`, `\W`) also leaves out the other cases of what it names.
   */
  private finish(set: CharSet): Node {
    const ranges = this.foldCase ? foldRanges(set.ranges) : normalizeRanges(set.ranges);
    return { t: 'set', set: { ranges, negated: set.negated } };
  }

  private startsWith(s: string): boolean {
    for (let k = 0; k < s.length; k++) if (this.cps[this.i + k] !== s.charCodeAt(k)) return false;
    return true;
  }

  private alternation(): Node {
    const items = [this.concatenation()];
    while (this.eat(0x7c)) items.push(this.concatenation());
    return items.length === 1 ? items[0] : { t: 'alt', items };
  }

  private concatenation(): Node {
    const items: Node[] = [];
    for (;;) {
      const cp = this.peek();
      if (cp === undefined || cp === 0x7c || cp === 0x29) break;
      items.push(this.repetition());
    }
    return items.length === 1 ? items[0] : { t: 'cat', items };
  }

  private repetition(): Node {
    const atomAt = this.i;
    let node = this.atom();
    let repeated = false;
    for (;;) {
      const at = this.i;
      const bounds = this.quantifier();
      if (bounds === undefined) break;
      if (repeated) this.fail('invalid nested repetition operator', at);
      if (atomAt === at) this.fail('missing argument to repetition operator', at);
      repeated = true;
      node = { t: 'rep', node, min: bounds[0], max: bounds[1] };
      this.eat(0x3f); // lazy marker: same result for a yes/no match
    }
    return node;
  }

  /** [min, max] of a quantifier at the cursor (consumed), or undefined when there is none. */
  private quantifier(): [number, number] | undefined {
    const cp = this.peek();
    if (cp === 0x2a) { this.i++; return [0, Infinity]; }
    if (cp === 0x2b) { this.i++; return [1, Infinity]; }
    if (cp === 0x3f) { this.i++; return [0, 1]; }
    if (cp !== 0x7b) return undefined;
    // `{` that does not start a valid {n}, {n,} or {n,m} is a literal, as in RE2.
    const save = this.i;
    this.i++;
    const min = this.integer();
    if (min === undefined) { this.i = save; return undefined; }
    let max = min;
    if (this.eat(0x2c)) max = this.integer() ?? Infinity;
    if (!this.eat(0x7d)) { this.i = save; return undefined; }
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) this.fail(`repeat count above ${MAX_REPEAT}`, save);
    if (max < min) this.fail('invalid repeat count: max below min', save);
    return [min, max];
  }

  private integer(): number | undefined {
    const start = this.i;
    let n = 0;
    while (this.i < this.cps.length && this.cps[this.i] >= 0x30 && this.cps[this.i] <= 0x39 && this.i - start < 8) {
      n = n * 10 + this.cps[this.i] - 0x30;
      this.i++;
    }
    return this.i === start ? undefined : n;
  }

  private atom(): Node {
    const at = this.i;
    const cp = this.cps[this.i++];
    switch (cp) {
      case 0x28: return this.group(at);
      case 0x5b: return this.finish(this.charClass());
      case 0x2e: return this.finish({ ranges: [0x0a, 0x0a], negated: true });
      case 0x5c: return this.finish(this.escape(false));
      case 0x5e: case 0x24:
        return this.fail(`'${String.fromCharCode(cp)}' is not allowed, patterns are anchored at both ends`, at);
      case 0x2a: case 0x2b: case 0x3f:
        return this.fail('missing argument to repetition operator', at);
      default: {
        if (!this.foldCase) return this.finish(single(cp));
        let node = this.foldedLiterals.get(cp);
        if (node === undefined) this.foldedLiterals.set(cp, node = this.finish(single(cp)));
        return node;
      }
    }
  }

  private group(at: number): Node {
    if (++this.depth > MAX_NESTING) this.fail(`groups nested deeper than ${MAX_NESTING}`, at);
    if (this.eat(0x3f)) {
      if (this.eat(0x3a)) {
        // (?:...)
      } else if (this.eat(0x50) || this.peek() === 0x3c) {
        // (?P<name>...) or (?<name>...): capture names mean nothing for a yes/no match.
        if (!this.eat(0x3c)) this.fail('invalid named group', at);
        while (this.peek() !== undefined && this.peek() !== 0x3e) this.i++;
        if (!this.eat(0x3e)) this.fail('invalid named group', at);
      } else {
        this.fail('unsupported group flags: only a leading (?i) is supported', at);
      }
    }
    const node = this.alternation();
    if (!this.eat(0x29)) this.fail("missing ')'", at);
    this.depth--;
    return node;
  }

  private charClass(): CharSet {
    const open = this.i - 1;
    const negated = this.eat(0x5e);
    const ranges: number[] = [];
    let first = true;
    for (;;) {
      const cp = this.peek();
      if (cp === undefined) this.fail("missing ']'", open);
      if (cp === 0x5d && !first) {
        this.i++;
        break;
      }
      first = false;
      if (cp === 0x5b && this.cps[this.i + 1] === 0x3a) {
        ranges.push(...this.posixClass());
        continue;
      }
      const lo = this.classAtom();
      if (typeof lo !== 'number') {
        ranges.push(...lo);
        continue;
      }
      if (this.peek() === 0x2d && this.cps[this.i + 1] !== undefined && this.cps[this.i + 1] !== 0x5d) {
        this.i++;
        const hiAt = this.i;
        const hi = this.classAtom();
        if (typeof hi !== 'number') this.fail('invalid class range', hiAt);
        if (hi < lo) this.fail('invalid class range: end before start', hiAt);
        ranges.push(lo, hi);
      } else {
        ranges.push(lo, lo);
      }
    }
    return { ranges, negated };
  }

  /** One class member: a code point, or the ranges of an escape such as \d. */
  private classAtom(): number | readonly number[] {
    const cp = this.cps[this.i++];
    if (cp !== 0x5c) return cp;
    const set = this.escape(true);
    if (set.negated) this.fail('negated escapes (\\D, \\W, \\S) inside a class are not supported', this.i - 2);
    return set.ranges.length === 2 && set.ranges[0] === set.ranges[1] ? set.ranges[0] : set.ranges;
  }

  private posixClass(): readonly number[] {
    const at = this.i;
    this.i += 2;
    let name = '';
    while (this.peek() !== undefined && this.peek() !== 0x3a) name += String.fromCodePoint(this.cps[this.i++]);
    if (!this.eat(0x3a) || !this.eat(0x5d)) this.fail('invalid POSIX class', at);
    const ranges = POSIX[name];
    if (ranges === undefined) this.fail(`unknown POSIX class [:${name}:]`, at);
    return ranges;
  }

  /** After a backslash. */
  private escape(inClass: boolean): CharSet {
    const at = this.i - 1;
    const cp = this.cps[this.i++];
    if (cp === undefined) this.fail('trailing backslash', at);
    switch (cp) {
      case 0x64: return { ranges: DIGIT, negated: false }; // \d
      case 0x44: return { ranges: DIGIT, negated: true }; // \D
      case 0x77: return { ranges: WORD, negated: false }; // \w
      case 0x57: return { ranges: WORD, negated: true }; // \W
      case 0x73: return { ranges: SPACE, negated: false }; // \s
      case 0x53: return { ranges: SPACE, negated: true }; // \S
      case 0x74: return single(0x09);
      case 0x6e: return single(0x0a);
      case 0x72: return single(0x0d);
      case 0x66: return single(0x0c);
      case 0x76: return single(0x0b);
      case 0x78: return single(this.hexEscape(at));
      default:
        break;
    }
    const isAlnum = (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
    if (isAlnum) this.fail(`unsupported escape \\${String.fromCodePoint(cp)}${inClass ? ' in a class' : ''}`, at);
    return single(cp);
  }

  private hexEscape(at: number): number {
    const hexDigit = (): number | undefined => {
      const c = this.peek();
      if (c === undefined) return undefined;
      const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 55 : c >= 0x61 && c <= 0x66 ? c - 87 : -1;
      if (v < 0) return undefined;
      this.i++;
      return v;
    };
    if (this.eat(0x7b)) {
      let v = 0;
      let n = 0;
      for (let d = hexDigit(); d !== undefined; d = hexDigit()) {
        v = v * 16 + d;
        if (++n > 6 || v > 0x10ffff) this.fail('invalid \\x{...} escape', at);
      }
      if (n === 0 || !this.eat(0x7d)) this.fail('invalid \\x{...} escape', at);
      return v;
    }
    const h = hexDigit();
    const l = hexDigit();
    if (h === undefined || l === undefined) this.fail('invalid \\x escape: two hex digits expected', at);
    return h * 16 + l;
  }
}

// Program: parallel arrays. CHAR tests sets[pc] and goes to pc+1; SPLIT goes to x and y; JMP to x.
const CHAR = 0;
const SPLIT = 1;
const JMP = 2;
const MATCH = 3;

class Program {
  readonly ops: number[] = [];
  readonly x: number[] = [];
  readonly y: number[] = [];
  readonly sets: (CharSet | undefined)[] = [];

  emit(op: number, set?: CharSet): number {
    if (this.ops.length >= MAX_PROGRAM) throw new RegexSyntaxError(`pattern too large (over ${MAX_PROGRAM} steps)`, 0);
    this.ops.push(op);
    this.x.push(-1);
    this.y.push(-1);
    this.sets.push(set);
    return this.ops.length - 1;
  }

  /** Appends the instructions of `node`; execution falls through to the next pc after them. */
  node(node: Node): void {
    switch (node.t) {
      case 'set':
        this.emit(CHAR, node.set);
        return;
      case 'cat':
        for (const item of node.items) this.node(item);
        return;
      case 'alt': {
        const jumps: number[] = [];
        for (let k = 0; k < node.items.length; k++) {
          if (k === node.items.length - 1) {
            this.node(node.items[k]);
            break;
          }
          const split = this.emit(SPLIT);
          this.x[split] = split + 1;
          this.node(node.items[k]);
          jumps.push(this.emit(JMP));
          this.y[split] = this.ops.length;
        }
        for (const j of jumps) this.x[j] = this.ops.length;
        return;
      }
      case 'rep': {
        for (let k = 0; k < node.min; k++) this.node(node.node);
        if (node.max === Infinity) {
          const loop = this.emit(SPLIT);
          this.x[loop] = loop + 1;
          this.node(node.node);
          const back = this.emit(JMP);
          this.x[back] = loop;
          this.y[loop] = this.ops.length;
          return;
        }
        const exits: number[] = [];
        for (let k = node.min; k < node.max; k++) {
          const split = this.emit(SPLIT);
          this.x[split] = split + 1;
          exits.push(split);
          this.node(node.node);
        }
        for (const s of exits) this.y[s] = this.ops.length;
        return;
      }
    }
  }
}

/** A compiled pattern: `test` says whether the whole string matches. */
export interface CompiledRegex {
  test(s: string): boolean;
}

/** Compiles `pattern`; throws RegexSyntaxError for a pattern outside the supported syntax. */
export function compileRegex(pattern: string): CompiledRegex {
  const node = new PatternParser(pattern).parse();
  const prog = new Program();
  prog.node(node);
  prog.emit(MATCH);
  const size = prog.ops.length;
  const { ops, x, y, sets } = prog;
  // Thread lists and "already added in this step" marks, reused across calls.
  let current = new Int32Array(size);
  let next = new Int32Array(size);
  const mark = new Int32Array(size);
  const stack = new Int32Array(size * 2 + 2);
  let generation = 0;

  /** Adds pc and everything reachable from it without consuming input. Returns the new count. */
  const addThread = (list: Int32Array, count: number, pc: number): number => {
    let sp = 0;
    stack[sp++] = pc;
    while (sp > 0) {
      const p = stack[--sp];
      if (mark[p] === generation) continue;
      mark[p] = generation;
      const op = ops[p];
      if (op === JMP) {
        stack[sp++] = x[p];
      } else if (op === SPLIT) {
        stack[sp++] = y[p];
        stack[sp++] = x[p];
      } else {
        list[count++] = p;
      }
    }
    return count;
  };

  return {
    test(s: string): boolean {
      // Marks compare against a generation counter; reset them before it could wrap.
      if (generation > 0x3fffffff - s.length - 2) {
        mark.fill(0);
        generation = 0;
      }
      generation++;
      let n = addThread(current, 0, 0);
      for (let k = 0; k < s.length && n > 0;) {
        const cp = s.codePointAt(k) as number;
        k += cp > 0xffff ? 2 : 1;
        generation++;
        let m = 0;
        for (let t = 0; t < n; t++) {
          const pc = current[t];
          if (ops[pc] === CHAR && setHas(sets[pc] as CharSet, cp)) m = addThread(next, m, pc + 1);
        }
        const swap = current;
        current = next;
        next = swap;
        n = m;
      }
      for (let t = 0; t < n; t++) if (ops[current[t]] === MATCH) return true;
      return false;
    },
  };
}
