/**
 * `skydive allinone` starts its agent only once its own analyzer listens: another server
 * answering on the port (an analyzer already running, anything else) must not be taken for it.
 * No capture starts here, so no root is needed.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/skydive.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('close', (code) => resolve({ code, out }));
  });
}

t.test('a port another server answers on is an error, and no agent starts', async (t) => {
  // Answers GET /api as an analyzer would.
  const other = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"Host":"other","Version":"0","Service":"analyzer"}');
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  t.teardown(() => other.close());
  const port = (other.address() as AddressInfo).port;
  const dir = mkdtempSync(path.join(tmpdir(), 'allinone-'));
  const conf = path.join(dir, 'skydive.yml');
  writeFileSync(conf, 'agent:\n  captures:\n    - type: pcap\n      interface: lo\n');

  const r = await run(['allinone', '-c', conf, '--listen', `127.0.0.1:${port}`]);
  t.equal(r.code, 1, 'exit status 1');
  t.match(r.out, /the analyzer stopped/, 'says its analyzer did not start');
  t.match(r.out, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`), "and the analyzer says why");
  t.notMatch(r.out, /agent sending it flows/, 'never announces the agent');
});
