/**
 * Differences from Skydive's golden output that docs/compat.md lists and
 * explains. Each entry names the golden file, the compat.md section id (a
 * test checks it exists) and a pattern over the golden test's problem lines.
 */
export interface AllowedDifference {
  golden: string;
  compat: string;
  matches: RegExp;
}

const extraFlows = /^extra flow /;

export const ALLOWED_DIFFERENCES: AllowedDifference[] = [
  // Link types 228/229 have no decoder in gopacket 1.1.17: Skydive gives no flow, we decode them.
  { golden: 'tcpdump/LINKTYPE_IPV4.pcap.skydive.jsonl', compat: 'linktype-ipv4-ipv6', matches: extraFlows },
  { golden: 'suricata-verify/linktype-228/flow-test-01.pcap.skydive.jsonl', compat: 'linktype-ipv4-ipv6', matches: extraFlows },
  { golden: 'suricata-verify/defrag_bug-6887-defrag-ipv6-tcp/frag-ip-tcp.pcap.skydive.jsonl', compat: 'linktype-ipv4-ipv6', matches: extraFlows },
  // Link type 276 (SLL2) becomes 20 in gopacket 1.1.17: no flow there, flows here.
  { golden: 'zeek/linux_dlt_sll2.pcap.skydive.jsonl', compat: 'linktype-sll2', matches: extraFlows },
  { golden: 'suricata-verify/decode-sll2-01/input.pcap.skydive.jsonl', compat: 'linktype-sll2', matches: extraFlows },
];
