/**
 * The filters of a history query as an Elasticsearch query (flow-semantics.md §8, "Filters →
 * ES queries"): Has/HasEither arguments of G.Flows(...) and of the filter steps right after it,
 * read from the query's syntax tree. Pairs become `bool` must/should, values `term`, ranges
 * `range`, Regex a Lucene `regexp`, Ipv4Range a `regexp` over dotted quads.
 *
 * The query it gives selects a superset of the matching flows, never fewer: the flows read back
 * go through the evaluator with the exact conditions (src/query). That lets this file stay
 * simple where Elasticsearch differs:
 * - a JSON field left out when empty or zero (Network.A "", RTT 0) is absent from the document,
 *   so a condition that the default value passes also accepts a missing field;
 * - a regex Lucene cannot express the same way is not pushed down (the condition is dropped);
 * - HasKey/HasNot are not pushed down (presence follows Skydive's Go structs, not the JSON).
 * Where none of these happens, the query selects exactly the matching flows (`exact`), and a
 * Count() can be asked of Elasticsearch alone.
 * The query is already checked (compileQuery) when this runs: the arguments are well formed.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { ArgNode, LiteralNode, PredicateNode, QueryNode } from '../../query/ast.js';
import { resolveField, twoSidedFields, type FieldDef } from '../../query/fields.js';
import { parseIPv4Range } from '../../query/ipv4.js';
import { compileRegex } from '../../query/regex.js';

type Query = estypes.QueryDslQueryContainer;
/** undefined: no restriction (the condition is left to the evaluator). */
type Filter = Query | undefined;

/** Cleared by every translation that widens (or cannot express) a condition. */
interface Track {
  exact: boolean;
}

const NONE: Query = { match_none: {} };

function and(parts: Filter[]): Filter {
  const kept = parts.filter((p): p is Query => p !== undefined);
  if (kept.length === 0) return undefined;
  return kept.length === 1 ? kept[0] : { bool: { filter: kept } };
}

function or(parts: Filter[]): Filter {
  if (parts.some((p) => p === undefined)) return undefined;
  const kept = parts as Query[];
  return kept.length === 1 ? kept[0] : { bool: { should: kept, minimum_should_match: 1 } };
}

function not(q: Filter): Filter {
  if (q === undefined) return undefined;
  return { bool: { must_not: [q] } };
}

/** `q`, or the field is absent (its value was the default the JSON leaves out). */
function orMissing(field: string, q: Query, acceptsDefault: boolean, t: Track): Query {
  if (!acceptsDefault) return q;
  // A missing field may also be a block that is absent, which the condition rejects.
  t.exact = false;
  return { bool: { should: [q, { bool: { must_not: [{ exists: { field } }] } }], minimum_should_match: 1 } };
}

/** An integer for the query body (bigints beyond 2^53 as text, which Elasticsearch parses exactly). */
const jsonInt = (v: number | bigint): number | string => (typeof v === 'bigint' ? v.toString() : v);

function isZero(v: number | bigint): boolean {
  return v === 0 || v === 0n;
}

function equality(field: FieldDef, lit: LiteralNode, t: Track): Query {
  if (lit.kind === 'string') {
    if (field.type !== 'string') return NONE;
    return orMissing(field.name, { term: { [field.name]: lit.value } }, lit.value === '', t);
  }
  if (lit.kind === 'number') {
    const n = lit.value;
    if (field.type !== 'int' || (typeof n === 'number' && !Number.isInteger(n))) return NONE;
    return orMissing(field.name, { term: { [field.name]: jsonInt(n) } }, isZero(n), t);
  }
  // Booleans match no flow field (and keywords were refused by the compiler).
  return NONE;
}

type Bound = 'gt' | 'gte' | 'lt' | 'lte';

/** A range on an int field; fractional bounds are widened to the integers around them. */
function range(field: FieldDef, bounds: Array<[Bound, number | bigint]>, t: Track): Query {
  if (field.type !== 'int') return NONE;
  const r: Record<string, number | string> = {};
  let zeroPasses = true;
  for (const [op, v] of bounds) {
    const x = Number(v);
    if (typeof v === 'number' && !Number.isInteger(v)) {
      t.exact = false;
      if (op === 'gt' || op === 'gte') r.gte = Math.floor(v);
      else r.lte = Math.ceil(v);
    } else {
      r[op] = jsonInt(v);
    }
    zeroPasses &&= op === 'gt' ? 0 > x : op === 'gte' ? 0 >= x : op === 'lt' ? 0 < x : 0 <= x;
  }
  return orMissing(field.name, { range: { [field.name]: r } }, zeroPasses, t);
}

