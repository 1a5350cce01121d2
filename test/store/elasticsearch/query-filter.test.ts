/**
 * History filters as Elasticsearch queries: the shapes for each predicate, the missing-field
 * branch for default values, and the regex and CIDR translations to Lucene.
 */
import t from 'tap';
import { parseQuery } from '../../../src/query/parser.js';
import { flowFilter, ipv4RangeRegex, luceneRegex } from '../../../src/store/elasticsearch/query-filter.js';

const filter = (q: string): unknown => flowFilter(parseQuery(q));
const missing = (field: string) => ({ bool: { must_not: [{ exists: { field } }] } });

t.test('values, pairs and steps', async (t) => {
  t.equal(filter("G.At('-1m').Flows()"), undefined);
  t.strictSame(filter("G.At('-1m').Flows().Has('Network.A', '10.0.0.1')"), { term: { 'Network.A': '10.0.0.1' } });
  t.strictSame(filter("G.At('-1m').Flows('Transport.B', 443, 'Application', 'TCP')"),
    { bool: { filter: [{ term: { 'Transport.B': 443 } }, { term: { Application: 'TCP' } }] } });
  t.strictSame(filter("G.At('-1m').Flows().Has('IPV4', '10.0.0.1')"),
    { bool: { should: [{ term: { 'Network.A': '10.0.0.1' } }, { term: { 'Network.B': '10.0.0.1' } }], minimum_should_match: 1 } }, 'either side, aliases resolved');
  t.strictSame(filter("G.At('-1m').Flows().Has('Transport.B', '443')"), { match_none: {} }, 'a port is a number: text never matches');
  t.strictSame(filter("G.At('-1m').Flows().Has('Application', '')"),
    { bool: { should: [{ term: { Application: '' } }, missing('Application')], minimum_should_match: 1 } }, 'an empty value is left out of the JSON');
  t.strictSame(filter("G.At('-1m').Flows().Has('Metric.ABBytes', Gt(10)).Sort().Has('UUID', 'x')"), { range: { 'Metric.ABBytes': { gt: 10 } } }, 'filters after another step are not pushed');
  t.strictSame(filter("G.At('-1m').Flows().Has('Metric.RTT', Lt(5))"),
    { bool: { should: [{ range: { 'Metric.RTT': { lt: 5 } } }, missing('Metric.RTT')], minimum_should_match: 1 } }, 'RTT 0 is left out of the JSON');
  t.strictSame(filter("G.At('-1m').Flows().Has('UUID', Without('a', 'b'))"),
    { bool: { must_not: [{ bool: { should: [{ term: { UUID: 'a' } }, { term: { UUID: 'b' } }], minimum_should_match: 1 } }] } });
  t.strictSame(filter("G.At('-1m').Flows().HasKey('ICMP').HasEither('UUID', 'a', 'LayersPath', Regex('Eth.*'))"),
    { bool: { should: [{ term: { UUID: 'a' } }, { regexp: { LayersPath: { value: 'Eth.*', flags: 'NONE' } } }], minimum_should_match: 1 } });
  t.strictSame(filter("G.At('-1m').Flows().Has('Network.A', Ipv4Range('10.1.0.0/16'))"),
    { regexp: { 'Network.A': { value: '10\\.1\\.<0-255>\\.<0-255>(/[0-9][0-9]?)?', flags: 'INTERVAL' } } });
  t.strictSame(filter("G.At('-1m').Flows().Has('Start', Between(1.5, 9))"),
    { range: { Start: { gte: 1, lt: 9 } } }, 'fractional bounds widen to integers');
});

t.test('regex to Lucene', async (t) => {
  t.equal(luceneRegex('Ethernet/IPv4/.*'), 'Ethernet\\/IPv4\\/.*');
  t.equal(luceneRegex('a(?:b|c)+\\d{2,3}'), 'a(b|c)+[0-9]{2,3}');
  t.equal(luceneRegex('[a-z.]+@x'), '[a-z\\.]+\\@x');
  t.equal(luceneRegex('(?i)abc'), undefined, 'flags are not translated');
  t.equal(luceneRegex('\\sx'), undefined);
  t.equal(luceneRegex('[[:alpha:]]'), undefined);
  // RE2 matches the empty string for an empty alternative, Lucene nothing: not pushed down.
  for (const p of ['(|T)CP', '|TCP', 'TCP|', 'T(|C)P', 'T(C|)P', 'T()CP', 'a||b', '(?:|T)CP']) t.equal(luceneRegex(p), undefined, p);
  t.equal(luceneRegex('(T|U)CP'), '(T|U)CP');
  t.equal(luceneRegex('(a)(b)|c'), '(a)(b)|c');
  t.same(filter("G.V().Flows().Has('Application', Regex('(|T)CP'))"), undefined, 'the condition is left to the evaluator');
});

t.test('CIDR to Lucene', async (t) => {
  t.equal(ipv4RangeRegex('192.168.1.7/32'), '192\\.168\\.1\\.7(/[0-9][0-9]?)?');
  t.equal(ipv4RangeRegex('10.0.0.0/8'), '10\\.<0-255>\\.<0-255>\\.<0-255>(/[0-9][0-9]?)?');
  t.equal(ipv4RangeRegex('172.16.0.0/12'), '172\\.<16-31>\\.<0-255>\\.<0-255>(/[0-9][0-9]?)?');
  t.equal(ipv4RangeRegex('0.0.0.0/0'), '<0-255>\\.<0-255>\\.<0-255>\\.<0-255>(/[0-9][0-9]?)?');
  t.equal(ipv4RangeRegex('nope'), undefined);
});
