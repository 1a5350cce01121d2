/**
 * The `skydive` executable: Skydive's sub-commands plus ours. Errors a user
 * can act on print one line on stderr and exit non-zero; nothing else prints
 * a stack trace unless --verbose is given or SKYDIVE_DEBUG is set.
 *
 * Each command's module is imported when that command runs: the analyzer's dependencies
 * (fastify, the Elasticsearch client) took 0.35 s to load, which every `client query` and
 * `pcap2flows` paid before.
 */
import { UsageError } from './cli/errors.js';
import { parseGlobalArgs } from './cli/global.js';
import { parseOptions } from './cli/options.js';
import { packageVersion } from './version.js';

const USAGE = `usage: skydive [global options] <command> [options]
commands:
  allinone          an analyzer and an agent capturing this host (flows: skydive client query "G.Flows()")
  analyzer          the flow analyzer: REST, WebSocket and UDP intake on one port (default 127.0.0.1:8082)
  agent             run the captures of the configuration, flows to the analyzers (standalone: JSON lines)
  client            query an analyzer: client query "G.Flows()...", client status
  pcap2flows FILE   print the flows of a pcap/pcapng capture (Skydive's rules)
  bench [SUITE]     the benches of bench/: pps (default), ingest, query, live, es
  version           print the version
  help              this text
global options (before or after the command):
  -c, --conf FILE               configuration file of agent, analyzer, allinone, client (repeatable)
  -b, --config-backend file     where the configuration comes from: file only (etcd is not supported)
  --verbose                     debug output: the configuration files read, stack traces of
                                unexpected errors (as SKYDIVE_DEBUG=1)
Run "skydive <command> --help" for a command's options.`;

const VERSION_USAGE = 'usage: skydive version\n  prints the version of skydive-ts: skydive skydive-ts <version>';

/**
 * Aborted by SIGINT/SIGTERM, and when the parent that started this process with an IPC channel
 * (skydive allinone) goes away.
 */
function stopSignal(): AbortSignal {
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', () => stop.abort());
  }
  return stop.signal;
}

const wantsHelp = (args: string[]): boolean => args.includes('--help') || args.includes('-h');

/** A command's log: one line on stderr, prefixed with the command. */
const commandLog = (cmd: string) => (line: string): void => { process.stderr.write(`skydive ${cmd}: ${line}\n`); };

/** --verbose was given: debug lines on stderr, stack traces of unexpected errors. */
let verbose = false;

/** With --verbose, the configuration a command reads (none: defaults and SKYDIVE_* only). */
function debugConfig(log: (line: string) => void, files: readonly string[]): void {
  if (verbose) log(`debug: configuration ${files.length > 0 ? `from ${files.join(', ')}` : 'from defaults (no file)'} and SKYDIVE_* variables`);
}

async function main(argv: string[]): Promise<number> {
  const global = parseGlobalArgs(argv);
  verbose = global.verbose;
  const { command: cmd, args: rest } = global;
  if (cmd === undefined || cmd === 'help') {
    process.stdout.write(USAGE + '\n');
    return cmd === undefined ? 2 : 0;
  }
  switch (cmd) {
    case 'version': {
      // Skydive prints "<program> <project> <version>".
      if (wantsHelp(rest)) { process.stdout.write(VERSION_USAGE + '\n'); return 0; }
      // -c is a global flag: accepted, and there is nothing to configure.
      const o = parseOptions(rest, { values: { conf: ['-c', '--conf'] }, repeatable: ['conf'] }, VERSION_USAGE);
      if (o.positional.length > 0) throw new UsageError(`version takes no argument, got ${o.positional[0]}`);
      process.stdout.write(`skydive skydive-ts ${packageVersion()}\n`);
      return 0;
    }
    case 'agent': {
      const { AGENT_USAGE, parseAgentArgs, runAgent } = await import('./commands/agent.js');
      if (wantsHelp(rest)) { process.stdout.write(AGENT_USAGE + '\n'); return 0; }
      const log = commandLog('agent');
      const opts = parseAgentArgs(rest);
      debugConfig(log, opts.files);
      const results = await runAgent(opts, process.stdout, log, stopSignal());
      for (const r of results) log(`stats ${JSON.stringify(r)}`);
      return 0;
    }
    case 'analyzer': {
      const { ANALYZER_USAGE, parseAnalyzerArgs, runAnalyzer } = await import('./commands/analyzer.js');
      if (wantsHelp(rest)) { process.stdout.write(ANALYZER_USAGE + '\n'); return 0; }
      const log = commandLog('analyzer');
      const opts = parseAnalyzerArgs(rest);
      debugConfig(log, opts.files);
      await runAnalyzer(opts, log, stopSignal());
      return 0;
    }
    case 'allinone': {
      const { ALLINONE_USAGE, parseAllInOneArgs, runAllInOne } = await import('./commands/allinone.js');
      if (wantsHelp(rest)) { process.stdout.write(ALLINONE_USAGE + '\n'); return 0; }
      const log = commandLog('allinone');
      const opts = parseAllInOneArgs(rest);
      debugConfig(log, opts.files);
      return runAllInOne({ ...opts, verbose }, log, stopSignal());
    }
    case 'client': {
      const { CLIENT_USAGE, parseClientArgs, runClient } = await import('./commands/client.js');
      const { ClientError } = await import('./client/analyzer-api.js');
      if (wantsHelp(rest)) { process.stdout.write(CLIENT_USAGE + '\n'); return 0; }
      try {
        const args = parseClientArgs(rest);
        for (const w of args.warnings) process.stderr.write(`skydive client: warning: ${w}\n`);
        await runClient(args, process.stdout);
      } catch (err) {
        if (!(err instanceof ClientError)) throw err;
        process.stderr.write(`skydive client: ${err.message}\n`);
        return 1;
      }
      return 0;
    }
    case 'pcap2flows': {
      const { parsePcap2FlowsArgs, pcap2flows, Pcap2FlowsInputError, PCAP2FLOWS_USAGE } = await import('./commands/pcap2flows.js');
      if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(PCAP2FLOWS_USAGE + '\n'); return 0; }
      const opts = parsePcap2FlowsArgs(rest);
      const printStats = (counters: Record<string, bigint>): void => {
        if (!opts.stats) return;
        const plain = Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, Number(v)]));
        process.stderr.write(JSON.stringify(plain) + '\n');
      };
      try {
        printStats(await pcap2flows(opts, process.stdout));
      } catch (err) {
        // The input failed part way: its flows up to there are printed; then the counters, the error.
        if (!(err instanceof Pcap2FlowsInputError)) throw err;
        printStats(err.counters);
        process.stderr.write(`skydive: ${err.message}\n`);
        return err.status;
      }
      return 0;
    }
    case 'bench': {
      const { BENCH_USAGE, parseBenchArgs, runBench } = await import('./commands/bench.js');
      // The suite's own --help is this text, which lists its options.
      if (wantsHelp(rest)) { process.stdout.write(BENCH_USAGE + '\n'); return 0; }
      return runBench(parseBenchArgs(rest));
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
      if (verbose || process.env.SKYDIVE_DEBUG) process.stderr.write(String((err as Error)?.stack) + '\n');
      process.exitCode = 1;
    }
  },
);
