/**
 * IPv4 defragmentation (assembly/flow/defrag.ts): Skydive's IPDefragger over
 * gopacket v1.1.17 ip4defrag. Every fragment is built here byte by byte, so
 * each expected status, metric and rebuilt byte is known; a reference model of
 * the Go code (below) is checked against the module on random fragment
 * streams, and the corpus captures are replayed against their golden outcome.
 *
 * SKYDIVE_DEFRAG_WASM=<file> runs the tests on another build of the module
 * (one whose entry exports assembly/exports-defrag.ts).
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadCore, layerNames, type CoreExports } from '../../src/wasm/module.js';

// ---------------------------------------------------------------------------------------------
// Module access

interface DefragCore extends CoreExports {
  defragPacket(tsNs: bigint): number;
  defragFlushOlderThan(tNs: bigint): void;
  defragSetLimits(maxDatagrams: number, maxBytes: number): void;
  defragDatagrams(): number;
  defragKeys(): number;
  defragBytesHeld(): number;
  defragEvictions(): bigint;
  defragMaxDatagrams(): number;
  defragMaxBytes(): number;
  defragReassembledData(): number;
  defragReassembledLength(): number;
  defragMetricFragments: WebAssembly.Global;
  defragMetricErrors: WebAssembly.Global;
  DEFRAG_PASS: WebAssembly.Global;
  DEFRAG_DROP: WebAssembly.Global;
  DEFRAG_COMPLETE: WebAssembly.Global;
}

let altModule: WebAssembly.Module | undefined;

/** A fresh instance: defragmenter state lives in the module's memory. */
function freshCore(): DefragCore {
  const alt = process.env.SKYDIVE_DEFRAG_WASM;
  if (!alt) {
    const core = loadCore(true) as DefragCore;
    if (typeof core.defragPacket !== 'function') {
      throw new Error('the core lacks the defrag exports: assembly/index.ts must re-export ./exports-defrag');
    }
    return core;
  }
  altModule ??= new WebAssembly.Module(readFileSync(alt));
  const inst = new WebAssembly.Instance(altModule, {
    env: { abort: () => { throw new Error('wasm abort'); } },
  });
  const ex = inst.exports as unknown as DefragCore;
  (ex.init as (n: number) => void)(1024);
  return ex;
}

const PASS = 0;
const DROP = 1;
const COMPLETE = 2;
const C_DEFRAG_FRAGMENTS = 8;
const C_DEFRAG_ERRORS = 9;
const C_DEFRAG_REASSEMBLED = 10;

interface Layer { name: string; start: number; contents: number; payload: number; fields: DataView }
interface Outcome {
  status: number;
  fragments: number;
  errors: number;
  layers: Layer[];
  path: string;
  /** The rebuilt datagram when status is COMPLETE. */
  data?: Uint8Array;
}

class Harness {
  readonly c: DefragCore;
  readonly names: string[];
  ts = 1_600_000_000_000_000_000n;

  constructor() {
    this.c = freshCore();
    this.names = layerNames(this.c);
  }

  /** Decodes `frame` (link type 1 unless told) and runs the defragmenter on it. */
  feed(frame: Uint8Array, linkType = 1): Outcome {
    const c = this.c;
    const at = c.inputBuffer();
    new Uint8Array(c.memory.buffer, at, frame.length).set(frame);
    c.decodePacket(at, frame.length, linkType);
    this.ts += 1_000_000n;
    const status = c.defragPacket(this.ts);
    const layers: Layer[] = [];
    for (let i = 0; i < c.testLayerCount(); i++) {
      const r = c.testLayerRecord(i);
      const dv = new DataView(c.memory.buffer, r, 64);
      layers.push({
        name: this.names[dv.getUint8(0)],
        start: dv.getUint32(4, true),
        contents: dv.getUint32(8, true),
        payload: dv.getUint32(12, true),
        fields: new DataView(c.memory.buffer.slice(r + 16, r + 64)),
      });
    }
    const out: Outcome = {
      status,
      fragments: Number(c.defragMetricFragments.value as bigint),
      errors: Number(c.defragMetricErrors.value as bigint),
      layers,
      path: layers.map((l) => l.name).join('/'),
    };
    if (status === COMPLETE) {
      out.data = new Uint8Array(c.memory.buffer, c.defragReassembledData(), c.defragReassembledLength()).slice();
    }
    return out;
  }

  bytesOf(l: Layer, len = l.contents + l.payload): Uint8Array {
    return new Uint8Array(this.c.memory.buffer, l.start, len).slice();
  }

  counter(id: number): number {
    return Number(this.c.counterValue(id));
  }
}

interface Asserter {
  equal(found: unknown, wanted: unknown, msg: string): unknown;
}

/** Byte equality, reported as hex so that a failure shows where the bytes differ. */
function sameBytes(t: Asserter, got: Uint8Array | undefined, want: Uint8Array, msg = 'bytes'): void {
  t.equal(Buffer.from(got ?? new Uint8Array(0)).toString('hex'), Buffer.from(want).toString('hex'), msg);
}

