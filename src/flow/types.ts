/**
 * The flow model, in Skydive's shape (flow.proto / the API's JSON).
 *
 * int64 fields are `number` when they fit in 2^53 and `bigint` otherwise
 * (Link.ID of a deep QinQ stack can exceed it); formatters must accept both.
 */
export type Int64 = number | bigint;

export type FlowProtocolName = 'ETHERNET' | 'IPV4' | 'TCP' | 'UDP' | 'SCTP' | 'IPV6';

export type ICMPTypeName =
  | 'UNKNOWN' | 'DESTINATION_UNREACHABLE' | 'ECHO' | 'NEIGHBOR' | 'ADDRESS_MASK' | 'INFO'
  | 'PARAMETER_PROBLEM' | 'REDIRECT' | 'ROUTER' | 'SOURCE_QUENCH' | 'TIME_EXCEEDED'
  | 'TIMESTAMP' | 'PACKET_TOO_BIG';

/** Link or network endpoints: MAC or IP text. */
export interface FlowLayer {
  Protocol: 'ETHERNET' | 'IPV4' | 'IPV6';
  A: string;
  B: string;
  ID: Int64;
}

export interface TransportLayer {
  Protocol: 'TCP' | 'UDP' | 'SCTP';
  A: number;
  B: number;
  ID: number;
}

export interface ICMPLayer {
  Type: ICMPTypeName;
  Code: number;
  ID: number;
}

export interface FlowMetric {
  ABPackets: Int64;
  ABBytes: Int64;
  BAPackets: Int64;
  BABytes: Int64;
  Start: Int64;
  Last: Int64;
  /** Nanoseconds; omitted from JSON when 0. */
  RTT: Int64;
}

export interface TCPMetric {
  ABSynStart: Int64; BASynStart: Int64;
  ABSynTTL: number; BASynTTL: number;
  ABFinStart: Int64; BAFinStart: Int64;
  ABRstStart: Int64; BARstStart: Int64;
  ABSegmentOutOfOrder: Int64; ABSegmentSkipped: Int64; ABSegmentSkippedBytes: Int64;
  ABPackets: Int64; ABBytes: Int64; ABSawStart: Int64; ABSawEnd: Int64;
  BASegmentOutOfOrder: Int64; BASegmentSkipped: Int64; BASegmentSkippedBytes: Int64;
  BAPackets: Int64; BABytes: Int64; BASawStart: Int64; BASawEnd: Int64;
}

export interface IPMetric {
  Fragments: Int64;
  FragmentErrors: Int64;
}

/*
 * Text that comes from packet bytes (DNS names, TXT strings, DHCPv4 ServerName/File) is a
 * "Go string": build it with `bytesToGoString` (src/format/json.ts). Valid UTF-8 becomes the
 * characters it encodes; every byte of an invalid sequence becomes the lone surrogate
 * U+DC80..U+DCFF. That keeps the raw bytes recoverable (`goStringToBytes`), so the protobuf
 * output carries them unchanged and the JSON output writes `\ufffd` for each one, as Go does.
 */

/** DNS resource record, Skydive's flow/layers/dns.proto shape (JSON names: src/format/json.ts). */
export interface DNSResourceRecord {
  Name: string; Type: string; Class: string; TTL: number; DataLength: number;
  IP?: string; NS?: string; CNAME?: string; PTR?: string; TXTs?: string[];
  SOA?: { MName: string; RName: string; Serial: number; Refresh: number; Retry: number; Expire: number; Minimum: number };
  SRV?: { Priority: number; Weight: number; Port: number; Name: string };
  MX?: { Preference: number; Name: string };
  OPT?: { Code: string; Data: Uint8Array }[];
}

export interface DNSQuestion { Name: string; Type: string; Class: string }

export interface DNS {
  ID: number; QR: boolean; OpCode: string; AA: boolean; TC: boolean; RD: boolean; RA: boolean;
  Z: number; ResponseCode: string;
  QDCount: number; ANCount: number; NSCount: number; ARCount: number;
  Questions: DNSQuestion[]; Answers: DNSResourceRecord[]; Authorities: DNSResourceRecord[];
  Additionals: DNSResourceRecord[];
  /** Packet time, nanoseconds since the epoch. */
  TimestampNs: bigint;
}

/** `File` and `ServerName` are the raw fixed-size fields as Go strings (see above). */
export interface DHCPv4 {
  File: string; Flags: number; HardwareLen: number; HardwareOpts: number; ServerName: string; Secs: number;
}

export interface VRRPv2 { AdverInt: number; Priority: number; Version: number; VirtualRtrID: number }

/** One captured packet of a flow: carried by protobuf (`LastRawPackets`), never by JSON. */
export interface RawPacket {
  /** Capture time, ms since the epoch. */
  Timestamp: Int64;
  /** 1-based rank among the flow's captured packets. */
  Index: Int64;
  Data: Uint8Array;
  /** pcap link type of Data: 1 Ethernet, 228 raw IPv4, 229 raw IPv6. */
  LinkType: number;
}

/** Flow table counters, sent every stats tick in their own protobuf `Message`. */
export interface Stats {
  CaptureID: string;
  FlowCount: Int64;
  FlowDropped: Int64;
  KernelFlowDropped: Int64;
  PacketsReceived: Int64;
  PacketsDropped: Int64;
  /**
   * skydive-ts extension (Stats field 100, which a Skydive analyzer skips): packets the
   * capture's decoder could not decode since the previous Stats. Absent when 0.
   */
  DecodeFailures?: Int64;
}

/** How a flow left the table (or was reported while staying in it). */
export type FlowEvent = 'update' | 'expire' | 'app-timeout' | 'end' | 'hold-removed' | 'evicted';

export interface Flow {
  UUID: string;
  LayersPath: string;
  Application: string;
  Link?: FlowLayer;
  Network?: FlowLayer;
  Transport?: TransportLayer;
  ICMP?: ICMPLayer;
  DHCPv4?: DHCPv4;
  DNS?: DNS;
  VRRPv2?: VRRPv2;
  LastUpdateMetric?: FlowMetric;
  Metric: FlowMetric;
  TCPMetric?: TCPMetric;
  IPMetric?: IPMetric;
  Start: Int64;
  Last: Int64;
  TrackingID: string;
  L3TrackingID: string;
  ParentUUID: string;
  NodeTID: string;
  CaptureID: string;
  RawPacketsCaptured: number;
  /** The packets captured since the last send (RawPacketLimit > 0); protobuf only. */
  LastRawPackets?: RawPacket[];
  /** 0 NOT_FINISHED, 1 TIMEOUT, 2 TCP_FIN, 3 TCP_RST. */
  FinishType: number;
}
