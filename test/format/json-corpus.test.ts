/**
 * The core's JSON encoder and sort key against the host's reference on real
 * traffic: every capture of the shared corpus, with the options of each of
 * its golden variants (and the defaults for captures without one), is
 * replayed through a flow table; every flow that leaves it must give, from
 * jsonEncodeFlow, exactly flowToJSON of the Flow the host reads (with and
 * without LastUpdateMetric), and the core's keys must order the flows as the
 * text key (Start, UUID, ParentUUID, LayersPath) does. Missing corpus: skipped
 * here, a failure in CI.
 */
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CaptureReader, FRAMES_BATCH } from '../../src/capture/pcapfile.js';
import { parsePcap2FlowsArgs } from '../../src/commands/pcap2flows.js';
import { FlowEngine } from '../../src/engine/flow-engine.js';
import { flowToJSON } from '../../src/format/json.js';
import { GOLDEN_DIR, goldenSkip, goldenVariants } from '../fixtures/golden-flows.js';
import { stringOrder, textSortKey } from '../helpers/records.js';

const CORPUS_DIR = path.dirname(GOLDEN_DIR.replace(/\/$/, ''));
const NEVER = 2n ** 63n - 1n;

/** Each golden variant, then every other capture of the corpus with the default options. */
function targets(): { name: string; capture: string; args: string[] }[] {
  const variants = goldenVariants();
  const seen = new Set(variants.map((v) => v.capture));
  const others = readdirSync(CORPUS_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(pcap|pcapng|cap)$/.test(f)).sort()
    .map((f) => path.join(CORPUS_DIR, f)).filter((f) => !seen.has(f));
  return [
    ...variants.map((v) => ({ name: v.rel, capture: v.capture, args: v.args })),
    ...others.map((f) => ({ name: path.relative(CORPUS_DIR, f), capture: f, args: [] })),
  ];
}

interface Result { flows: number; identical: number; withLUM: number; hostOnly: number; problems: string[]; order: string[] }

/** Replays `capture` through one table and compares every flow that leaves it. */
async function compare(capture: string, args: string[]): Promise<Result> {
  const opts = parsePcap2FlowsArgs([...args, capture]);
  const engine = new FlowEngine({ ...opts.engine, debug: true });
  const core = engine.core;
  const r: Result = { flows: 0, identical: 0, withLUM: 0, hostOnly: 0, problems: [], order: [] };
  const keyed: { key: string; text: string }[] = [];
  const encode = (address: number, drop: boolean): string | number => {
    const out = core.outputBuffer();
    const n = core.jsonEncodeFlow(address, out, core.outputCapacity(), drop ? 1 : 0);
    return n < 0 ? n : Buffer.from(core.memory.buffer, out, n).toString('utf8');
  };
  const check = (): void => {
    engine.drain((e) => {
      r.flows++;
      keyed.push({ key: engine.sortKey(e.address), text: textSortKey(e.flow) });
      if (e.extraKind !== 0) {
        r.hostOnly++;
        if (encode(e.address, false) !== -1) r.problems.push(`${e.flow.UUID}: extra layer ${e.extraKind} not left to the host`);
        return;
      }
      if (e.flow.LastUpdateMetric) r.withLUM++;
      const full = flowToJSON(e.flow);
      delete e.flow.LastUpdateMetric;
      const dropped = flowToJSON(e.flow);
      const [a, b] = [encode(e.address, false), encode(e.address, true)];
      if (a === full && b === dropped) r.identical++;
      else r.problems.push(`${e.flow.UUID}:\n core ${a}\n host ${full}\n core ${b}\n host ${dropped}`);
    });
  };
  const reader = await CaptureReader.open(capture, { linkTypeOverride: opts.linkType });
  try {
    for (;;) {
      const got = await reader.readFrames(engine.inputView(), 4096);
      if (got.packets === 0) break;
      const linkType = reader.framesFormat === FRAMES_BATCH ? -1 : reader.linkType;
      core.feedRecords(reader.framesFormat, core.inputBuffer(), got.bytes, got.packets, reader.fracToNs, linkType, NEVER, 0, 1);
      check();
    }
    engine.stop();
    check();
  } finally {
    await reader.close();
  }
  keyed.sort((a, b) => stringOrder(a.text, b.text));
  for (let i = 1; i < keyed.length; i++) {
    const [a, b] = [keyed[i - 1], keyed[i]];
    if (stringOrder(a.key, b.key) !== stringOrder(a.text, b.text)) r.order.push(`${JSON.stringify(a.text)} / ${JSON.stringify(b.text)}`);
  }
  return r;
}

t.test('corpus: core JSON and sort keys equal the host reference', { skip: goldenSkip() }, async (t) => {
  if (!existsSync(GOLDEN_DIR)) { t.fail(`golden corpus missing: ${GOLDEN_DIR}`); return; }
  let flows = 0, identical = 0, withLUM = 0, hostOnly = 0;
  for (const { name, capture, args } of targets()) {
    const r = await compare(capture, args);
    t.same(r.problems, [], `${name}: ${r.identical}/${r.flows - r.hostOnly} flows identical`);
    t.same(r.order, [], `${name}: key order`);
    flows += r.flows;
    identical += r.identical;
    withLUM += r.withLUM;
    hostOnly += r.hostOnly;
  }
  t.equal(identical, flows - hostOnly, `${identical} flows identical, ${hostOnly} with an extra layer left to the host`);
  t.ok(withLUM > 0 && hostOnly > 0, `LastUpdateMetric (${withLUM}) and extra layers (${hostOnly}) were exercised`);
});
