import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TickClock } from '../../src/capture/ticks';

/** Exact reference: BigInt all the way. */
function reference(ticks: bigint, ticksPerSecond: bigint, offsetSeconds = 0n): [number, number] {
  const ns = (ticks * 1_000_000_000n) / ticksPerSecond + offsetSeconds * 1_000_000_000n;
  return [Number(ns / 1000n), Number(ns % 1000n)];
}

function stamp(clock: TickClock, ticks: bigint): [number, number] {
  const rec = { tsUs: -1, tsNsRem: -1 };
  clock.stamp(rec, Number(ticks >> 32n), Number(ticks & 0xffffffffn));
  return [rec.tsUs, rec.tsNsRem];
}

/** Deterministic pseudo-random generator (xorshift) so a failure names a reproducible value. */
function* randomBigInts(count: number, below: bigint, seed = 0x9e3779b9): Generator<bigint> {
  let x = seed;
  for (let i = 0; i < count; i++) {
    let v = 0n;
    for (let k = 0; k < 3; k++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      v = (v << 32n) | BigInt(x);
    }
    yield v % below;
  }
}

/** Times from 1970 to 2200, in ticks, plus the edges of every second and of the 32-bit halves. */
function interestingTicks(ticksPerSecond: bigint): bigint[] {
  const until2200 = 7258118400n * ticksPerSecond;
  const values = [...randomBigInts(3000, until2200)];
  for (const seconds of [0n, 1n, 1700000000n, 4102444800n]) {
    values.push(seconds * ticksPerSecond, seconds * ticksPerSecond + ticksPerSecond - 1n, seconds * ticksPerSecond + 1n);
  }
  for (const hi of [0n, 1n, 395812n, 395813n]) values.push(hi << 32n, (hi << 32n) | 0xffffffffn);
  return values.filter((v) => v >= 0n && v < 1n << 64n && v < until2200 + ticksPerSecond);
}

test('every decimal resolution 10^0 .. 10^-15 is exact against BigInt', () => {
  for (let k = 0; k <= 15; k++) {
    const clock = new TickClock(k);
    const perSecond = 10n ** BigInt(k);
    for (const ticks of interestingTicks(perSecond)) {
      assert.deepEqual(stamp(clock, ticks), reference(ticks, perSecond), `10^-${k}, ticks ${ticks}`);
    }
  }
});

test('every binary resolution 2^0 .. 2^-40 is exact against BigInt', () => {
  for (let b = 0; b <= 40; b++) {
    const clock = new TickClock(0x80 | b);
    const perSecond = 1n << BigInt(b);
    for (const ticks of interestingTicks(perSecond)) {
      assert.deepEqual(stamp(clock, ticks), reference(ticks, perSecond), `2^-${b}, ticks ${ticks}`);
    }
  }
});

test('nanosecond ticks of today, where hi * 2^32 + lo as a double is already wrong', () => {
  // Doubles near 1.7e18 are 256 apart: this one rounds up to ...457024.
  const ticks = 1700000000123456999n;
  const naive = Number(ticks >> 32n) * 2 ** 32 + Number(ticks & 0xffffffffn);
  assert.equal(Math.floor(naive / 1000), 1700000000123457, 'the float path must be wrong here for this test to mean anything');
  assert.deepEqual(stamp(new TickClock(9), ticks), [1700000000123456, 999]);
  // Consecutive records of one interface share hi: the cached step must not leak across values.
  const clock = new TickClock(9);
  for (const t of [ticks, ticks + 1n, ticks + 999n, (ticks | 0xffffffffn) + 1n, ticks]) {
    assert.deepEqual(stamp(clock, t), reference(t, 1_000_000_000n), `ticks ${t}`);
  }
});

test('if_tsoffset adds whole seconds, also negative ones', () => {
  assert.deepEqual(stamp(new TickClock(6, 1000), 5n), [1000000005, 0]);
  assert.deepEqual(stamp(new TickClock(9, -1), 1_500_000_000n), reference(1_500_000_000n, 1_000_000_000n, -1n));
  assert.deepEqual(stamp(new TickClock(0x80 | 20, 1700000000), 1n << 19n), [1700000000500000, 0]);
});

test('resolution names as the summary shows them', () => {
  assert.deepEqual(
    [6, 9, 3, 0, 0x80 | 20, 0x80 | 40, 15].map((r) => new TickClock(r).resolution),
    ['us', 'ns', '10^-3', '10^-0', '2^-20', '2^-40', '10^-15'],
  );
  assert.equal(new TickClock().resolution, 'us');
});
