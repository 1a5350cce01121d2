/**
 * Checks a parsed query against the flow steps (skydive-api.md §4.3-§4.6) and turns it into a
 * plan: a source (G.Flows() with the filters that directly follow it, so the evaluator can pick
 * an index for them) and the operations after it. Every argument is checked here, before any
 * flow is read, so a bad query fails the same way on an empty store and on a full one.
 *
 * What each step takes and gives ("stages"):
 *   G          -> At/Context (first step only), Flows
 *   flows      -> Has, HasEither, HasKey, HasNot, Sort, Dedup, Limit, Range (flows);
 *                 Count, Sum (a number); Values, Keys (a list); Metrics (metrics)
 *   metrics    -> Aggregates (metrics); Count, Sum (a number or a metric); Keys (a list)
 *   a list     -> Dedup, Limit, Range (a list); Count (a number)
 *   a number   -> nothing
 */
import type { ArgNode, LiteralNode, QueryNode, StepNode } from './ast.js';
import { QueryError } from './errors.js';
import { METRIC_KEYS, resolveField, type FieldDef } from './fields.js';
import { ConditionCompiler, type Condition } from './predicates.js';
import { epochIntegerToMs, parseGoDuration, parseTimeString, type TimeArg } from './time.js';

export type Stage = 'graph' | 'flows' | 'metrics' | 'values' | 'scalar';

export type Op =
  | { readonly kind: 'filter'; readonly conditions: readonly Condition[] }
  | { readonly kind: 'sort'; readonly field: FieldDef; readonly descending: boolean }
  /** On flows: first flow of each value of `field`; on a list: first of each value. */
  | { readonly kind: 'dedup'; readonly field?: FieldDef }
  /** Keeps items [from, to). */
  | { readonly kind: 'slice'; readonly from: number; readonly to: number }
  | { readonly kind: 'count' }
  | { readonly kind: 'values'; readonly field: FieldDef; readonly step: StepNode }
  | { readonly kind: 'keys' }
  /** On flows: float total of `field`; on metrics: one field's total, or the merged metric. */
  | { readonly kind: 'sum'; readonly field?: FieldDef; readonly metricKey?: string }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'aggregates'; readonly sliceMs: number; readonly step: StepNode };

/** The time context of G.At / G.Context. */
export interface TimeSpec {
  readonly at: TimeArg;
  /** Window length before `at` in ms (Infinity for FOREVER); undefined for "at one instant". */
  readonly spanMs?: number;
}

export interface Plan {
  readonly query: string;
  readonly time?: TimeSpec;
  /** Conditions of G.Flows(...) and of the filter steps right after it, all ANDed. */
  readonly source: readonly Condition[];
  readonly ops: readonly Op[];
  /** What the last step gives. */
  readonly output: Stage;
}

/** Skydive steps this analyzer does not run, with the reason given to the user. */
const UNSUPPORTED: ReadonlyMap<string, string> = new Map([
  ...['V', 'E', 'OUT', 'IN', 'BOTH', 'OUTE', 'INE', 'BOTHE', 'OUTV', 'INV', 'BOTHV', 'SHORTESTPATHTO', 'SUBGRAPH',
    'AS', 'SELECT', 'DESCENDANTS', 'ASCENDANTS', 'NEIGHBORS', 'NEXTHOP', 'VALUEMAP', 'WORKFLOW', 'NODES', 'HOPS',
    'CAPTURENODE', 'NODE', 'SOCKETS'].map((s) => [s, 'it needs the topology graph, which this analyzer does not keep'] as const),
  ['RAWPACKETS', 'raw packets are not stored'],
  ['BPF', 'raw packets are not stored'],
  ['GROUP', 'it is not implemented'],
  ['MORETHAN', 'it is not implemented'],
]);

const STAGE_WORDS: Readonly<Record<Stage, string>> = {
  graph: 'G', flows: 'flows', metrics: 'metrics', values: 'a list of values', scalar: 'a single value',
};

