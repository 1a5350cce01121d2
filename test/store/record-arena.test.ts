/**
 * The record arena's places: taken at the phase asked (address modulo 8, so that a copy from a
 * SharedArrayBuffer runs at word speed), never overlapping, each within its slab.
 */
import t from 'tap';
import { RecordArena } from '../../src/store/record-arena.js';

t.test('places at the phase asked, disjoint, within their slab', async (t) => {
  const arena = new RecordArena();
  const taken: { slab: number; offset: number; size: number }[] = [];
  let wrongPhase = 0, pastEnd = 0;
  for (let i = 0; i < 40_000; i++) {
    const size = 1 + ((i * 7919) % 1500);
    const phase = i % 3 === 0 ? -1 : (i * 5) & 7;
    arena.take(size, phase);
    const buf = arena.buffer(arena.slab);
    if (phase >= 0 && ((buf.byteOffset + arena.offset) & 7) !== phase) wrongPhase++;
    if (arena.offset + size > buf.length) pastEnd++;
    taken.push({ slab: arena.slab, offset: arena.offset, size });
  }
  t.equal(wrongPhase, 0, 'every place at its phase');
  t.equal(pastEnd, 0, 'every place within its slab');
  const bySlab = new Map<number, { offset: number; size: number }[]>();
  for (const p of taken) bySlab.set(p.slab, [...(bySlab.get(p.slab) ?? []), p]);
  let overlaps = 0;
  for (const places of bySlab.values()) {
    places.sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < places.length; i++) if (places[i - 1].offset + places[i - 1].size > places[i].offset) overlaps++;
  }
  t.equal(overlaps, 0, 'no two places overlap');
  t.ok(bySlab.size > 1, `records spread over ${bySlab.size} slabs`);
});
