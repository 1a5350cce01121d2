/**
 * `skydive client`: Skydive's command-line client (skydive-api.md §8) for what this analyzer
 * serves: `query GREMLIN` (POST /api/topology), `status` (GET /api/status) and
 * `pcap --trace FILE` (POST /api/pcap: the capture's flows into the analyzer), printing the
 * JSON reply indented as Skydive's client does. The analyzer's address, user name and password
 * come from --analyzer/--username/--password, else SKYDIVE_ANALYZER/SKYDIVE_USERNAME/
 * SKYDIVE_PASSWORD, else (the address) the first of `analyzers` in the files given with -c,
 * else 127.0.0.1:8082 and no credentials.
 */
import type { Writable } from 'node:stream';
import { UsageError } from '../cli/errors.js';
import { parseOptions } from '../cli/options.js';
import { loadCommandConfig } from '../cli/config.js';
import { analyzerStatus, gremlinQuery, importPcap, type ClientOptions } from '../client/analyzer-api.js';
import { indentJSON } from '../client/pretty-json.js';
import { AddressError, parseHostPort } from '../net/host-port.js';

export const CLIENT_USAGE = `usage: skydive client [options] <command>
commands:
  query GREMLIN     run a Gremlin flow query, e.g. "G.Flows().Has('Network.A', '10.0.0.1').Count()"
  status            the analyzer's status
  pcap -t FILE      import a pcap or pcapng capture's flows into the analyzer (--trace FILE)
options:
  --analyzer HOST:PORT   analyzer to ask (env SKYDIVE_ANALYZER, else the first of "analyzers"
                         in the configuration given with -c, else 127.0.0.1:8082)
  -c, --conf FILE        configuration (YAML, Skydive's keys; repeatable); only "analyzers" is read
  --username USER        basic auth user (env SKYDIVE_USERNAME)
  --password PASS        basic auth password (env SKYDIVE_PASSWORD)
  --format json          output format of query (json only)`;

export interface ClientArgs {
  command: 'query' | 'status' | 'pcap';
  query?: string;
  /** pcap's capture file. */
  trace?: string;
  options: ClientOptions;
  /** The configuration's warnings (SKYDIVE_* variables it does not know), for the caller to print. */
  warnings: string[];
}

export function parseClientArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ClientArgs {
  const o = parseOptions(argv, {
    values: { analyzer: ['--analyzer'], username: ['--username'], password: ['--password'], format: ['--format'], trace: ['--trace', '-t'], conf: ['-c', '--conf'] },
    repeatable: ['conf'],
  }, CLIENT_USAGE);
  const [command, ...rest] = o.positional;
  const format = o.values.format?.[0] ?? 'json';
  if (format !== 'json') throw new UsageError(`--format ${format}: only json is supported (the analyzer keeps flows, not a graph to draw)`);
  const config = o.values.conf ? loadCommandConfig(o.values.conf, env) : undefined;
  const configured = config?.get<string[]>('analyzers')[0];
  const [addressText, from] = o.values.analyzer ? [o.values.analyzer[0], '--analyzer']
    : env.SKYDIVE_ANALYZER !== undefined ? [env.SKYDIVE_ANALYZER, 'SKYDIVE_ANALYZER']
      : configured !== undefined ? [configured, 'analyzers'] : ['127.0.0.1:8082', 'the default'];
  let analyzer;
  try {
    analyzer = parseHostPort(addressText, '127.0.0.1');
  } catch (err) {
    if (err instanceof AddressError) throw new UsageError(`${from}: ${err.message}`);
    throw err;
  }
  const warnings = config?.warnings ?? [];
  const options: ClientOptions = {
    analyzer,
    username: o.values.username?.[0] ?? env.SKYDIVE_USERNAME,
    password: o.values.password?.[0] ?? env.SKYDIVE_PASSWORD,
  };
  if (o.values.trace !== undefined && command !== 'pcap') throw new UsageError(`--trace is an option of pcap only\n${CLIENT_USAGE}`);
  switch (command) {
    case 'query':
      if (rest.length !== 1) throw new UsageError(`query takes one Gremlin query (quote it): skydive client query "G.Flows()"\n${CLIENT_USAGE}`);
      return { command, query: rest[0], options, warnings };
    case 'status':
      if (rest.length > 0) throw new UsageError(`status takes no argument\n${CLIENT_USAGE}`);
      return { command, options, warnings };
    case 'pcap': {
      const trace = o.values.trace?.[0];
      if (trace === undefined || trace === '' || rest.length > 0) throw new UsageError(`pcap takes the capture with --trace: skydive client pcap --trace capture.pcap\n${CLIENT_USAGE}`);
      return { command, trace, options, warnings };
    }
    case undefined:
      throw new UsageError(`a command is needed\n${CLIENT_USAGE}`);
    default:
      throw new UsageError(`unknown client command ${JSON.stringify(command)} (skydive-ts has query, status and pcap)\n${CLIENT_USAGE}`);
  }
}

/** Runs the command and prints its reply on `out`. ClientErrors are for the caller to print. */
export async function runClient(args: ClientArgs, out: Writable): Promise<void> {
  const text = args.command === 'query' ? await gremlinQuery(args.options, args.query!)
    : args.command === 'pcap' ? await importPcap(args.options, args.trace!) : await analyzerStatus(args.options);
  if (text.trim() === '') return;
  out.write(indentJSON(text) + '\n');
}
