/**
 * `/ws/subscriber/flow`: the live flow stream (skydive-api.md §3.7, ../flow-stream.ts).
 *
 * Handshake parameters (headers, or lower-cased query parameters):
 * - `X-Websocket-Namespace`: `flow`, `flow/<CaptureID>`, `stats` or `*` (repeatable or
 *   comma-separated; default flow and stats);
 * - `X-Gremlin-Filter` (a skydive-ts extension; Skydive has no filter on this socket): a flow
 *   filter such as `G.Flows().Has('Network.A', '10.0.0.1')`, made of G.Flows() and Has,
 *   HasEither, HasKey, HasNot steps. A filter or namespace that does not parse refuses the
 *   upgrade with a 400 whose text says what is wrong.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Flow } from '../../flow/types.js';
import { compileFlowFilter, QueryError } from '../../query/index.js';
import type { AnalyzerContext } from '../context.js';
import { Subscriber, type Namespaces } from '../flow-stream.js';
import { keepAlive } from '../keepalive.js';
import { claimHost, clientHost, closeSocket, connStatus, handshakeParam } from './ws-util.js';

class HandshakeError extends Error {}

export function parseNamespaces(text: string | undefined): Namespaces {
  const names = (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) return { flow: true, stats: true, captures: new Set() };
  const ns = { flow: false, stats: false, captures: new Set<string>() };
  for (const n of names) {
    if (n === '*') { ns.flow = true; ns.stats = true; }
    else if (n === 'flow') ns.flow = true;
    else if (n === 'stats') ns.stats = true;
    else if (n.startsWith('flow/') && n.length > 5) ns.captures.add(n.slice(5));
    else throw new HandshakeError(`unknown namespace "${n}" in X-Websocket-Namespace: use flow, flow/<CaptureID>, stats or *`);
  }
  return ns;
}

function parseFilter(text: string | undefined): ((f: Flow) => boolean) | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return compileFlowFilter(text);
  } catch (err) {
    if (err instanceof QueryError) throw new HandshakeError(`bad X-Gremlin-Filter: ${err.toHTTPBody()}`);
    throw err;
  }
}

export function subscriberFlowRoutes(ctx: AnalyzerContext) {
  return async (app: FastifyInstance): Promise<void> => {
    const parsed = new WeakMap<FastifyRequest, { namespaces: Namespaces; filter?: (f: Flow) => boolean }>();

    app.get('/ws/subscriber/flow', {
      websocket: true,
      // Runs before the upgrade: a bad parameter is an HTTP 400, not a socket closed at once.
      preValidation: async (req, reply) => {
        try {
          parsed.set(req, {
            namespaces: parseNamespaces(handshakeParam(req, 'x-websocket-namespace')),
            filter: parseFilter(handshakeParam(req, 'x-gremlin-filter')),
          });
        } catch (err) {
          if (!(err instanceof HandshakeError)) throw err;
          return reply.code(400).type('text/plain; charset=utf-8').send(err.message + '\n');
        }
        return claimHost(ctx.connections, 'subscriber', req, reply);
      },
    }, (socket, req) => {
      const p = parsed.get(req)!;
      const sub = new Subscriber(randomUUID(), p.namespaces, p.filter, {
        send: (text, done) => {
          if (socket.readyState !== socket.OPEN) { done(); return; }
          socket.send(text, (err) => done(err ?? undefined));
        },
      });
      const remove = ctx.stream.add(sub);
      ctx.connections.connected('subscriber', clientHost(req), connStatus(req, 'json'));
      const closer = (): Promise<void> => closeSocket(socket, 1001, 'analyzer stopping');
      ctx.closers.add(closer);
      socket.once('close', () => {
        remove();
        ctx.closers.delete(closer);
      });
      // Subscribers only listen; whatever they send is ignored.
      keepAlive(socket, ctx.pingDelayMs, ctx.pongTimeoutMs);
    });
  };
}