const numbers = (p: PredicateNode): Array<number | bigint> => p.args.map((a) => (a.kind === 'number' ? a.value : 0));

function onField(field: FieldDef, node: ArgNode, t: Track): Filter {
  if (node.kind !== 'predicate') return equality(field, node, t);
  switch (node.upper) {
    case 'WITHIN': return or(node.args.map((a) => equality(field, a, t)));
    case 'WITHOUT':
      // Negations of a widened equality narrow: left to the evaluator for Count too.
      t.exact = false;
      return not(or(node.args.map((a) => equality(field, a, t))));
    // Ne also needs the field, but a missing field may be a default value that differs: not(eq) only.
    case 'NE': case 'NEE':
      t.exact = false;
      return not(equality(field, node.args[0], t));
    case 'GT': return range(field, [['gt', numbers(node)[0]]], t);
    case 'GTE': return range(field, [['gte', numbers(node)[0]]], t);
    case 'LT': return range(field, [['lt', numbers(node)[0]]], t);
    case 'LTE': return range(field, [['lte', numbers(node)[0]]], t);
    case 'INSIDE': { const [lo, hi] = numbers(node); return range(field, [['gt', lo], ['lt', hi]], t); }
    case 'BETWEEN': { const [lo, hi] = numbers(node); return range(field, [['gte', lo], ['lt', hi]], t); }
    case 'OUTSIDE': { const [lo, hi] = numbers(node); return or([range(field, [['lt', lo]], t), range(field, [['gt', hi]], t)]); }
    case 'REGEX': {
      // Lucene's and RE2's syntaxes differ at the edges: a superset only.
      t.exact = false;
      if (field.type !== 'string') return NONE;
      const pattern = (node.args[0] as Extract<LiteralNode, { kind: 'string' }>).value;
      const lucene = luceneRegex(pattern);
      if (lucene === undefined) return undefined;
      return orMissing(field.name, { regexp: { [field.name]: { value: lucene, flags: 'NONE' } } }, compileRegex(pattern).test(''), t);
    }
    case 'IPV4RANGE': {
      if (field.type !== 'string') return NONE;
      // The intervals also take octets written with leading zeros.
      t.exact = false;
      const lucene = ipv4RangeRegex((node.args[0] as Extract<LiteralNode, { kind: 'string' }>).value);
      return lucene === undefined ? NONE : { regexp: { [field.name]: { value: lucene, flags: 'INTERVAL' } } };
    }
    default:
      t.exact = false;
      return undefined;
  }
}

function pair(keyNode: ArgNode, valueNode: ArgNode, t: Track): Filter {
  const sides = keyNode.kind === 'string' ? twoSidedFields(keyNode.value) : undefined;
  if (sides !== undefined) return or(sides.map((f) => onField(f, valueNode, t)));
  const field = keyNode.kind === 'string' ? resolveField(keyNode.value) : undefined;
  if (field === undefined || field.type === 'object') {
    t.exact = false;
    return undefined;
  }
  return onField(field, valueNode, t);
}

function hasArgs(args: readonly ArgNode[], mode: 'and' | 'or', t: Track): Filter {
  // One argument is HasKey: not pushed down.
  if (args.length < 2) {
    if (args.length === 1) t.exact = false;
    return undefined;
  }
  const parts: Filter[] = [];
  for (let i = 0; i + 1 < args.length; i += 2) parts.push(pair(args[i], args[i + 1], t));
  return mode === 'and' ? and(parts) : or(parts);
}

/**
 * The Elasticsearch filter for the flow conditions of a (checked) query (undefined: none), and
 * whether it selects exactly the flows the conditions accept (else a superset).
 */
