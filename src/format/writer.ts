/**
 * Streams flows to a Node Writable in one of the output formats:
 * - `jsonl`: one Skydive JSON object per line (`flowToJSON`);
 * - `json`: one JSON array, written as it goes: `[`, the objects separated by `,`, then `]` and a
 *   newline at `end()` (`[]` when there was no flow);
 * - `protobuf`: a length-delimited stream, each record a varint byte length followed by one
 *   encoded `flow.Flow` (`encodeFlowDelimited`; read it back with `decodeFlowStream`).
 *
 * `write` resolves once the stream can take more, so awaiting it keeps memory bounded when the
 * consumer is slower than the capture; it rejects if the stream fails while waiting.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Flow } from '../flow/types.js';
import { flowToJSON } from './json.js';
import { encodeFlowDelimited } from './protobuf.js';

export type FlowFormat = 'jsonl' | 'json' | 'protobuf';

export const FLOW_FORMATS: readonly FlowFormat[] = ['jsonl', 'json', 'protobuf'];

export interface FlowWriterOptions {
  /** End the stream in `end()` (default true). Pass false for process.stdout or a shared socket. */
  end?: boolean;
  /**
   * Fill a block again once the stream's write callback for it has run (default false). Only
   * for streams that are done with a chunk by then: files, sockets, process.stdout. Never for a
   * Transform (a PassThrough hands the chunk itself on) or a stream that keeps its chunks.
   */
  reuseBlocks?: boolean;
}

const utf8 = new TextEncoder();

/**
 * One flow in `format`, without separators: the JSON object text for `jsonl`
 * and `json`, the length-delimited message for `protobuf`. Lets workers do
 * the formatting and the writer only copy bytes. JSON stays a string until it
 * is copied into its final buffer (one UTF-8 encoding, no intermediate array).
 */
export function encodeRecord(flow: Flow, format: FlowFormat): Uint8Array | string {
  return format === 'protobuf' ? encodeFlowDelimited(flow) : flowToJSON(flow);
}

/**
 * Where a replay writes its flows, one record made by `encodeRecord` at a time: a FlowWriter,
 * or anything else that takes records (the analyzer's pcap import stores them). A promise back
 * means: wait for it before the next record.
 */
export interface RecordWriter {
  writeRecord(record: Uint8Array): Promise<void> | undefined;
}

/** Output is gathered into blocks of this size: one stream write per block, not two per flow. */
const BLOCK = 256 << 10;
/** Blocks the stream may hold at once (written blocks kept for reuse, with reuseBlocks). */
const SPARE_BLOCKS = 4;

export class FlowWriter implements RecordWriter {
  private count = 0;
  private ended = false;
  private block: Buffer = Buffer.allocUnsafeSlow(BLOCK);
  private used = 0;
  private readonly spare: Buffer[] = [];
  /** Blocks handed to the stream whose write callback has not run yet. */
  private inStream = 0;
  private onWritten: (() => void) | undefined;

  constructor(
    private readonly out: Writable,
    readonly format: FlowFormat,
    private readonly options: FlowWriterOptions = {},
  ) {}

  /** Number of flows written so far. */
  get written(): number {
    return this.count;
  }

  async write(flow: Flow): Promise<void> {
    const r = encodeRecord(flow, this.format);
    await this.writeRecord(typeof r === 'string' ? utf8.encode(r) : r);
  }

  /**
   * Writes one record made by `encodeRecord` with this writer's format
   * (separators added here). Records are gathered into blocks: call flush()
   * when what was written must reach the stream now (end() does).
   *
   * A promise comes back only when a full block went to the stream: wait for
   * it before the next record. Most records are only copied, and return
   * nothing, so that writing a table out does not await once per flow.
   */
  writeRecord(record: Uint8Array): Promise<void> | undefined {
    if (this.ended) throw new Error('FlowWriter: write after end');
    // One separator at most: "[" or "," before a json record, "\n" after a jsonl one.
    if (this.used + record.length + 1 <= BLOCK) {
      this.append(record);
      return undefined;
    }
    return this.flushThenWrite(record);
  }

  private append(record: Uint8Array): void {
    const block = this.block;
    if (this.format === 'json') block[this.used++] = this.count === 0 ? 0x5b : 0x2c;
    block.set(record, this.used);
    this.used += record.length;
    if (this.format === 'jsonl') block[this.used++] = 0x0a;
    this.count++;
  }

  private async flushThenWrite(record: Uint8Array): Promise<void> {
    await this.flush();
    if (record.length + 1 <= BLOCK) {
      this.append(record);
      return;
    }
    // Larger than a block: to the stream on its own, after the block with its separator.
    if (this.format === 'json') {
      await this.put(this.count === 0 ? '[' : ',');
      await this.flush();
    }
    if (!this.out.write(record)) await once(this.out, 'drain');
    if (this.format === 'jsonl') await this.put('\n');
    this.count++;
  }

  /** Hands the gathered output to the stream; resolves once the stream can take more. */
  async flush(): Promise<void> {
    if (this.used === 0) return;
    const block = this.block;
    const chunk = block.subarray(0, this.used);
    // The stream keeps the chunk until written: the next records go to another block.
    this.block = (this.options.reuseBlocks ? this.spare.pop() : undefined) ?? Buffer.allocUnsafeSlow(BLOCK);
    this.used = 0;
    this.inStream++;
    const written = (err?: Error | null): void => {
      this.inStream--;
      // As many spares as the stream may hold (flush waits past SPARE_BLOCKS): a stream that calls
      // back late gives them all back at once, and none is allocated again.
      if (!err && this.options.reuseBlocks && this.spare.length <= SPARE_BLOCKS) this.spare.push(block);
      this.onWritten?.();
    };
    if (!this.out.write(chunk, written)) await once(this.out, 'drain');
    // A stream that writes at once (process.stdout on a file) calls back on the next tick, which
    // a long run of records written without a pause never reaches: the blocks it held piled up,
    // over 100 MB while a large table was written out. Wait for it past a few blocks.
    while (this.inStream > SPARE_BLOCKS) {
      await new Promise<void>((resolve) => { this.onWritten = resolve; });
      this.onWritten = undefined;
    }
  }

  /** Closes the output format (the `]` of `json`), flushes, then ends the stream unless told not to. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.format === 'json') await this.put(this.count === 0 ? '[]\n' : ']\n');
    await this.flush();
    if (this.options.end !== false) {
      this.out.end();
      await finished(this.out, { readable: false });
    }
  }

  /** Appends ASCII text (separators), flushing first when the block is full. */
  private async put(text: string): Promise<void> {
    if (this.used + text.length > BLOCK) await this.flush();
    this.used += this.block.write(text, this.used, 'latin1');
  }
}
