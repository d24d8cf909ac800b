/**
 * A bounded hash table keyed by a fixed number of uint32 words, with an age order for eviction.
 *
 * Contract:
 * - Keys are `keyWords` uint32 words (addresses as four words, ports packed in one, an ISN...).
 *   Callers fill a scratch key, hash it once with `hashKey`, then `find` or `insert`.
 * - A slot index stays valid until that entry is removed or evicted: the owner (SourceTable,
 *   TargetTable, ...) keeps its values in typed arrays indexed by slot (a structure of arrays: no
 *   object per entry, no GC pressure), resets them after `insert`, and hears of growth and
 *   evictions through FlowTableHooks.
 * - Owners hold a FlowTable; none extends it, so its methods always see objects of one shape.
 * - Entries sit in an age list, oldest first. `touch` moves an entry to the newest end (LRU);
 *   a table that never touches is FIFO by insertion. When the table is at `maxCapacity`,
 *   `insert` evicts the oldest entry and calls `hooks.evict(slot)` before the slot is reused.
 * - Storage starts small and doubles up to `maxCapacity`: memory follows what is tracked, and
 *   stays flat (bounded) under a flood of millions of distinct keys.
 * - Chaining, not open addressing, so that slots never move. The hash is seeded per process:
 *   a spoofed flood cannot be crafted to collide. Nothing observable depends on the seed: no
 *   output iterates buckets.
 */

import { hashWords } from './hash';

const NONE = -1;
const INITIAL_CAPACITY = 1024;

export interface FlowTableHooks {
  /** Storage grew to `capacity` slots: resize the value arrays to match (see `resized`). */
  grow(capacity: number): void;
  /** The table is full and `slot`, its oldest entry, is about to be evicted. */
  evict(slot: number): void;
}

export const NO_HOOKS: FlowTableHooks = { grow() {}, evict() {} };

export class FlowTable {
  readonly keyWords: number;
  readonly maxCapacity: number;
  capacity: number;
  size = 0;
  /** Entries evicted because the table was full (not removed on purpose). */
  evictions = 0;

  /** keys[slot * keyWords + i] */
  keys: Uint32Array;
  private hashes: Int32Array;
  private chain: Int32Array;
  private buckets: Int32Array;
  private bucketMask: number;
  /** Age list: older[slot] is the next older entry, newer[slot] the next newer one. */
  private older: Int32Array;
  private newer: Int32Array;
  /** Oldest and newest entries (NONE when empty). */
  oldest = NONE;
  newest = NONE;
  private freeHead = NONE;
  private used = 0; // slots handed out at least once (the rest are implicitly free)
  private readonly hooks: FlowTableHooks;
  /** `lookup`'s recent-slot cache: slot + 1 per line, 0 empty (length 0: no cache). */
  private readonly recent: Int32Array;
  /** Whether the last `lookup` inserted its key (the owner then resets the slot's values). */
  inserted = false;

  /** `recentSlots`: lines of lookup's cache (a power of two, or 0 for none). */
  constructor(keyWords: number, maxCapacity: number, hooks: FlowTableHooks = NO_HOOKS, recentSlots = 0) {
    if (!Number.isInteger(maxCapacity) || maxCapacity < 1) throw new RangeError(`table capacity ${maxCapacity} must be a positive integer`);
    this.keyWords = keyWords;
    this.maxCapacity = maxCapacity;
    this.hooks = hooks;
    this.capacity = Math.min(INITIAL_CAPACITY, maxCapacity);
    this.keys = new Uint32Array(this.capacity * keyWords);
    this.hashes = new Int32Array(this.capacity);
    this.chain = new Int32Array(this.capacity);
    this.older = new Int32Array(this.capacity);
    this.newer = new Int32Array(this.capacity);
    this.bucketMask = bucketCountFor(this.capacity) - 1;
    this.buckets = new Int32Array(this.bucketMask + 1).fill(NONE);
    this.recent = new Int32Array(recentSlots);
  }

  /**
   * The slot of `key`, inserted when absent (then `inserted` is true), and marked most recently
   * used. `line` (below recentSlots) is the caller's cheap function of the key: the cache line
   * that remembers its slot. A flood's few sources and targets come back packet after packet, and
   * a hit skips the hash and the chain walk. A line may point at a slot that was evicted and
   * reused since: the key comparison catches it (remove() clears its lines).
   */
  lookup(key: Uint32Array, line: number): number {
    const cached = this.recent[line] - 1;
    if (cached >= 0) {
      const kw = this.keyWords;
      const keys = this.keys;
      const base = cached * kw;
      let i = 0;
      while (i < kw && keys[base + i] === key[i]) i++;
      if (i === kw) {
        this.inserted = false;
        this.touch(cached);
        return cached;
      }
    }
    const h = this.hashKey(key);
    let s = this.find(key, h);
    if (s === NONE) {
      s = this.insert(key, h);
      this.inserted = true;
    } else {
      this.inserted = false;
      this.touch(s);
    }
    this.recent[line] = s + 1;
    return s;
  }

