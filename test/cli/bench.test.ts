/**
 * `skydive bench`: runs the suites of bench/ as `npm run bench` does, results in the directory
 * BENCH_RESULTS_DIR names, the tree (README.md, bench/results) left as it was. What is
 * asserted is what the suites counted, never how fast.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'skydive.js');

function skydive(args: string[], results?: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SKYDIVE_')));
  if (results !== undefined) env.BENCH_RESULTS_DIR = results;
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr.trim() };
}

/** The files whose content a bench run into another directory must not change. */
const KEPT = ['README.md', 'bench/results/latest.md', 'bench/results/ingest-latest.md'];
const snapshot = (): string[] => KEPT.map((f) => readFileSync(path.join(ROOT, f), 'utf8'));

/**
 * Runs `skydive bench ARGS` with its results in a directory of its own; checks that it succeeded
 * and left the tree's results as they were. Returns that directory.
 */
function benchInTmp(t: Test, args: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'skydive-bench-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const before = snapshot();
  const r = skydive(['bench', ...args], dir);
  t.equal(r.code, 0, r.err);
  t.strictSame(snapshot(), before, 'README.md and bench/results are as they were');
  return dir;
}

/** The one JSON result a run wrote into `dir` whose name starts with `prefix`. */
function result(dir: string, prefix: RegExp): Record<string, unknown> {
  const files = readdirSync(dir).filter((f) => prefix.test(f) && f.endsWith('.json'));
  if (files.length !== 1) throw new Error(`expected one result in ${dir}, found ${files.join(', ') || 'none'}`);
  return JSON.parse(readFileSync(path.join(dir, files[0]), 'utf8')) as Record<string, unknown>;
}

t.test('help, an unknown suite, and a suite\'s unknown option', async (t) => {
  const help = skydive(['bench', '--help']);
  t.equal(help.code, 0);
  for (const suite of ['pps (default)', 'ingest', 'query', 'live', 'es']) t.match(help.out, new RegExp(`\\n {2}${suite.replace(/[()]/g, '\\$&')} `), suite);
  t.match(skydive(['help']).out, /\n {2}bench \[SUITE\] +the benches of bench\//);
  t.match(skydive(['bench', 'nosuch']), { code: 2, err: 'skydive: bench: unknown suite "nosuch" (pps, ingest, query, live, es)' });
  // One line naming the option, not a stack trace.
  t.match(skydive(['bench', 'ingest', '--bogus']), { code: 1, err: /^bench ingest: unknown option --bogus \(use --flows N [^\n]*\)$/ });
  t.match(skydive(['bench', 'query', '--flows', '0']), { code: 1, err: /^bench query: --flows needs a positive integer$/ });
  t.match(skydive(['bench', 'es', '--bogus']), { code: 1, err: /^bench es: Unknown option '--bogus'$/ });
});

t.test('pps (the default suite): decoding and pcap2flows on a small generated capture', async (t) => {
  const dir = benchInTmp(t, ['--packets', '3000', '--runs', '1', '--only', 'a,c', '--no-install']);
  const out = result(dir, /^\d{4}-/) as { flows: number; pcap2flowsCounters: Record<string, number>; results: { id: string; packets: number; samples: unknown[] }[] };
  t.equal(out.pcap2flowsCounters.packets, 3000, 'pcap2flows read every packet');
  t.ok(out.flows > 0, `${out.flows} flows`);
  const ids = out.results.map((x) => x.id);
  t.ok(ids.includes('decode') && ids.some((id) => id.startsWith('pcap2flows')), `measured: ${ids.join(', ')}`);
  for (const x of out.results) t.match(x, { packets: 3000, samples: [{}] }, x.id);
  t.match(readFileSync(path.join(dir, 'latest.md'), 'utf8'), /\| skydive pcap2flows --workers 1 \|/);
});

t.test('ingest: every flow an agent sends over WebSocket is stored', async (t) => {
  const dir = benchInTmp(t, ['ingest', '--flows', '3000', '--runs', '1', '--transports', 'websocket']);
  const out = result(dir, /^ingest-/) as { runs: { transport: string; flowsSent: number; flowsStored: number; analyzerBadMessages: number }[] };
  t.match(out.runs, [{ transport: 'websocket', flowsSent: 3000, flowsStored: 3000, analyzerBadMessages: 0 }]);
});
