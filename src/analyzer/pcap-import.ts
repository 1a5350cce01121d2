/**
 * The work behind POST /api/pcap (skydive-api.md §2.3): a capture a client uploads becomes flows,
 * as in Skydive's analyzer. One flow table with the process's flow settings and no capture's
 * options (no defragmentation, TCP metrics or reassembly; NodeTID and CaptureID empty: Skydive's
 * import table has none of them either) replays the whole capture, and every flow leaves it at
 * the end. The flows then go through the intake as an agent's would (transport `pcap`): into the
 * store, to the live stream and to Elasticsearch when it is configured. Skydive writes them to
 * its flow backend only, so the memory backend showed nothing (docs/compat.md).
 *
 * The upload is streamed to a temporary file (the replay reads at offsets, and no step holds a
 * whole capture in memory), replayed, then deleted. The table runs in a worker thread, so
 * queries and agents' flows are served meanwhile; imports are replayed one at a time, so their
 * memory is one table's however many clients upload at once.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { CaptureFormatError } from '../capture/pcapfile.js';
import type { EngineOptions } from '../engine/flow-engine.js';
import { messageOfRecords } from '../format/message-frame.js';
import type { RecordWriter } from '../format/writer.js';
import { replayCapture } from '../pipeline/replay.js';
import type { FlowIntake } from './intake.js';

/** Flows per flow.Message handed to the intake: a store ingest of about a millisecond. */
const FLOWS_PER_MESSAGE = 256;

export interface PcapImportResult {
  packets: number;
  flows: number;
  decodeFailures: number;
  /** The capture ended inside a record: these bytes of it were ignored. */
  truncatedBytes?: number;
}

/** The upload is not a capture, or a record in it is corrupt (the message says how many flows were kept). */
export class PcapImportError extends Error {
  override readonly name = 'PcapImportError';
}

/** The analyzer stopped while the import waited or ran (the flows it stored so far stay). */
export class PcapImportStopped extends Error {
  override readonly name = 'PcapImportStopped';
  constructor() {
    super('the analyzer is stopping: send the capture again once it is back');
  }
}

export class PcapImporter {
  /** The replay under way, which the next one waits for. */
  private turn: Promise<unknown> = Promise.resolve();
  /** Aborted by `close`: replays stop at their next chunk. */
  private readonly stopping = new AbortController();

  constructor(private readonly intake: FlowIntake, private readonly engine: EngineOptions) {}

  /**
   * Saves `body` (a pcap or pcapng capture) and replays it; `client` names the uploader in the
   * intake's per-agent counters. Resolves once every flow is stored.
   */
  async import(body: Readable, client: string): Promise<PcapImportResult> {
    const dir = await mkdtemp(join(tmpdir(), 'skydive-pcap-'));
    try {
      const file = join(dir, 'upload.pcap');
      await pipeline(body, createWriteStream(file));
      const run = this.turn.then(() => {
        this.stopping.signal.throwIfAborted();
        return this.replay(file, client);
      });
      this.turn = run.catch(() => {});
      return await run;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Stops the import under way (its flows so far stay stored) and refuses the others; resolves once it has stopped. */
  async close(): Promise<void> {
    this.stopping.abort(new PcapImportStopped());
    await this.turn;
  }

  private async replay(file: string, client: string): Promise<PcapImportResult> {
    // The reader's messages name the file: the client knows it as its upload.
    const named = (message: string): string => message.split(file).join('the upload');
    const messages = new FlowMessages(this.intake, client, this.stopping.signal);
    let result;
    try {
      result = await replayCapture({
        file,
        workers: 1,
        threads: true,
        signal: this.stopping.signal,
        shard: {
          engine: { ...this.engine, ipDefrag: false, extraTCPMetric: false, reassembleTCP: false, nodeTID: '', captureID: '' },
          format: 'protobuf',
          events: ['expire', 'app-timeout', 'end', 'hold-removed', 'evicted'],
          dropLastUpdateMetric: false,
        },
      }, messages);
    } catch (err) {
      if (err instanceof CaptureFormatError) throw new PcapImportError(named(err.message));
      throw err;
    }
    await messages.end();
    const c = result.counters;
    const packets = Number(c.packets ?? 0n);
    if (result.inputError !== undefined) {
      throw new PcapImportError(`${named((result.inputError as Error)?.message ?? String(result.inputError))}; `
        + `the ${messages.stored} flows of the ${packets} packets before it were stored`);
    }
    return {
      packets, flows: messages.stored, decodeFailures: Number(c.decode_failures ?? 0n),
      ...(result.tail ? { truncatedBytes: result.tail.bytes } : {}),
    };
  }
}

/** Gathers the replay's length-delimited Flow records into flow.Messages for the intake. */
class FlowMessages implements RecordWriter {
  stored = 0;
  private records: Uint8Array[] = [];

  constructor(private readonly intake: FlowIntake, private readonly client: string, private readonly signal: AbortSignal) {}

  writeRecord(record: Uint8Array): Promise<void> | undefined {
    this.signal.throwIfAborted();
    // Copied: the replay reuses the memory its records lie in.
    this.records.push(record.slice());
    return this.records.length >= FLOWS_PER_MESSAGE ? this.send() : undefined;
  }

  end(): Promise<void> {
    return this.send();
  }

  /** Hands the gathered flows to the intake, then lets the event loop serve others before more come. */
  private async send(): Promise<void> {
    if (this.records.length === 0) return;
    const message = messageOfRecords(this.records);
    this.records = [];
    const n = this.intake.ingest(message, { transport: 'pcap', agent: this.client });
    if (n > 0) this.stored += n;
    await yieldTurn();
  }
}
