/**
 * An "Elasticsearch" that accepts connections, reads requests and never answers: a cluster
 * behind a black hole, which only the caller's own deadline can get away from.
 */
import { createServer, type Socket } from 'node:net';

export interface HangingServer {
  url: string;
  /** Requests begun so far (data received on any connection). */
  requests(): number;
  close(): Promise<void>;
}

export async function hangingServer(): Promise<HangingServer> {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server = createServer((s) => {
    sockets.add(s);
    s.on('data', () => { requests++; });
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
