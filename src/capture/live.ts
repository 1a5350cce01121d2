/**
 * Live capture on a network interface through the project's libpcap addon (native/pcapbatch.c).
 *
 * A capture thread in the addon runs pcap_dispatch and writes packets, already in the batch
 * record layout of pcapfile.ts (timestamps in ns), into a ring of `batches` slots of
 * `batchSize` bytes inside one SharedArrayBuffer. JavaScript gets one whole slot at a time and
 * gives it back with release(); it never sees a packet alone. If JavaScript falls behind and
 * every slot is held, the addon waits a second, then reads on and drops (RingDropped), so the
 * ring never grows.
 *
 *   const cap = LiveCapture.open({ interface: 'eth0', bpf: 'udp', netns: '/var/run/netns/x' });
 *   for await (const b of cap) { engine.inputView().set(b.data); engine.process(b.bytes, b.packets); b.release(); }
 *
 * A batch stays valid until its release(), or until the iterator is asked for the next batch,
 * which releases the previous one. An open capture keeps the process alive until close().
 */
import { nativeAddon, NativeAddonError, type NativeAddon, type NativeOpenResult } from '../native-addon.js';
import { recordSize } from './pcapfile.js';

/** Skydive's HeaderSize default: the snap length when a capture gives 0 or none. */
export const DEFAULT_HEADER_SIZE = 256;

export interface LiveCaptureOptions {
  /** Interface name, looked up in `netns` when it is given. */
  interface: string;
  /** Network namespace to capture in, as a path: /var/run/netns/NAME or /proc/PID/ns/net. */
  netns?: string;
  /** Snap length (Skydive's HeaderSize): 0 or absent means 256; otherwise 14 to 262144. */
  headerSize?: number;
  /** Promiscuous mode (default true, as Skydive opens its pcap captures). */
  promiscuous?: boolean;
  /** BPF filter expression (tcpdump syntax); empty means every packet. */
  bpf?: string;
  /** Kernel ring size in bytes (default 8 MiB; libpcap's own default is 2 MiB). */
  bufferSize?: number;
  /** Packet buffer timeout in ms (default 20): the longest a packet waits in the kernel. */
  timeoutMs?: number;
  /** Deliver each packet to the ring as soon as it arrives (no kernel batching; more CPU). */
  immediate?: boolean;
  /** Bytes per batch, a multiple of 8 (default 1 MiB; at most the flow engine's 4 MiB input). */
  batchSize?: number;
  /** Batch slots in the ring (default 8). */
  batches?: number;
}

/** One batch of records (layout: pcapfile.ts); `data` is a view into the shared ring. */
export interface LiveBatch {
  data: Uint8Array;
  bytes: number;
  packets: number;
  /** Gives the slot back to the capture thread; `data` must not be read afterwards. */
  release(): void;
}

/**
 * Counters since open. The first four carry Skydive's names: a pcap capture reports libpcap's
 * ps_recv, ps_drop and ps_ifdrop as PacketsReceived, PacketsDropped and PacketsIfDropped; here
 * PacketsDropped also counts the packets the ring had no room for, so it is every packet lost
 * between the kernel and the flow table. KernelFlowDropped is the eBPF probe's counter of
 * flows its kernel map could not hold: libpcap has none, so it is always 0.
 *
 * Once the kernel buffer is drained, PacketsReceived = PacketsCaptured + PacketsDropped, except
 * on a loopback interface, where the kernel counts each packet twice (sent and received) and
 * libpcap delivers it once.
 */
export interface LiveCaptureStats {
  /** Packets that passed the filter, lost or not (ps_recv). */
  PacketsReceived: number;
  /** KernelDropped + RingDropped. */
  PacketsDropped: number;
  /** Drops counted by the interface itself (ps_ifdrop; read from /sys, so 0 in another namespace). */
  PacketsIfDropped: number;
  KernelFlowDropped: number;
  /** Packets the kernel buffer had no room for (ps_drop). */
  KernelDropped: number;
  /** Packets read while every ring slot was held by JavaScript. */
  RingDropped: number;
  /** Packets written to batches, and their wire bytes. */
  PacketsCaptured: number;
  BytesCaptured: number;
}

/** Opening or running a capture failed; `code` says how (ERR_PCAP_NO_SUCH_DEVICE, ERR_PCAP_FILTER...). */
export class LiveCaptureError extends Error {
  override readonly name = 'LiveCaptureError';
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Loads the addon, its failure as a LiveCaptureError (same code). */
function loadAddon(): NativeAddon {
  try {
    return nativeAddon();
  } catch (e) {
    if (e instanceof NativeAddonError) throw new LiveCaptureError(e.code, e.message, { cause: e });
    throw e;
  }
}

function intOption(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) throw new LiveCaptureError('ERR_INVALID_ARG', `${name} must be an integer from ${min} to ${max}, got ${v}`);
  return v;
}

export class LiveCapture implements AsyncIterable<LiveBatch> {
  /** LINKTYPE_* of the records (1 for Ethernet). */
  readonly linkType: number;
  /** Kernel index of the interface, written in every record. */
  readonly ifIndex: number;
  readonly snapLen: number;
  /** Whether the kernel gives nanosecond timestamps (else µs, still written in ns). */
  readonly nanosecond: boolean;

