/**
 * POST /api/topology with `{"GremlinQuery": "..."}` (skydive-api.md §2.3): Skydive's flow
 * steps over the in-memory store, replied in Skydive's JSON shapes (src/query). An empty query
 * gives 204, as in Skydive. Every mistake is a 400 with a text body saying what to change:
 * a body that is not JSON or has no GremlinQuery, a query the parser refuses (with the
 * position and a caret), a graph step (this analyzer keeps flows, not the topology graph).
 *
 * The body is read whatever its Content-Type (Skydive does the same; `curl -d` sends
 * application/x-www-form-urlencoded).
 */
import type { FastifyInstance } from 'fastify';
import { QueryError, runFlowQueryJSON } from '../../query/index.js';
import { isHistoryQuery } from '../../store/elasticsearch/history.js';
import type { AnalyzerContext } from '../context.js';

const EXAMPLE = 'send {"GremlinQuery": "G.Flows()"}';
/** Largest body taken (the query language itself stops at 65536 characters). */
const BODY_LIMIT = 1 << 20;

class BadRequest extends Error {}

/** The query of a request body, '' for an empty one; throws BadRequest. */
function gremlinQuery(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
  if (text.trim() === '') throw new BadRequest(`the request has no body: ${EXAMPLE}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new BadRequest(`the body is not valid JSON (${(err as Error).message}): ${EXAMPLE}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequest(`the body must be a JSON object: ${EXAMPLE}`);
  }
  // As Go's encoding/json reads it into Skydive's struct: the key in any case, the last one winning.
  const keys = Object.keys(body).filter((k) => k.toLowerCase() === 'gremlinquery');
  if (keys.length === 0) throw new BadRequest(`the body has no "GremlinQuery": ${EXAMPLE}`);
  const q = (body as Record<string, unknown>)[keys[keys.length - 1]];
  if (typeof q !== 'string') throw new BadRequest(`"GremlinQuery" must be a string, not ${q === null ? 'null' : typeof q}: ${EXAMPLE}`);
  return q;
}

export function topologyRoutes(ctx: AnalyzerContext) {
  return async (app: FastifyInstance): Promise<void> => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));

    app.post('/api/topology', async (req, reply) => {
      let query: string;
      try {
        query = gremlinQuery(req.body);
      } catch (err) {
        if (err instanceof BadRequest) return reply.code(400).type('text/plain; charset=utf-8').send(err.message + '\n');
        throw err;
      }
      if (query.trim() === '') return reply.code(204).send();
      let json: string;
      try {
        // With an elasticsearch backend, G.At/G.Context queries read the stored history.
        json = ctx.elasticsearch !== undefined && isHistoryQuery(query)
          ? await ctx.elasticsearch.history.runJSON(query, { flowExpireMs: ctx.flowExpireMs })
          : runFlowQueryJSON(ctx.store, query, { flowExpireMs: ctx.flowExpireMs });
      } catch (err) {
        if (err instanceof QueryError) return reply.code(400).type('text/plain; charset=utf-8').send(err.toHTTPBody() + '\n');
        if (ctx.elasticsearch?.isClientError(err)) {
          return reply.code(503).type('text/plain; charset=utf-8').send(`flow history is unavailable: Elasticsearch: ${(err as Error).message}\n`);
        }
        ctx.log(`query ${JSON.stringify(query)} failed: ${(err as Error)?.stack ?? String(err)}`);
        return reply.code(500).type('text/plain; charset=utf-8').send(`the query failed inside the analyzer (a bug, logged): ${(err as Error)?.message}\n`);
      }
      return reply.type('application/json; charset=UTF-8').send(json);
    });

    app.get('/api/topology', async (_req, reply) => reply.code(501).type('text/plain; charset=utf-8')
      .send('this analyzer keeps flows, not the topology graph: POST {"GremlinQuery": "G.Flows()"} to /api/topology for flows\n'));
  };
}
