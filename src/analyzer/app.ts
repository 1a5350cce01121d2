/**
 * The analyzer's HTTP and WebSocket server, built but not listening (server.ts listens):
 * fastify with @fastify/websocket on one port, one plugin per API area; gzip and CORS on every
 * reply.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { IncomingMessage } from 'node:http';
import type { AnalyzerContext } from './context.js';
import { compressReplies } from './compress.js';
import { allowCrossOrigin } from './cors.js';
import { ackRequest, agentFlowRoutes } from './routes/agent-flow.js';
import { infoRoutes } from './routes/info.js';
import { metricsRoutes } from './routes/metrics.js';
import { pcapRoutes } from './routes/pcap.js';
import { subscriberFlowRoutes } from './routes/subscriber-flow.js';
import { topologyRoutes } from './routes/topology.js';

/** Largest WebSocket message taken from an agent (a batch of flows). */
const MAX_WS_MESSAGE = 64 << 20;

export async function buildAnalyzerApp(ctx: AnalyzerContext): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true }, forceCloseConnections: true });
  await app.register(websocket, { options: { maxPayload: MAX_WS_MESSAGE, perMessageDeflate: false } });
  // Skydive's upgrade reply headers, and the acknowledgement offer to agents that ask (agent-flow.ts).
  app.websocketServer.on('headers', (headers: string[], req: IncomingMessage) => {
    headers.push(`X-Host-ID: ${ctx.hostId}`, 'X-Service-Type: analyzer');
    if (req.url?.startsWith('/ws/agent/flow') && ackRequest(req.headers)) headers.push('X-Flow-Ack: 1');
  });
  // At the root, before the routes: they apply to every reply.
  compressReplies(app);
  allowCrossOrigin(app);
  await app.register(infoRoutes(ctx));
  await app.register(metricsRoutes(ctx));
  await app.register(topologyRoutes(ctx));
  await app.register(pcapRoutes(ctx));
  await app.register(agentFlowRoutes(ctx));
  await app.register(subscriberFlowRoutes(ctx));
  return app;
}
