/**
 * Attacked destinations: one entry per (server address, server port) that received SYNs,
 * in a bounded LRU table. A flood with random destinations only evicts the least recent ones.
 *
 * Key layout: server address (4 words), server port (1 word).
 */
import { PacketClock } from './clock';
import { FlowTable, resized } from './flow-table';
import { V4SlotCache } from './v4-slot-cache';

export const TARGET_KEY_WORDS = 5;
const RECENT_SLOTS = 16;
/** Lines of lookupV4's cache, as bits (64). */
const V4_LINE_BITS = 6;

export class TargetTable {
  /** The (address, port) keys, slots and LRU order; the arrays below are indexed by its slots. */
  readonly table: FlowTable;
  attempts: Float64Array;
  completed: Float64Array;
  firstUs: Float64Array;
  lastUs: Float64Array;
  /** Attempts within the detector's current flood span, valid when spanStamp matches. */
  spanStamp: Uint32Array;
  spanAttempts: Float64Array;
  /** lookupV4's cache; onEvict keeps it exact. */
  private readonly v4Cache = new V4SlotCache(V4_LINE_BITS);
  /** Scratch key for lookupV4's misses: an IPv4-mapped address and a port. */
  private readonly v4Key = new Uint32Array([0, 0, 0xffff, 0, 0]);

  /** First-seen times are read from `clock` (see clock.ts). */
  constructor(maxTargets: number, private readonly clock: PacketClock) {
    this.table = new FlowTable(TARGET_KEY_WORDS, maxTargets, {
      grow: (n) => this.growValues(n),
      evict: (slot) => this.onEvict(slot),
    }, RECENT_SLOTS);
    const c = this.table.capacity;
    this.attempts = new Float64Array(c);
    this.completed = new Float64Array(c);
    this.firstUs = new Float64Array(c);
    this.lastUs = new Float64Array(c);
    this.spanStamp = new Uint32Array(c);
    this.spanAttempts = new Float64Array(c);
  }

  /** The target's slot, inserted (firstUs = the clock's now) if new, and marked most recently used. */
  lookup(key: Uint32Array): number {
    // Cache line: the address's last word and the port (a flood's targets differ in one or both).
    const s = this.table.lookup(key, (key[3] ^ key[4]) & (RECENT_SLOTS - 1));
    if (this.table.inserted) {
      this.reset(s);
      this.firstUs[s] = this.clock.nowUs;
    }
    return s;
  }

  /** lookup() of (::ffff:`addr`, `port`) for an IPv4 `addr`: the same slot and LRU touch (see SourceTable.lookupV4). */
  lookupV4(addr: number, port: number): number {
    const cached = this.v4Cache.get(addr, port);
    if (cached >= 0) {
      this.table.touch(cached);
      return cached;
    }
    const key = this.v4Key;
    key[3] = addr;
    key[4] = port;
    const s = this.lookup(key);
    this.v4Cache.set(addr, port, s);
    return s;
  }

  /** The slot of (::ffff:`addr`, `port`), or -1; no LRU touch, no insert. */
  findV4(addr: number, port: number): number {
    const cached = this.v4Cache.get(addr, port);
    if (cached >= 0) return cached;
    const key = this.v4Key;
    key[3] = addr;
    key[4] = port;
    return this.table.find(key, this.table.hashKey(key));
  }

  private onEvict(s: number): void {
    const keys = this.table.keys;
    const at = s * TARGET_KEY_WORDS;
    if (keys[at] === 0 && keys[at + 1] === 0 && keys[at + 2] === 0xffff) this.v4Cache.forget(keys[at + 3] | 0, keys[at + 4], s);
  }

  /** Count one attempt for span `spanId`. */
  countSpanAttempt(s: number, spanId: number): void {
    if (this.spanStamp[s] !== spanId) {
      this.spanStamp[s] = spanId;
      this.spanAttempts[s] = 0;
    }
    this.spanAttempts[s]++;
  }

  private reset(s: number): void {
    this.attempts[s] = 0;
    this.completed[s] = 0;
    this.firstUs[s] = 0;
    this.lastUs[s] = 0;
    this.spanStamp[s] = 0;
    this.spanAttempts[s] = 0;
  }

  private growValues(n: number): void {
    this.attempts = resized(this.attempts, n);
    this.completed = resized(this.completed, n);
    this.firstUs = resized(this.firstUs, n);
    this.lastUs = resized(this.lastUs, n);
    this.spanStamp = resized(this.spanStamp, n);
    this.spanAttempts = resized(this.spanAttempts, n);
  }
}
