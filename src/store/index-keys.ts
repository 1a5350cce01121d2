/**
 * The value a flow has for each indexed field, as the index stores it.
 *
 * Empty strings are not indexed (undefined here): ParentUUID is "" for every top-level flow and
 * NodeTID for every flow of a pcap capture, so indexing "" would hold most of the store in one
 * posting for no gain over a scan.
 */
import type { Flow } from '../flow/types.js';
import type { IndexedField, IndexKey } from './types.js';

type KeyOf = (flow: Flow) => IndexKey | undefined;

function text(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

const KEY_OF: Readonly<Record<IndexedField, KeyOf>> = {
  'UUID': (f) => text(f.UUID),
  'TrackingID': (f) => text(f.TrackingID),
  'L3TrackingID': (f) => text(f.L3TrackingID),
  'ParentUUID': (f) => text(f.ParentUUID),
  'NodeTID': (f) => text(f.NodeTID),
  'CaptureID': (f) => text(f.CaptureID),
  'Link.A': (f) => text(f.Link?.A),
  'Link.B': (f) => text(f.Link?.B),
  'Network.A': (f) => text(f.Network?.A),
  'Network.B': (f) => text(f.Network?.B),
  'Transport.A': (f) => f.Transport?.A,
  'Transport.B': (f) => f.Transport?.B,
  'LayersPath': (f) => text(f.LayersPath),
  'Application': (f) => text(f.Application),
};

/** The key of `flow` in the index of `field`, or undefined when the flow is not in that index. */
export function indexKeyOf(field: IndexedField, flow: Flow): IndexKey | undefined {
  return KEY_OF[field](flow);
}

/** The indexed fields other than UUID (the store's primary key), in `writeIndexKeys` order. */
export const SECONDARY_FIELDS = [
  'TrackingID', 'L3TrackingID', 'ParentUUID', 'NodeTID', 'CaptureID', 'Link.A', 'Link.B',
  'Network.A', 'Network.B', 'Transport.A', 'Transport.B', 'LayersPath', 'Application',
] as const satisfies readonly IndexedField[];

/**
 * Writes the keys of every SECONDARY_FIELDS index for `f` into `out`, in that order: the same
 * values as `indexKeyOf`, read with plain property loads (one call per flow, not one
 * closure call per field, which was a sixth of an insert).
 */
export function writeIndexKeys(f: Flow, out: Array<IndexKey | undefined>): void {
  out[0] = text(f.TrackingID);
  out[1] = text(f.L3TrackingID);
  out[2] = text(f.ParentUUID);
  out[3] = text(f.NodeTID);
  out[4] = text(f.CaptureID);
  const link = f.Link;
  out[5] = link === undefined ? undefined : text(link.A);
  out[6] = link === undefined ? undefined : text(link.B);
  const net = f.Network;
  out[7] = net === undefined ? undefined : text(net.A);
  out[8] = net === undefined ? undefined : text(net.B);
  const tr = f.Transport;
  out[9] = tr === undefined ? undefined : tr.A;
  out[10] = tr === undefined ? undefined : tr.B;
  out[11] = text(f.LayersPath);
  out[12] = text(f.Application);
}
