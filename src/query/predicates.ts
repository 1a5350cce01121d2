/**
 * Has / HasEither / HasKey / HasNot arguments compiled into flow conditions
 * (skydive-api.md §4.2, §4.4).
 *
 * Value semantics are Skydive's: a quoted value compares as text, a number as int64, and a value
 * of the other type never matches (Has('Transport.B', '443') finds nothing: ports are numbers;
 * Has('Network.A', 10) neither: addresses are text); Within, Without, Ne and Nee take values
 * the same way, mixed types included. An absent field matches nothing, except Without, Nee and
 * HasNot. Departures from Skydive, chosen for users (docs/compat.md#gremlin-errors):
 * Outside(a, b) works (x < a or x > b; Skydive never tokenises it), range predicates also take
 * floats, and where Skydive finds nothing an error says what is wrong: an unknown field name,
 * Gt/Lt/Gte/Lte/Inside/Between/Outside on a text field, Regex or Ipv4Range on a number field.
 */
import type { Flow, Int64 } from '../flow/types.js';
import type { IndexedField, IndexKey } from '../store/types.js';
import type { ArgNode, LiteralNode, PredicateNode } from './ast.js';
import { QueryError } from './errors.js';
import { blockFields, resolveField, suggestFields, twoSidedFields, type FieldDef, type FieldType, type FieldValue } from './fields.js';
import { inIPv4Range, parseIPv4Range } from './ipv4.js';
import { compileRegex, RegexSyntaxError } from './regex.js';

/** One index lookup that yields candidates for a condition. */
export interface Seed {
  readonly field: IndexedField;
  readonly key: IndexKey;
}

export interface Condition {
  readonly test: (f: Flow) => boolean;
  /**
   * When present, every flow passing `test` is among the flows these lookups give (an empty
   * list: no flow can pass). Absent when the condition cannot use an index.
   */
  readonly seeds?: readonly Seed[];
  /**
   * The flows passing `test` are exactly those the seeds give, and no flow is given twice
   * (equality or Within on one field): counting them needs no test.
   */
  readonly exact?: boolean;
}

interface ValueMatcher {
  readonly match: (v: FieldValue | undefined) => boolean;
  /** Index keys covering every match, when the predicate is an equality or Within. */
  readonly keys?: readonly IndexKey[];
}

export const PREDICATE_NAMES = [
  'Within', 'Without', 'Ne', 'Nee', 'Gt', 'Lt', 'Gte', 'Lte', 'Inside', 'Outside', 'Between', 'Regex', 'Ipv4Range',
];

/** Predicates that only make sense on one kind of field; on the other kind they are an error. */
const NUMBER_ONLY = new Set(['GT', 'LT', 'GTE', 'LTE', 'INSIDE', 'BETWEEN', 'OUTSIDE']);
const TEXT_ONLY = new Set(['REGEX', 'IPV4RANGE']);

function isNumeric(v: FieldValue | undefined): v is Int64 {
  return typeof v === 'number' || typeof v === 'bigint';
}

