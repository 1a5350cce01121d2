// Layout of a flow entry in linear memory. The table (table.ts) stores these
// records in slabs; the host reads emitted copies through these offsets,
// which the module exports as globals so that both sides share one source.
//
// Every packet of a flow reads and writes the first two cache lines of its
// record only (the table's slabs are 64-byte aligned and FLOW_SIZE is a
// multiple of 64): the key, counters, timestamps and both endpoints, which
// a plain frame is matched against (plain.ts), in the first two; what the
// direction tests, reassembly and the table read in the second. The rest is
// written when the flow is created, on rare packets, or by the timers.

// Line 0: lookup key, counters, timestamps, Network.B.
export const FL_KEY: u32 = 0;            // u64 flow-table key
export const FL_LAST: u32 = 8;           // i64 ms
export const FL_AB_PACKETS: u32 = 16;    // i64 Metric (these four in this order: FL_SNAP copies them)
export const FL_AB_BYTES: u32 = 24;
export const FL_BA_PACKETS: u32 = 32;
export const FL_BA_BYTES: u32 = 40;
export const FL_NET_B: u32 = 48;         // 16 bytes
// Line 1: direction tests, table and reassembly links, state bytes.
export const FL_NET_A: u32 = 64;         // 16 bytes (IPv4 in the first 4)
export const FL_MAC_A: u32 = 80;         // 6 bytes
export const FL_MAC_B: u32 = 86;         // 6 bytes
export const FL_PORT_A: u32 = 92;        // u16
export const FL_PORT_B: u32 = 94;        // u16
export const FL_HASH_NEXT: u32 = 96;     // u32 slot (the LRU links are kept apart: table.ts)
export const FL_TCP_CONN: u32 = 100;     // u32 reassembly connection (tcpassembly.ts), 0 = none
export const FL_UPDATE_VER: u32 = 104;   // u32 table update version of the last packet
export const FL_SLOT: u32 = 108;         // u32 own slot number
export const FL_RTT_FIRST: u32 = 112;    // i64 ns, state: time of the pending request
export const FL_BITS: u32 = 120;         // u16: FLB_* bits
export const FL_NET_PROTO: u32 = 122;    // u8: 0 none, 4 IPv4, 6 IPv6
export const FL_TRANSPORT: u32 = 123;    // u8: 0 none, 1 TCP, 2 UDP, 3 SCTP
export const FL_ICMP_TYPE: u32 = 124;    // u8: ICMPType enum + 1, 0 = no ICMP
export const FL_NET_A_NIL: u32 = 125;    // u8: 1 when Network.A/B are gopacket nil addresses ("<nil>")
export const FL_EXTRA_KIND: u32 = 126;   // u8: 0 none, 1 DHCPv4, 2 DNS, 3 VRRP
export const FL_FINISH: u32 = 127;       // u8: FinishType
// Lines 2-8.
export const FL_RTT: u32 = 128;          // i64 ns
export const FL_L2KEY: u32 = 136;        // u64 TrackingID
export const FL_L3KEY: u32 = 144;        // u64 L3TrackingID
export const FL_PARENT: u32 = 152;       // u64 parent UUID (valid when FLB_PARENT)
export const FL_START: u32 = 160;        // i64 ms
export const FL_LUM: u32 = 168;          // LastUpdateMetric: AB pkts, AB bytes, BA pkts, BA bytes, Start, Last, RTT (7 x i64)
export const FL_SNAP: u32 = 224;         // counters at the previous update tick (4 x i64)
export const FL_LINK_ID: u32 = 256;      // i64
export const FL_NET_ID: u32 = 264;       // i64
export const FL_TCP: u32 = 272;          // ABSynStart, BASynStart, ABFinStart, BAFinStart, ABRstStart, BARstStart (6 x i64)
export const FL_TCP_AB: u32 = 320;       // reassembly AB: OutOfOrder, Skipped, SkippedBytes, Packets, Bytes, SawStart, SawEnd (7 x i64)
export const FL_TCP_BA: u32 = 376;       // same for BA
export const FL_IP_FRAGMENTS: u32 = 432; // i64 IPMetric
export const FL_IP_FRAG_ERRORS: u32 = 440;
export const FL_UUID: u32 = 448;         // u64 (the parent of the next encapsulation level)
// 456-463 unused
export const FL_ICMP_CODE: u32 = 464;    // u32
export const FL_ICMP_ID: u32 = 468;      // u32
export const FL_SYN_TTL_AB: u32 = 472;   // u32
export const FL_SYN_TTL_BA: u32 = 476;   // u32
export const FL_EXTRA_TS: u32 = 480;     // i64 ns, DNS timestamp
export const FL_EXTRA_PTR: u32 = 488;    // u32 address of the extra-layer blob (arena)
export const FL_EXTRA_LEN: u32 = 492;    // u32
export const FL_PATH_LEN: u32 = 496;     // u8: number of layer ids in FL_PATH
export const FL_APP: u32 = 497;          // u8: index of an application-port name, 0 = none
export const FL_EMIT: u32 = 498;         // u8: why the flow is in the output (EMIT_*)
export const FL_PATH: u32 = 500;         // u8[PATH_MAX] layer ids of LayersPath
export const PATH_MAX: u32 = 44;
export const FLOW_SIZE: u32 = 576;       // 544 used, padded to whole cache lines

// FL_BITS
export const FLB_LINK: u32 = 1;          // Link present
export const FLB_TCP_METRIC: u32 = 2;    // TCPMetric present
export const FLB_IP_METRIC: u32 = 4;     // IPMetric present
export const FLB_PARENT: u32 = 8;        // ParentUUID set
export const FLB_LUM: u32 = 16;          // LastUpdateMetric present
export const FLB_LEADING_SLASH: u32 = 32;// LayersPath starts with "/" (Linux SLL quirk)
export const FLB_IN_TABLE: u32 = 64;
export const FLB_PLAIN: u32 = 128;       // created from a plain frame: Link, Network and Transport A/B are what the key hashes (plain.ts)
export const FLB_LINK_NIL: u32 = 256;    // Link.A/B are gopacket nil MACs (a short Ethernet after ERSPAN-II or MPLS): empty text, FL_MAC_A/B zero

// FL_EMIT: why a record was written to the output
export const EMIT_UPDATE: u8 = 1;        // update tick: sent, stays in the table
export const EMIT_EXPIRE: u8 = 2;        // expired NOT_FINISHED flow: sent with TIMEOUT, removed
export const EMIT_APP_TIMEOUT: u8 = 3;   // application timeout: sent with TIMEOUT, removed
export const EMIT_END: u8 = 4;           // end of capture: every flow, removed
export const EMIT_HOLD: u8 = 5;          // finished flow past the hold time: removed, not sent by Skydive
export const EMIT_EXPIRE_FINISHED: u8 = 6; // expired FIN/RST flow: removed, not sent by Skydive
export const EMIT_EVICTED: u8 = 7;       // pushed out of a full table: removed, counted as FlowDropped

export const TRANSPORT_TCP: u8 = 1;
export const TRANSPORT_UDP: u8 = 2;
export const TRANSPORT_SCTP: u8 = 3;