/** Step names as users write them, for messages. */
const STEP_NAMES: Readonly<Record<string, string>> = {
  FLOWS: 'Flows', AT: 'At', CONTEXT: 'Context', HAS: 'Has', HASEITHER: 'HasEither', HASKEY: 'HasKey', HASNOT: 'HasNot',
  SORT: 'Sort', DEDUP: 'Dedup', LIMIT: 'Limit', RANGE: 'Range', COUNT: 'Count', VALUES: 'Values', KEYS: 'Keys',
  SUM: 'Sum', METRICS: 'Metrics', AGGREGATES: 'Aggregates',
};

const FILTER_STEPS = new Set(['HAS', 'HASEITHER', 'HASKEY', 'HASNOT']);

class Compiler {
  private readonly conditions: ConditionCompiler;
  private readonly text: string;

  constructor(private readonly node: QueryNode) {
    this.text = node.text;
    this.conditions = new ConditionCompiler(node.text);
  }

  private fail(what: string, at: { pos: number }, expected?: string): never {
    throw new QueryError(what, { query: this.text, position: at.pos, expected });
  }

  compile(): Plan {
    let stage: Stage = 'graph';
    let time: TimeSpec | undefined;
    let source: Condition[] = [];
    const ops: Op[] = [];
    let previous = 'G';
    for (const [i, step] of this.node.steps.entries()) {
      const name = STEP_NAMES[step.upper];
      if (name === undefined) {
        const reason = UNSUPPORTED.get(step.upper);
        if (reason !== undefined) this.fail(`step ${step.name}() is not supported`, step, reason);
        this.fail(`unknown step '${step.name}'`, step);
      }
      const wrongStage: () => never = () =>
        this.fail(`${name}() cannot follow ${previous}()`, step, `${previous === 'G' ? 'G' : previous + '()'} gives ${STAGE_WORDS[stage]}`);
      switch (stage) {
        case 'graph':
          if (step.upper === 'AT' || step.upper === 'CONTEXT') {
            if (i !== 0) this.fail(`${name}() must come right after G`, step);
            time = this.timeSpec(step);
          } else if (step.upper === 'FLOWS') {
            source = step.args.length > 0 ? this.conditions.hasArgs('Flows', step.args, 'and', step) : [];
            stage = 'flows';
          } else {
            this.fail(`${name}() cannot follow ${previous === 'G' ? 'G' : previous + '()'}`, step, 'a flow query starts with G.Flows()');
          }
          break;
        case 'flows': {
          if (FILTER_STEPS.has(step.upper)) {
            const conds = this.filter(step);
            // Filters right after Flows() join the source, where an index can serve them.
            if (ops.length === 0) source = [...source, ...conds];
            else ops.push({ kind: 'filter', conditions: conds });
            break;
          }
          const op = this.flowsStep(step);
          if (op === undefined) wrongStage();
          ops.push(op.op);
          stage = op.stage;
          break;
        }
        case 'metrics': {
          const op = this.metricsStep(step);
          if (op === undefined) wrongStage();
          ops.push(op.op);
          stage = op.stage;
          break;
        }
        case 'values': {
          const op = this.valuesStep(step);
          if (op === undefined) wrongStage();
          ops.push(op);
          if (op.kind === 'count') stage = 'scalar';
          break;
        }
        case 'scalar':
          wrongStage();
      }
      previous = name;
    }
    if (stage === 'graph') {
      const at = this.node.steps.length > 0 ? this.node.steps[this.node.steps.length - 1] : { pos: 0 };
      this.fail('the query gives no flows', at, 'topology queries are not supported; start with G.Flows()');
    }
    return { query: this.text, time, source, ops, output: stage };
  }

  private filter(step: StepNode): Condition[] {
    switch (step.upper) {
      case 'HAS': return this.conditions.hasArgs('Has', step.args, 'and', step);
      case 'HASEITHER': return this.conditions.hasArgs('HasEither', step.args, 'or', step);
      default: {
        const name = STEP_NAMES[step.upper];
        this.argCount(step, 1, 1);
        return [this.conditions.presence(name, step.args[0], step.upper === 'HASKEY')];
      }
    }
  }

