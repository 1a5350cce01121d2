// Strings of the flow JSON that come from the host's configuration, not
// from packets: NodeTID, CaptureID and the flow.application_ports names.
// The host hands each one over once, already quoted and escaped as Go's
// encoding/json writes it (src/format/json.ts quoteGo) and UTF-8 encoded, so
// the encoder only copies bytes.
import { heapAlloc } from '../alloc';

const SLOT_NODE_TID: u32 = 0;
const SLOT_CAPTURE_ID: u32 = 1;
/** Application names: slot 2 + index, index 1..255 as FL_APP holds it (0 = none). */
const SLOT_APP: u32 = 2;
const SLOTS: u32 = SLOT_APP + 256;

const addrs = memory.data(<i32>(SLOTS * 4), 4);
const lengths = memory.data(<i32>(SLOTS * 4), 4);
let longestApp: u32 = 0;

/**
 * Keeps `len` bytes from `src` as the JSON text of `slot`; 0 bytes means
 * the field is empty (omitted). Configuration time only: each call takes new
 * heap memory.
 */
function setText(slot: u32, src: usize, len: u32): bool {
  if (len == 0) {
    store<u32>(lengths + (slot << 2), 0);
    return true;
  }
  // 8 bytes of slack: the encoder copies a word at a time.
  const p = heapAlloc(len + 8);
  if (p == 0) return false;
  memory.copy(p, src, len);
  store<u32>(addrs + (slot << 2), <u32>p);
  store<u32>(lengths + (slot << 2), len);
  return true;
}

/** NodeTID as a JSON string literal with its quotes (`""` or nothing when empty); false when out of memory. */
export function setJSONNodeTID(src: usize, len: u32): bool { return setText(SLOT_NODE_TID, src, len); }

/** CaptureID as a JSON string literal with its quotes, nothing when empty. */
export function setJSONCaptureID(src: usize, len: u32): bool { return setText(SLOT_CAPTURE_ID, src, len); }

/** Name of application-port index `app` (1..255) as a JSON string literal; nothing for an empty name. */
export function setJSONApplication(app: u32, src: usize, len: u32): bool {
  if (app == 0 || app > 255) return false;
  if (len > longestApp) longestApp = len;
  return setText(SLOT_APP + app, src, len);
}

@inline export function nodeTIDText(): usize { return <usize>load<u32>(addrs + (SLOT_NODE_TID << 2)); }
@inline export function nodeTIDTextLen(): u32 { return load<u32>(lengths + (SLOT_NODE_TID << 2)); }
@inline export function captureIDText(): usize { return <usize>load<u32>(addrs + (SLOT_CAPTURE_ID << 2)); }
@inline export function captureIDTextLen(): u32 { return load<u32>(lengths + (SLOT_CAPTURE_ID << 2)); }
@inline export function applicationText(app: u32): usize { return <usize>load<u32>(addrs + ((SLOT_APP + (app & 0xff)) << 2)); }
@inline export function applicationTextLen(app: u32): u32 { return load<u32>(lengths + ((SLOT_APP + (app & 0xff)) << 2)); }

/** Most bytes the host strings can add to one flow's JSON. */
export function hostTextBound(): u32 {
  return nodeTIDTextLen() + captureIDTextLen() + longestApp;
}