  private readonly lib: NativeAddon;
  private readonly handle: object;
  private readonly ring: SharedArrayBuffer;
  private readonly batchSize: number;
  private readonly ready: LiveBatch[] = [];
  private waiter?: { resolve: (r: IteratorResult<LiveBatch>) => void; reject: (e: unknown) => void };
  private failure?: LiveCaptureError;
  private closed = false;
  private iterating = false;
  private finalStats?: LiveCaptureStats;

  private constructor(lib: NativeAddon, opts: LiveCaptureOptions) {
    this.lib = lib;
    if (typeof opts?.interface !== 'string' || opts.interface === '') throw new LiveCaptureError('ERR_INVALID_ARG', 'interface must be a non-empty string');
    const snaplen = opts.headerSize ? intOption('headerSize', opts.headerSize, DEFAULT_HEADER_SIZE, 14, 262144) : DEFAULT_HEADER_SIZE;
    const batchSize = intOption('batchSize', opts.batchSize, 1 << 20, recordSize(snaplen), 1 << 30);
    if (batchSize % 8 !== 0) throw new LiveCaptureError('ERR_INVALID_ARG', `batchSize must be a multiple of 8, got ${batchSize}`);
    const batches = intOption('batches', opts.batches, 8, 1, 1024);
    this.batchSize = batchSize;
    this.ring = new SharedArrayBuffer(batchSize * batches);
    const native = {
      device: opts.interface,
      netns: opts.netns,
      filter: opts.bpf ?? '',
      snaplen,
      promisc: opts.promiscuous ?? true,
      bufferSize: intOption('bufferSize', opts.bufferSize, 8 << 20, 65536, 1 << 30),
      timeoutMs: intOption('timeoutMs', opts.timeoutMs, 20, 1, 60000),
      immediate: opts.immediate ?? false,
      nano: true,
      batchSize,
      batches,
    };
    let r: NativeOpenResult;
    try {
      r = lib.open(native, new Uint8Array(this.ring), (err, slot, bytes, packets) => this.onBatch(err, slot, bytes, packets));
    } catch (e) {
      const err = e as Error & { code?: string };
      throw new LiveCaptureError(err.code ?? 'ERR_PCAP', err.message, { cause: e });
    }
    this.handle = r.handle;
    this.linkType = r.linkType;
    this.ifIndex = r.ifIndex;
    this.snapLen = r.snaplen;
    this.nanosecond = r.nanosecond;
  }

  /** Opens and starts the capture; throws LiveCaptureError (bad interface, filter, namespace, rights). */
  static open(opts: LiveCaptureOptions): LiveCapture {
    return new LiveCapture(loadAddon(), opts);
  }

  private onBatch(err: (Error & { code?: string }) | null, slot: number, bytes: number, packets: number): void {
    if (this.closed) return;
    if (err) {
      this.failure = new LiveCaptureError(err.code ?? 'ERR_PCAP_CAPTURE', err.message, { cause: err });
      this.settle();
      return;
    }
    let released = false;
    const batch: LiveBatch = {
      data: new Uint8Array(this.ring, slot * this.batchSize, bytes),
      bytes,
      packets,
      release: () => {
        if (released) return;
        released = true;
        if (!this.closed) this.lib.release(this.handle, slot);
      },
    };
    this.ready.push(batch);
    this.settle();
  }

  /** Hands the next ready batch, error or end to a pending next(). */
  private settle(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.ready.length > 0) {
      this.waiter = undefined;
      w.resolve({ value: this.ready.shift()!, done: false });
    } else if (this.failure) {
      this.waiter = undefined;
      const f = this.failure;
      this.failure = undefined;
      this.closed = true;
      this.stopNative();
      w.reject(f);
    } else if (this.closed) {
      this.waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<LiveBatch> {
    if (this.iterating) throw new LiveCaptureError('ERR_INVALID_STATE', 'a live capture has one iterator at a time');
    this.iterating = true;
    let previous: LiveBatch | undefined;
    return {
      next: () => {
        previous?.release();
        previous = undefined;
        if (this.waiter) return Promise.reject(new LiveCaptureError('ERR_INVALID_STATE', 'next() called before the previous one settled'));
        return new Promise<IteratorResult<LiveBatch>>((resolve, reject) => {
          this.waiter = {
            resolve: (r) => { if (!r.done) previous = r.value; resolve(r); },
            reject,
          };
          this.settle();
        });
      },
      return: () => {
        previous?.release();
        previous = undefined;
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** Counters since open (kept after close). */
  stats(): LiveCaptureStats {
    if (this.finalStats) return this.finalStats;
    const s = this.lib.stats(this.handle);
    return {
      PacketsReceived: s.recv,
      PacketsDropped: s.drop + s.ringDropped,
      PacketsIfDropped: s.ifdrop,
      KernelFlowDropped: 0,
      KernelDropped: s.drop,
      RingDropped: s.ringDropped,
      PacketsCaptured: s.packets,
      BytesCaptured: s.bytes,
    };
  }

  private stopNative(): void {
    if (this.finalStats) return;
    this.lib.close(this.handle);
    this.finalStats = this.stats();
    this.ready.length = 0;
  }

  /** Stops the capture thread and closes the handle; an iteration in progress ends. Idempotent. */
  close(): void {
    this.closed = true;
    this.stopNative();
    this.settle();
  }
}
