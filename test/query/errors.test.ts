/**
 * Bad queries: each gives a QueryError (HTTP 400) with a message a user can act on and, where
 * the error has a place, its 0-based position and a caret line.
 */
import t from 'tap';
import { compileFlowFilter, QueryError, runFlowQuery, runFlowQueryJSON } from '../../src/query/index.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import { BASE_MS, baseFlow } from './flow-fixture.js';

const store = new MemoryFlowStore();
store.upsert([baseFlow('a'), baseFlow('icmp', { ICMP: { Type: 'ECHO', Code: 0, ID: 1 } })]);

function errorOf(query: string, nowMs = 0): QueryError {
  try {
    runFlowQuery(store, query, { nowMs });
  } catch (err) {
    if (err instanceof QueryError) return err;
    throw err;
  }
  throw new Error(`no error for ${query}`);
}

t.test('syntax errors: message, position, caret', (t) => {
  const e = errorOf("G.Flows().Has('A',");
  t.equal(e.message, 'unexpected end of query at position 18: expected a value');
  t.equal(e.position, 18);
  t.equal(e.status, 400);
  t.equal(e.caret, "G.Flows().Has('A',\n                  ^");
  t.equal(e.toHTTPBody(), `${e.message}\n${e.caret}`);

  const cases: Array<[string, string, number]> = [
    ['', 'empty query at position 0: a query starts with G', 0],
    ['   ', 'empty query at position 0: a query starts with G', 0],
    ['Flows()', "unexpected 'Flows' at position 0: a query starts with G", 0],
    ['G.', 'unexpected end of query at position 2: expected a step name such as Flows', 2],
    ['G..Flows()', "unexpected '.' at position 2: expected a step name such as Flows", 2],
    ['G.Flows', 'unexpected end of query at position 7: expected \'(\' after Flows', 7],
    ['G.Flows(', 'unexpected end of query at position 8: expected a value', 8],
    ['G.Flows()Has()', "unexpected 'Has' at position 9: expected '.' and a step", 9],
    ['G.Flows().Has(\'a\' \'b\')', "unexpected string 'b' at position 18: expected ',' or ')'", 18],
    ["G.Flows().Has('a',,)", "unexpected ',' at position 18: expected a value", 18],
    ["G.Flows().Has('a)", 'unterminated string at position 14: no closing \' after this quote', 14],
    ['G.Flows().Has("a)', 'unterminated string at position 14: no closing " after this quote', 14],
    ['G.Flows().Limit(1x)', "malformed number '1x' at position 16", 16],
    ['G.Flows().Limit(99999999999999999999)', 'integer 99999999999999999999 is out of the int64 range at position 16', 16],
    ['G.Flows().Has(\'a\', foo)', "unexpected word 'foo' at position 19: expected a value (strings are quoted: 'foo')", 19],
    ['G.Flows() # comment', "unexpected character '#' at position 10", 10],
    ['G.Flows().Has(\'a\', Within(Within(1)))', 'predicate Within() inside a predicate at position 26: predicates take plain values', 26],
    ['G.Flows()\u00e9', 'unexpected character U+00E9 at position 9', 9],
  ];
  for (const [q, message, position] of cases) {
    const err = errorOf(q);
    t.equal(err.message, message, JSON.stringify(q));
    t.equal(err.position, position, `${JSON.stringify(q)} position`);
    t.equal(err.caret.split('\n')[1].indexOf('^'), position, `${JSON.stringify(q)} caret under the position`);
  }
  t.end();
});

