// Layer identifiers and their names. The names are gopacket's LayerType
// strings: they are what Skydive writes into LayersPath and Application, so
// they are part of the output format and must never be renamed.

export const L_NONE: u8 = 0;
export const L_ETHERNET: u8 = 1;
export const L_DOT1Q: u8 = 2;
export const L_LLC: u8 = 3;
export const L_SNAP: u8 = 4;
export const L_STP: u8 = 5;
export const L_ETHERNET_CTP: u8 = 6;
export const L_ETHERNET_CTP_REPLY: u8 = 7;
export const L_LINUX_SLL: u8 = 8;
export const L_LINUX_SLL2: u8 = 9;
export const L_LOOPBACK: u8 = 10;
export const L_ARP: u8 = 11;
export const L_PPP: u8 = 12;
export const L_PPPOE: u8 = 13;
export const L_EAPOL: u8 = 14;
export const L_LLDP: u8 = 15;
export const L_CDP: u8 = 16;
export const L_IPV4: u8 = 17;
export const L_IPV6: u8 = 18;
export const L_IPV6_HOPBYHOP: u8 = 19;
export const L_IPV6_ROUTING: u8 = 20;
export const L_IPV6_FRAGMENT: u8 = 21;
export const L_IPV6_DESTINATION: u8 = 22;
export const L_FRAGMENT: u8 = 23;
export const L_ICMPV4: u8 = 24;
export const L_ICMPV6: u8 = 25;
export const L_ICMPV6_ECHO: u8 = 26;
export const L_ICMPV6_ROUTER_SOLICITATION: u8 = 27;
export const L_ICMPV6_ROUTER_ADVERTISEMENT: u8 = 28;
export const L_ICMPV6_NEIGHBOR_SOLICITATION: u8 = 29;
export const L_ICMPV6_NEIGHBOR_ADVERTISEMENT: u8 = 30;
export const L_ICMPV6_REDIRECT: u8 = 31;
export const L_MLDV1_QUERY: u8 = 32;
export const L_MLDV1_REPORT: u8 = 33;
export const L_MLDV1_DONE: u8 = 34;
export const L_MLDV2_QUERY: u8 = 35;
export const L_MLDV2_REPORT: u8 = 36;
export const L_IGMP: u8 = 37;
export const L_IPSEC_AH: u8 = 38;
export const L_IPSEC_ESP: u8 = 39;
export const L_TCP: u8 = 40;
export const L_UDP: u8 = 41;
export const L_UDPLITE: u8 = 42;
export const L_RUDP: u8 = 43;
export const L_SCTP: u8 = 44;
export const L_SCTP_UNKNOWN: u8 = 45;
export const L_SCTP_DATA: u8 = 46;
export const L_SCTP_INIT: u8 = 47;
export const L_SCTP_INIT_ACK: u8 = 48;
export const L_SCTP_SACK: u8 = 49;
export const L_SCTP_HEARTBEAT: u8 = 50;
export const L_SCTP_HEARTBEAT_ACK: u8 = 51;
export const L_SCTP_ABORT: u8 = 52;
export const L_SCTP_SHUTDOWN: u8 = 53;
export const L_SCTP_SHUTDOWN_ACK: u8 = 54;
export const L_SCTP_ERROR: u8 = 55;
export const L_SCTP_COOKIE_ECHO: u8 = 56;
export const L_SCTP_COOKIE_ACK: u8 = 57;
export const L_SCTP_SHUTDOWN_COMPLETE: u8 = 58;
export const L_GRE: u8 = 59;
export const L_MPLS: u8 = 60;
export const L_VXLAN: u8 = 61;
export const L_GENEVE: u8 = 62;
export const L_VRRP: u8 = 63;
export const L_OSPF: u8 = 64;
export const L_ETHERIP: u8 = 65;
export const L_DNS: u8 = 66;
export const L_NTP: u8 = 67;
export const L_DHCPV4: u8 = 68;
export const L_DHCPV6: u8 = 69;
export const L_SIP: u8 = 70;
export const L_SFLOW: u8 = 71;
export const L_BFD: u8 = 72;
export const L_GTPV1U: u8 = 73;
export const L_PAYLOAD: u8 = 74;
export const L_DECODE_FAILURE: u8 = 75;
export const L_LLDP_INFO: u8 = 76;
export const L_CDP_INFO: u8 = 77;
export const L_ETHERNET_CTP_FORWARD_DATA: u8 = 78;
export const L_EAP: u8 = 79;
export const L_EAPOL_KEY: u8 = 80;
export const L_COUNT: u8 = 81;

