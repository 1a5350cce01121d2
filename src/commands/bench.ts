/**
 * `skydive bench [SUITE] [options]`: the benches of bench/ (bench/README.md), each in a Node
 * process of its own with the flags it needs, as `npm run bench` runs them. The suite's own
 * options follow the suite's name and are passed on as they are; its exit status is ours.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../cli/errors.js';
import { projectRoot } from '../project-files.js';

interface Suite {
  script: string;
  /** Node flags of the suite's process. */
  node: readonly string[];
}

const SUITES: Record<string, Suite> = {
  pps: { script: 'run.js', node: [] },
  ingest: { script: 'ingest.js', node: [] },
  query: { script: 'query.js', node: ['--expose-gc', '--max-old-space-size=8192'] },
  live: { script: 'live.js', node: [] },
  es: { script: 'es.js', node: [] },
};

export const BENCH_USAGE = `usage: skydive bench [SUITE] [options]   (bench/README.md explains every figure)
suites:
  pps (default)   packets/s and peak RSS on a generated capture: decoding, the flow table,
                  pcap2flows with 1 and 2 workers, softflowd, argus, ndpiReader, a plain-JS baseline
                  [--packets N] [--seed S] [--runs K] [--only a,b,...] [--longer] [--no-install]
  ingest          flows/s from an agent's sender into an analyzer, over WebSocket and UDP
                  [--flows N] [--runs K] [--transports udp,websocket] [--batch B] [--datagram BYTES]
                  [--udp-rate FLOWS_PER_S] [--warmup N] [--analyzer-node-args ARGS]
  query           the in-memory store of 1,000,000 flows: ingest, memory per flow, query latency
                  [--flows N] [--seed S] [--runs K]
  live            live capture of tcpreplay's packets on a veth in a private namespace (root)
                  [--pcap FILE | --packets N] [--limit N] [--runs K] [--paths addon,flows,cap]
                  [--buffer-mb M] [--no-install]
  es              the Elasticsearch backend against a running node (scripts/es/start.sh)
                  [--url URL] [--flows N] [--runs K] [--concurrency C]
Results go to bench/results/ (BENCH_RESULTS_DIR=DIR: to DIR); a complete pps run into
bench/results also updates the table of README.md.`;

export interface BenchCommand {
  script: string;
  nodeArgs: readonly string[];
  args: string[];
}

export function parseBenchArgs(argv: string[]): BenchCommand {
  const named = argv[0] !== undefined && !argv[0].startsWith('-');
  const suite = named ? argv[0] : 'pps';
  const s = SUITES[suite];
  if (s === undefined) throw new UsageError(`bench: unknown suite ${JSON.stringify(suite)} (${Object.keys(SUITES).join(', ')})`);
  const script = join(projectRoot(), 'dist', 'bench', s.script);
  if (!existsSync(script)) throw new UsageError(`bench: ${join('dist', 'bench', s.script)} is missing; run "npm run build" first`);
  return { script, nodeArgs: s.node, args: argv.slice(named ? 1 : 0) };
}

/**
 * Runs the suite; resolves with its exit status (ended by a signal: 128 + its number, as a shell
 * says). SIGINT and SIGTERM go to the suite, which ends (and cleans up) first.
 */
export function runBench(cmd: BenchCommand): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cmd.nodeArgs, cmd.script, ...cmd.args], { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals): void => { child.kill(sig); };
    const signals = ['SIGINT', 'SIGTERM'] as const;
    for (const sig of signals) process.on(sig, forward);
    const done = (): void => { for (const sig of signals) process.off(sig, forward); };
    child.once('error', (err) => { done(); reject(err); });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}
