/**
 * What every HTTP reply of the analyzer shares (skydive-api.md §2.1): gzip for clients that take
 * it, and CORS for pages of other origins (preflight included; PATCH is not allowed, as in
 * Skydive).
 */
import t from 'tap';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { encodeMessage } from '../../src/format/protobuf.js';
import { acceptsGzip } from '../../src/analyzer/compress.js';
import { makeFlows } from '../query/flow-fixture.js';
import { sendDatagrams, testAnalyzer, until } from '../helpers/analyzer.js';

const analyzer = await testAnalyzer();
t.teardown(() => analyzer.close());
const flows = makeFlows(40, 7);
await sendDatagrams(analyzer.address.port, [encodeMessage(flows)]);
await until(() => analyzer.store.size === flows.length, 'the flows stored');

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function request(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: analyzer.address.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ALL = JSON.stringify({ GremlinQuery: 'G.Flows()' });

t.test('gzip when the client takes it', async (t) => {
  const plain = await request('POST', '/api/topology', {}, ALL);
  t.equal(plain.status, 200);
  t.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: as it is');
  t.equal(JSON.parse(plain.body.toString()).length, flows.length);
  t.ok(plain.body.length > 1024, 'a reply worth compressing');

  const zipped = await request('POST', '/api/topology', { 'Accept-Encoding': 'br, gzip' }, ALL);
  t.equal(zipped.headers['content-encoding'], 'gzip');
  t.equal(zipped.headers.vary, 'Accept-Encoding');
  t.ok(zipped.body.length < plain.body.length / 2, `smaller: ${zipped.body.length} bytes against ${plain.body.length}`);
  t.strictSame(gunzipSync(zipped.body), plain.body, 'the same reply once inflated');

  const refused = await request('POST', '/api/topology', { 'Accept-Encoding': 'gzip;q=0, deflate' }, ALL);
  t.equal(refused.headers['content-encoding'], undefined, 'gzip;q=0: not gzip');
  const small = await request('GET', '/api', { 'Accept-Encoding': 'gzip' });
  t.equal(small.headers['content-encoding'], undefined, 'a small reply is sent as it is');
  t.match(JSON.parse(small.body.toString()), { Service: 'analyzer' });
  const error = await request('POST', '/api/topology', { 'Accept-Encoding': 'gzip' }, '{"GremlinQuery": "G.Flows().Has("}');
  t.equal(error.status, 400, 'errors keep their status');
});

t.test('Accept-Encoding', async (t) => {
  t.ok(acceptsGzip('gzip'));
  t.ok(acceptsGzip('deflate, GZIP;q=0.5'));
  t.ok(acceptsGzip('*'));
  t.notOk(acceptsGzip(undefined));
  t.notOk(acceptsGzip('br, deflate'));
  t.notOk(acceptsGzip('gzip;q=0'));
  t.notOk(acceptsGzip('*, gzip;q=0'), 'gzip refused by name, whatever * says');
  t.notOk(acceptsGzip('*;q=0'));
});

t.test('CORS', async (t) => {
  const get = await request('GET', '/api/status', { Origin: 'http://dashboard.example' });
  t.equal(get.headers['access-control-allow-origin'], '*', 'any origin');
  const noOrigin = await request('GET', '/api/status', {});
  t.equal(noOrigin.headers['access-control-allow-origin'], undefined, 'only for cross-origin requests');

  const pre = await request('OPTIONS', '/api/topology', {
    Origin: 'http://dashboard.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'Content-Type, X-Auth-Token',
  });
  t.equal(pre.status, 200, 'preflight');
  t.equal(pre.headers['access-control-allow-origin'], '*');
  t.equal(pre.headers['access-control-allow-methods'], 'GET, HEAD, POST, PUT, DELETE, OPTIONS');
  t.equal(pre.headers['access-control-allow-headers'], 'content-type, x-auth-token');

  const patch = await request('OPTIONS', '/api/topology', { Origin: 'http://x', 'Access-Control-Request-Method': 'PATCH' });
  t.equal(patch.status, 405, 'PATCH is not allowed, as in Skydive');
  t.match(patch.body.toString(), /PATCH is not allowed across origins/);
  const header = await request('OPTIONS', '/api/topology', { Origin: 'http://x', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'X-Custom' });
  t.equal(header.status, 403, 'a header outside the list');
  t.match(header.body.toString(), /not allowed across origins: x-custom/);
  const bare = await request('OPTIONS', '/api/topology', {});
  t.equal(bare.status, 405, 'OPTIONS without a preflight');
});