t.test('unknown or misplaced steps', (t) => {
  const cases: Array<[string, string]> = [
    ['G.Flows().Hsa(\'a\')', "unknown step 'Hsa' at position 10"],
    ['G.V()', 'step V() is not supported at position 2: it needs the topology graph, which this analyzer does not keep'],
    ['G.Flows().RawPackets()', 'step RawPackets() is not supported at position 10: raw packets are not stored'],
    ['G.Flows().Out()', 'step Out() is not supported at position 10: it needs the topology graph, which this analyzer does not keep'],
    ['G', 'the query gives no flows at position 0: topology queries are not supported; start with G.Flows()'],
    ["G.At('-1m')", 'the query gives no flows at position 2: topology queries are not supported; start with G.Flows()'],
    ['G.Count()', 'Count() cannot follow G at position 2: a flow query starts with G.Flows()'],
    ['G.Flows().Count().Limit(1)', 'Limit() cannot follow Count() at position 18: Count() gives a single value'],
    ["G.Flows().Metrics().Has('a', 1)", 'Has() cannot follow Metrics() at position 20: Metrics() gives metrics'],
    ["G.Flows().Values('UUID').Sort()", 'Sort() cannot follow Values() at position 25: Values() gives a list of values'],
    ['G.Flows().Flows()', 'Flows() cannot follow Flows() at position 10: Flows() gives flows'],
    ["G.Flows().At('-1m')", 'At() cannot follow Flows() at position 10: Flows() gives flows'],
    ["G.At('-1m').At('-2m').Flows()", 'At() must come right after G at position 12'],
    ['G.Flows().Aggregates()', 'Aggregates() cannot follow Flows() at position 10: Flows() gives flows'],
  ];
  for (const [q, message] of cases) t.equal(errorOf(q).message, message, q);
  t.end();
});