// ---------------------------------------------------------------------------------------------
// Frame builders

interface Frag {
  src?: string;
  dst?: string;
  id?: number;
  proto?: number;
  /** Offset in 8-byte units (the header field). */
  off?: number;
  mf?: boolean;
  df?: boolean;
  payload: Uint8Array;
  /** Header length in 32-bit words (default 5; options are zero padding). */
  ihl?: number;
  /** Total-length field (default: header + payload). */
  totalLength?: number;
  /** Dot1Q tag before IPv4. */
  vlan?: number;
}

function ip4(s: string): number[] {
  return s.split('.').map(Number);
}

function ipv4Frame(f: Frag): Uint8Array {
  const ihl = f.ihl ?? 5;
  const hdr = Math.max(ihl, 5) * 4;
  const total = f.totalLength ?? hdr + f.payload.length;
  const flags = (f.df ? 2 : 0) | (f.mf ? 1 : 0);
  const h = new Uint8Array(hdr);
  const dv = new DataView(h.buffer);
  h[0] = 0x40 | (ihl & 15);
  dv.setUint16(2, total);
  dv.setUint16(4, f.id ?? 0x1234);
  dv.setUint16(6, (flags << 13) | ((f.off ?? 0) & 0x1fff));
  h[8] = 64;
  h[9] = f.proto ?? 1;
  h.set(ip4(f.src ?? '10.0.0.1'), 12);
  h.set(ip4(f.dst ?? '10.0.0.2'), 16);
  const eth = [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
  const tag = f.vlan !== undefined ? [0x81, 0x00, (f.vlan >> 8) & 0x0f, f.vlan & 0xff] : [];
  return Uint8Array.from([...eth, ...tag, 0x08, 0x00, ...h, ...f.payload]);
}

/** An ICMP echo request of `dataLen` bytes after its 8-byte header. */
function icmpEcho(dataLen: number, ident = 0x4242): Uint8Array {
  const b = new Uint8Array(8 + dataLen);
  b[0] = 8;
  b[4] = ident >> 8;
  b[5] = ident & 0xff;
  b[7] = 1;
  for (let i = 0; i < dataLen; i++) b[8 + i] = (i * 7 + 3) & 0xff;
  return b;
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 13) & 0xff;
  return b;
}

