/**
 * Live capture through the pcapbatch addon, on veth pairs between private network namespaces
 * that each test builds and deletes. Traffic is real: UDP datagrams sent by node inside a
 * namespace, and ping through a kernel VXLAN tunnel for the end-to-end flow test.
 *
 * These tests need root (namespaces, veth, packet sockets) and the built addon: with CI=true
 * they fail without them, elsewhere they are skipped with the reason.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LiveCapture, LiveCaptureError, type LiveBatch, type LiveCaptureOptions } from '../../src/capture/live.js';
import { FlowEngine } from '../../src/engine/flow-engine.js';
import type { Flow } from '../../src/flow/types.js';
import { NetLab, netnsUnavailable, ip, type Netns } from '../helpers/netns.js';

const SENDER = fileURLToPath(new URL('../helpers/udp-send.mjs', import.meta.url));
const ADDON = fileURLToPath(new URL('../../native/build/Release/pcapbatch.node', import.meta.url));

function unavailable(): string | undefined {
  const reason = netnsUnavailable();
  if (reason) return reason;
  try {
    LiveCapture.open({ interface: '' });
  } catch (e) {
    if (e instanceof LiveCaptureError && e.code.startsWith('ERR_ADDON')) return e.message;
  }
  return undefined;
}

interface Rec { ts: bigint; caplen: number; wirelen: number; linkType: number; ifIndex: number; data: Uint8Array }

/** Copies the records of a batch out of the ring. */
function records(b: LiveBatch): Rec[] {
  const dv = new DataView(b.data.buffer, b.data.byteOffset, b.bytes);
  const out: Rec[] = [];
  let p = 0;
  for (let i = 0; i < b.packets; i++) {
    const caplen = dv.getUint32(p + 8, true);
    out.push({
      ts: dv.getBigInt64(p, true), caplen, wirelen: dv.getUint32(p + 12, true),
      linkType: dv.getUint32(p + 16, true), ifIndex: dv.getUint32(p + 20, true),
      data: b.data.slice(p + 24, p + 24 + caplen),
    });
    p += (24 + caplen + 7) & ~7;
  }
  if (p !== b.bytes) throw new Error(`batch of ${b.bytes} bytes holds records of ${p}`);
  return out;
}

/**
 * Reads a capture in the background. until(n) waits for n records (or `ms`), then closes the
 * capture, which ends the reading; the records are kept.
 */
function reader(cap: LiveCapture) {
  const recs: Rec[] = [];
  let want = Infinity;
  const done = (async () => {
    for await (const b of cap) {
      recs.push(...records(b));
      if (recs.length >= want) break;
    }
  })();
  return {
    recs,
    async until(n: number, ms = 10000): Promise<Rec[]> {
      want = n;
      if (recs.length >= n) cap.close();
      const timer = setTimeout(() => cap.close(), ms);
      try { await done; } finally { clearTimeout(timer); }
      return recs;
    },
  };
}

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/** Two namespaces, `a0` (10.0.0.1, in A) <-> `b0` (no address, in B); A sends to 10.0.0.3 at b0's MAC, B drops it silently. */
function pair(lab: NetLab): { A: Netns; B: Netns } {
  const A = lab.ns('a');
  const B = lab.ns('b');
  lab.veth(A, 'a0', B, 'b0', '10.0.0.1/24');
  lab.neighbour(A, 'a0', '10.0.0.3', lab.mac(B, 'b0'));
  return { A, B };
}

async function sendUDP(lab: NetLab, ns: Netns, port: number, count: number, sizes: number[]): Promise<void> {
  const out = await lab.exec(ns, [process.execPath, SENDER, '10.0.0.3', String(port), String(count), sizes.join(',')]);
  if (out.trim() !== `sent ${count}`) throw new Error(`udp-send: ${out}`);
}

function threads(): number {
  return readdirSync('/proc/self/task').length;
}

