/**
 * The analyzer's UDP flow intake (Skydive's default `flow.protocol: udp`): one `flow.Message`
 * per datagram, on the same address and port number as the HTTP server. Datagrams go to the
 * intake as they arrive; whatever they hold, the socket keeps listening.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { FlowIntake } from './intake.js';

/** Asked of the kernel; Linux caps it at net.core.rmem_max. */
const RECEIVE_BUFFER = 8 << 20;

export interface UDPIntake {
  readonly port: number;
  /** Datagrams the kernel dropped on this socket (its receive buffer was full), from /proc/net/udp. */
  kernelDrops(): number | undefined;
  close(): Promise<void>;
}

export async function listenUDP(host: string, port: number, intake: FlowIntake, log: (line: string) => void): Promise<UDPIntake> {
  const v6 = isIPv6(host);
  const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', recvBufferSize: RECEIVE_BUFFER });
  socket.on('message', (msg, rinfo) => {
    intake.ingest(msg, { transport: 'udp', agent: `${rinfo.address}:${rinfo.port}` });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => log(`udp ${host}:${port}: ${err.message}`));
  const bound = socket.address().port;
  return {
    port: bound,
    kernelDrops: () => socketCounters(v6 ? '/proc/net/udp6' : '/proc/net/udp', bound)?.drops,
    close: async () => {
      // Datagrams an agent sent just before its stop may still wait in the receive queue: read
      // them before closing (at most DRAIN_MS), so that a stopping allinone loses none.
      const until = Date.now() + DRAIN_MS;
      while (Date.now() < until && (socketCounters(v6 ? '/proc/net/udp6' : '/proc/net/udp', bound)?.queued ?? 0) > 0) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

const DRAIN_MS = 2000;

/**
 * The kernel's counters of the sockets bound to `port` (Linux /proc/net/udp*): datagrams dropped
 * (the `drops` column) and bytes waiting in the receive queues (`rx_queue`); undefined off Linux.
 */
function socketCounters(file: string, port: number): { drops: number; queued: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let drops = 0, queued = 0;
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13 || !cols[1].endsWith(`:${hexPort}`)) continue;
    drops += Number(cols[cols.length - 1]) || 0;
    queued += parseInt(cols[4].split(':')[1] ?? '0', 16) || 0;
  }
  return { drops, queued };
}