  /** Hash of the first keyWords words of `key` (src/track/hash.ts). */
  hashKey(key: Uint32Array): number {
    return hashWords(key, 0, this.keyWords);
  }

  /** Slot of the entry with this key, or -1. */
  find(key: Uint32Array, hash: number): number {
    const kw = this.keyWords;
    const keys = this.keys;
    let slot = this.buckets[hash & this.bucketMask];
    while (slot !== NONE) {
      if (this.hashes[slot] === hash) {
        const base = slot * kw;
        let i = 0;
        while (i < kw && keys[base + i] === key[i]) i++;
        if (i === kw) return slot;
      }
      slot = this.chain[slot];
    }
    return NONE;
  }

  /** Insert a key known to be absent; returns its slot, the newest entry. May evict the oldest. */
  insert(key: Uint32Array, hash: number): number {
    if (this.size === this.capacity) {
      if (this.capacity < this.maxCapacity) {
        this.grow(Math.min(this.capacity * 2, this.maxCapacity));
      } else {
        const victim = this.oldest;
        this.hooks.evict(victim);
        this.evictions++;
        this.unlink(victim); // its slot is reused at once: a stale cache line fails lookup's key check
      }
    }
    let slot: number;
    if (this.freeHead !== NONE) {
      slot = this.freeHead;
      this.freeHead = this.chain[slot];
    } else {
      slot = this.used++;
    }
    const kw = this.keyWords;
    const base = slot * kw;
    for (let i = 0; i < kw; i++) this.keys[base + i] = key[i];
    this.hashes[slot] = hash;
    const b = hash & this.bucketMask;
    this.chain[slot] = this.buckets[b];
    this.buckets[b] = slot;
    this.linkNewest(slot);
    this.size++;
    return slot;
  }

  /** Remove an entry (not counted as an eviction). */
  remove(slot: number): void {
    const recent = this.recent;
    for (let i = 0; i < recent.length; i++) if (recent[i] === slot + 1) recent[i] = 0;
    this.unlink(slot);
  }

  /** Take an entry out of its bucket chain and the age list, and free its slot. */
  private unlink(slot: number): void {
    const b = this.hashes[slot] & this.bucketMask;
    let cur = this.buckets[b];
    if (cur === slot) {
      this.buckets[b] = this.chain[slot];
    } else {
      while (cur !== NONE && this.chain[cur] !== slot) cur = this.chain[cur];
      if (cur === NONE) return; // not linked: nothing to remove
      this.chain[cur] = this.chain[slot];
    }
    this.unlinkAge(slot);
    this.chain[slot] = this.freeHead;
    this.freeHead = slot;
    this.size--;
  }

  /** Mark an entry as just used (LRU order). */
  touch(slot: number): void {
    if (slot === this.newest) return;
    this.unlinkAge(slot);
    this.linkNewest(slot);
  }

  /** Calls fn for every live entry, oldest first (deterministic: age order, not hash order). */
  forEachOldestFirst(fn: (slot: number) => void): void {
    for (let s = this.oldest; s !== NONE; ) {
      const next = this.newer[s];
      fn(s);
      s = next;
    }
  }

  private grow(newCapacity: number): void {
    this.keys = resized(this.keys, newCapacity * this.keyWords);
    this.hashes = resized(this.hashes, newCapacity);
    this.chain = resized(this.chain, newCapacity);
    this.older = resized(this.older, newCapacity);
    this.newer = resized(this.newer, newCapacity);
    this.hooks.grow(newCapacity);
    this.capacity = newCapacity;
    // Rebuild the buckets from the stored hashes, walking live entries by age.
    this.bucketMask = bucketCountFor(newCapacity) - 1;
    this.buckets = new Int32Array(this.bucketMask + 1).fill(NONE);
    for (let s = this.oldest; s !== NONE; s = this.newer[s]) {
      const b = this.hashes[s] & this.bucketMask;
      this.chain[s] = this.buckets[b];
      this.buckets[b] = s;
    }
  }

  private linkNewest(slot: number): void {
    this.older[slot] = this.newest;
    this.newer[slot] = NONE;
    if (this.newest !== NONE) this.newer[this.newest] = slot;
    else this.oldest = slot;
    this.newest = slot;
  }

  private unlinkAge(slot: number): void {
    const o = this.older[slot];
    const n = this.newer[slot];
    if (o !== NONE) this.newer[o] = n;
    else this.oldest = n;
    if (n !== NONE) this.older[n] = o;
    else this.newest = o;
  }
}

function bucketCountFor(capacity: number): number {
  let n = 1;
  while (n < capacity) n *= 2;
  return n;
}

type TypedArray = Uint32Array | Int32Array | Float64Array | Uint8Array | Uint16Array;

/** A copy of `a` with room for `length` elements (owners' value arrays, on FlowTableHooks.grow). */
export function resized<T extends TypedArray>(a: T, length: number): T {
  const ctor = a.constructor as new (n: number) => T;
  const b = new ctor(length);
  b.set(a.subarray(0, Math.min(a.length, length)) as never);
  return b;
}
