// Skydive's ICMPType enum (flow.proto) and its mapping from ICMP types
// (spec §4.7). Request and reply map to the same value, so echo flows are
// bidirectional.

export const ICMP_UNKNOWN: u32 = 0;
export const ICMP_DESTINATION_UNREACHABLE: u32 = 1;
export const ICMP_ECHO: u32 = 2;
export const ICMP_NEIGHBOR: u32 = 3;
export const ICMP_ADDRESS_MASK: u32 = 4;
export const ICMP_INFO: u32 = 5;
export const ICMP_PARAMETER_PROBLEM: u32 = 6;
export const ICMP_REDIRECT: u32 = 7;
export const ICMP_ROUTER: u32 = 8;
export const ICMP_SOURCE_QUENCH: u32 = 9;
export const ICMP_TIME_EXCEEDED: u32 = 10;
export const ICMP_TIMESTAMP: u32 = 11;
export const ICMP_PACKET_TOO_BIG: u32 = 12;

export function icmpv4FlowType(t: u32): u32 {
  switch (t) {
    case 0: case 8: return ICMP_ECHO;
    case 17: case 18: return ICMP_ADDRESS_MASK;
    case 3: return ICMP_DESTINATION_UNREACHABLE;
    case 15: case 16: return ICMP_INFO;
    case 12: return ICMP_PARAMETER_PROBLEM;
    case 5: return ICMP_REDIRECT;
    case 9: case 10: return ICMP_ROUTER;
    case 4: return ICMP_SOURCE_QUENCH;
    case 11: return ICMP_TIME_EXCEEDED;
    case 13: case 14: return ICMP_TIMESTAMP;
  }
  return ICMP_UNKNOWN;
}

export function icmpv6FlowType(t: u32): u32 {
  switch (t) {
    case 128: case 129: return ICMP_ECHO;
    case 135: case 136: return ICMP_NEIGHBOR;
    case 1: return ICMP_DESTINATION_UNREACHABLE;
    case 2: return ICMP_PACKET_TOO_BIG;
    case 4: return ICMP_PARAMETER_PROBLEM;
    case 137: return ICMP_REDIRECT;
    case 133: case 134: return ICMP_ROUTER;
    case 3: return ICMP_TIME_EXCEEDED;
  }
  return ICMP_UNKNOWN;
}
