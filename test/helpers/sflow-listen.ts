/**
 * Test helper process for the live pmacct test: a collector (with a flow table) running inside
 * a network namespace, where the exporter's loopback is (node cannot open a socket in another
 * namespace). Run it with `ip netns exec NS node --import=<tap's TS loader> sflow-listen.ts
 * SINK_ADDRESS SINK_PORT BROADCAST`.
 *
 * It binds the collector on 127.0.0.1 (a free port) and a UDP sink on SINK_ADDRESS:SINK_PORT
 * (so that traffic sent there raises no ICMP errors), prints {"port": N}, then obeys lines on
 * stdin:
 *   tick N     send a broadcast UDP datagram to BROADCAST:9 every 200 ms (pmacctd's sfprobe only
 *              ticks, and so only sends counter samples, while packets come) until a counter
 *              sample arrives after N unicast packets were sampled; then print {"counters": ...}
 *   stop       print {"flows", "sflow", "sources", "agents", "stats"} and exit.
 */
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { SFlowCollector } from '../../src/capture/sflow.js';
import { SFlowDecoder, type SFlowCounterRecord } from '../../src/capture/sflow-decode.js';
import { LivePipeline } from '../../src/pipeline/live.js';
import type { FlowGroup } from '../../src/pipeline/shard-task.js';
import { groupLines } from './flow-lines.js';

const [sinkAddress, sinkPort, broadcast] = process.argv.slice(2);
const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);

const lines: string[] = [];
const pipeline = new LivePipeline({
  workers: 1,
  shard: { engine: {}, format: 'jsonl', events: ['expire', 'end', 'hold-removed', 'evicted'], dropLastUpdateMetric: true },
  timers: { updateSeconds: 3600, expireSeconds: 3600 },
  onFlows: (g: FlowGroup) => { lines.push(...groupLines(g)); },
});
const collector = new SFlowCollector({ onPackets: (d, n) => pipeline.offer(d, n) });
// A second decoder walks each datagram's samples in order, to see which counter sample came
// after which packets.
const order = new SFlowDecoder();
let unicastSampled = 0;
let waitFor = -1;
let ticker: NodeJS.Timeout | undefined;

const sock = createSocket('udp4');
sock.on('message', (msg) => {
  collector.receive(msg);
  const r = order.decode(msg, 0n);
  if (!r.ok) return;
  const dv = new DataView(r.packets.buffer, r.packets.byteOffset, r.packets.length);
  let p = 0;
  for (const s of r.datagram.samples) {
    if (s.kind === 'flow') {
      for (let i = 0; i < s.headers; i++) {
        const caplen = dv.getUint32(p + 8, true);
        if ((r.packets[p + 24] & 1) === 0) unicastSampled++; // destination MAC: group bit clear
        p += 24 + ((caplen + 7) & ~7);
      }
    } else if (waitFor >= 0 && unicastSampled >= waitFor) {
      const generic = s.counters.find((c: SFlowCounterRecord) => c.type === 'generic');
      if (!generic) continue;
      clearInterval(ticker);
      waitFor = -1;
      print({ counters: generic.values, unicastSampled });
    }
  }
});
sock.bind(0, '127.0.0.1', () => {
  const sink = createSocket('udp4');
  sink.on('message', () => {});
  sink.bind(Number(sinkPort), sinkAddress, () => print({ port: sock.address().port }));
});

const sender = createSocket('udp4');
sender.bind(0, () => sender.setBroadcast(true));

createInterface({ input: process.stdin }).on('line', async (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'tick') {
    waitFor = Number(arg);
    ticker = setInterval(() => sender.send(Buffer.alloc(18), 9, broadcast), 200);
  } else if (cmd === 'stop') {
    clearInterval(ticker);
    collector.flush();
    await pipeline.stop();
    print({
      flows: lines.map((l) => JSON.parse(l)), sflow: collector.sflow(), sources: collector.dataSources(),
      agents: collector.agents(), stats: collector.stats,
    });
    process.exit(0);
  }
});
