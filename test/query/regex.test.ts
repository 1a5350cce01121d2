/**
 * The Regex() matcher: same answers as an anchored JavaScript RegExp on the shared syntax, linear
 * time on patterns that make a backtracking engine explode, clear errors outside the syntax.
 */
import t from 'tap';
import { compileRegex, RegexSyntaxError } from '../../src/query/regex.js';

const INPUTS = [
  '', 'a', 'aa', 'ab', 'abc', 'abcabc', 'ABC', 'aBc', '10.0.0.1', '10.0.0.12', '192.168.1.1', 'fe80::1',
  'Ethernet/IPv4/TCP', 'Ethernet/IPv6/UDP', 'x{2}', 'a.b', 'a\nb', 'a-b', '_w0rd', ' \t', '{', 'ab]', 'é', '😀',
];

/** How JavaScript (u flag) writes the RE2 patterns it spells differently. */
const JS_SPELLING: Readonly<Record<string, string>> = {
  '\\x{1F600}': '\\u{1F600}', '[]a]+': '[\\]a]+', 'ab]': 'ab\\]', '{': '\\{',
};

t.test('agrees with an anchored RegExp on the common syntax', (t) => {
  const patterns = [
    '', 'a', 'abc', 'a*', 'a+', 'a?', 'a*b', '(ab)*', '(ab)+c?', 'a|b', 'abc|a', '(a|b)*c', '.*', '.+', '.',
    '[abc]+', '[^abc]*', '[a-c]*', '[A-Za-z]+', '\\d+(\\.\\d+){3}', '10\\.0\\.0\\.\\d', '\\w+', '\\W', '\\s+', '\\S+',
    'a{2}', 'a{1,2}', 'a{2,}', '(a|ab)(c|bcd)', 'Ethernet/IPv[46]/(TCP|UDP)', 'fe80::\\d', 'x\\{2\\}', 'a\\.b',
    '(?:ab)+', '[-a]+b?', '[a\\-]+', '[\\d.]+', 'a.b', 'x{2}', '[]a]+', 'ab]', '{', '\\x61+', '\\x{1F600}', '..?',
    '(((a)))', '(a*)*', '(a|)+b', '[\\w-]+',
  ];
  let checked = 0;
  for (const p of patterns) {
    const mine = compileRegex(p);
    const js = new RegExp(`^(?:${JS_SPELLING[p] ?? p})$`, 'u');
    for (const s of INPUTS) {
      if (mine.test(s) !== js.test(s)) t.fail(`${JSON.stringify(p)} on ${JSON.stringify(s)}: ${mine.test(s)} vs ${js.test(s)}`);
      checked++;
    }
  }
  t.equal(checked, patterns.length * INPUTS.length);
  t.end();
});

t.test('(?i) folds ASCII case; POSIX classes', (t) => {
  const re = compileRegex('(?i)ethernet/ipv4/[a-z]+');
  t.ok(re.test('Ethernet/IPv4/TCP'));
  t.notOk(re.test('Ethernet/IPv6/TCP'));
  t.ok(compileRegex('[[:digit:]]+[[:alpha:]]').test('123x'));
  t.notOk(compileRegex('[[:digit:]]+').test('12a'));
  t.ok(compileRegex('[^[:space:]]+').test('abc'));
  t.ok(compileRegex('(?P<x>a)(?<y>b)').test('ab'));
  t.ok(compileRegex('a+?b??').test('aa'), 'lazy markers accepted');
  t.end();
});

t.test('(?i) agrees with an anchored RegExp with the i and u flags, which also folds a class before negating it', (t) => {
  // ECMA-262 compares under simple case folding and negates a class after folding it, as RE2
  // does; JavaScript's \w under iu also takes U+017F and U+212A, as RE2's folded \w.
  const patterns = [
    '[^d]NS', '[^a-z]+', '[^A-Z]+', '[^a-zA-Z]+', '[A-z]+', '[^A-z]+', '[a-f]+', '[^a-f]+', 'dns', 'DNS', 'icmpv\\d',
    '\\w+', '\\W+', '[\\w]+', '[^\\w]+', '[\\w.]+', '[^\\w.]+', '\\d+', '\\D+', '[^\\d]+', '\\s+', '\\S+', '[^\\s]+',
    'k', '[^k]', 'K', '[^K]', 's', '[^s]+', '[^ks]+', '\\x41', '[^\\x41]', 'σ+', '[^σ]', '.+', '[^\\.]+',
  ];
  const inputs = [
    ...INPUTS, 'DNS', 'dns', 'xNS', 'ICMPv4', 'icmpv4', 'K', 'k', '\u212a', 'S', 's', '\u017f', 'ſK', 'A', 'a', 'I', 'i',
    '\u0131', '\u0130', '\u03c3', '\u03c2', '\u03a3', '[]^_`', 'Ab_9', '42',
  ];
  let checked = 0;
  for (const p of patterns) {
    const mine = compileRegex(`(?i)${p}`);
    const js = new RegExp(`^(?:${p})$`, 'iu');
    for (const s of inputs) {
      if (mine.test(s) !== js.test(s)) t.fail(`(?i)${p} on ${JSON.stringify(s)}: ${mine.test(s)} vs ${js.test(s)}`);
      checked++;
    }
  }
  t.equal(checked, patterns.length * inputs.length);
  t.end();
});

