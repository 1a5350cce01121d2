/**
 * The core's JSON encoder (assembly/format/json.ts, jsonEncodeFlow) on flow
 * records written by hand: the text forms Skydive prints through Go (IPv6
 * zero-run compression and IPv4-mapped form, dotted IPv4, MACs, unpadded hex
 * IDs, int64 extremes), which fields are written or left out, the strings of
 * the configuration, the two refusals (-1 extra layer, -2 no room). Every
 * record must also give exactly the host's flowToJSON of the Flow the host
 * reads from it; random records check that on every field at once.
 * Both builds of the core run every case.
 */
import t from 'tap';
import { layerNames } from '../../src/wasm/module.js';
import { RecordBench } from '../helpers/records.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** 8 groups of 16 bits as 16 bytes, network order. */
function groups(...g: number[]): number[] {
  return g.flatMap((x) => [x >> 8, x & 255]);
}

const IPV6_CASES: [number[], string][] = [
  [groups(0, 0, 0, 0, 0, 0, 0, 0), '::'],
  [groups(0, 0, 0, 0, 0, 0, 0, 1), '::1'],
  [groups(1, 0, 0, 0, 0, 0, 0, 0), '1::'],
  [groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), '2001:db8::1'],
  [groups(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), '2001:db8::1:0:0:1'], // two runs of two: the first
  [groups(1, 0, 0, 2, 0, 0, 0, 3), '1:0:0:2::3'], // the longest run, even later
  [groups(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), '2001:db8:0:1:1:1:1:1'], // one zero group stays
  [groups(0xfe80, 0, 0, 0, 1, 0, 0, 0), 'fe80::1:0:0:0'],
  [groups(0xabcd, 0, 0xef, 0, 0, 0, 0, 0x10), 'abcd:0:ef::10'],
  [groups(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201), '192.0.2.1'], // IPv4-mapped: dotted
  [groups(0, 0, 0, 0, 0, 0xffff, 0, 0), '0.0.0.0'],
  [groups(0, 0, 0, 0, 0, 0xfffe, 0x0102, 0x0304), '::fffe:102:304'],
  [groups(0, 0, 0, 0, 1, 0xffff, 0x0102, 0x0304), '::1:ffff:102:304'],
  [groups(0, 0, 0, 0, 0, 0, 0xc000, 0x0201), '::c000:201'], // IPv4-compatible: not dotted
  [groups(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
];

const IPV4_CASES: [number[], string][] = [
  [[0, 0, 0, 0], '0.0.0.0'], [[255, 255, 255, 255], '255.255.255.255'], [[10, 0, 0, 1], '10.0.0.1'],
  [[1, 22, 133, 4], '1.22.133.4'],
];

const MAC_CASES: [number[], string][] = [
  [[0, 0, 0, 0, 0, 0], '00:00:00:00:00:00'], [[255, 255, 255, 255, 255, 255], 'ff:ff:ff:ff:ff:ff'],
  [[0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f], '0a:1b:2c:3d:4e:5f'],
];

const HEX_CASES: [bigint, string][] = [
  [0n, '0'], [0xfn, 'f'], [0x10n, '10'], [0xabcdefn, 'abcdef'], [0x0123456789abcdefn, '123456789abcdef'],
  [2n ** 63n, '8000000000000000'], [2n ** 64n - 1n, 'ffffffffffffffff'],
];

const INT64_CASES: bigint[] = [
  0n, 1n, 9n, 10n, 99n, 100n, 99999999n, 100000000n, 4294967295n, 4294967296n, 1520931951225n, 9007199254740993n,
  12345678901234567n, 10n ** 18n - 1n, 10n ** 18n,
  -1n, -10n, -(10n ** 18n), INT64_MAX, INT64_MIN,
];

/** Every i64 field of the record (name, count of consecutive i64s). */
const I64_FIELDS: [string, number][] = [
  ['FL_LAST', 1], ['FL_AB_PACKETS', 4], ['FL_RTT', 1], ['FL_START', 1], ['FL_LUM', 7], ['FL_LINK_ID', 1],
  ['FL_NET_ID', 1], ['FL_TCP', 6], ['FL_TCP_AB', 7], ['FL_TCP_BA', 7], ['FL_IP_FRAGMENTS', 1], ['FL_IP_FRAG_ERRORS', 1],
];

for (const debug of [true, false]) {
  t.test(`${debug ? 'debug' : 'release'} core`, async (t) => {
    const rb = new RecordBench({
      debug,
      // Strings Go escapes (<, >, &, ", \, controls, U+2028, a lone surrogate), and non-ASCII ones.
      nodeTID: 'node<1>&"\\\n\u2028é\ud800',
      captureID: 'cap\u0001\t',
      applicationPorts: { tcp: { 80: 'http<x>', 443: 'Ünïcode' } },
    });
    const o = rb.o;
    const names = layerNames(rb.core);
    const id = (name: string): number => names.indexOf(name);
    const ALL = o.FLB_LINK | o.FLB_TCP_METRIC | o.FLB_IP_METRIC | o.FLB_PARENT | o.FLB_LUM;

    /** Core JSON equals the host's, with and without LastUpdateMetric; returns it parsed. */
    const check = (msg: string): Record<string, any> => {
      t.equal(rb.coreJSON(true), rb.hostJSON(true), `${msg} (LastUpdateMetric dropped)`);
      const json = rb.coreJSON(false);
      t.equal(json, rb.hostJSON(false), msg);
      return JSON.parse(json as string);
    };

    t.test('an empty record: the fields that are always written', async (t) => {
      rb.clear();
      t.equal(rb.coreJSON(), '{"UUID":"0","Metric":{"ABPackets":0,"ABBytes":0,"BAPackets":0,"BABytes":0,"Start":0,"Last":0},'
        + '"Start":0,"Last":0,"TrackingID":"0","L3TrackingID":"0","ParentUUID":"",'
        + '"NodeTID":"node\\u003c1\\u003e\\u0026\\"\\\\\\n\\u2028é\\ufffd","CaptureID":"cap\\u0001\\t","RawPacketsCaptured":0}');
      check('empty record');
    });

    t.test('IPv6 addresses as Go prints them', async (t) => {
      for (const [bytes, text] of IPV6_CASES) {
        rb.clear().u8('FL_NET_PROTO', 6).bytes('FL_NET_A', bytes).bytes('FL_NET_B', [...bytes].reverse());
        const f = check(text);
        t.equal(f.Network.A, text, text);
        t.equal(f.Network.Protocol, 'IPV6');
      }
    });

    t.test('IPv4 addresses, MACs, the nil address', async (t) => {
      for (const [bytes, text] of IPV4_CASES) {
        rb.clear().u8('FL_NET_PROTO', 4).bytes('FL_NET_A', bytes).bytes('FL_NET_B', [1, 2, 3, 4]);
        t.equal(check(text).Network.A, text);
      }
      for (const [bytes, text] of MAC_CASES) {
        rb.clear().bits(o.FLB_LINK).bytes('FL_MAC_A', bytes).bytes('FL_MAC_B', [...bytes].reverse());
        t.equal(check(text).Link.A, text);
      }
      for (const proto of [4, 6]) {
        rb.clear().u8('FL_NET_PROTO', proto).u8('FL_NET_A_NIL', 1).bytes('FL_NET_A', [1, 2, 3, 4]);
        const json = rb.coreJSON() as string;
        t.match(json, `"A":"\\u003cnil\\u003e","B":"\\u003cnil\\u003e"`, `IPv${proto} nil addresses`);
        check(`IPv${proto} nil`);
      }
    });

    t.test('IDs in unpadded lowercase hex', async (t) => {
      for (const [v, text] of HEX_CASES) {
        rb.clear().bits(o.FLB_PARENT).u64('FL_UUID', v).u64('FL_L2KEY', v).u64('FL_L3KEY', v).u64('FL_PARENT', v);
        const f = check(text);
        t.same([f.UUID, f.TrackingID, f.L3TrackingID, f.ParentUUID], [text, text, text, text]);
      }
    });

    t.test('int64 values, exact at the extremes', async (t) => {
      for (const v of INT64_CASES) {
        rb.clear().bits(ALL).u8('FL_NET_PROTO', 4);
        for (const [k, n] of I64_FIELDS) for (let i = 0; i < n; i++) rb.i64(k, v, i);
        const json = check(String(v));
        t.match(rb.coreJSON(), `"Start":${v},"Last":${v},`, `${v}`);
        t.equal(json.Metric.RTT, v === 0n ? undefined : Number(v), 'RTT is left out when 0');
      }
      rb.clear().bits(o.FLB_TCP_METRIC).u8('FL_ICMP_TYPE', 3).u8('FL_NET_PROTO', 4)
        .u32('FL_SYN_TTL_AB', 0xffffffff).u32('FL_ICMP_CODE', 0xffffffff).u32('FL_ICMP_ID', 0x80000000);
      const f = check('u32 fields');
      t.same([f.TCPMetric.ABSynTTL, f.TCPMetric.BASynTTL, f.ICMP.Code, f.ICMP.ID], [4294967295, undefined, 4294967295, 2147483648]);
    });

    t.test('which objects and fields are written', async (t) => {
      rb.clear().bits(o.FLB_TCP_METRIC | o.FLB_IP_METRIC).u8('FL_TRANSPORT', 1).u8('FL_ICMP_TYPE', 3);
      let f = check('no network layer: no Transport, ICMP, IPMetric');
      t.same([f.Network, f.Transport, f.ICMP, f.IPMetric, typeof f.TCPMetric], [undefined, undefined, undefined, undefined, 'object']);
      for (const [tp, name] of [[1, 'TCP'], [2, 'UDP'], [3, 'SCTP'], [9, 'SCTP']] as const) {
        rb.clear().u8('FL_NET_PROTO', 4).u8('FL_TRANSPORT', tp).u16('FL_PORT_A', 65535).u16('FL_PORT_B', 0);
        t.same(check(name).Transport, { Protocol: name, A: 65535, B: 0, ID: 0 });
      }
      const types = ['UNKNOWN', 'DESTINATION_UNREACHABLE', 'ECHO', 'NEIGHBOR', 'ADDRESS_MASK', 'INFO', 'PARAMETER_PROBLEM',
        'REDIRECT', 'ROUTER', 'SOURCE_QUENCH', 'TIME_EXCEEDED', 'TIMESTAMP', 'PACKET_TOO_BIG', 'UNKNOWN', 'UNKNOWN'];
      types.forEach((name, i) => {
        rb.clear().u8('FL_NET_PROTO', 6).u8('FL_ICMP_TYPE', i + 1).u32('FL_ICMP_CODE', i & 1).u32('FL_ICMP_ID', i & 2);
        t.equal(check(name).ICMP.Type, name);
      });
      rb.clear().bits(o.FLB_LUM).u8('FL_FINISH', 3).i64('FL_LUM', 5n, 6);
      f = check('LastUpdateMetric, FinishType');
      t.same([f.LastUpdateMetric.RTT, f.FinishType], [5, 3]);
      t.notOk('LastUpdateMetric' in JSON.parse(rb.coreJSON(true) as string), 'dropped on request');
    });

    t.test('LayersPath and Application', async (t) => {
      rb.clear().path([id('Ethernet'), id('IPv4'), id('UDP')]);
      t.same(check('path').LayersPath, 'Ethernet/IPv4/UDP');
      t.equal(check('path').Application, 'UDP', 'Application: the last layer');
      rb.clear().bits(o.FLB_LEADING_SLASH).path([id('Linux SLL'), id('IPv4')]);
      t.equal(check('slash').LayersPath, '/Linux SLL/IPv4', 'leading slash of a Linux SLL path');
      rb.clear().bits(o.FLB_LEADING_SLASH);
      t.equal(check('slash only').LayersPath, '/');
      t.equal(check('slash only').Application, undefined);
      rb.clear().path([id('Ethernet'), id('IPv4'), id('TCP')]).u8('FL_APP', 1);
      t.equal(check('port name').Application, 'HTTP<X>', 'the application-port name, upper-cased');
      t.match(rb.coreJSON(), '"Application":"HTTP\\u003cX\\u003e"');
      rb.u8('FL_APP', 2);
      t.equal(check('non-ASCII port name').Application, 'ÜNÏCODE');
      rb.u8('FL_APP', 9);
      t.equal(check('unknown port name index').Application, undefined);
    });

    t.test('refusals: extra layers, too little room', async (t) => {
      for (const kind of [1, 2, 3]) {
        rb.clear().u8('FL_EXTRA_KIND', kind);
        t.equal(rb.coreJSON(), -1, `extra layer kind ${kind}: left to the host`);
      }
      const bound = rb.core.jsonFlowBound();
      rb.clear();
      t.equal(rb.coreJSON(false, bound - 1), -2, 'below the bound');
      t.equal(typeof rb.coreJSON(false, bound), 'string', 'at the bound');
    });

    t.test('the longest record stays within the bound', async (t) => {
      const longest = names.reduce((a, n, i) => (n.length > names[a].length ? i : a), 0);
      rb.clear().bits(ALL | o.FLB_LEADING_SLASH).u8('FL_NET_PROTO', 6).u8('FL_TRANSPORT', 3).u8('FL_ICMP_TYPE', 2)
        .u32('FL_ICMP_CODE', 0xffffffff).u32('FL_ICMP_ID', 0xffffffff).u32('FL_SYN_TTL_AB', 0xffffffff)
        .u32('FL_SYN_TTL_BA', 0xffffffff).u8('FL_FINISH', 255).u16('FL_PORT_A', 65535).u16('FL_PORT_B', 65535)
        .u64('FL_UUID', 2n ** 64n - 1n).u64('FL_L2KEY', 2n ** 64n - 1n).u64('FL_L3KEY', 2n ** 64n - 1n)
        .u64('FL_PARENT', 2n ** 64n - 1n).bytes('FL_NET_A', groups(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xfff1))
        .bytes('FL_NET_B', groups(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xfff2))
        .path(Array(o.PATH_MAX).fill(longest));
      for (const [k, n] of I64_FIELDS) for (let i = 0; i < n; i++) rb.i64(k, INT64_MIN, i);
      const json = rb.coreJSON() as string;
      t.equal(json, rb.hostJSON());
      t.ok(Buffer.byteLength(json) <= rb.core.jsonFlowBound(), `${Buffer.byteLength(json)} <= ${rb.core.jsonFlowBound()}`);
    });

    t.test('random records: the same JSON as the host', async (t) => {
      let seed = 12345;
      const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
      const pick = <T>(xs: T[]): T => xs[rnd(xs.length)];
      let same = 0;
      const N = 3000;
      for (let n = 0; n < N; n++) {
        const v = rb.view();
        for (let i = 0; i < v.length; i++) v[i] = rnd(256);
        rb.u8('FL_EXTRA_KIND', 0).u8('FL_NET_PROTO', pick([0, 4, 6, 6, 4, 5])).u8('FL_TRANSPORT', rnd(5))
          .u8('FL_ICMP_TYPE', rnd(3) === 0 ? rnd(16) : 0).u8('FL_NET_A_NIL', rnd(4) === 0 ? rnd(256) : 0)
          .u8('FL_APP', pick([0, 0, 0, 1, 2, 7])).u8('FL_FINISH', pick([0, 1, 2, 3, rnd(256)]))
          .path(Array.from({ length: pick([0, 1, 2, 3, 5, rnd(o.PATH_MAX + 1)]) }, () => 1 + rnd(names.length - 1)));
        // Many zero groups and small numbers: the interesting text forms.
        for (const k of ['FL_NET_A', 'FL_NET_B']) {
          if (rnd(2)) rb.bytes(k, groups(...Array.from({ length: 8 }, () => (rnd(3) ? 0 : rnd(65536)))));
          if (rnd(8) === 0) rb.bytes(k, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255]);
        }
        for (const [k, count] of I64_FIELDS) {
          for (let i = 0; i < count; i++) if (rnd(2)) rb.i64(k, pick([...INT64_CASES, BigInt(rnd(1000)), -BigInt(rnd(1000))]), i);
        }
        const drop = rnd(2) === 1;
        const host = rb.hostJSON(drop);
        const core = rb.coreJSON(drop);
        if (core === host) same++;
        else t.equal(core, host, `random record ${n}`);
      }
      t.equal(same, N, `${same}/${N} random records identical`);
    });
  });
}
