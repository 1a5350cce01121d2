/** Time argument parsing (Go durations, RFC 3339, RFC 1123) and IPv4 ranges. */
import t from 'tap';
import { inIPv4Range, parseIPv4, parseIPv4Range } from '../../src/query/ipv4.js';
import { epochIntegerToMs, parseGoDuration, parseRFC1123, parseRFC3339, parseTimeString } from '../../src/query/time.js';

t.test('Go durations', (t) => {
  const ok: Array<[string, number]> = [
    ['0', 0], ['-0', 0], ['1s', 1000], ['-1m', -60_000], ['2h30m', 9_000_000], ['-2h30m', -9_000_000], ['1.5s', 1500],
    ['.5s', 500], ['1ms', 1], ['1500us', 1.5], ['1000000ns', 1], ['1\u00b5s', 0.001], ['+3m', 180_000], ['1h1m1s', 3_661_000],
  ];
  for (const [s, ms] of ok) t.equal(parseGoDuration(s), ms, s);
  for (const s of ['', '-', '1', '1x', 'm', '1.s.', '1d', '--1s', '1s2', ' 1s', '.s']) t.equal(parseGoDuration(s), undefined, JSON.stringify(s));
  t.equal(parseGoDuration('9999999999h'), undefined, 'beyond Go\'s 292 years');
  t.end();
});

t.test('RFC 3339', (t) => {
  t.equal(parseRFC3339('2026-11-21T17:28:43Z'), Date.UTC(2026, 10, 21, 17, 28, 43));
  t.equal(parseRFC3339('2026-11-21T17:28:43.250Z'), Date.UTC(2026, 10, 21, 17, 28, 43, 250));
  t.equal(parseRFC3339('2026-11-21T19:28:43+02:00'), Date.UTC(2026, 10, 21, 17, 28, 43));
  t.equal(parseRFC3339('2026-11-21T12:28:43-05:00'), Date.UTC(2026, 10, 21, 17, 28, 43));
  t.equal(parseRFC3339('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29), 'leap day');
  for (const s of ['2026-11-21', '2026-11-21T17:28:43', '2026-13-01T00:00:00Z', '2025-02-29T00:00:00Z',
    '2026-11-21T24:00:00Z', '2026-11-21T17:28:43+2:00', '2026-11-21 17:28:43Z', '2026-11-21T17:28:43.Z', '1969-12-31T00:00:00Z']) {
    t.equal(parseRFC3339(s), undefined, s);
  }
  t.end();
});

t.test('RFC 1123 and RFC 1123Z', (t) => {
  t.equal(parseRFC1123('Sat, 21 Nov 2026 17:28:43 GMT'), Date.UTC(2026, 10, 21, 17, 28, 43));
  t.equal(parseRFC1123('Sat, 21 Nov 2026 17:28:43 UTC'), Date.UTC(2026, 10, 21, 17, 28, 43));
  t.equal(parseRFC1123('Sat, 21 Nov 2026 18:28:43 +0100'), Date.UTC(2026, 10, 21, 17, 28, 43));
  t.equal(parseRFC1123('Mon, 02 Jan 2006 15:04:05 MST'), Date.UTC(2006, 0, 2, 15, 4, 5), 'an abbreviation counts as UTC, as in Go');
  for (const s of ['Sat 21 Nov 2026 17:28:43 GMT', 'Sat, 21 Foo 2026 17:28:43 GMT', 'Sat, 32 Nov 2026 17:28:43 GMT',
    'Sat, 21 Nov 2026 17:28 GMT', 'Sat, 21 Nov 2026 17:28:43', 'Xyz, 21 Nov 2026 17:28:43 GMT', 'Sat, 21 Nov 2026 17:28:43 gmt']) {
    t.equal(parseRFC1123(s), undefined, s);
  }
  t.end();
});

t.test('time strings and integers', (t) => {
  t.same(parseTimeString('-1m'), { kind: 'relative', ms: -60_000 });
  t.same(parseTimeString('2026-11-21T17:28:43Z'), { kind: 'absolute', ms: Date.UTC(2026, 10, 21, 17, 28, 43) });
  t.same(parseTimeString('Sat, 21 Nov 2026 17:28:43 GMT'), { kind: 'absolute', ms: Date.UTC(2026, 10, 21, 17, 28, 43) });
  t.equal(parseTimeString('now'), undefined);
  t.equal(epochIntegerToMs(1_700_000_000), 1_700_000_000_000, 'seconds');
  t.equal(epochIntegerToMs(1_700_000_000_000), 1_700_000_000_000, 'milliseconds above 2^31');
  t.equal(epochIntegerToMs(2 ** 31), 2 ** 31 * 1000, '2^31 itself is seconds');
  t.end();
});

t.test('IPv4 addresses and ranges', (t) => {
  t.equal(parseIPv4('10.0.0.1'), 0x0a000001);
  t.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  for (const s of ['10.0.0', '10.0.0.1.2', '256.0.0.1', '01.0.0.1', '10.0.0.a', '', '1..2.3', '::1', '10.0.0.1 ']) {
    t.equal(parseIPv4(s), undefined, JSON.stringify(s));
  }
  const r = parseIPv4Range('10.1.2.3/16');
  t.same(r, { base: 0x0a010000, bits: 16 }, 'host bits are ignored');
  t.ok(r && inIPv4Range('10.1.255.255', r));
  t.ok(r && inIPv4Range('10.1.0.7/24', r), 'a value may carry a /NN suffix');
  t.notOk(r && inIPv4Range('10.2.0.0', r));
  t.notOk(r && inIPv4Range('10.1.0.7/', r));
  t.notOk(r && inIPv4Range('10.1.0.7/abc', r));
  t.notOk(r && inIPv4Range('fe80::1', r));
  const all = parseIPv4Range('0.0.0.0/0');
  t.ok(all && inIPv4Range('1.2.3.4', all));
  const one = parseIPv4Range('1.2.3.4/32');
  t.ok(one && inIPv4Range('1.2.3.4', one));
  t.notOk(one && inIPv4Range('1.2.3.5', one));
  for (const s of ['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0/8', '10.0.0.0/1a', '10.0.0.0/008']) {
    t.equal(parseIPv4Range(s), undefined, s);
  }
  t.end();
});
