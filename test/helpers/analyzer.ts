/**
 * Test helper: a real analyzer (src/analyzer/server.ts) on a free loopback port, plus the
 * small clients the tests talk to it with: REST (fetch), UDP datagrams, WebSocket.
 */
import dgram from 'node:dgram';
import WebSocket from 'ws';
import { startAnalyzer, type AnalyzerOptions, type RunningAnalyzer } from '../../src/analyzer/server.js';

export type TestAnalyzer = RunningAnalyzer & { logs: string[]; base: string };

/** An analyzer on 127.0.0.1 (port 0: a free one), keeping every flow, with short stream bulks. */
export async function testAnalyzer(over: Partial<AnalyzerOptions> = {}): Promise<TestAnalyzer> {
  const logs: string[] = [];
  const a = await startAnalyzer({
    listen: { host: '127.0.0.1', port: 0 }, hostId: 'test-analyzer',
    store: { retentionMs: Infinity }, bulkMaxDelayMs: 50,
    log: (l) => logs.push(l), ...over,
  });
  return Object.assign(a, { logs, base: `http://127.0.0.1:${a.address.port}` });
}

export async function postQuery(base: string, body: string, contentType = 'application/json'): Promise<{ status: number; type: string; text: string }> {
  const r = await fetch(`${base}/api/topology`, { method: 'POST', body, headers: { 'Content-Type': contentType } });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

export async function query(base: string, gremlin: string): Promise<unknown> {
  const r = await postQuery(base, JSON.stringify({ GremlinQuery: gremlin }));
  if (r.status !== 200) throw new Error(`${gremlin}: ${r.status} ${r.text}`);
  return JSON.parse(r.text);
}

export function sendDatagrams(port: number, datagrams: Uint8Array[]): Promise<void> {
  const s = dgram.createSocket('udp4');
  return new Promise<void>((resolve, reject) => {
    s.connect(port, '127.0.0.1', async () => {
      try {
        for (const d of datagrams) await new Promise<void>((ok, ko) => s.send(d, (e) => (e ? ko(e) : ok())));
      } catch (e) {
        reject(e);
      }
      s.close(() => resolve());
    });
  });
}

/** Resolves once `cond()` holds, polling; rejects with `what` after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An open WebSocket, or the HTTP status and body that refused it. */
export function openSocket(url: string, headers: Record<string, string> = {}): Promise<WebSocket | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (e) => reject(e));
  });
}

/** Collects a socket's text messages, parsed. */
export function collect(ws: WebSocket): { messages: Record<string, any>[] } {
  const out = { messages: [] as Record<string, any>[] };
  ws.on('message', (data, isBinary) => { if (!isBinary) out.messages.push(JSON.parse(data.toString())); });
  return out;
}
