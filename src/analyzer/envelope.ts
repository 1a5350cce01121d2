/**
 * Skydive's WebSocket message envelope (skydive-api.md §3.2), as JSON text:
 * `{"Namespace", "Type", "UUID", "Status", "Obj"}`, in that order. `Obj` is given as JSON text
 * so that flows are written once with src/format/json.ts and never re-serialized.
 */
import { randomUUID } from 'node:crypto';
import type { Int64, Stats } from '../flow/types.js';
import { quoteGo } from '../format/json.js';

export function envelope(namespace: string, type: string, objJSON: string, status = 200, uuid: string = randomUUID()): string {
  return `{"Namespace":${quoteGo(namespace)},"Type":${quoteGo(type)},"UUID":${quoteGo(uuid)},"Status":${status},"Obj":${objJSON}}`;
}

const int = (v: Int64 | undefined): string => String(v ?? 0);

/** A capture's Stats as the `stats` stream carries them (§3.7), plus DecodeFailures when reported. */
export function statsJSON(s: Stats): string {
  return `{"CaptureID":${quoteGo(s.CaptureID)},"FlowCount":${int(s.FlowCount)},"FlowDropped":${int(s.FlowDropped)},` +
    `"KernelFlowDropped":${int(s.KernelFlowDropped)},"PacketsDropped":${int(s.PacketsDropped)},` +
    `"PacketsReceived":${int(s.PacketsReceived)}${s.DecodeFailures !== undefined ? `,"DecodeFailures":${int(s.DecodeFailures)}` : ''}}`;
}
