/**
 * The same flows whatever the parallelism: pcap2flows output is identical
 * byte for byte for 1, 2, 3 and 4 workers, with the first table in this
 * thread or in a worker thread, for any batch size, with and without
 * packet-time timers, on generated traffic whose conversations cross tunnels
 * in both directions (and whose TCP conversations mix plain frames with
 * frames the decoder reads), and on corpus captures.
 */
import t from 'tap';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parsePcap2FlowsArgs, pcap2flows } from '../../src/commands/pcap2flows.js';
import { ethernet, icmpEcho, ipv4, tcp, TCP_FLAGS as F, udp, vxlan } from '../helpers/packets.js';
import { writePcap } from '../helpers/pcap.js';

const dir = mkdtempSync(path.join(tmpdir(), 'parallel-'));

async function run(args: string[], spillBytes?: number): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await pcap2flows({ ...parsePcap2FlowsArgs(args), spillBytes }, out);
  return Buffer.concat(chunks).toString('utf8');
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
  return file;
}

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