export function translateFlowFilter(ast: QueryNode): { query: Filter; exact: boolean } {
  const t: Track = { exact: true };
  const parts: Filter[] = [];
  let inFlows = false;
  for (const step of ast.steps) {
    if (!inFlows) {
      if (step.upper === 'FLOWS') {
        inFlows = true;
        parts.push(hasArgs(step.args, 'and', t));
      }
      continue;
    }
    if (step.upper === 'HAS') parts.push(hasArgs(step.args, 'and', t));
    else if (step.upper === 'HASEITHER') parts.push(hasArgs(step.args, 'or', t));
    else if (step.upper === 'HASKEY' || step.upper === 'HASNOT') t.exact = false;
    // Filters after any other step apply to its result, not to the stored flows.
    else break;
  }
  return { query: and(parts), exact: t.exact };
}

/** The Elasticsearch filter for the flow conditions of a (checked) query; undefined: none. */
export function flowFilter(ast: QueryNode): Filter {
  return translateFlowFilter(ast).query;
}

/** Characters that are plain literals in both syntaxes. */
const PLAIN = /[A-Za-z0-9]/;
const REPEAT = /^\{\d+(,\d*)?\}/;

/**
 * An RE2 pattern (whole-value match, as our Regex() does) as a Lucene regexp (always whole
 * value), or undefined when it uses something this does not translate: flags, POSIX classes,
 * escapes other than \d \w and punctuation, empty alternatives ('(|T)CP', '|x', 'a()').
 */
export function luceneRegex(pattern: string): string | undefined {
  let out = '';
  let i = 0;
  // Whether the alternative being read is still empty: Lucene matches nothing where RE2
  // matches the empty string, so a pattern with an empty one is left to the evaluator.
  let empty = true;
  const escape = (c: string): string => (PLAIN.test(c) ? c : '\\' + c);
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) return undefined;
      if (n === 'd') out += '[0-9]';
      else if (n === 'w') out += '[0-9A-Za-z_]';
      else if (PLAIN.test(n)) return undefined;
      else out += '\\' + n;
      i += 2;
    } else if (c === '(') {
      if (pattern.startsWith('(?:', i)) i += 3;
      else if (pattern[i + 1] === '?') return undefined;
      else i++;
      out += '(';
      empty = true;
      continue;
    } else if (c === '[') {
      const end = classEnd(pattern, i);
      if (end < 0) return undefined;
      out += '[' + [...pattern.slice(i + 1, end)].map((ch, k, all) =>
        PLAIN.test(ch) || ch === '-' || (ch === '^' && k === 0) || all[k - 1] === '\\' || ch === '\\' ? ch : '\\' + ch).join('') + ']';
      i = end + 1;
    } else if (c === '{') {
      const m = REPEAT.exec(pattern.slice(i));
      if (m === null) return undefined;
      out += m[0];
      i += m[0].length;
    } else if (c === '|' || c === ')') {
      if (empty) return undefined;
      // After '|' a new alternative starts; after ')' the group is a non-empty atom.
      empty = c === '|';
      out += c;
      i++;
      continue;
    } else if ('.*+?'.includes(c)) {
      out += c;
      i++;
    } else {
      out += escape(c);
      i++;
    }
    empty = false;
  }
  // A trailing '|': an empty last alternative.
  if (empty && out.length > 0) return undefined;
  return out;
}

/** Index of the `]` closing the class opened at `start`, or -1 for a class this does not translate. */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  for (; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '[') return -1;
    if (c === '\\') {
      if (PLAIN.test(pattern[i + 1] ?? 'a')) return -1;
      i++;
    } else if (c === ']') {
      return i;
    }
  }
  return -1;
}

/**
 * A CIDR as a Lucene regexp over "a.b.c.d" (with Skydive's optional "/NN" suffix): fixed octets
 * as text, the partly masked one and the free ones as numeric intervals.
 */
export function ipv4RangeRegex(cidr: string): string | undefined {
  const r = parseIPv4Range(cidr);
  if (r === undefined) return undefined;
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(r.base / 2 ** shift) % 256);
  const parts = octets.map((o, k) => {
    const fixedBits = Math.min(8, Math.max(0, r.bits - 8 * k));
    if (fixedBits === 8) return String(o);
    const span = 2 ** (8 - fixedBits);
    return `<${o}-${o + span - 1}>`;
  });
  return parts.join('\\.') + '(/[0-9][0-9]?)?';
}
