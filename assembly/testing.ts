// Read-only views of the per-packet layer table, for tests and tools that
// inspect the decoders (gopacket-style layer dumps). Not used on the hot path.
import { linkLayer, networkLayer, nLayers, rec, transportLayer, truncated } from './packet';

export function testLayerCount(): u32 { return nLayers; }
/** Address of layer i's 64-byte record (see packet.ts for its layout). */
export function testLayerRecord(i: u32): usize { return rec(i); }
export function testLinkLayer(): i32 { return linkLayer; }
export function testNetworkLayer(): i32 { return networkLayer; }
export function testTransportLayer(): i32 { return transportLayer; }
export function testTruncated(): bool { return truncated; }

// The streaming hasher, for checking Skydive's XXH64 variant against an
// independent reference in the tests.
export { hashReset as testHashReset, hashWrite as testHashWrite, hashSum64 as testHashSum64 } from './hash/xxhash64';
