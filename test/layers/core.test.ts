import t from 'tap';
import { decode, hex } from '../helpers/wasm.js';

t.test('Ethernet/IPv4/UDP header chain', (t) => {
  const frame = hex(`
    ffffffffffff 020000000001 0800          # Ethernet: dst, src, IPv4
    45 00 0024 0001 0000 40 11 0000 0a000001 0a000002   # IPv4: 36 bytes total, UDP
    a000 1f90 0010 0000                     # UDP 40960 -> 8080, length 16
    0102030405060708                        # 8 payload bytes
  `);
  const d = decode(frame);
  t.equal(d.path, 'Ethernet/IPv4/UDP/Payload');
  t.equal(d.layers[1].contents, 20);
  t.equal(d.layers[2].payload, 8);
  t.equal(d.network, 1);
  t.equal(d.transport, 2);
  t.end();
});

t.test('short IPv4 keeps an IPv4 layer without addresses, then DecodeFailure', (t) => {
  const d = decode(hex('ffffffffffff 020000000001 0800 4500 0030'));
  t.equal(d.path, 'Ethernet/IPv4/DecodeFailure');
  t.equal(d.layers[1].flags & 1, 0);
  t.ok(d.truncated);
  t.end();
});
