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
