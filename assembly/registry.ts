// Protocol wiring: which number leads to which decoder, and the dispatch from
// a decoder id to its function. Decoders never call each other; they return
// the id of the next decoder and this table runs it (gopacket's
// EthernetTypeMetadata / IPProtocolMetadata / udpPortLayerType, in one place).
//
// Defaults are gopacket v1.1.17's plus Skydive's registrations: anything beyond
// them changes flow keys, so it is opt-in (setUDPPortDecoder from the config).

import * as ids from './ids';
import { decodeEthernet } from './layers/ethernet';
import { decodeDot1Q } from './layers/dot1q';
import { decodeLLC, decodeSNAP, decodeSTP } from './layers/llc';
import { decodeEthernetCTP, decodeEthernetCTPReply } from './layers/ctp';
import { decodeLinuxSLL, decodeLinuxSLL2 } from './layers/sll';
import { decodeLoopback } from './layers/loopback';
import { decodeARP } from './layers/arp';
import { decodePPP, decodePPPoE } from './layers/ppp';
import { decodeEAPOL } from './layers/eapol';
import { decodeLLDP } from './layers/lldp';
import { decodeCDP } from './layers/cdp';
import { decodeIPv4 } from './layers/ipv4';
import { decodeIPv6, decodeIPv6Raw, decodeIPv6HopByHop, decodeIPv6Routing, decodeIPv6Fragment, decodeIPv6Destination } from './layers/ipv6';
import { decodeFragment } from './layers/fragment';
import { decodeICMPv4 } from './layers/icmpv4';
import { decodeICMPv6, decodeICMPv6Sub } from './layers/icmpv6';
import { decodeIGMP } from './layers/igmp';
import { decodeIPSecAH, decodeIPSecESP } from './layers/ipsec';
import { decodeTCP } from './layers/tcp';
import { decodeUDP } from './layers/udp';
import { decodeUDPLite } from './layers/udplite';
import { decodeRUDP } from './layers/rudp';
import { decodeSCTP, decodeSCTPChunk } from './layers/sctp';
import { decodeGRE } from './layers/gre';
import { decodeERSPAN2, decodeERSPAN3 } from './layers/erspan';
import { decodeMPLS, decodeMPLSEthernetFallback, decodeMPLSPayload } from './layers/mpls';
import { decodeVXLAN } from './layers/vxlan';
import { decodeGeneve } from './layers/geneve';
import { decodeVRRP } from './layers/vrrp';
import { decodeOSPF } from './layers/ospf';
import { decodeEtherIP } from './layers/etherip';
import { decodeDNS } from './layers/dns';
import { decodeNTP } from './layers/ntp';
import { decodeDHCPv4 } from './layers/dhcpv4';
import { decodeDHCPv6 } from './layers/dhcpv6';
import { decodeSIP } from './layers/sip';
import { decodeSFlow } from './layers/sflow';
import { decodeBFD } from './layers/bfd';
import { decodeGTPv1U } from './layers/gtpv1u';
import { decodePayload } from './layers/payload';
import { decodeRawIP, decodeIPByVersion, decodeIPv4Link, decodeIPv6Link } from './layers/rawip';

// Sentinel for "this number has no decoder": the caller decides whether that
// is an error (Ethernet, IP protocol) or a silent stop (Dot1Q, GRE).
export const NO_DECODER: u8 = 255;

const etherTypes = memory.data(65536);
const ipProtocols = memory.data(256);
const udpPorts = memory.data(65536);

