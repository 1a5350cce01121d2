// Table options (Skydive TableOpts / capture settings), set by the host
// before traffic. Defaults are Skydive's agent defaults.

export let layerKeyModeL3: bool = false;   // flow.default_layer_key_mode / capture LayerKeyMode
export let extraTCPMetric: bool = true;    // capture ExtraTCPMetric
export let reassembleTCP: bool = true;     // capture ReassembleTCP
export let ipDefrag: bool = true;          // capture IPDefrag
export let extraLayers: u32 = 0;           // VRRP 1, DNS 2, DHCPv4 4

export const EXTRA_VRRP: u32 = 1;
export const EXTRA_DNS: u32 = 2;
export const EXTRA_DHCPV4: u32 = 4;

const NODE_TID_MAX: u32 = 256;
export const nodeTID = memory.data(<i32>NODE_TID_MAX);
export let nodeTIDLen: u32 = 0;

// Application names by port (flow.application_ports): index of a name the host
// keeps, per protocol and port; 0 = none.
const tcpApps = memory.data(65536);
const udpApps = memory.data(65536);
// Application timeouts in ms (flow.application_timeout), by layer id and by
// application-port name index (the host matches the upper-cased config keys).
const layerTimeouts = memory.data(256 * 8, 8);
const appTimeouts = memory.data(256 * 8, 8);

export function setOptions(l3: bool, tcpMetric: bool, reassemble: bool, defrag: bool, extra: u32): void {
  layerKeyModeL3 = l3;
  extraTCPMetric = tcpMetric;
  reassembleTCP = reassemble;
  ipDefrag = defrag;
  extraLayers = extra;
}

/** NodeTID bytes are written by the host at nodeTIDBuffer(); len <= 256. */
export function nodeTIDBuffer(): usize { return nodeTID; }
export function setNodeTIDLength(n: u32): void { nodeTIDLen = n < NODE_TID_MAX ? n : NODE_TID_MAX; }

export function setApplicationPort(udp: bool, port: u32, app: u32): void {
  store<u8>((udp ? udpApps : tcpApps) + (port & 0xffff), <u8>app);
}
@inline export function tcpApp(port: u32): u32 { return load<u8>(tcpApps + (port & 0xffff)); }
@inline export function udpApp(port: u32): u32 { return load<u8>(udpApps + (port & 0xffff)); }

export function setLayerTimeout(layer: u32, ms: i64): void { store<i64>(layerTimeouts + ((layer & 0xff) << 3), ms); }
export function setAppTimeout(app: u32, ms: i64): void { store<i64>(appTimeouts + ((app & 0xff) << 3), ms); }
@inline export function layerTimeout(layer: u32): i64 { return load<i64>(layerTimeouts + ((layer & 0xff) << 3)); }
@inline export function appTimeout(app: u32): i64 { return load<i64>(appTimeouts + ((app & 0xff) << 3)); }