  private flowsStep(step: StepNode): { op: Op; stage: Stage } | undefined {
    switch (step.upper) {
      case 'SORT': return { op: this.sort(step), stage: 'flows' };
      case 'DEDUP': {
        this.argCount(step, 0, 1);
        const field = step.args.length === 0 ? (resolveField('TrackingID') as FieldDef) : this.valueField(step, step.args[0]);
        return { op: { kind: 'dedup', field }, stage: 'flows' };
      }
      case 'LIMIT': return { op: this.limit(step), stage: 'flows' };
      case 'RANGE': return { op: this.range(step), stage: 'flows' };
      case 'COUNT':
        this.argCount(step, 0, 0);
        return { op: { kind: 'count' }, stage: 'scalar' };
      case 'VALUES': {
        this.argCount(step, 1, 1);
        const key = this.conditions.keyOf('Values', step.args[0]);
        const field = this.conditions.field(key, step.args[0]);
        if (field.name === 'DNS' || field.name === 'DHCPv4' || field.name === 'VRRPv2') {
          this.fail(`Values('${key}') is not supported`, step.args[0], 'the extra layers are only returned inside whole flows');
        }
        return { op: { kind: 'values', field, step }, stage: 'values' };
      }
      case 'KEYS':
        this.argCount(step, 0, 0);
        return { op: { kind: 'keys' }, stage: 'values' };
      case 'SUM': {
        if (step.args.length !== 1) {
          this.fail(`Sum() on flows takes one key, got ${step.args.length} arguments`, step, "for example Sum('Metric.ABBytes')");
        }
        const field = this.valueField(step, step.args[0]);
        if (!field.name.startsWith('Metric.') && !field.name.startsWith('LastUpdateMetric.')) {
          this.fail(`Sum('${field.name}') is not allowed`, step.args[0], 'Sum adds fields of Metric or LastUpdateMetric');
        }
        return { op: { kind: 'sum', field }, stage: 'scalar' };
      }
      case 'METRICS':
        this.argCount(step, 0, 0);
        return { op: { kind: 'metrics' }, stage: 'metrics' };
      default:
        return undefined;
    }
  }

  private metricsStep(step: StepNode): { op: Op; stage: Stage } | undefined {
    switch (step.upper) {
      case 'COUNT':
        this.argCount(step, 0, 0);
        return { op: { kind: 'count' }, stage: 'scalar' };
      case 'KEYS':
        this.argCount(step, 0, 0);
        return { op: { kind: 'keys' }, stage: 'values' };
      case 'SUM': {
        this.argCount(step, 0, 1);
        if (step.args.length === 0) return { op: { kind: 'sum' }, stage: 'scalar' };
        const key = this.conditions.keyOf('Sum', step.args[0]);
        if (!METRIC_KEYS.includes(key)) this.fail(`unknown metric field '${key}'`, step.args[0], `metrics have ${METRIC_KEYS.join(', ')}`);
        return { op: { kind: 'sum', metricKey: key }, stage: 'scalar' };
      }
      case 'AGGREGATES': {
        this.argCount(step, 0, 1);
        let seconds = 30;
        if (step.args.length === 1) {
          const a = step.args[0];
          if (a.kind !== 'number' || a.isFloat || typeof a.value !== 'number' || a.value <= 0) {
            this.fail('Aggregates() takes a positive whole number of seconds', a);
          }
          seconds = a.value;
        }
        return { op: { kind: 'aggregates', sliceMs: seconds * 1000, step }, stage: 'metrics' };
      }
      default:
        return undefined;
    }
  }

  private valuesStep(step: StepNode): Op | undefined {
    switch (step.upper) {
      case 'COUNT':
        this.argCount(step, 0, 0);
        return { kind: 'count' };
      case 'DEDUP':
        this.argCount(step, 0, 0);
        return { kind: 'dedup' };
      case 'LIMIT': return this.limit(step);
      case 'RANGE': return this.range(step);
      default: return undefined;
    }
  }

  /** A string or number field named by `arg` (not a block). */
  private valueField(step: StepNode, arg: ArgNode): FieldDef {
    const name = STEP_NAMES[step.upper];
    const key = this.conditions.keyOf(name, arg);
    const field = this.conditions.field(key, arg);
    if (field.type === 'object') this.fail(`${name}() needs a value field; '${key}' is a block`, arg);
    return field;
  }