export function initRegistry(): void {
  memory.fill(etherTypes, NO_DECODER, 65536);
  memory.fill(ipProtocols, NO_DECODER, 256);
  memory.fill(udpPorts, 0, 65536);
  // 802.3 frames: Ethernet maps lengths below 0x0600 to EthernetType 0 (LLC).
  setEtherType(0x0000, ids.L_LLC);
  setEtherType(0x0800, ids.L_IPV4);
  setEtherType(0x0806, ids.L_ARP);
  setEtherType(0x86dd, ids.L_IPV6);
  setEtherType(0x2000, ids.L_CDP);
  setEtherType(0x6558, ids.L_ETHERNET);
  setEtherType(0x8100, ids.L_DOT1Q);
  setEtherType(0x88a8, ids.L_DOT1Q);
  setEtherType(0x880b, ids.L_PPP);
  setEtherType(0x8863, ids.L_PPPOE);
  setEtherType(0x8864, ids.L_PPPOE);
  setEtherType(0x8847, ids.L_MPLS);
  setEtherType(0x8848, ids.L_MPLS);
  setEtherType(0x888e, ids.L_EAPOL);
  setEtherType(0x88cc, ids.L_LLDP);
  setEtherType(0x9000, ids.L_ETHERNET_CTP);
  setEtherType(0x88be, ids.D_ERSPAN2);

  setIPProtocol(0, ids.L_IPV6_HOPBYHOP);
  setIPProtocol(1, ids.L_ICMPV4);
  setIPProtocol(2, ids.L_IGMP);
  setIPProtocol(4, ids.L_IPV4);
  setIPProtocol(6, ids.L_TCP);
  setIPProtocol(17, ids.L_UDP);
  setIPProtocol(27, ids.L_RUDP);
  setIPProtocol(41, ids.L_IPV6);
  setIPProtocol(43, ids.L_IPV6_ROUTING);
  setIPProtocol(44, ids.L_IPV6_FRAGMENT);
  setIPProtocol(47, ids.L_GRE);
  setIPProtocol(50, ids.L_IPSEC_ESP);
  setIPProtocol(51, ids.L_IPSEC_AH);
  setIPProtocol(58, ids.L_ICMPV6);
  setIPProtocol(59, ids.L_PAYLOAD);
  setIPProtocol(60, ids.L_IPV6_DESTINATION);
  setIPProtocol(89, ids.L_OSPF);
  setIPProtocol(94, ids.L_IPV4);
  setIPProtocol(97, ids.L_ETHERIP);
  setIPProtocol(112, ids.L_VRRP);
  setIPProtocol(132, ids.L_SCTP);
  setIPProtocol(136, ids.L_UDPLITE);
  setIPProtocol(137, ids.L_MPLS);

  setUDPPortDecoder(53, ids.L_DNS);
  setUDPPortDecoder(123, ids.L_NTP);
  setUDPPortDecoder(4789, ids.L_VXLAN);
  // Skydive registers the Linux kernel's historical VXLAN port on Linux.
  setUDPPortDecoder(8472, ids.L_VXLAN);
  setUDPPortDecoder(67, ids.L_DHCPV4);
  setUDPPortDecoder(68, ids.L_DHCPV4);
  setUDPPortDecoder(546, ids.L_DHCPV6);
  setUDPPortDecoder(547, ids.L_DHCPV6);
  setUDPPortDecoder(5060, ids.L_SIP);
  setUDPPortDecoder(6343, ids.L_SFLOW);
  setUDPPortDecoder(6081, ids.L_GENEVE);
  setUDPPortDecoder(3784, ids.L_BFD);
  setUDPPortDecoder(2152, ids.L_GTPV1U);
}

export function setEtherType(t: u32, id: u8): void { store<u8>(etherTypes + (t & 0xffff), id); }
export function setIPProtocol(p: u32, id: u8): void { store<u8>(ipProtocols + (p & 0xff), id); }
/** Registers (or, with 0, removes) the decoder for a UDP port, e.g. MPLS over UDP. */
export function setUDPPortDecoder(port: u32, id: u8): void { store<u8>(udpPorts + (port & 0xffff), id); }

@inline export function etherTypeDecoder(t: u32): u8 { return load<u8>(etherTypes + (t & 0xffff)); }
@inline export function ipProtocolDecoder(p: u32): u8 { return load<u8>(ipProtocols + (p & 0xff)); }
/** gopacket's UDP rule: the destination port first, then the source port, else Payload. */
export function udpNextDecoder(src: u32, dst: u32): u8 {
  let id = load<u8>(udpPorts + (dst & 0xffff));
  if (id == 0) id = load<u8>(udpPorts + (src & 0xffff));
  return id == 0 ? ids.L_PAYLOAD : id;
}

