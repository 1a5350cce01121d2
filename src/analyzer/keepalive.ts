/**
 * Skydive's WebSocket keep-alive, server side (skydive-api.md §3.1): a ping at once and every
 * `pingMs`; a client silent (no pong, no message) for `timeoutMs` is dropped.
 */
import type { WebSocket } from 'ws';

export function keepAlive(ws: WebSocket, pingMs: number, timeoutMs: number): void {
  let heard = Date.now();
  const alive = (): void => { heard = Date.now(); };
  ws.on('pong', alive);
  ws.on('message', alive);
  const ping = (): void => {
    try {
      ws.ping();
    } catch {
      // Not open (any more): the close handler stops the timer.
    }
  };
  ping();
  const timer = setInterval(() => {
    if (Date.now() - heard > timeoutMs) ws.terminate();
    else ping();
  }, pingMs);
  timer.unref();
  ws.once('close', () => clearInterval(timer));
}
