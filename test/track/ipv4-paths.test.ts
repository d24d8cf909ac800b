/**
 * The tracker's IPv4 fast paths give what the general paths give: hash4 = hashWords, find4 and
 * insert4 = find and insert, and the IPv4 caches of SourceTable and TargetTable never answer for
 * an address whose slot was evicted and reused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash4, hashWords } from '../../src/track/hash';
import { AttemptTable, OPEN, V4_KEY_WORDS } from '../../src/track/attempts';
import { SourceTable } from '../../src/track/sources';
import { TargetTable } from '../../src/track/targets';

/** A deterministic stream of uint32 values (xorshift32). */
function words(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

test('hash4 equals hashWords over the same four words', () => {
  const next = words(0x1234567);
  for (let i = 0; i < 10000; i++) {
    const k = Uint32Array.of(next(), next(), next(), next());
    assert.equal(hash4(k[0], k[1], k[2], k[3]), hashWords(k, 0, 4));
  }
  assert.equal(hash4(0, 0, 0, 0), hashWords(new Uint32Array(4), 0, 4));
  assert.equal(hash4(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff), hashWords(Uint32Array.of(-1, -1, -1, -1), 0, 4));
});

test('find4 and insert4 agree with find and insert on the IPv4 table', () => {
  const at = new AttemptTable(V4_KEY_WORDS, 4096);
  const next = words(99);
  const keys: Uint32Array[] = [];
  for (let i = 0; i < 3000; i++) {
    const k = Uint32Array.of(next(), next(), next(), next());
    keys.push(k);
    const h = at.hashKey(k);
    // Alternate the two insert paths; each must be found by both find paths.
    const slot = i % 2 === 0 ? at.insert4(h, k[0], k[1], k[2], k[3], OPEN) : at.insert(k, h, OPEN);
    assert.equal(at.status(slot), OPEN);
    assert.equal(at.find(k, h), slot);
    assert.equal(at.find4(h, k[0], k[1], k[2], k[3]), slot);
    // The tracker passes the words as int32: the same key.
    assert.equal(at.find4(h, k[0] | 0, k[1] | 0, k[2] | 0, k[3] | 0), slot);
  }
  for (const k of keys) {
    const h = at.hashKey(k);
    assert.equal(at.find4(h, k[0], k[1], k[2], k[3]), at.find(k, h));
    // A key that differs in any one word is absent for both.
    for (let w = 0; w < 4; w++) {
      const other = Uint32Array.from(k);
      other[w] = (other[w] + 1) >>> 0;
      const ho = at.hashKey(other);
      assert.equal(at.find(other, ho), -1);
      assert.equal(at.find4(ho, other[0], other[1], other[2], other[3]), -1);
    }
  }
});

const mapped = (a: number) => Uint32Array.of(0, 0, 0xffff, a);

/** A packet clock the tests set by hand; `at(t, f)` runs f at packet time t. */
const clock = { nowUs: 0 };
function at<T>(t: number, f: () => T): T {
  clock.nowUs = t;
  return f();
}

test('SourceTable.lookupV4 is lookup of the IPv4-mapped address, LRU order included', () => {
  const s = new SourceTable(2, clock);
  const a = at(10, () => s.lookupV4(0xc0000201));
  assert.equal(at(11, () => s.lookup(mapped(0xc0000201))), a);
  assert.equal(s.firstUs[a], 10);
  const b = at(12, () => s.lookup(mapped(0xc0000202)));
  assert.equal(at(13, () => s.lookupV4(0xc0000202)), b);
  assert.equal(s.findV4(0xc0000201), a);
  at(14, () => s.lookupV4(0xc0000201)); // a is now the most recent: b goes first
  at(15, () => s.lookupV4(0xc0000203));
  assert.equal(s.findV4(0xc0000202), -1);
  assert.equal(s.findV4(0xc0000201), a);
});

test('an evicted source is not answered from the IPv4 cache, even when its slot is reused', () => {
  const s = new SourceTable(1, clock);
  const a = at(1, () => s.lookupV4(0xc6336401));
  s.attempts[a] = 5;
  // 198.51.100.2 evicts 198.51.100.1 and takes its slot.
  const b = at(2, () => s.lookupV4(0xc6336402));
  assert.equal(b, a);
  assert.equal(s.findV4(0xc6336401), -1, 'the evicted address must not find the reused slot');
  s.attempts[b] = 7;
  const again = at(3, () => s.lookupV4(0xc6336401));
  assert.equal(s.attempts[again], 0, 'a re-inserted source starts from zero');
  assert.equal(s.firstUs[again], 3);
  assert.equal(s.findV4(0xc6336402), -1);
});

test('TargetTable.lookupV4 tells ports apart and forgets evicted targets', () => {
  const t = new TargetTable(2, clock);
  const k80 = at(1, () => t.lookupV4(0xcb007101, 80));
  const k443 = at(2, () => t.lookupV4(0xcb007101, 443));
  assert.notEqual(k80, k443);
  assert.equal(at(3, () => t.lookup(Uint32Array.of(0, 0, 0xffff, 0xcb007101, 80))), k80);
  assert.equal(t.findV4(0xcb007101, 443), k443);
  t.attempts[k443] = 9;
  // k80 was looked up last: 443 is the least recent and goes.
  at(4, () => t.lookupV4(0xcb007102, 80));
  assert.equal(t.findV4(0xcb007101, 443), -1);
  const back = at(5, () => t.lookupV4(0xcb007101, 443));
  assert.equal(t.attempts[back], 0);
  assert.equal(t.firstUs[back], 5);
});
