/**
 * pcap2flows against Skydive's own output for every capture of the shared
 * corpus (../shared/corpus/golden): the same set of flows, and each flow
 * equal field by field. Captures on which Skydive crashed are not targets:
 * they are checked for robustness only (docs/compat.md says what we give).
 */
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { argsFromFlags, GOLDEN_DIR, goldenSkip } from '../fixtures/golden-flows.js';
import { parsePcap2FlowsArgs, pcap2flows } from '../../src/commands/pcap2flows.js';
import { ALLOWED_DIFFERENCES } from './allowed-differences.js';

const CORPUS_DIR = path.dirname(GOLDEN_DIR.replace(/\/$/, ''));

interface GoldenFile {
  rel: string;
  capture: string;
  args: string[];
  flows: string[];
  summary: Record<string, unknown>;
  crashed: boolean;
}

function goldenFiles(): GoldenFile[] {
  const out: GoldenFile[] = [];
  const files = readdirSync(GOLDEN_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.jsonl')).sort();
  for (const rel of files) {
    const lines = readFileSync(path.join(GOLDEN_DIR, rel), 'utf8').split('\n').filter(Boolean);
    const summary = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
    const capture = path.join(CORPUS_DIR, rel.replace(/\.skydive(\.[^/]*)?\.jsonl$/, ''));
    out.push({
      rel, capture, summary,
      args: argsFromFlags(String(summary._flags ?? '')),
      flows: lines.slice(0, -1),
      crashed: Number(summary._panics) > 0 || Number(summary._flush_panics) > 0,
    });
  }
  return out;
}

export async function runPcap2Flows(capture: string, args: string[]): Promise<{ lines: string[]; counters: Record<string, bigint> }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const counters = await pcap2flows(parsePcap2FlowsArgs([...args, capture]), out);
  return { lines: Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean), counters };
}

/** Top-level fields that differ between two flow JSON objects (nested ones as "Metric.ABBytes"). */
function diffFields(a: Record<string, unknown>, b: Record<string, unknown>, prefix = ''): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const k of keys) {
    const x = a[k], y = b[k];
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x)) {
      out.push(...diffFields(x as Record<string, unknown>, y as Record<string, unknown>, `${prefix}${k}.`));
    } else if (JSON.stringify(x) !== JSON.stringify(y)) {
      out.push(`${prefix}${k}: got ${JSON.stringify(x)}, want ${JSON.stringify(y)}`);
    }
  }
  return out;
}

const skip = goldenSkip();
t.test('golden corpus', { skip }, async (t) => {
  if (!existsSync(GOLDEN_DIR)) { t.fail(`golden corpus missing: ${GOLDEN_DIR}`); return; }
  for (const g of goldenFiles()) {
    await t.test(g.rel, async (t) => {
      const { lines, counters } = await runPcap2Flows(g.capture, g.args);
      const packets = Number(g.summary._packets);
      t.equal(Number(counters.packets), packets, 'every packet of the capture was processed');
      t.equal(Number(counters.packets_with_flow + counters.packets_without_flow), packets,
        'every packet made flows or was counted as making none');
      if (g.crashed) {
        // Skydive crashed here: no target, but our flows must be consistent.
        const uuids = new Set(lines.map((l) => (JSON.parse(l) as { UUID: string }).UUID));
        for (const l of lines) {
          const f = JSON.parse(l) as { ParentUUID: string; UUID: string };
          if (f.ParentUUID) t.ok(uuids.has(f.ParentUUID), `${f.UUID}: parent ${f.ParentUUID} is one of our flows`);
        }
        return;
      }
      const allowed = ALLOWED_DIFFERENCES.filter((d) => d.golden === g.rel);
      const ours = new Map(lines.map((l) => [(JSON.parse(l) as { UUID: string }).UUID, l]));
      const want = new Map(g.flows.map((l) => [(JSON.parse(l) as { UUID: string }).UUID, l]));
      const problems: string[] = [];
      for (const [uuid, line] of want) {
        const got = ours.get(uuid);
        if (!got) { problems.push(`missing flow ${uuid} ${line.slice(0, 160)}`); continue; }
        if (got !== line) {
          const d = diffFields(JSON.parse(got), JSON.parse(line));
          problems.push(`flow ${uuid}: ${d.join('; ')}`);
        }
      }
      for (const [uuid, line] of ours) if (!want.has(uuid)) problems.push(`extra flow ${uuid} ${line.slice(0, 160)}`);
      const unexplained = problems.filter((p) => !allowed.some((a) => a.matches.test(p)));
      t.same(unexplained, [], `${g.flows.length} golden flows, ${lines.length} ours`);
    });
  }
});
