/**
 * The `skydive` executable itself (skydive-api.md §1.1): `version`, the global flags
 * (-c before the command, -b/--config-backend, --verbose, taken before or after the
 * command), and configuration problems reported at start-up as one line, exit code 2.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseGlobalArgs } from '../../src/cli/global.js';

const BIN = fileURLToPath(new URL('../../bin/skydive.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const dir = mkdtempSync(path.join(tmpdir(), 'skydive-cli-'));

function skydive(...args: string[]) {
  // The settings of the files given only (CI sets SKYDIVE_TEST_ES_URL, for instance, which the
  // commands would warn about).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SKYDIVE_')));
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });
  return { code: r.status, out: r.stdout, err: r.stderr.trim() };
}

function conf(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

t.test('global flags are taken before and after the command', async (t) => {
  t.strictSame(parseGlobalArgs(['--verbose', 'agent', '--host-id', 'h']), { command: 'agent', args: ['--host-id', 'h'], verbose: true });
  t.strictSame(parseGlobalArgs(['agent', '-c', 'a.yml', '--verbose']), { command: 'agent', args: ['-c', 'a.yml'], verbose: true });
  t.strictSame(parseGlobalArgs(['-c', 'a.yml', '--conf=b.yml', 'analyzer', '-c', 'c.yml']),
    { command: 'analyzer', args: ['-c', 'a.yml', '-c', 'b.yml', '-c', 'c.yml'], verbose: false }, '-c before the command goes to the command, first');
  t.strictSame(parseGlobalArgs(['-b', 'file', 'client', '--config-backend=file', 'status']), { command: 'client', args: ['status'], verbose: false });
  t.strictSame(parseGlobalArgs(['pcap2flows', '--', '--verbose']), { command: 'pcap2flows', args: ['--', '--verbose'], verbose: false }, 'nothing is taken after --');
  t.strictSame(parseGlobalArgs(['--verbose=false', 'version']), { command: 'version', args: [], verbose: false });
  t.strictSame(parseGlobalArgs([]), { command: undefined, args: [], verbose: false });
  t.throws(() => parseGlobalArgs(['-b', 'etcd', 'agent']), { message: /--config-backend etcd is not supported/ });
  t.throws(() => parseGlobalArgs(['agent', '--config-backend=etcd']), { message: /--config-backend etcd is not supported/ });
  t.throws(() => parseGlobalArgs(['-b', 'consul', 'agent']), { message: '--config-backend must be file or etcd, got "consul"' });
  t.throws(() => parseGlobalArgs(['agent', '-b']), { message: '-b needs a value' });
  t.throws(() => parseGlobalArgs(['--listen', 'x', 'agent']), { message: /unknown option --listen/ });
});

t.test('skydive version', async (t) => {
  // Skydive prints "<program> <project> <version>".
  t.match(skydive('version'), { code: 0, out: `skydive skydive-ts ${VERSION}\n`, err: '' });
  t.match(skydive('--verbose', '-b', 'file', 'version'), { code: 0, out: `skydive skydive-ts ${VERSION}\n` });
  t.match(skydive('version', 'now'), { code: 2, err: 'skydive: version takes no argument, got now' });
  t.match(skydive('help'), { code: 0, out: /\n {2}version +print the version\n[^]*--config-backend[^]*--verbose/ });
});

t.test('-b/--config-backend: file is the default, etcd is refused clearly', async (t) => {
  const file = conf('standalone.yml', 'agent:\n  captures: []\n');
  for (const args of [['-b', 'file', 'agent', '-c', file], ['agent', '--config-backend', 'file', '-c', file]]) {
    t.match(skydive(...args), { code: 2, err: 'skydive: no capture configured: list them under agent.captures (see etc/skydive.yml.default)' }, args.join(' '));
  }
  t.match(skydive('-b', 'etcd', 'analyzer'), { code: 2, err: /^skydive: --config-backend etcd is not supported: skydive-ts reads its configuration from files/ });
  t.match(skydive('analyzer', '--config-backend=etcd'), { code: 2, err: /--config-backend etcd is not supported/ });
});

t.test('--verbose: debug lines', async (t) => {
  const file = conf('verbose.yml', 'agent:\n  captures: []\n');
  const r = skydive('agent', '-c', file, '--verbose');
  t.equal(r.code, 2);
  t.equal(r.err.split('\n')[0], `skydive agent: debug: configuration from ${file} and SKYDIVE_* variables`);
  t.notMatch(skydive('agent', '-c', file).err, /debug/, 'none without --verbose');
});

t.test('-c before the command', async (t) => {
  const file = conf('before.yml', 'flow:\n  updte: 5\n');
  t.match(skydive('-c', file, 'analyzer'), { code: 2, err: `skydive: ${file}: unknown key flow.updte (did you mean "flow.update"?)` });
});

t.test('a Skydive file with empty sections starts; a misspelt key stops it', async (t) => {
  // The usual way to run an agent standalone: every analyzer commented out.
  const empty = conf('empty.yml', 'analyzer:\nflow:\nanalyzers:\n  # - 127.0.0.1:8082\nhttp:\n  ws:\nagent:\n  captures: []\n');
  t.match(skydive('agent', '-c', empty), { code: 2, err: /^skydive: no capture configured/ }, 'the configuration loads');
  for (const [text, key, meant] of [
    ['analyzer: {flow: {retentoin: 0}}\n', 'analyzer.flow.retentoin', 'analyzer.flow.retention'],
    ['analyzer.flow.max_flow: 10\n', 'analyzer.flow.max_flow', 'analyzer.flow.max_flows'],
    ['http: {ws: {ping_dealy: 1}}\n', 'http.ws.ping_dealy', 'http.ws.ping_delay'],
  ]) {
    const file = conf('typo.yml', text);
    t.match(skydive('analyzer', '-c', file), { code: 2, err: `skydive: ${file}: unknown key ${key} (did you mean "${meant}"?)` }, text);
  }
});

t.test('a spill_dir that cannot be made stops the analyzer at once, naming the key', { skip: process.platform !== 'linux' && 'Linux /proc only' }, async (t) => {
  // Under /proc, Node's recursive mkdir looped forever.
  const file = conf('proc.yml', 'analyzer:\n  listen: 127.0.0.1:1\n  flow:\n    backend: elasticsearch\nstorage:\n  elasticsearch:\n    spill_dir: /proc/skydive-test/spill\n');
  const r = spawnSync(process.execPath, [BIN, 'analyzer', '-c', file], { encoding: 'utf8', timeout: 20_000, env: {} });
  t.match({ code: r.status, err: r.stderr.trim() }, { code: 2, err: /^skydive: storage\.elasticsearch\.spill_dir: cannot write to \/proc\/skydive-test\/spill: ENOENT/ });
});

t.test('client: a reply that is not JSON is an error, not garbled output', async (t) => {
  const http = await import('node:http');
  const server = http.createServer((_req, res) => { res.setHeader('content-type', 'text/plain'); res.end('not json {'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as import('node:net').AddressInfo).port;
  const { spawn } = await import('node:child_process');
  const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const p = spawn(process.execPath, [BIN, 'client', '--analyzer', `127.0.0.1:${port}`, 'query', 'G.Flows()'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ code, out, err }));
  });
  t.equal(r.code, 1);
  t.equal(r.out, '', 'nothing on stdout');
  t.match(r.err, new RegExp(`the analyzer at 127\\.0\\.0\\.1:${port} answered the query with text/plain, not JSON: not json \\{`));
});

t.test('client -c: the analyzer is the first of the configuration\'s analyzers, after --analyzer and SKYDIVE_ANALYZER', async (t) => {
  const { parseClientArgs } = await import('../../src/commands/client.js');
  const file = conf('client.yml', 'analyzers:\n  - 10.0.0.5:9000\n  - 10.0.0.6:9000\n');
  const args = parseClientArgs(['-c', file, 'status'], { SKYDIVE_FLOW_UPDAT: '5' });
  t.strictSame(args.options.analyzer, { host: '10.0.0.5', port: 9000 });
  t.match(args.warnings, [/SKYDIVE_FLOW_UPDAT/], 'an unknown SKYDIVE_ variable is a warning');
  t.throws(() => parseClientArgs(['-c', conf('typo.yml', 'flow:\n  updat: 5\n'), 'status'], {}), /unknown key flow\.updat/, 'an unknown key is an error');
  t.strictSame(parseClientArgs(['-c', file, 'status'], { SKYDIVE_ANALYZER: '10.0.0.7:1' }).options.analyzer, { host: '10.0.0.7', port: 1 });
  t.strictSame(parseClientArgs(['-c', file, '--analyzer', '10.0.0.8:2', 'status'], {}).options.analyzer, { host: '10.0.0.8', port: 2 });
  t.strictSame(parseClientArgs(['-c', file, 'status'], { SKYDIVE_ANALYZERS: '10.0.0.9:3' }).options.analyzer, { host: '10.0.0.9', port: 3 }, 'SKYDIVE_ANALYZERS overrides the file');
  t.strictSame(parseClientArgs(['status'], {}).options.analyzer, { host: '127.0.0.1', port: 8082 }, 'no -c: the default');
  t.throws(() => parseClientArgs(['-c', conf('bad.yml', 'analyzers:\n  - "nohostport::"\n'), 'status'], {}), /^analyzers: /);
  // As a user runs it: -c before the command, and the address used.
  const r = skydive('-c', conf('nobody.yml', 'analyzers:\n  - 127.0.0.1:9\n'), 'client', 'status');
  t.equal(r.code, 1);
  t.match(r.err, /^skydive client: cannot reach the analyzer at 127\.0\.0\.1:9 /);
});
