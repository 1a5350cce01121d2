/**
 * The analyzer's REST API as `skydive client` uses it (skydive-api.md §8): plain HTTP with
 * basic auth when a user name is given. Every failure is a ClientError whose message says
 * what happened and what to try: the analyzer unreachable, a query refused (the analyzer's
 * own explanation), credentials refused.
 */
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { formatHostPort, type HostPort } from '../net/host-port.js';

export class ClientError extends Error {
  override readonly name = 'ClientError';
}

export interface ClientOptions {
  analyzer: HostPort;
  username?: string;
  password?: string;
  timeoutMs?: number;
}

export interface Reply {
  status: number;
  /** Content-Type ('' when none). */
  type: string;
  body: string;
}

/** A request body: JSON text, or a stream of `length` bytes of `type`. */
export type Body = string | { stream: Readable; type: string; length: number };

export function request(o: ClientOptions, method: string, path: string, body?: Body): Promise<Reply> {
  const where = formatHostPort(o.analyzer);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) {
    headers['Content-Type'] = typeof body === 'string' ? 'application/json' : body.type;
    headers['Content-Length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  }
  if (o.username !== undefined && o.username !== '') {
    headers.Authorization = 'Basic ' + Buffer.from(`${o.username}:${o.password ?? ''}`).toString('base64');
  }
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request({ host: o.analyzer.host, port: o.analyzer.port, method, path, headers, timeout: o.timeoutMs ?? 30000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => reject(new ClientError(`the analyzer at ${where} broke off its reply: ${err.message}`)));
    });
    req.on('timeout', () => req.destroy(new Error(`no reply within ${(o.timeoutMs ?? 30000) / 1000} s`)));
    // Connected once, a failure is the analyzer going away mid-request, not a wrong address.
    let reached = false;
    req.on('socket', (s) => {
      if (!s.connecting) reached = true;
      else s.once('connect', () => { reached = true; });
    });
    req.on('error', (err) => reject(new ClientError(reached
      ? `the analyzer at ${where} broke off the ${method} ${path} request (${err.message}): did it stop?`
      : `cannot reach the analyzer at ${where} (${err.message}): is it running? Give its address with --analyzer HOST:PORT or SKYDIVE_ANALYZER`)));
    if (typeof body === 'object') {
      body.stream.on('error', (err) => req.destroy(err));
      body.stream.pipe(req);
    } else {
      req.end(body);
    }
  });
}

/** The reply body of a successful request; anything else is a ClientError. */
function expectOK(o: ClientOptions, r: Reply, what: string): string {
  const where = formatHostPort(o.analyzer);
  const text = r.body.trim();
  if (r.status >= 200 && r.status < 300) {
    // Printed as indented JSON: something else (another server on the port) is an error, not garbled output.
    if (text !== '' && !/\bjson\b/i.test(r.type)) {
      throw new ClientError(`the analyzer at ${where} answered the ${what} with ${r.type || 'no Content-Type'}, not JSON: ${text.slice(0, 200)}`);
    }
    return r.body;
  }
  if (r.status === 401 || r.status === 403) {
    throw new ClientError(`the analyzer at ${where} refused the credentials (${r.status}): check --username/--password or SKYDIVE_USERNAME/SKYDIVE_PASSWORD${text ? `: ${text}` : ''}`);
  }
  if (r.status === 400) throw new ClientError(`the analyzer refused the ${what} (400): ${text}`);
  throw new ClientError(`the analyzer at ${where} answered ${r.status} to the ${what}${text ? `: ${text}` : ''}`);
}

/** Runs a Gremlin query; its JSON reply as text ('' when the analyzer has nothing to say: 204). */
export async function gremlinQuery(o: ClientOptions, query: string): Promise<string> {
  const r = await request(o, 'POST', '/api/topology', JSON.stringify({ GremlinQuery: query }));
  return expectOK(o, r, 'query');
}

export async function analyzerStatus(o: ClientOptions): Promise<string> {
  return expectOK(o, await request(o, 'GET', '/api/status'), 'status request');
}

/**
 * Uploads the capture `file` to POST /api/pcap; the analyzer's summary (packets, flows) as text.
 * No reply timeout: the analyzer answers once every flow of the capture is stored.
 */
export async function importPcap(o: ClientOptions, file: string): Promise<string> {
  let length: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ClientError(`${file} is not a file`);
    length = st.size;
  } catch (err) {
    if (err instanceof ClientError) throw err;
    throw new ClientError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const stream = createReadStream(file);
  const r = await request({ ...o, timeoutMs: 0 }, 'POST', '/api/pcap', { stream, type: 'application/vnd.tcpdump.pcap', length });
  if (r.status === 400) throw new ClientError(`the analyzer could not import ${file}: ${r.body.trim()}`);
  return expectOK(o, r, `import of ${file}`);
}
