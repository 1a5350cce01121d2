/**
 * `skydive allinone`: an analyzer and an agent on one host (skydive-api.md §1.4), as Skydive
 * does it: the analyzer runs as a child process; once it listens (it says where over the IPC
 * channel: polling the port could reach another process there), the agent runs as a second
 * child with SKYDIVE_ANALYZERS set to it (0.0.0.0 becomes 127.0.0.1).
 *
 * Two processes rather than one: the capture and flow tables and the store and queries each get
 * a core and an event loop of their own (a long query does not hold packets back, a capture
 * burst does not slow replies), a failure in one is seen and reported by the other, and the
 * flows take the same path as between hosts (protobuf over `flow.protocol`), so what allinone
 * shows is what a distributed setup shows.
 *
 * The agent captures what `agent.captures` lists; with none, the interface of the default route
 * (/proc/net/route). SIGINT/SIGTERM stop the agent first (its last flows reach the analyzer),
 * then the analyzer. The children run in process groups of their own, so a Ctrl-C reaches them
 * through this order only, and they stop by themselves if this process dies (IPC channel).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { UsageError } from '../cli/errors.js';
import { configFiles, parseOptions } from '../cli/options.js';
import { dialable, formatHostPort, parseHostPort } from '../net/host-port.js';
import { hostDefaultInterface } from '../net/default-route.js';
import { listenAddress } from './analyzer.js';
import { loadCommandConfig } from '../cli/config.js';

export const ALLINONE_USAGE = `usage: skydive allinone [-c FILE]... [--listen HOST:PORT]
  -c, --conf FILE   configuration for both (YAML, Skydive's keys; repeatable; default
                    /etc/skydive/skydive.yml when it exists). SKYDIVE_* variables override.
  --listen ADDR     the analyzer's address (default analyzer.listen, 127.0.0.1:8082)

The agent runs the captures of agent.captures; with none, it captures the interface of the
default route (needs root or CAP_NET_RAW). Then: skydive client query "G.Flows()".`;

export interface AllInOneArgs {
  files: string[];
  listen?: string;
  /** --verbose, passed on to both children. */
  verbose?: boolean;
}

export function parseAllInOneArgs(argv: string[]): AllInOneArgs {
  const o = parseOptions(argv, { values: { conf: ['-c', '--conf'], listen: ['--listen'] }, repeatable: ['conf'] }, ALLINONE_USAGE);
  if (o.positional.length > 0) throw new UsageError(`unexpected argument ${o.positional[0]}\n${ALLINONE_USAGE}`);
  return { files: configFiles(o.values.conf), listen: o.values.listen?.[0] };
}

/** How long the analyzer has to start listening, and each child to stop. */
const START_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 15000;

function child(args: string[], env: NodeJS.ProcessEnv, stdin: 'ignore' | 'pipe'): ChildProcess {
  // The same executable and Node options as this process.
  return spawn(process.execPath, [...process.execArgv, process.argv[1], ...args], {
    env, stdio: [stdin, 'inherit', 'inherit', 'ipc'], detached: true,
  });
}

function exited(c: ChildProcess): Promise<number | null> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode);
  return new Promise((resolve) => c.once('exit', (code) => resolve(code)));
}

/** SIGTERM, then SIGKILL after `ms`; resolves with the exit code. */
async function stop(c: ChildProcess, ms: number): Promise<number | null> {
  if (c.exitCode !== null || c.signalCode !== null) return c.exitCode;
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), ms);
  const code = await exited(c);
  clearTimeout(timer);
  return code;
}

type NotListening = 'exited' | 'aborted' | 'timeout';

/**
 * The address the analyzer child listens on, once it says so (analyzer.ts sends it over the IPC
 * channel), or why it never will: it stopped, `signal` aborted, or the time ran out.
 */
