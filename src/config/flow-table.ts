/**
 * The flow table settings every table of a process shares (Skydive's `flow.*` keys): what a
 * table gets when nothing more specific is asked, as Skydive's tables read them. A capture
 * adds its own options on top (commands/agent.ts); the analyzer's pcap import takes these as
 * they are.
 */
import type { EngineOptions } from '../engine/flow-engine.js';
import type { Config } from './load.js';

export function flowTableOptions(config: Config): EngineOptions {
  return {
    maxEntries: config.get<number>('flow.max_entries'),
    layerKeyMode: config.get<'L2' | 'L3'>('flow.default_layer_key_mode'),
    applicationPorts: {
      tcp: config.get<Record<string, string>>('flow.application_ports.tcp'),
      udp: config.get<Record<string, string>>('flow.application_ports.udp'),
    },
    applicationTimeouts: config.get<Record<string, number>>('flow.application_timeout'),
  };
}
