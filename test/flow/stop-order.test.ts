/**
 * The core's stop order (assembly/flow/stoporder.ts, stopOrderBuild): the
 * flows of a table sorted by their sort keys, stable. Its merge compares the
 * keys' first 16 bytes (Start and most of the UUID) before the rest, so the
 * flows here are given Starts, UUIDs, parents and paths from small sets:
 * many tie on those 16 bytes and differ after them (a UUID's last digit or
 * its digit count, the parent, the path), and some tie on every byte.
 */
import t from 'tap';
import { FlowEngine } from '../../src/engine/flow-engine.js';
import { layerNames } from '../../src/wasm/module.js';
import { encodeBatch, type Frame } from '../helpers/engine.js';
import { ethernet, ipv4, udp } from '../helpers/packets.js';

const FLOWS = 3000;

function frames(): Frame[] {
  return Array.from({ length: FLOWS }, (_, i) => ({
    data: ethernet('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800,
      ipv4(`10.${i >> 8}.${i & 255}.1`, '10.255.0.1', 17, udp(1024 + i, 53, [1, 2, 3]))),
    tsMs: 1_700_000_000_000 + i,
  }));
}

for (const debug of [true, false]) {
  t.test(`${debug ? 'debug' : 'release'} core: stopOrderBuild sorts by the whole key, stably`, async (t) => {
    const engine = new FlowEngine({ debug });
    const core = engine.core;
    const batch = encodeBatch(frames());
    engine.inputView().set(batch);
    engine.process(batch.length, FLOWS);
    const o = (name: string): number => (core[name as keyof typeof core] as unknown as WebAssembly.Global).value as number;
    const order = (): number[] => {
      const n = core.stopOrderBuild();
      return Array.from(new Uint32Array(core.memory.buffer, core.stopOrderAddress(), n));
    };
    const names = layerNames(core);
    const paths = [['Ethernet', 'IPv4', 'UDP'], ['Ethernet', 'IPv4'], ['Ethernet', 'IPv6', 'UDP'], ['Ethernet', 'IPv4', 'TCP'], []]
      .map((p) => p.map((name) => names.indexOf(name)));
    const set = (address: number, start: bigint, uuid: bigint, parent: bigint | undefined, path: number[]): void => {
      const dv = new DataView(core.memory.buffer);
      dv.setBigInt64(address + o('FL_START'), start, true);
      dv.setBigUint64(address + o('FL_UUID'), uuid, true);
      const bits = dv.getUint16(address + o('FL_BITS'), true) & ~o('FLB_PARENT') & ~o('FLB_LEADING_SLASH');
      dv.setUint16(address + o('FL_BITS'), bits | (parent === undefined ? 0 : o('FLB_PARENT')), true);
      dv.setBigUint64(address + o('FL_PARENT'), parent ?? 0n, true);
      dv.setUint8(address + o('FL_PATH_LEN'), path.length);
      path.forEach((id, i) => dv.setUint8(address + o('FL_PATH') + i, id));
    };

    // The table's order is least recently used first: flow i (Network.A 10.i/256.i%256.1) had the i-th packet.
    const packetOf = (a: number): number => {
      const ip = new Uint8Array(core.memory.buffer, a + o('FL_NET_A'), 4);
      return (ip[1] << 8) | ip[2];
    };
    const tableOrder = order().sort((a, b) => packetOf(a) - packetOf(b));
    t.same(tableOrder.map(packetOf), Array.from({ length: FLOWS }, (_, i) => i), 'one flow per packet');
    for (const a of tableOrder) set(a, 5n, 0xabcn, undefined, paths[0]);
    t.same(order(), tableOrder, 'every key equal: the table\'s order');

    let seed = 7;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
    const pick = <T>(xs: T[]): T => xs[rnd(xs.length)];
    // UUIDs alike in their first 14 hex digits (the prefix holds 7 bytes of digits), or alike but for
    // their digit count ("abc" and "abc0" align alike), and parents that decide after them.
    const uuids = [0xabcn, 0xabc0n, 0xabcdn, 0x0123456789abcden, 0x0123456789abcdefn, 0x123456789abcdefn, 0x123456789abcde0n,
      0x123456789abcdeffn, 0x123456789abcdef0n, 2n ** 64n - 1n, 1n, 0x10n];
    const parents = [undefined, 0n, 1n, 0x10n, 0x123456789abcdefn, 2n ** 64n - 1n];
    const starts = [5n, 6n, 1_700_000_000_000n, -3n];
    for (const a of tableOrder) set(a, pick(starts), pick(uuids), pick(parents), pick(paths));

    const rank = new Map(tableOrder.map((a, i) => [a, i]));
    const keyed = tableOrder.map((a) => ({ a, key: engine.sortKey(a) }));
    const want = [...keyed].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : rank.get(x.a)! - rank.get(y.a)!)).map((x) => x.a);
    const got = order();
    t.equal(got.length, FLOWS);
    const firstDiff = got.findIndex((a, i) => a !== want[i]);
    t.equal(firstDiff, -1, 'the core orders the flows as their keys sort, equal keys in table order');
    const distinct = new Set(keyed.map((x) => x.key)).size;
    const prefixes = new Set(keyed.map((x) => x.key.slice(0, 16))).size;
    t.ok(distinct < FLOWS && prefixes < distinct / 4, `ties: ${distinct} keys, ${prefixes} 16-byte prefixes, ${FLOWS} flows`);
  });
}
