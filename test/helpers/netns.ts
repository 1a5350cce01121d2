/**
 * Test helper: private network namespaces joined by veth pairs, built with `ip` and torn down
 * by cleanup() (namespaces are deleted with everything in them). Namespace names carry the
 * process id and a counter, so tests running at the same time never meet; interface names
 * only need to be unique inside their namespace.
 *
 * IPv6 is turned off in every namespace before any interface exists and neighbours are
 * static, so a link carries only the traffic a test sends (no ND, MLD or ARP).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
let counter = 0;

export interface Netns { name: string; path: string }

/** Why namespaces cannot be built here (not root, no `ip`, no netns support), or undefined. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and veth pairs)';
  const probe = `skt-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
  } catch (e) {
    return `cannot create a network namespace with ip: ${(e as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

/** Runs `ip ARGS` and returns its stdout; throws with ip's stderr. */
export function ip(...args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')}: ${err.stderr?.trim() || err.message}`);
  }
}

export class NetLab {
  readonly tag = `skt${process.pid.toString(36)}n${(counter++).toString(36)}`;
  private readonly namespaces: Netns[] = [];
  private readonly children: ChildProcess[] = [];

  /** A new namespace with lo up and IPv6 off. */
  ns(short: string): Netns {
    const name = `${this.tag}-${short}`;
    ip('netns', 'add', name);
    const ns = { name, path: `/var/run/netns/${name}` };
    this.namespaces.push(ns);
    execFileSync('ip', ['netns', 'exec', name, 'sh', '-c',
      'for k in all default; do echo 1 > /proc/sys/net/ipv6/conf/$k/disable_ipv6; done 2>/dev/null; true']);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    return ns;
  }

  /** MAC address of `dev` in `ns`. */
  mac(ns: Netns, dev: string): string {
    return (JSON.parse(ip('-n', ns.name, '-j', 'link', 'show', dev)) as { address: string }[])[0].address;
  }

  /** A veth pair a (in nsA) <-> b (in nsB), both up, with optional IPv4 addresses (CIDR). */
  veth(nsA: Netns, a: string, nsB: Netns, b: string, addrA?: string, addrB?: string): void {
    ip('-n', nsA.name, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', nsB.name);
    if (addrA) ip('-n', nsA.name, 'addr', 'add', addrA, 'dev', a);
    if (addrB) ip('-n', nsB.name, 'addr', 'add', addrB, 'dev', b);
    ip('-n', nsA.name, 'link', 'set', a, 'up');
    ip('-n', nsB.name, 'link', 'set', b, 'up');
  }

  /** A permanent neighbour entry: no ARP for `addr` on `dev`. */
  neighbour(ns: Netns, dev: string, addr: string, mac: string): void {
    ip('-n', ns.name, 'neigh', 'replace', addr, 'lladdr', mac, 'dev', dev, 'nud', 'permanent');
  }

  /** Runs a command in `ns` without blocking the event loop; resolves with its stdout. */
  async exec(ns: Netns, argv: string[], timeoutMs = 60000): Promise<string> {
    const { stdout } = await execFileAsync('ip', ['netns', 'exec', ns.name, ...argv], { timeout: timeoutMs, encoding: 'utf8' });
    return stdout;
  }

  /** Starts a long-running command in `ns` (killed by cleanup); `ip netns exec` execs it, same pid. */
  spawn(ns: Netns, argv: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns.name, ...argv], { stdio: 'ignore' });
    this.children.push(child);
    return child;
  }

  /** Kills what spawn() started and deletes the namespaces; never throws. */
  cleanup(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    for (const ns of this.namespaces.splice(0)) {
      try { execFileSync('ip', ['netns', 'del', ns.name], { stdio: 'ignore' }); } catch { /* already gone */ }
    }
  }
}
