/**
 * The store's message scan accepts what the object reader accepts (so a message is stored whole
 * or refused whole, and a stored record always decodes), and locates what the store indexes:
 * checked on fixture flows, on flows with the rare parts, and on thousands of mutated messages.
 * Then the store fed bytes: a refused message leaves it untouched, and records rewritten and
 * moved around the arena still decode to the latest state.
 */
import t from 'tap';
import type { Flow } from '../../src/flow/types.js';
import { MessageFormatError, readFlowMessage } from '../../src/format/message-reader.js';
import { encodeMessage } from '../../src/format/protobuf.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import { MessageScan, TEXT_KEYS, TEXT_KEY_COUNT } from '../../src/store/record-scan.js';
import { BASE_MS, baseFlow, makeFlows, metric, rng } from '../query/flow-fixture.js';

/** What the scan says of record r, in the terms of the decoded flow. */
function scanned(scan: MessageScan, r: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  TEXT_KEYS.forEach((name, k) => {
    const at = scan.keyStart[r * TEXT_KEY_COUNT + k];
    out[name] = scan.buf.toString('utf8', at, at + scan.keyLen[r * TEXT_KEY_COUNT + k]);
  });
  out['Transport.A'] = scan.portA[r];
  out['Transport.B'] = scan.portB[r];
  out.Start = scan.start[r];
  out.Last = scan.last[r];
  out.hasLUM = scan.lumStart[r] >= 0;
  return out;
}

function expected(f: Flow): Record<string, unknown> {
  return {
    UUID: f.UUID, TrackingID: f.TrackingID, L3TrackingID: f.L3TrackingID, ParentUUID: f.ParentUUID, NodeTID: f.NodeTID,
    CaptureID: f.CaptureID, 'Link.A': f.Link?.A ?? '', 'Link.B': f.Link?.B ?? '', 'Network.A': f.Network?.A ?? '',
    'Network.B': f.Network?.B ?? '', LayersPath: f.LayersPath, Application: f.Application,
    'Transport.A': f.Transport?.A ?? NaN, 'Transport.B': f.Transport?.B ?? NaN,
    Start: Number(f.Start), Last: Number(f.Last), hasLUM: f.LastUpdateMetric !== undefined,
  };
}

t.test('the scan locates what the reader decodes', async (t) => {
  const flows = [...makeFlows(300, 4), baseFlow('dns', {
    LayersPath: 'Ethernet/IPv4/UDP/DNS', VRRPv2: { AdverInt: 1, Priority: 100, Version: 2, VirtualRtrID: 7 },
  })];
  const scan = new MessageScan();
  for (let i = 0; i < flows.length; i += 50) {
    const bytes = encodeMessage(flows.slice(i, i + 50));
    scan.read(bytes);
    const decoded = readFlowMessage(bytes).flows;
    t.equal(scan.count, decoded.length);
    let bad = 0;
    for (let r = 0; r < scan.count; r++) if (JSON.stringify(scanned(scan, r)) !== JSON.stringify(expected(decoded[r]))) bad++;
    t.equal(bad, 0, `flows ${i}..: every record as decoded`);
  }
});

t.test('mutated messages: the scan refuses exactly what the reader refuses', async (t) => {
  const bytes = encodeMessage(makeFlows(6, 9));
  const scan = new MessageScan();
  const r = rng(21);
  let refused = 0;
  let disagree = 0;
  for (let i = 0; i < 5000; i++) {
    const m = Uint8Array.from(bytes);
    for (let k = 0; k < 2; k++) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
    let readerOk = true;
    let scanOk = true;
    try { readFlowMessage(m); } catch (err) { readerOk = false; if (!(err instanceof MessageFormatError)) throw err; }
    try { scan.read(m); } catch (err) { scanOk = false; if (!(err instanceof MessageFormatError)) throw err; }
    if (!readerOk) refused++;
    if (readerOk !== scanOk) disagree++;
  }
  t.ok(refused > 500, `${refused} mutations refused`);
  t.equal(disagree, 0, 'same verdict on every mutation');
});

t.test('a malformed message changes nothing in the store', async (t) => {
  const store = new MemoryFlowStore();
  const flows = makeFlows(20, 2);
  store.ingest(encodeMessage(flows));
  const good = encodeMessage([{ ...flows[0], Last: Number(flows[0].Last) + 1 }, baseFlow('new')]);
  const bad = Uint8Array.from([...good, 0x0a, 0x05, 0x0a]);
  t.throws(() => store.ingest(bad), MessageFormatError);
  t.equal(store.size, flows.length, 'no flow added');
  t.equal(store.stats().updated, 0, 'no flow updated');
  t.same(store.ingest(good), { flows: 2 });
  t.equal(store.size, flows.length + 1);
});

