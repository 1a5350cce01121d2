/**
 * Where the benches find the project and put their results. BENCH_RESULTS_DIR sends the
 * results elsewhere (the tests of `skydive bench` do, so that they leave the tree as it is); not
 * a SKYDIVE_* name, which the analyzer a bench starts would take for a setting.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's top directory (benches run compiled, from dist/bench/). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_RESULTS = join(ROOT, 'bench', 'results');
export const RESULTS = process.env.BENCH_RESULTS_DIR || DEFAULT_RESULTS;
