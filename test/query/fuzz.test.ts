/**
 * Random and mutated queries: every one must give a reply (valid JSON) or a QueryError, never
 * another exception, and quickly. Seeded, so a failure names a query that reproduces it;
 * QUERY_FUZZ_SEED and QUERY_FUZZ_RUNS change the seed and the number of queries per kind.
 */
import t from 'tap';
import { compileFlowFilter, QueryError, runFlowQuery, runFlowQueryJSON } from '../../src/query/index.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import { BASE_MS, makeFlows, rng } from './flow-fixture.js';

const SEED = Number(process.env.QUERY_FUZZ_SEED ?? 20261121);
const RUNS = Number(process.env.QUERY_FUZZ_RUNS ?? 1500);
/** A query on a few hundred flows taking longer than this counts as a hang. */
const SLOW_MS = 2000;

const store = new MemoryFlowStore({ retentionMs: Infinity });
const flows = makeFlows(300);
store.upsert(flows);
// Some history, so Metrics and time windows have something to cut.
store.upsert(flows.slice(0, 100).map((f) => ({
  ...f, Last: Number(f.Last) + 60_000,
  LastUpdateMetric: { ...f.Metric, Start: Number(f.Last), Last: Number(f.Last) + 60_000 },
})));

const random = rng(SEED);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

const STEPS = ['Flows', 'Has', 'HasEither', 'HasKey', 'HasNot', 'Sort', 'Dedup', 'Limit', 'Range', 'Count', 'Values',
  'Keys', 'Sum', 'Metrics', 'Aggregates', 'At', 'Context', 'V', 'Out', 'Nope', 'flows', 'HAS', 'RawPackets'];
const KEYS = ['UUID', 'Network.A', 'Network.B', 'Network', 'Transport.B', 'Transport', 'Link', 'IPV4.A', 'TCP.B',
  'TrackingID', 'CaptureID', 'NodeTID', 'ParentUUID', 'LayersPath', 'Application', 'Metric.ABBytes',
  'LastUpdateMetric.ABPackets', 'Start', 'Last', 'ICMP.Type', 'Link.ID', 'Metric', 'DNS', 'Nope', '', 'ABBytes'];
const VALUES = ['10.0.0.1', 'cap-1', 'node-a', 'ECHO', 'TCP', '', 'Ethernet/IPv4/TCP', '-1m', '5m', 'x', "''", '2026-11-21T17:28:43Z'];
const PREDICATES = ['Within', 'Without', 'Regex', 'Gt', 'Lt', 'Gte', 'Lte', 'Inside', 'Outside', 'Between', 'Ne', 'Nee',
  'Ipv4Range', 'Metadata', 'Foo'];
const REGEXES = ['10\\..*', '(a+)+b', '.*', '[a-', 'a{2,1}', '^x', '(?i)tcp', '\\d+', '(', '[[:alpha:]]*', 'x{1000}'];
const NUMBERS = ['0', '1', '-1', '443', '1.5', '-0.25', '9223372036854775807', '-9223372036854775808', String(BASE_MS),
  String(Math.floor(BASE_MS / 1000)), '99999999999999999999', '2147483649'];

function quote(s: string): string {
  return random() < 0.5 ? `'${s.replace(/'/g, '')}'` : `"${s.replace(/"/g, '')}"`;
}

function literal(): string {
  switch (int(6)) {
    case 0: return quote(pick(KEYS));
    case 1: return quote(pick(VALUES));
    case 2: return pick(NUMBERS);
    case 3: return pick(['ASC', 'DESC', 'NOW', 'FOREVER', 'true', 'false']);
    case 4: return quote(pick(REGEXES));
    default: return pick(NUMBERS);
  }
}

function arg(): string {
  if (random() < 0.3) {
    const n = int(4);
    return `${pick(PREDICATES)}(${Array.from({ length: n }, literal).join(', ')})`;
  }
  return literal();
}

/** A query from the grammar, mostly plausible, sometimes not. */
function generated(): string {
  const steps: string[] = [];
  if (random() < 0.2) steps.push(`${pick(['At', 'Context'])}(${Array.from({ length: 1 + int(2) }, literal).join(', ')})`);
  if (random() < 0.9) steps.push(`Flows(${random() < 0.2 ? `${quote(pick(KEYS))}, ${arg()}` : ''})`);
  const n = int(6);
  for (let i = 0; i < n; i++) {
    const name = pick(STEPS);
    const argc = int(4);
    const args: string[] = [];
    for (let k = 0; k < argc; k++) args.push(k % 2 === 0 && name.startsWith('Has') ? quote(pick(KEYS)) : arg());
    steps.push(`${name}(${args.join(', ')})`);
  }
  return [pick(['G', 'g']), ...steps].join('.');
}

