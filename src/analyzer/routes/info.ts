/**
 * GET /api and GET /api/status (skydive-api.md §2.3, §2.4), in Skydive's shapes. The status
 * lists the agents sending flows over WebSocket and the flow subscribers; an analyzer here has
 * no peers, publishers, alerts or topology probes, so those parts are empty. `Flows` (our
 * addition) sums up the store and the intake.
 */
import type { FastifyInstance } from 'fastify';
import type { AnalyzerContext } from '../context.js';
import { allTransports } from '../intake.js';

export function infoRoutes(ctx: AnalyzerContext) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/api', async () => ({ Host: ctx.hostId, Version: ctx.version, Service: 'analyzer' }));

    app.get('/api/status', async () => {
      const s = ctx.store.stats();
      return {
        Agents: ctx.connections.statusByHost('agent'),
        Peers: { Incomers: {}, Outgoers: {} },
        Publishers: {},
        Subscribers: ctx.connections.statusByHost('subscriber'),
        Alerts: { IsMaster: true },
        Captures: { IsMaster: true },
        Probes: {},
        Flows: {
          Stored: s.flows,
          Received: allTransports(ctx.intake.counters.flows),
          Evicted: s.evicted,
          Expired: s.expired,
          IngestPerSecond: ctx.intake.rate.perSecond(),
          Captures: ctx.intake.registry.captureTotals().map((c) => ({
            Agent: c.agent, CaptureID: c.captureID, FlowCount: c.flowCount, PacketsReceived: c.packetsReceived,
            PacketsDropped: c.packetsDropped, FlowDropped: c.flowDropped, DecodeFailures: c.decodeFailures,
          })),
        },
      };
    });
  };
}
