/**
 * `/ws/agent/flow`: agents send their flows as binary WebSocket messages, each a protobuf
 * `flow.Message` (Skydive's `flow.protocol: websocket`). A text message is refused and
 * counted; a malformed binary one too; neither closes the connection.
 *
 * An agent that sends `X-Flow-Session` and `X-Flow-Seq` gets acknowledgements (see
 * ../agent-sessions.ts): text messages `{"Namespace":"flow","Type":"ack",...,"Obj":{"Seq":n}}`,
 * at once on connection (what was already stored) and after the messages of each event-loop
 * turn that stored them (they are stored a moment after they arrive: ../ws-intake.ts). The
 * upgrade reply says so with `X-Flow-Ack: 1` (added in ../app.ts). A Skydive agent sends neither
 * header and gets no acknowledgement.
 */
import type { FastifyInstance } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { AnalyzerContext } from '../context.js';
import { envelope } from '../envelope.js';
import type { Source } from '../intake.js';
import { keepAlive } from '../keepalive.js';
import { claimHost, clientHost, closeSocket, connStatus } from './ws-util.js';

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** The acknowledgement request of a handshake's headers, or undefined (a plain Skydive agent). */
export function ackRequest(headers: IncomingHttpHeaders): { session: string; firstSeq: number } | undefined {
  const session = first(headers['x-flow-session']);
  if (!session) return undefined;
  const firstSeq = Number(first(headers['x-flow-seq']));
  return Number.isSafeInteger(firstSeq) && firstSeq >= 1 ? { session, firstSeq } : undefined;
}

export function agentFlowRoutes(ctx: AnalyzerContext) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/ws/agent/flow', {
      websocket: true,
      preValidation: async (req, reply) => claimHost(ctx.connections, 'agent', req, reply),
    }, (socket, req) => {
      const host = clientHost(req);
      const source: Source = { transport: 'websocket', agent: host };
      const acks = ackRequest(req.headers);
      let nextSeq = acks?.firstSeq ?? 0;
      let closing = false;
      let ackPending: NodeJS.Immediate | undefined;
      const sendAck = (): void => {
        if (ackPending) clearImmediate(ackPending);
        ackPending = undefined;
        if (!acks || socket.readyState !== socket.OPEN) return;
        socket.send(envelope('flow', 'ack', `{"Seq":${ctx.sessions.lastSeq(acks.session)}}`, 200, ''));
      };

      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) {
          ctx.intake.refuse(source, 'a text message on /ws/agent/flow (flows are binary protobuf flow.Message)');
          return;
        }
        if (!acks) {
          ctx.wsIntake.submit(data, source);
          return;
        }
        const seq = nextSeq++;
        // Closing: the last acknowledgement is on its way; what comes after it will be sent
        // again (to whichever analyzer the agent reaches next), so it is not stored here.
        if (closing) return;
        if (seq <= ctx.sessions.lastTaken(acks.session)) {
          ctx.intake.counters.duplicateMessages++;
          ackPending ??= setImmediate(sendAck);
          return;
        }
        // A malformed message is counted by the intake and acknowledged all the same:
        // sending it again would not make it better.
        ctx.sessions.taken(acks.session, seq);
        ctx.wsIntake.submit(data, source, () => {
          ctx.sessions.stored(acks.session, seq);
          ackPending ??= setImmediate(sendAck);
        });
      });

      ctx.connections.connected('agent', host, connStatus(req, 'protobuf'));
      const closer = async (): Promise<void> => {
        closing = true;
        // The last acknowledgement covers every message taken before.
        await ctx.wsIntake.idle();
        sendAck();
        await closeSocket(socket, 1001, 'analyzer stopping');
      };
      ctx.closers.add(closer);
      socket.once('close', () => {
        ctx.closers.delete(closer);
        if (ackPending) clearImmediate(ackPending);
      });
      keepAlive(socket, ctx.pingDelayMs, ctx.pongTimeoutMs);
      sendAck();
    });
  };
}
