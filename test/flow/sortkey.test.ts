/**
 * The core's sort key (assembly/flow/sortkey.ts, flowSortKeyInto) orders
 * flows exactly as the text key (Start padded to 20 digits, UUID, ParentUUID,
 * LayersPath, NUL-separated, IDs in unpadded hex) does in plain string order:
 * hand-picked cases where numeric order and text order part ("10" < "9", a
 * missing parent, "IPv6/…" < "IPv6Fragment", negative Starts), then every
 * one- and two-layer path, then random records. Comparing the keys as latin1
 * strings and as bytes (memcmp) must agree, also zero-padded to a fixed size.
 */
import t from 'tap';
import { layerNames } from '../../src/wasm/module.js';
import { RecordBench, stringOrder, textSortKey } from '../helpers/records.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

interface Keyed { key: string; text: string }

/** Both orders agree on every pair of `items` (checked on neighbours after sorting by text: enough, both being total preorders). */
function sameOrder(items: Keyed[]): string[] {
  const sorted = [...items].sort((a, b) => stringOrder(a.text, b.text));
  const bad: string[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1], b = sorted[i];
    const want = stringOrder(a.text, b.text);
    if (stringOrder(a.key, b.key) !== want) bad.push(`${JSON.stringify(a.text)} vs ${JSON.stringify(b.text)}: key order ${stringOrder(a.key, b.key)}`);
    if (Math.sign(Buffer.compare(Buffer.from(a.key, 'latin1'), Buffer.from(b.key, 'latin1'))) !== want) bad.push(`memcmp: ${a.text} vs ${b.text}`);
  }
  return bad;
}

for (const debug of [true, false]) {
  t.test(`${debug ? 'debug' : 'release'} core`, async (t) => {
    const rb = new RecordBench({ debug });
    const o = rb.o;
    const names = layerNames(rb.core);
    const id = (name: string): number => names.indexOf(name);
    const make = (start: bigint, uuid: bigint, parent: bigint | undefined, path: number[], slash = false): Keyed => {
      rb.clear().i64('FL_START', start).u64('FL_UUID', uuid).path(path)
        .bits((parent === undefined ? 0 : o.FLB_PARENT) | (slash ? o.FLB_LEADING_SLASH : 0));
      if (parent !== undefined) rb.u64('FL_PARENT', parent);
      return { key: rb.key(), text: textSortKey(rb.flow()) };
    };

    t.test('hand-picked cases', async (t) => {
      const eth = [id('Ethernet')];
      const cases: [Keyed, Keyed, string][] = [
        [make(5n, 0x10n, undefined, eth), make(5n, 9n, undefined, eth), 'UUID "10" < "9"'],
        [make(5n, 1n, undefined, eth), make(5n, 0x10n, undefined, eth), 'UUID "1" < "10" (a prefix first)'],
        [make(5n, 0x100n, undefined, eth), make(5n, 0xfn, undefined, eth), 'UUID "100" < "f"'],
        [make(5n, 7n, undefined, eth), make(5n, 7n, 0n, eth), 'no parent < parent "0"'],
        [make(5n, 7n, 0x10n, eth), make(5n, 7n, 2n, eth), 'parent "10" < "2"'],
        [make(9n, 7n, undefined, eth), make(10n, 1n, undefined, eth), 'Start 9 < 10 (padded)'],
        [make(-1n, 7n, undefined, eth), make(0n, 7n, undefined, eth), 'Start -1 < 0'],
        [make(-3n, 7n, undefined, eth), make(-5n, 7n, undefined, eth), 'Start "-3" < "-5" as text'],
        [make(-12n, 7n, undefined, eth), make(-5n, 7n, undefined, eth), 'Start "-12" < "-5" (its "-" earlier)'],
        [make(INT64_MIN, 7n, undefined, eth), make(-(10n ** 17n), 7n, undefined, eth), 'int64 min first'],
        [make(1n, 7n, undefined, [id('IPv6'), id('TCP')]), make(1n, 7n, undefined, [id('IPv6Fragment')]), '"IPv6/TCP" < "IPv6Fragment"'],
        [make(1n, 7n, undefined, [id('IPv6')]), make(1n, 7n, undefined, [id('IPv6'), id('TCP')]), 'a path before its extension'],
        [make(1n, 7n, undefined, [id('Linux SLL'), id('IPv4')], true), make(1n, 7n, undefined, [id('ARP')]), 'a leading slash first'],
        [make(1n, 7n, undefined, [id('Linux SLL')]), make(1n, 7n, undefined, [id('Linux SLL2')]), '"Linux SLL" < "Linux SLL2"'],
        [make(1n, 7n, undefined, []), make(1n, 7n, undefined, [], true), 'empty path < "/"'],
      ];
      for (const [a, b, msg] of cases) {
        t.equal(stringOrder(a.text, b.text), -1, `text: ${msg}`);
        t.equal(stringOrder(a.key, b.key), -1, msg);
      }
      const equal = [make(INT64_MAX, 2n ** 64n - 1n, 2n ** 64n - 1n, [id('Ethernet')]), make(INT64_MAX, 2n ** 64n - 1n, 2n ** 64n - 1n, [id('Ethernet')])];
      t.equal(equal[0].key, equal[1].key, 'equal flows, equal keys');
    });

    t.test('every path of one and two layers', async (t) => {
      const items: Keyed[] = [];
      for (let a = 1; a < names.length; a++) {
        items.push(make(1n, 1n, undefined, [a]), make(1n, 1n, undefined, [a], true));
        for (let b = 1; b < names.length; b++) items.push(make(1n, 1n, undefined, [a, b]));
      }
      t.same(sameOrder(items), [], `${items.length} paths`);
    });

    t.test('random records', async (t) => {
      let seed = 99;
      const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
      const pick = <T>(xs: T[]): T => xs[rnd(xs.length)];
      const starts = [0n, 1n, 9n, 10n, 11n, 1520931951225n, 1520931951226n, 99999999999999999n, INT64_MAX, -1n, -3n, -5n, -10n,
        -12n, -(10n ** 18n), INT64_MIN];
      const ids = [0n, 1n, 9n, 0xan, 0x10n, 0x11n, 0x100n, 0x1n << 60n, 0xfn << 60n, 2n ** 64n - 1n, 0xabcn, 0xabcdn, 0xabn << 48n];
      const items: Keyed[] = [];
      for (let n = 0; n < 3000; n++) {
        const path = Array.from({ length: rnd(4) }, () => pick([id('Ethernet'), id('IPv4'), id('IPv6'), id('IPv6Fragment'), id('TCP'),
          id('UDP'), id('Linux SLL'), id('Linux SLL2'), id('GRE'), id('VXLAN'), 1 + rnd(names.length - 1)]));
        items.push(make(pick(starts), pick(ids), rnd(2) ? pick(ids) : undefined, path, rnd(5) === 0));
      }
      t.same(sameOrder(items), [], `${items.length} random flows`);
      const max = rb.o.SORT_KEY_MAX;
      t.ok(items.every((k) => k.key.length <= max), `keys of at most SORT_KEY_MAX (${max}) bytes`);
      const padded = items.map((k) => ({ text: k.text, key: k.key.padEnd(max, '\u0000') }));
      t.same(sameOrder(padded), [], 'zero-padded to SORT_KEY_MAX, the same order');
    });
  });
}
