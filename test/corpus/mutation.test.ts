/**
 * Robustness: at least 200,000 packets made by truncating, bit-flipping and
 * splicing the corpus packets (seeded, repeatable), through one flow table
 * with timers running on packet time. Nothing may throw or trap, memory must
 * stay bounded, and every packet must be accounted for: it touched flows or
 * was counted as yielding none (DecodeFailure, defragmenter, no layer).
 */
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureReader, RECORD_HEADER_SIZE, recordSize } from '../../src/capture/pcapfile.js';
import { FlowEngine } from '../../src/engine/flow-engine.js';
import { flowToJSON } from '../../src/format/json.js';

const CORPUS = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));
const TOTAL = 200_000;
const SEED = 0x5eed1234;

/** mulberry32: small, fast, seeded. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sample { linkType: number; data: Uint8Array }

async function corpusPackets(): Promise<Sample[]> {
  const files = readdirSync(CORPUS, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(pcap|pcapng)$/.test(f) && !f.startsWith('golden')).sort();
  const out: Sample[] = [];
  const buf = new Uint8Array(1 << 20);
  const dv = new DataView(buf.buffer);
  for (const f of files) {
    const r = await CaptureReader.open(path.join(CORPUS, f));
    for (;;) {
      const res = await r.readBatch(buf, 4096);
      if (res.packets === 0) break;
      let p = 0;
      for (let i = 0; i < res.packets; i++) {
        const caplen = dv.getUint32(p + 8, true);
        out.push({ linkType: dv.getUint32(p + 16, true), data: buf.slice(p + RECORD_HEADER_SIZE, p + RECORD_HEADER_SIZE + caplen) });
        p += recordSize(caplen);
      }
    }
    await r.close();
  }
  return out;
}

function mutate(s: Sample, other: Sample, rand: () => number): Uint8Array {
  const kind = Math.floor(rand() * 4);
  const d = s.data;
  if (kind === 0) return d.slice(0, Math.floor(rand() * (d.length + 1)));          // truncate
  if (kind === 1) {                                                                 // bit flips
    const m = d.slice();
    const flips = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < flips && m.length; i++) m[Math.floor(rand() * m.length)] ^= 1 << Math.floor(rand() * 8);
    return m;
  }
  if (kind === 2) {                                                                 // splice two packets
    const a = Math.floor(rand() * (d.length + 1));
    const b = Math.floor(rand() * (other.data.length + 1));
    const m = new Uint8Array(a + other.data.length - b);
    m.set(d.subarray(0, a));
    m.set(other.data.subarray(b), a);
    return m;
  }
  const m = d.slice();                                                              // random bytes in the headers
  for (let i = 0; i < 4 && m.length; i++) m[Math.floor(rand() * Math.min(m.length, 80))] = Math.floor(rand() * 256);
  return m;
}

const missing = !existsSync(CORPUS);
t.test('mutated corpus packets', { skip: missing && !process.env.CI ? `corpus missing (${CORPUS})` : false }, async (t) => {
  if (missing) { t.fail(`corpus missing: ${CORPUS}`); return; }
  const samples = await corpusPackets();
  t.ok(samples.length > 500, `${samples.length} corpus packets to mutate`);
  const rand = rng(SEED);
  const engine = new FlowEngine({ maxEntries: 20000, extraLayers: 255, mplsUDPPort: 6635 });
  let emitted = 0;
  let badJSON = 0;
  const drain = () => engine.drain((e) => {
    emitted++;
    const j = flowToJSON(e.flow);
    if (!j.startsWith('{"UUID":"') || JSON.parse(j).UUID !== e.flow.UUID) badJSON++;
  });
  let ts = 1_600_000_000_000_000_000n;
  let lastTick = ts;
  let sent = 0;
  let memAtHalf = 0;
  while (sent < TOTAL) {
    const view = engine.inputView();
    const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
    let p = 0, n = 0;
    while (n < 2048 && sent + n < TOTAL) {
      const s = samples[Math.floor(rand() * samples.length)];
      const data = mutate(s, samples[Math.floor(rand() * samples.length)], rand);
      if (p + recordSize(data.length) > view.length) break;
      ts += BigInt(Math.floor(rand() * 5_000_000));
      dv.setBigInt64(p, ts, true);
      dv.setUint32(p + 8, data.length, true);
      dv.setUint32(p + 12, rand() < 0.9 ? data.length : Math.floor(rand() * 70000), true);
      dv.setUint32(p + 16, s.linkType, true);
      dv.setUint32(p + 20, 0, true);
      view.set(data, p + RECORD_HEADER_SIZE);
      p += recordSize(data.length);
      n++;
    }
    t.equal(engine.process(p, n), n, 'every record of the batch consumed');
    sent += n;
    if (ts - lastTick > 60_000_000_000n) {
      const ms = Number(ts / 1_000_000n);
      engine.updateTick(ms);
      engine.expireTick(ms);
      engine.connectionTick(ms);
      lastTick = ts;
    }
    drain();
    if (!memAtHalf && sent >= TOTAL / 2) memAtHalf = engine.core.memory.buffer.byteLength;
  }
  engine.stop();
  drain();
  const c = engine.counters();
  t.equal(Number(c.packets), TOTAL, 'every packet processed');
  t.equal(Number(c.packets_with_flow + c.packets_without_flow), TOTAL, 'every packet made flows or was counted as making none');
  t.ok(c.decode_failures > 0n, `decode failures counted: ${c.decode_failures}`);
  t.equal(badJSON, 0, `${emitted} emitted flows all serialise`);
  t.equal(c.emit_lost, 0n, 'no flow lost on output');
  t.equal(engine.tableSize(), 0, 'stop empties the table');
  const memEnd = engine.core.memory.buffer.byteLength;
  t.ok(memEnd - memAtHalf <= 32 << 20, `memory bounded: ${memAtHalf >> 20} MiB at half, ${memEnd >> 20} MiB at the end`);
  t.ok(memEnd <= 512 << 20, `total linear memory ${memEnd >> 20} MiB`);
});