/** First decoder for a capture link type (pcap LINKTYPE_* numbers). */
export function linkTypeDecoder(linkType: u32): u8 {
  switch (linkType) {
    case 0: return ids.L_LOOPBACK;
    case 1: return ids.L_ETHERNET;
    case 9: return ids.L_PPP;
    case 12: case 14: case 101: return ids.D_IP_BY_VERSION;
    case 113: return ids.L_LINUX_SLL;
    // gopacket 1.1.17 has no decoder for these two (Skydive gives no flow): ours, see docs/compat.md.
    case 228: return ids.D_IPV4_LINK;
    case 229: return ids.D_IPV6_LINK;
    case 276: return ids.L_LINUX_SLL2;
    case 0x10000: return ids.D_RAW_IP; // Skydive's LayerTypeRawIP (interfaces without a link layer)
  }
  return NO_DECODER;
}

/**
 * dispatch, with the decoders of the common chain called directly: through
 * dispatch, every layer is a jump through one table to a target that changes
 * from layer to layer, inside a function whose frame is that of all the
 * decoders at once (they are inlined into it). Same decoders, same results;
 * the first four are @inline, so the decode loop runs them without a call.
 */
@inline export function decodeLayer(id: u8, s: usize, e: usize): i32 {
  if (id == ids.L_ETHERNET) return decodeEthernet(s, e);
  if (id == ids.L_IPV4) return decodeIPv4(s, e);
  if (id == ids.L_TCP) return decodeTCP(s, e);
  if (id == ids.L_PAYLOAD) return decodePayload(s, e);
  if (id == ids.L_UDP) return decodeUDP(s, e);
  if (id == ids.L_IPV6) return decodeIPv6(s, e);
  return dispatch(id, s, e);
}

