/**
 * Skydive's pcapsocket capture: a TCP listener that takes a classic pcap
 * stream per connection (`tcpdump -w - | nc HOST PORT`) and hands its
 * records over as they are, in whole-record chunks (raw pcap layout, see
 * assembly/flow/feed.ts). A connection is paused while its chunk waits for
 * the flow tables, so TCP flow control slows the sender down and nothing is
 * dropped.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { FRAMES_PCAP_BE, FRAMES_PCAP_LE, type FramesFormat } from './pcapfile.js';

const PCAP_HEADER = 24;
const RECORD_HEADER = 16;
const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;

/** Layout of the records of one stream. */
export interface StreamLayout { format: FramesFormat; fracToNs: number; linkType: number }

export interface PcapSocketOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest chunk handed over at once (the pipeline's slot size). */
  chunkBytes: number;
  /** Receives whole records; the connection waits until it resolves. */
  onRecords: (data: Uint8Array, records: number, layout: StreamLayout) => Promise<void>;
  /** A stream that is not a pcap, or broke: the connection is closed and this is told why. */
  onStreamError?: (err: Error) => void;
}

export interface PcapSocketStats {
  connections: number;
  packets: number;
  bytes: number;
  /** Streams closed because they were not pcap or were corrupt. */
  badStreams: number;
  /** Streams that ended inside a record (its bytes are not a packet). */
  truncatedStreams: number;
}

export class PcapStreamError extends Error {
  override readonly name = 'PcapStreamError';
}

/** Accumulates one connection's bytes and cuts them into whole records. */
export class PcapStream {
  private buf: Buffer = Buffer.alloc(0);
  layout: StreamLayout | undefined;

  constructor(private readonly maxChunk: number) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** The next run of whole records (at most maxChunk bytes), or undefined when none is complete yet. */
  next(): { data: Buffer; records: number } | undefined {
    if (!this.layout) {
      if (this.buf.length < PCAP_HEADER) return undefined;
      this.layout = this.header(this.buf);
      this.buf = this.buf.subarray(PCAP_HEADER);
    }
    const le = this.layout.format === FRAMES_PCAP_LE;
    let p = 0, n = 0;
    while (p + RECORD_HEADER <= this.buf.length) {
      const caplen = le ? this.buf.readUInt32LE(p + 8) : this.buf.readUInt32BE(p + 8);
      const size = RECORD_HEADER + caplen;
      if (size > this.maxChunk) throw new PcapStreamError(`packet ${n + 1} of this chunk claims ${caplen} captured bytes: corrupt stream`);
      if (p + size > this.buf.length || p + size > this.maxChunk) break;
      p += size;
      n++;
    }
    if (n === 0) return undefined;
    const data = this.buf.subarray(0, p);
    this.buf = this.buf.subarray(p);
    return { data, records: n };
  }

  /** Bytes received but not yet part of a whole record. */
  get pending(): number { return this.buf.length; }

  private header(b: Buffer): StreamLayout {
    for (const le of [true, false]) {
      const magic = le ? b.readUInt32LE(0) : b.readUInt32BE(0);
      if (magic === MAGIC_US || magic === MAGIC_NS) {
        const linkType = (le ? b.readUInt32LE(20) : b.readUInt32BE(20)) & 0xffff;
        return { format: le ? FRAMES_PCAP_LE : FRAMES_PCAP_BE, fracToNs: magic === MAGIC_NS ? 1 : 1000, linkType };
      }
    }
    if (b.readUInt32BE(0) === PCAPNG_SHB) throw new PcapStreamError('this is a pcapng stream; pcapsocket takes classic pcap (tcpdump -w -, or dumpcap -P)');
    throw new PcapStreamError(`not a pcap stream (magic 0x${b.readUInt32BE(0).toString(16).padStart(8, '0')})`);
  }
}

export class PcapSocketServer {
  readonly stats: PcapSocketStats = { connections: 0, packets: 0, bytes: 0, badStreams: 0, truncatedStreams: 0 };
  private readonly sockets = new Set<Socket>();
  /** Per connection, the chain handing its chunks to onRecords (close() waits for them). */
  private readonly handing = new Map<Socket, Promise<void>>();
  private where: AddressInfo | undefined;

  private constructor(private readonly server: Server, private readonly opts: PcapSocketOptions) {}

  static async listen(opts: PcapSocketOptions): Promise<PcapSocketServer> {
    const server = createServer();
    const s = new PcapSocketServer(server, opts);
    server.on('connection', (sock) => s.accept(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve(); });
    });
    s.where = server.address() as AddressInfo;
    return s;
  }

  /** host:port it listens on (Skydive's PCAPSocket capture attribute); kept after close. */
  get address(): string {
    const a = this.bound;
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  get port(): number { return this.bound.port; }

  private get bound(): AddressInfo { return this.where!; }

  /**
   * Stops accepting and reading; resolves once every chunk already received has been handed to
   * onRecords (a stopping agent still gets the packets its sources took in).
   */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.handing.values()]);
  }

  private accept(sock: Socket): void {
    this.stats.connections++;
    this.sockets.add(sock);
    const stream = new PcapStream(this.opts.chunkBytes);
    let busy = Promise.resolve();
    this.handing.set(sock, busy);
    sock.on('data', (chunk: Buffer) => {
      stream.push(chunk);
      sock.pause();
      busy = busy.then(async () => {
        for (let c = stream.next(); c; c = stream.next()) {
          this.stats.packets += c.records;
          this.stats.bytes += c.data.length;
          await this.opts.onRecords(c.data, c.records, stream.layout!);
        }
        if (!sock.destroyed) sock.resume();
      }).catch((err: Error) => {
        this.stats.badStreams++;
        this.opts.onStreamError?.(err);
        sock.destroy();
      });
      this.handing.set(sock, busy);
    });
    sock.on('error', () => { /* a reset peer: the close handler cleans up */ });
    sock.on('end', () => { void busy.then(() => { if (stream.pending > 0) this.stats.truncatedStreams++; }); });
    sock.on('close', () => {
      this.sockets.delete(sock);
      void busy.then(() => { if (this.handing.get(sock) === busy) this.handing.delete(sock); });
    });
  }
}
