/**
 * The core's streaming XXH64 against a reference written here from the spec
 * (§3.3): standard XXH64 writes, and pierrec v0.1.5's Sum64 that multiplies
 * the lanes by PRIME2 in place once 32 bytes were written.
 */
import t from 'tap';
import { testCore } from '../helpers/wasm.js';

const M = (1n << 64n) - 1n;
const P1 = 11400714785074694791n, P2 = 14029467366897019727n, P3 = 1609587929392839161n;
const P4 = 9650029242287828579n, P5 = 2870177450012600261n;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
const mul = (a: bigint, b: bigint) => (a * b) & M;
const le64 = (b: Uint8Array, o: number) => { let v = 0n; for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[o + i]); return v; };
const le32 = (b: Uint8Array, o: number) => BigInt((b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0);

class RefHasher {
  v = [0n, 0n, 0n, 0n];
  total = 0;
  buf: number[] = [];
  constructor(private seed: bigint) {
    this.v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M];
  }
  private round(acc: bigint, input: bigint) { return mul(rotl((acc + mul(input, P2)) & M, 31n), P1); }
  write(data: Uint8Array) {
    this.total += data.length;
    for (const b of data) {
      this.buf.push(b);
      if (this.buf.length === 32) {
        const blk = Uint8Array.from(this.buf);
        for (let i = 0; i < 4; i++) this.v[i] = this.round(this.v[i], le64(blk, i * 8));
        this.buf = [];
      }
    }
  }
  sum(): bigint {
    let h: bigint;
    if (this.total >= 32) {
      const [a, b, c, d] = this.v;
      h = (rotl(a, 1n) + rotl(b, 7n) + rotl(c, 12n) + rotl(d, 18n)) & M;
      this.v = this.v.map((x) => mul(x, P2)); // the quirk: kept in the state
      for (const x of this.v) h = ((mul(h ^ mul(rotl(x, 31n), P1), P1)) + P4) & M;
      h = (h + BigInt(this.total)) & M;
    } else {
      h = (this.seed + P5 + BigInt(this.total)) & M;
    }
    const tail = Uint8Array.from(this.buf);
    let p = 0;
    for (; p + 8 <= tail.length; p += 8) {
      h ^= mul(rotl(mul(le64(tail, p), P2), 31n), P1);
      h = (mul(rotl(h, 27n), P1) + P4) & M;
    }
    if (p + 4 <= tail.length) {
      h ^= mul(le32(tail, p), P1);
      h = (mul(rotl(h, 23n), P2) + P3) & M;
      p += 4;
    }
    for (; p < tail.length; p++) {
      h ^= mul(BigInt(tail[p]), P5);
      h = mul(rotl(h, 11n), P1);
    }
    h ^= h >> 33n; h = mul(h, P2); h ^= h >> 29n; h = mul(h, P3); h ^= h >> 32n;
    return h;
  }
}

function coreHash(parts: Uint8Array[], seed: bigint, sums: number[]): bigint[] {
  const c = testCore();
  const at = c.inputBuffer();
  const out: bigint[] = [];
  (c.testHashReset as (s: bigint) => void)(seed);
  parts.forEach((p, i) => {
    new Uint8Array(c.memory.buffer, at, p.length).set(p);
    (c.testHashWrite as (a: number, n: number) => void)(at, p.length);
    if (sums.includes(i)) out.push(BigInt.asUintN(64, (c.testHashSum64 as () => bigint)()));
  });
  return out;
}

t.test('standard vectors', (t) => {
  t.equal(coreHash([new Uint8Array(0)], 0n, [0])[0].toString(16), 'ef46db3751d8e999', 'XXH64("") is the L3TrackingID of non-IP flows');
  t.equal(coreHash([new TextEncoder().encode('abc')], 0n, [0])[0].toString(16), '44bc2cf5ad770999');
  t.end();
});

t.test('several sums on one hasher follow the pierrec quirk', (t) => {
  let seed = 1;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed; };
  for (let round = 0; round < 300; round++) {
    const parts: Uint8Array[] = [];
    const n = 1 + (rnd() % 6);
    for (let i = 0; i < n; i++) parts.push(Uint8Array.from({ length: rnd() % 50 }, () => rnd() & 255));
    const sums = parts.map((_, i) => i).filter(() => rnd() % 2 === 0);
    if (!sums.includes(n - 1)) sums.push(n - 1);
    const s = BigInt(rnd());
    const ref = new RefHasher(s);
    const want: bigint[] = [];
    parts.forEach((p, i) => { ref.write(p); if (sums.includes(i)) want.push(ref.sum()); });
    t.same(coreHash(parts, s, sums), want, `round ${round}: ${parts.map((p) => p.length).join('+')} bytes`);
  }
  t.end();
});
