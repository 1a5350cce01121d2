/** GET /metrics: Prometheus text (see ../metrics.ts). */
import type { FastifyInstance } from 'fastify';
import type { AnalyzerContext } from '../context.js';
import { renderMetrics } from '../metrics.js';

export function metricsRoutes(ctx: AnalyzerContext) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/metrics', async (_req, reply) => {
      reply.type('text/plain; version=0.0.4; charset=utf-8');
      return renderMetrics({
        intake: ctx.intake.counters,
        registry: ctx.intake.registry,
        ingestRate: ctx.intake.rate.perSecond(),
        store: ctx.store.stats(),
        stream: ctx.stream,
        agentConnections: ctx.connections.agentCount(),
        udpDrops: ctx.udpDrops(),
        elasticsearch: ctx.elasticsearch?.stats(),
      });
    });
  };
}