t.test('wrong arguments', (t) => {
  const cases: Array<[string, string]> = [
    ['G.Flows().Has()', "Has() needs arguments at position 10: key/value pairs such as ('Network.A', '10.0.0.1')"],
    ["G.Flows().Has('UUID', 'a', 'CaptureID')", 'Has() takes key/value pairs, got 3 arguments at position 27'],
    ['G.Flows().Has(1, 2)', "Has() expects a quoted field name at position 14: for example 'Network.A'"],
    ["G.Flows().Has('Netwrok.A', '1')", "unknown flow field 'Netwrok.A' at position 14"],
    ["G.Flows().Has('network.a', '1')", "unknown flow field 'network.a' at position 14: did you mean Network.A?"],
    ["G.Flows().Has('Metric', 1)", "'Metric' is a block, not a value at position 14: compare one of its fields (such as 'Metric.ABPackets') or use HasKey('Metric')"],
    ["G.Flows().Has('UUID', Foo(1))", "unknown predicate 'Foo' at position 22: flows know Within, Without, Ne, Nee, Gt, Lt, Gte, Lte, Inside, Outside, Between, Regex, Ipv4Range"],
    ["G.Flows().Has('Start', Gt('x'))", 'Gt() compares numbers at position 26: expected a number'],
    ["G.Flows().Has('Start', Gt())", 'Gt() takes 1 argument, got 0 at position 23'],
    ["G.Flows().Has('Start', Inside(1))", 'Inside() takes 2 arguments, got 1 at position 23'],
    ["G.Flows().Has('UUID', Within())", 'Within() takes at least 1 argument, got 0 at position 22'],
    ["G.Flows().Has('UUID', Regex(1))", 'Regex() takes a quoted string at position 28'],
    ["G.Flows().Has('UUID', Regex('^a'))", "invalid Regex at position 29: '^' is not allowed, patterns are anchored at both ends"],
    ["G.Flows().Has('UUID', Regex('a$'))", "invalid Regex at position 30: '$' is not allowed, patterns are anchored at both ends"],
    ["G.Flows().Has('UUID', Regex('(a'))", "invalid Regex at position 29: missing ')'"],
    ["G.Flows().Has('UUID', Regex('a**'))", 'invalid Regex at position 31: invalid nested repetition operator'],
    ["G.Flows().Has('UUID', Regex('\\1'))", 'invalid Regex at position 29: unsupported escape \\1'],
    ["G.Flows().Has('Network.A', Ipv4Range('10.0.0.0'))", "invalid Ipv4Range '10.0.0.0' at position 37: expected a CIDR such as '10.0.0.0/24'"],
    ["G.Flows().Has('Network.A', Ipv4Range('10.0.0.0/33'))", "invalid Ipv4Range '10.0.0.0/33' at position 37: expected a CIDR such as '10.0.0.0/24'"],
    ["G.Flows().Has('UUID', ASC)", 'ASC is not a value at position 22: expected a quoted string or a number'],
    ["G.Flows().Has('UUID', Metadata('a', 1))", 'Metadata() is for topology nodes, not flows at position 22'],
    ["G.Flows().HasKey('UUID', 'x')", 'HasKey() takes 1 argument, got 2 at position 25'],
    ['G.Flows().HasNot(1)', "HasNot() expects a quoted field name at position 17: for example 'Network.A'"],
    ['G.Flows().Limit()', 'Limit() takes 1 argument, got 0 at position 10'],
    ['G.Flows().Limit(-1)', 'Limit() takes whole numbers >= 0 at position 16'],
    ['G.Flows().Limit(1.5)', 'Limit() takes whole numbers >= 0 at position 16'],
    ["G.Flows().Limit('1')", 'Limit() takes whole numbers >= 0 at position 16'],
    ['G.Flows().Range(1)', 'Range() takes 2 arguments, got 1 at position 10'],
    ["G.Flows().Sort('Last', DESC)", "Sort() with two arguments takes a direction first at position 15: for example Sort(DESC, 'Last')"],
    ["G.Flows().Sort(DESC, 'Metric')", "Sort() needs a value field; 'Metric' is a block at position 21"],
    ["G.Flows().Sort(ASC, 'Last', 1)", 'Sort() takes 0 to 2 arguments, got 3 at position 28'],
    ["G.Flows().Dedup('A', 'B')", 'Dedup() takes 0 to 1 arguments, got 2 at position 21'],
    ['G.Flows().Count(1)', 'Count() takes no arguments, got 1 at position 16'],
    ['G.Flows().Values()', 'Values() takes 1 argument, got 0 at position 10'],
    ["G.Flows().Values('DNS')", "Values('DNS') is not supported at position 17: the extra layers are only returned inside whole flows"],
    ['G.Flows().Sum()', "Sum() on flows takes one key, got 0 arguments at position 10: for example Sum('Metric.ABBytes')"],
    ["G.Flows().Sum('Start')", "Sum('Start') is not allowed at position 14: Sum adds fields of Metric or LastUpdateMetric"],
    ["G.Flows().Metrics().Sum('Bytes')", "unknown metric field 'Bytes' at position 24: metrics have ABPackets, ABBytes, BAPackets, BABytes, Start, Last, RTT"],
    ["G.Flows().Metrics('x')", 'Metrics() takes no arguments, got 1 at position 18'],
    ['G.Flows().Metrics().Aggregates(0)', 'Aggregates() takes a positive whole number of seconds at position 31'],
    ["G.At('yesterday').Flows()", "cannot read time 'yesterday' at position 5: use a duration like '-1m', an RFC 3339 or RFC 1123 date, unix seconds or NOW"],
    ['G.At(FOREVER).Flows()', "invalid time at position 5: use a duration like '-1m', an RFC 3339 or RFC 1123 date, unix seconds or NOW"],
    ['G.At(-5).Flows()', "invalid time at position 5: use a duration like '-1m', an RFC 3339 or RFC 1123 date, unix seconds or NOW"],
    ["G.At(NOW, '-5m').Flows()", "invalid duration '-5m' at position 10: use a duration like '5m', a number of seconds, or FOREVER"],
    ['G.At(NOW, NOW).Flows()', "invalid duration at position 10: use a duration like '5m', a number of seconds, or FOREVER"],
    ['G.At().Flows()', 'At() takes 1 to 2 arguments, got 0 at position 2'],
    ["G.At('2026-02-30T00:00:00Z').Flows()", "cannot read time '2026-02-30T00:00:00Z' at position 5: use a duration like '-1m', an RFC 3339 or RFC 1123 date, unix seconds or NOW"],
  ];
  for (const [q, message] of cases) t.equal(errorOf(q).message, message, q);
  t.end();
});

