/**
 * CORS as Skydive allows it (skydive-api.md §2.1), so that a web page from another origin (a
 * dashboard, Skydive's own web UI served elsewhere) can query the analyzer: every origin; the
 * methods GET, HEAD, POST, PUT, DELETE and OPTIONS (not PATCH, as in Skydive); the request
 * headers X-Requested-With, Content-Type, Authorization and X-Auth-Token.
 */
import type { FastifyInstance } from 'fastify';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'];
const HEADERS = ['x-requested-with', 'content-type', 'authorization', 'x-auth-token'];

/** Adds the CORS headers to every reply of `app` and answers preflight requests. */
export function allowCrossOrigin(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.headers.origin !== undefined) reply.header('access-control-allow-origin', '*');
  });
  app.options('*', async (req, reply) => {
    const method = req.headers['access-control-request-method'];
    if (req.headers.origin === undefined || typeof method !== 'string') {
      return reply.code(405).header('allow', METHODS.join(', ')).type('text/plain; charset=utf-8')
        .send('OPTIONS answers CORS preflight requests (with Origin and Access-Control-Request-Method)\n');
    }
    if (!METHODS.includes(method.toUpperCase())) {
      return reply.code(405).type('text/plain; charset=utf-8')
        .send(`${method} is not allowed across origins: use ${METHODS.join(', ')}\n`);
    }
    const asked = (req.headers['access-control-request-headers'] ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
    const refused = asked.filter((h) => !HEADERS.includes(h));
    if (refused.length > 0) {
      return reply.code(403).type('text/plain; charset=utf-8')
        .send(`request header(s) not allowed across origins: ${refused.join(', ')}; allowed: ${HEADERS.join(', ')}\n`);
    }
    reply.header('access-control-allow-methods', METHODS.join(', '));
    if (asked.length > 0) reply.header('access-control-allow-headers', asked.join(', '));
    return reply.code(200).send();
  });
}
