/** FlowTable: LRU eviction, and lookup's recent-slot cache never answering for a gone key. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable } from '../../src/track/flow-table';

const key = (a: number, b = 0) => Uint32Array.of(a, b);

test('lookup inserts once, finds after, and evicts the least recently used', () => {
  const evicted: number[] = [];
  const t = new FlowTable(2, 2, { grow() {}, evict: (s) => evicted.push(t.keys[s * 2]) }, 4);
  const a = t.lookup(key(1), 0);
  assert.equal(t.inserted, true);
  assert.equal(t.lookup(key(1), 0), a);
  assert.equal(t.inserted, false);
  t.lookup(key(2), 1);
  t.lookup(key(1), 0); // 1 is now the most recent: 2 goes first
  t.lookup(key(3), 2);
  assert.deepEqual(evicted, [2]);
  assert.equal(t.size, 2);
  assert.equal(t.evictions, 1);
});

test('a cache line whose slot was evicted and reused answers for the new key only', () => {
  const t = new FlowTable(2, 1, undefined, 4);
  const s = t.lookup(key(7, 7), 3);
  // Key 8 evicts key 7 and takes its slot; line 3 still points there.
  assert.equal(t.lookup(key(8, 8), 0), s);
  assert.equal(t.lookup(key(7, 7), 3), s);
  assert.equal(t.inserted, true, 'key 7 was gone: the stale line must not return key 8\'s slot');
  assert.equal(t.find(key(8, 8), t.hashKey(key(8, 8))), -1);
});

test('remove clears the lines pointing at the slot (a freed slot keeps its old key words)', () => {
  const t = new FlowTable(2, 8, undefined, 4);
  const s = t.lookup(key(5), 1);
  t.remove(s);
  assert.equal(t.size, 0);
  t.lookup(key(5), 1);
  assert.equal(t.inserted, true);
});