/** A query that follows the step rules, with random plausible arguments: exercises the evaluator. */
function plausible(): string {
  const filter = (): string => {
    const key = quote(pick(KEYS.filter((k) => k !== '' && k !== 'Nope')));
    switch (int(4)) {
      case 0: return `Has(${key}, ${arg()})`;
      case 1: return `HasEither(${key}, ${arg()}, ${quote(pick(KEYS))}, ${arg()})`;
      case 2: return `HasKey(${key})`;
      default: return `HasNot(${key})`;
    }
  };
  const steps: string[] = [];
  if (random() < 0.3) steps.push(`At(${pick(["'-30m'", 'NOW', String(BASE_MS + 1_800_000), "'2025-11-21T05:00:00Z'"])}, ${pick(["'1h'", '60', 'FOREVER', "'0s'"])})`);
  steps.push('Flows()');
  for (let i = int(5); i > 0; i--) {
    steps.push(pick([filter(), filter(), `Sort(${pick(['', 'DESC', "ASC, 'Transport.B'", "DESC, 'Network.A'"])})`,
      `Dedup(${pick(['', "'CaptureID'", "'Transport.A'"])})`, `Limit(${int(50)})`, `Range(${int(20)}, ${int(40)})`]));
  }
  steps.push(pick(['Count()', "Values('Network.A')", "Values('Metric')", 'Keys()', "Sum('Metric.ABBytes')", 'Metrics()',
    'Metrics().Sum()', "Metrics().Sum('ABBytes')", 'Metrics().Count()', `Metrics().Aggregates(${1 + int(600)})`,
    'Metrics().Keys()', "Values('CaptureID').Dedup().Limit(2)", 'Limit(3)', '']).replace(/^$/, 'Dedup()'));
  return ['G', ...steps].join('.');
}

const VALID = [
  "G.Flows().Has('Network.A', '10.0.0.1').Sort(DESC, 'Last').Limit(10)",
  "G.Flows().HasEither('Transport.B', 443, 'Transport.B', 80).Dedup().Count()",
  "G.At('-1m', 3600).Flows().Has('CaptureID', Within('cap-1', 'cap-2')).Metrics().Aggregates(60)",
  "G.Flows().Has('Network', Ipv4Range('10.0.0.0/8')).Values('Transport')",
  "G.Flows().Has('LayersPath', Regex('Ethernet/IPv[46]/.*')).Metrics().Sum()",
  `G.Context(${BASE_MS}, FOREVER).Flows().HasNot('ICMP').Sort().Range(2, 5).Keys()`,
  "G.Flows().Has('Metric.ABBytes', Between(100, 2000)).Sum('Metric.ABBytes')",
];

const ALPHABET = "G.()',\"0123456789-aAzZ_ \t\n\\[]{}*+?|^$#@\u00e9\u0000\u{1F600}";

function mutated(): string {
  let q = pick(VALID);
  const edits = 1 + int(4);
  for (let e = 0; e < edits; e++) {
    const at = int(q.length + 1);
    switch (int(5)) {
      case 0: q = q.slice(0, at) + q.slice(at + 1); break;
      case 1: q = q.slice(0, at) + pick([...ALPHABET]) + q.slice(at); break;
      case 2: q = q.slice(0, at) + pick([...ALPHABET]) + q.slice(at + 1); break;
      case 3: q = q.slice(0, at); break;
      default: {
        const from = int(q.length);
        q = q.slice(0, at) + q.slice(from, from + int(20)) + q.slice(at);
      }
    }
  }
  return q;
}

function noise(): string {
  return Array.from({ length: int(60) }, () => pick([...ALPHABET])).join('');
}

/** Runs `q` every way the analyzer can; returns a description of any failure. */
function check(q: string): string | undefined {
  const started = performance.now();
  try {
    const value = runFlowQuery(store, q, { nowMs: BASE_MS + 3_600_000 });
    JSON.stringify(value);
    JSON.parse(runFlowQueryJSON(store, q, { nowMs: BASE_MS + 3_600_000 }));
  } catch (err) {
    if (!(err instanceof QueryError)) return `${(err as Error).stack}`;
    if (typeof err.message !== 'string' || err.message.length === 0) return 'empty QueryError message';
    if (err.position !== undefined && (err.position < 0 || err.position > q.length)) return `position ${err.position} out of range`;
  }
  try {
    const filter = compileFlowFilter(q);
    for (const f of flows.slice(0, 20)) filter(f);
  } catch (err) {
    if (!(err instanceof QueryError)) return `compileFlowFilter: ${(err as Error).stack}`;
  }
  const ms = performance.now() - started;
  if (ms > SLOW_MS) return `took ${ms.toFixed(0)} ms`;
  return undefined;
}

for (const [kind, make] of [['plausible', plausible], ['grammar', generated], ['mutation', mutated], ['noise', noise]] as const) {
  t.test(`fuzz: ${RUNS} ${kind} queries (seed ${SEED})`, (t) => {
    const failures: string[] = [];
    let replies = 0;
    for (let i = 0; i < RUNS; i++) {
      const q = make();
      const problem = check(q);
      if (problem !== undefined) failures.push(`${JSON.stringify(q)}: ${problem}`);
      try {
        runFlowQuery(store, q);
        replies++;
      } catch {
        // counted below
      }
    }
    t.same(failures.slice(0, 5), [], 'no crash, no hang');
    t.comment(`${replies} of ${RUNS} ran, ${RUNS - replies} were refused`);
    if (kind !== 'noise') t.ok(replies > 0, 'some queries are valid, so the evaluator is exercised too');
    t.end();
  });
}
