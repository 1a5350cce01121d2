// Field offsets (within a layer record's 48-byte field area) that the flow
// code reads from layers decoded in other files. Decoders write them there.

// IPv6 (ipv6.ts)
export const IP6_SRC: u32 = 0;        // 16 bytes
export const IP6_DST: u32 = 16;       // 16 bytes
export const IP6_LENGTH: u32 = 32;    // u32: payload length (jumbogram length when present)
export const IP6_HOPLIMIT: u32 = 36;  // u8
export const IP6_NEXT: u32 = 37;      // u8: next header
export const IP6_HAS_ADDR: u8 = 1;    // layer flag: addresses were parsed

// ICMPv6 (icmpv6.ts)
export const ICMP6_TYPE: u32 = 0;     // u8
export const ICMP6_CODE: u32 = 1;     // u8
// ICMPv6Echo (icmpv6.ts)
export const ICMP6_ECHO_ID: u32 = 0;  // u16 identifier

// Tunnels
export const GRE_KEY: u32 = 0;        // u32, 0 without the K bit (gre.ts)
export const VXLAN_VNI: u32 = 0;      // u32 (vxlan.ts)
export const GENEVE_VNI: u32 = 0;     // u32 (geneve.ts)

// Other transports: ports as u16 at 0 and 2 (sctp.ts, udplite.ts); RUDP ports are u8 at 0 and 1.
export const PORT_SRC: u32 = 0;
export const PORT_DST: u32 = 2;
export const RUDP_SRC: u32 = 0;
export const RUDP_DST: u32 = 1;

/**
 * Layer flag of transport layers (TCP, UDP, SCTP, UDPLite, RUDP): the ports
 * were parsed. gopacket's transport flow of a header too short to hold them
 * has empty endpoints, which hash differently from ports 0.
 */
export const PORTS_PARSED: u8 = 1;
