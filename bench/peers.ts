/**
 * The peers: flow tools from Debian packages, run on the same capture file.
 *
 *   node dist/bench/peers.js FILE [--no-install]     (one timed run of each)
 *
 * A missing tool is installed with apt-get when we are root and apt-get exists (saying so);
 * a tool that still cannot be found is skipped with a note.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { GNU_TIME, hasCommand, timeProcess } from './measure.js';

export interface Peer {
  name: string;
  /** What the run computes, for the results table. */
  what: string;
  /** Executable that must be on the PATH, and the Debian packages that provide it. */
  command: string;
  packages: string[];
  argv(file: string): string[];
}

export const PEERS: Peer[] = [
  {
    name: 'softflowd',
    what: 'NetFlow-style flows (IPv4/IPv6 5-tuples, outer headers), statistics only, table of 500,000',
    command: 'softflowd',
    packages: ['softflowd'],
    // -r: read the file then exit (no fork); -d: stay in the foreground; -6: track IPv6 too;
    // -m: as many flows as Skydive's table, so none is expired early. No -n: nothing is exported.
    argv: (file) => ['softflowd', '-r', file, '-d', '-6', '-m', '500000'],
  },
  {
    name: 'argus',
    what: 'bidirectional flow records with TCP state, written to /dev/null',
    command: 'argus',
    packages: ['argus-server', 'argus-client'],
    // -X: ignore /etc/argus.conf; -r: read the file then exit.
    argv: (file) => ['argus', '-X', '-r', file, '-w', '/dev/null'],
  },
  {
    name: 'ndpiReader',
    what: 'nDPI: flows plus deep packet inspection of every flow, quiet',
    command: 'ndpiReader',
    packages: ['libndpi-bin'],
    argv: (file) => ['ndpiReader', '-i', file, '-q'],
  },
];

type Log = (line: string) => void;

let aptUpdated = false;

/** apt-get install, once `apt-get update` has run; false when not possible or failed. */
function aptInstall(packages: string[], log: Log): boolean {
  if (process.getuid?.() !== 0 || !hasCommand('apt-get')) {
    log(`cannot install ${packages.join(' ')}: needs root and apt-get`);
    return false;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    log('running apt-get update');
    aptUpdated = true;
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env });
  }
  const args = ['install', '-y', '--no-install-recommends', ...packages];
  log(`running apt-get ${args.join(' ')}`);
  const r = spawnSync('apt-get', args, { encoding: 'utf8', env });
  if (r.status !== 0) log(`apt-get install failed: ${(r.stderr || r.stdout || '').trim().split('\n').pop()}`);
  return r.status === 0;
}

/** Installs GNU time when missing; false if it is still missing. */
export function ensureGnuTime(log: Log, install = true): boolean {
  if (!existsSync(GNU_TIME) && install) aptInstall(['time'], log);
  return existsSync(GNU_TIME);
}

/** The peers that can run, and a note for each one that cannot. */
export function availablePeers(log: Log, install = true): { peers: Peer[]; skipped: Record<string, string> } {
  const peers: Peer[] = [];
  const skipped: Record<string, string> = {};
  for (const peer of PEERS) {
    if (!hasCommand(peer.command) && install) aptInstall(peer.packages, log);
    if (hasCommand(peer.command)) peers.push(peer);
    else skipped[peer.name] = `${peer.command} not found (Debian packages: ${peer.packages.join(', ')})`;
  }
  for (const [name, note] of Object.entries(skipped)) log(`skipping ${name}: ${note}`);
  return { peers, skipped };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (file === undefined) throw new Error('usage: peers FILE [--no-install]');
  const log: Log = (line) => process.stderr.write(`peers: ${line}\n`);
  const install = !args.includes('--no-install');
  ensureGnuTime(log, install);
  for (const peer of availablePeers(log, install).peers) {
    const s = await timeProcess(peer.argv(file));
    process.stdout.write(JSON.stringify({ peer: peer.name, argv: peer.argv(file), ...s, stdout: undefined, stderr: s.exitCode ? s.stderr : undefined }) + '\n');
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`peers: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
