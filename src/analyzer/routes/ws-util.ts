/** Helpers shared by the WebSocket routes: handshake parameters and a clean close. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { rfc3339, type Connections, type ConnectionKind, type ConnStatus } from '../connections.js';

/**
 * A handshake parameter: the request header, else the lower-cased query parameter (browsers
 * cannot set headers; skydive-api.md §3.1). Repeated values are joined with ", ".
 */
export function handshakeParam(req: FastifyRequest, name: string): string | undefined {
  const h = req.headers[name];
  if (h !== undefined) return Array.isArray(h) ? h.join(', ') : h;
  const q = (req.query as Record<string, string | string[] | undefined> | undefined)?.[name];
  if (q === undefined) return undefined;
  return Array.isArray(q) ? q.join(', ') : q;
}

/** The client's X-Host-ID, else its address. */
export function clientHost(req: FastifyRequest): string {
  return handshakeParam(req, 'x-host-id') || `${req.socket.remoteAddress}:${req.socket.remotePort}`;
}

/**
 * For a route's preValidation hook, before the upgrade: claims the client's host on `kind`'s
 * endpoint, or answers 409 when a client with that host ID is connected there. The claim ends
 * with the client's TCP connection, upgraded or not.
 */
export function claimHost(connections: Connections, kind: ConnectionKind, req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  const host = clientHost(req);
  if (!connections.claim(kind, host)) {
    return reply.code(409).type('text/plain; charset=utf-8')
      .send(`a client with X-Host-ID ${JSON.stringify(host)} is already connected to ${req.url.split('?')[0]}\n`);
  }
  req.socket.once('close', () => connections.release(kind, host));
  return undefined;
}

export function connStatus(req: FastifyRequest, clientProtocol: string): ConnStatus {
  const type = handshakeParam(req, 'x-client-type') ?? '';
  return {
    ServiceType: type, ClientProtocol: handshakeParam(req, 'x-client-protocol') ?? clientProtocol,
    Addr: req.socket.remoteAddress ?? '', Port: req.socket.remotePort ?? 0, IsConnected: true,
    ConnectTime: rfc3339(Date.now()), RemoteHost: handshakeParam(req, 'x-host-id') ?? '', RemoteServiceType: type,
  };
}

/** Sends a close frame and waits (at most `ms`) for the client's; then cuts the connection. */
export function closeSocket(ws: WebSocket, code: number, reason: string, ms = 2000): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => { ws.terminate(); resolve(); }, ms);
    ws.once('close', () => { clearTimeout(timer); resolve(); });
    try {
      ws.close(code, reason);
    } catch {
      ws.terminate();
    }
  });
}