  private sort(step: StepNode): Op {
    this.argCount(step, 0, 2);
    let descending = false;
    let keyArg: ArgNode | undefined;
    const [first, second] = step.args;
    if (first !== undefined && first.kind === 'keyword' && (first.value === 'ASC' || first.value === 'DESC')) {
      descending = first.value === 'DESC';
      keyArg = second;
    } else if (step.args.length === 2) {
      this.fail('Sort() with two arguments takes a direction first', first, "for example Sort(DESC, 'Last')");
    } else {
      keyArg = first;
    }
    // Skydive's default sort key for flows is Last, ascending.
    const field = keyArg === undefined ? (resolveField('Last') as FieldDef) : this.valueField(step, keyArg);
    return { kind: 'sort', field, descending };
  }

  private limit(step: StepNode): Op {
    this.argCount(step, 1, 1);
    return { kind: 'slice', from: 0, to: this.count(step.args[0], 'Limit') };
  }

  private range(step: StepNode): Op {
    this.argCount(step, 2, 2);
    const from = this.count(step.args[0], 'Range');
    const to = this.count(step.args[1], 'Range');
    return { kind: 'slice', from, to: Math.max(from, to) };
  }

  /** A non-negative integer argument; values beyond 2^53 are as good as infinite. */
  private count(arg: ArgNode, name: string): number {
    if (arg.kind !== 'number' || arg.isFloat || arg.value < 0) this.fail(`${name}() takes whole numbers >= 0`, arg);
    return typeof arg.value === 'bigint' ? Number.MAX_SAFE_INTEGER : arg.value;
  }

  private argCount(step: StepNode, min: number, max: number): void {
    const n = step.args.length;
    if (n >= min && n <= max) return;
    const name = STEP_NAMES[step.upper] ?? step.name;
    const want = max === 0 ? 'no arguments' : min === max ? `${min} argument${min > 1 ? 's' : ''}` : `${min} to ${max} arguments`;
    this.fail(`${name}() takes ${want}, got ${n}`, n > max ? step.args[max] : step);
  }

  private timeSpec(step: StepNode): TimeSpec {
    this.argCount(step, 1, 2);
    const at = this.timeArg(step.args[0]);
    if (step.args.length === 1) return { at };
    return { at, spanMs: this.spanArg(step.args[1]) };
  }

  private timeArg(arg: ArgNode): TimeArg {
    const usage = "use a duration like '-1m', an RFC 3339 or RFC 1123 date, unix seconds or NOW";
    switch (arg.kind) {
      case 'keyword':
        if (arg.value === 'NOW') return { kind: 'now' };
        break;
      case 'number':
        if (!arg.isFloat && typeof arg.value === 'number' && arg.value >= 0) return { kind: 'absolute', ms: epochIntegerToMs(arg.value) };
        break;
      case 'string': {
        const t = parseTimeString(arg.value);
        if (t !== undefined) return t;
        return this.fail(`cannot read time '${arg.value}'`, arg, usage);
      }
      default:
        break;
    }
    return this.fail('invalid time', arg, usage);
  }

  private spanArg(arg: LiteralNode | ArgNode): number {
    const usage = "use a duration like '5m', a number of seconds, or FOREVER";
    if (arg.kind === 'keyword' && arg.value === 'FOREVER') return Infinity;
    if (arg.kind === 'number' && !arg.isFloat && typeof arg.value === 'number' && arg.value >= 0) return arg.value * 1000;
    if (arg.kind === 'string') {
      const ms = parseGoDuration(arg.value);
      if (ms !== undefined && ms >= 0) return ms;
      return this.fail(`invalid duration '${arg.value}'`, arg, usage);
    }
    return this.fail('invalid duration', arg, usage);
  }
}

/** Checks a parsed query and plans it; throws QueryError pointing at the faulty step or argument. */
export function compileQuery(node: QueryNode): Plan {
  return new Compiler(node).compile();
}
