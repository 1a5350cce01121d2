/**
 * Unicode simple case folding for `(?i)` in Regex(): the set of code points a set matches once
 * case is ignored.
 *
 * RE2 (Skydive's Go regexp) folds a class before it negates it: under `(?i)`, `[^d]` is "not d
 * and not D", `\W` is "not \w folded" (so not U+212A KELVIN SIGN, which folds to k). Folding is
 * Unicode's simple case folding, whose equivalence classes ("orbits") can have more than two
 * members: {K, k, U+212A}, {S, s, U+017F}, {Σ, σ, ς}.
 *
 * JavaScript has no API for simple case folding (String#toLowerCase is full case mapping and
 * links letters that folding keeps apart, such as I and dotless ı), but a RegExp with the `iu`
 * flags compares characters by simple case folding (ECMA-262 Canonicalize). So the orbits are
 * built once, on first use (some tens of ms), from the runtime's own Unicode data: case mappings
 * propose pairs, an `iu` RegExp keeps those that fold together, and union-find joins them.
 */

/** Code points above this have no case (the last cased letters are Adlam's, U+1E900-U+1E943). */
const MAX_CASED = 0x1ffff;

/** Code points with other members in their orbit, ascending; and each one's orbit. */
interface FoldTable {
  readonly points: Int32Array;
  readonly orbit: ReadonlyMap<number, readonly number[]>;
}

let table: FoldTable | undefined;

/** The code point of `s` when it is exactly one code point, else undefined. */
function onePoint(s: string): number | undefined {
  const cp = s.codePointAt(0);
  return cp !== undefined && s.length === (cp > 0xffff ? 2 : 1) ? cp : undefined;
}

/**
 * Two characters equal under simple case folding: a backreference under `iu` compares
 * canonicalized characters.
 */
const FOLD_EQUAL = /^(.)\1$/isu;

function foldEqual(a: number, b: number): boolean {
  return FOLD_EQUAL.test(String.fromCodePoint(a, b));
}

/** Every code point up to MAX_CASED (surrogates left out), as one string. */
function allCodePoints(): string {
  const chunks: string[] = [];
  const chunk: number[] = [];
  for (let cp = 0; cp <= MAX_CASED; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    chunk.push(cp);
    // Bounded argument lists: a spread of 128k numbers could exceed the engine's limit.
    if (chunk.length === 8192) {
      chunks.push(String.fromCodePoint(...chunk));
      chunk.length = 0;
    }
  }
  chunks.push(String.fromCodePoint(...chunk));
  return chunks.join('');
}

function buildTable(): FoldTable {
  // Only characters that change under some case mapping can have another member in their orbit.
  const cased = [...allCodePoints().matchAll(/\p{Changes_When_Casemapped}/gu)].map((m) => m[0].codePointAt(0) as number);

  const parent = new Map<number, number>();
  const root = (x: number): number => {
    let r = x;
    while (parent.get(r) !== undefined && parent.get(r) !== r) r = parent.get(r) as number;
    parent.set(x, r);
    return r;
  };
  const join = (a: number, b: number): void => {
    if (!parent.has(a)) parent.set(a, a);
    if (!parent.has(b)) parent.set(b, b);
    const ra = root(a);
    const rb = root(b);
    if (ra !== rb) parent.set(ra, rb);
  };

  // Letters whose uppercase is several characters (ΐ U+0390 and ΐ U+1FD3 both give "Ϊ́") can
  // still fold together; they are grouped by that uppercase text and checked like the others.
  const byLongUpper = new Map<string, number[]>();
  for (const cp of cased) {
    const ch = String.fromCodePoint(cp);
    const upper = ch.toUpperCase();
    for (const mapped of [ch.toLowerCase(), upper]) {
      const other = onePoint(mapped);
      if (other !== undefined && other !== cp && foldEqual(cp, other)) join(cp, other);
    }
    if (onePoint(upper) === undefined) {
      const group = byLongUpper.get(upper);
      if (group === undefined) byLongUpper.set(upper, [cp]);
      else group.push(cp);
    }
  }
  for (const [first, ...rest] of byLongUpper.values()) {
    for (const cp of rest) if (foldEqual(cp, first)) join(cp, first);
  }

  const orbits = new Map<number, number[]>();
  for (const cp of parent.keys()) {
    const r = root(cp);
    const members = orbits.get(r);
    if (members === undefined) orbits.set(r, [cp]);
    else members.push(cp);
  }
  const orbit = new Map<number, readonly number[]>();
  for (const members of orbits.values()) {
    members.sort((a, b) => a - b);
    for (const cp of members) orbit.set(cp, members);
  }
  const points = Int32Array.from(orbit.keys()).sort();
  return { points, orbit };
}

/** Sorted, merged copy of [lo, hi] pairs: disjoint, ascending, not adjacent. */
export function normalizeRanges(ranges: readonly number[]): number[] {
  let ordered = true;
  for (let i = 2; i < ranges.length && ordered; i += 2) ordered = ranges[i] > ranges[i - 1] + 1;
  // Most sets (a literal, \d, [a-z]) already are: no need to sort.
  if (ordered) return ranges.slice();
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i], ranges[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last] + 1) out[last] = Math.max(out[last], hi);
    else out.push(lo, hi);
  }
  return out;
}

/**
 * The ranges plus every code point that folds to one of them, normalized. Negation, if any,
 * comes after: that is what makes `(?i)[^d]` refuse both d and D.
 */
export function foldRanges(ranges: readonly number[]): number[] {
  table ??= buildTable();
  const { points, orbit } = table;
  const norm = normalizeRanges(ranges);
  const out = norm.slice();
  for (let i = 0; i < norm.length; i += 2) {
    const lo = norm[i];
    const hi = norm[i + 1];
    // A range over every foldable code point already holds their orbits.
    if (lo <= points[0] && hi >= points[points.length - 1]) continue;
    // First foldable code point >= lo; the table is visited once at most over all ranges.
    let a = 0;
    let b = points.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (points[mid] < lo) a = mid + 1;
      else b = mid;
    }
    for (let k = a; k < points.length && points[k] <= hi; k++) {
      for (const m of orbit.get(points[k]) as readonly number[]) if (m < lo || m > hi) out.push(m, m);
    }
  }
  return out.length === norm.length ? out : normalizeRanges(out);
}
