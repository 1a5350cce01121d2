/**
 * Configuration loading: YAML files merged in order, SKYDIVE_* overrides,
 * type checks with errors that name the key and the source, Skydive keys we
 * do not implement reported as ignored, typos rejected with a suggestion.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ConfigError, envName, loadConfig } from '../../src/config/load.js';
import { KEYS, UNUSED_SKYDIVE_KEYS } from '../../src/config/keys.js';

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
    env: { SKYDIVE_ETCD_EMBEDDED: 'true', SKYDIVE_SOMETHING: 'x', SKYDIVE_DEBUG: '1' },
    read: files({ 's.yml': 'etcd:\n  embedded: true\nagent:\n  topology:\n    probes: [ovsdb]\nlogging:\n  level: INFO\n' }),
  });
  t.equal(c.warnings.length, 5);
  t.match(c.warnings[0], /s.yml: etcd.embedded is a Skydive setting skydive-ts does not use; ignored/);
  t.match(c.warnings.join('\n'), /environment SKYDIVE_SOMETHING is not a setting skydive-ts knows/);
  t.notMatch(c.warnings.join('\n'), /SKYDIVE_DEBUG/, "the executable's own variable is not a setting");
});

t.test('null and empty sections are unset: the default applies, as in Skydive (Viper)', async (t) => {
  const load = (...texts: string[]) => loadConfig({
    files: texts.map((_, i) => `${i}.yml`), env: {}, read: files(Object.fromEntries(texts.map((x, i) => [`${i}.yml`, x]))),
  });
  for (const text of [
    'analyzer:\n',
    'flow:\n',
    'analyzer:\n  flow:\n  # listen: 0.0.0.0:8082\n',
    'analyzers:\n  # - 127.0.0.1:8082\n',
    'analyzer: {listen: ~}\n',
    'analyzer: {}\nagent: {flow: {}}\n',
    'host_id:\nflow:\n  application_timeout:\n  application_ports:\n    tcp:\n',
    'etcd:\nagent:\n  topology:\n    probes:\n',
  ]) {
    const c = load(text);
    t.strictSame(c.warnings, [], `${JSON.stringify(text)}: nothing set, nothing to report`);
    t.strictSame(c.get('analyzers'), [], `${JSON.stringify(text)}: analyzers`);
    t.equal(c.get('analyzer.listen'), '127.0.0.1:8082', `${JSON.stringify(text)}: analyzer.listen`);
    t.equal(c.get('host_id'), undefined);
    t.strictSame(c.get('flow.application_timeout'), { arp: 10, dns: 10 });
  }
  t.equal(load('flow:\n  expire: 300\n', 'flow:\n  expire: ~\n').get('flow.expire'), 300, 'null in a later file does not undo an earlier value');
  t.strictSame(load('agent:\n  captures:\n    - type: pcap\n      interface: eth0\n      bpf:\n').get('agent.captures'),
    [{ type: 'pcap', interface: 'eth0' }], 'null in a capture: unset');
  t.throws(() => load('agent:\n  captures:\n    - type:\n      interface: eth0\n'), { message: /agent.captures\[0\] needs "type"/ });
  // Empty or not, a name must still be known.
  t.throws(() => load('analyzr:\n'), new ConfigError('0.yml: unknown key analyzr (did you mean "analyzer"?)'));
  t.throws(() => load('flow:\n  updte:\n'), { message: /unknown key flow.updte \(did you mean "flow.update"\?\)/ });
  t.throws(() => load('analyzer: 5\n'), new ConfigError('0.yml: analyzer must be a mapping (the section of listen, flow), got 5'));
  t.throws(() => load('analyzer:\n  listen: {port: 8082}\n'), { message: /analyzer.listen must be a string, got \{"port":8082\}/ });
});

t.test('a misspelt key under a section skydive-ts reads in part is an error, not "ignored"', async (t) => {
  const load = (text: string) => loadConfig({ files: ['c.yml'], env: {}, read: files({ 'c.yml': text }) });
  t.throws(() => load('analyzer: {flow: {retentoin: 0}}\n'), new ConfigError('c.yml: unknown key analyzer.flow.retentoin (did you mean "analyzer.flow.retention"?)'));
  t.throws(() => load('analyzer.flow.max_flow: 10\n'), { message: /unknown key analyzer.flow.max_flow \(did you mean "analyzer.flow.max_flows"\?\)/ });
  t.throws(() => load('analyzer:\n  flow:\n    max_flow: 10\n'), { message: /unknown key analyzer.flow.max_flow \(did you mean "analyzer.flow.max_flows"\?\)/ });
  t.throws(() => load('http: {ws: {ping_dealy: 1}}\n'), { message: /unknown key http.ws.ping_dealy \(did you mean "http.ws.ping_delay"\?\)/ });
  t.throws(() => load('storage: {elasticsearch: {hostz: [http://es:9200]}}\n'), { message: /unknown key storage.elasticsearch.hostz \(did you mean "storage.elasticsearch.hosts"\?\)/ });
  t.throws(() => load('agent: {flow: {udp_max_rte: 5}}\n'), { message: /did you mean "agent.flow.udp_max_rate"/ });
  // Skydive's keys that skydive-ts does not read, beside them, are still only reported.
  const c = load([
    'http: {ws: {ping_delay: 3, bulk_maxmsgs: 50}, rest: {debug: true}, cookie: {session: x}}',
    'storage:',
    '  elasticsearch: {use_flattened: false, index_prefix: sk_}',
    '  myorientdb: {driver: orientdb}',
    '  myelasticsearch: {driver: elasticsearch}',
    'analyzer: {X509_cert: /etc/a.crt, topology: {probes: [k8s]}}',
    '',
  ].join('\n'));
  t.equal(c.get('http.ws.ping_delay'), 3);
  t.equal(c.get('storage.elasticsearch.index_prefix'), 'sk_');
  t.strictSame(c.warnings, [
    'c.yml: http.ws.bulk_maxmsgs is a Skydive setting skydive-ts does not use; ignored',
    'c.yml: http.rest.debug is a Skydive setting skydive-ts does not use; ignored',
    'c.yml: http.cookie.session is a Skydive setting skydive-ts does not use; ignored',
    'c.yml: storage.elasticsearch.use_flattened is a Skydive setting skydive-ts does not use; ignored',
    'c.yml: storage.myorientdb.driver is a Skydive setting skydive-ts does not use; ignored',
    // A storage section of another name is Skydive's right, but likely meant for the one we read.
    'c.yml: storage.myelasticsearch.driver is a Skydive setting skydive-ts does not use (did you mean "storage.elasticsearch.driver"?); ignored',
    'c.yml: analyzer.X509_cert is a Skydive setting skydive-ts does not use; ignored',
    'c.yml: analyzer.topology.probes is a Skydive setting skydive-ts does not use; ignored',
  ]);
});

t.test('no key skydive-ts reads is under an entry of UNUSED_SKYDIVE_KEYS', async (t) => {
  // Such an entry would turn every misspelling of the keys below it into a warning.
  for (const e of UNUSED_SKYDIVE_KEYS) {
    if (e.endsWith('.*')) continue;
    t.strictSame(Object.keys(KEYS).filter((k) => k === e || k.startsWith(e + '.')), [], e);
  }
});

t.test('every key of skydive-api.md §9 is accepted: read, or reported as ignored', async (t) => {
  const text = readFileSync(new URL('./skydive-spec-keys.yml', import.meta.url), 'utf8');
  const c = loadConfig({ files: ['skydive.yml'], env: {}, read: () => text });
  t.equal(c.get('host_id'), 'node1');
  t.strictSame(c.get('flow.application_ports.tcp'), { 80: 'HTTP', 443: 'HTTPS' });
  t.equal(c.get('storage.elasticsearch.total_fields_limit'), 1000);
  for (const w of c.warnings) t.match(w, /^skydive\.yml: \S+ is a Skydive setting skydive-ts does not use( \(did you mean "[^"]+"\?\))?; ignored$/);
  const ignored = c.warnings.map((w) => w.split(' ')[1]);
  for (const key of ['etcd.embedded', 'agent.topology.neutron.endpoint_type', 'agent.flow.netflow.port_min', 'agent.flow.pcapsocket.port_min',
    'http.ws.enable_write_compression', 'storage.myorientdb.addr', 'analyzer.storage.backend', 'auth.analyzer_username', 'ovs.oflow.address.br-int']) {
    t.ok(ignored.includes(key), `${key} reported`);
  }
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
