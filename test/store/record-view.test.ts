/**
 * A stored flow read field by field (the record view queries test and sort with) gives the
 * values of the whole decode, for every field of the Flow model: fixture flows, a flow with
 * the rare parts, int64 values beyond 2^53, a flow without Metric (the reader's zero metric).
 */
import t from 'tap';
import type { Flow } from '../../src/flow/types.js';
import { encodeMessage } from '../../src/format/protobuf.js';
import { MemoryFlowStore } from '../../src/store/memory.js';
import { baseFlow, makeFlows } from '../query/flow-fixture.js';

const FIELDS: ReadonlyArray<keyof Flow> = [
  'UUID', 'LayersPath', 'Application', 'Link', 'Network', 'Transport', 'ICMP', 'DHCPv4', 'DNS', 'VRRPv2',
  'LastUpdateMetric', 'Metric', 'TCPMetric', 'IPMetric', 'Start', 'Last', 'TrackingID', 'L3TrackingID',
  'ParentUUID', 'NodeTID', 'CaptureID', 'RawPacketsCaptured', 'LastRawPackets', 'FinishType',
];

t.test('every field read through the view is the field of the decoded flow', async (t) => {
  const flows = [
    ...makeFlows(200, 5),
    baseFlow('rare', { VRRPv2: { AdverInt: 1, Priority: 100, Version: 2, VirtualRtrID: 7 }, RawPacketsCaptured: 1 }),
    baseFlow('big', { Start: 2n ** 60n, Last: 2n ** 60n + 5n }),
  ];
  const store = new MemoryFlowStore();
  store.ingest(encodeMessage(flows));
  // A flow of a UUID alone: no Metric, no layers.
  store.ingest(Uint8Array.from([0x0a, 0x03, 0x0a, 0x01, 0x75]));
  let checked = 0;
  for (const e of store.scan()) {
    const view = e.fields as Flow;
    const whole = e.flow;
    for (const f of FIELDS) {
      if (!t.strictSame(view[f], whole[f], `${whole.UUID}.${f}`)) return;
      checked++;
    }
  }
  t.equal(checked, (flows.length + 1) * FIELDS.length);
});