/** Sign of a - b for two int64/float values, exact for big integers. */
export function compareNumbers(a: Int64, b: Int64): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const fractional = (x: Int64): boolean => typeof x === 'number' && !Number.isInteger(x);
  if (fractional(a) || fractional(b)) {
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Compiles a query into conditions; knows the query text for error positions. */
export class ConditionCompiler {
  constructor(private readonly query: string) {}

  private fail(what: string, node: { pos: number }, expected?: string): never {
    throw new QueryError(what, { query: this.query, position: node.pos, expected });
  }

  /**
   * The arguments of Has (mode 'and') or HasEither (mode 'or'), or of G.Flows(...): conditions
   * that must all hold (one per pair for Has, a single one for HasEither).
   */
  hasArgs(step: string, args: readonly ArgNode[], mode: 'and' | 'or', at: { pos: number }): Condition[] {
    if (args.length === 0) this.fail(`${step}() needs arguments`, at, 'key/value pairs such as (\'Network.A\', \'10.0.0.1\')');
    if (args.length === 1 && mode === 'and') return [this.presence(step, args[0], true)];
    if (args.length % 2 !== 0) {
      this.fail(`${step}() takes key/value pairs, got ${args.length} arguments`, args[args.length - 1]);
    }
    const parts: Condition[] = [];
    for (let i = 0; i < args.length; i += 2) parts.push(this.pair(step, args[i], args[i + 1]));
    return mode === 'and' ? parts : [anyOf(parts)];
  }

  /** HasKey(key) (present = true) and HasNot(key). */
  presence(step: string, keyNode: ArgNode, present: boolean): Condition {
    const key = this.keyOf(step, keyNode);
    const field = this.field(key, keyNode);
    const get = field.get;
    return { test: present ? (f) => get(f) !== undefined : (f) => get(f) === undefined };
  }

  /** The text of a key argument. */
  keyOf(step: string, node: ArgNode): string {
    if (node.kind !== 'string') this.fail(`${step}() expects a quoted field name`, node, "for example 'Network.A'");
    return node.value;
  }

  /** The field named `key` (any type); an unknown name is an error pointing at `node`. */
  field(key: string, node: { pos: number }): FieldDef {
    const field = resolveField(key);
    if (field === undefined) {
      const hints = suggestFields(key);
      this.fail(`unknown flow field '${key}'`, node, hints.length > 0 ? `did you mean ${hints.join(', ')}?` : undefined);
    }
    return field;
  }

  private pair(step: string, keyNode: ArgNode, valueNode: ArgNode): Condition {
    const key = this.keyOf(step, keyNode);
    const sides = twoSidedFields(key);
    if (sides !== undefined) {
      // Both sides have the same type.
      this.checkKind(key, sides[0].type, valueNode);
      const [a, b] = sides.map((side) => this.onField(side, valueNode));
      return anyOf([a, b]);
    }
    const field = this.field(key, keyNode);
    if (field.type === 'object') {
      const [example] = blockFields(field.name);
      this.fail(`'${key}' is a block, not a value`, keyNode, example === undefined
        ? `its content cannot be compared; use HasKey('${key}')`
        : `compare one of its fields (such as '${example}') or use HasKey('${key}')`);
    }
    this.checkKind(key, field.type, valueNode);
    return this.onField(field, valueNode);
  }

  /**
   * Refuses a range predicate on a text field and Regex/Ipv4Range on a number field: Skydive
   * silently finds nothing there, which reads as "no such flows" when the query is at fault.
   */
  private checkKind(key: string, type: FieldType, node: ArgNode): void {
    if (node.kind !== 'predicate') return;
    if (type === 'string' && NUMBER_ONLY.has(node.upper)) {
      this.fail(`${node.name}() compares numbers; '${key}' holds text`, node,
        'on text use a quoted value, Within, Without, Ne, Nee, Regex or Ipv4Range');
    }
    if (type === 'int' && TEXT_ONLY.has(node.upper)) {
      this.fail(`${node.name}() matches text; '${key}' holds numbers`, node,
        'on numbers use a number, Within, Without, Ne, Nee, Gt, Lt, Gte, Lte, Inside, Between or Outside');
    }
  }

  private onField(field: FieldDef, valueNode: ArgNode): Condition {
    const { match, keys } = this.matcher(field, valueNode);
    const get = field.get;
    const test = (f: Flow): boolean => match(get(f));
    if (field.index === undefined || keys === undefined) return { test };
    const index = field.index;
    // Distinct keys of one field have disjoint postings.
    return { test, seeds: [...new Set(keys)].map((key) => ({ field: index, key })), exact: true };
  }

  private matcher(field: FieldDef, node: ArgNode): ValueMatcher {
    if (node.kind !== 'predicate') return this.equality(field, node);
    const p = node;
    switch (p.upper) {
      case 'WITHIN': {
        const eqs = this.literals(p, 1, Infinity).map((lit) => this.equality(field, lit));
        const keys = eqs.every((e) => e.keys !== undefined) ? eqs.flatMap((e) => e.keys as IndexKey[]) : undefined;
        return { match: (v) => eqs.some((e) => e.match(v)), keys };
      }
      case 'WITHOUT': {
        const eqs = this.literals(p, 1, Infinity).map((lit) => this.equality(field, lit));
        return { match: (v) => !eqs.some((e) => e.match(v)) };
      }
      case 'NE': {
        const eq = this.equality(field, this.literals(p, 1, 1)[0]);
        return { match: (v) => v !== undefined && !eq.match(v) };
      }
      case 'NEE': {
        const eq = this.equality(field, this.literals(p, 1, 1)[0]);
        return { match: (v) => !eq.match(v) };
      }
      case 'GT': case 'LT': case 'GTE': case 'LTE': {
        const [n] = this.numbers(p, 1);
        const ok = { GT: (c: number) => c > 0, LT: (c: number) => c < 0, GTE: (c: number) => c >= 0, LTE: (c: number) => c <= 0 }[p.upper];
        return { match: (v) => isNumeric(v) && ok(compareNumbers(v, n)) };
      }
      case 'INSIDE': {
        const [lo, hi] = this.numbers(p, 2);
        return { match: (v) => isNumeric(v) && compareNumbers(v, lo) > 0 && compareNumbers(v, hi) < 0 };
      }
      case 'BETWEEN': {
        const [lo, hi] = this.numbers(p, 2);
        return { match: (v) => isNumeric(v) && compareNumbers(v, lo) >= 0 && compareNumbers(v, hi) < 0 };
      }
      case 'OUTSIDE': {
        const [lo, hi] = this.numbers(p, 2);
        return { match: (v) => isNumeric(v) && (compareNumbers(v, lo) < 0 || compareNumbers(v, hi) > 0) };
      }
      case 'REGEX': {
        const lit = this.strings(p, 1)[0];
        let re;
        try {
          re = compileRegex(lit.value);
        } catch (err) {
          if (!(err instanceof RegexSyntaxError)) throw err;
          // +1: the offset is inside the quotes.
          throw new QueryError('invalid Regex', { query: this.query, position: lit.pos + 1 + err.offset, expected: err.message });
        }
        return { match: (v) => typeof v === 'string' && re.test(v) };
      }
      case 'IPV4RANGE': {
        const lit = this.strings(p, 1)[0];
        const range = parseIPv4Range(lit.value);
        if (range === undefined) this.fail(`invalid Ipv4Range '${lit.value}'`, lit, "expected a CIDR such as '10.0.0.0/24'");
        return { match: (v) => typeof v === 'string' && inIPv4Range(v, range) };
      }
      case 'METADATA':
        return this.fail('Metadata() is for topology nodes, not flows', p);
      default:
        return this.fail(`unknown predicate '${p.name}'`, p, `flows know ${PREDICATE_NAMES.join(', ')}`);
    }
  }

  /** Plain equality with a literal, with the index keys it covers. */
  private equality(field: FieldDef, node: LiteralNode): ValueMatcher {
    switch (node.kind) {
      case 'string': {
        const s = node.value;
        const keys = field.type !== 'string' ? [] : s === '' ? undefined : [s];
        return { match: (v) => v === s, keys };
      }
      case 'number': {
        const n = node.value;
        const indexable = typeof n === 'number' && Number.isInteger(n);
        const keys = field.type !== 'int' ? [] : indexable ? [n] : [];
        return { match: (v) => isNumeric(v) && compareNumbers(v, n) === 0, keys };
      }
      case 'bool':
        // No flow field is a boolean: Skydive's bool filter never matches a flow either.
        return { match: () => false, keys: [] };
      case 'keyword':
        return this.fail(`${node.value} is not a value`, node, 'expected a quoted string or a number');
    }
  }

  private literals(p: PredicateNode, min: number, max: number): LiteralNode[] {
    const n = p.args.length;
    if (n < min || n > max) {
      const want = min === max ? `${min} argument${min > 1 ? 's' : ''}` : `at least ${min} argument`;
      this.fail(`${p.name}() takes ${want}, got ${n}`, p);
    }
    return p.args as LiteralNode[];
  }

  private numbers(p: PredicateNode, count: number): Int64[] {
    return this.literals(p, count, count).map((lit) => {
      if (lit.kind !== 'number') this.fail(`${p.name}() compares numbers`, lit, 'expected a number');
      return lit.value;
    });
  }

  private strings(p: PredicateNode, count: number): Array<Extract<LiteralNode, { kind: 'string' }>> {
    return this.literals(p, count, count).map((lit) => {
      if (lit.kind !== 'string') this.fail(`${p.name}() takes a quoted string`, lit);
      return lit;
    });
  }
}

/** AND of conditions (no index: the planner picks one among the parts before combining). */
export function allOf(parts: readonly Condition[]): (f: Flow) => boolean {
  if (parts.length === 1) return parts[0].test;
  const tests = parts.map((p) => p.test);
  return (f) => {
    for (const t of tests) if (!t(f)) return false;
    return true;
  };
}

/** OR of conditions: indexable only when every part is. */
export function anyOf(parts: readonly Condition[]): Condition {
  if (parts.length === 1) return parts[0];
  const tests = parts.map((p) => p.test);
  const seeds = parts.every((p) => p.seeds !== undefined) ? parts.flatMap((p) => p.seeds as Seed[]) : undefined;
  return seeds === undefined ? { test: (f) => tests.some((t) => t(f)) } : { test: (f) => tests.some((t) => t(f)), seeds };
}
