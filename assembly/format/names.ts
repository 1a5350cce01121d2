// Layer names (ids.ts) as bytes, for writers that copy them into text:
// LayersPath and Application in JSON, the ranks of the sort key. Converted
// once from the names table, so ids.ts stays the only source.
import { layerCount, layerNameInto } from '../ids';

/**
 * Bytes per name slot. The longest gopacket name used is 28 bytes
 * (MLDv2MulticastListenerReport); the slot keeps 8 bytes of slack so a name
 * can be copied a word at a time.
 */
export const NAME_STRIDE: u32 = 40;
/** Longest name that fits a slot with its slack. */
export const NAME_MAX: u32 = NAME_STRIDE - 8;

// One slot per possible u8 id: an id the names table does not know has an
// empty name, as the JS reader gives it ('' for an undefined entry).
const names = memory.data(<i32>(256 * NAME_STRIDE), 8);
const lengths = memory.data(256);
let ready = false;

/** Fills the table on first use. */
export function layerNamesInit(): void {
  if (ready) return;
  const n = layerCount();
  for (let id: u32 = 0; id < n && id < 256; id++) {
    const len = layerNameInto(id, names + id * NAME_STRIDE);
    // A longer name would overrun its slot: ids.ts and NAME_STRIDE disagree (checked by the tests).
    assert(len <= NAME_MAX);
    store<u8>(lengths + id, <u8>len);
  }
  ready = true;
}

/** Address of the name of layer `id` (after layerNamesInit). */
@inline export function layerNameAddr(id: u32): usize { return names + (id & 0xff) * NAME_STRIDE; }
/** Length in bytes of the name of layer `id`; 0 when unknown. */
@inline export function layerNameLen(id: u32): u32 { return load<u8>(lengths + (id & 0xff)); }
