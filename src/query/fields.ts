/**
 * Flow fields by Skydive's dotted names (skydive-api.md §4.4, flow-semantics.md §9), with their
 * types: 'string' (compared as text), 'int' (int64: number, or bigint beyond 2^53) and 'object'
 * (a layer or metric block, usable in HasKey/HasNot/Values only).
 *
 * Presence follows Skydive's Go structs: a top-level field always exists (even "" or 0), a
 * sub-field exists when its block does (`Transport.A` on an ICMP flow does not).
 *
 * Key prefixes ETHERNET (= Link), IPV4 and IPV6 (= Network), TCP, UDP and SCTP (= Transport)
 * are aliases, as in Skydive; like there, IPV6.A also reads an IPv4 flow's Network.A.
 */
import type { Flow, Int64, TCPMetric } from '../flow/types.js';
import type { IndexedField } from '../store/types.js';

export type FieldType = 'string' | 'int' | 'object';

/** A field's value; undefined when the field is absent from the flow. */
export type FieldValue = string | Int64 | object;

export interface FieldDef {
  /** Canonical dotted name (aliases resolved). */
  readonly name: string;
  readonly type: FieldType;
  readonly get: (f: Flow) => FieldValue | undefined;
  /** The store index holding this field, if any. */
  readonly index?: IndexedField;
}

const METRIC_FIELDS = ['ABPackets', 'ABBytes', 'BAPackets', 'BABytes', 'Start', 'Last', 'RTT'] as const;

const TCP_METRIC_FIELDS = [
  'ABSynStart', 'BASynStart', 'ABSynTTL', 'BASynTTL', 'ABFinStart', 'BAFinStart', 'ABRstStart', 'BARstStart',
  'ABSegmentOutOfOrder', 'ABSegmentSkipped', 'ABSegmentSkippedBytes', 'ABPackets', 'ABBytes', 'ABSawStart', 'ABSawEnd',
  'BASegmentOutOfOrder', 'BASegmentSkipped', 'BASegmentSkippedBytes', 'BAPackets', 'BABytes', 'BASawStart', 'BASawEnd',
] as const;

/** Field names of a TCPMetric, in JSON order. */
export const TCP_METRIC_KEYS: readonly (keyof TCPMetric)[] = TCP_METRIC_FIELDS;

/** Field names of a FlowMetric, in JSON order: what Keys() gives after Metrics(). */
export const METRIC_KEYS: readonly string[] = METRIC_FIELDS;

const defs: FieldDef[] = [];

function add(name: string, type: FieldType, get: (f: Flow) => FieldValue | undefined, index?: IndexedField): void {
  defs.push(index === undefined ? { name, type, get } : { name, type, get, index });
}

/** Adds the fields of a block: the block itself as an object, then its members. */
function addBlock<B extends object>(
  block: string, getBlock: (f: Flow) => B | undefined,
  members: ReadonlyArray<readonly [string, FieldType, IndexedField?]>,
): void {
  add(block, 'object', getBlock);
  for (const [member, type, index] of members) {
    add(`${block}.${member}`, type, (f) => (getBlock(f) as Record<string, FieldValue> | undefined)?.[member], index);
  }
}

// Go struct order (the JSON order of flow-semantics.md §9): Keys() lists fields in this order.
add('UUID', 'string', (f) => f.UUID, 'UUID');
add('LayersPath', 'string', (f) => f.LayersPath, 'LayersPath');
add('Application', 'string', (f) => f.Application, 'Application');
addBlock('Link', (f) => f.Link, [['Protocol', 'string'], ['A', 'string', 'Link.A'], ['B', 'string', 'Link.B'], ['ID', 'int']]);
addBlock('Network', (f) => f.Network,
  [['Protocol', 'string'], ['A', 'string', 'Network.A'], ['B', 'string', 'Network.B'], ['ID', 'int']]);
