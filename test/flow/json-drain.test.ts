/**
 * FlowRecordReader.drainJSON: the JSON of each flow is written at the phase (address modulo 8)
 * the caller asks for, so that its copy out of a shared core memory goes by words, and the
 * bytes do not depend on the phase.
 */
import t from 'tap';
import { FlowEngine } from '../../src/engine/flow-engine.js';
import { sharedCoreMemory } from '../../src/wasm/module.js';
import { encodeBatch, type Frame } from '../helpers/engine.js';
import { ethernet, ipv4, tcp, udp } from '../helpers/packets.js';

const FLOWS = 20;

function frames(): Frame[] {
  const out: Frame[] = [];
  for (let i = 0; i < FLOWS; i++) {
    const ip = `10.0.${i}.1`;
    const l4 = i % 2 === 0 ? ipv4(ip, '10.9.9.9', 6, tcp(1000 + i, 80, 0x18, new Array(i + 1).fill(65))) : ipv4(ip, '10.9.9.9', 17, udp(2000 + i, 53, [1, 2, 3]));
    out.push({ data: ethernet('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800, l4), tsMs: 1_700_000_000_000 + i });
  }
  return out;
}

/** Every flow's [key, JSON text, address of the view] when a table of FLOWS flows stops, drained at `phase`. */
function drainAt(phase: number | undefined): Array<[string, string, number]> {
  const engine = new FlowEngine({ memory: sharedCoreMemory() });
  const batch = encodeBatch(frames());
  engine.inputView().set(batch);
  engine.process(batch.length, FLOWS);
  for (const address of engine.stopBegin()) engine.stopFlow(address);
  const got: Array<[string, string, number]> = [];
  const n = engine.drainJSON(new Set(['end']), false, (key, json) => {
    t.type(json, Uint8Array, 'a plain flow is encoded by the core');
    const view = json as Uint8Array;
    got.push([key, Buffer.from(view).toString('utf8'), view.byteOffset]);
  }, phase === undefined ? undefined : () => phase);
  t.equal(n, FLOWS);
  return got;
}

t.test('the JSON lands at the asked phase and its bytes do not depend on it', async (t) => {
  const plain = drainAt(undefined);
  t.equal(plain.length, FLOWS);
  for (const [, json] of plain) t.match(json, /^\{"UUID":"[0-9a-f]{1,16}",/);
  for (let phase = 0; phase < 8; phase++) {
    const got = drainAt(phase);
    t.strictSame(got.map(([k, j]) => [k, j]), plain.map(([k, j]) => [k, j]), `phase ${phase}: same keys and JSON`);
    t.ok(got.every(([, , at]) => at % 8 === phase), `phase ${phase}: every record starts at that phase`);
  }
  // Only the phase modulo 8 counts.
  t.ok(drainAt(13).every(([, , at]) => at % 8 === 5));
});