/** Cuts `data` into fragments at the given byte boundaries (multiples of 8). */
function split(data: Uint8Array, cuts: number[], base: Omit<Frag, 'payload'> = {}): Frag[] {
  const edges = [0, ...cuts, data.length];
  const out: Frag[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    out.push({ ...base, off: edges[i] / 8, mf: i + 2 < edges.length, payload: data.subarray(edges[i], edges[i + 1]) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reference model of Skydive IPDefragger + gopacket v1.1.17 ip4defrag (uint16 arithmetic)

interface ModelFrag { off: number; length: number; payload: Uint8Array }
interface ModelList { frags: ModelFrag[]; highest: number; current: number; final: boolean }

class Model {
  metrics = new Map<string, { f: number; e: number }>();
  lists = new Map<string, ModelList>();

  packet(f: Frag): { status: number; fragments: number; errors: number; data?: Uint8Array } {
    const key = `${f.src ?? '10.0.0.1'}>${f.dst ?? '10.0.0.2'}#${f.id ?? 0x1234}`;
    let m = this.metrics.get(key);
    if (!m) this.metrics.set(key, (m = { f: 0, e: 0 }));
    const flags = (f.df ? 2 : 0) | (f.mf ? 1 : 0);
    const off = f.off ?? 0;
    const ihl = f.ihl ?? 5;
    const length = f.totalLength ?? Math.max(ihl, 5) * 4 + f.payload.length;
    const passed = (data?: Uint8Array) => {
      this.metrics.delete(key);
      return { status: data ? COMPLETE : PASS, fragments: m!.f, errors: m!.e, data };
    };
    const error = () => { m!.e++; return { status: DROP, fragments: 0, errors: 0 }; };
    if (flags & 2 || ((flags & 1) === 0 && off === 0)) return passed();
    if (((length - ihl * 4) & 0xffff) < 8 || off > 8183) return error();
    let l = this.lists.get(key);
    if (!l) this.lists.set(key, (l = { frags: [], highest: 0, current: 0, final: false }));
    const fo = off * 8;
    // Payload gopacket sees: the data cut to the total length, or nothing when
    // the header was rejected (gopacket sets Payload only after its checks).
    const headerOk = length >= 20 && ihl >= 5 && ihl * 4 <= length;
    const payload = headerOk
      ? f.payload.subarray(0, Math.max(0, Math.min(f.payload.length, length - ihl * 4)))
      : new Uint8Array(0);
    let out: Uint8Array | undefined;
    let failed = false;
    let dup = false;
    if (fo >= l.highest) l.frags.push({ off, length, payload });
    else {
      let i = 0;
      for (; i < l.frags.length; i++) {
        if (off === l.frags[i].off) { dup = true; break; }
        if (off < l.frags[i].off) { l.frags.splice(i, 0, { off, length, payload }); break; }
      }
    }
    if (!dup) {
      const fragLength = (length - 20) & 0xffff;
      if (l.highest < ((fo + fragLength) & 0xffff)) l.highest = (fo + fragLength) & 0xffff;
      l.current = (l.current + fragLength) & 0xffff;
      if ((flags & 1) === 0) l.final = true;
      if (l.final && l.highest === l.current) {
        out = this.build(l);
        if (!out) failed = true;
      }
    }
    if (!out && l.frags.length + 1 > 8192) { this.lists.delete(key); return error(); }
    if (out) { this.lists.delete(key); return passed(out); }
    if (failed) return error();
    m.f++;
    return { status: DROP, fragments: 0, errors: 0 };
  }

  build(l: ModelList): Uint8Array | undefined {
    const parts: Uint8Array[] = [];
    let cur = 0;
    for (const fr of l.frags) {
      const o = fr.off * 8;
      if (o === cur) {
        parts.push(fr.payload);
        cur = (cur + fr.length - 20) & 0xffff;
      } else if (o < cur) {
        const startAt = cur - o;
        if (startAt > ((fr.length - 20) & 0xffff)) return undefined;
        if (startAt > fr.payload.length) return undefined; // Go panics here
        parts.push(fr.payload.subarray(startAt));
        cur = (cur + o) & 0xffff;
      } else return undefined;
    }
    return Buffer.concat(parts);
  }

  /** Skydive's 30 s tick. */
  flush(): void { this.metrics.clear(); }
}

// ---------------------------------------------------------------------------------------------
// Tests

t.test('exported constants', (t) => {
  const h = new Harness();
  t.equal(h.c.DEFRAG_PASS.value, PASS);
  t.equal(h.c.DEFRAG_DROP.value, DROP);
  t.equal(h.c.DEFRAG_COMPLETE.value, COMPLETE);
  t.end();
});

t.test('a packet that is not a fragment passes with a zero metric', (t) => {
  const h = new Harness();
  const o = h.feed(ipv4Frame({ payload: icmpEcho(32) }));
  t.equal(o.status, PASS);
  t.equal(o.path, 'Ethernet/IPv4/ICMPv4/Payload');
  t.same([o.fragments, o.errors], [0, 0]);
  // DF wins over MF and the offset (zeek/fragmented-3.pcap).
  const d = h.feed(ipv4Frame({ df: true, mf: true, off: 185, payload: bytes(64, 1) }));
  t.equal(d.status, PASS);
  t.equal(d.path, 'Ethernet/IPv4/Fragment');
  // No IPv4 at all.
  const arp = Uint8Array.from([...Array(12).fill(0xff), 0x08, 0x06, ...Array(28).fill(0)]);
  t.equal(h.feed(arp).status, PASS);
  t.equal(h.c.defragKeys(), 0, 'passing packets leave no state');
  t.end();
});

t.test('a partial IPv4 layer (no addresses) passes', (t) => {
  const h = new Harness();
  const frame = Uint8Array.from([...Array(12).fill(2), 0x08, 0x00, 0x45, 0x00, 0x00, 0x30, 0x00, 0x01, 0x20, 0x00]);
  const o = h.feed(frame);
  t.equal(o.status, PASS);
  t.equal(o.path, 'Ethernet/IPv4/DecodeFailure');
  t.same([o.fragments, o.errors], [0, 0]);
  t.end();
});

t.test('two fragments in order: the skydive ipv4-fragments case', (t) => {
  const h = new Harness();
  const dgram = icmpEcho(1400);
  const [a, b] = split(dgram, [976], { src: '2.1.1.2', dst: '2.1.1.1', id: 46544, proto: 1 });
  const o1 = h.feed(ipv4Frame(a));
  t.equal(o1.status, DROP);
  t.equal(h.c.defragDatagrams(), 1);
  t.ok(h.c.defragBytesHeld() >= 976);
  const o2 = h.feed(ipv4Frame(b));
  t.equal(o2.status, COMPLETE);
  t.equal(o2.path, 'Ethernet/IPv4/Fragment/ICMPv4/Payload');
  t.same([o2.fragments, o2.errors], [1, 0]);
  sameBytes(t, o2.data, dgram);
  // The IPv4 layer kept is the last fragment's header.
  t.equal(o2.layers[1].fields.getUint16(14, true), 122, 'fragment offset field of the last fragment');
  t.equal(o2.layers[1].fields.getUint16(8, true), 20 + b.payload.length);
  // The appended layers read the rebuilt bytes.
  const icmp = o2.layers[3];
  t.equal(icmp.contents, 8);
  t.equal(icmp.payload, 1400);
  sameBytes(t, h.bytesOf(icmp, 8), dgram.subarray(0, 8));
  t.equal(o2.layers[4].payload + o2.layers[4].contents, 1400);
  t.equal(h.counter(C_DEFRAG_FRAGMENTS), 1);
  t.equal(h.counter(C_DEFRAG_REASSEMBLED), 1);
  t.equal(h.counter(C_DEFRAG_ERRORS), 0);
  t.equal(h.c.defragDatagrams(), 0);
  t.equal(h.c.defragKeys(), 0);
  t.equal(h.c.defragBytesHeld(), 0);
  // The next datagram with the same key starts from a clean metric.
  const again = split(icmpEcho(40), [24], { src: '2.1.1.2', dst: '2.1.1.1', id: 46544 });
  t.equal(h.feed(ipv4Frame(again[0])).status, DROP);
  const done = h.feed(ipv4Frame(again[1]));
  t.equal(done.status, COMPLETE);
  t.same([done.fragments, done.errors], [1, 0]);
  t.end();
});

t.test('reversed order, many fragments, with a VLAN tag', (t) => {
  const h = new Harness();
  const dgram = icmpEcho(4000 - 8);
  const frags = split(dgram, [1000, 2000, 3000], { vlan: 7, id: 9 }).reverse();
  for (const f of frags.slice(0, 3)) t.equal(h.feed(ipv4Frame(f)).status, DROP);
  const o = h.feed(ipv4Frame(frags[3]));
  t.equal(o.status, COMPLETE);
  t.equal(o.path, 'Ethernet/Dot1Q/IPv4/Fragment/ICMPv4/Payload');
  t.same([o.fragments, o.errors], [3, 0]);
  sameBytes(t, o.data, dgram);
  t.end();
});

t.test('shuffled fragments of a large UDP datagram (payload spans many chunks)', (t) => {
  const h = new Harness();
  const udp = new Uint8Array(8 + 20000);
  new DataView(udp.buffer).setUint16(0, 4000);
  new DataView(udp.buffer).setUint16(2, 5000);
  new DataView(udp.buffer).setUint16(4, udp.length);
  udp.set(bytes(20000, 5), 8);
  const cuts: number[] = [];
  for (let c = 1480; c < udp.length; c += 1480) cuts.push(c);
  const frags = split(udp, cuts, { proto: 17, id: 77 });
  const order = [3, 0, 7, 12, 1, 13, 5, 2, 11, 9, 4, 6, 10, 8];
  t.equal(order.length, frags.length);
  let last: Outcome | undefined;
  for (const i of order) last = h.feed(ipv4Frame(frags[i]));
  t.equal(last!.status, COMPLETE);
  t.equal(last!.path, 'Ethernet/IPv4/Fragment/UDP/Payload');
  sameBytes(t, last!.data, udp);
  t.equal(last!.fragments, 13);
  t.end();
});

t.test('duplicates are absorbed and counted, never stored twice', (t) => {
  const h = new Harness();
  const dgram = icmpEcho(56);
  const [a, b, c] = split(dgram, [24, 48]);
  t.equal(h.feed(ipv4Frame(c)).status, DROP);
  t.equal(h.feed(ipv4Frame(c)).status, DROP, 'same last fragment again');
  t.equal(h.feed(ipv4Frame(a)).status, DROP);
  // Same offset as `a` but longer: ignored whole (gopacket keeps the first).
  t.equal(h.feed(ipv4Frame({ ...a, payload: bytes(40, 9) })).status, DROP);
  const o = h.feed(ipv4Frame(b));
  t.equal(o.status, COMPLETE);
  t.same([o.fragments, o.errors], [4, 0]);
  sameBytes(t, o.data, dgram);
  t.end();
});

t.test('overlaps follow gopacket: double-counted bytes, lost fragments, the build quirk', (t) => {
  const h = new Harness();
  const data = bytes(48, 3);
  // A [0,24) B [16,32) D [40,48): the 8 overlapping bytes hide the [32,40)
  // hole from the counters, and build() advances by B's offset after the
  // overlap, so D looks contiguous: a 40-byte "datagram" comes out.
  // Arrival D, A, B: B is stored only because D already sits past it.
  const base = { proto: 253, id: 1 };
  t.equal(h.feed(ipv4Frame({ ...base, off: 5, payload: data.subarray(40, 48) })).status, DROP);
  t.equal(h.feed(ipv4Frame({ ...base, off: 0, mf: true, payload: data.subarray(0, 24) })).status, DROP);
  const o = h.feed(ipv4Frame({ ...base, off: 2, mf: true, payload: data.subarray(16, 32) }));
  t.equal(o.status, COMPLETE);
  t.equal(o.path, 'Ethernet/IPv4/Fragment', 'unknown protocol: nothing appended');
  sameBytes(t, o.data, Buffer.concat([data.subarray(0, 32), data.subarray(40, 48)]));
  t.same([o.fragments, o.errors], [2, 0]);

  // A fragment below "highest" but past every stored offset is counted, not
  // stored: the datagram can never complete.
  const k = { proto: 253, id: 2 };
  h.feed(ipv4Frame({ ...k, off: 0, mf: true, payload: data.subarray(0, 16) }));
  h.feed(ipv4Frame({ ...k, off: 1, mf: true, payload: data.subarray(8, 24) }));
  t.equal(h.feed(ipv4Frame({ ...k, off: 3, payload: data.subarray(24, 32) })).status, DROP);
  t.equal(h.feed(ipv4Frame({ ...k, off: 2, mf: true, payload: data.subarray(16, 24) })).status, DROP);
  t.equal(h.c.defragDatagrams(), 1);

  // A fragment inside an earlier one (and a hole of its size elsewhere, so
  // the counters match): "invalid fragment", an error, and the list stays.
  const v = { proto: 253, id: 3 };
  t.equal(h.feed(ipv4Frame({ ...v, off: 5, payload: data.subarray(40, 48) })).status, DROP);
  t.equal(h.feed(ipv4Frame({ ...v, off: 0, mf: true, payload: data.subarray(0, 32) })).status, DROP);
  const errorsBefore = h.counter(C_DEFRAG_ERRORS);
  t.equal(h.feed(ipv4Frame({ ...v, off: 1, mf: true, payload: data.subarray(8, 16) })).status, DROP);
  t.equal(h.counter(C_DEFRAG_ERRORS), errorsBefore + 1);
  t.equal(h.c.defragDatagrams(), 2);
  t.end();
});

t.test('a hole at completion is a build error; the list is kept', (t) => {
  const h = new Harness();
  const data = bytes(40, 4);
  const k = { proto: 253, id: 5 };
  // A [0,16) B [8,24) C [32,40): Highest 40 = Current 40, but [24,32) is a hole.
  t.equal(h.feed(ipv4Frame({ ...k, off: 4, payload: data.subarray(32, 40) })).status, DROP);
  t.equal(h.feed(ipv4Frame({ ...k, off: 0, mf: true, payload: data.subarray(0, 16) })).status, DROP);
  const o = h.feed(ipv4Frame({ ...k, off: 1, mf: true, payload: data.subarray(8, 24) }));
  t.equal(o.status, DROP);
  t.equal(h.counter(C_DEFRAG_ERRORS), 1);
  t.equal(h.c.defragDatagrams(), 1, 'gopacket does not flush on a build error');
  const plain = h.feed(ipv4Frame({ ...k, payload: bytes(16, 1) }));
  t.equal(plain.status, PASS);
  t.same([plain.fragments, plain.errors], [2, 1], 'a plain packet with the key takes its metric');
  t.end();
});

t.test('security checks: tiny fragments and offsets past 8183', (t) => {
  const h = new Harness();
  t.equal(h.feed(ipv4Frame({ mf: true, payload: bytes(7, 1) })).status, DROP);
  t.equal(h.feed(ipv4Frame({ off: 10, payload: bytes(4, 1) })).status, DROP, 'final fragments too');
  t.equal(h.feed(ipv4Frame({ off: 8184, mf: true, payload: bytes(16, 1) })).status, DROP);
  t.equal(h.counter(C_DEFRAG_ERRORS), 3);
  t.equal(h.counter(C_DEFRAG_FRAGMENTS), 0);
  t.equal(h.c.defragDatagrams(), 0, 'rejected fragments start no list');
  const p = h.feed(ipv4Frame({ payload: icmpEcho(8) }));
  t.same([p.fragments, p.errors], [0, 3]);
  // Three 8-byte fragments are fine (suricata-verify bug-6887): a TCP SYN.
  const syn = new Uint8Array(24);
  const dv = new DataView(syn.buffer);
  dv.setUint16(0, 12345);
  dv.setUint16(2, 8080);
  syn[12] = 0x50;
  syn[13] = 0x02;
  const frags = split(syn, [8, 16], { proto: 6, id: 1, src: '1.1.1.1', dst: '2.2.2.2', vlan: 1 });
  t.equal(h.feed(ipv4Frame(frags[0])).status, DROP);
  t.equal(h.feed(ipv4Frame(frags[1])).status, DROP);
  const o = h.feed(ipv4Frame(frags[2]));
  t.equal(o.status, COMPLETE);
  t.match(o.path, /^Ethernet\/Dot1Q\/IPv4\/Fragment\/TCP/);
  t.same([o.fragments, o.errors], [2, 0]);
  t.end();
});

t.test('a datagram past 65535 bytes is not rejected: gopacket sums uint16s', (t) => {
  const h = new Harness();
  const k = { proto: 253, id: 6 };
  t.equal(h.feed(ipv4Frame({ ...k, mf: true, payload: bytes(1000, 1) })).status, DROP);
  // offset 65000 + length 1020 > 65535, which Go's uint16 check cannot see.
  t.equal(h.feed(ipv4Frame({ ...k, off: 8125, payload: bytes(1000, 2) })).status, DROP);
  t.equal(h.counter(C_DEFRAG_ERRORS), 0);
  t.equal(h.counter(C_DEFRAG_FRAGMENTS), 2);
  const p = h.feed(ipv4Frame({ ...k, payload: bytes(8, 1) }));
  t.same([p.fragments, p.errors], [2, 0]);
  t.end();
});

t.test('the 8192-fragment list limit flushes the datagram with an error', (t) => {
  const h = new Harness();
  // Only headers gopacket half-parses (IHL 0, total length 20) can stack up
  // at one offset: no duplicate check when the offset is >= "highest".
  const frame = ipv4Frame({ proto: 253, id: 8, mf: true, ihl: 0, totalLength: 20, payload: new Uint8Array(0) });
  for (let i = 1; i <= 8191; i++) {
    const o = h.feed(frame);
    if (o.status !== DROP) { t.fail(`fragment ${i}: status ${o.status}`); break; }
  }
  t.equal(h.counter(C_DEFRAG_FRAGMENTS), 8191);
  t.equal(h.c.defragDatagrams(), 1);
  t.equal(h.feed(frame).status, DROP);
  t.equal(h.counter(C_DEFRAG_ERRORS), 1);
  t.equal(h.c.defragDatagrams(), 0);
  t.equal(h.c.defragBytesHeld(), 0);
  const p = h.feed(ipv4Frame({ proto: 253, id: 8, payload: bytes(8, 1) }));
  t.same([p.fragments, p.errors], [8191, 1]);
  t.end();
});

t.test('interleaved datagrams are kept apart by source, destination and id', (t) => {
  const h = new Harness();
  const keys = [
    { src: '10.0.0.1', dst: '10.0.0.2', id: 1 },
    { src: '10.0.0.1', dst: '10.0.0.2', id: 2 },
    { src: '10.0.0.3', dst: '10.0.0.2', id: 1 },
    { src: '10.0.0.2', dst: '10.0.0.1', id: 1 },
  ];
  const dgrams = keys.map((_, i) => icmpEcho(300 + i * 40, 100 + i));
  const frags = keys.map((k, i) => split(dgrams[i], [96, 200], k));
  for (let step = 0; step < 2; step++) {
    for (let i = 0; i < keys.length; i++) t.equal(h.feed(ipv4Frame(frags[i][step])).status, DROP);
  }
  t.equal(h.c.defragDatagrams(), 4);
  for (let i = keys.length - 1; i >= 0; i--) {
    const o = h.feed(ipv4Frame(frags[i][2]));
    t.equal(o.status, COMPLETE);
    sameBytes(t, o.data, dgrams[i]);
    t.same(Array.from(h.bytesOf(o.layers[3], 8).subarray(4, 6)), [0, 100 + i], 'ICMP id of this datagram');
    t.same([o.fragments, o.errors], [2, 0]);
  }
  t.end();
});

t.test('the metric map: carried by a plain packet, wiped by the 30 s tick', (t) => {
  const h = new Harness();
  // zeek/fragmented-4.pcap: four fragments that never complete, then a plain
  // packet with the same addresses and id 0 gets Fragments 4.
  const k = { src: '128.32.46.142', dst: '10.0.0.1', id: 0, proto: 6 };
  h.feed(ipv4Frame({ ...k, mf: true, payload: bytes(24, 1) }));
  h.feed(ipv4Frame({ ...k, off: 6, mf: true, payload: bytes(24, 2) }));
  h.feed(ipv4Frame({ ...k, off: 9, payload: bytes(17, 3) }));
  h.feed(ipv4Frame({ ...k, off: 3, mf: true, payload: bytes(48, 4) }));
  const p = h.feed(ipv4Frame({ ...k, df: true, payload: bytes(20, 5) }));
  t.equal(p.status, PASS);
  t.same([p.fragments, p.errors], [4, 0]);
  t.equal(h.c.defragDatagrams(), 1, 'the gopacket list outlives the metric');

  const dgram = icmpEcho(100);
  const [a, b] = split(dgram, [48], { id: 3 });
  h.feed(ipv4Frame(a));
  h.c.defragFlushOlderThan(h.ts);
  const o = h.feed(ipv4Frame(b));
  t.equal(o.status, COMPLETE, 'fragment lists survive the tick');
  t.same([o.fragments, o.errors], [0, 0], 'the metric map does not');
  t.end();
});

t.test('caps: datagram count and bytes held evict the oldest, counted', (t) => {
  const h = new Harness();
  h.c.defragSetLimits(2, 1 << 20);
  t.equal(h.c.defragMaxDatagrams(), 2);
  const dgrams = [0, 1, 2].map((i) => icmpEcho(100, i));
  const frags = dgrams.map((d, i) => split(d, [56], { id: 10 + i }));
  for (const f of frags) h.feed(ipv4Frame(f[0]));
  t.equal(h.c.defragEvictions(), 1n);
  t.equal(h.c.defragDatagrams(), 2);
  t.equal(h.feed(ipv4Frame(frags[0][1])).status, DROP, 'the evicted datagram lost its head');
  t.equal(h.c.defragEvictions(), 2n);
  t.equal(h.feed(ipv4Frame(frags[2][1])).status, COMPLETE);

  // Bytes: 4 KiB of store. A 3000-byte first fragment fits; a second
  // datagram's 3000 bytes evict it.
  h.c.defragSetLimits(16, 4096);
  t.equal(h.c.defragDatagrams(), 0, 'new limits drop the state');
  const ev0 = h.c.defragEvictions();
  const big = [icmpEcho(5000, 1), icmpEcho(5000, 2)];
  const bf = big.map((d, i) => split(d, [3000], { id: 20 + i }));
  h.feed(ipv4Frame(bf[0][0]));
  t.ok(h.c.defragBytesHeld() <= 4096);
  h.feed(ipv4Frame(bf[1][0]));
  t.equal(h.c.defragDatagrams(), 1);
  t.equal(h.c.defragEvictions(), ev0 + 1n);
  t.ok(h.c.defragBytesHeld() <= 4096);
  const done = h.feed(ipv4Frame(bf[1][1]));
  t.equal(done.status, DROP, 'this datagram alone does not fit: flushed and counted as an error');
  t.equal(h.counter(C_DEFRAG_ERRORS), 1);
  t.equal(h.c.defragDatagrams(), 0);
  t.equal(h.c.defragBytesHeld(), 0);

  // Small datagrams still flow under the cap.
  const small = split(icmpEcho(200), [104], { id: 30 });
  h.feed(ipv4Frame(small[0]));
  t.equal(h.feed(ipv4Frame(small[1])).status, COMPLETE);
  t.end();
});

t.test('a reassembled payload that fails to decode adds no DecodeFailure layer', (t) => {
  const h = new Harness();
  // 16 bytes of "TCP": too short for a TCP header.
  const [a, b] = split(bytes(16, 8), [8], { proto: 6, id: 40 });
  h.feed(ipv4Frame(a));
  const o = h.feed(ipv4Frame(b));
  t.equal(o.status, COMPLETE);
  t.notMatch(o.path, /DecodeFailure/);
  t.match(o.path, /^Ethernet\/IPv4\/Fragment/);
  // ICMPv4 shorter than 8 bytes cannot happen (fragments carry 8+), but an
  // unknown protocol appends nothing at all.
  const u = split(bytes(16, 8), [8], { proto: 200, id: 41 });
  h.feed(ipv4Frame(u[0]));
  t.equal(h.feed(ipv4Frame(u[1])).path, 'Ethernet/IPv4/Fragment');
  t.end();
});

t.test('truncated captures: only the captured bytes are stored and rebuilt', (t) => {
  const h = new Harness();
  const data = bytes(64, 2);
  const k = { proto: 253, id: 50 };
  // The first fragment claims 32 payload bytes but the capture kept 10.
  h.feed(ipv4Frame({ ...k, mf: true, totalLength: 52, payload: data.subarray(0, 10) }));
  const o = h.feed(ipv4Frame({ ...k, off: 4, payload: data.subarray(32, 64) }));
  t.equal(o.status, COMPLETE);
  sameBytes(t, o.data, Buffer.concat([data.subarray(0, 10), data.subarray(32, 64)]));
  t.end();
});

t.test('random fragment streams match a model of the Go code', (t) => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const tally = { pass: 0, drop: 0, complete: 0, errors: 0, bigComplete: 0 };
  for (let round = 0; round < 60; round++) {
    const h = new Harness();
    h.c.defragSetLimits(4096, 64 << 20);
    const model = new Model();
    let mismatches = 0;
    // Datagrams in flight per id: their fragments in a shuffled queue, with
    // some duplicated, re-cut (overlaps), lost or damaged on the way.
    const queues: Frag[][] = [[], [], []];
    const newDatagram = (id: number, n: number): Frag[] => {
      const len = 8 * (1 + (rnd(4) === 0 ? rnd(400) : rnd(40)));
      const data = bytes(len, n + id);
      const cuts: number[] = [];
      for (let c = 8 * (1 + rnd(30)); c < len; c += 8 * (1 + rnd(rnd(3) === 0 ? 150 : 30))) cuts.push(c);
      const frags = split(data, cuts, { id, proto: 253 });
      const extra: Frag[] = [];
      for (const fr of frags) {
        const r = rnd(30);
        if (r === 0) extra.push({ ...fr }); // duplicate
        else if (r === 1 && fr.payload.length > 8) extra.push({ ...fr, payload: fr.payload.subarray(8) , off: fr.off! + 1 }); // overlapping re-cut
        else if (r === 2) fr.payload = fr.payload.subarray(0, 0); // lost: becomes a tiny (rejected) fragment
        else if (r === 3) fr.totalLength = 20 + fr.payload.length + 8; // capture cut short
        else if (r === 4) fr.ihl = 6; // options: the length still counts them
      }
      const all = [...frags, ...extra];
      for (let i = all.length - 1; i > 0; i--) {
        const j = rnd(i + 1);
        [all[i], all[j]] = [all[j], all[i]];
      }
      return rnd(3) === 0 ? all : all.sort((x, y) => (x.off! - y.off!) || 0);
    };
    for (let n = 0; n < 600 && mismatches < 3; n++) {
      const id = rnd(3);
      const kind = rnd(20);
      let f: Frag;
      if (kind === 0) f = { id, proto: 253, payload: bytes(8 + rnd(40), n) };
      else if (kind === 1) f = { id, proto: 253, df: true, mf: rnd(2) === 1, off: rnd(20), payload: bytes(8 + rnd(40), n) };
      else if (kind === 2) {
        const big = rnd(5) === 0;
        const off = big ? rnd(40) * 37 : rnd(4) === 0 ? rnd(120) : rnd(12) * 4;
        const len = big ? 8 * (1 + rnd(150)) : rnd(6) === 0 ? rnd(12) : 8 * (1 + rnd(8));
        f = { id, proto: 253, off, mf: rnd(3) !== 0, payload: bytes(len, n) };
        const quirk = rnd(10);
        if (quirk === 0) f.totalLength = 20 + len + 8 * rnd(3);
        else if (quirk === 1) f.ihl = 6;
        else if (quirk === 2) { f.ihl = rnd(3); f.totalLength = 20 + 8 * rnd(3); } // half-parsed header
      } else {
        if (queues[id].length === 0) queues[id] = newDatagram(id, n);
        f = queues[id].shift()!;
      }
      if (rnd(50) === 0) { h.c.defragFlushOlderThan(h.ts); model.flush(); }
      const errBefore = h.counter(C_DEFRAG_ERRORS);
      const got = h.feed(ipv4Frame(f));
      const want = model.packet(f);
      if (got.status === PASS) tally.pass++;
      else if (got.status === DROP) tally.drop++;
      else tally.complete++;
      if (got.status === COMPLETE && got.data!.length > 480) tally.bigComplete++;
      tally.errors += h.counter(C_DEFRAG_ERRORS) - errBefore;
      const same = got.status === want.status &&
        (got.status === DROP || (got.fragments === want.fragments && got.errors === want.errors)) &&
        (got.status !== COMPLETE || Buffer.compare(Buffer.from(got.data!), Buffer.from(want.data!)) === 0);
      if (!same) {
        mismatches++;
        t.fail(`round ${round} packet ${n}: ${JSON.stringify({ f: { ...f, payload: f.payload.length }, got: [got.status, got.fragments, got.errors, got.data?.length], want: [want.status, want.fragments, want.errors, want.data?.length] })}`);
      }
    }
    if (mismatches === 0) t.pass(`round ${round}: 600 packets agree`);
    t.equal(h.c.defragEvictions(), 0n);
  }
  t.comment(JSON.stringify(tally));
  t.ok(tally.complete > 50 && tally.bigComplete > 5 && tally.errors > 50, 'the streams reach every outcome');
  t.end();
});

// ---------------------------------------------------------------------------------------------
// Corpus captures (Skydive's golden outcome for each packet)

const CORPUS = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));

function* pcapFrames(path: string): Generator<Uint8Array> {
  const d = readFileSync(path);
  const le = d.readUInt32LE(0) === 0xa1b2c3d4 || d.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? d.readUInt32LE(o) : d.readUInt32BE(o));
  let o = 24;
  while (o + 16 <= d.length) {
    const cl = u32(o + 8);
    yield new Uint8Array(d.subarray(o + 16, o + 16 + cl));
    o += 16 + cl;
  }
}