addBlock('Transport', (f) => f.Transport,
  [['Protocol', 'string'], ['A', 'int', 'Transport.A'], ['B', 'int', 'Transport.B'], ['ID', 'int']]);
addBlock('ICMP', (f) => f.ICMP, [['Type', 'string'], ['Code', 'int'], ['ID', 'int']]);
add('DHCPv4', 'object', (f) => f.DHCPv4);
add('DNS', 'object', (f) => f.DNS);
add('VRRPv2', 'object', (f) => f.VRRPv2);
addBlock('LastUpdateMetric', (f) => f.LastUpdateMetric, METRIC_FIELDS.map((m) => [m, 'int'] as const));
addBlock('Metric', (f) => f.Metric, METRIC_FIELDS.map((m) => [m, 'int'] as const));
addBlock('TCPMetric', (f) => f.TCPMetric, TCP_METRIC_FIELDS.map((m) => [m, 'int'] as const));
addBlock('IPMetric', (f) => f.IPMetric, [['Fragments', 'int'], ['FragmentErrors', 'int']]);
add('Start', 'int', (f) => f.Start);
add('Last', 'int', (f) => f.Last);
add('TrackingID', 'string', (f) => f.TrackingID, 'TrackingID');
add('L3TrackingID', 'string', (f) => f.L3TrackingID, 'L3TrackingID');
add('ParentUUID', 'string', (f) => f.ParentUUID, 'ParentUUID');
add('NodeTID', 'string', (f) => f.NodeTID, 'NodeTID');
add('CaptureID', 'string', (f) => f.CaptureID, 'CaptureID');
add('RawPacketsCaptured', 'int', (f) => f.RawPacketsCaptured);
add('FinishType', 'int', (f) => f.FinishType);

const BY_NAME: ReadonlyMap<string, FieldDef> = new Map(defs.map((d) => [d.name, d]));

/** Every value field (not the blocks), in Go struct order: what Keys() gives on flows. */
export const FLOW_KEYS: readonly string[] = defs.filter((d) => d.type !== 'object').map((d) => d.name);

const ALIASES: ReadonlyMap<string, string> = new Map([
  ['ETHERNET', 'Link'], ['IPV4', 'Network'], ['IPV6', 'Network'],
  ['TCP', 'Transport'], ['UDP', 'Transport'], ['SCTP', 'Transport'],
]);

/** Blocks that Has/HasEither match on either side: Has('Network', ip) = Network.A or Network.B. */
const TWO_SIDED = new Set(['Link', 'Network', 'Transport']);

function canonical(key: string): string {
  const dot = key.indexOf('.');
  const head = dot < 0 ? key : key.slice(0, dot);
  const alias = ALIASES.get(head);
  return alias === undefined ? key : alias + (dot < 0 ? '' : key.slice(dot));
}

/** The field named `key` (aliases resolved), or undefined for an unknown name. */
export function resolveField(key: string): FieldDef | undefined {
  return BY_NAME.get(canonical(key));
}

/** For `Network`, `Link`, `Transport` (and their aliases): the A and B fields; else undefined. */
export function twoSidedFields(key: string): readonly [FieldDef, FieldDef] | undefined {
  const name = canonical(key);
  if (!TWO_SIDED.has(name)) return undefined;
  return [BY_NAME.get(`${name}.A`) as FieldDef, BY_NAME.get(`${name}.B`) as FieldDef];
}

/** The fields of a block such as 'Metric' (canonical name), in Go struct order; [] for the others. */
export function blockFields(block: string): string[] {
  return defs.filter((d) => d.name.startsWith(block + '.')).map((d) => d.name);
}

/** Closest known names for an unknown key, for error messages ("did you mean ..."). */
export function suggestFields(key: string): string[] {
  const lower = key.toLowerCase();
  return defs.map((d) => d.name).filter((n) => n.toLowerCase() === lower || n.toLowerCase().endsWith('.' + lower)).slice(0, 3);
}