t.test('(?i) as RE2 folds: the whole orbit, before negation', (t) => {
  // What Go's regexp/syntax gives, e.g. (?i)[a-z] is [A-Za-z\u017f\u212a].
  const cases: Array<[string, string, boolean]> = [
    ['(?i)[^d]NS', 'DNS', false],
    ['(?i)[^d]NS', 'dns', false],
    ['(?i)[^d]NS', 'xNs', true],
    ['(?i)[^a-z]+', 'ICMPv4', false],
    ['(?i)[^a-z]+', 'DNS', false],
    ['(?i)[^a-z]+', '4.2', true],
    ['(?i)[a-z]', '\u212a', true],
    ['(?i)[a-z]', '\u017f', true],
    ['(?i)[^a-z]', '\u212a', false],
    ['(?i)k', '\u212a', true],
    ['(?i)[^k]', '\u212a', false],
    ['(?i)\\w', '\u017f', true],
    ['(?i)\\W', '\u017f', false],
    ['(?i)\\W', '\u212a', false],
    ['\\W', '\u212a', true],
    ['(?i)[^\\w]', '\u212a', false],
    ['(?i)\\d', 'D', false],
    ['(?i)\\D', 'd', true],
    ['(?i)i', '\u0131', false],
    ['(?i)I', '\u0130', false],
    ['(?i)[^i]', '\u0131', true],
    ['(?i)\\x41', 'a', true],
    ['(?i)[\\x{41}-\\x{5a}]+', 'dns', true],
    ['(?i)[[:upper:]]+', 'dns', true],
    ['(?i)[^[:upper:]]', 'd', false],
    ['(?i)[^[:lower:]]+', 'DNS', false],
    ['(?i)[^[:digit:]]+', 'DNS', true],
    ['(?i)σ+', 'Σσς', true],
    ['(?i)\u00df', '\u1e9e', true],
    ['(?i).', '\n', false],
    ['[^d]NS', 'DNS', true],
    ['[^a-z]+', 'DNS', true],
  ];
  for (const [p, s, want] of cases) t.equal(compileRegex(p).test(s), want, `${p} on ${JSON.stringify(s)}`);
  t.end();
});

t.test('patterns that stall a backtracking engine match in linear time', (t) => {
  const evil = ['(a+)+b', '(a|a)*b', '(a|aa)+b', '(x+x+)+y', '(.*a){20}', '((a*)*)*b', '(a?){30}a{30}'];
  const input = 'a'.repeat(5000) + 'c';
  const t0 = process.hrtime.bigint();
  for (const p of evil) t.notOk(compileRegex(p).test(input), p);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  t.ok(ms < 3000, `all done in ${ms.toFixed(0)} ms`);
  t.ok(compileRegex('(a?){30}a{30}').test('a'.repeat(30)), 'and they still match what they should');
  t.end();
});

t.test('errors name the problem and its offset', (t) => {
  const cases: Array<[string, string, number]> = [
    ['^a', "'^' is not allowed, patterns are anchored at both ends", 0],
    ['a$', "'$' is not allowed, patterns are anchored at both ends", 1],
    ['(a', "missing ')'", 0],
    ['a)', "unmatched ')'", 1],
    ['[a', "missing ']'", 0],
    ['*a', 'missing argument to repetition operator', 0],
    ['a**', 'invalid nested repetition operator', 2],
    ['a{3,2}', 'invalid repeat count: max below min', 1],
    ['a{1001}', 'repeat count above 1000', 1],
    ['\\b', 'unsupported escape \\b', 0],
    ['\\', 'trailing backslash', 0],
    ['[z-a]', 'invalid class range: end before start', 3],
    ['[[:foo:]]', 'unknown POSIX class [:foo:]', 1],
    ['(?=a)', 'unsupported group flags: only a leading (?i) is supported', 0],
    ['\\xZZ', 'invalid \\x escape: two hex digits expected', 0],
    ['[\\D]', 'negated escapes (\\D, \\W, \\S) inside a class are not supported', 1],
    ['('.repeat(200) + ')'.repeat(200), 'groups nested deeper than 100', 100],
    ['(a{1000}){1000}', 'pattern too large (over 5000 steps)', 0],
  ];
  for (const [p, message, offset] of cases) {
    t.throws(() => compileRegex(p), new RegexSyntaxError(message, offset), p.length > 20 ? p.slice(0, 20) + '...' : p);
    try {
      compileRegex(p);
    } catch (err) {
      t.equal((err as RegexSyntaxError).offset, offset, `${p.slice(0, 20)} offset`);
    }
  }
  t.end();
});
