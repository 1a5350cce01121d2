import t from 'tap';
import { PassThrough, Writable } from 'node:stream';
import type { Flow } from '../../src/flow/types.js';
import {
  bytesToGoString, flowsToJSONArray, flowToJSON, goStringToBytes, quoteGo,
} from '../../src/format/json.js';
import { FLOW_FORMATS, FlowWriter } from '../../src/format/writer.js';
import { decodeFlowStream } from '../../src/format/protobuf.js';
import { flowFromGoldenJSON, goldenAvailable, goldenLines, goldenSkip, GOLDEN_DIR, parseExactJSON } from '../fixtures/golden-flows.js';

/** A minimal flow: every required field at its zero value. */
function baseFlow(): Flow {
  return {
    UUID: '', LayersPath: '', Application: '',
    Metric: { ABPackets: 0, ABBytes: 0, BAPackets: 0, BABytes: 0, Start: 0, Last: 0, RTT: 0 },
    Start: 0, Last: 0, TrackingID: '', L3TrackingID: '', ParentUUID: '', NodeTID: '', CaptureID: '',
    RawPacketsCaptured: 0, FinishType: 0,
  };
}

t.test('golden files: flowToJSON reproduces every line byte for byte', { skip: goldenSkip() }, (t) => {
  if (!goldenAvailable()) {
    t.fail(`golden corpus missing: ${GOLDEN_DIR}`);
    t.end();
    return;
  }
  const lines = goldenLines();
  t.ok(lines.length > 0, 'golden lines found');
  let matched = 0;
  for (const { file, line, text } of lines) {
    const out = flowToJSON(flowFromGoldenJSON(text));
    if (out === text) matched++;
    else t.equal(out, text, `${file}:${line}`);
  }
  t.equal(matched, lines.length, `${matched}/${lines.length} golden flows identical`);
  t.end();
});

t.test('empty flow: ParentUUID, Start, Last, Metric counters and RawPacketsCaptured are always written', (t) => {
  t.equal(flowToJSON(baseFlow()),
    '{"Metric":{"ABPackets":0,"ABBytes":0,"BAPackets":0,"BABytes":0,"Start":0,"Last":0},'
    + '"Start":0,"Last":0,"ParentUUID":"","RawPacketsCaptured":0}');
  t.end();
});

t.test('omission rules and key order', (t) => {
  const f: Flow = {
    ...baseFlow(),
    UUID: 'u', LayersPath: 'Ethernet/IPv4/ICMPv4', Application: 'ICMPv4',
    Link: { Protocol: 'ETHERNET', A: '', B: '', ID: 0 },
    Network: { Protocol: 'IPV4', A: '10.0.0.1', B: '10.0.0.2', ID: 0 },
    ICMP: { Type: 'UNKNOWN', Code: 0, ID: 0 },
    LastUpdateMetric: { ABPackets: 1, ABBytes: 2, BAPackets: 3, BABytes: 4, Start: 5, Last: 6, RTT: 7 },
    TCPMetric: {
      ABSynStart: 0, BASynStart: 0, ABSynTTL: 64, BASynTTL: 0, ABFinStart: 0, BAFinStart: 0, ABRstStart: 0,
      BARstStart: 0, ABSegmentOutOfOrder: 0, ABSegmentSkipped: 0, ABSegmentSkippedBytes: 0, ABPackets: 0, ABBytes: 0,
      ABSawStart: 0, ABSawEnd: 0, BASegmentOutOfOrder: 0, BASegmentSkipped: 0, BASegmentSkippedBytes: 0,
      BAPackets: 0, BABytes: 0, BASawStart: 0, BASawEnd: 0,
    },
    NodeTID: 'node', CaptureID: 'cap', FinishType: 2,
  };
  t.equal(flowToJSON(f),
    '{"UUID":"u","LayersPath":"Ethernet/IPv4/ICMPv4","Application":"ICMPv4",'
    + '"Link":{"Protocol":"ETHERNET","ID":0},"Network":{"Protocol":"IPV4","A":"10.0.0.1","B":"10.0.0.2","ID":0},'
    + '"ICMP":{"Type":"UNKNOWN"},'
    + '"LastUpdateMetric":{"ABPackets":1,"ABBytes":2,"BAPackets":3,"BABytes":4,"Start":5,"Last":6,"RTT":7},'
    + '"Metric":{"ABPackets":0,"ABBytes":0,"BAPackets":0,"BABytes":0,"Start":0,"Last":0},'
    + '"TCPMetric":{"ABSynStart":0,"BASynStart":0,"ABSynTTL":64,"ABFinStart":0,"BAFinStart":0,"ABRstStart":0,'
    + '"BARstStart":0,"ABSegmentOutOfOrder":0,"ABSegmentSkipped":0,"ABSegmentSkippedBytes":0,"ABPackets":0,'
    + '"ABBytes":0,"ABSawStart":0,"ABSawEnd":0,"BASegmentOutOfOrder":0,"BASegmentSkipped":0,'
    + '"BASegmentSkippedBytes":0,"BAPackets":0,"BABytes":0,"BASawStart":0,"BASawEnd":0},'
    + '"Start":0,"Last":0,"ParentUUID":"","NodeTID":"node","CaptureID":"cap","RawPacketsCaptured":0,"FinishType":2}');
  t.end();
});

