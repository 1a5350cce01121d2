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

export class FlowWriter {
  private count = 0;
  private ended = false;

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

  /** Writes one record made by `encodeRecord` with this writer's format (separators added here). */
  async writeRecord(record: Uint8Array): Promise<void> {
    if (this.ended) throw new Error('FlowWriter: write after end');
    if (this.format === 'json') await this.push(this.count === 0 ? '[' : ',');
    await this.push(record);
    if (this.format === 'jsonl') await this.push('\n');
    this.count++;
  }

  /** Closes the output format (the `]` of `json`), then ends the stream unless told not to. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.format === 'json') await this.push(this.count === 0 ? '[]\n' : ']\n');
    if (this.options.end !== false) {
      this.out.end();
      await finished(this.out, { readable: false });
    }
  }

  private async push(chunk: string | Uint8Array): Promise<void> {
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }
}
