// Entry point of the WASM module: exports only; the logic lives in modules.
import { initRegistry, setUDPPortDecoder } from './registry';
import { tableInit } from './flow/table';
import { L_MPLS } from './ids';

export { layerNameInto, layerCount } from './ids';
export { counterValue, resetCounters } from './counters';
export { decodePacket } from './decode';
export { inputAlloc, inputBuffer, inputCapacity, outputBuffer, outputCapacity } from './io';
export * from './testing';
export { feedRecords, feedRecordCount, processBatch } from './flow/feed';
export { shardOf } from './shard';
export { updateTick, expireTick, connectionTick, stopTable, stopBegin, stopFlow } from './flow/process';
export { emitChunkCount, emitChunkAddr, emitChunkLength, emitRelease, emitLost } from './flow/emit';
export { tableSize, tableFirst, tableNext } from './flow/table';
export {
  setOptions, nodeTIDBuffer, setNodeTIDLength, setApplicationPort, setLayerTimeout, setAppTimeout,
} from './flow/options';
export * from './flow/layout';
export * from './exports-tcp';
export * from './exports-defrag';
export { dnsExtract } from './layers/dns_extract';
export { jsonEncodeFlow, jsonFlowBound } from './format/json';
export { jsonRunBegin, jsonRun, jsonRunHostRecord, RUN_ENTRY } from './format/jsonrun';
export { setJSONNodeTID, setJSONCaptureID, setJSONApplication } from './format/host-text';
export { flowSortKeyInto, SORT_KEY_MAX } from './flow/sortkey';
export { stopOrderBuild, stopOrderAddress } from './flow/stoporder';
export { setERSPANTypeI } from './layers/erspan';
export { sflowDecode, sflowPacketBytes, sflowPacketCount, sflowListBytes, sflowRejectOffset } from './sflow/datagram';
export { R_COUNT as SFLOW_REASON_COUNT } from './sflow/reasons';
export { benchDecodeBatch } from './bench';

/** Prepares the module: decoder tables and a flow table of `maxEntries` (Skydive flow.max_entries). */
export function init(maxEntries: u32): bool {
  initRegistry();
  return tableInit(maxEntries);
}

/** Registers MPLS over UDP on a port (Skydive's per-capture MPLSUDPPort; 0 = none). */
export function setMPLSUDPPort(port: u32): void {
  if (port != 0) setUDPPortDecoder(port, L_MPLS);
}
