/**
 * gzip for the analyzer's HTTP replies (skydive-api.md §2.1: Skydive compresses its responses),
 * for clients whose Accept-Encoding takes it. Query replies can be hundreds of megabytes of
 * JSON: they are compressed in libuv's thread pool, not on the event loop, at the fastest level
 * (JSON still shrinks several times; a higher level costs seconds on big replies). Bodies under
 * MIN_BYTES are sent as they are: the gzip frame would cost more than it saves.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';

const MIN_BYTES = 1024;
const gzipAsync = promisify(gzip);

/** Whether an Accept-Encoding header takes gzip (by name or `*`, with a q above 0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star = false;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (coding === 'gzip' || coding === 'x-gzip') return weight > 0;
    if (coding === '*') star = weight > 0;
  }
  return star;
}

async function compress(req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
  if (req.method === 'HEAD' || reply.statusCode === 204 || reply.statusCode === 304) return payload;
  if (reply.hasHeader('content-encoding')) return payload;
  reply.header('vary', 'Accept-Encoding');
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (bytes.length < MIN_BYTES || !acceptsGzip(req.headers['accept-encoding'])) return payload;
  const out = await gzipAsync(bytes, { level: constants.Z_BEST_SPEED });
  reply.header('content-encoding', 'gzip');
  reply.removeHeader('content-length');
  return out;
}

/** Compresses every reply of `app` (call before registering routes). */
export function compressReplies(app: FastifyInstance): void {
  app.addHook('onSend', compress);
}
