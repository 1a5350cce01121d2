/**
 * Test helper: decode one frame with the debug core and return gopacket-style
 * layers (name, header/payload bytes, the 48-byte field area) for assertions.
 */
import { loadCore, layerNames, type CoreExports } from '../../src/wasm/module.js';

export interface DecodedLayer {
  name: string;
  /** Offset of the layer's first byte from the frame start (for layers inside the frame). */
  offset: number;
  contents: number;
  payload: number;
  flags: number;
  /** The 48-byte per-protocol field area. */
  fields: DataView;
}

export interface Decoded {
  layers: DecodedLayer[];
  path: string;
  link: number;
  network: number;
  transport: number;
  truncated: boolean;
}

let core: CoreExports | undefined;
let names: string[] = [];

export function testCore(): CoreExports {
  if (!core) {
    core = loadCore(true);
    names = layerNames(core);
  }
  return core;
}

/** Decodes `frame` as link type `linkType` (1 = Ethernet) and reads back the layer table. */
export function decode(frame: Uint8Array | number[], linkType = 1): Decoded {
  const c = testCore();
  const bytes = frame instanceof Uint8Array ? frame : Uint8Array.from(frame);
  const at = c.inputBuffer();
  new Uint8Array(c.memory.buffer, at, bytes.length).set(bytes);
  c.decodePacket(at, bytes.length, linkType);
  const layers: DecodedLayer[] = [];
  const n = c.testLayerCount();
  for (let i = 0; i < n; i++) {
    const r = c.testLayerRecord(i);
    const dv = new DataView(c.memory.buffer, r, 64);
    layers.push({
      name: names[dv.getUint8(0)],
      flags: dv.getUint8(1),
      offset: dv.getUint32(4, true) - at,
      contents: dv.getUint32(8, true),
      payload: dv.getUint32(12, true),
      fields: new DataView(c.memory.buffer.slice(r + 16, r + 64)),
    });
  }
  return {
    layers,
    path: layers.map((l) => l.name).join('/'),
    link: c.testLinkLayer(),
    network: c.testNetworkLayer(),
    transport: c.testTransportLayer(),
    truncated: c.testTruncated() !== 0,
  };
}

/** Parses "aa bb cc" / "aabbcc" hex (comments after # on each line are ignored). */
export function hex(s: string): Uint8Array {
  const clean = s.split('\n').map((l) => l.replace(/#.*/, '')).join('').replace(/[^0-9a-fA-F]/g, '');
  return Uint8Array.from(clean.match(/../g)!.map((b) => parseInt(b, 16)));
}