t.test('a predicate on the wrong kind of field is a 400, not an empty answer (REST entry point)', (t) => {
  const cases: Array<[string, string, number]> = [
    ["G.Flows().Has('Transport.B', Regex('44.*'))",
      "Regex() matches text; 'Transport.B' holds numbers at position 29: on numbers use a number, Within, Without, Ne, Nee, Gt, Lt, Gte, Lte, Inside, Between or Outside", 29],
    ["G.Flows().Has('Network.A', Gt(5))",
      "Gt() compares numbers; 'Network.A' holds text at position 27: on text use a quoted value, Within, Without, Ne, Nee, Regex or Ipv4Range", 27],
    ["G.Flows().Has('Transport.B', Ipv4Range('1.0.0.0/8'))",
      "Ipv4Range() matches text; 'Transport.B' holds numbers at position 29: on numbers use a number, Within, Without, Ne, Nee, Gt, Lt, Gte, Lte, Inside, Between or Outside", 29],
    ["G.Flows().Has('Network', Inside(1, 5))",
      "Inside() compares numbers; 'Network' holds text at position 25: on text use a quoted value, Within, Without, Ne, Nee, Regex or Ipv4Range", 25],
    ["G.Flows().Has('TCP', regex('4.*'))",
      "regex() matches text; 'TCP' holds numbers at position 21: on numbers use a number, Within, Without, Ne, Nee, Gt, Lt, Gte, Lte, Inside, Between or Outside", 21],
  ];
  for (const [q, message, position] of cases) {
    t.throws(() => runFlowQueryJSON(store, q), { name: 'QueryError', status: 400, message, position }, q);
  }
  // Every range predicate on a text field, Regex and Ipv4Range on every kind of number field,
  // wherever a key/value pair goes.
  const refused = [
    ...['Gt(1)', 'Lt(1)', 'Gte(1)', 'Lte(1)', 'Inside(1, 2)', 'Between(1, 2)', 'Outside(1, 2)']
      .flatMap((p) => [`Has('UUID', ${p})`, `Has('Link.A', ${p})`, `Has('ICMP.Type', ${p})`, `Has('IPV6.B', ${p})`]),
    ...["Regex('1.*')", "Ipv4Range('10.0.0.0/8')"].flatMap((p) => [`Has('Start', ${p})`, `Has('Metric.ABBytes', ${p})`,
      `Has('LastUpdateMetric.Last', ${p})`, `Has('TCPMetric.ABSynTTL', ${p})`, `Has('IPMetric.Fragments', ${p})`,
      `Has('ICMP.Code', ${p})`, `Has('Link.ID', ${p})`, `Has('UDP.A', ${p})`]),
    "HasEither('CaptureID', 'cap-1', 'Metric.ABBytes', Regex('1.*'))",
  ];
  for (const step of refused) {
    t.throws(() => runFlowQueryJSON(store, `G.Flows().${step}.Count()`), { name: 'QueryError', status: 400 }, step);
  }
  t.throws(() => runFlowQueryJSON(store, "G.Flows('Transport.A', Regex('1'))"), { name: 'QueryError', position: 23 }, 'in Flows(...)');
  t.throws(() => compileFlowFilter("G.Flows().Has('Network.B', Lt(9))"),
    { name: 'QueryError', message: /^Lt\(\) compares numbers; 'Network\.B' holds text at position 27/ }, 'in a subscriber filter');
  t.end();
});

t.test('a block compared to a value: the hint names one of its real fields', (t) => {
  const cases: Array<[string, string]> = [
    ['Metric', "compare one of its fields (such as 'Metric.ABPackets') or use HasKey('Metric')"],
    ['LastUpdateMetric', "compare one of its fields (such as 'LastUpdateMetric.ABPackets') or use HasKey('LastUpdateMetric')"],
    ['TCPMetric', "compare one of its fields (such as 'TCPMetric.ABSynStart') or use HasKey('TCPMetric')"],
    ['IPMetric', "compare one of its fields (such as 'IPMetric.Fragments') or use HasKey('IPMetric')"],
    ['ICMP', "compare one of its fields (such as 'ICMP.Type') or use HasKey('ICMP')"],
    ['DNS', "its content cannot be compared; use HasKey('DNS')"],
    ['DHCPv4', "its content cannot be compared; use HasKey('DHCPv4')"],
    ['VRRPv2', "its content cannot be compared; use HasKey('VRRPv2')"],
  ];
  for (const [block, hint] of cases) {
    const q = `G.Flows().Has('${block}', 1)`;
    t.throws(() => runFlowQueryJSON(store, q), { name: 'QueryError', status: 400, message: `'${block}' is a block, not a value at position 14: ${hint}` }, q);
    const example = /such as '([^']+)'/.exec(hint)?.[1];
    // The field it names is one the query knows (an unknown name would throw).
    const present = { Metric: '2', ICMP: '1' }[block] ?? '0';
    if (example !== undefined) t.equal(runFlowQueryJSON(store, `G.Flows().HasKey('${example}').Count()`), present, example);
  }
  t.end();
});

