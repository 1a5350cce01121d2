/**
 * The `skydive` executable: Skydive's sub-commands plus ours. Errors a user
 * can act on print one line on stderr and exit non-zero; nothing else prints
 * a stack trace unless SKYDIVE_DEBUG is set.
 */
import { parsePcap2FlowsArgs, pcap2flows, PCAP2FLOWS_USAGE } from './commands/pcap2flows.js';
import { UsageError } from './cli/errors.js';
import { AGENT_USAGE, parseAgentArgs, runAgent } from './commands/agent.js';

const USAGE = `usage: skydive <command> [options]
commands:
  agent             run the captures of the configuration (standalone: flows as JSON lines)
  pcap2flows FILE   print the flows of a pcap/pcapng capture (Skydive's rules)
  help              this text
Run "skydive <command> --help" for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE + '\n');
    return cmd === undefined ? 2 : 0;
  }
  switch (cmd) {
    case 'agent': {
      if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(AGENT_USAGE + '\n'); return 0; }
      const stop = new AbortController();
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
      const log = (line: string): void => { process.stderr.write(`skydive agent: ${line}\n`); };
      const results = await runAgent(parseAgentArgs(rest), process.stdout, log, stop.signal);
      for (const r of results) log(`stats ${JSON.stringify(r)}`);
      return 0;
    }
    case 'pcap2flows': {
      if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(PCAP2FLOWS_USAGE + '\n'); return 0; }
      const opts = parsePcap2FlowsArgs(rest);
      const counters = await pcap2flows(opts, process.stdout);
      if (opts.stats) {
        const plain = Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, Number(v)]));
        process.stderr.write(JSON.stringify(plain) + '\n');
      }
      return 0;
    }
  }
  throw new UsageError(`unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`skydive: ${err.message}\n`);
      process.exitCode = 2;
    } else if ((err as NodeJS.ErrnoException)?.code === 'EPIPE') {
      process.exitCode = 0;
    } else {
      process.stderr.write(`skydive: ${(err as Error)?.message ?? String(err)}\n`);
      if (process.env.SKYDIVE_DEBUG) process.stderr.write(String((err as Error)?.stack) + '\n');
      process.exitCode = 1;
    }
  },
);
