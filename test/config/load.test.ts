/**
 * Configuration loading: YAML files merged in order, SKYDIVE_* overrides,
 * type checks with errors that name the key and the source, Skydive keys we
 * do not implement reported as ignored, typos rejected with a suggestion.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ConfigError, envName, loadConfig } from '../../src/config/load.js';
import { KEYS } from '../../src/config/keys.js';

const files = (texts: Record<string, string>) => (f: string) => {
  if (!(f in texts)) throw new Error('ENOENT: no such file');
  return texts[f];
};

t.test('defaults, files merged in order, environment last', async (t) => {
  const c = loadConfig({
    files: ['a.yml', 'b.yml'],
    env: { SKYDIVE_FLOW_UPDATE: '30', SKYDIVE_ANALYZERS: '10.0.0.1:8082 10.0.0.2:8082', PATH: '/bin' },
    read: files({
      'a.yml': 'flow:\n  expire: 300\n  update: 10\nanalyzers: [127.0.0.1:8082]\n',
      'b.yml': 'flow:\n  expire: 120\n  application_ports:\n    tcp: {8080: web}\nagent:\n  captures:\n    - type: pcap\n      interface: eth0\n      header_size: 128\n',
    }),
  });
  t.equal(c.get('flow.expire'), 120, 'later file wins');
  t.equal(c.get('flow.update'), 30, 'environment wins');
  t.strictSame(c.get('analyzers'), ['10.0.0.1:8082', '10.0.0.2:8082'], 'lists from the environment split on spaces');
  t.strictSame(c.get('flow.application_ports.tcp'), { 8080: 'web' });
  t.equal(c.get('flow.max_entries'), 500000, 'default');
  t.equal(c.get('analyzer.listen'), '127.0.0.1:8082');
  t.strictSame(c.get('agent.captures'), [{ type: 'pcap', interface: 'eth0', header_size: 128 }]);
  t.strictSame(c.warnings, []);
  t.equal(envName('agent.flow.sflow.bind_address'), 'SKYDIVE_AGENT_FLOW_SFLOW_BIND_ADDRESS');
});

t.test('bad values are errors naming the key and where it came from', async (t) => {
  const load = (text: string, env: Record<string, string> = {}) => () => loadConfig({ files: ['c.yml'], env, read: files({ 'c.yml': text }) });
  t.throws(load('flow:\n  expire: soon\n'), new ConfigError('c.yml: flow.expire must be an integer >= 1, got "soon"'));
  t.throws(load('flow:\n  expire: 0\n'), { message: /flow.expire must be an integer >= 1, got 0/ });
  t.throws(load('flow:\n  protocol: tcp\n'), { message: /flow.protocol must be one of udp, websocket, got "tcp"/ });
  t.throws(load('', { SKYDIVE_FLOW_MAX_ENTRIES: 'many' }), { message: /^environment SKYDIVE_FLOW_MAX_ENTRIES: flow.max_entries must be an integer/ });
  t.throws(load('flow:\n  application_timeout:\n    dns: never\n'), { message: /flow.application_timeout.dns must be a number >= 0/ });
  t.throws(load('agent:\n  captures:\n    - interface: eth0\n'), { message: /agent.captures\[0\] needs "type"/ });
  t.throws(load('agent:\n  captures:\n    - type: pcap\n      interfce: eth0\n'), { message: /agent.captures\[0\]: unknown key "interfce" \(did you mean "interface"\?\)/ });
  t.throws(load('agent:\n  captures:\n    - type: tap\n'), { message: /agent.captures\[0\].type must be one of pcap, afpacket, sflow, pcapsocket/ });
  t.throws(load('flow:\n  updte: 5\n'), { message: /c.yml: unknown key flow.updte \(did you mean "flow.update"\?\)/ });
  t.throws(load('flow: [1, 2\n'), { name: 'ConfigError', message: /^c.yml: / }, 'YAML syntax errors name the file');
  t.throws(load('- a\n- b\n'), { message: /must be a YAML mapping/ });
  t.throws(() => loadConfig({ files: ['missing.yml'], env: {}, read: files({}) }), { message: /cannot read configuration missing.yml/ });
});

t.test('Skydive settings skydive-ts does not use are warnings, not errors', async (t) => {
  const c = loadConfig({
    files: ['s.yml'],
    env: { SKYDIVE_ETCD_EMBEDDED: 'true', SKYDIVE_SOMETHING: 'x' },
    read: files({ 's.yml': 'etcd:\n  embedded: true\nagent:\n  topology:\n    probes: [ovsdb]\nlogging:\n  level: INFO\n' }),
  });
  t.equal(c.warnings.length, 5);
  t.match(c.warnings[0], /s.yml: etcd.embedded is a Skydive setting skydive-ts does not use; ignored/);
  t.match(c.warnings.join('\n'), /environment SKYDIVE_SOMETHING is not a setting skydive-ts knows/);
});

t.test('etc/skydive.yml.default loads cleanly and documents every key skydive-ts reads', async (t) => {
  const file = new URL('../../etc/skydive.yml.default', import.meta.url);
  const text = readFileSync(file, 'utf8');
  const c = loadConfig({ files: ['default'], env: {}, read: () => text });
  t.strictSame(c.warnings, []);
  for (const [key, spec] of Object.entries(KEYS)) {
    const leaf = key.split('.').pop()!;
    t.ok(new RegExp(`^\\s*#?\\s*${leaf}:`, 'm').test(text), `${key} is in the sample`);
    if (spec.default !== undefined) t.strictSame(c.get(key), spec.default, `${key}: the sample shows the default`);
  }
});