t.test('errors that depend on the data', (t) => {
  t.equal(errorOf("G.Flows().Values('ICMP.Type')").message,
    "Values('ICMP.Type'): flow a has no ICMP.Type at position 10: keep only flows that have it first, e.g. HasKey('ICMP.Type')");
  t.same(runFlowQuery(store, "G.Flows().HasKey('ICMP').Values('ICMP.Type')"), ['ECHO']);
  const q = "G.At(NOW, '10000h').Flows().Metrics().Aggregates(1)";
  t.equal(errorOf(q, BASE_MS + 1000).message,
    `Aggregates(1) would make 36000000 slices, at most 10000 at position ${q.indexOf('Aggregates')}: take longer slices or a shorter time window`);
  t.same(runFlowQuery(store, "G.At(NOW, '1h').Flows().Metrics().Aggregates(1)", { nowMs: BASE_MS + 1000 }),
    [{ Aggregated: [{ ABPackets: 2, ABBytes: 200, BAPackets: 2, BABytes: 120, Start: BASE_MS, Last: BASE_MS + 1000 }] }], 'within the bound');
  t.end();
});

t.test('a long query is shown around the error, control characters as spaces', (t) => {
  const q = `G.Flows()${".Has('UUID', 'a')".repeat(20)}.Nope()`;
  const e = errorOf(q);
  const [line, caret] = e.caret.split('\n');
  t.ok(line.startsWith('...'), 'cut on the left');
  t.equal(line.slice(caret.indexOf('^')).startsWith('Nope()'), true, 'the caret points at the step');
  const e2 = errorOf("G.Flows()\n\t.Nope()");
  t.equal(e2.caret, 'G.Flows()  .Nope()\n            ^');
  t.end();
});

t.test('queries that are too long are refused before parsing', (t) => {
  const e = errorOf('G.Flows()' + ' '.repeat(70000));
  t.match(e.message, /^query too long: 70009 characters, at most 65536$/);
  t.equal(e.position, undefined);
  t.equal(e.toHTTPBody(), e.message);
  t.end();
});

t.test('compileFlowFilter: filter steps only', (t) => {
  const f = compileFlowFilter("G.Flows().Has('CaptureID', 'cap-1').HasNot('ICMP')");
  t.equal(f(baseFlow('x')), true);
  t.equal(f(baseFlow('y', { CaptureID: 'cap-2' })), false);
  t.equal(f(baseFlow('z', { ICMP: { Type: 'ECHO', Code: 0, ID: 0 } })), false);
  t.equal(compileFlowFilter('G.Flows()')(baseFlow('x')), true);
  t.equal(compileFlowFilter("G.Flows('NodeTID', 'node-a')")(baseFlow('x')), true);
  t.equal(compileFlowFilter("g.flows().haseither('UUID', 'x', 'UUID', 'y')")(baseFlow('y')), true);
  const refused: Array<[string, string]> = [
    ['G.Flows().Limit(1)', "Limit() is not allowed in a flow filter at position 10: only Has, HasEither, HasKey and HasNot may follow G.Flows()"],
    ["G.At('-1m').Flows()", 'a flow filter starts with G.Flows() at position 2'],
    ['G', 'a flow filter starts with G.Flows() at position 0'],
    ["G.Flows().Has('x', 1)", "unknown flow field 'x' at position 14"],
    ['G.Flows(', 'unexpected end of query at position 8: expected a value'],
  ];
  for (const [q, message] of refused) {
    t.throws(() => compileFlowFilter(q), { name: 'QueryError', message }, q);
  }
  t.end();
});