const corpusCases: { file: string; want: [number, string?, number?, number?][] }[] = [
  {
    file: 'skydive/ipv4-fragments.pcap',
    want: [[DROP], [COMPLETE, 'Ethernet/IPv4/Fragment/ICMPv4/Payload', 1, 0], [PASS, 'Ethernet/IPv4/ICMPv4/Payload', 0, 0]],
  },
  { file: 'zeek/fragmented-1.pcap', want: [[DROP], [DROP], [DROP]] },
  { file: 'zeek/fragmented-3.pcap', want: Array(5).fill([PASS, 'Ethernet/IPv4/Fragment', 0, 0]) },
  {
    file: 'zeek/fragmented-4.pcap',
    want: [[PASS, 'Ethernet/IPv4/TCP', 0, 0], [DROP], [DROP], [DROP], [DROP], [PASS, 'Ethernet/IPv4/TCP', 4, 0]],
  },
  {
    file: 'packetnet/udp-ip-fragmented.pcap',
    want: [[DROP], [COMPLETE, 'Ethernet/IPv4/Fragment/UDP/SIP', 1, 0], ...Array(12).fill([PASS, undefined, 0, 0])],
  },
  {
    file: 'suricata-verify/defrag_bug-6887-defrag-eth-vlan-ipv4-tcp-syn/frag-eth-vlan-ip-tcp-syn.pcap',
    want: [[DROP], [DROP], [COMPLETE, 'Ethernet/Dot1Q/IPv4/Fragment/TCP', 2, 0]],
  },
];

for (const cc of corpusCases) {
  t.test(`corpus ${cc.file}`, { skip: existsSync(CORPUS + cc.file) ? false : 'corpus missing' }, (t) => {
    const h = new Harness();
    const got = [...pcapFrames(CORPUS + cc.file)].map((f) => h.feed(f));
    t.equal(got.length, cc.want.length);
    got.forEach((o, i) => {
      const [status, path, fr, er] = cc.want[i];
      t.equal(o.status, status, `packet ${i} status`);
      if (path) t.match(o.path, new RegExp('^' + path.replace(/\//g, '\\/')), `packet ${i} layers`);
      if (fr !== undefined) t.same([o.fragments, o.errors], [fr, er], `packet ${i} metric`);
    });
    t.end();
  });
}