t.test('int64 beyond 2^53 is written exactly', (t) => {
  const id = (30n << 36n) | (20n << 24n) | (10n << 12n) | 8n | (100n << 48n);
  const f: Flow = {
    ...baseFlow(),
    Link: { Protocol: 'ETHERNET', A: 'a', B: 'b', ID: id },
    Metric: { ABPackets: 0, ABBytes: 9007199254740993n, BAPackets: 0, BABytes: 0, Start: 0, Last: 0, RTT: 0 },
  };
  const json = flowToJSON(f);
  t.match(json, `"ID":${id.toString()}}`);
  t.match(json, '"ABBytes":9007199254740993,');
  t.equal((parseExactJSON(json) as { Link: { ID: bigint } }).Link.ID, id, 'exact through a bigint-aware parser');
  t.end();
});

t.test('RTT 0 and FinishType 0 are left out, non-zero ones written', (t) => {
  const f = baseFlow();
  t.notMatch(flowToJSON(f), /RTT|FinishType/);
  f.Metric.RTT = 42000;
  f.FinishType = 1;
  t.match(flowToJSON(f), /"Last":0,"RTT":42000\}/);
  t.match(flowToJSON(f), /"RawPacketsCaptured":0,"FinishType":1\}$/);
  t.end();
});

t.test('transport and IP metric write every field', (t) => {
  const f: Flow = {
    ...baseFlow(),
    Transport: { Protocol: 'UDP', A: 0, B: 53, ID: 0 },
    IPMetric: { Fragments: 0, FragmentErrors: 0 },
  };
  const json = flowToJSON(f);
  t.match(json, '"Transport":{"Protocol":"UDP","A":0,"B":53,"ID":0}');
  t.match(json, '"IPMetric":{"Fragments":0,"FragmentErrors":0}');
  t.end();
});

t.test('DNS object', (t) => {
  const f: Flow = {
    ...baseFlow(),
    DNS: {
      ID: 4660, QR: true, OpCode: 'Query', AA: false, TC: true, RD: true, RA: false, Z: 0, ResponseCode: 'No Error',
      QDCount: 1, ANCount: 3, NSCount: 0, ARCount: 1,
      Questions: [{ Name: 'example.com', Type: 'MX', Class: 'IN' }],
      Answers: [
        { Name: 'example.com', Type: 'MX', Class: 'IN', TTL: 300, DataLength: 9, MX: { Preference: 10, Name: 'mx.example.com' } },
        { Name: 'example.com', Type: 'TXT', Class: 'IN', TTL: 1, DataLength: 6, TXTs: ['a"b', 'c'] },
        { Name: '_x._tcp.example.com', Type: 'SRV', Class: 'IN', TTL: 0, DataLength: 0, SRV: { Priority: 0, Weight: 5, Port: 80, Name: 'h' } },
      ],
      Authorities: [],
      Additionals: [{ Name: '', Type: 'OPT', Class: 'Unknown', TTL: 32768, DataLength: 0 }],
      TimestampNs: 1559792414984235000n,
    },
  };
  t.match(flowToJSON(f), '"DNS":{"ID":4660,"QR":true,"op_code":"Query","TC":true,"RD":true,'
    + '"response_code":"No Error","q_d_count":1,"a_n_count":3,"a_r_count":1,'
    + '"questions":[{"name":"example.com","type":"MX","class":"IN"}],'
    + '"answers":[{"name":"example.com","type":"MX","class":"IN","TTL":300,"data_length":9,'
    + '"MX":{"preference":10,"name":"mx.example.com"}},'
    + '{"name":"example.com","type":"TXT","class":"IN","TTL":1,"data_length":6,"TXTs":["a\\"b","c"]},'
    + '{"name":"_x._tcp.example.com","type":"SRV","class":"IN","SRV":{"weight":5,"port":80,"name":"h"}}],'
    + '"additionals":[{"type":"OPT","class":"Unknown","TTL":32768}],'
    + '"timestamp":{"seconds":1559792414,"nanos":984235000}},"Metric"');
  t.end();
});