// Pseudo decoders: dispatch targets that add no layer of their own.
/** Skydive's ERSPAN type II on EtherType 0x88BE: skip 8 bytes, decode Ethernet. */
export const D_ERSPAN2: u8 = 200;
/** Skydive's MPLS bottom-of-stack guesser: IPv4/IPv6 by nibble, else Ethernet. */
export const D_MPLS_PAYLOAD: u8 = 201;
/** Skydive's raw-IP entry (LayerTypeRawIP): IPv4/IPv6 by nibble, else ARP. */
export const D_RAW_IP: u8 = 202;
/** gopacket's LinkTypeRaw decoder: IPv4/IPv6 by nibble, else a decode error. */
export const D_IP_BY_VERSION: u8 = 203;
/** Link types 228 / 229 (LINKTYPE_IPV4 / IPV6): the version nibble must match. */
export const D_IPV4_LINK: u8 = 205;
export const D_IPV6_LINK: u8 = 206;
/** IPv6 as Skydive's guessers decode it: no hop-by-hop layer, payload cut to Length. */
export const D_IPV6_RAW: u8 = 207;
/** Skydive's MPLS guesser falling back to Ethernet after a failed IP decode. */
export const D_MPLS_ETH_FALLBACK: u8 = 208;
/** ERSPAN type III (GRE protocol 0x22EB), decoded only when enabled (Skydive stops there). */
export const D_ERSPAN3: u8 = 209;

const NAMES: string[] = [
  '', 'Ethernet', 'Dot1Q', 'LLC', 'SNAP', 'STP', 'EthernetCTP', 'EthernetCTPReply', 'Linux SLL',
  'Linux SLL2', 'Loopback', 'ARP', 'PPP', 'PPPoE', 'EAPOL', 'LinkLayerDiscovery', 'CiscoDiscovery',
  'IPv4', 'IPv6', 'IPv6HopByHop', 'IPv6Routing', 'IPv6Fragment', 'IPv6Destination', 'Fragment',
  'ICMPv4', 'ICMPv6', 'ICMPv6Echo', 'ICMPv6RouterSolicitation', 'ICMPv6RouterAdvertisement',
  'ICMPv6NeighborSolicitation', 'ICMPv6NeighborAdvertisement', 'ICMPv6Redirect',
  'MLDv1MulticastListenerQuery', 'MLDv1MulticastListenerReport', 'MLDv1MulticastListenerDone',
  'MLDv2MulticastListenerQuery', 'MLDv2MulticastListenerReport', 'IGMP', 'IPSecAH', 'IPSecESP',
  'TCP', 'UDP', 'UDPLite', 'RUDP', 'SCTP', 'SCTPUnknownChunkType', 'SCTPData', 'SCTPInit',
  'SCTPInitAck', 'SCTPSack', 'SCTPHeartbeat', 'SCTPHeartbeatAck', 'SCTPAbort', 'SCTPShutdown',
  'SCTPShutdownAck', 'SCTPError', 'SCTPCookieEcho', 'SCTPCookieAck', 'SCTPShutdownComplete',
  'GRE', 'MPLS', 'VXLAN', 'Geneve', 'VRRP', 'OSPF', 'EtherIP', 'DNS', 'NTP', 'DHCPv4', 'DHCPv6',
  'SIP', 'SFlow', 'BFD', 'GTPv1U', 'Payload', 'DecodeFailure', 'LinkLayerDiscoveryInfo',
  'CiscoDiscoveryInfo', 'EthernetCTPForwardData', 'EAP', 'EAPOLKey',
];

/** Writes the ASCII name of layer `id` at `dst`; returns its length (0 for unknown ids). */
export function layerNameInto(id: u32, dst: usize): u32 {
  if (id >= <u32>NAMES.length) return 0;
  const s = NAMES[id];
  for (let i = 0; i < s.length; i++) store<u8>(dst + i, <u8>s.charCodeAt(i));
  return <u32>s.length;
}

/** Layer ids of the names table must line up with the constants above (checked by tests). */
export function layerCount(): u32 { return <u32>NAMES.length; }
