/**
 * Skydive's dynamic-template mapping, the same for its three indices (flow-semantics.md §8):
 * strings are keywords; `*Packets`, `*Bytes` and `RTT` are longs; `*Start`, `Last` and
 * `Timestamp` are dates in epoch milliseconds (so TCPMetric's `ABSynStart` is a date too).
 * The DNS `timestamp` object is lower case and matches none of them.
 *
 * Name rules come before the string rule: a template applies to the first that matches.
 */
import type { estypes } from '@elastic/elasticsearch';

type Template = Record<string, estypes.MappingDynamicTemplate>;

const dateByName = (name: string, match: string): Template => ({
  [name]: { match, mapping: { type: 'date', format: 'epoch_millis' } },
});

const longByName = (name: string, match: string): Template => ({
  [name]: { match, mapping: { type: 'long' } },
});

export function dynamicTemplates(): Template[] {
  return [
    dateByName('start', '*Start'),
    dateByName('last', 'Last'),
    dateByName('timestamp', 'Timestamp'),
    longByName('packets', '*Packets'),
    longByName('bytes', '*Bytes'),
    longByName('rtt', 'RTT'),
    { strings: { match_mapping_type: 'string', mapping: { type: 'keyword' } } },
  ];
}