function listening(analyzer: ChildProcess, signal: AbortSignal): Promise<{ address: string } | NotListening> {
  return new Promise((resolve) => {
    const done = (why: { address: string } | NotListening): void => {
      clearTimeout(timer);
      analyzer.off('message', onMessage);
      analyzer.off('exit', onExit);
      signal.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onMessage = (m: unknown): void => {
      const msg = m as { type?: unknown; address?: unknown } | null;
      if (msg?.type === 'listening' && typeof msg.address === 'string') done({ address: msg.address });
    };
    const onExit = (): void => done('exited');
    const onAbort = (): void => done('aborted');
    const timer = setTimeout(() => done('timeout'), START_TIMEOUT_MS);
    analyzer.on('message', onMessage);
    analyzer.once('exit', onExit);
    signal.addEventListener('abort', onAbort, { once: true });
    if (analyzer.exitCode !== null || analyzer.signalCode !== null) done('exited');
    else if (signal.aborted) done('aborted');
  });
}

export async function runAllInOne(args: AllInOneArgs, log: (line: string) => void, signal: AbortSignal,
                                  env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // Checked here first, so that a mistake is one line, before any child starts.
  const config = loadCommandConfig(args.files, env);
  const listen = listenAddress(args.listen ?? config.get<string>('analyzer.listen'), args.listen ? '--listen' : 'analyzer.listen');
  const conf = [...args.files.flatMap((f) => ['-c', f]), ...(args.verbose ? ['--verbose'] : [])];
  let captureYAML: string | undefined;
  if (config.get<unknown[]>('agent.captures').length === 0) {
    const iface = hostDefaultInterface();
    if (!iface) throw new UsageError('no default route to capture: list captures under agent.captures (see etc/skydive.yml.default)');
    log(`capturing the interface of the default route: ${iface}`);
    captureYAML = `agent:\n  captures:\n    - type: pcap\n      name: ${JSON.stringify(iface)}\n      interface: ${JSON.stringify(iface)}\n`;
  }

  const analyzer = child(['analyzer', ...conf, '--listen', formatHostPort(listen)], env, 'ignore');
  const analyzerExit = exited(analyzer);
  const why = await listening(analyzer, signal);
  if (why === 'exited') throw new Error(`the analyzer stopped (exit code ${analyzer.exitCode ?? analyzer.signalCode})`);
  if (why === 'aborted') { await stop(analyzer, STOP_TIMEOUT_MS); return 0; }
  if (why === 'timeout') {
    await stop(analyzer, STOP_TIMEOUT_MS);
    throw new Error(`the analyzer did not start listening on ${formatHostPort(listen)} within ${START_TIMEOUT_MS / 1000} s`);
  }
  const target = dialable(parseHostPort(why.address));

  const agentEnv = { ...env, SKYDIVE_ANALYZERS: formatHostPort(target) };
  const agent = child(['agent', ...conf, ...(captureYAML ? ['-c', '-'] : [])], agentEnv, captureYAML ? 'pipe' : 'ignore');
  if (captureYAML) agent.stdin!.end(captureYAML);
  const agentExit = exited(agent);
  log(`analyzer on ${formatHostPort(target)}, agent sending it flows; see them with: skydive client query "G.Flows()"`);

  const aborted = new Promise<void>((resolve) => { if (signal.aborted) resolve(); else signal.addEventListener('abort', () => resolve(), { once: true }); });
  const first = await Promise.race([aborted.then(() => 'signal' as const), agentExit.then(() => 'agent' as const), analyzerExit.then(() => 'analyzer' as const)]);
  const agentCode = await stop(agent, STOP_TIMEOUT_MS);
  const analyzerCode = await stop(analyzer, STOP_TIMEOUT_MS);
  if (first === 'signal') return agentCode === 0 && analyzerCode === 0 ? 0 : 1;
  log(`the ${first} stopped (exit code ${first === 'agent' ? agentCode : analyzerCode}); stopped the ${first === 'agent' ? 'analyzer' : 'agent'} too`);
  return 1;
}
