// Field offsets (within a layer record's 48-byte field area) that the flow
// code reads from layers decoded in other files. Decoders write them there.

// Other transports keep their ports as u16 at 0 and 2 (sctp.ts, udplite.ts,
// rudp.ts, whose ports are one byte on the wire).
export const PORT_SRC: u32 = 0;
export const PORT_DST: u32 = 2;

/**
 * Layer flag of transport layers (TCP, UDP, SCTP, UDPLite, RUDP): the ports
 * were parsed. gopacket's transport flow of a header too short to hold them
 * has empty endpoints, which hash differently from ports 0.
 */
export const PORTS_PARSED: u8 = 1;