t.test('records rewritten, grown and moved by arena compaction keep their latest state', async (t) => {
  const store = new MemoryFlowStore({ retentionMs: Infinity, maxHistoryPerFlow: 3 });
  const n = 2000;
  const base = Array.from({ length: n }, (_, i) => baseFlow('c' + i, { Network: { Protocol: 'IPV4', A: '10.0.0.' + (i % 7), B: '10.1.0.1', ID: 0 } }));
  let latest = base;
  // Each round makes every record longer (a longer Application), so none fits its old place:
  // the arena fills with freed bytes and compacts several times.
  for (let round = 1; round <= 40; round++) {
    latest = base.map((f, i) => ({
      ...f, Application: 'A'.repeat(round * 20), Last: BASE_MS + round * 1000,
      LastUpdateMetric: metric(round, i % 3, BASE_MS + (round - 1) * 1000, BASE_MS + round * 1000),
    }));
    for (let i = 0; i < n; i += 100) store.ingest(encodeMessage(latest.slice(i, i + 100)));
  }
  t.equal(store.size, n);
  let bad = 0;
  for (const f of latest) if (JSON.stringify(store.get(f.UUID)?.flow) !== JSON.stringify(readFlowMessage(encodeMessage([f])).flows[0])) bad++;
  t.equal(bad, 0, 'every flow decodes to its latest state');
  t.same(store.get('c5')?.history().map((d) => d.ABPackets), [38, 39, 40], 'history kept alongside');
  t.equal(store.lookupSize('Network.A', '10.0.0.3'), [...latest.keys()].filter((i) => i % 7 === 3).length, 'indexes follow the moves');
  t.ok(store.stats().estimatedBytes > 0);
});

t.test('messages of new flows, copied whole into the arena, with repeats, refusals and evictions in them, keep the latest state', async (t) => {
  const store = new MemoryFlowStore({ maxFlows: 1000, retentionMs: Infinity });
  const r = rng(5);
  const sent = new Map<string, Flow>();
  let refused = 0;
  for (let round = 0; round < 60; round++) {
    const flows: Flow[] = [];
    for (let i = 0; i < 100; i++) {
      flows.push(baseFlow(`s${round}-${i}`, {
        Application: 'A'.repeat(1 + Math.floor(r() * 1500)), Last: BASE_MS + round * 1000 + Math.floor(r() * 5000),
        Network: { Protocol: 'IPV4', A: '10.0.0.' + (i % 9), B: '10.1.0.1', ID: 0 },
      }));
    }
    // Records of up to 1.5 KB: the freed bytes of evicted flows fill slabs, which get compacted.
    // The same UUID twice in one message: once as long as before (it fits the staged place),
    // once longer (it takes a new place).
    flows.push({ ...flows[3], Application: flows[3].Application.replace('A', 'B'), Last: Number(flows[3].Last) + 1 });
    flows.push({ ...flows[7], Application: flows[7].Application + 'CCCC', Last: Number(flows[7].Last) + 1 });
    // Older than everything held once the store is full: refused.
    flows.push(baseFlow(`old${round}`, { Last: BASE_MS - 1 }));
    store.ingest(encodeMessage(flows));
    for (const f of flows) sent.set(f.UUID, f);
    if (round > 10 && store.get(`old${round}`) === undefined) refused++;
  }
  t.equal(store.size, 1000);
  t.ok(store.stats().evicted > 4000, 'flows were evicted, their bytes freed');
  t.ok(refused > 40, 'flows too old were refused');
  let bad = 0;
  for (const e of store.scan()) {
    const want = sent.get(e.flow.UUID) as Flow;
    if (JSON.stringify(e.flow) !== JSON.stringify(readFlowMessage(encodeMessage([want])).flows[0])) bad++;
  }
  t.equal(bad, 0, 'every flow held decodes to the last state sent');
  const held = [...store.scan()].map((e) => e.flow);
  t.equal(store.lookupSize('Network.A', '10.0.0.4'), held.filter((f) => f.Network?.A === '10.0.0.4').length, 'indexes agree');
});