t.test('DNS timestamp before 1970 and on a whole second', (t) => {
  const dns = (ns: bigint): string => flowToJSON({
    ...baseFlow(),
    DNS: {
      ID: 0, QR: false, OpCode: '', AA: false, TC: false, RD: false, RA: false, Z: 0, ResponseCode: '',
      QDCount: 0, ANCount: 0, NSCount: 0, ARCount: 0, Questions: [], Answers: [], Authorities: [], Additionals: [],
      TimestampNs: ns,
    },
  });
  t.match(dns(-1n), '"DNS":{"timestamp":{"seconds":-1,"nanos":999999999}}');
  t.match(dns(5_000_000_000n), '"DNS":{"timestamp":{"seconds":5}}');
  t.end();
});

t.test('DHCPv4 and VRRPv2 use snake_case names, bytes as base64', (t) => {
  const f: Flow = {
    ...baseFlow(),
    DHCPv4: { File: '', Flags: 0x8000, HardwareLen: 6, HardwareOpts: 0, ServerName: 'srv\udcff', Secs: 3 },
    VRRPv2: { AdverInt: 1, Priority: 100, Version: 2, VirtualRtrID: 7 },
  };
  t.match(flowToJSON(f), '"DHCPv4":{"hardware_len":6,"secs":3,"flags":32768,"server_name":"c3J2/w=="},'
    + '"VRRPv2":{"version":2,"VirtualRtrID":7,"priority":100,"adver_int":1},"Metric"');
  t.end();
});

t.test('strings are escaped like Go encoding/json', (t) => {
  t.equal(quoteGo('<nil>'), '"\\u003cnil\\u003e"');
  t.equal(quoteGo('a&b'), '"a\\u0026b"');
  t.equal(quoteGo('q"\\'), '"q\\"\\\\"');
  t.equal(quoteGo('\b\f\n\r\t\u0000\u001f\u007f'), '"\\b\\f\\n\\r\\t\\u0000\\u001f\u007f"');
  t.equal(quoteGo('\u2028\u2029'), '"\\u2028\\u2029"');
  t.equal(quoteGo('é€😀'), '"é€😀"', 'valid characters are written as they are');
  t.equal(quoteGo('\ufffd'), '"\ufffd"', 'a real U+FFFD stays a character');
  t.equal(quoteGo('x\udc80\ud800y'), '"x\\ufffd\\ufffdy"', 'lone surrogates (invalid bytes) become \\ufffd');
  const f = { ...baseFlow(), UUID: 'a<b', ParentUUID: 'tab\there' };
  t.match(flowToJSON(f), /^\{"UUID":"a\\u003cb",.*"ParentUUID":"tab\\there"/);
  t.end();
});

t.test('Go strings keep invalid UTF-8 bytes', (t) => {
  const cases: [number[], string][] = [
    [[0x61, 0x62], 'ab'],
    [[0xc3, 0xa9], 'é'],
    [[0xe2, 0x82, 0xac], '€'],
    [[0xf0, 0x9f, 0x98, 0x80], '😀'],
    [[0xff], '\udcff'],
    [[0xe2, 0x82, 0x41], '\udce2\udc82A'], // truncated sequence: each byte is invalid on its own (Go)
    [[0xc0, 0x80], '\udcc0\udc80'], // overlong
    [[0xed, 0xa0, 0x80], '\udced\udca0\udc80'], // encoded surrogate
    [[0xf4, 0x90, 0x80, 0x80], '\udcf4\udc90\udc80\udc80'], // above U+10FFFF
  ];
  for (const [bytes, s] of cases) {
    const b = Uint8Array.from(bytes);
    t.equal(bytesToGoString(b), s, `decode ${bytes.map((x) => x.toString(16)).join(' ')}`);
    t.same(goStringToBytes(s), b, 'and back');
  }
  t.equal(quoteGo(bytesToGoString(Uint8Array.from([0x77, 0xe2, 0x82]))), '"w\\ufffd\\ufffd"', 'as Go writes it');
  t.same(goStringToBytes('\ud800'), Uint8Array.from([0xef, 0xbf, 0xbd]), 'another lone surrogate is U+FFFD');
  t.end();
});

t.test('flowsToJSONArray', (t) => {
  t.equal(flowsToJSONArray([]), '[]');
  const one = flowToJSON(baseFlow());
  t.equal(flowsToJSONArray([baseFlow(), baseFlow()]), `[${one},${one}]`);
  t.end();
});

/** Collects everything written to a stream that is slow to drain (tiny highWaterMark). */
function sink(): { stream: PassThrough; data: () => Promise<Buffer> } {
  const stream = new PassThrough({ highWaterMark: 16 });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
  return { stream, data: () => done };
}

t.test('FlowWriter formats', async (t) => {
  const flows = [{ ...baseFlow(), UUID: 'a' }, { ...baseFlow(), UUID: 'b' }, { ...baseFlow(), UUID: 'c' }];
  const expected: Record<string, (out: Buffer) => void> = {
    jsonl: (out) => t.equal(out.toString(), flows.map((f) => flowToJSON(f) + '\n').join('')),
    json: (out) => t.equal(out.toString(), flowsToJSONArray(flows) + '\n'),
    protobuf: (out) => t.same(decodeFlowStream(out), flows),
  };
  for (const format of FLOW_FORMATS) {
    const { stream, data } = sink();
    const w = new FlowWriter(stream, format);
    for (const f of flows) await w.write(f);
    t.equal(w.written, 3);
    await w.end();
    expected[format](await data());
  }
});

t.test('FlowWriter json with no flow writes an empty array; end:false leaves the stream open', async (t) => {
  const { stream, data } = sink();
  const w = new FlowWriter(stream, 'json', { end: false });
  await w.end();
  t.equal(stream.writableEnded, false);
  await t.rejects(w.write(baseFlow()), /write after end/);
  stream.end();
  t.equal((await data()).toString(), '[]\n');
});

t.test('FlowWriter gathers records until flush, then waits for drain and reports a failing stream', async (t) => {
  const stream = new PassThrough({ highWaterMark: 1 });
  const w = new FlowWriter(stream, 'jsonl');
  await w.write(baseFlow());
  t.equal(stream.readableLength, 0, 'nothing written before flush');
  const pending = w.flush();
  stream.destroy(new Error('boom'));
  await t.rejects(pending, /boom/);
});

/** Many distinct records, several blocks' worth (blocks are 256 KiB). */
function manyRecords(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(`{"n":${i},"pad":"${'x'.repeat(i % 900)}"}`));
}

