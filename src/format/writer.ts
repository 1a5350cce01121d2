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

/** Output is gathered into blocks of this size: one stream write per block, not two per flow. */
const BLOCK = 256 << 10;
/** Written blocks kept for reuse. */
const SPARE_BLOCKS = 4;

export class FlowWriter {
  private count = 0;
  private ended = false;
  private block: Buffer = Buffer.allocUnsafeSlow(BLOCK);
  private used = 0;
  private readonly spare: Buffer[] = [];

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
   */
  async writeRecord(record: Uint8Array): Promise<void> {
    if (this.ended) throw new Error('FlowWriter: write after end');
    if (this.format === 'json') await this.put(this.count === 0 ? '[' : ',');
    await this.put(record);
    if (this.format === 'jsonl') await this.put('\n');
    this.count++;
  }

  /** Hands the gathered output to the stream; resolves once the stream can take more. */
  async flush(): Promise<void> {
    if (this.used === 0) return;
    const block = this.block;
    const chunk = block.subarray(0, this.used);
    // The stream keeps the chunk until written: the next records go to another block, and this
    // one is used again once written (a new block per flush was garbage collected late: tens of
    // MB of RSS while a large table is written out).
    this.block = this.spare.pop() ?? Buffer.allocUnsafeSlow(BLOCK);
    this.used = 0;
    const written = (err?: Error | null): void => { if (!err && this.spare.length < SPARE_BLOCKS) this.spare.push(block); };
    if (!this.out.write(chunk, written)) await once(this.out, 'drain');
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

  private async put(chunk: string | Uint8Array): Promise<void> {
    const size = typeof chunk === 'string' ? chunk.length : chunk.length; // separators are ASCII
    if (this.used + size > BLOCK) {
      await this.flush();
      if (size > BLOCK) {
        if (!this.out.write(chunk)) await once(this.out, 'drain');
        return;
      }
    }
    if (typeof chunk === 'string') this.used += this.block.write(chunk, this.used, 'latin1');
    else { this.block.set(chunk, this.used); this.used += size; }
  }
}
