/**
 * FlowRecordReader.drainJSON: the core encodes the emitted flows in runs
 * (assembly/format/jsonrun.ts), each run's text written at the phase
 * (address modulo 8) the caller asks for, so that its copy out of a shared
 * core memory goes by words. Whatever the phase and however the flows fall
 * into runs (an index full, a DNS flow the host encodes in between, events
 * left out), the keys and JSON are those of each flow encoded on its own,
 * in the order the flows left the table.
 */
import t from 'tap';
import { FlowEngine, EXTRA_LAYERS, type EngineOptions } from '../../src/engine/flow-engine.js';
import type { JSONOut } from '../../src/flow/record.js';
import type { FlowEvent } from '../../src/flow/types.js';
import { flowToJSON } from '../../src/format/json.js';
import { sharedCoreMemory } from '../../src/wasm/module.js';
import { encodeBatch, type Frame } from '../helpers/engine.js';
import { ethernet, ipv4, tcp, udp, type Bytes } from '../helpers/packets.js';

const TS = 1_700_000_000_000;

function dnsQuery(id: number): Bytes {
  const name = [7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0];
  return [id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 1, 0, 1];
}

/** `n` flows: TCP and UDP ones, and every `dnsEvery`-th a DNS query (an extra layer, when decoded). */
function frames(n: number, dnsEvery = 0): Frame[] {
  return Array.from({ length: n }, (_, i) => {
    const ip = `10.${i >> 8}.${i & 255}.1`;
    const l4 = dnsEvery > 0 && i % dnsEvery === dnsEvery - 1 ? ipv4(ip, '10.255.0.53', 17, udp(3000 + (i & 4095), 53, dnsQuery(i & 0xffff)))
      : i % 2 === 0 ? ipv4(ip, '10.255.9.9', 6, tcp(1000 + (i & 4095), 80, 0x18, new Array((i % 13) + 1).fill(65)))
        : ipv4(ip, '10.255.9.9', 17, udp(2000 + (i & 4095), 5000, [1, 2, 3]));
    return { data: ethernet('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800, l4), tsMs: TS + i };
  });
}

interface Drained {
  /** [key, JSON] of every flow, in order. */
  flows: Array<[string, string]>;
  /** Records of each run, and the address modulo 8 of each run's text. */
  runs: number[];
  phases: number[];
  /** Flows given one by one (encoded by the host). */
  singles: number;
}

/** A table of `input` stopped, its flows drained with drainJSON at `phase` (or each flow encoded alone, by the host: `reference`). */
function drain(input: Frame[], opts: { phase?: number; keep?: FlowEvent[]; engine?: EngineOptions; reference?: boolean } = {}): Drained {
  const engine = new FlowEngine({ memory: sharedCoreMemory(), ...opts.engine });
  const batch = encodeBatch(input);
  engine.inputView().set(batch);
  engine.process(batch.length, input.length);
  for (const address of engine.stopBegin()) engine.stopFlow(address);
  const keep = new Set<FlowEvent>(opts.keep ?? ['end']);
  const got: Drained = { flows: [], runs: [], phases: [], singles: 0 };
  if (opts.reference) {
    engine.drain((e) => { if (keep.has(e.event)) got.flows.push([engine.sortKey(e.address), flowToJSON(e.flow)]); });
    return got;
  }
  const out: JSONOut = {
    add: (key, record) => {
      t.type(record, 'string', 'one by one: a flow the host encodes');
      got.flows.push([key, record as string]);
      got.singles++;
    },
    addRun: (keys, ends, bytes) => {
      t.equal(keys.length, ends.length);
      got.runs.push(keys.length);
      got.phases.push(bytes.byteOffset % 8);
      let start = 0;
      keys.forEach((key, i) => { got.flows.push([key, Buffer.from(bytes.subarray(start, ends[i])).toString('utf8')]); start = ends[i]; });
      t.equal(start, bytes.length, 'the run ends with its last record');
    },
    phase: () => opts.phase ?? 0,
  };
  const n = engine.drainJSON(keep, false, out);
  t.equal(n, got.flows.length, 'the count drainJSON returns');
  return got;
}

t.test('each run lands at the asked phase and its bytes do not depend on it', async (t) => {
  const input = frames(20);
  const want = drain(input, { reference: true }).flows;
  t.equal(want.length, 20);
  for (const [, json] of want) t.match(json, /^\{"UUID":"[0-9a-f]{1,16}",/);
  for (let phase = 0; phase < 8; phase++) {
    const got = drain(input, { phase });
    t.strictSame(got.flows, want, `phase ${phase}: same keys and JSON`);
    t.strictSame(got.runs, [20], `phase ${phase}: one run`);
    t.strictSame(got.phases, [phase], `phase ${phase}: the run starts at that phase`);
  }
  // Only the phase modulo 8 counts.
  t.strictSame(drain(input, { phase: 13 }).phases, [5]);
});

t.test('more flows than an index holds: several runs, the same flows in the same order', async (t) => {
  const input = frames(7000);
  const want = drain(input, { reference: true }).flows;
  const got = drain(input, { phase: 3 });
  t.ok(got.runs.length >= 2, `${got.runs.length} runs (${got.runs.join(', ')})`);
  t.equal(got.singles, 0);
  t.equal(got.flows.length, 7000);
  t.strictSame(got.flows, want);
});

t.test('DNS flows, encoded by the host, in their place among the runs', async (t) => {
  const input = frames(600, 7);
  const engine = { extraLayers: EXTRA_LAYERS.DNS };
  const want = drain(input, { reference: true, engine }).flows;
  const got = drain(input, { engine });
  const dns = want.filter(([, json]) => json.includes('"DNS":')).length;
  t.equal(dns, Math.floor(600 / 7), 'the DNS flows have their DNS layer');
  t.equal(got.singles, dns, 'each one given on its own');
  t.ok(got.runs.length > dns, 'between runs');
  t.strictSame(got.flows, want);
});

t.test('flows of events not kept are left out, in and between runs', async (t) => {
  const input = frames(50);
  t.strictSame(drain(input, { keep: ['expire', 'update'] }).flows, [], 'no flow ended otherwise than by the stop');
  t.equal(drain(input, { keep: ['update', 'end'] }).flows.length, 50);
  const dnsOnly = drain(frames(70, 7), { keep: ['expire'], engine: { extraLayers: EXTRA_LAYERS.DNS } });
  t.strictSame(dnsOnly.flows, [], 'DNS flows left out as well');
});