/** Runs decoder `id` over [s, e). Returns the next decoder id, L_NONE to stop, -1 on error. */
export function dispatch(id: u8, s: usize, e: usize): i32 {
  switch (id) {
    case ids.L_ETHERNET: return decodeEthernet(s, e);
    case ids.L_DOT1Q: return decodeDot1Q(s, e);
    case ids.L_LLC: return decodeLLC(s, e);
    case ids.L_SNAP: return decodeSNAP(s, e);
    case ids.L_STP: return decodeSTP(s, e);
    case ids.L_ETHERNET_CTP: return decodeEthernetCTP(s, e);
    case ids.L_ETHERNET_CTP_REPLY: return decodeEthernetCTPReply(s, e);
    case ids.L_LINUX_SLL: return decodeLinuxSLL(s, e);
    case ids.L_LINUX_SLL2: return decodeLinuxSLL2(s, e);
    case ids.L_LOOPBACK: return decodeLoopback(s, e);
    case ids.L_ARP: return decodeARP(s, e);
    case ids.L_PPP: return decodePPP(s, e);
    case ids.L_PPPOE: return decodePPPoE(s, e);
    case ids.L_EAPOL: return decodeEAPOL(s, e);
    case ids.L_LLDP: return decodeLLDP(s, e);
    case ids.L_CDP: return decodeCDP(s, e);
    case ids.L_IPV4: return decodeIPv4(s, e);
    case ids.L_IPV6: return decodeIPv6(s, e);
    case ids.L_IPV6_HOPBYHOP: return decodeIPv6HopByHop(s, e);
    case ids.L_IPV6_ROUTING: return decodeIPv6Routing(s, e);
    case ids.L_IPV6_FRAGMENT: return decodeIPv6Fragment(s, e);
    case ids.L_IPV6_DESTINATION: return decodeIPv6Destination(s, e);
    case ids.L_FRAGMENT: return decodeFragment(s, e);
    case ids.L_ICMPV4: return decodeICMPv4(s, e);
    case ids.L_ICMPV6: return decodeICMPv6(s, e);
    case ids.L_ICMPV6_ECHO: case ids.L_ICMPV6_ROUTER_SOLICITATION: case ids.L_ICMPV6_ROUTER_ADVERTISEMENT:
    case ids.L_ICMPV6_NEIGHBOR_SOLICITATION: case ids.L_ICMPV6_NEIGHBOR_ADVERTISEMENT:
    case ids.L_ICMPV6_REDIRECT: case ids.L_MLDV1_QUERY: case ids.L_MLDV1_REPORT: case ids.L_MLDV1_DONE:
    case ids.L_MLDV2_QUERY: case ids.L_MLDV2_REPORT:
      return decodeICMPv6Sub(id, s, e);
    case ids.L_IGMP: return decodeIGMP(s, e);
    case ids.L_IPSEC_AH: return decodeIPSecAH(s, e);
    case ids.L_IPSEC_ESP: return decodeIPSecESP(s, e);
    case ids.L_TCP: return decodeTCP(s, e);
    case ids.L_UDP: return decodeUDP(s, e);
    case ids.L_UDPLITE: return decodeUDPLite(s, e);
    case ids.L_RUDP: return decodeRUDP(s, e);
    case ids.L_SCTP: return decodeSCTP(s, e);
    case ids.L_SCTP_UNKNOWN: case ids.L_SCTP_DATA: case ids.L_SCTP_INIT: case ids.L_SCTP_INIT_ACK:
    case ids.L_SCTP_SACK: case ids.L_SCTP_HEARTBEAT: case ids.L_SCTP_HEARTBEAT_ACK: case ids.L_SCTP_ABORT:
    case ids.L_SCTP_SHUTDOWN: case ids.L_SCTP_SHUTDOWN_ACK: case ids.L_SCTP_ERROR: case ids.L_SCTP_COOKIE_ECHO:
    case ids.L_SCTP_COOKIE_ACK: case ids.L_SCTP_SHUTDOWN_COMPLETE:
      return decodeSCTPChunk(s, e);
    case ids.L_GRE: return decodeGRE(s, e);
    case ids.D_ERSPAN2: return decodeERSPAN2(s, e);
    case ids.L_MPLS: return decodeMPLS(s, e);
    case ids.D_MPLS_PAYLOAD: return decodeMPLSPayload(s, e);
    case ids.D_MPLS_ETH_FALLBACK: return decodeMPLSEthernetFallback(s, e);
    case ids.D_ERSPAN3: return decodeERSPAN3(s, e);
    case ids.L_VXLAN: return decodeVXLAN(s, e);
    case ids.L_GENEVE: return decodeGeneve(s, e);
    case ids.L_VRRP: return decodeVRRP(s, e);
    case ids.L_OSPF: return decodeOSPF(s, e);
    case ids.L_ETHERIP: return decodeEtherIP(s, e);
    case ids.L_DNS: return decodeDNS(s, e);
    case ids.L_NTP: return decodeNTP(s, e);
    case ids.L_DHCPV4: return decodeDHCPv4(s, e);
    case ids.L_DHCPV6: return decodeDHCPv6(s, e);
    case ids.L_SIP: return decodeSIP(s, e);
    case ids.L_SFLOW: return decodeSFlow(s, e);
    case ids.L_BFD: return decodeBFD(s, e);
    case ids.L_GTPV1U: return decodeGTPv1U(s, e);
    case ids.L_PAYLOAD: return decodePayload(s, e);
    case ids.D_RAW_IP: return decodeRawIP(s, e);
    case ids.D_IP_BY_VERSION: return decodeIPByVersion(s, e);
    case ids.D_IPV4_LINK: return decodeIPv4Link(s, e);
    case ids.D_IPV6_RAW: return decodeIPv6Raw(s, e);
    case ids.D_IPV6_LINK: return decodeIPv6Link(s, e);
  }
  return -1;
}
