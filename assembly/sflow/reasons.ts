// Why the collector rejects an sFlow datagram. A rejected datagram gives
// nothing: no packet, no sample, no counter (the output is rolled back), so a
// bad length can never turn into a half-read sample. The host keeps a counter
// per reason; the names live in src/capture/sflow-decode.ts in the same order
// (a test checks that both lists have the same length).

export const R_OK: u32 = 0;
/** Shorter than the datagram header (version, agent address, ids, sample count). */
export const R_SHORT_HEADER: u32 = 1;
/** Not sFlow version 5. */
export const R_VERSION: u32 = 2;
/** Agent address type other than 0 (unknown), 1 (IPv4) or 2 (IPv6). */
export const R_AGENT_ADDRESS_TYPE: u32 = 3;
/** More samples announced than the datagram can hold (8 bytes each at least). */
export const R_SAMPLE_COUNT: u32 = 4;
/** A sample's format/length words, or the bytes its length announces, run past the datagram. */
export const R_SAMPLE_LENGTH: u32 = 5;
/** A flow or counter sample shorter than its own fixed fields. */
export const R_SAMPLE_TOO_SHORT: u32 = 6;
/** More records announced than the sample can hold (8 bytes each at least). */
export const R_RECORD_COUNT: u32 = 7;
/** A record's format/length words, or the bytes its length announces, run past its sample. */
export const R_RECORD_LENGTH: u32 = 8;
/** A known record shorter than its fields (a raw header longer than its record, counters cut short). */
export const R_RECORD_TOO_SHORT: u32 = 9;
/** The host's output regions are too small for what the datagram gives. */
export const R_NO_ROOM: u32 = 10;
export const R_COUNT: u32 = 11;
