/**
 * The same flows whatever the parallelism: pcap2flows output is identical
 * byte for byte for 1, 2, 3 and 4 workers, with the first table in this
 * thread or in a worker thread, for any batch size, with and without
 * packet-time timers, on generated traffic whose conversations cross tunnels
 * in both directions (and whose TCP conversations mix plain frames with
 * frames the decoder reads), and on corpus captures.
 */
import t from 'tap';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parsePcap2FlowsArgs, pcap2flows } from '../../src/commands/pcap2flows.js';
import { erspan2, ethernet, gre, icmpEcho, ipv4, mpls, tcp, TCP_FLAGS as F, udp, vxlan } from '../helpers/packets.js';
import { pcapngBytes, writePcap } from '../helpers/pcap.js';

const dir = mkdtempSync(path.join(tmpdir(), 'parallel-'));

async function run(args: string[], spillBytes?: number): Promise<string> {
  return (await runWithCounters(args, spillBytes)).flows;
}

async function runWithCounters(args: string[], spillBytes?: number): Promise<{ flows: string; counters: Record<string, bigint> }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const counters = await pcap2flows({ ...parsePcap2FlowsArgs(args), spillBytes }, out);
  return { flows: Buffer.concat(chunks).toString('utf8'), counters };
}

/** Deterministic mixed traffic: TCP, UDP, ICMP, VXLAN both ways, GRE, fragments, over a few minutes. */
function traffic(): string {
  let seed = 7;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
  const frames: { data: number[]; tsUs: number }[] = [];
  let ts = 1_700_000_000_000_000;
  const mac = (i: number) => `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
  const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  for (let n = 0; n < 6000; n++) {
    ts += 1 + rnd(60_000);
    const h = rnd(300), k = rnd(3);
    const [a, b] = k === 0 ? [h, h + 1000] : [h + 1000, h]; // both directions
    let frame: number[];
    switch (rnd(6)) {
      case 0:
        frame = ethernet(mac(a), mac(b), 0x0800, ipv4(ip(a), ip(b), 6, tcp(k ? 80 : 40000 + h, k ? 40000 + h : 80, rnd(4) === 0 ? F.SYN : F.ACK, [1, 2, 3], 1000 + n)));
        if (n % 5 === 0) {
          // The same conversation through the decoder rather than the plain-frame path (an IPv4
          // total length of 0, as TSO leaves it): the shard must not depend on the path.
          const tso = [...frame];
          tso[16] = 0;
          tso[17] = 0;
          frames.push({ data: tso, tsUs: ts });
        }
        break;
      case 1: frame = ethernet(mac(a), mac(b), 0x0800, ipv4(ip(a), ip(b), 17, udp(5000 + (h % 7), 9000, [n & 255]))); break;
      case 2: frame = ethernet(mac(a), mac(b), 0x0800, ipv4(ip(a), ip(b), 1, icmpEcho(k ? 0 : 8, h, n & 0xffff))); break;
      case 3: { // the two directions of one inner conversation ride outer flows with other source ports
        const inner = ethernet(mac(a + 5000), mac(b + 5000), 0x0800, ipv4(ip(a + 5000), ip(b + 5000), 1, icmpEcho(k ? 0 : 8, h, 1)));
        frame = ethernet(mac(a), mac(b), 0x0800, ipv4(ip(a), ip(b), 17, udp(30000 + rnd(2000), 4789, vxlan(100 + (h % 3), inner))));
        break;
      }
      case 4: frame = ethernet(mac(a), mac(b), 0x0800, ipv4(ip(a), ip(b), 47, [0, 0, 0x08, 0x00, ...ipv4('192.168.0.1', '192.168.0.2', 17, udp(53, 53 + h, [1, 2, 3, 4]))])); break;
      default: { // a datagram in two fragments
        const payload = udp(7000, 7001, new Array(40).fill(n & 255));
        const id = n & 0xffff;
        frames.push({ data: ethernet(mac(a), mac(b), 0x0800, ipv4(ip(a), ip(b), 17, payload.slice(0, 24), { id, flags: 1 })), tsUs: ts });
        frame = ethernet(mac(a), mac(b), 0x0800, ipv4(ip(a), ip(b), 17, payload.slice(24), { id, frag: 3 }));
      }
    }
    frames.push({ data: frame, tsUs: ts });
  }
  const file = path.join(dir, 'mixed.pcap');
  writePcap(file, frames);
  mixedFrames = frames;
  return file;
}
let mixedFrames: { data: number[]; tsUs: number }[] = [];

t.test('generated traffic: same output for every worker count and batch size', async (t) => {
  const file = traffic();
  const base = await run([file]);
  t.ok(base.split('\n').length > 300, `${base.split('\n').length - 1} flows`);
  for (const extra of [['--workers', '2'], ['--workers', '4'], ['--threads'], ['--workers', '3', '--threads'], ['--batch-packets', '1'], ['--workers', '2', '--batch-packets', '7']]) {
    t.equal(await run([...extra, file]), base, extra.join(' '));
  }
  const timed = await run(['--timers', '--update', '5', '--expire', '20', file]);
  t.not(timed, base, 'timers change the flows (expiry splits long-idle conversations)');
  for (const extra of [['--workers', '2'], ['--workers', '4', '--batch-packets', '13']]) {
    t.equal(await run(['--timers', '--update', '5', '--expire', '20', ...extra, file]), timed, `timers, ${extra.join(' ')}`);
  }
  // A classic pcap's records are dealt out to the tables by the reader (native/pcapshard.c); a
  // pcapng's are split by the first table (shard-task.ts): both give the same flows.
  const ng = file.replace(/\.pcap$/, '.pcapng');
  writeFileSync(ng, pcapngBytes(mixedFrames));
  for (const extra of [['--workers', '2'], ['--workers', '3', '--batch-packets', '11']]) {
    t.equal(await run([...extra, ng]), base, `pcapng, ${extra.join(' ')}`);
    t.equal(await run(['--timers', '--update', '5', '--expire', '20', ...extra, ng]), timed, `pcapng, timers, ${extra.join(' ')}`);
  }
});

t.test('finished flows beyond the memory bound wait on disk: same output', async (t) => {
  const file = traffic();
  // A small table evicts most flows long before the end of the file: all of them wait for it.
  // (Each table holds --max-entries: which flows a full table evicts depends on the worker count.)
  for (const extra of [[], ['--workers', '2'], ['--workers', '3', '--batch-packets', '50']]) {
    const args = ['--max-entries', '40', ...extra, file];
    const held = await run(args);
    t.ok(held.split('\n').length > 300, `${held.split('\n').length - 1} flows`);
    t.equal(await run(args, 4096), held, `runs of 4 kB, ${extra.join(' ') || 'one table'}`);
  }
  const timed = ['--timers', '--update', '5', '--expire', '20', '--max-entries', '40', '--workers', '2', file];
  t.equal(await run(timed, 2048), await run(timed), 'with ticks');
});

/**
 * Conversations that go quiet for longer than the expiry, then speak again right around an
 * expire tick: some just before it (one flow: the tick finds them active), some just after it
 * (two flows: the tick ends the first). A table that ran the tick one packet early or late
 * would merge or split one of them.
 */
t.test('timers: every table runs a tick between the same two of its packets', async (t) => {
  const t0 = 1_700_000_000_000_000;
  const frames: { data: number[]; tsUs: number }[] = [];
  const datagram = (i: number, tsUs: number): void => {
    frames.push({ data: ethernet('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800, ipv4(`10.1.0.${i}`, '10.2.0.1', 17, udp(20000 + i, 53, [i]))), tsUs });
  };
  for (let i = 1; i <= 60; i++) datagram(i, t0 + i * 1000);
  // Expire ticks every 20 s from the first packet: the one at t0 + 40 s ends flows last seen before t0 + 20 s.
  for (let i = 1; i <= 30; i++) datagram(i, t0 + 40_000_000 - 1000 * (31 - i));
  for (let i = 31; i <= 60; i++) datagram(i, t0 + 40_000_000 + 1000 * (i - 30));
  // Stamped before the tick but recorded after a packet past it: in one table, the tick has run
  // by then; every table must see it so, whichever of them got the packet that ran it.
  for (let i = 31; i <= 40; i++) datagram(i, t0 + 40_000_000 - 500 * (i - 30));
  const file = path.join(dir, 'tick-edges.pcap');
  writePcap(file, frames);
  const args = ['--timers', '--update', '5', '--expire', '20'];
  const one = await run([...args, file]);
  const flows = one.trim().split('\n').map((l) => JSON.parse(l) as { Transport: { A: number } });
  const perPort = (port: number) => flows.filter((f) => f.Transport.A === port).length;
  t.same([perPort(20001), perPort(20030), perPort(20031), perPort(20060)], [1, 1, 2, 2], 'before the tick: one flow; after it: two');
  for (const extra of [['--workers', '2'], ['--workers', '3'], ['--workers', '4', '--batch-packets', '5'], ['--workers', '2', '--threads']]) {
    t.equal(await run([...args, ...extra, file]), one, extra.join(' '));
  }
});

const CORPUS = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));
const CAPTURES: [string, string[]][] = [
  ['skydive/geneve.pcap', []], ['skydive/eth-ip4-arp-dns-req-http-google.pcap', ['--extra-layers', 'ALL']],
  ['skydive/contrail-udp-mpls-eth-and-ipv4.pcap', ['--mpls-udp-port', '51234']], ['zeek/gre-sample.pcap', []],
  ['ndpi/6in4tunnel.pcap', []], ['zeek/fragmented-4.pcap', []],
];

t.test('corpus captures: same output for 1, 2 and 4 workers', { skip: !existsSync(CORPUS) && !process.env.CI ? 'corpus missing' : false }, async (t) => {
  if (!existsSync(CORPUS)) { t.fail(`corpus missing: ${CORPUS}`); return; }
  for (const [f, args] of CAPTURES) {
    const file = CORPUS + f;
    const base = await run([...args, file]);
    t.equal(await run([...args, '--workers', '3', '--batch-packets', '3', file]), base, `${f}: 3 workers, batches of 3`);
  }
});

/**
 * Packets that hit the decoder's counters, spread over many address pairs so that every worker
 * gets some: with several workers each packet is also decoded to pick its worker, and that
 * decode must count nothing.
 */
function damaged(): { file: string; expect: Record<string, bigint> } {
  const frames: { data: number[]; tsUs: number; wireLen?: number }[] = [];
  let ts = 1_700_000_000_000_000;
  const add = (data: number[], wireLen?: number) => frames.push({ data, tsUs: (ts += 1000), wireLen });
  const mac = (i: number) => `02:00:00:00:01:${(i & 255).toString(16).padStart(2, '0')}`;
  const N = 12;
  for (let i = 0; i < N; i++) {
    const a = `10.1.${i}.1`, b = `10.2.${i}.2`;
    // Whole UDP datagram: a flow, no event.
    add(ethernet(mac(i), mac(i + 100), 0x0800, ipv4(a, b, 17, udp(1000 + i, 2000, [1, 2, 3, 4]))));
    // IPv4 total length beyond the captured bytes: truncated.
    const whole = ethernet(mac(i), mac(i + 100), 0x0800, ipv4(a, b, 1, icmpEcho(8, i, 1, new Array(64).fill(i))));
    add(whole.slice(0, 60), whole.length);
    // ICMPv4 shorter than its 8 bytes: a DecodeFailure.
    add(ethernet(mac(i), mac(i + 100), 0x0800, ipv4(a, b, 1, [8, 0, 0, 0])));
    // ERSPAN-II carrying 5 bytes of frame: an empty Ethernet and a DecodeFailure.
    add(ethernet(mac(i), mac(i + 100), 0x0800, ipv4(a, b, 47, gre(0x88be, erspan2(i, [1, 2, 3, 4, 5]), i))));
    // Two labels, then IPv4: the middle [MPLS] level has no key material.
    add(ethernet(mac(i), mac(i + 100), 0x8847, mpls(i, false, mpls(i + 1, true, ipv4(a, b, 17, udp(5, 6, [9]))))));
    // More labels than the layer cap: too_many_layers (and a DecodeFailure).
    let deep: number[] = ipv4(a, b, 17, udp(5, 6, [9]));
    for (let k = 0; k < 70; k++) deep = mpls(k, k === 0, deep);
    add(ethernet(mac(i), mac(i + 100), 0x8847, deep));
    // An IPv4 datagram in two fragments.
    const payload = udp(7000, 7001, new Array(40).fill(i));
    add(ethernet(mac(i), mac(i + 100), 0x0800, ipv4(a, b, 17, payload.slice(0, 24), { id: 100 + i, flags: 1 })));
    add(ethernet(mac(i), mac(i + 100), 0x0800, ipv4(a, b, 17, payload.slice(24), { id: 100 + i, frag: 3 })));
    // A frame too short for Ethernet: a DecodeFailure and no flow.
    add(mac(i).split(':').map((x) => parseInt(x, 16)));
  }
  const file = path.join(dir, 'damaged.pcap');
  writePcap(file, frames);
  const n = BigInt(N);
  return {
    file,
    expect: {
      // The short ICMPv4 is truncated too (gopacket says so before failing). Levels without key
      // material: the two-label stack's middle one; the cut stack's 61 middle labels and its
      // DecodeFailure. The ERSPAN outer flow and the short ICMPv4's share a key.
      packets: 9n * n, truncated: 2n * n, decode_failures: 4n * n, too_many_layers: n, orphan_subpackets: 63n * n,
      defrag_fragments: n, defrag_reassembled: n, packets_without_flow: 2n * n, flows_created: 8n * n, packets_with_flow: 7n * n,
    },
  };
}

t.test('every counter counts each packet once, whatever the number of workers', async (t) => {
  const { file, expect } = damaged();
  const one = await runWithCounters(['--stats', file]);
  t.match(one.counters, expect, 'one table');
  for (const extra of [['--workers', '2'], ['--workers', '3'], ['--workers', '4'], ['--workers', '2', '--threads'], ['--workers', '3', '--batch-packets', '1']]) {
    const got = await runWithCounters([...extra, '--stats', file]);
    t.strictSame(got.counters, one.counters, `counters, ${extra.join(' ')}`);
    t.equal(got.flows, one.flows, `flows, ${extra.join(' ')}`);
  }
  // The shared corpus' truncated and damaged captures likewise.
  if (existsSync(CORPUS)) {
    for (const f of ['skydive/icmpv4-truncated.pcap', 'tcpdump/gre-heapoverflow-1.pcap', 'tcpdump/mpls-label-heapoverflow.pcap', 'zeek/ip4-trunc.pcap']) {
      const base = await runWithCounters([CORPUS + f]);
      for (const w of ['2', '4']) t.strictSame((await runWithCounters(['--workers', w, CORPUS + f])).counters, base.counters, `${f}: ${w} workers`);
    }
  }
});
