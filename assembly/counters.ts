// Per-instance event counters (Suricata-style): an id per event, one u64
// each, read in bulk by the host. Names live in src/flow/counters.ts in the
// same order; a test checks that both lists have the same length.

export const C_PACKETS: u32 = 0;             // frames handed to the table
export const C_DECODE_FAILURES: u32 = 1;     // frames whose decode ended in DecodeFailure
export const C_TRUNCATED: u32 = 2;           // frames shorter than a length field claims
export const C_NO_FLOW: u32 = 3;             // frames with neither link nor network layer
export const C_TOO_MANY_LAYERS: u32 = 4;     // frames cut at MAX_LAYERS
export const C_UNKNOWN_LINKTYPE: u32 = 5;    // frames of a link type without decoder
export const C_FLOWS_CREATED: u32 = 6;
export const C_FLOW_DROPPED: u32 = 7;        // LRU evictions on a full table (Skydive FlowDropped)
export const C_DEFRAG_FRAGMENTS: u32 = 8;    // fragments absorbed while waiting for a datagram
export const C_DEFRAG_ERRORS: u32 = 9;       // fragments rejected by the defragmenter
export const C_DEFRAG_REASSEMBLED: u32 = 10; // datagrams rebuilt
export const C_ORPHAN_SUBPACKETS: u32 = 11;  // tunnel sub-packets with neither link nor network layer (Skydive panics)
export const C_BAD_RECORDS: u32 = 12;        // batch records with impossible lengths
export const C_PACKETS_WITH_FLOW: u32 = 13;  // frames that created or updated at least one flow
export const C_TABLE_NO_MEMORY: u32 = 14;    // flows not created: linear memory could not grow
export const C_COUNT: u32 = 15;

const counters = memory.data(<i32>(C_COUNT * 8));

@inline export function count(c: u32): void { store<u64>(counters + (c << 3), load<u64>(counters + (c << 3)) + 1); }
@inline export function countN(c: u32, n: u64): void { store<u64>(counters + (c << 3), load<u64>(counters + (c << 3)) + n); }
export function counterValue(c: u32): u64 { return c < C_COUNT ? load<u64>(counters + (c << 3)) : 0; }
export function resetCounters(): void { memory.fill(counters, 0, C_COUNT * 8); }