function runTests(): void {
  t.test('every datagram is captured, with its lengths, bytes and kernel timestamps; two captures at once', async (t) => {
    const lab = new NetLab();
    t.teardown(() => lab.cleanup());
    const { A, B } = pair(lab);
    const full = LiveCapture.open({ interface: 'b0', netns: B.path });
    const snap = LiveCapture.open({ interface: 'b0', netns: B.path, headerSize: 64, batchSize: 4096, batches: 4 });
    t.teardown(() => { full.close(); snap.close(); });
    t.equal(full.snapLen, 256, 'HeaderSize default 256');
    t.equal(snap.snapLen, 64);
    t.equal(full.linkType, 1, 'Ethernet');
    t.ok(full.ifIndex > 0 && full.ifIndex === snap.ifIndex, `ifindex ${full.ifIndex}`);
    t.ok(full.nanosecond, 'nanosecond timestamps');

    const sizes = [0, 1, 17, 100, 213, 214, 215, 512, 1000, 1472];
    const count = 300;
    const rFull = reader(full);
    const rSnap = reader(snap);
    const t0 = nowNs();
    await sendUDP(lab, A, 7777, count, sizes);
    const t1 = nowNs();
    const got = await rFull.until(count);
    const gotSnap = await rSnap.until(count);

    t.equal(got.length, count, 'full capture: every datagram');
    t.equal(gotSnap.length, count, 'snap capture: every datagram');
    let wireSum = 0;
    let ordered = true, inWindow = true, lengths = true, headers = true, payloads = true, snapOk = true;
    for (let i = 0; i < count; i++) {
      const size = sizes[i % sizes.length];
      const wire = 14 + 20 + 8 + size;
      wireSum += wire;
      const r = got[i];
      if (r.wirelen !== wire || r.caplen !== Math.min(256, wire)) lengths = false;
      if (r.linkType !== 1 || r.ifIndex !== full.ifIndex) headers = false;
      if (r.ts < t0 - 2_000_000n || r.ts > t1 + 2_000_000n) inWindow = false;
      if (i > 0 && r.ts < got[i - 1].ts) ordered = false;
      const d = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
      if (d.getUint16(12) !== 0x0800 || r.data[23] !== 17 || d.getUint16(36) !== 7777 || d.getUint16(38) !== 8 + size) headers = false;
      if (size >= 4 && d.getUint32(42) !== i) payloads = false;
      if (size >= 5 && r.data[Math.min(r.caplen, wire) - 1] !== (i & 255)) payloads = false;
      const s = gotSnap[i];
      if (s.wirelen !== wire || s.caplen !== Math.min(64, wire) || s.ts !== r.ts ||
          Buffer.compare(s.data, r.data.subarray(0, s.caplen)) !== 0) snapOk = false;
    }
    t.ok(lengths, 'wirelen = frame length, caplen = min(256, wirelen)');
    t.ok(headers, 'link type, ifindex, Ethernet/IPv4/UDP headers as sent');
    t.ok(payloads, 'payload bytes as sent, datagrams in sending order');
    t.ok(ordered, 'timestamps never go back');
    t.ok(inWindow, 'timestamps inside the wall-clock window of the sending');
    t.ok(snapOk, 'HeaderSize 64: caplen = min(64, wirelen), same packets, same timestamps, same leading bytes');

    const st = full.stats();
    t.match(st, { PacketsReceived: count, PacketsDropped: 0, KernelDropped: 0, RingDropped: 0, KernelFlowDropped: 0, PacketsCaptured: count, BytesCaptured: wireSum },
      'stats: everything received and captured, nothing dropped');
    t.equal(snap.stats().PacketsReceived, count);
  });

  t.test('a BPF filter keeps only the packets it matches, in the kernel', async (t) => {
    const lab = new NetLab();
    t.teardown(() => lab.cleanup());
    const { A, B } = pair(lab);
    const cap = LiveCapture.open({ interface: 'b0', netns: B.path, bpf: 'udp and dst port 5001' });
    t.teardown(() => cap.close());
    const r = reader(cap);
    await Promise.all([sendUDP(lab, A, 5002, 150, [10]), sendUDP(lab, A, 5001, 100, [20]), sendUDP(lab, A, 5003, 50, [30])]);
    await sleep(100);
    const got = await r.until(100);
    t.equal(got.length, 100, 'the 100 datagrams to port 5001');
    t.ok(got.every((x) => x.data[36] * 256 + x.data[37] === 5001 && x.wirelen === 62), 'only port 5001');
    t.equal(cap.stats().PacketsReceived, 100, 'the kernel counts only what passed the filter');
  });

  t.test('promiscuous mode is set on the interface while capturing, and only when asked', async (t) => {
    const lab = new NetLab();
    t.teardown(() => lab.cleanup());
    const { B } = pair(lab);
    const promiscuity = () => (JSON.parse(ip('-n', B.name, '-d', '-j', 'link', 'show', 'b0')) as { promiscuity: number }[])[0].promiscuity;
    t.equal(promiscuity(), 0, 'not promiscuous before');
    const on = LiveCapture.open({ interface: 'b0', netns: B.path });
    t.equal(promiscuity(), 1, 'promiscuous while a default capture runs');
    on.close();
    t.equal(promiscuity(), 0, 'back to normal after close');
    const off = LiveCapture.open({ interface: 'b0', netns: B.path, promiscuous: false });
    t.equal(promiscuity(), 0, 'promiscuous: false leaves it alone');
    off.close();
  });

  t.test('capture in a namespace given as /proc/PID/ns/net', async (t) => {
    const lab = new NetLab();
    t.teardown(() => lab.cleanup());
    const { A, B } = pair(lab);
    const holder = lab.spawn(B, ['sleep', '120']);
    await sleep(200);
    const nsPath = `/proc/${holder.pid}/ns/net`;
    const cap = LiveCapture.open({ interface: 'b0', netns: nsPath });
    t.teardown(() => cap.close());
    const r = reader(cap);
    await sendUDP(lab, A, 9000, 25, [64]);
    const recs = await r.until(25);
    t.equal(recs.length, 25, 'the 25 datagrams seen on b0 inside the namespace');
    t.ok(recs.every((x) => x.wirelen === 106), 'their lengths');
    // The name b0 exists only inside B: the same name in this namespace is no device.
    t.throws(() => LiveCapture.open({ interface: 'b0' }), { code: 'ERR_PCAP_NO_SUCH_DEVICE' }, 'b0 is not in the root namespace');
  });

  t.test('clear errors: no such interface, bad filter, bad namespace, no permission, bad options', async (t) => {
    const lab = new NetLab();
    t.teardown(() => lab.cleanup());
    const { B } = pair(lab);
    const before = threads();
    const err = (opts: LiveCaptureOptions): LiveCaptureError => {
      try {
        LiveCapture.open(opts).close();
      } catch (e) {
        return e as LiveCaptureError;
      }
      throw new Error(`open(${JSON.stringify(opts)}) did not fail`);
    };
    let e = err({ interface: 'nosuchdev0', netns: B.path });
    t.ok(e instanceof LiveCaptureError);
    t.equal(e.code, 'ERR_PCAP_NO_SUCH_DEVICE');
    t.match(e.message, /nosuchdev0.*No such device/, e.message);

    e = err({ interface: 'lo', netns: B.path, bpf: 'udp port' });
    t.equal(e.code, 'ERR_PCAP_FILTER');
    t.match(e.message, /bad BPF filter "udp port": .*syntax error/, e.message);
    e = err({ interface: 'lo', netns: B.path, bpf: 'tcp port 99999' });
    t.equal(e.code, 'ERR_PCAP_FILTER');
    t.match(e.message, /port 99999/, e.message);

    e = err({ interface: 'lo', netns: `/var/run/netns/${lab.tag}-missing` });
    t.equal(e.code, 'ERR_NETNS');
    t.match(e.message, /network namespace .*-missing: No such file or directory/, e.message);
    e = err({ interface: 'lo', netns: '/etc/hostname' });
    t.equal(e.code, 'ERR_NETNS');
    t.match(e.message, /\/etc\/hostname: not a network namespace/, e.message);

    for (const [opts, what] of [
      [{ interface: '' }, /interface/],
      [{ interface: 'lo', headerSize: 5 }, /headerSize/],
      [{ interface: 'lo', batchSize: 100 }, /batchSize/],
      [{ interface: 'lo', batchSize: 1004 }, /batchSize/],
      [{ interface: 'lo', batches: 0 }, /batches/],
      [{ interface: 'lo', timeoutMs: 1.5 }, /timeoutMs/],
    ] as [LiveCaptureOptions, RegExp][]) {
      e = err(opts);
      t.equal(e.code, 'ERR_INVALID_ARG', JSON.stringify(opts));
      t.match(e.message, what);
    }

    // Without CAP_NET_RAW (uid nobody, no capabilities) libpcap cannot open a packet socket.
    const child = `const a = require(${JSON.stringify(ADDON)});
      try { a.open({ device: 'lo', snaplen: 256, bufferSize: 1 << 20, timeoutMs: 20, batches: 1, batchSize: 4096 },
                   new Uint8Array(new SharedArrayBuffer(4096)), () => {}); console.log('opened'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const { stdout } = await execFileAsync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all',
      process.execPath, '-e', child], { encoding: 'utf8' });
    const denied = JSON.parse(stdout) as { code: string; message: string };
    t.equal(denied.code, 'ERR_PCAP_PERM_DENIED', stdout);
    t.match(denied.message, /cannot capture on lo: .*(permission|not permitted)/i);

    t.equal(threads(), before, 'no thread left behind by the failed opens');
  });

  t.test('a full ring: a short stall loses nothing, a long one drops and counts, then capture goes on', async (t) => {
    const lab = new NetLab();
    t.teardown(() => lab.cleanup());
    const { A, B } = pair(lab);
    // One slot of 4096 bytes: 24 records of 142-byte frames (168 bytes each).
    const cap = LiveCapture.open({ interface: 'b0', netns: B.path, batches: 1, batchSize: 4096 });
    t.teardown(() => cap.close());
    const it = cap[Symbol.asyncIterator]();
    const take = async (n: number): Promise<Rec[]> => {
      const out: Rec[] = [];
      while (out.length < n) {
        const r = await Promise.race([it.next(), sleep(5000).then(() => undefined)]);
        if (!r || r.done) break;
        out.push(...records(r.value));
        r.value.release();
      }
      return out;
    };

    // Short stall: nobody reads for a while (well under the addon's 1 s) while 100 datagrams arrive; the kernel buffer holds them.
    await sendUDP(lab, A, 6000, 100, [100]);
    await sleep(100);
    const first = await take(100);
    t.equal(first.length, 100, 'all 100 delivered after the stall');
    t.ok(first.every((r, i) => new DataView(r.data.buffer, r.data.byteOffset).getUint32(42) === i), 'in order');
    t.equal(cap.stats().RingDropped, 0, 'no ring drop');

    // Long stall: the slot is held (not released) for 1.6 s while 300 more arrive.
    await sendUDP(lab, A, 6000, 300, [100]);
    await sleep(1600);
    const st = cap.stats();
    t.ok(st.RingDropped > 0, `ring drops counted (${st.RingDropped})`);
    t.equal(st.KernelDropped, 0, 'the kernel buffer never overflowed');
    t.equal(st.PacketsDropped, st.RingDropped, 'PacketsDropped = kernel + ring drops');
    const held = await take(1);
    const after = await take(300 - st.RingDropped - held.length);
    const kept = held.length + after.length;
    t.equal(kept + st.RingDropped, 300, `every packet of the burst is either delivered (${kept}) or counted as dropped`);

    // Reading again: nothing more is lost.
    const more = sendUDP(lab, A, 6000, 50, [100]);
    const next = await take(50);
    await more;
    t.equal(next.length, 50, 'the next 50 all delivered');
    const end = cap.stats();
    t.equal(end.RingDropped, st.RingDropped, 'no new drop');
    t.equal(end.PacketsReceived, 450, 'PacketsReceived counts every packet that passed the filter');
    t.equal(end.PacketsCaptured + end.PacketsDropped, end.PacketsReceived, 'received = captured + dropped');
  });

  t.test('the interface disappearing ends the iteration with an error, not a crash', async (t) => {
    const lab = new NetLab();
    t.teardown(() => lab.cleanup());
    const { A, B } = pair(lab);
    const cap = LiveCapture.open({ interface: 'b0', netns: B.path });
    t.teardown(() => cap.close());
    const seen: number[] = [];
    const reading = (async () => { for await (const b of cap) seen.push(b.packets); })();
    await sendUDP(lab, A, 6100, 10, [50]);
    await sleep(100);
    ip('-n', A.name, 'link', 'del', 'a0');
    const error = await Promise.race([reading.then(() => 'ended without error', (e: unknown) => e), sleep(5000).then(() => 'still running after 5 s')]);
    t.ok(error instanceof LiveCaptureError, String(error));
    t.equal((error as LiveCaptureError).code, 'ERR_PCAP_CAPTURE');
    t.match((error as Error).message, /capture on b0 failed: .+/);
    t.equal(seen.reduce((a, b) => a + b, 0), 10, 'the packets before it were delivered');
    t.doesNotThrow(() => cap.close(), 'close after the error');
    t.equal(cap.stats().PacketsCaptured, 10, 'stats stay readable');
  });

  t.test('close while packets flow, many times over: no crash, no thread left', async (t) => {
    const lab = new NetLab();
    t.teardown(() => lab.cleanup());
    const { A, B } = pair(lab);
    await readFile('/proc/self/status'); // libuv's pool threads exist from here on
    const flood = lab.spawn(A, [process.execPath, SENDER, '10.0.0.3', '6200', '0', '200,1400', '1']);
    t.teardown(() => { flood.kill('SIGKILL'); });
    await sleep(300);
    const before = threads();
    let delivered = 0;
    for (let i = 0; i < 20; i++) {
      const cap = LiveCapture.open({ interface: 'b0', netns: B.path, batches: 2, batchSize: 65536, timeoutMs: 5 });
      const it = cap[Symbol.asyncIterator]();
      const r = await Promise.race([it.next(), sleep(2000).then(() => undefined)]);
      if (r && !r.done) delivered += r.value.packets;
      if (i % 2 === 0) await sleep(20); // close with a batch held, or released
      cap.close();
      t.same(await it.next(), { value: undefined, done: true }, `iteration ends after close (${i})`);
      t.doesNotThrow(() => cap.close(), 'close twice');
    }
    t.ok(delivered > 0, `batches arrived while flooding (${delivered} packets)`);
    t.equal(threads(), before, 'as many threads as before');
  });

  t.test('end to end: ping through a kernel VXLAN tunnel, captured on the underlay, into flows', async (t) => {
    const lab = new NetLab();
    t.teardown(() => lab.cleanup());
    const A = lab.ns('a');
    const B = lab.ns('b');
    lab.veth(A, 'u0', B, 'u1', '10.1.0.1/24', '10.1.0.2/24');
    lab.neighbour(A, 'u0', '10.1.0.2', lab.mac(B, 'u1'));
    lab.neighbour(B, 'u1', '10.1.0.1', lab.mac(A, 'u0'));
    for (const [ns, dev, local, remote, addr] of [[A, 'u0', '10.1.0.1', '10.1.0.2', '192.168.42.1/24'], [B, 'u1', '10.1.0.2', '10.1.0.1', '192.168.42.2/24']] as const) {
      ip('-n', ns.name, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'local', local, 'remote', remote, 'dstport', '4789', 'dev', dev);
      ip('-n', ns.name, 'addr', 'add', addr, 'dev', 'vx0');
      ip('-n', ns.name, 'link', 'set', 'vx0', 'up');
    }
    lab.neighbour(A, 'vx0', '192.168.42.2', lab.mac(B, 'vx0'));
    lab.neighbour(B, 'vx0', '192.168.42.1', lab.mac(A, 'vx0'));

    const cap = LiveCapture.open({ interface: 'u1', netns: B.path });
    t.teardown(() => cap.close());
    const engine = new FlowEngine({ debug: true, maxEntries: 1024 });
    const flows: Flow[] = [];
    let packets = 0;
    const reading = (async () => {
      for await (const b of cap) {
        engine.inputView().set(b.data);
        engine.process(b.bytes, b.packets);
        packets += b.packets;
        b.release();
      }
    })();
    const count = 6;
    const payload = 100;
    const out = await lab.exec(A, ['ping', '-c', String(count), '-i', '0.05', '-s', String(payload), '-W', '2', '192.168.42.2']);
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    t.ok(m, 'ping summary');
    const [sent, received] = [Number(m![1]), Number(m![2])];
    t.equal(sent, count, 'ping sent');
    t.equal(received, count, 'ping received every reply');
    const deadline = Date.now() + 5000;
    while (packets < sent + received && Date.now() < deadline) await sleep(20);
    cap.close();
    await reading;
    t.equal(packets, sent + received, 'underlay frames: one per echo request and reply');
    engine.stop();
    engine.drain((e) => flows.push(e.flow));

    const inner = flows.filter((f) => f.LayersPath === 'Ethernet/IPv4/ICMPv4');
    const outer = flows.filter((f) => f.LayersPath === 'Ethernet/IPv4/UDP/VXLAN');
    t.equal(flows.length, 2, `two flows: ${flows.map((f) => f.LayersPath).join(', ')}`);
    t.equal(outer.length, 1, 'one outer flow (the kernel picks one UDP source port for both directions of the echo)');
    t.equal(inner.length, 1, 'one inner ICMPv4 flow');
    const [o, i] = [outer[0], inner[0]];
    const innerFrame = 14 + 20 + 8 + payload;
    const outerFrame = innerFrame + 14 + 20 + 8 + 8;
    t.match(o, {
      ParentUUID: '',
      Network: { Protocol: 'IPV4', A: '10.1.0.1', B: '10.1.0.2' },
      Transport: { Protocol: 'UDP', B: 4789 },
      Metric: { ABPackets: sent, BAPackets: received, ABBytes: sent * outerFrame, BABytes: received * outerFrame },
    }, 'outer flow: 10.1.0.1 -> 10.1.0.2:4789, one packet per echo each way, full frame lengths');
    t.match(i, {
      ParentUUID: o.UUID,
      Network: { Protocol: 'IPV4', A: '192.168.42.1', B: '192.168.42.2' },
      ICMP: { Type: 'ECHO' },
      Metric: { ABPackets: sent, BAPackets: received, ABBytes: sent * innerFrame, BABytes: received * innerFrame },
    }, 'inner flow: ParentUUID = outer UUID, requests A->B, replies B->A, inner frame lengths');
    t.ok(Number(i.Metric.Start) >= Number(o.Metric.Start) && Number(i.Metric.Last) <= Number(o.Metric.Last), 'inner within the outer time span');
    t.match(cap.stats(), { PacketsReceived: sent + received, PacketsDropped: 0 });
  });
}

const reason = unavailable();
if (reason && process.env.CI === 'true') {
  t.fail(`live capture tests cannot run on CI: ${reason}`);
  t.end();
} else if (reason) {
  t.plan(0, `live capture tests skipped: ${reason}`);
} else {
  runTests();
}