t.test('FlowWriter: a stream that calls back on the next tick holds a few blocks at once, whatever the records', async (t) => {
  // process.stdout on a file behaves so; records written without a pause must not pile up.
  let held = 0;
  let maxHeld = 0;
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      held++;
      maxHeld = Math.max(maxHeld, held);
      process.nextTick(() => { held--; cb(); });
    },
  });
  const records = manyRecords(6000);
  for (const reuseBlocks of [false, true]) {
    chunks.length = 0;
    maxHeld = 0;
    const w = new FlowWriter(stream, 'jsonl', { end: false, reuseBlocks });
    for (const r of records) {
      const writing = w.writeRecord(r);
      if (writing) await writing;
    }
    await w.end();
    t.equal(Buffer.concat(chunks).toString(), records.map((r) => `${Buffer.from(r).toString()}\n`).join(''), `output exact (reuseBlocks ${reuseBlocks})`);
    t.ok(chunks.length > 10, `${chunks.length} blocks`);
    t.ok(maxHeld <= 5, `at most 5 blocks in the stream at once (saw ${maxHeld})`);
  }
});

t.test('FlowWriter: without reuseBlocks, a stream may keep the chunks it was given', async (t) => {
  const kept: Buffer[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { kept.push(chunk); cb(); } });
  const records = manyRecords(4000);
  for (const format of ['json', 'jsonl'] as const) {
    kept.length = 0;
    const w = new FlowWriter(stream, format, { end: false });
    for (const r of records) {
      const writing = w.writeRecord(r);
      if (writing) await writing;
    }
    await w.end();
    const text = records.map((r) => Buffer.from(r).toString());
    t.equal(Buffer.concat(kept).toString(), format === 'json' ? `[${text.join(',')}]\n` : text.map((l) => `${l}\n`).join(''), format);
  }
});

t.test('FlowWriter: a record larger than a block is written whole, between its separators', async (t) => {
  for (const format of ['json', 'jsonl'] as const) {
    const { stream, data } = sink();
    const w = new FlowWriter(stream, format);
    const big = Buffer.from(`{"big":"${'y'.repeat(300 << 10)}"}`);
    for (const r of [Buffer.from('{"a":1}'), big, Buffer.from('{"b":2}')]) {
      const writing = w.writeRecord(r);
      if (writing) await writing;
    }
    await w.end();
    const text = ['{"a":1}', big.toString(), '{"b":2}'];
    t.equal((await data()).toString(), format === 'json' ? `[${text.join(',')}]\n` : text.map((l) => `${l}\n`).join(''), format);
  }
});
