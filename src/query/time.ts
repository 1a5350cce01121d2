/**
 * Time arguments of `G.At(time[, duration])` / `G.Context(...)` (skydive-api.md §4.6).
 *
 * time: a Go duration relative to now ('-1m', '-2h30m'), an RFC 3339 date
 * ('2026-11-21T17:28:43Z'), an RFC 1123 date ('Sat, 21 Nov 2026 17:28:43 GMT', or with a
 * +hhmm offset), an integer (seconds since the epoch, or milliseconds above 2^31), or NOW.
 * duration: a Go duration ('5m'), an integer number of seconds, or FOREVER.
 *
 * All parsing is by hand (no Date.parse, whose accepted formats vary between engines).
 */

const UNIT_MS: ReadonlyMap<string, number> = new Map([
  ['ns', 1e-6], ['us', 1e-3], ['\u00b5s', 1e-3], ['\u03bcs', 1e-3], ['ms', 1], ['s', 1000], ['m', 60_000], ['h', 3_600_000],
]);

/** Longest duration accepted: Go's limit (about 292 years). */
const MAX_DURATION_MS = 9_223_372_036_854;

/** A Go duration ("-1h30m", "1.5s", "0") in ms, or undefined when `s` is not one. */
export function parseGoDuration(s: string): number | undefined {
  let i = 0;
  let sign = 1;
  if (s[i] === '-' || s[i] === '+') {
    if (s[i] === '-') sign = -1;
    i++;
  }
  if (s.slice(i) === '0') return 0;
  if (i === s.length) return undefined;
  let total = 0;
  while (i < s.length) {
    const numStart = i;
    while (i < s.length && s[i] >= '0' && s[i] <= '9') i++;
    const intDigits = i - numStart;
    let fracDigits = 0;
    if (s[i] === '.') {
      i++;
      const fracStart = i;
      while (i < s.length && s[i] >= '0' && s[i] <= '9') i++;
      fracDigits = i - fracStart;
    }
    if (intDigits === 0 && fracDigits === 0) return undefined;
    const value = Number(s.slice(numStart, i));
    const unitStart = i;
    while (i < s.length && !(s[i] >= '0' && s[i] <= '9') && s[i] !== '.') i++;
    const unit = UNIT_MS.get(s.slice(unitStart, i));
    if (unit === undefined) return undefined;
    total += value * unit;
    if (total > MAX_DURATION_MS) return undefined;
  }
  return sign * total;
}

function digits(s: string, at: number, n: number): number | undefined {
  if (at + n > s.length) return undefined;
  let v = 0;
  for (let k = at; k < at + n; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return undefined;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Epoch ms of a civil date-time in UTC, or undefined when a field is out of range. */
function civilToMs(y: number, mo: number, d: number, h: number, mi: number, sec: number): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec);
  // Date.UTC maps years 0-99 to 1900-1999; no flow is that old, so refuse rather than fix.
  return y < 1970 ? undefined : ms;
}

/** "2006-01-02T15:04:05[.frac](Z|+07:00)" in epoch ms, or undefined. */
export function parseRFC3339(s: string): number | undefined {
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  if (y === undefined || mo === undefined || d === undefined || h === undefined || mi === undefined || sec === undefined) {
    return undefined;
  }
  if (s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') return undefined;
  let i = 19;
  let fracMs = 0;
  if (s[i] === '.') {
    const start = ++i;
    while (i < s.length && s[i] >= '0' && s[i] <= '9') i++;
    if (i === start || i - start > 9) return undefined;
    fracMs = Number('0.' + s.slice(start, i)) * 1000;
  }
  let offsetMin = 0;
  if (s[i] === 'Z' && i + 1 === s.length) {
    offsetMin = 0;
  } else if ((s[i] === '+' || s[i] === '-') && i + 6 === s.length && s[i + 3] === ':') {
    const oh = digits(s, i + 1, 2);
    const om = digits(s, i + 4, 2);
    if (oh === undefined || om === undefined || oh > 23 || om > 59) return undefined;
    offsetMin = (s[i] === '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return undefined;
  }
  const base = civilToMs(y, mo, d, h, mi, sec);
  return base === undefined ? undefined : base + fracMs - offsetMin * 60_000;
}

function isZoneAbbreviation(z: string): boolean {
  if (z.length < 2 || z.length > 5) return false;
  for (let k = 0; k < z.length; k++) if (z[k] < 'A' || z[k] > 'Z') return false;
  return true;
}

const WEEKDAYS = new Set(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * "Mon, 02 Jan 2006 15:04:05 MST" (RFC 1123) or with "-0700" (RFC 1123Z), in epoch ms, or
 * undefined. A zone abbreviation counts as UTC: Go's time.Parse gives unknown abbreviations a
 * zero offset, and GMT/UTC are the ones HTTP dates use.
 */
export function parseRFC1123(s: string): number | undefined {
  const parts = s.split(' ');
  if (parts.length !== 6) return undefined;
  const [wd, dayText, monText, yearText, clock, zone] = parts;
  if (!wd.endsWith(',') || !WEEKDAYS.has(wd.slice(0, -1))) return undefined;
  const mo = MONTHS.indexOf(monText) + 1;
  const d = dayText.length === 2 ? digits(dayText, 0, 2) : dayText.length === 1 ? digits(dayText, 0, 1) : undefined;
  const y = yearText.length === 4 ? digits(yearText, 0, 4) : undefined;
  const h = digits(clock, 0, 2);
  const mi = digits(clock, 3, 2);
  const sec = digits(clock, 6, 2);
  if (mo === 0 || d === undefined || y === undefined || h === undefined || mi === undefined || sec === undefined
    || clock.length !== 8 || clock[2] !== ':' || clock[5] !== ':') {
    return undefined;
  }
  let offsetMin = 0;
  if ((zone[0] === '+' || zone[0] === '-') && zone.length === 5) {
    const oh = digits(zone, 1, 2);
    const om = digits(zone, 3, 2);
    if (oh === undefined || om === undefined || oh > 23 || om > 59) return undefined;
    offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  } else if (!isZoneAbbreviation(zone)) {
    return undefined;
  }
  const base = civilToMs(y, mo, d, h, mi, sec);
  return base === undefined ? undefined : base - offsetMin * 60_000;
}

/** The first argument of At/Context, resolved against "now" only when the query runs. */
export type TimeArg =
  | { readonly kind: 'now' }
  | { readonly kind: 'absolute'; readonly ms: number }
  | { readonly kind: 'relative'; readonly ms: number };

/** Epoch ms of `arg` at `nowMs`. */
export function resolveTime(arg: TimeArg, nowMs: number): number {
  switch (arg.kind) {
    case 'now': return nowMs;
    case 'absolute': return arg.ms;
    case 'relative': return nowMs + arg.ms;
  }
}

/** Interprets an integer time: seconds since the epoch, or milliseconds when above 2^31. */
export function epochIntegerToMs(n: number): number {
  return n > 2 ** 31 ? n : n * 1000;
}

/** A time string as a TimeArg, or undefined when it is none of the accepted forms. */
export function parseTimeString(s: string): TimeArg | undefined {
  const rel = parseGoDuration(s);
  if (rel !== undefined) return { kind: 'relative', ms: rel };
  const abs = parseRFC3339(s) ?? parseRFC1123(s);
  return abs === undefined ? undefined : { kind: 'absolute', ms: abs };
}
